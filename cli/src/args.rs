//! The command line: global flags, the commands and their man-page-style
//! help (`regcli <command> --help`).

#![forbid(unsafe_code)]

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

const GLOBAL: &str = "Global options";

const MAIN_ABOUT: &str = "A small client for Docker and OCI registries";

const MAIN_LONG: &str = "\
regcli talks to Docker and OCI registries (the v2 / OCI distribution API, and \
the legacy v1 API where an operation exists there): list repositories and tags, \
read manifests and configs, pull an image into an OCI layout directory, push one \
from it, copy images between repositories and registries, tag, untag and delete.

It reads docker's credentials (config.json `auths`, `credsStore`, `credHelpers`; \
see --docker-config) and certificates (certs.d; see --certs-dir), so a host that \
`docker login` or `regcli login` knows works without further flags.

References are written as docker reads them: host[:port]/repo[:tag|@digest]; a \
name without a host (`alpine`, `user/app`) is on Docker Hub, and a one-word Hub \
name is under `library/`. A missing tag means `latest`.

stdout carries only what a program reads: tags one per line, raw manifest and \
config bytes, a digest alone on its line, or with --json one JSON document. \
stderr carries progress and errors; an error is one line, \
`regcli: <STATUS>: <message>`, and never contains a password or token.";

const MAIN_AFTER: &str = "\
EXIT STATUS:
  0  success
  1  any other failure (UNSUPPORTED, PROTOCOL, SERVER, RATE_LIMITED, IO, ...)
  2  usage: a malformed command line, reference, tag, digest or platform (INVALID_ARGUMENT)
  3  not found: the repository, tag, manifest or blob does not exist (NOT_FOUND)
  4  authentication: missing or wrong credentials, or no permission (UNAUTHORIZED, FORBIDDEN)
  5  network or TLS: no connection, a timeout, an untrusted certificate (NETWORK, TIMEOUT, TLS)
  6  integrity: bytes did not hash to their digest (DIGEST_MISMATCH)
  7  already exists: the registry already has it, e.g. a v1 image (ALREADY_EXISTS)

ENVIRONMENT:
  DOCKER_CONFIG   the directory of config.json (default ~/.docker), as for docker
  REGCLI_REGISTRY_HOSTNAME[_N], _USERNAME[_N], _PASSWORD[_N], _IDENTITY_TOKEN[_N],
  _REGISTRY_TOKEN[_N]   credentials for the registries HOSTNAME matches (a glob such
                  as *.example.com is allowed), as imgpkg's IMGPKG_REGISTRY_*: used
                  before config.json, after -u
  HTTPS_PROXY, HTTP_PROXY, NO_PROXY   proxies, as docker reads them

EXAMPLES:
  echo \"$PASSWORD\" | regcli login registry.example:5000 -u alice --password-stdin
  regcli tags registry.example:5000/team/app
  regcli pull registry.example:5000/team/app:v1 ./app-oci
  regcli cp alpine:3.20 registry.example:5000/mirror/alpine:3.20
  regcli manifest --platform linux/arm64 registry.example:5000/team/app:v1 | jq .";

/// `regcli [global options] <command> ...`
#[derive(Parser, Debug)]
#[command(
    name = "regcli",
    version,
    about = MAIN_ABOUT,
    long_about = MAIN_LONG,
    after_long_help = MAIN_AFTER,
    disable_help_subcommand = true,
    max_term_width = 100
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

/// Flags every command takes, anywhere on the line.
#[derive(Args, Debug, Clone)]
pub struct Global {
    /// Trust the PEM certificates in this file (instead of the built-in web roots).
    #[arg(long, global = true, value_name = "PEM", help_heading = GLOBAL)]
    pub ca_file: Option<PathBuf>,

    /// docker's certs.d directory: <DIR>/<host:port>/*.crt are CAs, *.cert + *.key
    /// a client certificate [default: /etc/docker/certs.d].
    #[arg(long, global = true, value_name = "DIR", help_heading = GLOBAL)]
    pub certs_dir: Option<PathBuf>,

    /// Allow plain HTTP to a registry that does not speak TLS (loopback registries
    /// are allowed without it). Certificates are still verified.
    #[arg(long, global = true, help_heading = GLOBAL)]
    pub insecure: bool,

    /// Log in as USER instead of using docker's config.json (the password comes
    /// from --password-stdin, or a prompt on a terminal).
    #[arg(short = 'u', long, global = true, value_name = "USER", help_heading = GLOBAL)]
    pub username: Option<String>,

    /// Read the password from stdin (all of it, at most 64 KiB; one trailing
    /// newline is dropped).
    #[arg(long, global = true, help_heading = GLOBAL)]
    pub password_stdin: bool,

    /// The directory holding docker's config.json [default: $DOCKER_CONFIG, else ~/.docker].
    #[arg(long, global = true, value_name = "DIR", help_heading = GLOBAL)]
    pub docker_config: Option<PathBuf>,

    /// Look credentials up in config.json under KEY instead of the registry's host
    /// (binderhub's auth_config_url, e.g. https://index.docker.io/v1/).
    #[arg(long, global = true, value_name = "KEY", help_heading = GLOBAL)]
    pub auth_key: Option<String>,

    /// Pick this platform's image of a multi-platform index (os/arch[/variant],
    /// e.g. linux/arm64). pull and cp take several (repeated, or a comma list):
    /// a new index holding only those platforms' entries.
    #[arg(long, global = true, value_name = "OS/ARCH", help_heading = GLOBAL,
          value_delimiter = ',')]
    pub platform: Vec<String>,

    /// pull and cp: also carry every referrer of the image (signatures, SBOMs,
    /// attestations), recursively.
    #[arg(long, global = true, help_heading = GLOBAL)]
    pub referrers: bool,

    /// Move this many blobs at once in pull, push and cp [default: 4].
    #[arg(long, global = true, value_name = "N", help_heading = GLOBAL)]
    pub parallel: Option<u32>,

    /// Send at most N requests a second to the registry, from every thread of the
    /// command together (0: no limit, the default). A 429 from the registry pauses
    /// them all, whatever N is.
    #[arg(long, global = true, value_name = "N", help_heading = GLOBAL)]
    pub rate_limit: Option<u32>,

    /// Record blob uploads here so that a push, cp or sync killed mid-layer resumes
    /// where the registry stopped when run again (sessions the registry still
    /// holds; no credentials are written) [default: $XDG_STATE_HOME/regcli, else
    /// ~/.local/state/regcli; "" for none].
    #[arg(long, global = true, value_name = "DIR", help_heading = GLOBAL,
          value_parser = path_or_empty)]
    pub upload_state: Option<PathBuf>,

    /// Print structured output as JSON on stdout.
    #[arg(long, global = true, help_heading = GLOBAL)]
    pub json: bool,

    /// Print nothing on stderr but errors.
    #[arg(short = 'q', long, global = true, help_heading = GLOBAL)]
    pub quiet: bool,

    /// Speak this registry API instead of detecting it.
    #[arg(long, global = true, value_enum, value_name = "VERSION", help_heading = GLOBAL)]
    pub api: Option<ApiArg>,

    /// Progress on stderr: a live display per blob on a terminal (auto), one line
    /// per blob (plain, also auto when stderr is not a terminal), or none.
    #[arg(long, global = true, value_enum, default_value = "auto", value_name = "MODE",
          help_heading = GLOBAL)]
    pub progress: ProgressArg,

    /// Give up on a request after this many seconds without progress, and on a
    /// credential helper (killed with what it started) after this many [default: 30].
    #[arg(long, global = true, value_name = "SECONDS", help_heading = GLOBAL)]
    pub timeout: Option<u64>,

    /// Read through this mirror first (repeatable, in order of preference):
    /// https://host[:port], or http:// for plain HTTP to it. Reads try each mirror,
    /// then the registry; a mirror that fails is skipped; writes never go to one.
    /// Mirrors from registries.conf and daemon.json come after these.
    #[arg(long, global = true, value_name = "URL", help_heading = GLOBAL)]
    pub mirror: Vec<String>,

    /// docker's daemon.json: `registry-mirrors` (for Docker Hub, as dockerd uses
    /// them) and `insecure-registries` (host[:port] or CIDR) [default:
    /// /etc/docker/daemon.json when readable; "" for none].
    #[arg(long, global = true, value_name = "PATH", help_heading = GLOBAL,
          value_parser = path_or_empty)]
    pub daemon_config: Option<PathBuf>,

    /// containers' registries.conf (v2): a [[registry]]'s [[registry.mirror]]
    /// entries, `insecure` and `blocked` [default: /etc/containers/registries.conf
    /// when readable; "" for none].
    #[arg(long, global = true, value_name = "PATH", help_heading = GLOBAL,
          value_parser = path_or_empty)]
    pub registries_conf: Option<PathBuf>,

    /// Say more on stderr: which registry or mirror served each blob and manifest.
    #[arg(short = 'v', long, global = true, help_heading = GLOBAL)]
    pub verbose: bool,
}

/// A path where "" means none (clap's path parser refuses "").
fn path_or_empty(s: &str) -> Result<PathBuf, std::convert::Infallible> {
    Ok(PathBuf::from(s))
}

/// `--api`.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiArg {
    /// Docker Registry v1.
    V1,
    /// Docker Registry v2 / OCI distribution.
    V2,
}

/// `--progress`.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProgressArg {
    /// A live display on a terminal, else plain.
    Auto,
    /// One line per blob when it is done.
    Plain,
    /// No progress.
    None,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Check credentials against a registry and save them for docker and regcli.
    #[command(
        long_about = "\
Checks USER's password against the registry HOST, then saves the credentials \
where docker keeps them: through the credential helper config.json names \
(`credHelpers` for HOST, else `credsStore`; `docker-credential-<name> store`), \
or else base64-encoded in config.json's `auths` (the file is created with mode \
0600). Nothing is saved when the registry refuses the credentials.

Without -u, the user name is asked for on a terminal; without \
--password-stdin, so is the password (not echoed). HOST is host[:port] as in \
references; `docker.io` (or nothing but a Hub alias) is Docker Hub.",
        after_long_help = "\
EXAMPLES:
  regcli login registry.example:5000 -u alice --password-stdin < password.txt
  printf %s \"$TOKEN\" | regcli login ghcr.io -u bot --password-stdin
  regcli login --docker-config ./ci-docker registry.example:5000 -u ci --password-stdin"
    )]
    Login {
        /// The registry: host[:port] (https:// may be written, and is implied).
        #[arg(value_name = "HOST")]
        host: String,
    },

    /// Remove the credentials saved for a registry.
    #[command(
        long_about = "\
Removes HOST's entry from config.json's `auths`, and erases its credentials from \
the credential helper config.json names for it (`docker-credential-<name> erase`). \
Logging out of a host one is not logged in to is not an error.",
        after_long_help = "\
EXAMPLES:
  regcli logout registry.example:5000
  regcli logout docker.io"
    )]
    Logout {
        /// The registry: host[:port].
        #[arg(value_name = "HOST")]
        host: String,
    },

    /// Check that a registry answers and accepts the credentials; print its API.
    #[command(
        long_about = "\
Sends `GET /v2/` (or `GET /v1/_ping` to a v1 registry) with the credentials \
docker's config.json holds for HOST (or -u), and prints the API the registry \
speaks: `v2` or `v1`. With --json: {\"api\":…,\"api_version_header\":…,\
\"registry_version\":…,\"standalone\":…}.",
        after_long_help = "\
EXAMPLES:
  regcli ping registry.example:5000
  regcli ping --ca-file ca.pem --json registry.example:5000"
    )]
    Ping {
        /// The registry: host[:port], or http(s)://host[:port].
        #[arg(value_name = "HOST")]
        host: String,
    },

    /// List the repositories of a registry.
    #[command(
        long_about = "\
Prints every repository in the registry's catalog (`/v2/_catalog`, all pages), \
one per line. On a v1 registry, every repository its search finds. With --json: \
{\"repositories\":[…]}.",
        after_long_help = "\
EXAMPLES:
  regcli catalog registry.example:5000
  regcli catalog --json registry.example:5000 | jq -r '.repositories[]'"
    )]
    Catalog {
        /// The registry: host[:port].
        #[arg(value_name = "HOST")]
        host: String,
    },

    /// Find repositories whose name contains a term.
    #[command(
        long_about = "\
Prints the repositories of HOST whose name contains TERM (case-insensitive), \
one per line. A v2 registry is searched through its catalog; a v1 registry \
(and Docker Hub's index) through its own search. With --json, the result in \
the shape of Docker Hub's search: {\"query\",\"num_results\",\"num_pages\",\
\"page_size\",\"page\",\"results\":[{\"name\",\"description\",\"star_count\",\
\"is_official\",\"is_automated\",\"is_trusted\"}]}.

Without --page, every result up to --limit, as one page. With --page N, page N \
(from 1) of --limit results a page (0: 25; at most 100), as the Hub pages its \
search: num_results then counts the matches of all pages and num_pages the \
pages. A v2 registry's catalog is cut into such pages in catalog order; a page \
past the last is empty.",
        after_long_help = "\
EXAMPLES:
  regcli search registry.example:5000 app
  regcli search --limit 0 --json registry.example:5000 team/
  regcli search --page 2 --limit 10 --json docker.io nginx"
    )]
    Search {
        /// The registry: host[:port].
        #[arg(value_name = "HOST")]
        host: String,
        /// The text repository names must contain.
        #[arg(value_name = "TERM")]
        term: String,
        /// Print at most this many results (0: all); with --page, the page
        /// size (0: 25).
        #[arg(long, default_value_t = 25, value_name = "N")]
        limit: usize,
        /// Print only page N (from 1) of the results, --limit a page.
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
        page: Option<u64>,
    },

    /// List the tags of a repository.
    #[command(
        long_about = "\
Prints every tag of REPO (all pages), sorted, one per line. With --json: \
{\"name\":REPO,\"tags\":[…]}.",
        after_long_help = "\
EXAMPLES:
  regcli tags registry.example:5000/team/app
  regcli tags alpine | tail -n 5"
    )]
    Tags {
        /// The repository: host[:port]/repo (no tag or digest).
        #[arg(value_name = "REPO")]
        repo: String,
    },

    /// Print the digest of an image's manifest.
    #[command(
        long_about = "\
Prints the digest of the manifest (or index) IMAGE names, from a HEAD request; \
with --platform, the digest of that platform's manifest inside an index. On a \
v1 registry, the image id the tag names. With --json: \
{\"digest\",\"mediaType\",\"size\"}.",
        after_long_help = "\
EXAMPLES:
  regcli digest registry.example:5000/team/app:v1
  regcli digest --platform linux/arm64 alpine:3.20"
    )]
    Digest {
        /// The image: host[:port]/repo[:tag|@digest].
        #[arg(value_name = "IMAGE")]
        image: String,
    },

    /// Print an image's manifest, byte for byte.
    #[command(
        long_about = "\
Writes the manifest (or index) IMAGE names to stdout exactly as the registry \
stores it, verified against its digest. With --platform, the platform's \
manifest from an index. v2 only.",
        after_long_help = "\
EXAMPLES:
  regcli manifest registry.example:5000/team/app:v1 | jq .config
  regcli manifest --platform linux/arm64/v8 registry.example:5000/team/multi"
    )]
    Manifest {
        /// The image: host[:port]/repo[:tag|@digest].
        #[arg(value_name = "IMAGE")]
        image: String,
    },

    /// Print an image's config JSON, byte for byte.
    #[command(
        long_about = "\
Writes the config blob of the image IMAGE names to stdout as stored, verified \
against its digest (for an index: --platform's image, default linux/amd64). On \
a v1 registry, the image's JSON.",
        after_long_help = "\
EXAMPLES:
  regcli config registry.example:5000/team/app:v1 | jq .config.Env
  regcli config --platform linux/arm64 alpine"
    )]
    Config {
        /// The image: host[:port]/repo[:tag|@digest].
        #[arg(value_name = "IMAGE")]
        image: String,
    },

    /// Pull an image into an OCI image layout directory.
    #[command(
        long_about = "\
Downloads IMAGE (every platform of an index, or only --platform's) into the OCI \
image layout DIR (created if missing; an existing layout gains the image and \
shares its blobs) and prints the digest of the manifest or index. The image is \
named there by its tag (or by its digest), which skopeo, podman and crane read \
as oci:DIR:NAME. Every blob is verified; --parallel blobs move at once; a pull \
that was interrupted resumes where it stopped. v2 only.

With --format docker-archive or oci-archive, writes one archive file instead: \
docker-archive is what `docker save` writes and `docker load` reads \
(manifest.json with Config, RepoTags host[:port]/repo:tag, Layers; one platform: \
--platform's, else linux/amd64); oci-archive is a tar of an OCI layout (digests \
kept; an index whole unless --platform). Blobs stream from the registry into \
the archive, each verified on the way: into a file --parallel at once, each \
written at its place in the tar; to stdout one at a time. The file appears at \
FILE only once whole: a failed or interrupted pull leaves nothing there. FILE \
`-` writes the archive to stdout instead, which cannot be atomic: a failure \
leaves a truncated tar on stdout and exits non-zero (the digest then goes to \
stderr).",
        after_long_help = "\
EXAMPLES:
  regcli pull registry.example:5000/team/app:v1 ./app
  skopeo inspect oci:./app:v1
  regcli pull --platform linux/arm64 alpine:3.20 ./alpine
  regcli pull --format docker-archive registry.example:5000/team/app:v1 app.tar && docker load -i app.tar
  regcli pull --format oci-archive registry.example:5000/team/app:v1 - | ssh far 'cat > app.tar'"
    )]
    Pull {
        /// The image: host[:port]/repo[:tag|@digest].
        #[arg(value_name = "IMAGE")]
        image: String,
        /// The OCI layout directory to write (with --format: the archive
        /// file, or - for stdout).
        #[arg(value_name = "DIR|FILE")]
        dir: PathBuf,
        /// Write an archive file instead of a layout: docker-archive or oci-archive.
        #[arg(long, value_name = "FORMAT")]
        format: Option<String>,
    },

    /// Save images into one docker-archive, as `docker save` does.
    #[command(
        long_about = "\
Writes every IMAGE (all on one registry) into the docker-archive FILE: each \
with its RepoTags (host[:port]/repo:tag), blobs the images share written once, \
each verified on the way; `docker load -i FILE` and skopeo's \
docker-archive:FILE[:IMAGE] read it. The file appears only once whole. Prints \
the manifest digest of each image, one per line, in order. --platform picks \
the platform of an index (else linux/amd64). v2 only.",
        after_long_help = "\
EXAMPLES:
  regcli save registry.example:5000/team/app:v1 registry.example:5000/team/db:v2 -o bundle.tar
  skopeo copy docker-archive:bundle.tar:registry.example:5000/team/db:v2 oci:./db"
    )]
    Save {
        /// The images: host[:port]/repo[:tag|@digest], one registry.
        #[arg(value_name = "IMAGE", required = true)]
        images: Vec<String>,
        /// The archive file to write.
        #[arg(short = 'o', long = "output", value_name = "FILE")]
        output: PathBuf,
    },

    /// Push an image from an OCI image layout directory.
    #[command(
        long_about = "\
Uploads the image named --ref in the OCI layout DIR (without --ref: the \
layout's only image) to IMAGE (host[:port]/repo[:tag]), and prints the digest \
of its manifest or index. Blobs the registry already has are skipped; manifests \
are stored byte for byte, so digests do not change. v2 only.

With --all, IMAGE is a repository (host[:port]/repo) and every image named in \
the layout's index.json goes there, each under its name as the tag, as one \
transfer (blobs several images share move once); prints \"TAG DIGEST\" per \
image, in index.json's order. Every entry must be named with a valid tag: a \
layout with an unnamed entry is refused before anything is sent.

DIR may be an archive file instead (FILE.tar): a docker-archive (`docker save`, \
skopeo's docker-archive:) or an oci-archive, told apart by its content; --ref \
then names one of several images (a RepoTag or @N of a docker-archive, a name \
or digest of an oci-archive). An oci-archive's manifests are pushed byte for \
byte; a docker-archive gets an OCI manifest for its layers as stored \
(uncompressed ones as application/vnd.oci.image.layer.v1.tar), or with \
--compress gzip those gzip-compressed on the way (as ...tar+gzip; the config and \
its diff ids unchanged; each is compressed once, before anything is sent, into \
a spool file beside FILE or in $TMPDIR, so a blob the registry has is not sent \
again). The archive is \
untrusted input: links, devices, climbing names and sizes that lie are refused \
before anything is sent. `-` reads the archive from stdin, spooled to a \
temporary file in $TMPDIR first (an archive is read by offsets, which a pipe \
cannot give), removed at the end.",
        after_long_help = "\
EXAMPLES:
  regcli push ./app registry.example:5000/team/app:v1
  skopeo copy docker://alpine oci:./alpine:3 && regcli push ./alpine --ref 3 registry.example:5000/alpine:3
  regcli push --all ./bundle registry.example:5000/team/bundle
  docker save team/app:v1 | regcli push - registry.example:5000/team/app:v1
  regcli push --ref team/db:v2 bundle.tar registry.example:5000/team/db:v2
  regcli push --compress gzip app.tar registry.example:5000/team/app:v1"
    )]
    Push {
        /// The OCI layout directory to read, or an archive file (- for stdin).
        #[arg(value_name = "DIR|FILE")]
        dir: PathBuf,
        /// Where to push: host[:port]/repo[:tag] (with --all: host[:port]/repo).
        #[arg(value_name = "IMAGE")]
        image: String,
        /// The image's name in the layout (org.opencontainers.image.ref.name),
        /// or in the archive (a RepoTag or @N; a name or digest).
        #[arg(long = "ref", value_name = "NAME", conflicts_with = "all")]
        layout_ref: Option<String>,
        /// Push every image the layout names, each under its name as the tag.
        #[arg(long)]
        all: bool,
        /// Compress a docker-archive's uncompressed layers on the way: gzip.
        #[arg(long, value_name = "gzip", conflicts_with = "all")]
        compress: Option<String>,
    },

    /// Copy an image between repositories or registries.
    #[command(
        name = "cp",
        long_about = "\
Copies the image SRC names (every platform, or only --platform's) to DST and \
prints its digest. DST without a tag gets SRC's tag (or only the digest when \
SRC names one). Within one registry, blobs are mounted, not moved; between \
registries, they stream from one to the other without touching the disk, \
verified on the way. Manifests are copied byte for byte, so digests stay. \
Credentials come from docker's config.json for each registry; -u applies when \
both are on the same registry. v2 only.",
        after_long_help = "\
EXAMPLES:
  regcli cp registry.example:5000/team/app:v1 registry.example:5000/team/app:stable
  regcli cp alpine:3.20 localhost:5000/mirror/alpine
  regcli cp --platform linux/amd64 src.example/app:v2 dst.example/app:v2-amd64"
    )]
    Cp {
        /// The source image: host[:port]/repo[:tag|@digest].
        #[arg(value_name = "SRC")]
        src: String,
        /// The destination: host[:port]/repo[:tag].
        #[arg(value_name = "DST")]
        dst: String,
    },

    /// Sync many tags: registry to registry, into an OCI layout, or out of one.
    #[command(
        long_about = "\
Copies the tags of SRC to DST that DST lacks or holds differently, and skips \
the others after a HEAD at each end (no GET: no cost against Docker Hub's pull \
limit). SRC and DST are each a repository (host[:port]/repo) or an OCI layout \
directory (a path starting with /, . or an existing directory): registry to \
registry, the tags' blobs move as one transfer (a blob several tags share \
moves once); registry to a directory, each tag is pulled into the layout \
under its name (tags the layout already names with the same digest are \
skipped), for air-gapped transfers; a directory to a registry, every image the \
layout names goes to DST under its name.

--tags and --exclude are regular expressions a whole tag must (not) match. \
--platform a,b carries only those platforms of an index (then a tag is \
compared by the digest the subset makes, read with one manifest GET). \
--referrers carries each tag's signatures, SBOMs and attestations. --dry-run \
lists what would be copied and skipped (by HEADs) and copies nothing. \
--shard I/N keeps the I-th (from 0) of N parts of the tags, by the sha256 of \
\"repo:tag\" (the source repository without its host; for a directory source, \
the destination's): N jobs given 0/N … N-1/N split one mirror between them, \
the same way on every machine and run.

A tag that fails is reported (stderr, and in the report) and the others go \
on; without --keep-going, sync stops after the first entry with a failure \
and exits non-zero; with it, every entry is tried and the exit status is \
that of the first failure. Prints `copied|skipped|failed TAG DIGEST|STATUS` \
lines, or with --json {\"syncs\":[{\"source\",\"destination\",\"dry_run\",\
\"copied\":[{\"tag\",\"digest\"}],\"skipped\":[…],\"failed\":[{\"tag\",\
\"status\",\"message\"}]}]}.

--config FILE (instead of SRC DST) reads a YAML list of entries, each \
{source, destination, tags, exclude, platforms, referrers} (tags and exclude \
are regular expressions, platforms a list), for many repositories; \
command-line --tags, --exclude, --platform and --referrers apply to every \
entry.",
        after_long_help = "\
EXAMPLES:
  regcli sync registry.example:5000/team/app mirror.example:5000/team/app
  regcli sync --tags 'v1\\..*' --exclude '.*-rc' --dry-run src.example/app dst.example/app
  regcli sync src.example/app ./app-layout && regcli sync ./app-layout airgap.example/app
  regcli sync --config mirror.yaml --shard 0/3 --keep-going --json"
    )]
    Sync {
        /// The source: host[:port]/repo, or an OCI layout directory.
        #[arg(value_name = "SRC", required_unless_present = "config")]
        src: Option<String>,
        /// The destination: host[:port]/repo, or an OCI layout directory.
        #[arg(value_name = "DST", required_unless_present = "config")]
        dst: Option<String>,
        /// Only tags this regular expression matches (whole).
        #[arg(long, value_name = "REGEX")]
        tags: Option<String>,
        /// Leave out tags this regular expression matches (whole).
        #[arg(long, value_name = "REGEX")]
        exclude: Option<String>,
        /// List what would be copied or skipped; copy nothing.
        #[arg(long)]
        dry_run: bool,
        /// Try every tag and entry; the exit status reports the first failure.
        #[arg(long)]
        keep_going: bool,
        /// A YAML list of {source, destination, tags, exclude, platforms, referrers}.
        #[arg(long, value_name = "FILE", conflicts_with_all = ["src", "dst"])]
        config: Option<PathBuf>,
        /// Only the I-th (from 0) of N parts of the tags.
        #[arg(long, value_name = "I/N")]
        shard: Option<String>,
    },

    /// Give an image another tag in its repository.
    #[command(
        long_about = "\
Points NEWTAG (a tag, in IMAGE's repository) at the manifest IMAGE names; no \
blob moves. Prints the manifest digest (v1: the image id).",
        after_long_help = "\
EXAMPLES:
  regcli tag registry.example:5000/team/app:v1 stable
  regcli tag registry.example:5000/team/app@sha256:4c4f... v1.0.1"
    )]
    Tag {
        /// The image: host[:port]/repo[:tag|@digest].
        #[arg(value_name = "IMAGE")]
        image: String,
        /// The new tag.
        #[arg(value_name = "NEWTAG")]
        tag: String,
    },

    /// Remove one tag, leaving the image and its other tags.
    #[command(
        long_about = "\
Removes the tag IMAGE names, and nothing else: other tags on the same image \
survive. IMAGE must name the tag explicitly. Registries that refuse to delete \
by tag (distribution 2.8) get the tag moved to a throw-away manifest that is \
then deleted.",
        after_long_help = "\
EXAMPLES:
  regcli untag registry.example:5000/team/app:old"
    )]
    Untag {
        /// The image: host[:port]/repo:tag.
        #[arg(value_name = "IMAGE")]
        image: String,
    },

    /// Delete a manifest by digest (and so every tag on it).
    #[command(
        long_about = "\
Deletes the manifest IMAGE@DIGEST names; the registry forgets every tag that \
pointed at it. The registry must allow deletes. v2 only.",
        after_long_help = "\
EXAMPLES:
  regcli rm registry.example:5000/team/app@$(regcli digest registry.example:5000/team/app:old)"
    )]
    Rm {
        /// The manifest: host[:port]/repo@sha256:...
        #[arg(value_name = "IMAGE@DIGEST")]
        image: String,
    },

    /// Download or upload a single blob.
    #[command(subcommand)]
    Blob(BlobCommand),

    /// Push or pull an OCI artifact: files with a type, perhaps referring to an image.
    #[command(subcommand)]
    Artifact(ArtifactCommand),

    /// List the artifacts that refer to an image (signatures, SBOMs, attestations).
    #[command(
        long_about = "\
Lists the referrers of IMAGE (OCI 1.1: manifests whose subject is IMAGE's \
manifest), one `DIGEST ARTIFACT_TYPE` line each, or with --json the OCI index \
the registry answers. From the registry's referrers API, or where it has none \
(distribution 2.8) from the fallback tag `sha256-<hex>`.",
        after_long_help = "\
EXAMPLES:
  regcli referrers registry.example:5000/team/app:v1
  regcli referrers --artifact-type application/spdx+json --json registry.example:5000/team/app:v1"
    )]
    Referrers {
        /// The image: host[:port]/repo[:tag|@digest].
        #[arg(value_name = "IMAGE")]
        image: String,
        /// Only referrers of this artifact type.
        #[arg(long, value_name = "TYPE")]
        artifact_type: Option<String>,
    },

    /// Show a registry's pull rate limit (Docker Hub's RateLimit headers).
    #[command(
        long_about = "\
Sends a HEAD request for IMAGE's manifest (a HEAD does not count against Docker \
Hub's pull limit) and prints what the registry's `RateLimit-Limit`, \
`RateLimit-Remaining` and `docker-ratelimit-source` headers say: lines \
`limit N`, `remaining N`, `window SECONDS` and `source WHO` (`-` when not \
sent). With --json: {\"limit\":…,\"remaining\":…,\"window_seconds\":…,\
\"source\":…}. A registry that sends no such headers has no limit for these \
credentials: nothing is printed on stdout (with --json: null) and the command \
succeeds. Anonymous pulls are counted per IP address, logged-in ones per account.",
        after_long_help = "\
EXAMPLES:
  regcli ratelimit ratelimitpreview/test
  regcli ratelimit --json alpine | jq .remaining"
    )]
    Ratelimit {
        /// The image whose manifest is asked: host[:port]/repo[:tag|@digest].
        #[arg(value_name = "IMAGE")]
        image: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum ArtifactCommand {
    /// Push files as an OCI artifact; print its digest.
    #[command(
        long_about = "\
Pushes FILEs as an OCI 1.1 artifact to REPO (tagged TAG when one is written, \
else by digest alone): each file a layer of MEDIATYPE (default \
application/octet-stream) named by its base name in the \
org.opencontainers.image.title annotation, the empty config, --artifact-type, \
and with --subject the image the artifact refers to (in the same repository; \
a tag or digest there, or a whole reference). A registry without the referrers \
API gets the artifact added to the subject's fallback tag.",
        after_long_help = "\
EXAMPLES:
  regcli artifact push registry.example:5000/team/app sbom.spdx.json:application/spdx+json \\
      --artifact-type application/spdx+json --subject v1
  regcli artifact push registry.example:5000/team/notes:latest README.md --artifact-type application/x.notes"
    )]
    Push {
        /// The repository, host[:port]/repo[:tag].
        #[arg(value_name = "REPO[:TAG]")]
        target: String,
        /// The files, each FILE or FILE:MEDIATYPE.
        #[arg(value_name = "FILE[:MEDIATYPE]")]
        files: Vec<String>,
        /// The artifact's type (artifactType).
        #[arg(long, value_name = "TYPE")]
        artifact_type: String,
        /// The image it refers to: a tag or digest in REPO, or a whole reference.
        #[arg(long, value_name = "IMAGE|DIGEST")]
        subject: Option<String>,
        /// An annotation of the manifest (repeatable).
        #[arg(long, value_name = "KEY=VALUE")]
        annotation: Vec<String>,
    },

    /// Download an artifact's files into a directory.
    #[command(
        long_about = "\
Downloads the files of the artifact IMAGE into DIR (created if missing), each \
under its title annotation, verified, written whole or not at all. A title \
that is not a plain file name (a path, `..`) is refused before anything is \
written; layers without a title are skipped with a warning. Prints the paths \
written.",
        after_long_help = "\
EXAMPLES:
  regcli artifact pull registry.example:5000/team/app@sha256:... ./sbom"
    )]
    Pull {
        /// The artifact: host[:port]/repo[:tag|@digest].
        #[arg(value_name = "IMAGE")]
        image: String,
        /// Where to write its files.
        #[arg(value_name = "DIR")]
        dir: PathBuf,
    },
}

#[derive(Subcommand, Debug)]
pub enum BlobCommand {
    /// Download a blob to a file.
    #[command(
        long_about = "\
Downloads the blob DIGEST of REPO to FILE (`-`: stdout), verified: the bytes go \
to a temporary file beside FILE that becomes FILE only once they hashed to \
DIGEST, so a failed download leaves nothing at FILE. To stdout the bytes flow \
as they arrive and are checked at their end: a mismatch (exit 6) or a broken \
connection (exit 5) then comes after some of them, so a pipeline must check \
regcli's exit status. On a v1 registry DIGEST is \
an image id and the image's layer is downloaded, checked against its checksum.",
        after_long_help = "\
EXAMPLES:
  regcli blob get registry.example:5000/team/app sha256:4c4f... layer.tar.gz
  regcli blob get registry.example:5000/team/app $(regcli manifest registry.example:5000/team/app | jq -r .config.digest) - | jq ."
    )]
    Get {
        /// The repository: host[:port]/repo.
        #[arg(value_name = "REPO")]
        repo: String,
        /// The blob's digest (sha256:...), or a v1 image id.
        #[arg(value_name = "DIGEST")]
        digest: String,
        /// Where to write it; `-` is stdout.
        #[arg(value_name = "FILE")]
        file: PathBuf,
    },

    /// Upload a file as a blob; print its digest.
    #[command(
        long_about = "\
Uploads FILE (`-`: stdin) as a blob into REPO and prints its digest. A file's \
digest is computed first, so a blob the repository already has is not sent \
again and the registry checks the bytes against it. From stdin, log in \
first (regcli login) or use docker's config.json: --password-stdin reads stdin \
too and is refused with `-`. v2 only.",
        after_long_help = "\
EXAMPLES:
  regcli blob put registry.example:5000/team/app layer.tar.gz
  tar cz dir | regcli blob put registry.example:5000/team/app -"
    )]
    Put {
        /// The repository: host[:port]/repo.
        #[arg(value_name = "REPO")]
        repo: String,
        /// The file to upload; `-` is stdin.
        #[arg(value_name = "FILE")]
        file: PathBuf,
        /// The file's digest, when known: it is not hashed first (the bytes
        /// are still checked against it on the way, and nothing is committed
        /// unless they match).
        #[arg(long, value_name = "DIGEST")]
        digest: Option<String>,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn every_command_has_examples() {
        let mut cli = Cli::command();
        cli.build();
        let mut seen = 0;
        for cmd in cli.get_subcommands() {
            let leaves: Vec<&clap::Command> = if cmd.has_subcommands() {
                cmd.get_subcommands().collect()
            } else {
                vec![cmd]
            };
            for leaf in leaves {
                let after = leaf.get_after_long_help().map(|s| s.to_string());
                assert!(
                    after.is_some_and(|a| a.starts_with("EXAMPLES:")),
                    "{} has no examples",
                    leaf.get_name()
                );
                assert!(leaf.get_long_about().is_some(), "{}", leaf.get_name());
                seen += 1;
            }
        }
        assert_eq!(seen, 23);
    }
}
