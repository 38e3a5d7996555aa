#!/bin/sh
# The Go module as a Go user meets it: bindings/go copied outside the
# checkout, built by cgo only through `#cgo pkg-config: registry` against a
# temporary `make install` prefix (PKG_CONFIG_PATH), its whole test suite run
# there against the real registries; then the example program, a module of
# its own that `replace`s the module path with that copy, built fully static
# (-tags registry_static) and run. No network: GOPROXY=off, GOFLAGS=-mod=mod,
# GOTOOLCHAIN=local.

. ffi-tests/install/common.sh

MODULE=$(sed -n 's/^module //p' "$REPO/bindings/go/go.mod")
P=$T/prefix
install_prefix "$P"

mkdir -p "$T/src"
cp -R "$REPO/bindings/go" "$T/src/registry-go"
cp -R "$REPO/examples/go" "$T/src/example"
if grep -rn 'target/release\|\.\./\.\./include' "$T/src/registry-go"; then fail "the Go package still points into the checkout"; fi

export GOFLAGS=-mod=mod GOPROXY=off GOTOOLCHAIN=local PKG_CONFIG_PATH="$P/lib/pkgconfig"
cd "$T/src/registry-go"
[ "$(go list -f '{{.ImportPath}} {{join .CgoPkgConfig " "}}' .)" = "$MODULE registry" ] ||
  fail "go list: $(go list -f '{{.ImportPath}} {{join .CgoPkgConfig " "}}' .)"

# The shared library is what the package links by default: the program needs
# libregistry.so.<major> at run time (a prefix the dynamic linker does not
# search: LD_LIBRARY_PATH, as for any C library there).
go test -c -o "$T/registry.test" . || fail "go test -c"
[ "$(LD_LIBRARY_PATH=$P/lib ldd "$T/registry.test" | sed -n 's/.*libregistry.so.[0-9]* => \([^ ]*\).*/\1/p')" = "$P/lib/libregistry.so.$MAJOR" ] ||
  fail "the Go test binary does not load $P/lib/libregistry.so.$MAJOR"
# The cancel tests start the checkout's stalling registry (stall.py).
REGISTRY_TEST_STALL_PY="$REPO/ffi-tests/fixtures/stall.py" \
  LD_LIBRARY_PATH=$P/lib go test -count=1 . || fail "go test outside the checkout"
ok "go test of $MODULE, copied outside the checkout, linked against $P/lib/libregistry.so.$MAJOR"

# The example: its go.mod replaces the module with ../../bindings/go; a user
# points the replace at their copy (or drops it and runs go get).
cd "$T/src/example"
go mod edit -replace "$MODULE=../registry-go"
go build -tags registry_static -o "$T/demo-go" . 2>"$T/link.log" || { cat "$T/link.log" >&2; fail "go build -tags registry_static"; }
file "$T/demo-go" | grep -q "statically linked" || fail "the registry_static build is not static: $(file "$T/demo-go")"
"$T/demo-go" "$REGISTRY_TEST_ANON_ADDR" fixtures/app v1 >"$T/demo.out" 2>&1 || { cat "$T/demo.out" >&2; fail "the static Go example failed"; }
grep -qF "image id of fixtures/app:v1: $REGISTRY_TEST_IMAGE_ID" "$T/demo.out" || { cat "$T/demo.out" >&2; fail "the example printed no image id"; }
ok "the example (replace => the copy) built with -tags registry_static: statically linked, ran against $REGISTRY_TEST_ANON_ADDR"
