//! One function per command: parse the arguments, call the library, print.

#![forbid(unsafe_code)]

use std::fs::File;
use std::io::{Read, Write};
use std::path::Path;

use registry::{
    ApiVersion, ArchiveFormat, Client, Compression, ContentId, Digest, Error, ErrorKind,
    ImageOptions, ManifestRef, Platform, Result,
};
use serde_json::{json, Value};

use crate::args::{ArtifactCommand, BlobCommand, Cli, Command, Global};
use crate::connect::{self, usage, Host, Image, Login};
use crate::output::tell;
use crate::progress::{self, Display, Mode, Verbs};
use crate::{artifacts, login, output};

/// Runs the command the line names.
pub fn run(cli: Cli) -> Result<()> {
    let g = &cli.global;
    match cli.command {
        Command::Login { host } => login::login(g, &host),
        Command::Logout { host } => login::logout(g, &host),
        Command::Ping { host } => ping(g, &host),
        Command::Catalog { host } => catalog(g, &host),
        Command::Search {
            host,
            term,
            limit,
            page,
        } => search(g, &host, &term, limit, page),
        Command::Tags { repo } => tags(g, &repo),
        Command::Digest { image } => digest(g, &image),
        Command::Manifest { image } => manifest(g, &image),
        Command::Config { image } => config(g, &image),
        Command::Pull {
            image,
            dir,
            format: None,
        } => pull(g, &image, &dir),
        Command::Pull {
            image,
            dir,
            format: Some(format),
        } => pull_archive(g, &image, &dir, &format),
        Command::Save { images, output } => save(g, &images, &output),
        Command::Push {
            dir, image, all, ..
        } if all => push_all(g, &dir, &image),
        Command::Push {
            dir,
            image,
            layout_ref,
            compress,
            ..
        } => push(g, &dir, &image, layout_ref.as_deref(), compress.as_deref()),
        Command::Cp { src, dst } => cp(g, &src, &dst),
        Command::Sync {
            src,
            dst,
            tags,
            exclude,
            dry_run,
            keep_going,
            config,
            shard,
        } => crate::sync::run(
            g,
            crate::sync::SyncArgs {
                src,
                dst,
                tags,
                exclude,
                // The global --referrers: pull, cp and sync carry them.
                referrers: g.referrers,
                dry_run,
                keep_going,
                config,
                shard,
            },
        ),
        Command::Tag {
            image,
            tag: new_tag,
        } => tag(g, &image, &new_tag),
        Command::Untag { image } => untag(g, &image),
        Command::Rm { image } => rm(g, &image),
        Command::Blob(BlobCommand::Get { repo, digest, file }) => {
            blob_get(g, &repo, &digest, &file)
        }
        Command::Blob(BlobCommand::Put { repo, file, digest }) => {
            blob_put(g, &repo, &file, digest.as_deref())
        }
        Command::Artifact(ArtifactCommand::Push {
            target,
            files,
            artifact_type,
            subject,
            annotation,
        }) => artifacts::push(
            g,
            &client_for_image(g, &target)?,
            &target,
            &files,
            &artifact_type,
            subject.as_deref(),
            &annotation,
        ),
        Command::Artifact(ArtifactCommand::Pull { image, dir }) => {
            artifacts::pull(g, &client_for_image(g, &image)?, &image, &dir)
        }
        Command::Referrers {
            image,
            artifact_type,
        } => artifacts::referrers(
            g,
            &client_for_image(g, &image)?,
            &image,
            artifact_type.as_deref(),
        ),
        Command::Ratelimit { image } => ratelimit(g, &image),
    }
}

/// A client for `address` with -u's credentials or docker's config.json.
fn client(g: &Global, address: &str) -> Result<Client> {
    let login = connect::command_line_login(g)?;
    connect::client(g, address, login.as_ref())
}

/// A client for the registry `image` names.
fn client_for_image(g: &Global, image: &str) -> Result<Client> {
    client(g, Image::parse(image)?.domain())
}

/// Prints a digest alone on its line, or with --json an object holding it.
fn print_digest(g: &Global, digest: &str, mut extra: Value) -> Result<()> {
    if g.json {
        extra["digest"] = Value::String(digest.to_string());
        output::json(&extra)
    } else {
        output::lines(&[digest])
    }
}

/// Whether `c` speaks v1 (asked only after a v2-only call was refused).
fn is_v1(c: &Client) -> bool {
    matches!(c.api_version(), Ok(ApiVersion::V1))
}

fn api_name(api: ApiVersion) -> &'static str {
    match api {
        ApiVersion::V1 => "v1",
        ApiVersion::V2 => "v2",
    }
}

fn ping(g: &Global, host: &str) -> Result<()> {
    let host = Host::parse(host)?;
    let info = client(g, &host.address)?.ping_info()?;
    if g.json {
        output::json(&json!({
            "api": api_name(info.api),
            "api_version_header": info.api_version_header,
            "registry_version": info.registry_version,
            "standalone": info.standalone,
        }))
    } else {
        output::lines(&[api_name(info.api)])
    }
}

fn catalog(g: &Global, host: &str) -> Result<()> {
    let host = Host::parse(host)?;
    let c = client(g, &host.address)?;
    let repos = match c.catalog() {
        Err(e) if e.kind() == ErrorKind::Unsupported && is_v1(&c) => c
            .search("", 0)?
            .results
            .into_iter()
            .map(|r| r.name)
            .collect(),
        other => other?,
    };
    if g.json {
        output::json(&json!({ "repositories": repos }))
    } else {
        output::lines(&repos)
    }
}

fn search(g: &Global, host: &str, term: &str, limit: usize, page: Option<u64>) -> Result<()> {
    let host = Host::parse(host)?;
    let c = client(g, &host.address)?;
    let found = match page {
        Some(page) => c.search_page(term, page, limit)?,
        None => c.search(term, limit)?,
    };
    if g.json {
        output::json(&found)
    } else {
        let names: Vec<&str> = found.results.iter().map(|r| r.name.as_str()).collect();
        output::lines(&names)
    }
}

fn tags(g: &Global, repo: &str) -> Result<()> {
    let image = Image::parse_repo(repo)?;
    let tags = client(g, image.domain())?.tags(image.repo())?;
    if g.json {
        output::json(&json!({ "name": image.repo(), "tags": tags }))
    } else {
        output::lines(&tags)
    }
}

fn digest(g: &Global, image: &str) -> Result<()> {
    let image = Image::parse(image)?;
    let platform = connect::platform(g)?;
    let c = client(g, image.domain())?;
    let (repo, reference) = (image.repo(), image.reference_str());
    let (digest, media_type, size) = match &platform {
        Some(p) => {
            let m = c.manifest_get_for_platform(repo, &reference, p)?;
            let size = m.body.len() as u64;
            (m.digest.to_string(), Some(m.media_type), Some(size))
        }
        None => match c.manifest_head(repo, &reference) {
            Ok(info) => (info.digest.to_string(), Some(info.media_type), info.size),
            Err(e) if e.kind() == ErrorKind::Unsupported && is_v1(&c) => {
                (c.image_id(repo, &reference)?.to_string(), None, None)
            }
            Err(e) => return Err(e),
        },
    };
    print_digest(g, &digest, json!({ "mediaType": media_type, "size": size }))
}

fn ratelimit(g: &Global, image: &str) -> Result<()> {
    let image = Image::parse(image)?;
    let c = client(g, image.domain())?;
    let status = c.rate_limit_check(image.repo(), image.reference_str())?;
    if g.json {
        return output::json(&status.map(|s| {
            json!({
                "limit": s.limit,
                "remaining": s.remaining,
                "window_seconds": s.window_seconds,
                "source": s.source,
            })
        }));
    }
    match status {
        Some(s) => output::lines(&[
            format!("limit {}", s.limit),
            format!("remaining {}", s.remaining),
            format!(
                "window {}",
                s.window_seconds.map_or("-".to_string(), |w| w.to_string())
            ),
            format!("source {}", s.source.as_deref().unwrap_or("-")),
        ]),
        None => {
            tell(
                g,
                format_args!("{} sends no rate-limit headers", c.registry_host()),
            );
            Ok(())
        }
    }
}

fn manifest(g: &Global, image: &str) -> Result<()> {
    let image = Image::parse(image)?;
    let platform = connect::platform(g)?;
    let c = client(g, image.domain())?;
    let (repo, reference) = (image.repo(), image.reference_str());
    let m = match &platform {
        Some(p) => c.manifest_get_for_platform(repo, &reference, p)?,
        None => c.manifest_get(repo, &reference)?,
    };
    output::bytes(&m.body)
}

fn config(g: &Global, image: &str) -> Result<()> {
    let image = Image::parse(image)?;
    let platform = connect::platform(g)?;
    let c = client(g, image.domain())?;
    let (repo, reference) = (image.repo(), image.reference_str());
    let body = match c.image_config(repo, &reference, platform.as_ref()) {
        Err(e) if e.kind() == ErrorKind::Unsupported && is_v1(&c) => {
            let id = c.image_id(repo, &reference)?;
            c.v1_image_json(Some(repo), &id.to_string())?
        }
        other => other?,
    };
    output::bytes(&body)
}

/// Runs a whole-image call with the progress display; returns its result
/// and which registry or mirror served each read (said on stderr with -v).
fn with_progress<T>(
    g: &Global,
    verbs: Verbs,
    platforms: Vec<Platform>,
    call: impl FnOnce(ImageOptions<'_>) -> Result<T>,
) -> Result<(T, Vec<(Digest, String)>)> {
    let mut display = Display::new(Mode::of(g), verbs);
    let mut served = vec![];
    let result = {
        let mut report =
            |d: &Digest, done: u64, total: u64| display.update(&d.to_string(), done, total);
        let mut options = ImageOptions::default()
            .with_progress(&mut report)
            .with_served_by(&mut served);
        // One platform is `platform`, which push reads too; several, a subset.
        match platforms.as_slice() {
            [one] => options.platform = Some(one.clone()),
            _ => options.platforms = platforms,
        }
        options.referrers = g.referrers;
        call(options)
    };
    display.finish();
    if g.verbose {
        for (digest, host) in &served {
            tell(g, format_args!("{digest} from {host}"));
        }
    }
    result.map(|t| (t, served))
}

/// `served` as JSON: `[{"digest": …, "from": host}, …]`.
fn served_json(served: &[(Digest, String)]) -> Value {
    served
        .iter()
        .map(|(d, host)| json!({ "digest": d.to_string(), "from": host }))
        .collect()
}

fn pull(g: &Global, image: &str, dir: &Path) -> Result<()> {
    let image = Image::parse(image)?;
    let platform = connect::platforms(g)?;
    let c = client(g, image.domain())?;
    let reference = image.reference_str();
    let (digest, served) = with_progress(g, progress::PULL, platform, |opts| {
        c.image_pull(image.repo(), &reference, dir, opts)
    })?;
    tell(
        g,
        format_args!(
            "Pulled {} into {} as {reference}",
            image.reference,
            dir.display()
        ),
    );
    print_digest(
        g,
        &digest.to_string(),
        json!({ "name": reference, "layout": dir, "served_by": served_json(&served) }),
    )
}

fn pull_archive(g: &Global, image: &str, file: &Path, format: &str) -> Result<()> {
    let format = ArchiveFormat::parse(format)?;
    let image = Image::parse(image)?;
    let platform = connect::platforms(g)?;
    let c = client(g, image.domain())?;
    let reference = image.reference_str();
    let to_stdout = file.as_os_str() == "-";
    let (digest, served) = with_progress(g, progress::PULL, platform, |opts| {
        if to_stdout {
            let out = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout());
            c.image_pull_archive_to(image.repo(), &reference, out, format, opts)
        } else {
            c.image_pull_archive(image.repo(), &reference, file, format, opts)
        }
    })?;
    if to_stdout {
        // stdout holds the archive: the digest goes to stderr.
        tell(g, format_args!("{digest}"));
        return Ok(());
    }
    tell(
        g,
        format_args!(
            "Pulled {} into {} ({})",
            image.reference,
            file.display(),
            format.name()
        ),
    );
    print_digest(
        g,
        &digest.to_string(),
        json!({ "name": reference, "archive": file, "format": format.name(),
                "served_by": served_json(&served) }),
    )
}

fn save(g: &Global, images: &[String], file: &Path) -> Result<()> {
    let parsed = images
        .iter()
        .map(|i| Image::parse(i))
        .collect::<Result<Vec<_>>>()?;
    let domain = parsed[0].domain().to_string();
    if let Some(other) = parsed.iter().find(|i| i.domain() != domain) {
        return Err(usage(format!(
            "save takes images of one registry: {} is on {}, not {domain}",
            other.reference,
            other.domain()
        )));
    }
    let platform = connect::platform(g)?;
    let c = client(g, &domain)?;
    let refs: Vec<(String, String)> = parsed
        .iter()
        .map(|i| (i.repo().to_string(), i.reference_str()))
        .collect();
    let pairs: Vec<(&str, &str)> = refs.iter().map(|(r, t)| (r.as_str(), t.as_str())).collect();
    let (digests, _) = with_progress(g, progress::PULL, platform.into_iter().collect(), |opts| {
        c.image_save(&pairs, file, opts)
    })?;
    tell(
        g,
        format_args!("Saved {} images into {}", digests.len(), file.display()),
    );
    let lines: Vec<String> = digests.iter().map(|d| d.to_string()).collect();
    if g.json {
        return output::json(&json!({ "archive": file, "digests": lines }));
    }
    output::lines(&lines)
}

fn push(
    g: &Global,
    dir: &Path,
    image: &str,
    layout_ref: Option<&str>,
    compress: Option<&str>,
) -> Result<()> {
    let image = Image::parse(image)?;
    let compress = compress.map(Compression::parse).transpose()?;
    let Some(tag) = image.explicit_tag.clone().or_else(|| {
        image
            .digest()
            .is_none()
            .then(|| image.reference.tag().unwrap_or("latest").to_string())
    }) else {
        return Err(usage("push needs a tag to push to: host[:port]/repo[:tag]"));
    };
    if g.referrers {
        return Err(usage("--referrers is for pull and cp"));
    }
    let c = client(g, image.domain())?;
    if dir.as_os_str() == "-" || std::fs::symlink_metadata(dir).is_ok_and(|m| m.is_file()) {
        return push_archive(g, &c, dir, &image, &tag, layout_ref, compress);
    }
    let platform = connect::platform(g)?;
    if compress.is_some() {
        return Err(usage(
            "--compress is for an archive FILE: a layout's manifests are pushed byte for byte",
        ));
    }
    let (digest, _) = with_progress(g, progress::PUSH, platform.into_iter().collect(), |opts| {
        c.image_push(dir, layout_ref, image.repo(), &tag, opts)
    })
    .map_err(|e| match layout_ref {
        // The layout holds several images: say how to pick one.
        None if e.kind() == ErrorKind::InvalidArgument && e.message().contains("images") => {
            Error::new(e.kind(), format!("{} with --ref NAME", e.message()))
        }
        _ => e,
    })?;
    tell(
        g,
        format_args!("Pushed {} to {}:{tag}", dir.display(), image.repo()),
    );
    print_digest(
        g,
        &digest.to_string(),
        json!({ "repository": image.repo(), "tag": tag }),
    )
}

/// `push FILE.tar IMAGE`: the image of a docker-archive or oci-archive; `-`
/// reads the archive from stdin, spooled to a temporary file first (a tar
/// is read in place, by offsets: a pipe cannot be).
fn push_archive(
    g: &Global,
    c: &Client,
    file: &Path,
    image: &Image,
    tag: &str,
    archive_ref: Option<&str>,
    compress: Option<Compression>,
) -> Result<()> {
    let platform = connect::platform(g)?;
    let spooled = match file.as_os_str() == "-" {
        true => Some(spool_stdin()?),
        false => None,
    };
    let path = spooled.as_ref().map_or(file, |s| s.0.as_path());
    let result = with_progress(g, progress::PUSH, platform.into_iter().collect(), |opts| {
        let opts = match compress {
            Some(z) => opts.with_compress(z),
            None => opts,
        };
        c.image_push_archive(path, archive_ref, image.repo(), tag, opts)
    });
    drop(spooled);
    let (digest, _) = result?;
    tell(
        g,
        format_args!("Pushed {} to {}:{tag}", file.display(), image.repo()),
    );
    print_digest(
        g,
        &digest.to_string(),
        json!({ "repository": image.repo(), "tag": tag }),
    )
}

/// A temporary file, removed when dropped.
struct Spooled(std::path::PathBuf);

impl Drop for Spooled {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Copies stdin into a new private temporary file ($TMPDIR).
fn spool_stdin() -> Result<Spooled> {
    use std::os::unix::fs::OpenOptionsExt;
    let dir = std::env::temp_dir();
    for n in 0..100u32 {
        let path = dir.join(format!("regcli-push-{}-{n}.tar", std::process::id()));
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path);
        let mut file = match file {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => {
                return Err(Error::new(
                    ErrorKind::Io,
                    format!("cannot create {}: {e}", path.display()),
                ))
            }
        };
        let spooled = Spooled(path);
        std::io::copy(&mut std::io::stdin().lock(), &mut file).map_err(|e| {
            Error::new(
                ErrorKind::Io,
                format!("cannot spool stdin to {}: {e}", spooled.0.display()),
            )
        })?;
        return Ok(spooled);
    }
    Err(Error::new(
        ErrorKind::Io,
        format!("cannot create a temporary file in {}", dir.display()),
    ))
}

/// `push --all DIR REPO`: every image the layout names, under its name.
fn push_all(g: &Global, dir: &Path, repo: &str) -> Result<()> {
    let image = Image::parse_repo(repo)?;
    let platform = connect::platform(g)?;
    let c = client(g, image.domain())?;
    let (pushed, _) = with_progress(g, progress::PUSH, platform.into_iter().collect(), |opts| {
        c.image_push_all(dir, image.repo(), opts)
    })?;
    tell(
        g,
        format_args!(
            "Pushed {} images of {} to {}",
            pushed.len(),
            dir.display(),
            image.repo()
        ),
    );
    if g.json {
        let images: Vec<Value> = pushed
            .iter()
            .map(|(tag, digest)| json!({ "tag": tag, "digest": digest.to_string() }))
            .collect();
        output::json(&json!({ "repository": image.repo(), "images": images }))
    } else {
        let lines: Vec<String> = pushed
            .iter()
            .map(|(tag, digest)| format!("{tag} {digest}"))
            .collect();
        output::lines(&lines)
    }
}

fn cp(g: &Global, src: &str, dst: &str) -> Result<()> {
    let src = Image::parse(src)?;
    let dst = Image::parse(dst)?;
    if dst.digest().is_some() {
        return Err(usage(
            "the destination names a digest; write host[:port]/repo[:tag]",
        ));
    }
    let platform = connect::platforms(g)?;
    let login: Option<Login> = connect::command_line_login(g)?;
    let same = src.domain() == dst.domain();
    if login.is_some() && !same {
        return Err(usage(
            "-u applies to one registry; copying between two, log in to each (regcli login) instead",
        ));
    }
    if g.auth_key.is_some() && !same {
        return Err(usage(
            "--auth-key applies to one registry; copying between two, log in to each (regcli login) instead",
        ));
    }
    let from = connect::client(g, src.domain(), login.as_ref())?;
    let to = if same {
        from.clone()
    } else {
        connect::client(g, dst.domain(), None)?
    };
    let reference = src.reference_str();
    let (digest, served) = with_progress(g, progress::COPY, platform, |opts| {
        from.image_copy(
            src.repo(),
            &reference,
            &to,
            dst.repo(),
            dst.explicit_tag.as_deref(),
            opts,
        )
    })?;
    // The tag the copy wrote: the one given, else the source's, else none.
    let written = match (&dst.explicit_tag, &src.manifest_ref()) {
        (Some(t), _) | (None, ManifestRef::Tag(t)) => format!(":{t}"),
        (None, ManifestRef::Digest(d)) => format!("@{d}"),
    };
    tell(
        g,
        format_args!(
            "Copied {} to {}/{}{written}",
            src.reference,
            dst.domain(),
            dst.repo()
        ),
    );
    print_digest(
        g,
        &digest.to_string(),
        json!({ "served_by": served_json(&served) }),
    )
}

fn tag(g: &Global, image: &str, new_tag: &str) -> Result<()> {
    let image = Image::parse(image)?;
    let c = client(g, image.domain())?;
    let repo = image.repo();
    let source = match c.api_version()? {
        ApiVersion::V2 => image.reference_str(),
        // v1 tags name image ids.
        ApiVersion::V1 => c.image_id(repo, image.reference_str())?.to_string(),
    };
    let digest = c.set_tag(repo, &source, new_tag)?;
    tell(g, format_args!("Tagged {repo}:{new_tag}"));
    print_digest(
        g,
        &digest.to_string(),
        json!({ "repository": repo, "tag": new_tag }),
    )
}

fn untag(g: &Global, image: &str) -> Result<()> {
    let image = Image::parse(image)?;
    let Some(tag) = image.explicit_tag.clone() else {
        return Err(usage(
            "untag needs the tag written out: host[:port]/repo:tag",
        ));
    };
    client(g, image.domain())?.delete_tag(image.repo(), &tag)?;
    tell(g, format_args!("Untagged {}:{tag}", image.repo()));
    Ok(())
}

fn rm(g: &Global, image: &str) -> Result<()> {
    let image = Image::parse(image)?;
    let Some(digest) = image.digest().cloned() else {
        return Err(usage(
            "rm needs a digest: host[:port]/repo@sha256:... (untag removes one tag)",
        ));
    };
    client(g, image.domain())?.manifest_delete(image.repo(), digest.to_string())?;
    tell(g, format_args!("Deleted {}@{digest}", image.repo()));
    Ok(())
}

const BLOB_GET: Verbs = Verbs {
    moving: "Downloading",
    done: "Downloaded",
};
const BLOB_PUT: Verbs = Verbs {
    moving: "Uploading",
    done: "Uploaded",
};

fn io_error(what: &str, path: &Path, e: std::io::Error) -> Error {
    Error::new(
        ErrorKind::Io,
        format!("cannot {what} {}: {e}", path.display()),
    )
}

/// Copies `reader` to `out`, reporting to `display` as `label`.
fn copy_with_progress(
    reader: &mut dyn Read,
    out: &mut dyn Write,
    display: &mut Display,
    label: &str,
    total: u64,
    out_name: &Path,
) -> Result<u64> {
    let mut buf = vec![0u8; 256 * 1024];
    let mut done = 0u64;
    display.moved(label, 0, total);
    loop {
        // The digest is checked by the read that returns 0.
        let n = reader.read(&mut buf).map_err(Error::from)?;
        if n == 0 {
            break;
        }
        out.write_all(&buf[..n])
            .map_err(|e| io_error("write", out_name, e))?;
        done += n as u64;
        display.moved(label, done, total.max(done));
    }
    out.flush().map_err(|e| io_error("write", out_name, e))?;
    Ok(done)
}

fn blob_get(g: &Global, repo: &str, digest: &str, file: &Path) -> Result<()> {
    let image = Image::parse_repo(repo)?;
    let c = client(g, image.domain())?;
    let mut reader = c.layer_open(image.repo(), digest)?;
    let total = reader.size().unwrap_or(0);
    let mut display = Display::new(Mode::of(g), BLOB_GET);
    let stdout = Path::new("-");
    let result = if file == stdout {
        let mut out = std::io::stdout().lock();
        copy_with_progress(
            &mut reader,
            &mut out,
            &mut display,
            digest,
            total,
            Path::new("stdout"),
        )
    } else {
        download_to(&mut reader, file, &mut display, digest, total)
    };
    if let Ok(done) = result {
        display.complete(digest, done);
    }
    display.finish();
    result.map(|_| ())
}

/// Writes a verified download to a fresh temporary file beside `file` and
/// renames it into place only when every byte checked out (see
/// [`registry::write_atomically_with_mode`]).
fn download_to(
    reader: &mut dyn Read,
    file: &Path,
    display: &mut Display,
    label: &str,
    total: u64,
) -> Result<u64> {
    registry::write_atomically_with_mode(file, 0o666, |out| {
        copy_with_progress(reader, out, display, label, total, file)
    })
}

/// A reader that reports what passes through it.
struct Counting<'a, R> {
    inner: R,
    done: u64,
    total: u64,
    label: &'a str,
    display: &'a mut Display,
}

impl<R: Read> Read for Counting<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.done += n as u64;
        self.display
            .moved(self.label, self.done, self.total.max(self.done));
        Ok(n)
    }
}

fn blob_put(g: &Global, repo: &str, file: &Path, digest: Option<&str>) -> Result<()> {
    let image = Image::parse_repo(repo)?;
    let from_stdin = file == Path::new("-");
    if from_stdin && g.password_stdin {
        return Err(usage(
            "--password-stdin and FILE `-` both read stdin: log in first, or give the blob as a file",
        ));
    }
    let c = client(g, image.domain())?;
    if c.api_version()? == ApiVersion::V1 {
        return Err(Error::new(
            ErrorKind::Unsupported,
            "a v1 registry takes a layer only for an image whose JSON was put first; blob put is v2 only",
        ));
    }
    let (expected, total) = match (digest, from_stdin) {
        (Some(d), _) => {
            registry::Digest::parse(d)?;
            let size = match from_stdin {
                true => 0,
                false => std::fs::metadata(file)
                    .map_err(|e| io_error("open", file, e))?
                    .len(),
            };
            (Some(d.to_string()), size)
        }
        (None, true) => (None, 0),
        (None, false) => {
            let (d, size) = registry::hash_file(file)?;
            (Some(d.to_string()), size)
        }
    };
    let label = expected.clone().unwrap_or_else(|| "stdin".to_string());
    let mut display = Display::new(Mode::of(g), BLOB_PUT);
    let result = {
        let input: Box<dyn Read> = if from_stdin {
            Box::new(std::io::stdin().lock())
        } else {
            Box::new(File::open(file).map_err(|e| io_error("open", file, e))?)
        };
        let mut counting = Counting {
            inner: input,
            done: 0,
            total,
            label: &label,
            display: &mut display,
        };
        let expected = expected.as_deref().map(ContentId::parse).transpose()?;
        let result = c.layer_put(image.repo(), &mut counting, expected.as_ref());
        let done = counting.done.max(total);
        result.map(|d| (d, done))
    };
    if let Ok((_, done)) = &result {
        display.complete(&label, *done);
    }
    display.finish();
    let (digest, size) = result?;
    print_digest(g, &digest.to_string(), json!({ "size": size }))
}
