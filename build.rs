//! Regenerates include/registry.h from src/ffi with cbindgen: no network, no
//! `cargo metadata`, written only when the text changes, and skipped (with a
//! warning) when the source tree is read-only.

use std::path::Path;

fn main() {
    let dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let dir = Path::new(&dir);
    println!("cargo:rerun-if-changed=cbindgen.toml");
    println!("cargo:rerun-if-changed=src/ffi");
    let config =
        cbindgen::Config::from_file(dir.join("cbindgen.toml")).expect("cbindgen.toml is valid");
    // cbindgen follows the `mod` items of src/ffi/mod.rs by itself.
    let mut parts = env!("CARGO_PKG_VERSION").split(['.', '-']);
    let defines: Vec<String> = ["MAJOR", "MINOR", "PATCH"]
        .iter()
        .map(|name| {
            format!(
                "#define REGISTRY_VERSION_{name} {}",
                parts.next().unwrap_or("0")
            )
        })
        .collect();
    let bindings = cbindgen::Builder::new()
        .with_config(config)
        .with_src(dir.join("src/ffi/mod.rs"))
        .with_after_include(format!("\n{}\n", defines.join("\n")))
        .generate()
        .expect("cbindgen parses src/ffi");
    let mut text = Vec::new();
    bindings.write(&mut text);
    let header = dir.join("include/registry.h");
    if std::fs::read(&header).ok().as_deref() == Some(&text[..]) {
        return;
    }
    if let Err(e) = std::fs::create_dir_all(header.parent().unwrap())
        .and_then(|_| std::fs::write(&header, &text))
    {
        println!(
            "cargo:warning=not regenerating {} ({e}); the source tree is read-only",
            header.display()
        );
    }
}
