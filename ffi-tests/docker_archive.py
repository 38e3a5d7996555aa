#!/usr/bin/env python3
"""A real dockerd loads the docker-archives regcli writes, and regcli pushes
what `docker save` wrote (issue 22).

    docker_archive.py [REGCLI]    (inside `registry.py run`: REGISTRY_TEST_ANON_*;
                                   REGCLI defaults to target/release/regcli)

Starts a private dockerd of its own (Debian's docker.io: vfs storage, no
bridge, no iptables; its data root, exec root, config file and socket in a
temporary directory, never the system socket), and stops it and removes its
data at the end, also on failure or SIGTERM. Then, against the anonymous
fixture registry (distribution 2.8):

1. regcli -> docker. skopeo pushes a two-layer image of this test's own (the
   second layer replaces a file and deletes one with a whiteout) beside the
   fixtures; `regcli save` writes fixtures/app:v1 (Docker schema 2),
   fixtures/multi:latest (an index: linux/amd64 taken) and that image into
   one docker-archive, and `docker load -i` reads it. Asserted: docker loaded
   exactly those three host:port/repo:tag names; each image's ID is the config
   digest the registry holds (read with skopeo) and its RootFS.Layers are the
   config's diff_ids; the files of a container docker creates from each image
   are the layers' (applied in order: the replaced file, the whiteout).
2. docker -> regcli. `docker import` makes an image from a small tar and
   `docker save` writes it (docker wrote every byte of that archive, whose
   layer is an uncompressed tar); `regcli push FILE.tar` and `regcli push
   --compress gzip FILE.tar` send it to two tags. Asserted: skopeo copies both
   back; their layers are application/vnd.oci.image.layer.v1.tar and
   ...tar+gzip, the gzip one unpacking to the diff id; the config digest is
   docker's image ID in both; the manifest digests are the ones regcli printed.
   Then `regcli save` of the gzip tag, loaded into docker after the imported
   image is removed, gives back the same image ID.

If dockerd cannot start here (not installed, no privileges, no kernel
support), prints one line saying so, with dockerd's last lines of output, and
exits 0. Any failure once dockerd answers is a real one: exits non-zero, the
message naming what did not hold. Prints one summary line when all holds.
"""

import gzip
import hashlib
import io
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import tempfile
import time

sys.dont_write_bytecode = True  # the import below writes no __pycache__ into the tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures"))
from oci_layout import write_layout  # noqa: E402

NAME = "docker_archive"
READY_TIMEOUT = 60  # seconds dockerd may take to answer before it counts as not starting
STOP_TIMEOUT = 30
CMD_TIMEOUT = 300

OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
OCI_LAYER_TAR = "application/vnd.oci.image.layer.v1.tar"
INDEX_TYPES = ("application/vnd.oci.image.index.v1+json",
               "application/vnd.docker.distribution.manifest.list.v2+json")


class Failure(Exception):
    pass


class NotRun(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise Failure(msg)


def sha256(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def run(argv, what, env=None, stdin=None):
    """Runs argv; returns its stdout (bytes); a non-zero exit is a failure."""
    try:
        r = subprocess.run(argv, env=env, stdin=stdin, capture_output=True, timeout=CMD_TIMEOUT)
    except subprocess.TimeoutExpired:
        raise Failure("%s: %s took longer than %d s" % (what, " ".join(argv), CMD_TIMEOUT))
    check(r.returncode == 0, "%s: `%s` exited %d: %s" % (
        what, " ".join(argv), r.returncode, r.stderr.decode(errors="replace").strip()))
    return r.stdout


# ---------------------------------------------------------------- dockerd

class Dockerd:
    """A private dockerd: everything it writes lives under `root` (a short
    path: containerd's sockets go under the exec root, and a unix socket path
    has at most 107 bytes)."""

    def __init__(self, root):
        self.root = root
        self.sock = os.path.join(root, "docker.sock")
        self.log_path = os.path.join(root, "dockerd.log")
        self.exec_root = os.path.join(root, "exec")
        self.proc = None
        self.dockerd = shutil.which("dockerd")
        # The client of dockerd's own package (/usr/sbin/dockerd ->
        # /usr/bin/docker), else the first on PATH.
        self.docker = None
        if self.dockerd:
            twin = os.path.join(os.path.dirname(os.path.dirname(self.dockerd)), "bin", "docker")
            self.docker = twin if os.access(twin, os.X_OK) else shutil.which("docker")
        self.env = {k: v for k, v in os.environ.items()
                    if not k.startswith("DOCKER_") and
                    k.lower() not in ("http_proxy", "https_proxy", "all_proxy")}
        self.env["DOCKER_HOST"] = "unix://" + self.sock
        self.env["DOCKER_CONFIG"] = os.path.join(root, "client-config")

    def last_lines(self, n=3):
        try:
            with open(self.log_path, errors="replace") as f:
                lines = [line.strip() for line in f if line.strip()]
        except OSError:
            return "(no output)"
        return " | ".join(lines[-n:]) or "(no output)"

    def start(self):
        """Starts dockerd and waits until it answers /_ping; NotRun when it
        cannot start here."""
        if not self.dockerd or not self.docker:
            raise NotRun("dockerd or docker is not installed (`make deps` installs docker.io)")
        os.makedirs(self.env["DOCKER_CONFIG"])
        config = os.path.join(self.root, "daemon.json")
        with open(config, "w") as f:
            f.write("{}\n")  # not /etc/docker/daemon.json: nothing of the system's
        argv = [self.dockerd, "--config-file", config,
                "--iptables=false", "--ip6tables=false", "--bridge=none",
                "--storage-driver=vfs", "--data-root", os.path.join(self.root, "data"),
                "--exec-root", self.exec_root, "--pidfile", os.path.join(self.root, "docker.pid"),
                "-H", "unix://" + self.sock]
        log = open(self.log_path, "wb")
        try:
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=subprocess.STDOUT, env=self.env,
                                         start_new_session=True)
        except OSError as e:
            raise NotRun("dockerd did not start: %s" % e)
        finally:
            log.close()
        deadline = time.monotonic() + READY_TIMEOUT
        while True:
            if self.proc.poll() is not None:
                raise NotRun("dockerd exited with status %d: %s"
                             % (self.proc.returncode, self.last_lines()))
            if self.ping():
                return
            if time.monotonic() > deadline:
                raise NotRun("dockerd did not answer on its socket in %d s: %s"
                             % (READY_TIMEOUT, self.last_lines()))
            time.sleep(0.1)

    def ping(self):
        try:
            with socket.socket(socket.AF_UNIX) as s:
                s.settimeout(5)
                s.connect(self.sock)
                s.sendall(b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n")
                status = s.recv(64).split(b"\r\n", 1)[0].split()
                return status[:1] in ([b"HTTP/1.0"], [b"HTTP/1.1"]) and status[1:2] == [b"200"]
        except OSError:
            return False

    def stop(self):
        """SIGTERM (dockerd stops its containerd and unmounts its data root),
        SIGKILL after STOP_TIMEOUT; then its containerd if that outlived it,
        whatever is still mounted under root, and root itself."""
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        pid_file = os.path.join(self.exec_root, "containerd", "containerd.pid")
        try:
            with open(pid_file) as f:
                pid = int(f.read().strip())
            with open("/proc/%d/cmdline" % pid, "rb") as f:
                mine = self.exec_root.encode() in f.read()
            if mine:
                os.kill(pid, signal.SIGKILL)
        except (OSError, ValueError):
            pass
        with open("/proc/self/mounts") as f:
            mounts = [line.split()[1] for line in f]
        for m in reversed(mounts):
            if m == self.root or m.startswith(self.root + "/"):
                subprocess.run(["umount", "-l", m], capture_output=True)
        shutil.rmtree(self.root, ignore_errors=True)

    def __call__(self, *args, what="docker", stdin=None):
        return run([self.docker, *args], what, env=self.env, stdin=stdin)

    def inspect(self, name):
        return json.loads(self("image", "inspect", name, what="docker image inspect " + name))[0]

    def files(self, image):
        """The regular files (name -> bytes) and every path of a container
        docker creates from image, as `docker export` writes them."""
        cid = self("create", "--network", "none", image, what="docker create " + image)
        cid = cid.decode().strip()
        try:
            data = self("export", cid, what="docker export " + image)
        finally:
            self("rm", cid, what="docker rm")
        files, paths = {}, set()
        with tarfile.open(fileobj=io.BytesIO(data)) as tar:
            for m in tar:
                paths.add(m.name.strip("/"))
                if m.isfile():
                    files[m.name.strip("/")] = tar.extractfile(m).read()
        return files, paths


# ---------------------------------------------------------------- images

def tar_of(entries):
    """An uncompressed tar: (name, bytes) files, (name, None) directories."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, data in entries:
            info = tarfile.TarInfo(name)
            info.mtime, info.uid, info.gid = 0, 0, 0
            if data is None:
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                tar.addfile(info)
            else:
                info.size, info.mode = len(data), 0o644
                tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def noise(n, seed):
    out, block = bytearray(), seed
    while len(out) < n:
        block = hashlib.sha256(block).digest()
        out += block
    return bytes(out[:n])


OWN_LAYERS = [
    [("etc", None), ("etc/greeting", b"hello from layer one\n"),
     ("data", None), ("data/old.txt", b"old\n"), ("data/noise.bin", noise(100_000, b"one"))],
    [("etc", None), ("etc/greeting", b"layer two wins\n"),
     ("data", None), ("data/.wh.old.txt", b""), ("data/new.txt", b"new\n")],
]


def make_own_layout(root, tag):
    """An OCI layout holding one image (named tag) of OWN_LAYERS, gzipped;
    returns the config digest."""
    tars = [tar_of(entries) for entries in OWN_LAYERS]
    config = {
        "architecture": "amd64", "os": "linux", "config": {"Cmd": ["/bin/true"]},
        "rootfs": {"type": "layers", "diff_ids": [sha256(t) for t in tars]},
    }
    layers = [(OCI_LAYER_GZIP, gzip.compress(t, mtime=0)) for t in tars]
    _, config_digest, _ = write_layout(root, config, layers, tag)
    return config_digest


def skopeo(*args, what="skopeo"):
    return run(["skopeo", "--insecure-policy", *args], what)


def registry_image(ref):
    """What the registry holds for ref (host:port/repo:tag; an index: its
    linux/amd64 image), read with skopeo: (manifest digest, manifest, config
    digest, diff_ids)."""
    repo = ref.rsplit(":", 1)[0]
    raw = skopeo("inspect", "--raw", "--tls-verify=false", "docker://" + ref,
                 what="skopeo inspect " + ref)
    doc, digest = json.loads(raw), sha256(raw)
    if doc.get("mediaType") in INDEX_TYPES or "manifests" in doc:
        entry = [m for m in doc["manifests"]
                 if m.get("platform", {}).get("os") == "linux"
                 and m.get("platform", {}).get("architecture") == "amd64"]
        check(len(entry) == 1, "%s: one linux/amd64 entry in its index: %s" % (ref, doc))
        digest = entry[0]["digest"]
        raw = skopeo("inspect", "--raw", "--tls-verify=false", "docker://%s@%s" % (repo, digest),
                     what="skopeo inspect " + ref)
        doc = json.loads(raw)
        check(sha256(raw) == digest, "%s: the manifest is its digest" % ref)
    config_digest = doc["config"]["digest"]
    config = skopeo("inspect", "--config", "--raw", "--tls-verify=false",
                    "docker://%s@%s" % (repo, digest), what="skopeo inspect --config " + ref)
    check(sha256(config) == config_digest,
          "%s: the config skopeo read is %s" % (ref, config_digest))
    return digest, doc, config_digest, json.loads(config)["rootfs"]["diff_ids"]


# ---------------------------------------------------------------- the test

def regcli_to_docker(regcli, docker, addr, work, tag):
    """Part 1: `regcli save` three images, `docker load` them."""
    own_layout = os.path.join(work, "own-layout")
    own_config = make_own_layout(own_layout, tag)
    own = "%s/docker-archive/own:%s" % (addr, tag)
    skopeo("copy", "--quiet", "--dest-tls-verify=false", "oci:%s:%s" % (own_layout, tag),
           "docker://" + own, what="skopeo pushes the test's own image")
    images = ["%s/fixtures/app:v1" % addr, "%s/fixtures/multi:latest" % addr, own]

    bundle = os.path.join(work, "bundle.tar")
    out = run([regcli, "save", *images, "-o", bundle], "regcli save").decode().split()
    facts = {ref: registry_image(ref) for ref in images}
    check(out == [facts[ref][0] for ref in images],
          "regcli save printed the manifest digests, in order: %s" % out)
    check(facts[own][2] == own_config, "the registry holds the own image's config")
    fixture_id = os.environ.get("REGISTRY_TEST_IMAGE_ID")
    if fixture_id:
        check(facts[images[0]][2] == fixture_id, "fixtures/app:v1's config is the fixture's")

    loaded = docker("load", "-i", bundle, what="docker load -i bundle.tar").decode()
    names = sorted(line.split(":", 1)[1].strip() for line in loaded.splitlines()
                   if line.startswith("Loaded image:"))
    check(names == sorted(images), "docker loaded %s, not %s: %s" % (names, sorted(images), loaded))
    for ref in images:
        info = docker.inspect(ref)
        _, _, config_digest, diff_ids = facts[ref]
        check(info["Id"] == config_digest,
              "%s: docker's image ID %s is the registry's config digest %s"
              % (ref, info["Id"], config_digest))
        check(info["RootFS"]["Layers"] == diff_ids,
              "%s: docker's RootFS.Layers %s are the config's diff_ids %s"
              % (ref, info["RootFS"]["Layers"], diff_ids))
        check(ref in info["RepoTags"], "%s among its RepoTags %s" % (ref, info["RepoTags"]))

    # The layers' files, as docker applied them.
    files, _ = docker.files(images[0])
    check(files.get("hello.txt") == b"hello from the registry fixture\n",
          "fixtures/app:v1's container has the layer's hello.txt: %s" % sorted(files))
    files, paths = docker.files(own)
    check(files.get("etc/greeting") == b"layer two wins\n",
          "the own image's second layer replaced etc/greeting: %r" % files.get("etc/greeting"))
    check("data/old.txt" not in paths and not any(".wh." in p for p in paths),
          "the second layer's whiteout removed data/old.txt: %s" % sorted(paths))
    check(files.get("data/new.txt") == b"new\n"
          and files.get("data/noise.bin") == noise(100_000, b"one"),
          "both layers' other files are there: %s" % sorted(files))
    return len(images), len(set(f[2] for f in facts.values()))


def docker_to_regcli(regcli, docker, addr, work, tag):
    """Part 2: `docker save` of an image docker imported, `regcli push` of it
    as it is and gzipped; skopeo reads both back."""
    rootfs = os.path.join(work, "rootfs.tar")
    with open(rootfs, "wb") as f:
        f.write(tar_of([("hello.txt", b"imported by docker\n"),
                        ("blob", None), ("blob/noise.bin", noise(300_000, b"import"))]))
    local = "regtest-import/app:%s" % tag
    docker("import", rootfs, local, what="docker import")
    info = docker.inspect(local)
    image_id, diff_ids = info["Id"], info["RootFS"]["Layers"]
    saved = os.path.join(work, "saved.tar")
    docker("save", "-o", saved, local, what="docker save")

    # What docker wrote: a docker-archive whose layers are uncompressed tars.
    with tarfile.open(saved) as tar:
        manifest = json.load(tar.extractfile("manifest.json"))
        check(len(manifest) == 1 and manifest[0]["RepoTags"] == [local],
              "docker save wrote one image, %s: %s" % (local, manifest))
        for layer in manifest[0]["Layers"]:
            head = tar.extractfile(layer).read(512)
            check(head[:2] != b"\x1f\x8b" and head[257:262] == b"ustar",
                  "docker save wrote %s as an uncompressed tar" % layer)

    pushed = {}
    for kind, extra, media_type in [("plain", [], OCI_LAYER_TAR),
                                    ("gzip", ["--compress", "gzip"], OCI_LAYER_GZIP)]:
        ref = "%s/docker-archive/imported:%s-%s" % (addr, kind, tag)
        printed = run([regcli, "push", *extra, saved, ref],
                      "regcli push %s" % " ".join(extra + ["saved.tar"])).decode().strip()
        read = os.path.join(work, "read-" + kind)
        skopeo("copy", "--quiet", "--src-tls-verify=false", "docker://" + ref, "dir:" + read,
               what="skopeo copies %s back" % ref)
        with open(os.path.join(read, "manifest.json"), "rb") as f:
            raw = f.read()
        doc = json.loads(raw)
        check(sha256(raw) == printed,
              "%s: skopeo's manifest is the %s regcli printed" % (ref, printed))
        check(doc["config"]["digest"] == image_id,
              "%s: the config digest %s is docker's image ID %s"
              % (ref, doc["config"]["digest"], image_id))
        with open(os.path.join(read, image_id[7:]), "rb") as f:
            config = json.load(f)
        check(config["rootfs"]["diff_ids"] == diff_ids,
              "%s: the config's diff_ids are docker's" % ref)
        types = [layer["mediaType"] for layer in doc["layers"]]
        check(types == [media_type] * len(diff_ids),
              "%s: the layers are %s: %s" % (ref, media_type, types))
        for layer, diff_id in zip(doc["layers"], diff_ids):
            with open(os.path.join(read, layer["digest"][7:]), "rb") as f:
                blob = f.read()
            check(sha256(blob) == layer["digest"] and len(blob) == layer["size"],
                  "%s: skopeo's layer is its descriptor" % ref)
            unpacked = gzip.decompress(blob) if kind == "gzip" else blob
            check(sha256(unpacked) == diff_id,
                  "%s: the layer (%s) unpacks to the diff id %s" % (ref, kind, diff_id))
            if kind == "gzip":
                check(layer["digest"] != diff_id, "%s: the layer was compressed" % ref)
        pushed[kind] = (ref, sum(layer["size"] for layer in doc["layers"]))

    # And back into docker: the gzip tag saved by regcli is the same image.
    docker("rmi", local, what="docker rmi")
    back = os.path.join(work, "back.tar")
    run([regcli, "save", pushed["gzip"][0], "-o", back], "regcli save of the gzip tag")
    docker("load", "-i", back, what="docker load -i back.tar")
    again = docker.inspect(pushed["gzip"][0])
    check(again["Id"] == image_id and again["RootFS"]["Layers"] == diff_ids,
          "docker loads the pushed image back as %s (was %s)" % (again["Id"], image_id))
    return pushed["plain"][1], pushed["gzip"][1]


def main():
    if len(sys.argv) > 2:
        sys.exit(__doc__)
    here = os.path.dirname(os.path.abspath(__file__))
    regcli = os.path.abspath(sys.argv[1] if len(sys.argv) == 2 else
                             os.path.join(here, "..", "target", "release", "regcli"))
    addr = os.environ.get("REGISTRY_TEST_ANON_ADDR")
    if not addr:
        sys.exit("%s: FAIL: REGISTRY_TEST_ANON_ADDR is not set: run inside "
                 "`python3 ffi-tests/fixtures/registry.py run --modes anon -- ...`" % NAME)
    if not os.access(regcli, os.X_OK):
        sys.exit("%s: FAIL: %s is not there: `make cli` builds it" % (NAME, regcli))

    # SIGTERM/SIGHUP end the run through the finally below, which stops dockerd.
    def on_signal(signum, _frame):
        raise SystemExit(128 + signum)
    for s in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, on_signal)

    t0 = time.monotonic()
    work = tempfile.mkdtemp(prefix="docker-archive-")
    root = tempfile.mkdtemp(prefix="dkr-", dir="/tmp" if len(work) > 40 else None)
    docker = Dockerd(root)
    tag = "t%d" % os.getpid()
    try:
        try:
            docker.start()
        except NotRun as e:
            print("%s: not run: %s" % (NAME, e))
            return
        ready = time.monotonic() - t0
        loaded, ids = regcli_to_docker(regcli, docker, addr, work, tag)
        plain, zipped = docker_to_regcli(regcli, docker, addr, work, tag)
    except Failure as e:
        sys.exit("%s: FAIL: %s\n(dockerd's last lines: %s)" % (NAME, e, docker.last_lines(5)))
    finally:
        docker.stop()
        shutil.rmtree(work, ignore_errors=True)
    print("%s: dockerd up in %.1f s; docker loaded %d images (%d image IDs) from one `regcli save` "
          "with the registry's config digests and diff ids; `docker save` pushed by regcli as "
          "layer.v1.tar (%d bytes) and with --compress gzip as tar+gzip (%d bytes), skopeo read "
          "both, config digest kept, loaded back as the same image; %.1f s in all"
          % (NAME, ready, loaded, ids, plain, zipped, time.monotonic() - t0))


if __name__ == "__main__":
    main()
