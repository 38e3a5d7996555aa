#!/usr/bin/env python3
"""make bench: the client against curl, python-dxf and skopeo, on the same
local registries (Debian's docker-registry, plain HTTP on 127.0.0.1) in the
same run. Writes BENCHMARKS.md: the median wall time and peak RSS of each row,
and each peer's time as a multiple of the client's.

Rows:
  blob pull   one 64 MiB blob to a file: regcli blob get (which checks its
              digest as it streams) | curl (which checks nothing) | curl,
              then sha256sum of the file | dxf pull-blob
  blob push   one 64 MiB blob, digest known: regcli blob put --digest |
              curl (POST, then one monolithic PUT) | dxf push-blob (which
              hashes the file first)
  image pull  4 layers x 64 MiB into an OCI layout: regcli pull | skopeo copy
  image push  that layout into a registry: regcli push | skopeo copy
  image copy  between two registries: regcli cp | skopeo copy
  archive pull (docker-archive)
              that image into a docker-archive file: regcli pull --format
              docker-archive | skopeo copy docker:// docker-archive: (which
              stores layers uncompressed: here random bytes, so as they are)
  archive push (docker-archive | oci-archive)
              an archive regcli wrote into a registry: regcli push FILE |
              skopeo copy docker-archive:/oci-archive: docker:// (from a
              docker-archive skopeo gzips the uncompressed layers on the way;
              regcli pushes them as stored, as ...layer.v1.tar)
  archive push (docker-archive, --compress gzip, random | tar layers)
              regcli push --compress gzip FILE | skopeo copy docker-archive:
              docker:// (both gzip the uncompressed layers; regcli into a
              spool file first, to learn each digest before it sends): that
              image's random layers, and 4 x 64 MiB cut from a tar of /usr/lib
              (compressible)
  256 MiB     one 256 MiB blob: sha256 alone (openssl dgst -sha256 of the
              file; sha256sum is about 4x slower here) | regcli blob get to
              stdout (/dev/null), verified | regcli blob get to a file,
              verified and fsynced | curl -o (unverified, no fsync)
  sync        20 tags of a repository (20 images of 3 x 4 MiB layers, all
              sharing the first) to an empty registry: regcli sync |
              skopeo sync --src docker --dest docker (--preserve-digests);
              then the same again with nothing changed (a second run into
              the now full registry); with the requests each sent to both
              registries, from their access logs
  static size examples/c/demo.c linked fully static (-Wl,--gc-sections,
              stripped) against libregistry.a, when it was built
  resume      regcli push --upload-state of an image with one 64 MiB layer
              to a fresh registry through a throttling proxy (the fixtures'
              ffi-tests/fixtures/throttle.py, loopback), killed (SIGKILL) at 50 % of the layer, then run
              again: the bytes the second run sent, as a fraction of the
              layer, counted by the proxy (every request body). Killed
              between PATCHes (as the one past 50 % comes) and mid-PATCH
              (at 50 % + 2 MiB, which distribution 2.8 answers by dropping
              the session: the second run starts over)

Every run writes into a fresh destination: a new file or directory, a new
repository (blob pushes), a new registry (image pushes and copies); skopeo's
blob-info cache is deleted before each of its runs. The tools run one after
another, alternating, so that a warmer page cache favours neither.

  BENCH_RUNS (default 5)   runs per tool and row
  BENCH_ROWS=sync          only the sync rows (they replace the "## Sync" section
                           of an existing BENCHMARKS.md, the rest is kept)
  BENCH_ROWS=resume        only the resume rows (they replace the "## Resume"
                           section the same way)
  BENCH_ONLY=archive       only the archive rows; prints the table, leaves
                           BENCHMARKS.md alone
  REGCLI                   the regcli binary (default $CARGO_TARGET_DIR/release/regcli)
"""

import hashlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(ROOT, "ffi-tests", "fixtures"))
import registry as fx  # noqa: E402  (the test fixtures' registry)
from throttle import ThrottlingProxy  # noqa: E402  (the fixtures' proxy: the resume row)

RUNS = int(os.environ.get("BENCH_RUNS", "5"))
ONLY = os.environ.get("BENCH_ONLY", "")
TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
REGCLI = os.environ.get("REGCLI", os.path.join(TARGET, "release", "regcli"))
LAYERS, LAYER_SIZE = 4, 64 << 20
SYNC_TAGS, SYNC_LAYERS, SYNC_LAYER_SIZE = 20, 3, 4 << 20
SYNC_REPO = "bench/sync"
# resume: the layer, regcli's PATCH chunk, where the kill lands, how fast the
# proxy lets PATCH bodies through on the first run (the second is not slowed)
RESUME_LAYER, RESUME_CHUNK = 64 << 20, 8 << 20
RESUME_KILL = RESUME_LAYER // 2
RESUME_RATE = 64 << 20
BIG_SIZE = 256 << 20
# The static link line of README.md (registry.pc's Libs.private).
STATIC_LINK_LIBS = ["-lgcc_eh", "-lutil", "-lrt", "-lpthread", "-lm", "-ldl", "-lc"]
SKOPEO_CACHE = "/var/lib/containers/cache/blob-info-cache-v1.boltdb"
REPO = "bench/image"


def log(msg):
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


def measure(cmd, env=None):
    """Runs cmd; returns (seconds, peak RSS in MiB) of that process. The RSS
    comes from GNU time, which forks the command itself: a child forked from
    this Python process would count the parent's pages until its exec."""
    with tempfile.NamedTemporaryFile() as rss, tempfile.TemporaryFile() as err:
        start = time.monotonic()
        proc = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", rss.name, *cmd],
                              stdout=subprocess.DEVNULL, stderr=err,
                              env={**os.environ, **(env or {})})
        elapsed = time.monotonic() - start
        if proc.returncode != 0:
            err.seek(0)
            raise RuntimeError(f"{cmd[0]} failed ({proc.returncode}): {err.read().decode()[-2000:]}")
        kib = int(open(rss.name).read().split()[-1])
    return elapsed, kib / 1024


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return "sha256:" + h.hexdigest()


class Registries:
    """Starts empty registries on loopback and stops them all at the end."""

    def __init__(self, root):
        self.root, self.started, self.n = root, [], 0

    def new(self):
        self.n += 1
        r = fx.Registry("anon", os.path.join(self.root, f"reg{self.n}"), None, {})
        self.started.append(r)
        return r.addr

    def log(self, addr):
        """The access log of the registry at addr."""
        r = next(r for r in self.started if r.addr == addr)
        return os.path.join(r.dir, "registry.log")

    def stop(self, addr=None):
        for r in [r for r in self.started if addr is None or r.addr == addr]:
            r.stop()
            shutil.rmtree(r.dir, ignore_errors=True)
            self.started.remove(r)


def make_image(root, layers=LAYERS, size=LAYER_SIZE):
    """An OCI layout with one image (v1) of `layers` random layers of `size`
    bytes; the digest and path of its first layer."""
    import json
    blobs = os.path.join(root, "blobs", "sha256")
    os.makedirs(blobs)

    def put(data):
        d = hashlib.sha256(data).hexdigest()
        with open(os.path.join(blobs, d), "wb") as f:
            f.write(data)
        return {"digest": "sha256:" + d, "size": len(data)}

    layers = [put(os.urandom(size)) for _ in range(layers)]
    config = put(json.dumps({"architecture": "amd64", "os": "linux",
                             "rootfs": {"type": "layers",
                                        "diff_ids": [l["digest"] for l in layers]}}).encode())
    manifest = put(json.dumps({
        "schemaVersion": 2, "mediaType": fx.OCI_MANIFEST,
        "config": {"mediaType": fx.OCI_CONFIG, **config},
        "layers": [{"mediaType": fx.OCI_LAYER, **l} for l in layers]}).encode())
    with open(os.path.join(root, "index.json"), "w") as f:
        json.dump({"schemaVersion": 2, "manifests": [
            {"mediaType": fx.OCI_MANIFEST, **manifest,
             "annotations": {"org.opencontainers.image.ref.name": "v1"}}]}, f)
    with open(os.path.join(root, "oci-layout"), "w") as f:
        f.write('{"imageLayoutVersion":"1.0.0"}')
    return layers[0]["digest"], os.path.join(blobs, layers[0]["digest"][7:])


def skopeo(*args):
    if os.path.exists(SKOPEO_CACHE):
        os.remove(SKOPEO_CACHE)
    return ["skopeo", "--insecure-policy", "copy", "--quiet", "--preserve-digests",
            "--src-tls-verify=false", "--dest-tls-verify=false", *args]


def skopeo_converting(*args):
    """skopeo copy where the destination cannot keep digests (archives)."""
    return [a for a in skopeo(*args) if a != "--preserve-digests"]


def archive_rows(record, regs, src, work, out_path, tars, gzip_tars):
    """The archive rows of one run; `tars` holds the archives to push,
    made once by regcli."""
    record("archive pull (docker-archive)", "regcli", measure(
        regcli("pull", "--format", "docker-archive", f"{src}/{REPO}:v1", out_path())))
    record("archive pull (docker-archive)", "skopeo", measure(
        skopeo_converting(f"docker://{src}/{REPO}:v1", f"docker-archive:{out_path()}:{REPO}:v1")))
    for fmt, tar in tars.items():
        for tool, cmd in [("regcli", lambda d: regcli("push", tar, f"{d}/{REPO}:v1")),
                          ("skopeo", lambda d: skopeo_converting(f"{fmt}:{tar}", f"docker://{d}/{REPO}:v1"))]:
            dst = regs.new()
            record(f"archive push ({fmt})", tool, measure(cmd(dst)))
            regs.stop(dst)
    for kind, tar in gzip_tars.items():
        for tool, cmd in [("regcli", lambda d: regcli("push", "--compress", "gzip", tar, f"{d}/{REPO}:v1")),
                          ("skopeo", lambda d: skopeo_converting(f"docker-archive:{tar}", f"docker://{d}/{REPO}:v1"))]:
            dst = regs.new()
            record(f"archive push (docker-archive, --compress gzip, {kind})", tool, measure(cmd(dst)))
            regs.stop(dst)


def tar_layers_archive(path):
    """A docker-archive of 4 x 64 MiB uncompressed layers cut from a tar of
    /usr/lib (what real layers hold: compressible, unlike random bytes)."""
    import io
    import json
    import tarfile
    size = 4 * LAYER_SIZE
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        for root, _, files in os.walk("/usr/lib"):
            for name in sorted(files):
                full = os.path.join(root, name)
                if os.path.isfile(full) and not os.path.islink(full):
                    try:
                        t.add(full, recursive=False)
                    except OSError:
                        continue
                if buf.tell() >= size:
                    break
            if buf.tell() >= size:
                break
    data = buf.getvalue()
    while len(data) < size:
        data += data
    layers = [data[i * LAYER_SIZE:(i + 1) * LAYER_SIZE] for i in range(4)]
    diff_ids = [hashlib.sha256(layer).hexdigest() for layer in layers]
    config = json.dumps({"architecture": "amd64", "os": "linux", "config": {},
                         "rootfs": {"type": "layers", "diff_ids": [f"sha256:{d}" for d in diff_ids]}}).encode()
    config_hex = hashlib.sha256(config).hexdigest()
    manifest = json.dumps([{"Config": f"{config_hex}.json", "RepoTags": [f"{REPO}:v1"],
                            "Layers": [f"{d}/layer.tar" for d in diff_ids]}]).encode()
    with tarfile.open(path, "w", format=tarfile.USTAR_FORMAT) as t:
        for name, body in [(f"{config_hex}.json", config),
                           *[(f"{d}/layer.tar", layer) for d, layer in zip(diff_ids, layers)],
                           ("manifest.json", manifest)]:
            info = tarfile.TarInfo(name)
            info.size = len(body)
            t.addfile(info, io.BytesIO(body))


def regcli(*args):
    return [REGCLI, "--insecure", "--progress", "none", *args]


def main():
    # No credentials anywhere: an empty docker config for regcli and skopeo.
    os.environ["DOCKER_CONFIG"] = tempfile.mkdtemp(prefix="registry-bench-config-")
    rows = os.environ.get("BENCH_ROWS", "")
    if rows not in ("", "sync", "resume"):
        sys.exit(f"bench: BENCH_ROWS={rows}: sync or resume")
    needed = (REGCLI, "curl", "skopeo", "dxf", "docker-registry", "/usr/bin/time")
    skipped = {"sync": ("curl", "dxf"),
               "resume": ("curl", "dxf", "skopeo", "/usr/bin/time")}.get(
        rows, ("dxf",) if ONLY else ())
    for tool in [t for t in needed if t not in skipped]:
        if not shutil.which(tool):
            sys.exit(f"bench: {tool} is missing (make bench installs the peers)")
    results = {}  # row -> tool -> [(seconds, rss)]
    if rows:
        with tempfile.TemporaryDirectory(prefix="registry-bench-") as work:
            regs = Registries(work)
            try:
                if rows == "sync":
                    title, section = "Sync", sync_section(*bench_sync(regs, work))
                else:
                    title, section = "Resume", resume_section(bench_resume(regs, work))
            finally:
                regs.stop()
        path = os.path.join(ROOT, "BENCHMARKS.md")
        text = open(path).read() if os.path.exists(path) else "# Benchmarks\n"
        with open(path, "w") as f:
            f.write(replace_section(text, title, section))
        print(section)
        return

    def record(row, tool, sample):
        results.setdefault(row, {}).setdefault(tool, []).append(sample)

    with tempfile.TemporaryDirectory(prefix="registry-bench-") as work:
        regs = Registries(work)
        try:
            layout = os.path.join(work, "layout")
            log(f"making a {LAYERS} x {LAYER_SIZE >> 20} MiB image")
            blob, blob_path = make_image(layout)
            src = regs.new()
            subprocess.run(skopeo(f"oci:{layout}:v1", f"docker://{src}/{REPO}:v1"), check=True)
            log(f"source registry {src}; {RUNS} runs per tool and row")
            dxf_env = {"DXF_HOST": src, "DXF_INSECURE": "1"}
            big_path = os.path.join(work, "big")
            with open(big_path, "wb") as f:
                f.write(os.urandom(BIG_SIZE))
            big = sha256_file(big_path)
            subprocess.run(regcli("blob", "put", "--digest", big, f"{src}/{REPO}", big_path),
                           check=True, stdout=subprocess.DEVNULL)
            fresh = 0

            def out_path():
                nonlocal fresh
                fresh += 1
                return os.path.join(work, f"out{fresh}")

            tars = {}
            for fmt in ("docker-archive", "oci-archive"):
                tars[fmt] = os.path.join(work, f"image-{fmt}.tar")
                subprocess.run(regcli("pull", "--format", fmt, f"{src}/{REPO}:v1", tars[fmt]),
                               check=True, stdout=subprocess.DEVNULL)
            gzip_tars = {"random": tars["docker-archive"], "tar": os.path.join(work, "tar-layers.tar")}
            tar_layers_archive(gzip_tars["tar"])
            for run in range(RUNS):
                log(f"run {run + 1}/{RUNS}")
                archive_rows(record, regs, src, work, out_path, tars, gzip_tars)
                if ONLY == "archive":
                    for entry in [e for e in os.listdir(work) if e.startswith("out")]:
                        os.remove(os.path.join(work, entry))
                    continue
                # blob pull
                record("blob pull", "regcli", measure(regcli("blob", "get", f"{src}/{REPO}", blob, out_path())))
                record("blob pull", "curl", measure(
                    ["curl", "-sf", "-o", out_path(), f"http://{src}/v2/{REPO}/blobs/{blob}"]))
                # what regcli does that curl does not: check the digest
                record("blob pull", "curl, then sha256sum", measure(
                    ["sh", "-c", f'o={out_path()}; curl -sf -o "$o" "http://{src}/v2/{REPO}/blobs/{blob}" '
                     '&& sha256sum "$o" >/dev/null']))
                record("blob pull", "python-dxf", measure(
                    ["sh", "-c", f'exec dxf pull-blob {REPO} {blob} > {out_path()}'], dxf_env))
                # 256 MiB: hashing alone, a streamed and a to-file pull
                big_url = f"http://{src}/v2/{REPO}/blobs/{big}"
                record("256 MiB", "sha256 alone (openssl)", measure(["openssl", "dgst", "-sha256", big_path]))
                record("256 MiB", "regcli, streamed verified pull", measure(
                    regcli("blob", "get", f"{src}/{REPO}", big, "-")))
                record("256 MiB", "regcli, to a file (verified, fsync)", measure(
                    regcli("blob", "get", f"{src}/{REPO}", big, out_path())))
                record("256 MiB", "curl -o (unverified, no fsync)", measure(
                    ["curl", "-sf", "-o", out_path(), big_url]))
                # blob push, each into a new repository
                record("blob push", "regcli", measure(
                    regcli("blob", "put", "--digest", blob, f"{src}/push/r{fresh}", blob_path)))
                out_path()
                script = ('loc=$(curl -sf -X POST -D - -o /dev/null '
                          f'"http://{src}/v2/push/c{fresh}/blobs/uploads/" '
                          "| tr -d '\\r' | sed -n 's/^[Ll]ocation: //p'); "
                          'case "$loc" in /*) loc="http://' + src + '$loc";; esac; '
                          f'exec curl -sf -X PUT -H "Content-Type: application/octet-stream" '
                          f'-T {blob_path} "$loc&digest={blob}"')
                record("blob push", "curl", measure(["sh", "-c", script]))
                record("blob push", "python-dxf", measure(
                    ["dxf", "push-blob", f"push/d{fresh}", blob_path], dxf_env))
                # image pull into a fresh directory
                record("image pull", "regcli", measure(regcli("pull", f"{src}/{REPO}:v1", out_path())))
                record("image pull", "skopeo", measure(skopeo(f"docker://{src}/{REPO}:v1", f"oci:{out_path()}:v1")))
                # image push and copy, each into a fresh registry
                for row, ours, theirs in [
                    ("image push", lambda d: regcli("push", layout, f"{d}/{REPO}:v1"),
                     lambda d: skopeo(f"oci:{layout}:v1", f"docker://{d}/{REPO}:v1")),
                    ("image copy", lambda d: regcli("cp", f"{src}/{REPO}:v1", f"{d}/{REPO}:v1"),
                     lambda d: skopeo(f"docker://{src}/{REPO}:v1", f"docker://{d}/{REPO}:v1")),
                ]:
                    for tool, cmd in [("regcli", ours), ("skopeo", theirs)]:
                        dst = regs.new()
                        record(row, tool, measure(cmd(dst)))
                        regs.stop(dst)
                for entry in os.listdir(work):
                    if entry.startswith("out"):
                        path = os.path.join(work, entry)
                        shutil.rmtree(path) if os.path.isdir(path) else os.remove(path)
            sync = None if ONLY else bench_sync(regs, work)
            resume = None if ONLY else bench_resume(regs, work)
        finally:
            regs.stop()
    write(results, None if ONLY else static_size(),
          (sync_section(*sync) if sync else "") + (resume_section(resume) if resume else ""))


def replace_section(text, title, section):
    """`text` (a BENCHMARKS.md) with its "## <title>" section, up to the next
    "## " heading, replaced by `section` (which starts with a blank line and
    its heading); appended at the end when there is none."""
    head = f"\n## {title}\n"
    if head not in text:
        return text.rstrip("\n") + "\n" + section
    before, rest = text.split(head, 1)
    after = rest.split("\n## ", 1)
    tail = "\n## " + after[1] if len(after) == 2 else ""
    return before.rstrip("\n") + "\n" + section.rstrip("\n") + "\n" + tail


def static_size():
    """The size of examples/c/demo.c linked fully static against the built
    libregistry.a, stripped; None without the archive or a static libc."""
    lib = os.path.join(TARGET, "release", "libregistry.a")
    if not os.path.exists(lib):
        return None
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "demo")
        cc = subprocess.run(["cc", "-static", "-O2", "-I", os.path.join(ROOT, "include"),
                             os.path.join(ROOT, "examples", "c", "demo.c"), lib, *STATIC_LINK_LIBS,
                             "-Wl,--gc-sections", "-o", out], capture_output=True)
        if cc.returncode != 0 or subprocess.run(["strip", out]).returncode != 0:
            log("static size: cannot link demo.c fully static")
            return None
        return os.path.getsize(out)


def make_sync_layout(root):
    """An OCI layout naming SYNC_TAGS images t00.. of SYNC_LAYERS random
    layers each, the first layer the same in all."""
    import json
    blobs = os.path.join(root, "blobs", "sha256")
    os.makedirs(blobs)

    def put(data):
        d = hashlib.sha256(data).hexdigest()
        with open(os.path.join(blobs, d), "wb") as f:
            f.write(data)
        return {"digest": "sha256:" + d, "size": len(data)}

    base = put(os.urandom(SYNC_LAYER_SIZE))
    entries = []
    for i in range(SYNC_TAGS):
        layers = [base] + [put(os.urandom(SYNC_LAYER_SIZE)) for _ in range(SYNC_LAYERS - 1)]
        config = put(json.dumps({"architecture": "amd64", "os": "linux", "tag": i,
                                 "rootfs": {"type": "layers",
                                            "diff_ids": [l["digest"] for l in layers]}}).encode())
        manifest = put(json.dumps({
            "schemaVersion": 2, "mediaType": fx.OCI_MANIFEST,
            "config": {"mediaType": fx.OCI_CONFIG, **config},
            "layers": [{"mediaType": fx.OCI_LAYER, **l} for l in layers]}).encode())
        entries.append({"mediaType": fx.OCI_MANIFEST, **manifest,
                        "annotations": {"org.opencontainers.image.ref.name": f"t{i:02d}"}})
    with open(os.path.join(root, "index.json"), "w") as f:
        json.dump({"schemaVersion": 2, "manifests": entries}, f)
    with open(os.path.join(root, "oci-layout"), "w") as f:
        f.write('{"imageLayoutVersion":"1.0.0"}')


def requests_by(log, agent):
    """The requests of an access log sent by agent ("regcli": a User-Agent
    starting with regcli/; "skopeo": any other), but for those answered 401:
    (all, GETs of manifests and blobs)."""
    total = gets = 0
    with open(log, errors="replace") as f:
        for line in f:
            parts = line.rstrip("\n").split('"')
            if len(parts) < 6 or parts[-2].startswith("regcli/") != (agent == "regcli") \
                    or '" 401 ' in line:
                continue
            total += 1
            req = parts[1]
            if req.startswith("GET ") and ("/manifests/" in req or "/blobs/" in req):
                gets += 1
    return total, gets


def bench_sync(regs, work):
    """regcli sync against skopeo sync, each into a fresh registry, twice
    (the second with nothing to do); their times, RSS and request counts."""
    layout = os.path.join(work, "sync-layout")
    log(f"making {SYNC_TAGS} images of {SYNC_LAYERS} x {SYNC_LAYER_SIZE >> 20} MiB sharing a base layer")
    make_sync_layout(layout)
    src = regs.new()
    subprocess.run(regcli("sync", layout, f"{src}/{SYNC_REPO}"), check=True, stdout=subprocess.DEVNULL)
    results, counts = {}, {}
    for run in range(RUNS):
        log(f"sync run {run + 1}/{RUNS}")
        for tool in ("regcli", "skopeo"):
            dst = regs.new()
            if tool == "regcli":
                cmd = regcli("sync", f"{src}/{SYNC_REPO}", f"{dst}/{SYNC_REPO}")
            else:
                # skopeo sync names the destination repository by the
                # source's last path component: dst/bench + sync.
                cmd = ["skopeo", "--insecure-policy", "sync", "--preserve-digests",
                       "--src", "docker", "--dest", "docker", "--src-tls-verify=false",
                       "--dest-tls-verify=false", f"{src}/{SYNC_REPO}", f"{dst}/bench"]
            for phase in ("first", "again"):
                if tool == "skopeo" and os.path.exists(SKOPEO_CACHE):
                    os.remove(SKOPEO_CACHE)
                before_src = requests_by(regs.log(src), tool)
                before_dst = requests_by(regs.log(dst), tool)
                results.setdefault(phase, {}).setdefault(tool, []).append(measure(cmd))
                after_src = requests_by(regs.log(src), tool)
                after_dst = requests_by(regs.log(dst), tool)
                counts[(phase, tool)] = tuple(a - b for a, b in zip(after_src + after_dst,
                                                                    before_src + before_dst))
            tags = subprocess.run(regcli("tags", f"{dst}/{SYNC_REPO}"), check=True,
                                  capture_output=True, text=True).stdout.split()
            if len(tags) != SYNC_TAGS:
                raise RuntimeError(f"{tool} sync left {len(tags)} tags, not {SYNC_TAGS}")
            regs.stop(dst)
    return results, counts


def sync_section(results, counts):
    lines = [
        "",
        "## Sync",
        "",
        f"`make bench`, {RUNS} runs: {SYNC_TAGS} tags of one repository ({SYNC_TAGS} images of "
        f"{SYNC_LAYERS} x {SYNC_LAYER_SIZE >> 20} MiB layers, every image sharing its first layer) "
        "from one registry to an empty one (a fresh registry per run), then the same again with "
        "nothing changed. `regcli sync SRC DST` against `skopeo sync --src docker --dest docker "
        "--preserve-digests` (its blob-info cache deleted first). Median wall time and peak RSS; "
        "*ratio*: skopeo's time over regcli's. Requests: all requests each tool sent to the "
        "source + destination registry (401s aside), and of them the manifest and blob GETs, "
        "from the registries' access logs (last run).",
        "",
        "| run | tool | median s | peak RSS MiB | ratio | requests src+dst | manifest+blob GETs |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for phase, title in (("first", "first (copies 20)"), ("again", "second (no change)")):
        tools = results[phase]
        ours = statistics.median(s for s, _ in tools["regcli"])
        for tool, samples in tools.items():
            t = statistics.median(s for s, _ in samples)
            rss = statistics.median(r for _, r in samples)
            src_total, src_gets, dst_total, dst_gets = counts[(phase, tool)]
            lines.append(f"| {title} | {tool} | {t:.3f} | {rss:.1f} | {t / ours:.2f} | "
                         f"{src_total}+{dst_total} | {src_gets + dst_gets} |")
    return "\n".join(lines) + "\n"


def content_range_start(headers):
    start = headers.get("content-range", "").split("-")[0]
    return int(start) if start.isdigit() else None


def bench_resume(regs, work):
    """regcli push --upload-state killed at RESUME_KILL bytes of the layer
    (between PATCHes and mid-PATCH), then run again, RUNS times each, every
    pair into a fresh registry through a fresh proxy; per kind of kill: the
    second runs' body bytes, the first runs' PATCH bytes at the kill, and the
    offsets the second runs' first PATCH started at."""
    import threading
    layout = os.path.join(work, "resume-layout")
    log(f"making an image of one {RESUME_LAYER >> 20} MiB layer")
    make_image(layout, layers=1, size=RESUME_LAYER)
    env = {k: v for k, v in os.environ.items()
           if k.lower() not in ("http_proxy", "https_proxy", "all_proxy")}
    out = {}
    for run in range(RUNS):
        log(f"resume run {run + 1}/{RUNS}")
        for kind in ("between", "mid"):
            dst = regs.new()
            victim, killed, starts = [None], [], []

            def kill(proxy):
                if victim[0] is not None:
                    victim[0].kill()
                    victim[0].wait()
                    killed.append(proxy.body_bytes("PATCH"))
                    victim[0] = None

            def on_request(method, target, headers):
                if method != "PATCH":
                    return True
                starts.append(content_range_start(headers))
                # between: the PATCH past 50 % never reaches the registry
                if kind == "between" and victim[0] is not None \
                        and proxy.body_bytes("PATCH") >= RESUME_KILL:
                    kill(proxy)
                    return False
                return True

            proxy = ThrottlingProxy(dst, rate=RESUME_RATE, on_request=on_request)
            state = tempfile.mkdtemp(prefix="resume-state-", dir=work)
            cmd = regcli("--parallel", "1", "--upload-state", state, "push", layout,
                         f"{proxy.addr}/{REPO}:v1")
            try:
                victim[0] = subprocess.Popen(cmd, stdout=subprocess.DEVNULL,
                                             stderr=subprocess.PIPE, env=env)
                first = victim[0]
                if kind == "mid":
                    # mid: killed once 2 MiB of the PATCH past 50 % went on;
                    # the proxy then relays that PATCH cut.
                    def watch():
                        while victim[0] is not None and first.poll() is None:
                            if proxy.body_bytes("PATCH") >= RESUME_KILL + (2 << 20):
                                kill(proxy)
                                return
                            time.sleep(0.002)
                    threading.Thread(target=watch, daemon=True).start()
                err = first.communicate()[1]
                if not killed:
                    raise RuntimeError(f"resume: regcli ended before the kill "
                                       f"({first.returncode}): {err.decode()[-2000:]}")
                # What the killed client had written into its socket still
                # goes on (the cut PATCH ends with it): wait for it to settle
                # before counting the second run.
                settled = -1
                while settled != proxy.body_bytes():
                    settled = proxy.body_bytes()
                    time.sleep(0.3)
                proxy.reset()
                proxy.rate, starts[:] = None, []
                again = subprocess.run(cmd, stdout=subprocess.DEVNULL,
                                       stderr=subprocess.PIPE, env=env)
                if again.returncode != 0:
                    raise RuntimeError(f"resume ({kind}): the second push failed: "
                                       f"{again.stderr.decode()[-2000:]}")
                sent = proxy.body_bytes()
                if any(n.endswith(".upload.json") for n in os.listdir(state)):
                    raise RuntimeError("resume: the upload state outlived the push")
            finally:
                proxy.close()
                regs.stop(dst)
                shutil.rmtree(state, ignore_errors=True)
            r = out.setdefault(kind, {"sent": [], "killed": [], "from": []})
            r["sent"].append(sent)
            r["killed"].append(killed[0])
            r["from"].append(starts[0] if starts else None)
    return out


def resume_section(out):
    mib = 1 << 20
    lines = [
        "",
        "## Resume",
        "",
        f"`make bench`, {RUNS} runs: `regcli push --upload-state DIR --parallel 1` of an image "
        f"with one {RESUME_LAYER >> 20} MiB layer (random bytes; {RESUME_CHUNK >> 20} MiB PATCH "
        f"chunks) to Debian's docker-registry (distribution 2.8, a fresh one per run) through "
        f"a throttling proxy on loopback (ffi-tests/fixtures/throttle.py, {RESUME_RATE >> 20} "
        "MiB/s per request body), killed with SIGKILL at 50 % of the layer, then the same "
        "command again (not throttled). "
        "*Re-sent*: the bytes of every request body the second run sent (the rest of the layer, "
        "the config, the manifest), counted by the proxy, as a fraction of the layer (target "
        "<= 0.55); median, and the spread. Killed between PATCHes: as the PATCH past 50 % "
        "comes, before any of it goes on. Killed mid-PATCH: at 50 % + 2 MiB, that PATCH cut: "
        "distribution 2.8 then drops the session, so the second run starts over.",
        "",
        "| killed | PATCH MiB through the proxy at the kill | second run resumed at MiB | "
        "re-sent (median) | min | max |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for kind, title in (("between", "between PATCHes, at 50 %"), ("mid", "mid-PATCH, at 53 %")):
        r = out[kind]
        fr = [s / RESUME_LAYER for s in r["sent"]]
        starts = sorted({f"{f / mib:g}" for f in r["from"] if f is not None}) or ["?"]
        lines.append(f"| {title} | {statistics.median(r['killed']) / mib:.1f} | "
                     f"{', '.join(starts)} | {statistics.median(fr):.3f} | {min(fr):.3f} | "
                     f"{max(fr):.3f} |")
    return "\n".join(lines) + "\n"


def write(results, static, sync=""):
    import platform
    lines = [
        "# Benchmarks",
        "",
        f"`make bench` on {time.strftime('%Y-%m-%d')}, {os.cpu_count()} CPUs "
        f"({platform.machine()}), {RUNS} runs per row, against Debian's docker-registry "
        "on 127.0.0.1 (plain HTTP); blobs of 64 MiB, an image of 4 x 64 MiB layers. "
        "Median wall time and median peak RSS; *ratio* is the tool's time over regcli's "
        "(above 1: regcli is faster). regcli and python-dxf check every blob's digest; "
        "curl checks nothing (the row after it adds the check); skopeo checks its digests.",
        "",
        "| operation | tool | median s | peak RSS MiB | ratio |",
        "|---|---|---:|---:|---:|",
    ]
    big = results.pop("256 MiB", None)
    for row, tools in results.items():
        ours = statistics.median(s for s, _ in tools["regcli"])
        for tool, samples in tools.items():
            t = statistics.median(s for s, _ in samples)
            rss = statistics.median(r for _, r in samples)
            lines.append(f"| {row} | {tool} | {t:.3f} | {rss:.1f} | {t / ours:.2f} |")
    if big:
        med = {tool: statistics.median(s for s, _ in samples) for tool, samples in big.items()}
        sha = med["sha256 alone (openssl)"]
        curl = med["curl -o (unverified, no fsync)"]
        lines += [
            "",
            f"One blob of {BIG_SIZE >> 20} MiB, same registry and run; *ratio* is the time over "
            "its reference: SHA-256 of the file alone (openssl dgst -sha256, faster here than "
            "sha256sum) for the streamed pull, `curl -o` for the pull to a file.",
            "",
            "| operation | median s | peak RSS MiB | ratio |",
            "|---|---:|---:|---:|",
        ]
        refs = {"regcli, streamed verified pull": sha, "regcli, to a file (verified, fsync)": curl}
        for tool, samples in big.items():
            rss = statistics.median(r for _, r in samples)
            ratio = f"{med[tool] / refs[tool]:.2f}" if tool in refs else ""
            lines.append(f"| {tool} | {med[tool]:.3f} | {rss:.1f} | {ratio} |")
    if static is not None:
        lines += ["", f"Static C program size: examples/c/demo.c linked fully static "
                  f"(`-Wl,--gc-sections`, stripped) against libregistry.a: "
                  f"{static / 1e6:.2f} MB ({static} bytes)."]
    text = "\n".join(lines) + "\n" + sync
    if not ONLY:
        with open(os.path.join(ROOT, "BENCHMARKS.md"), "w") as f:
            f.write(text)
    print(text)


if __name__ == "__main__":
    main()
