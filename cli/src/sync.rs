//! `regcli sync`: many tags of many repositories, registry to registry, into
//! an OCI layout directory (air-gapped transfers) or out of one; filtered by
//! regular expressions, split into shards for parallel CI jobs, from a YAML
//! config file.

#![forbid(unsafe_code)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use regex::Regex;
use registry::{Client, Digest, Error, ErrorKind, ImageOptions, Platform, Result};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::args::Global;
use crate::connect::{self, usage, Image, Login};
use crate::output::{self, tell};
use crate::progress::{self, Display, Mode};

/// What `sync` was told on the command line.
pub struct SyncArgs {
    pub src: Option<String>,
    pub dst: Option<String>,
    pub tags: Option<String>,
    pub exclude: Option<String>,
    pub referrers: bool,
    pub dry_run: bool,
    pub keep_going: bool,
    pub config: Option<PathBuf>,
    pub shard: Option<String>,
}

/// One entry of a config file (or the command line's one).
#[derive(Deserialize, Debug, Clone, Default)]
#[serde(deny_unknown_fields)]
struct Entry {
    source: String,
    destination: String,
    /// A regular expression a tag must match (whole).
    #[serde(default)]
    tags: Option<String>,
    /// A regular expression of tags to leave out (whole).
    #[serde(default)]
    exclude: Option<String>,
    #[serde(default)]
    platforms: Vec<String>,
    #[serde(default)]
    referrers: bool,
}

/// Where an entry's images are: a registry's repository or a layout.
enum End {
    Repo(Image),
    Dir(PathBuf),
}

/// A path, not a reference: it starts with `/`, `.` or `~`, or is a
/// directory that exists.
fn end(s: &str) -> Result<End> {
    if s.starts_with('/') || s.starts_with('.') || Path::new(s).is_dir() {
        return Ok(End::Dir(PathBuf::from(s)));
    }
    Ok(End::Repo(Image::parse_repo(s)?))
}

/// `I/N`: shard I (from 0) of N.
fn shard(s: &str) -> Result<(u64, u64)> {
    let parsed = s
        .split_once('/')
        .and_then(|(i, n)| Some((i.parse::<u64>().ok()?, n.parse::<u64>().ok()?)));
    match parsed {
        Some((i, n)) if n > 0 && i < n => Ok((i, n)),
        _ => Err(usage(format!(
            "--shard {s}: write I/N with 0 <= I < N, e.g. 0/3"
        ))),
    }
}

/// Whether `repo:tag` falls in shard `i` of `n`: the first 8 bytes of the
/// sha256 of "repo:tag" (the repository without its host), big-endian,
/// modulo n. The same on every machine and run.
pub fn in_shard(repo: &str, tag: &str, (i, n): (u64, u64)) -> bool {
    use sha2::Digest as _;
    let h = sha2::Sha256::digest(format!("{repo}:{tag}").as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&h[..8]);
    u64::from_be_bytes(first) % n == i
}

/// A whole-tag match of `re` (anchored), or INVALID_ARGUMENT naming `flag`.
fn anchored(re: Option<&str>, flag: &str) -> Result<Option<Regex>> {
    re.map(|r| {
        Regex::new(&format!("^(?:{r})$"))
            .map_err(|e| usage(format!("{flag} {r:?} is no regular expression: {e}")))
    })
    .transpose()
}

/// The platforms of --platform (a comma list) or an entry's list.
fn platforms(list: &[String]) -> Result<Vec<Platform>> {
    list.iter()
        .flat_map(|p| p.split(','))
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(Platform::parse)
        .collect()
}

/// What one entry did.
#[derive(Default)]
struct Outcome {
    copied: Vec<(String, String)>,
    skipped: Vec<(String, String)>,
    failed: Vec<(String, ErrorKind, String)>,
}

impl Outcome {
    /// `tag` failed with `err`.
    fn fail(&mut self, tag: &str, err: &Error) {
        self.failed
            .push((tag.to_string(), err.kind(), err.message().to_string()));
    }

    fn json(&self, e: &Entry, dry_run: bool) -> Value {
        let pairs = |l: &[(String, String)]| -> Vec<Value> {
            l.iter()
                .map(|(t, d)| json!({ "tag": t, "digest": d }))
                .collect()
        };
        let failed: Vec<Value> = self
            .failed
            .iter()
            .map(|(t, k, m)| json!({ "tag": t, "status": k.name(), "message": m }))
            .collect();
        json!({
            "source": e.source,
            "destination": e.destination,
            "dry_run": dry_run,
            "copied": pairs(&self.copied),
            "skipped": pairs(&self.skipped),
            "failed": failed,
        })
    }
}

/// `regcli sync`.
pub fn run(g: &Global, a: SyncArgs) -> Result<()> {
    let mut entries = match (&a.config, &a.src, &a.dst) {
        (Some(path), None, None) => read_config(path)?,
        (None, Some(src), Some(dst)) => vec![Entry {
            source: src.clone(),
            destination: dst.clone(),
            tags: None,
            exclude: None,
            platforms: vec![],
            referrers: false,
        }],
        _ => return Err(usage("sync takes SRC DST, or --config FILE without them")),
    };
    // Command-line filters and options apply to every entry (and win).
    for e in &mut entries {
        if a.tags.is_some() {
            e.tags.clone_from(&a.tags);
        }
        if a.exclude.is_some() {
            e.exclude.clone_from(&a.exclude);
        }
        if !g.platform.is_empty() {
            e.platforms.clone_from(&g.platform);
        }
        e.referrers |= a.referrers;
    }
    let shard = a.shard.as_deref().map(shard).transpose()?;
    let login = connect::command_line_login(g)?;
    let mut reports = vec![];
    let mut first_failure: Option<Error> = None;
    for e in &entries {
        let outcome = match sync_entry(g, e, shard, login.as_ref(), a.dry_run) {
            Ok(o) => o,
            Err(err) if a.keep_going => {
                // The entry as a whole failed (its tags could not be listed).
                let mut o = Outcome::default();
                o.failed
                    .push(("*".into(), err.kind(), err.message().to_string()));
                o
            }
            Err(err) => {
                if g.json {
                    reports.push(json!({ "source": e.source, "destination": e.destination,
                        "error": { "status": err.kind().name(), "message": err.message() } }));
                    output::json(&json!({ "syncs": reports }))?;
                }
                return Err(err);
            }
        };
        for (tag, kind, message) in &outcome.failed {
            tell(
                g,
                format_args!("{} {tag}: {}: {message}", e.source, kind.name()),
            );
            first_failure
                .get_or_insert_with(|| Error::new(*kind, format!("{}:{tag}: {message}", e.source)));
        }
        tell(
            g,
            format_args!(
                "{} -> {}: {} {}, {} skipped, {} failed",
                e.source,
                e.destination,
                outcome.copied.len(),
                if a.dry_run { "to copy" } else { "copied" },
                outcome.skipped.len(),
                outcome.failed.len()
            ),
        );
        if !g.json {
            let verb = if a.dry_run { "would copy" } else { "copied" };
            let mut lines: Vec<String> = outcome
                .copied
                .iter()
                .map(|(t, d)| format!("{verb} {t} {d}"))
                .collect();
            lines.extend(
                outcome
                    .skipped
                    .iter()
                    .map(|(t, d)| format!("skipped {t} {d}")),
            );
            lines.extend(
                outcome
                    .failed
                    .iter()
                    .map(|(t, k, _)| format!("failed {t} {}", k.name())),
            );
            output::lines(&lines)?;
        }
        let stop = !outcome.failed.is_empty() && !a.keep_going;
        reports.push(outcome.json(e, a.dry_run));
        if stop {
            break;
        }
    }
    if g.json {
        output::json(&json!({ "syncs": reports }))?;
    }
    match first_failure {
        Some(e) => Err(Error::new(
            e.kind(),
            format!("some tags failed; the first: {}", e.message()),
        )),
        None => Ok(()),
    }
}

fn read_config(path: &Path) -> Result<Vec<Entry>> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Error::new(
            ErrorKind::Io,
            format!("cannot read {}: {e}", path.display()),
        )
    })?;
    let entries: Vec<Entry> = serde_norway::from_str(&text).map_err(|e| {
        usage(format!(
            "{}: expected a YAML list of {{source, destination, tags, exclude, platforms, referrers}}: {e}",
            path.display()
        ))
    })?;
    if entries.is_empty() {
        return Err(usage(format!("{} lists no sync", path.display())));
    }
    Ok(entries)
}

/// Syncs one entry.
fn sync_entry(
    g: &Global,
    e: &Entry,
    shard: Option<(u64, u64)>,
    login: Option<&Login>,
    dry_run: bool,
) -> Result<Outcome> {
    let include = anchored(e.tags.as_deref(), "--tags")?;
    let exclude = anchored(e.exclude.as_deref(), "--exclude")?;
    let platforms = platforms(&e.platforms)?;
    let keep = |repo: &str, tag: &str| {
        include.as_ref().is_none_or(|r| r.is_match(tag))
            && !exclude.as_ref().is_some_and(|r| r.is_match(tag))
            && shard.is_none_or(|s| in_shard(repo, tag, s))
    };
    match (end(&e.source)?, end(&e.destination)?) {
        (End::Repo(src), End::Repo(dst)) => {
            let same = src.domain() == dst.domain();
            if login.is_some() && !same {
                return Err(usage(
                    "-u applies to one registry; syncing between two, log in to each (regcli login) instead",
                ));
            }
            let from = connect::client(g, src.domain(), login)?;
            let to = match same {
                true => from.clone(),
                false => connect::client(g, dst.domain(), None)?,
            };
            let tags: Vec<String> = from
                .tags(src.repo())?
                .into_iter()
                .filter(|t| keep(src.repo(), t))
                .collect();
            if dry_run {
                return compare(&tags, |t| {
                    let s = from.manifest_head(src.repo(), t)?.digest;
                    Ok((s, there(&to, dst.repo(), t)?))
                });
            }
            let refs: Vec<&str> = tags.iter().map(String::as_str).collect();
            let report = with_display(g, |opts| {
                from.sync(
                    src.repo(),
                    &to,
                    dst.repo(),
                    Some(&refs),
                    opts.with_platforms(platforms.clone())
                        .with_referrers(e.referrers),
                )
            })?;
            Ok(Outcome {
                copied: report
                    .copied
                    .iter()
                    .map(|t| (t.tag.clone(), t.digest.to_string()))
                    .collect(),
                skipped: report
                    .skipped
                    .iter()
                    .map(|t| (t.tag.clone(), t.digest.to_string()))
                    .collect(),
                failed: report
                    .failed
                    .iter()
                    .map(|f| (f.tag.clone(), f.status, f.message.clone()))
                    .collect(),
            })
        }
        (End::Repo(src), End::Dir(dir)) => {
            let from = connect::client(g, src.domain(), login)?;
            let tags: Vec<String> = from
                .tags(src.repo())?
                .into_iter()
                .filter(|t| keep(src.repo(), t))
                .collect();
            let named = layout_names(&dir)?;
            let mut out = Outcome::default();
            for tag in &tags {
                let head = match from.manifest_head(src.repo(), tag.as_str()) {
                    Ok(h) => h.digest,
                    Err(err) => {
                        out.fail(tag, &err);
                        continue;
                    }
                };
                // Without a subset what is written is what the source names.
                if platforms.is_empty() && named.get(tag) == Some(&head.to_string()) {
                    out.skipped.push((tag.clone(), head.to_string()));
                    continue;
                }
                if dry_run {
                    out.copied.push((tag.clone(), head.to_string()));
                    continue;
                }
                let pulled = with_display(g, |opts| {
                    from.image_pull(
                        src.repo(),
                        tag.as_str(),
                        &dir,
                        opts.with_platforms(platforms.clone())
                            .with_referrers(e.referrers),
                    )
                });
                match pulled {
                    Ok(d) if named.get(tag) == Some(&d.to_string()) => {
                        out.skipped.push((tag.clone(), d.to_string()))
                    }
                    Ok(d) => out.copied.push((tag.clone(), d.to_string())),
                    Err(err) if err.kind() == ErrorKind::Aborted => return Err(err),
                    Err(err) => out.fail(tag, &err),
                }
            }
            Ok(out)
        }
        (End::Dir(dir), End::Repo(dst)) => {
            let to = connect::client(g, dst.domain(), login)?;
            let named = layout_names(&dir)?;
            if named.is_empty() {
                return Err(Error::new(
                    ErrorKind::NotFound,
                    format!("{} names no image", dir.display()),
                ));
            }
            let mut tags: Vec<&String> = named.keys().filter(|t| keep(dst.repo(), t)).collect();
            tags.sort();
            let mut out = Outcome::default();
            for tag in tags {
                let digest = &named[tag];
                match there(&to, dst.repo(), tag) {
                    Ok(Some(d)) if Digest::parse(digest).is_ok_and(|w| w == d) => {
                        out.skipped.push((tag.clone(), digest.clone()));
                        continue;
                    }
                    Ok(_) => {}
                    Err(err) => {
                        out.fail(tag, &err);
                        continue;
                    }
                }
                if dry_run {
                    out.copied.push((tag.clone(), digest.clone()));
                    continue;
                }
                let pushed = with_display(g, |opts| {
                    to.image_push(&dir, Some(tag.as_str()), dst.repo(), tag, opts)
                });
                match pushed {
                    Ok(d) => out.copied.push((tag.clone(), d.to_string())),
                    Err(err) if err.kind() == ErrorKind::Aborted => return Err(err),
                    Err(err) => out.fail(tag, &err),
                }
            }
            Ok(out)
        }
        (End::Dir(_), End::Dir(_)) => Err(usage(
            "sync copies between a registry and a registry or a directory; both are directories",
        )),
    }
}

/// The digest `repo:tag` names at `c`, `None` when it does not exist.
fn there(c: &Client, repo: &str, tag: &str) -> Result<Option<Digest>> {
    match c.manifest_head(repo, tag) {
        Ok(h) => Ok(Some(h.digest)),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// A dry run: each tag compared with `heads` (source, destination).
fn compare(
    tags: &[String],
    heads: impl Fn(&str) -> Result<(Digest, Option<Digest>)>,
) -> Result<Outcome> {
    let mut out = Outcome::default();
    for t in tags {
        match heads(t) {
            Ok((s, Some(d))) if s == d => out.skipped.push((t.clone(), s.to_string())),
            Ok((s, _)) => out.copied.push((t.clone(), s.to_string())),
            Err(e) => out
                .failed
                .push((t.clone(), e.kind(), e.message().to_string())),
        }
    }
    Ok(out)
}

/// The names of a layout's images (`org.opencontainers.image.ref.name`) and
/// their digests; none when the directory does not exist yet.
fn layout_names(dir: &Path) -> Result<HashMap<String, String>> {
    let path = dir.join("index.json");
    let text = match std::fs::read(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(HashMap::new()),
        Err(e) => {
            return Err(Error::new(
                ErrorKind::Io,
                format!("cannot read {}: {e}", path.display()),
            ))
        }
    };
    let index: Value = serde_json::from_slice(&text).map_err(|e| {
        Error::new(
            ErrorKind::InvalidArgument,
            format!("{} is no index: {e}", path.display()),
        )
    })?;
    let mut names = HashMap::new();
    for m in index["manifests"].as_array().into_iter().flatten() {
        let name = m["annotations"]["org.opencontainers.image.ref.name"].as_str();
        if let (Some(name), Some(digest)) = (name, m["digest"].as_str()) {
            names.insert(name.to_string(), digest.to_string());
        }
    }
    Ok(names)
}

/// Runs a transfer with the progress display.
fn with_display<T>(g: &Global, call: impl FnOnce(ImageOptions<'_>) -> Result<T>) -> Result<T> {
    let mut display = Display::new(Mode::of(g), progress::COPY);
    let result = {
        let mut report =
            |d: &Digest, done: u64, total: u64| display.update(&d.to_string(), done, total);
        call(ImageOptions::default().with_progress(&mut report))
    };
    display.finish();
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_split_every_tag_once_and_stay_put() {
        let tags: Vec<String> = (0..300).map(|i| format!("v{i}")).collect();
        let mut seen = vec![0; tags.len()];
        for i in 0..3 {
            for (n, t) in tags.iter().enumerate() {
                if in_shard("team/app", t, (i, 3)) {
                    seen[n] += 1;
                }
            }
        }
        assert!(
            seen.iter().all(|&s| s == 1),
            "each tag in exactly one shard"
        );
        let zero = tags
            .iter()
            .filter(|t| in_shard("team/app", t, (0, 3)))
            .count();
        assert!((60..140).contains(&zero), "a fair share: {zero}");
        // Pinned: the same on every machine and run.
        assert!(in_shard("team/app", "v1", (sha_mod("team/app:v1", 3), 3)));
        assert!(shard("3/3").is_err() && shard("0/0").is_err() && shard("x").is_err());
        assert_eq!(shard("2/3").unwrap(), (2, 3));
    }

    fn sha_mod(s: &str, n: u64) -> u64 {
        use sha2::Digest as _;
        let h = sha2::Sha256::digest(s.as_bytes());
        u64::from_be_bytes(h[..8].try_into().unwrap()) % n
    }

    #[test]
    fn filters_are_whole_tag_matches() {
        let re = anchored(Some("v1\\.[0-9]+"), "--tags").unwrap().unwrap();
        assert!(re.is_match("v1.2") && !re.is_match("v1.2-rc") && !re.is_match("xv1.2"));
        assert!(anchored(Some("("), "--tags").is_err());
    }

    #[test]
    fn a_config_is_a_list_of_entries() {
        let e: Vec<Entry> = serde_norway::from_str(
            "- source: a:5000/x\n  destination: b:5000/x\n  tags: 'v.*'\n  platforms: [linux/amd64]\n- source: a:5000/y\n  destination: ./dir\n  referrers: true\n",
        )
        .unwrap();
        assert_eq!(e.len(), 2);
        assert_eq!(e[0].platforms, ["linux/amd64"]);
        assert!(e[1].referrers && e[1].tags.is_none());
        assert!(serde_norway::from_str::<Vec<Entry>>("- source: a\n  dest: b\n").is_err());
    }
}
