//! Ping a registry, list a repository's tags, read an image id, download the
//! image's first layer with its digest checked, then copy the whole image,
//! pull it into an OCI layout and push it back, with a progress line per
//! blob.
//!
//! ```sh
//! cargo run --example demo -- localhost:5000 team/app v1
//! ```

use std::io::Read;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let addr = args.get(1).map_or("localhost:5000", String::as_str);
    let repo = args.get(2).map_or("library/alpine", String::as_str);
    let tag = args.get(3).map_or("latest", String::as_str);

    let client = registry::Client::builder(addr)
        .docker_config(None)
        .build()?;
    println!("ping {addr}: {:?}", client.ping()?);
    println!("tags of {repo}: {}", client.tags(repo)?.join(" "));
    println!("image id of {repo}:{tag}: {}", client.image_id(repo, tag)?);

    let manifest = client.manifest_get(repo, tag)?;
    println!(
        "manifest: {} bytes of {}",
        manifest.body.len(),
        manifest.media_type
    );
    let doc: serde_json::Value = serde_json::from_slice(&manifest.body)?;
    let layer = doc["layers"][0]["digest"]
        .as_str()
        .ok_or("the manifest names no layer (an index? pick a platform first)")?;
    let mut reader = client.layer_open(repo, layer)?;
    let mut total = 0u64;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        // The read that returns 0 has checked the digest.
        let n = reader.read(&mut buf)?;
        if n == 0 {
            break;
        }
        total += n as u64;
    }
    println!("layer {layer}: {total} bytes streamed, digest checked");

    // Whole images, with progress: a line when each blob or manifest starts.
    let mut progress = |digest: &registry::Digest, done: u64, total: u64| {
        if done == 0 {
            println!("  {:.12}: {total} bytes", digest.hex());
        }
        true // go on; false cancels
    };
    let copied = client.image_copy(
        repo,
        tag,
        &client,
        "demo/rust",
        Some("v1"),
        registry::ImageOptions::default().with_progress(&mut progress),
    )?;
    println!("copied {repo}:{tag} to demo/rust:v1 (blobs mounted): {copied}");
    let layout = std::env::temp_dir().join(format!("registry-demo-{}", std::process::id()));
    let pulled = client.image_pull(
        "demo/rust",
        "v1",
        &layout,
        registry::ImageOptions::default().with_progress(&mut progress),
    )?;
    println!("pulled demo/rust:v1 into {}: {pulled}", layout.display());
    let pushed = client.image_push(
        &layout,
        Some("v1"),
        "demo/rust",
        "from-layout",
        registry::ImageOptions::default().with_progress(&mut progress),
    )?;
    println!("pushed the layout back as demo/rust:from-layout: {pushed}");
    std::fs::remove_dir_all(&layout)?;
    Ok(())
}
