# Shared by the install-and-consume tests (c.sh, ruby.sh, go.sh): a
# temporary directory outside the checkout, removed on exit, and `make
# install` into a prefix inside it. Sourced with REPO unset; run from the
# repository's root by `make test-install` (inside `registry.py run`).

set -eu

REPO=$(pwd)
[ -f "$REPO/registry.pc.in" ] || { echo "run from the repository's root" >&2; exit 2; }
: "${REGISTRY_TEST_ANON_ADDR:?run inside ffi-tests/fixtures/registry.py run}"

VERSION=$(sed -n '/^\[package\]/,/^\[/s/^version *= *"\([^"]*\)".*/\1/p' "$REPO/Cargo.toml")
MAJOR=${VERSION%%.*}

T=$(mktemp -d "${TMPDIR:-/tmp}/registry-install.XXXXXX")
trap 'rm -rf "$T"' EXIT INT TERM
case "$T" in "$REPO"/*) echo "the temporary directory $T is inside the checkout" >&2; exit 2 ;; esac

# Nothing from the checkout or the caller's setup may leak into what is tested.
unset REGISTRY_LIB RUBYLIB RUBYOPT GEM_HOME GEM_PATH LD_LIBRARY_PATH PKG_CONFIG_PATH PKG_CONFIG_LIBDIR \
  CGO_CFLAGS CGO_LDFLAGS 2>/dev/null || true

fail() {
  echo "FAIL ($0): $*" >&2
  exit 1
}

ok() {
  echo "ok ($0): $*"
}

# install_prefix DIR: `make install PREFIX=DIR` (never ldconfig: DIR is not
# the system's), and the checks every consumer relies on.
install_prefix() {
  make -C "$REPO" --no-print-directory install PREFIX="$1" DESTDIR= LDCONFIG= >/dev/null
  [ "$(PKG_CONFIG_PATH="$1/lib/pkgconfig" pkg-config --modversion registry)" = "$VERSION" ] ||
    fail "pkg-config does not see registry $VERSION in $1"
}

