#!/usr/bin/env python3
"""Every public Rust operation has its C export (run by `make test`, no network).

Reads the source: every `pub fn` in an `impl Client` block anywhere in src/
(ffi/ excepted) must have `registry_<method>` in include/registry.h, and every
`pub fn` in an `impl ClientBuilder` block `registry_client_builder_<method>`,
unless EXCEPTIONS below names it with its reason. An exception that no longer
matches a method, or whose method gained the export, fails too, so that the
list stays true.

    python3 ffi-tests/check_exports.py [ROOT]
"""

import os
import re
import sys

# (type, method) -> why it has no C export of that name.
EXCEPTIONS = {
    ("Client", "builder"): "the C builder is registry_client_builder_new",
    ("Client", "registry_host"): "the host is what the caller passed to registry_client_builder_new",
    ("Client", "api_setting"): "the API is what the caller passed to registry_client_builder_api",
    ("Client", "api_version"): "registry_ping returns the API (REGISTRY_API_V1 / _V2)",
    ("Client", "restrict"): "C: registry_client_restrict (its name fixed in DESIGN.md), "
                            "made like the other registry_client_* handles",
    ("Client", "restricted_to"): "the repository is what the caller passed to registry_client_restrict",
    ("Client", "image_pull_archive_to"): "takes a Rust io::Write (stdout, a pipe: not atomic); C "
                                         "writes an archive file atomically: registry_image_pull_archive",
    ("ClientBuilder", "timeout"): "takes a Duration; C: registry_client_builder_timeout_ms",
    ("ClientBuilder", "env_credentials_from"): "takes the variables as a Rust iterator (for tests "
                                               "and embedders); C reads the process environment: "
                                               "registry_client_builder_env_credentials",
    ("ClientBuilder", "credentials"): "takes the Rust Credentials enum; C sets each kind: "
                                      "registry_client_builder_basic_auth, _bearer_token, "
                                      "_identity_token, _docker_config",
}

PREFIX = {"Client": "registry_", "ClientBuilder": "registry_client_builder_"}

IMPL = re.compile(r"^impl(?:<[^>]*>)?\s+(Client|ClientBuilder)\s*\{")
PUB_FN = re.compile(r"^    pub fn ([a-z_][a-z0-9_]*)")


def public_methods(src):
    """{(type, method): "path:line"} for every pub fn of the two impl blocks."""
    found = {}
    for dirpath, dirnames, filenames in os.walk(src):
        dirnames[:] = sorted(d for d in dirnames if os.path.join(dirpath, d) != os.path.join(src, "ffi"))
        for name in sorted(filenames):
            if not name.endswith(".rs"):
                continue
            path = os.path.join(dirpath, name)
            current = None
            with open(path, encoding="utf-8") as f:
                for number, line in enumerate(f, 1):
                    m = IMPL.match(line)
                    if m:
                        current = m.group(1)
                        continue
                    if current and line.startswith("}"):
                        current = None
                        continue
                    m = current and PUB_FN.match(line)
                    if m:
                        found.setdefault((current, m.group(1)), f"{os.path.relpath(path)}:{number}")
    return found


def exported(header):
    """The functions the header declares (its comments, which name others, left out)."""
    with open(header, encoding="utf-8") as f:
        text = re.sub(r"/\*.*?\*/|//[^\n]*", "", f.read(), flags=re.S)
    return set(re.findall(r"\b(registry_[a-z0-9_]+)\s*\(", text))


def main(root):
    methods = public_methods(os.path.join(root, "src"))
    exports = exported(os.path.join(root, "include", "registry.h"))
    problems = []
    if not any(t == "Client" for t, _ in methods) or not any(t == "ClientBuilder" for t, _ in methods):
        problems.append("found no `impl Client` or no `impl ClientBuilder` block in src/: is this the root?")
    for (kind, method), where in sorted(methods.items()):
        c_name = PREFIX[kind] + method
        if c_name in exports:
            if (kind, method) in EXCEPTIONS:
                problems.append(f"{kind}::{method} ({where}) is exported as {c_name}: "
                                "drop it from EXCEPTIONS")
        elif (kind, method) not in EXCEPTIONS:
            problems.append(f"{kind}::{method} ({where}) has no C export {c_name} in include/registry.h "
                            "(add it in src/ffi and run make header, or list it in "
                            "ffi-tests/check_exports.py's EXCEPTIONS with its reason)")
    for (kind, method), why in sorted(EXCEPTIONS.items()):
        if (kind, method) not in methods:
            problems.append(f"EXCEPTIONS names {kind}::{method} ({why}), which is no public method any more")
    for p in problems:
        print("check_exports:", p, file=sys.stderr)
    if problems:
        return 1
    print(f"check_exports: {len(methods)} public Client/ClientBuilder methods, "
          f"{len(methods) - len(EXCEPTIONS)} with their C export, {len(EXCEPTIONS)} deliberate exceptions")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else os.getcwd()))
