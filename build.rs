//! With the `capi` feature (the C library's build), generates the C header
//! from src/ffi with cbindgen (no network, no `cargo metadata`) into
//! `$OUT_DIR/registry.h`, and nowhere else: a build never writes into the
//! source tree (src/, include/), so it works from a read-only checkout and
//! never leaves the committed header changed behind the developer's back.
//! `make header` copies that file to include/registry.h (commit it);
//! `make header-check` fails when the committed header differs from it. The
//! `REGISTRY_STATUS_*` constants come from the one status table,
//! src/error/status_table.rs.
//! It also gives the C library's shared object its soname,
//! `libregistry.so.<major>` (the major version of Cargo.toml), on ELF
//! targets, so that programs linked against it keep working across minor
//! and patch releases (`make install` installs it under that name).
//! Without the feature (a Rust user's build) it does nothing.

/// Reads the rows of status_table.rs: (C name, code, one-line doc).
macro_rules! status_table {
    ($($kind:ident = $code:literal, $name:literal, $doc:literal;)*) => {
        &[$(($name, $code, $doc)),*]
    };
}

const STATUSES: &[(&str, u32, &str)] = include!("src/error/status_table.rs");

fn main() {
    println!("cargo:rerun-if-changed=cbindgen.toml");
    println!("cargo:rerun-if-changed=src/ffi");
    println!("cargo:rerun-if-changed=src/error/status_table.rs");
    #[cfg(feature = "capi")]
    {
        header::generate();
        soname();
    }
}

/// Sets the cdylib's soname, `libregistry.so.<major>`, where the linker is an
/// ELF one (not on macOS, iOS or Windows, which name libraries otherwise).
#[cfg(feature = "capi")]
fn soname() {
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let family = std::env::var("CARGO_CFG_TARGET_FAMILY").unwrap_or_default();
    if family.split(',').any(|f| f == "unix") && !matches!(os.as_str(), "macos" | "ios") {
        let major = env!("CARGO_PKG_VERSION_MAJOR");
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libregistry.so.{major}");
    }
}

/// The `#define`s cbindgen cannot see: the version and the status codes.
#[cfg_attr(not(feature = "capi"), allow(dead_code))]
fn defines() -> String {
    let mut parts = env!("CARGO_PKG_VERSION").split(['.', '-']);
    let mut out = String::new();
    for name in ["MAJOR", "MINOR", "PATCH"] {
        let n = parts.next().unwrap_or("0");
        out.push_str(&format!("#define REGISTRY_VERSION_{name} {n}\n"));
    }
    out.push_str(
        "\n// Status codes (registry_status), from the one table src/error/status_table.rs.\n\
         // The values are never renumbered.\n",
    );
    for (name, code, doc) in STATUSES {
        out.push_str(&format!(
            "\n// {doc}\n#define REGISTRY_STATUS_{name} {code}\n"
        ));
    }
    out
}

#[cfg(feature = "capi")]
mod header {
    use std::path::Path;

    use super::defines;

    /// Writes `$OUT_DIR/registry.h`, the header as src/ffi says it today.
    pub fn generate() {
        let dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
        let dir = Path::new(&dir);
        let out = std::env::var("OUT_DIR").expect("cargo sets OUT_DIR");
        let config =
            cbindgen::Config::from_file(dir.join("cbindgen.toml")).expect("cbindgen.toml is valid");
        // cbindgen follows the `mod` items of src/ffi/mod.rs by itself.
        let bindings = cbindgen::Builder::new()
            .with_config(config)
            .with_src(dir.join("src/ffi/mod.rs"))
            .with_after_include(format!("\n{}\n", defines()))
            .generate()
            .expect("cbindgen parses src/ffi");
        let mut text = Vec::new();
        bindings.write(&mut text);
        let header = Path::new(&out).join("registry.h");
        std::fs::write(&header, &text)
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", header.display()));
    }
}
