//! Image references, repository names, tags, digests and platforms.
//!
//! The grammar is distribution's (`reference.go`, `regexp.go`, `normalize.go`),
//! written out by hand: the crate has no regex dependency. Normalisation follows
//! docker: `alpine` is `docker.io/library/alpine:latest`.

#![forbid(unsafe_code)]

use std::fmt;

use crate::error::{Error, Result};

/// The domain docker uses for Docker Hub in references.
pub const DOCKER_HUB: &str = "docker.io";

const MAX_NAME_LEN: usize = 255;
const MAX_TAG_LEN: usize = 128;

/// A digest algorithm the client can verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Algorithm {
    /// `sha256`, 64 lower-case hex digits.
    Sha256,
    /// `sha512`, 128 lower-case hex digits.
    Sha512,
}

impl Algorithm {
    /// The name used in digests.
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Sha256 => "sha256",
            Algorithm::Sha512 => "sha512",
        }
    }

    fn hex_len(self) -> usize {
        match self {
            Algorithm::Sha256 => 64,
            Algorithm::Sha512 => 128,
        }
    }
}

/// A content digest such as `sha256:e3b0…`. Parsed from a string with
/// [`parse`](Self::parse), `str::parse` or `try_into`; (de)serialised as
/// that string.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Deserialize, serde::Serialize,
)]
#[serde(try_from = "String", into = "String")]
pub struct Digest {
    algorithm: Algorithm,
    hex: String,
}

impl Digest {
    /// Parses `algorithm:hex`. Only `sha256` and `sha512` with lower-case hex of
    /// the right length are accepted; anything else is an InvalidArgument error.
    pub fn parse(s: &str) -> Result<Digest> {
        let bad = |why: &str| Error::invalid(format!("invalid digest {s:?}: {why}"));
        let (alg, hex) = s
            .split_once(':')
            .ok_or_else(|| bad("expected algorithm:hex"))?;
        let algorithm = match alg {
            "sha256" => Algorithm::Sha256,
            "sha512" => Algorithm::Sha512,
            "" => return Err(bad("missing algorithm")),
            _ => return Err(bad("unsupported algorithm (sha256 and sha512 are)")),
        };
        if hex.len() != algorithm.hex_len() {
            return Err(bad(&format!(
                "{} needs {} hex digits, got {}",
                algorithm.name(),
                algorithm.hex_len(),
                hex.len()
            )));
        }
        if !hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return Err(bad("hex part must be lower-case hexadecimal"));
        }
        Ok(Digest {
            algorithm,
            hex: hex.to_string(),
        })
    }

    /// The algorithm.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The hex part, without the algorithm.
    pub fn hex(&self) -> &str {
        &self.hex
    }

    fn from_parts(algorithm: Algorithm, hex: String) -> Digest {
        Digest { algorithm, hex }
    }
}

/// Hashes bytes as they flow, for the algorithm of an expected digest.
#[derive(Clone)]
pub(crate) enum Hasher {
    Sha256(sha2::Sha256),
    Sha512(sha2::Sha512),
}

impl Hasher {
    pub fn new(algorithm: Algorithm) -> Hasher {
        use sha2::Digest as _;
        match algorithm {
            Algorithm::Sha256 => Hasher::Sha256(sha2::Sha256::new()),
            Algorithm::Sha512 => Hasher::Sha512(sha2::Sha512::new()),
        }
    }

    pub fn update(&mut self, bytes: &[u8]) {
        use sha2::Digest as _;
        match self {
            Hasher::Sha256(h) => h.update(bytes),
            Hasher::Sha512(h) => h.update(bytes),
        }
    }

    pub fn finish(self) -> Digest {
        use sha2::Digest as _;
        match self {
            Hasher::Sha256(h) => {
                Digest::from_parts(Algorithm::Sha256, format!("{:x}", h.finalize()))
            }
            Hasher::Sha512(h) => {
                Digest::from_parts(Algorithm::Sha512, format!("{:x}", h.finalize()))
            }
        }
    }

    /// The digest of `bytes`.
    pub fn digest(algorithm: Algorithm, bytes: &[u8]) -> Digest {
        let mut h = Hasher::new(algorithm);
        h.update(bytes);
        h.finish()
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.algorithm.name(), self.hex)
    }
}

/// Checks a repository path such as `team/app` against the distribution grammar:
/// lower-case alphanumeric components separated by `/`, with single `.` or `_`,
/// a double `__`, or runs of `-` inside a component, at most 255 characters.
pub fn validate_repository(name: &str) -> Result<()> {
    let bad = |why: String| Error::invalid(format!("invalid repository name {name:?}: {why}"));
    if name.is_empty() {
        return Err(bad("it is empty".into()));
    }
    if name.len() > MAX_NAME_LEN {
        return Err(bad(format!("longer than {MAX_NAME_LEN} characters")));
    }
    if name.bytes().any(|b| b.is_ascii_uppercase()) {
        return Err(bad("repository names must be lowercase".into()));
    }
    for component in name.split('/') {
        if let Err(why) = check_path_component(component) {
            return Err(bad(format!("component {component:?} {why}")));
        }
    }
    Ok(())
}

/// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`
fn check_path_component(c: &str) -> std::result::Result<(), &'static str> {
    if c.is_empty() {
        return Err("is empty");
    }
    let b = c.as_bytes();
    let alnum = |x: u8| x.is_ascii_lowercase() || x.is_ascii_digit();
    if !alnum(b[0]) || !alnum(b[b.len() - 1]) {
        return Err("must start and end with a lower-case letter or digit");
    }
    let mut i = 0;
    while i < b.len() {
        if alnum(b[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && !alnum(b[i]) {
            i += 1;
        }
        let sep = &c[start..i];
        let ok = sep == "." || sep == "_" || sep == "__" || sep.bytes().all(|x| x == b'-');
        if !ok {
            return Err("has an invalid separator (one '.', one '_', '__' or '-'s)");
        }
    }
    Ok(())
}

/// Checks a tag: `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`.
pub fn validate_tag(tag: &str) -> Result<()> {
    let bad = |why: &str| Error::invalid(format!("invalid tag {tag:?}: {why}"));
    let b = tag.as_bytes();
    if b.is_empty() {
        return Err(bad("it is empty"));
    }
    if b.len() > MAX_TAG_LEN {
        return Err(bad("longer than 128 characters"));
    }
    let word = |x: u8| x.is_ascii_alphanumeric() || x == b'_';
    if !word(b[0]) {
        return Err(bad("must start with a letter, digit or '_'"));
    }
    if !b.iter().all(|&x| word(x) || x == b'.' || x == b'-') {
        return Err(bad("only letters, digits, '_', '.' and '-' are allowed"));
    }
    Ok(())
}

/// What a manifest is addressed by: a tag or a digest. Methods that take
/// one accept a string (parsed as [`parse`](Self::parse) does), a
/// [`Digest`] or a `ManifestRef`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ManifestRef {
    /// A tag such as `v1`.
    Tag(String),
    /// A digest such as `sha256:…`.
    Digest(Digest),
}

impl ManifestRef {
    /// A string with a `:` is a digest, anything else a tag; both are validated.
    pub fn parse(s: &str) -> Result<ManifestRef> {
        if s.contains(':') {
            Digest::parse(s).map(ManifestRef::Digest)
        } else {
            validate_tag(s)?;
            Ok(ManifestRef::Tag(s.to_string()))
        }
    }
}

impl fmt::Display for ManifestRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ManifestRef::Tag(t) => f.write_str(t),
            ManifestRef::Digest(d) => d.fmt(f),
        }
    }
}

/// A platform: which image of an index to pick, written `os/arch[/variant]`
/// as docker and containerd read it; in an index entry, the `platform`
/// object (`os`, `architecture`, `variant`; other fields are not kept).
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Deserialize, serde::Serialize)]
pub struct Platform {
    /// `linux`, `windows`, …
    pub os: String,
    /// `amd64`, `arm64`, …
    pub architecture: String,
    /// `v7`, `v8`, … or `None` for the architecture's default (`arm`: `v7`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
}

impl Default for Platform {
    /// `linux/amd64`.
    fn default() -> Platform {
        Platform {
            os: "linux".into(),
            architecture: "amd64".into(),
            variant: None,
        }
    }
}

impl Platform {
    /// Parses `os/arch` or `os/arch/variant` (lower-case letters, digits,
    /// `.`, `_` and `-`). Architecture aliases are read as containerd reads
    /// them (`aarch64` is `arm64`, `x86_64` is `amd64`, `armhf` is `arm/v7`).
    pub fn parse(s: &str) -> Result<Platform> {
        let bad = |why: &str| Error::invalid(format!("invalid platform {s:?}: {why}"));
        let parts: Vec<&str> = s.split('/').collect();
        if !(2..=3).contains(&parts.len()) {
            return Err(bad("expected os/arch or os/arch/variant"));
        }
        for p in &parts {
            let ok = !p.is_empty()
                && p.len() <= 32
                && p.bytes().all(|b| {
                    b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-')
                });
            if !ok {
                return Err(bad(
                    "each part must be lower-case letters, digits, '.', '_' or '-'",
                ));
            }
        }
        Ok(Platform {
            os: parts[0].to_string(),
            architecture: parts[1].to_string(),
            variant: parts.get(2).map(|v| v.to_string()),
        })
    }

    /// Whether an index entry for `os`/`architecture`/`variant` runs as this
    /// platform: same OS, same architecture after aliases, and the same
    /// variant after defaults (`arm64` is `arm64/v8`, `arm` is `arm/v7`,
    /// `amd64` is `amd64/v1`) or, for `arm` and `amd64`, a lower one it
    /// runs too (`arm/v7` runs `arm/v6` and `arm/v5`; `amd64/v3` runs `v2`
    /// and `v1`), as containerd matches them.
    pub fn matches(&self, os: &str, architecture: &str, variant: Option<&str>) -> bool {
        self.fit(os, architecture, variant).is_some()
    }

    /// Which of `entries` (index entries as `(os, architecture, variant)`)
    /// is this platform, by position: the first that [`matches`](Self::matches)
    /// it exactly (`linux/arm` picks `arm/v7` over an `arm/v5` listed before
    /// it), else the first of the closest lower variant.
    pub fn best_of<'a>(
        &self,
        entries: impl IntoIterator<Item = (&'a str, &'a str, Option<&'a str>)>,
    ) -> Option<usize> {
        let mut best: Option<(u32, usize)> = None;
        for (i, (os, architecture, variant)) in entries.into_iter().enumerate() {
            match self.fit(os, architecture, variant) {
                Some(0) => return Some(i),
                Some(distance) if best.is_none_or(|(d, _)| distance < d) => {
                    best = Some((distance, i))
                }
                _ => {}
            }
        }
        best.map(|(_, i)| i)
    }

    /// How far an index entry is from this platform: 0 for the same, the
    /// number of variants down for a lower one it runs, `None` for one it
    /// does not run.
    fn fit(&self, os: &str, architecture: &str, variant: Option<&str>) -> Option<u32> {
        let (want_arch, want_variant) = normalise(&self.architecture, self.variant.as_deref());
        let (arch, variant) = normalise(architecture, variant);
        if !os.eq_ignore_ascii_case(&self.os) || arch != want_arch {
            return None;
        }
        if variant == want_variant {
            return Some(0);
        }
        match (
            level(&arch, variant.as_deref()),
            level(&arch, want_variant.as_deref()),
        ) {
            (Some(have), Some(want)) if have < want => Some(want - have),
            _ => None,
        }
    }
}

/// The level of an `arm` (`v5`…) or `amd64` (`v1`…) variant, whose lower
/// levels run on a higher one; `None` for other architectures.
fn level(arch: &str, variant: Option<&str>) -> Option<u32> {
    match (arch, variant) {
        ("amd64", None) => Some(1),
        ("arm" | "amd64", Some(v)) => v.strip_prefix('v')?.parse().ok(),
        _ => None,
    }
}

/// containerd's architecture aliases and default variants.
fn normalise(architecture: &str, variant: Option<&str>) -> (String, Option<String>) {
    let arch = architecture.to_ascii_lowercase();
    let variant = variant
        .map(str::to_ascii_lowercase)
        .filter(|v| !v.is_empty());
    let (arch, variant) = match (arch.as_str(), variant) {
        ("aarch64", v) => ("arm64".to_string(), v),
        ("x86_64" | "x86-64", v) => ("amd64".to_string(), v),
        ("i386", v) => ("386".to_string(), v),
        ("armhf", _) => ("arm".to_string(), Some("v7".to_string())),
        ("armel", _) => ("arm".to_string(), Some("v6".to_string())),
        (_, v) => (arch, v),
    };
    // A bare number is a version: `8` is `v8`.
    let variant = variant.map(|v| match v.bytes().all(|b| b.is_ascii_digit()) {
        true => format!("v{v}"),
        false => v,
    });
    let variant = match (arch.as_str(), variant) {
        ("arm64", Some(v)) if v == "v8" => None,
        ("amd64", Some(v)) if v == "v1" => None,
        ("arm", None) => Some("v7".to_string()),
        (_, v) => v,
    };
    (arch, variant)
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

/// A full image reference: `[domain/]repository[:tag][@digest]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Reference {
    domain: String,
    repository: String,
    tag: Option<String>,
    digest: Option<Digest>,
}

impl Reference {
    /// Parses and normalises a reference the way docker does: the domain
    /// defaults to `docker.io`, one-word Docker Hub repositories get `library/`,
    /// and the tag defaults to `latest` when there is no digest.
    pub fn parse(s: &str) -> Result<Reference> {
        let bad = |why: &str| Error::invalid(format!("invalid reference {s:?}: {why}"));
        if s.is_empty() {
            return Err(bad("it is empty"));
        }
        let (rest, digest) = match s.split_once('@') {
            Some((r, d)) => (r, Some(Digest::parse(d)?)),
            None => (s, None),
        };
        // A tag is after the last ':' that follows the last '/' (a ':' before
        // that belongs to a port).
        let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match rest[last_slash..].rfind(':') {
            Some(i) => {
                let at = last_slash + i;
                let tag = &rest[at + 1..];
                validate_tag(tag)?;
                (&rest[..at], Some(tag.to_string()))
            }
            None => (rest, None),
        };
        if name.len() == 64 && name.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad("a 64-hex string is an image id, not a name"));
        }
        let (domain, path) = split_domain(name);
        validate_domain(&domain).map_err(|why| bad(&why))?;
        let repository = if domain == DOCKER_HUB && !path.contains('/') {
            format!("library/{path}")
        } else {
            path.to_string()
        };
        validate_repository(&repository)?;
        if domain.len() + 1 + repository.len() > MAX_NAME_LEN {
            return Err(bad("name longer than 255 characters"));
        }
        let tag = match (tag, &digest) {
            (None, None) => Some("latest".to_string()),
            (t, _) => t,
        };
        Ok(Reference {
            domain,
            repository,
            tag,
            digest,
        })
    }

    /// The registry domain, `docker.io` for Docker Hub.
    pub fn domain(&self) -> &str {
        &self.domain
    }

    /// The repository path inside the registry, e.g. `library/alpine`.
    pub fn repository(&self) -> &str {
        &self.repository
    }

    /// The tag, if any (`latest` when neither tag nor digest was given).
    pub fn tag(&self) -> Option<&str> {
        self.tag.as_deref()
    }

    /// The digest, if any.
    pub fn digest(&self) -> Option<&Digest> {
        self.digest.as_ref()
    }

    /// What to fetch: the digest when there is one (docker ignores the tag
    /// then), else the tag.
    pub fn manifest_ref(&self) -> ManifestRef {
        match (&self.digest, &self.tag) {
            (Some(d), _) => ManifestRef::Digest(d.clone()),
            (None, Some(t)) => ManifestRef::Tag(t.clone()),
            (None, None) => ManifestRef::Tag("latest".into()),
        }
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.domain, self.repository)?;
        if let Some(t) = &self.tag {
            write!(f, ":{t}")?;
        }
        if let Some(d) = &self.digest {
            write!(f, "@{d}")?;
        }
        Ok(())
    }
}

/// docker's `splitDockerDomain`.
fn split_domain(name: &str) -> (String, &str) {
    match name.split_once('/') {
        None => (DOCKER_HUB.to_string(), name),
        Some((first, rest)) => {
            let is_domain = first == "localhost"
                || first.contains('.')
                || first.contains(':')
                || first.bytes().any(|b| b.is_ascii_uppercase());
            if !is_domain {
                (DOCKER_HUB.to_string(), name)
            } else if first == "index.docker.io" {
                (DOCKER_HUB.to_string(), rest)
            } else {
                (first.to_string(), rest)
            }
        }
    }
}

/// A v1 image id: 64 lowercase hex digits.
pub(crate) fn validate_image_id(id: &str) -> Result<()> {
    if id.len() == 64 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return Ok(());
    }
    Err(Error::invalid(format!(
        "invalid v1 image id {id:?}: expected 64 lowercase hex digits"
    )))
}

/// `host[:port]` where host is a DNS name, an IPv4 address or `[IPv6]`.
pub(crate) fn validate_domain(domain: &str) -> std::result::Result<(), String> {
    let (host, port) = if let Some(v6) = domain.strip_prefix('[') {
        let (inner, after) = v6
            .split_once(']')
            .ok_or_else(|| format!("domain {domain:?} has an unclosed '['"))?;
        if inner.is_empty() || !inner.bytes().all(|b| b.is_ascii_hexdigit() || b == b':') {
            return Err(format!("domain {domain:?} has an invalid IPv6 address"));
        }
        match after {
            "" => (None, None),
            p if p.starts_with(':') => (None, Some(&p[1..])),
            _ => return Err(format!("domain {domain:?} has junk after ']'")),
        }
    } else {
        match domain.rsplit_once(':') {
            Some((h, p)) => (Some(h), Some(p)),
            None => (Some(domain), None),
        }
    };
    if let Some(p) = port {
        if p.is_empty() || p.len() > 5 || !p.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!("domain {domain:?} has an invalid port"));
        }
    }
    if let Some(h) = host {
        if h.is_empty() {
            return Err(format!("domain {domain:?} has an empty host"));
        }
        for comp in h.split('.') {
            let b = comp.as_bytes();
            let ok = !b.is_empty()
                && b[0].is_ascii_alphanumeric()
                && b[b.len() - 1].is_ascii_alphanumeric()
                && b.iter().all(|&x| x.is_ascii_alphanumeric() || x == b'-');
            if !ok {
                return Err(format!("domain {domain:?} has an invalid host name"));
            }
        }
    }
    Ok(())
}

/// What names content across both APIs: a digest (v2 blobs, manifests and
/// image ids) or a v1 image id (64 hex digits; v1 names an image and its
/// layer alike). Parsed from a string by its shape: `algorithm:hex` is a
/// digest, 64 lower-case hex digits an image id.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ContentId {
    /// A content digest (v2).
    Digest(Digest),
    /// A v1 image id.
    V1Image(String),
}

impl ContentId {
    /// Parses a digest (`sha256:…`) or a v1 image id (64 lower-case hex
    /// digits); anything else is INVALID_ARGUMENT.
    pub fn parse(s: &str) -> Result<ContentId> {
        if s.contains(':') {
            return Digest::parse(s).map(ContentId::Digest);
        }
        if validate_image_id(s).is_ok() {
            return Ok(ContentId::V1Image(s.to_string()));
        }
        Err(Error::invalid(format!(
            "invalid layer {:?}: expected a digest (sha256:<64 hex>) or a v1 image id (64 hex)",
            s.chars().take(150).collect::<String>()
        )))
    }

    /// The digest, for a v2 registry; INVALID_ARGUMENT for a v1 image id.
    pub fn digest(&self) -> Result<&Digest> {
        match self {
            ContentId::Digest(d) => Ok(d),
            ContentId::V1Image(id) => Err(Error::invalid(format!(
                "{id} is a v1 image id; a v2 registry names content by digest"
            ))),
        }
    }

    /// The image id, for a v1 registry; INVALID_ARGUMENT for a digest.
    pub fn v1_image(&self) -> Result<&str> {
        match self {
            ContentId::V1Image(id) => Ok(id),
            ContentId::Digest(d) => Err(Error::invalid(format!(
                "{d} is a digest; a v1 registry names images and layers by image id"
            ))),
        }
    }
}

impl fmt::Display for ContentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ContentId::Digest(d) => d.fmt(f),
            ContentId::V1Image(id) => f.write_str(id),
        }
    }
}

impl From<Digest> for ContentId {
    fn from(d: Digest) -> ContentId {
        ContentId::Digest(d)
    }
}

impl From<Digest> for ManifestRef {
    fn from(d: Digest) -> ManifestRef {
        ManifestRef::Digest(d)
    }
}

impl From<Digest> for String {
    fn from(d: Digest) -> String {
        d.to_string()
    }
}

/// The typed arguments read from text: `str::parse`, and `try_into` from a
/// string or a reference to the type, each as the type's `parse` reads it.
macro_rules! parsed_from_text {
    ($($t:ident),*) => {$(
        impl std::str::FromStr for $t {
            type Err = Error;
            fn from_str(s: &str) -> Result<$t> {
                $t::parse(s)
            }
        }

        impl TryFrom<&str> for $t {
            type Error = Error;
            fn try_from(s: &str) -> Result<$t> {
                $t::parse(s)
            }
        }

        impl TryFrom<&String> for $t {
            type Error = Error;
            fn try_from(s: &String) -> Result<$t> {
                $t::parse(s)
            }
        }

        impl TryFrom<String> for $t {
            type Error = Error;
            fn try_from(s: String) -> Result<$t> {
                $t::parse(&s)
            }
        }

        impl TryFrom<&$t> for $t {
            type Error = Error;
            fn try_from(v: &$t) -> Result<$t> {
                Ok(v.clone())
            }
        }
    )*};
}

parsed_from_text!(Digest, ManifestRef, Platform, Reference, ContentId);

impl Digest {
    /// Whether `text` is this digest written out.
    fn is_text(&self, text: &str) -> bool {
        text.split_once(':') == Some((self.algorithm.name(), self.hex.as_str()))
    }
}

impl ContentId {
    /// Whether `text` is this id written out.
    fn is_text(&self, text: &str) -> bool {
        match self {
            ContentId::Digest(d) => d.is_text(text),
            ContentId::V1Image(id) => id == text,
        }
    }
}

/// Digests and content ids compare with their text (`sha256:…`, an image id).
macro_rules! equal_to_text {
    ($($t:ident),*) => {$(
        impl PartialEq<str> for $t {
            fn eq(&self, other: &str) -> bool {
                self.is_text(other)
            }
        }

        impl PartialEq<&str> for $t {
            fn eq(&self, other: &&str) -> bool {
                self.is_text(other)
            }
        }

        impl PartialEq<String> for $t {
            fn eq(&self, other: &String) -> bool {
                self.is_text(other)
            }
        }
    )*};
}

equal_to_text!(Digest, ContentId);

impl TryFrom<&Digest> for ManifestRef {
    type Error = Error;
    fn try_from(d: &Digest) -> Result<ManifestRef> {
        Ok(ManifestRef::Digest(d.clone()))
    }
}

impl TryFrom<&Digest> for ContentId {
    type Error = Error;
    fn try_from(d: &Digest) -> Result<ContentId> {
        Ok(ContentId::Digest(d.clone()))
    }
}

/// A method's typed argument from whatever the caller passed (see the
/// `TryFrom` impls above).
pub(crate) fn typed<T>(arg: impl TryInto<T, Error: Into<Error>>) -> Result<T> {
    arg.try_into().map_err(Into::into)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    const HEX: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    #[test]
    fn image_ids_and_layers() {
        let id = "a".repeat(64);
        assert!(validate_image_id(&id).is_ok());
        for bad in [
            "A".repeat(64),
            "a".repeat(63),
            "g".repeat(64),
            String::new(),
        ] {
            assert!(validate_image_id(&bad).is_err(), "{bad}");
        }
        assert_eq!(
            ContentId::parse(&id).unwrap(),
            ContentId::V1Image(id.clone())
        );
        let digest = format!("sha256:{id}");
        assert_eq!(ContentId::parse(&digest).unwrap(), digest.as_str());
        let e = ContentId::parse("latest").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    }

    #[test]
    fn docker_normalisation() {
        let r = Reference::parse("alpine").unwrap();
        assert_eq!(r.to_string(), "docker.io/library/alpine:latest");
        let r = Reference::parse("user/app:1").unwrap();
        assert_eq!(r.to_string(), "docker.io/user/app:1");
        let r = Reference::parse("index.docker.io/user/app").unwrap();
        assert_eq!(r.domain(), "docker.io");
        assert_eq!(r.repository(), "user/app");
        let r = Reference::parse("localhost/app").unwrap();
        assert_eq!((r.domain(), r.repository()), ("localhost", "app"));
        let s = format!("localhost:5000/a/b@sha256:{HEX}");
        let r = Reference::parse(&s).unwrap();
        assert_eq!(r.domain(), "localhost:5000");
        assert_eq!(r.repository(), "a/b");
        assert_eq!(r.tag(), None);
        assert_eq!(r.to_string(), s);
        let r = Reference::parse("myreg:5000/x:v2").unwrap();
        assert_eq!((r.domain(), r.tag()), ("myreg:5000", Some("v2")));
        let r = Reference::parse("[::1]:5000/x").unwrap();
        assert_eq!(r.domain(), "[::1]:5000");
    }

    #[test]
    fn rejects_what_distribution_rejects() {
        for bad in [
            "Alpine",
            "docker.io/Team/app",
            "a/../b",
            "a..b",
            "a/",
            "-a",
            "a_-b",
            "a:",
            "a:-tag",
            "a@sha256:abc",
            "a@md5:0123456789abcdef0123456789abcdef",
            "a b",
            HEX,
        ] {
            let e = Reference::parse(bad).expect_err(bad);
            assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{bad}");
        }
        let e = Reference::parse("Team/App").unwrap_err();
        assert!(e.message().contains("lowercase"), "{}", e.message());
        let e = validate_repository("a/../b").unwrap_err();
        assert!(
            e.message().contains("\"..\""),
            "names the part: {}",
            e.message()
        );
        let long_tag = "t".repeat(129);
        assert!(validate_tag(&long_tag).is_err());
        assert!(validate_tag(&"t".repeat(128)).is_ok());
    }

    #[test]
    fn separators() {
        for ok in ["a.b", "a_b", "a__b", "a---b", "a/b/c", "0x"] {
            validate_repository(ok).unwrap();
        }
        for bad in ["a___b", "a.-b", "a..b", "a._b", "", "a//b"] {
            assert!(validate_repository(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn digests() {
        let d = Digest::parse(&format!("sha256:{HEX}")).unwrap();
        assert_eq!(d.algorithm(), Algorithm::Sha256);
        assert_eq!(d.hex(), HEX);
        assert!(Digest::parse(&format!("sha256:{}", HEX.to_uppercase())).is_err());
        assert!(Digest::parse(&format!("sha512:{HEX}")).is_err());
        assert!(Digest::parse(&format!("sha512:{HEX}{HEX}")).is_ok());
        assert!(Digest::parse(HEX).is_err());
        assert_eq!(Hasher::digest(Algorithm::Sha256, b"").hex(), HEX);
        assert!(matches!(
            ManifestRef::parse("v1").unwrap(),
            ManifestRef::Tag(_)
        ));
        assert!(ManifestRef::parse("sha256:zz").is_err());
    }

    #[test]
    fn platforms() {
        let p = Platform::parse("linux/arm64").unwrap();
        assert!(p.matches("linux", "arm64", Some("v8")));
        assert!(p.matches("linux", "arm64", None));
        assert!(p.matches("linux", "aarch64", None));
        assert!(!p.matches("linux", "amd64", None));
        assert!(!p.matches("windows", "arm64", None));
        let v8 = Platform::parse("linux/arm64/v8").unwrap();
        assert!(v8.matches("linux", "arm64", None));
        assert!(v8.matches("linux", "arm64", Some("v8")));
        let arm = Platform::parse("linux/arm").unwrap();
        assert!(arm.matches("linux", "arm", Some("v7")));
        let v6 = Platform::parse("linux/arm/v6").unwrap();
        assert!(v6.matches("linux", "arm", Some("v6")));
        assert!(!v6.matches("linux", "arm", Some("v7")));
        assert!(!v6.matches("linux", "arm", None), "arm means arm/v7");
        // debian's index lists arm/v5 before arm/v7: plain arm is arm/v7.
        let debian = [
            ("linux", "amd64", None),
            ("linux", "arm", Some("v5")),
            ("linux", "arm", Some("v7")),
            ("linux", "arm64", Some("v8")),
        ];
        assert_eq!(arm.best_of(debian), Some(2));
        assert_eq!(p.best_of(debian), Some(3));
        assert_eq!(Platform::default().best_of(debian), Some(0));
        // A lower variant runs too, the closest first; a higher one never.
        assert_eq!(arm.best_of([("linux", "arm", Some("v6"))]), Some(0));
        let older = [("linux", "arm", Some("v5")), ("linux", "arm", Some("v6"))];
        assert_eq!(arm.best_of(older), Some(1));
        assert_eq!(v6.best_of(older), Some(1));
        assert_eq!(v6.best_of([("linux", "arm", Some("v5"))]), Some(0));
        assert_eq!(arm.best_of([("linux", "arm", Some("v8"))]), None);
        assert_eq!(arm.best_of([("windows", "arm", Some("v7"))]), None);
        let amd64 = Platform::default();
        assert_eq!(amd64.best_of([("linux", "amd64", Some("v3"))]), None);
        let v3 = Platform::parse("linux/amd64/v3").unwrap();
        let levels = [("linux", "amd64", None), ("linux", "amd64", Some("v2"))];
        assert_eq!(v3.best_of(levels), Some(1));
        // arm64 has no levels here: v8 alone, written any way.
        assert!(p.matches("linux", "arm64", Some("8")));
        assert!(!p.matches("linux", "arm64", Some("v9")));
        assert!(Platform::parse("linux/386")
            .unwrap()
            .matches("linux", "i386", None));
        assert!(Platform::default().matches("linux", "amd64", None));
        assert_eq!(v8.to_string(), "linux/arm64/v8");
        for bad in [
            "",
            "linux",
            "linux/",
            "/amd64",
            "a/b/c/d",
            "Linux/amd64",
            "linux/amd 64",
        ] {
            let e = Platform::parse(bad).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{bad}");
        }
    }
}
