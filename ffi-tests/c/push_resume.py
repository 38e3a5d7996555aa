#!/usr/bin/env python3
"""A C program killed mid-layer resumes its push (issue 22).

    push_resume.py PROGRAM      (inside `registry.py run`: REGISTRY_TEST_ANON_*)

PROGRAM is ffi-tests/c/push_resume.c built (`make c-tests`). It pushes an
OCI layout holding one image with a 64 MiB layer (random bytes, new on every
run, so that the registry never holds it yet) to distribution 2.8 (the anon
fixture) through a throttling proxy on loopback (fixtures/throttle.py). When
the layer's PATCH that starts at 50 % (the fifth 8 MiB chunk) arrives, the
proxy kills PROGRAM with SIGKILL before relaying it: four chunks are in the
registry and recorded in the state directory. Then PROGRAM runs again, with
the same arguments, at full speed. Asserted:

- the first run died of the SIGKILL with its upload recorded (one
  *.upload.json in the state directory);
- distribution's access log shows the second run's first PATCH of the
  layer's session (the session the PUT with the layer's digest committed, and
  the one the first run opened) starting past 0, at 32 MiB (the `_state`
  query distribution signs carries the session's offset);
- the bytes both runs sent (request bodies, as the proxy counted them) are at
  most 1.2 times the layer;
- skopeo reads the image: its manifest has the digest PROGRAM printed, and the
  layer skopeo fetched hashes to its digest;
- the state directory is empty once the push is done.

Exits 0 and prints one summary line when all holds; a failure names what did
not.
"""

import base64
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import urllib.parse

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures"))
from oci_layout import write_layout  # noqa: E402
from throttle import ThrottlingProxy  # noqa: E402

MIB = 1 << 20
LAYER = 64 * MIB
CHUNK = 8 * MIB  # the library's PATCH chunk (src/v2/upload.rs)
KILL_AT = LAYER // 2
RATE = 32 * MIB  # bytes/s while the first run goes: the kill comes after ~1 s
TIMEOUT = 120

OCI_LAYER_TAR = "application/vnd.oci.image.layer.v1.tar"


def fail(msg):
    sys.exit("push_resume: FAIL: " + msg)


def check(cond, msg):
    if not cond:
        fail(msg)


def sha256(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def make_layout(root):
    """One image (tag-less: the layout's only one) with the 64 MiB layer;
    returns (manifest digest, layer digest)."""
    layer = os.urandom(LAYER)
    config = {"architecture": "amd64", "os": "linux",
              "rootfs": {"type": "layers", "diff_ids": [sha256(layer)]}}
    manifest, _, (layer_digest,) = write_layout(root, config, [(OCI_LAYER_TAR, layer)])
    return manifest, layer_digest


def state_offset(target):
    """The offset in distribution's signed `_state` query of an upload URL
    (base64url of a 32-byte HMAC, then JSON with Offset)."""
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(target).query)
    raw = query["_state"][0]
    data = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))
    return json.loads(data[32:])["Offset"]


LINE = re.compile(r'"(?P<method>[A-Z]+) (?P<target>\S+) HTTP/[0-9.]+" (?P<status>\d{3}) ')


def uploads(log_text, repo):
    """(method, session uuid, target, status) of every request on `repo`'s
    upload sessions in the access log, in order."""
    prefix = "/v2/%s/blobs/uploads/" % repo
    out = []
    for line in log_text.splitlines():
        m = LINE.search(line)
        if not m or not m["target"].startswith(prefix):
            continue
        uuid = urllib.parse.urlsplit(m["target"]).path[len(prefix):]
        out.append((m["method"], uuid, m["target"], int(m["status"])))
    return out


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    program = os.path.abspath(sys.argv[1])
    addr = os.environ.get("REGISTRY_TEST_ANON_ADDR")
    log_path = os.environ.get("REGISTRY_TEST_ANON_LOG")
    check(addr and log_path, "REGISTRY_TEST_ANON_ADDR/_LOG are not set: run inside "
          "`python3 ffi-tests/fixtures/registry.py run --modes anon -- ...`")
    work = tempfile.mkdtemp(prefix="push-resume-")
    try:
        run(program, addr, log_path, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run(program, addr, log_path, work):
    layout, state = os.path.join(work, "layout"), os.path.join(work, "state")
    manifest_digest, layer_digest = make_layout(layout)
    repo = "c/push-resume-%d" % os.getpid()
    victim = {}
    killed = threading.Event()

    def on_request(method, target, headers):
        # In the first run, the layer's PATCH from 50 % on: the program is
        # killed before it goes on, and nothing from there reaches the registry.
        start = headers.get("content-range", "").partition("-")[0]
        if victim and method == "PATCH" and start.isdigit() and int(start) >= KILL_AT:
            if not killed.is_set():
                victim["proc"].send_signal(signal.SIGKILL)
                victim["proc"].wait()
                killed.set()
            return False
        return True

    proxy = ThrottlingProxy(addr, rate=RATE, on_request=on_request)
    env = {k: v for k, v in os.environ.items()
           if k.lower() not in ("http_proxy", "https_proxy", "all_proxy")}
    argv = [program, proxy.addr, layout, repo, "v1", state]

    proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    victim["proc"] = proc
    try:
        out, err = proc.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()
        fail("the first run never reached the kill point")
    check(killed.is_set() and proc.returncode == -signal.SIGKILL,
          "the first run was to die of SIGKILL at %d bytes, it ended with %s: %s"
          % (KILL_AT, proc.returncode, err.decode(errors="replace")))
    first = proxy.body_bytes()
    first_patch = proxy.body_bytes("PATCH")
    check(0 < first_patch < LAYER, "killed mid-layer: %d PATCH bytes" % first_patch)
    recorded = [n for n in os.listdir(state) if n.endswith(".upload.json")]
    check(len(recorded) == 1, "one upload recorded after the kill: %s" % recorded)
    with open(log_path, "rb") as f:
        mark = len(f.read())

    victim.clear()
    proxy.reset()
    proxy.rate = None
    again = subprocess.run(argv, env=env, capture_output=True, timeout=TIMEOUT)
    check(again.returncode == 0, "the second run failed (%d): %s"
          % (again.returncode, again.stderr.decode(errors="replace")))
    check(again.stdout.decode().strip() == manifest_digest,
          "the second run pushed %r, not %s" % (again.stdout, manifest_digest))
    second = proxy.body_bytes()
    proxy.close()
    check(not proxy.errors, "proxy: %s" % proxy.errors)

    with open(log_path, "rb") as f:
        text = f.read()
    before = uploads(text[:mark].decode(errors="replace"), repo)
    after = uploads(text[mark:].decode(errors="replace"), repo)

    def digest_of(target):
        return urllib.parse.parse_qs(urllib.parse.urlsplit(target).query).get("digest")

    committed = [u for m, u, t, s in after
                 if m == "PUT" and s == 201 and digest_of(t) == [layer_digest]]
    check(len(committed) == 1, "one PUT committed the layer in the second run: %s" % after)
    session = committed[0]
    check(any(u == session for _, u, _, _ in before),
          "the second run committed a session the first run opened (%s)" % session)
    first_patch_after = next((t for m, _, t, _ in after if m == "PATCH"), None)
    check(first_patch_after and state_offset(first_patch_after) > 0,
          "the second run's first PATCH starts past 0: %s" % after)
    patches = [state_offset(t) for m, u, t, s in after
               if m == "PATCH" and u == session and s == 202]
    check(patches and patches[0] > 0,
          "the second run's first PATCH of the layer starts past 0: %s" % patches)
    check(patches[0] == KILL_AT,
          "it starts where the first run stopped (%d): %s" % (KILL_AT, patches))
    check(first + second <= 1.2 * LAYER,
          "both runs sent %d bytes, more than 1.2 x %d" % (first + second, LAYER))

    read = os.path.join(work, "read")
    copy = subprocess.run(["skopeo", "--insecure-policy", "copy", "--quiet",
                           "--src-tls-verify=false", "docker://%s/%s:v1" % (addr, repo),
                           "dir:" + read], capture_output=True)
    check(copy.returncode == 0, "skopeo reads the image: %s" % copy.stderr.decode(errors="replace"))
    with open(os.path.join(read, "manifest.json"), "rb") as f:
        check(sha256(f.read()) == manifest_digest, "skopeo's manifest is the one pushed")
    h = hashlib.sha256()
    with open(os.path.join(read, layer_digest[7:]), "rb") as f:
        for block in iter(lambda: f.read(MIB), b""):
            h.update(block)
    check("sha256:" + h.hexdigest() == layer_digest, "skopeo's layer hashes to its digest")
    check(not os.listdir(state), "the state directory is empty once pushed: %s" % os.listdir(state))

    print("push_resume: killed after %d PATCH bytes (%.2f of the layer); the second run's PATCHes "
          "of the layer started at %s; both runs sent %.2f of the layer; skopeo read it"
          % (first_patch, first_patch / LAYER, patches, (first + second) / LAYER))


if __name__ == "__main__":
    main()
