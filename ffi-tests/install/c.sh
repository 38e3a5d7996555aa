#!/bin/sh
# `make install` and `make uninstall` as a C user meets them: the installed
# files, the soname, the C example (examples/c/demo.c) built outside the
# checkout only through pkg-config, once against the shared library and once
# fully static, and once with libregistry.a and registry.pc's Libs.private
# (libc shared), all run against the real (anonymous) registry; and a prefix
# left as it was found, both one that already held other things and, through
# DESTDIR, one that did not exist.

. ffi-tests/install/common.sh

# A prefix such as /usr/local: lib/ and lib/pkgconfig/ hold someone else's
# files, include/ is there and empty, share/ is left alone.
P=$T/prefix
mkdir -p "$P/lib/pkgconfig" "$P/include" "$P/share/doc"
echo other >"$P/lib/libother.so.1"
ln -s libother.so.1 "$P/lib/libother.so"
printf 'Name: other\nVersion: 1\nDescription: other\n' >"$P/lib/pkgconfig/other.pc"
chmod 700 "$P/share/doc"
snapshot() { (cd "$1" && find . -printf '%y %m %p -> %l\n' | sort && find . -type f -exec cksum {} + | sort); }
before=$(snapshot "$P")

install_prefix "$P"
L=$P/lib
for f in "$L/libregistry.a" "$L/libregistry.so.$VERSION" "$P/include/registry.h" "$L/pkgconfig/registry.pc"; do
  [ -f "$f" ] || fail "make install did not install $f"
done
[ "$(readlink "$L/libregistry.so.$MAJOR")" = "libregistry.so.$VERSION" ] || fail "libregistry.so.$MAJOR is not a link to libregistry.so.$VERSION"
[ "$(readlink "$L/libregistry.so")" = "libregistry.so.$MAJOR" ] || fail "libregistry.so is not a link to libregistry.so.$MAJOR"
soname=$(readelf -d "$L/libregistry.so.$VERSION" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[ "$soname" = "libregistry.so.$MAJOR" ] || fail "soname is '$soname', not libregistry.so.$MAJOR"
cmp -s "$REPO/include/registry.h" "$P/include/registry.h" || fail "the installed header is not include/registry.h"
ok "installed libregistry.a, libregistry.so.$VERSION (soname $soname) and its links, registry.h, registry.pc"

export PKG_CONFIG_PATH="$L/pkgconfig"
[ "$(pkg-config --variable=libdir registry)" = "$L" ] || fail "pkg-config's libdir is not $L"
case " $(pkg-config --static --libs registry) " in *" -lgcc_s "*) fail "--static --libs names -lgcc_s" ;; esac

# The example, copied out of the checkout and built only with pkg-config's flags.
mkdir "$T/app"
cp "$REPO/examples/c/demo.c" "$T/app/demo.c"
cd "$T/app"
CFLAGS="-std=c99 -Wall -Wextra -Wpedantic -Werror -D_DEFAULT_SOURCE"
# shellcheck disable=SC2046,SC2086
cc $CFLAGS demo.c $(pkg-config --cflags --libs registry) -o demo_shared
# shellcheck disable=SC2046,SC2086
cc -static $CFLAGS demo.c $(pkg-config --cflags --static --libs registry) -o demo_static 2>static.log ||
  { cat static.log >&2; fail "cc -static with pkg-config --static --libs registry"; }

# The README's line without pkg-config: the archive and Libs.private, libc shared.
# shellcheck disable=SC2046,SC2086
cc $CFLAGS -I"$P/include" demo.c "$L/libregistry.a" $(sed -n 's/^Libs.private: //p' "$L/pkgconfig/registry.pc") -o demo_archive
if readelf -d demo_archive | grep -q "(NEEDED).*libregistry"; then fail "demo_archive needs libregistry.so"; fi

readelf -d demo_shared | grep -q "(NEEDED).*\[libregistry.so.$MAJOR\]" || fail "demo_shared does not need libregistry.so.$MAJOR"
if readelf -d demo_shared | grep -q "RPATH\|RUNPATH"; then fail "demo_shared carries an rpath"; fi
file demo_shared | grep -q "dynamically linked" || fail "demo_shared: $(file demo_shared)"
file demo_static | grep -q "statically linked" || fail "demo_static: $(file demo_static)"
if readelf -d demo_static 2>/dev/null | grep -q NEEDED; then fail "demo_static needs shared libraries"; fi
[ "$(LD_LIBRARY_PATH=$L ldd demo_shared | sed -n 's/.*libregistry.so.[0-9]* => \([^ ]*\).*/\1/p')" = "$L/libregistry.so.$MAJOR" ] ||
  fail "demo_shared does not load $L/libregistry.so.$MAJOR: $(LD_LIBRARY_PATH=$L ldd demo_shared)"
ok "built demo.c outside the checkout through pkg-config: shared (needs libregistry.so.$MAJOR) and fully static; and with libregistry.a and Libs.private"

# The demo's own steps check what they get (digests, tags); here: it ran to
# its last step with the installed library.
for demo in demo_shared demo_static demo_archive; do
  LD_LIBRARY_PATH=$L "./$demo" "$REGISTRY_TEST_ANON_ADDR" fixtures/app v1 >"$demo.out" 2>&1 ||
    { cat "$demo.out" >&2; fail "$demo failed against the registry"; }
  grep -qxF "registry $VERSION" "$demo.out" || fail "$demo: no 'registry $VERSION' line"
  grep -qxF "ping $REGISTRY_TEST_ANON_ADDR: speaks v2" "$demo.out" || fail "$demo: no ping"
  grep -q "^tags of fixtures/app:.* v1" "$demo.out" || fail "$demo: no tags"
  grep -q "^layer .*: saved to .*, digest checked$" "$demo.out" || fail "$demo: no checked layer"
  tail -1 "$demo.out" | grep -q "^tags of demo/copy: " || { cat "$demo.out" >&2; fail "$demo did not finish"; }
done
ok "all three ran against the registry at $REGISTRY_TEST_ANON_ADDR"
cd "$REPO"

make --no-print-directory uninstall PREFIX="$P" DESTDIR= LDCONFIG= >/dev/null
after=$(snapshot "$P")
[ "$before" = "$after" ] || { printf '%s\n' "$before" >"$T/before"; printf '%s\n' "$after" >"$T/after";
  diff "$T/before" "$T/after" >&2 || true; fail "make uninstall did not leave $P as make install found it"; }
ok "make uninstall left $P as make install found it"

# DESTDIR (a staging directory, as packagers use it) and a prefix that did
# not exist: the .pc names the final prefix, and uninstall removes the
# directories install created.
S=$T/stage
mkdir "$S"
make --no-print-directory install DESTDIR="$S" PREFIX=/opt/registry-test LDCONFIG= >/dev/null
[ -f "$S/opt/registry-test/lib/libregistry.so.$VERSION" ] || fail "DESTDIR install: no library under $S"
[ "$(PKG_CONFIG_SYSROOT_DIR= PKG_CONFIG_PATH="$S/opt/registry-test/lib/pkgconfig" pkg-config --variable=prefix registry)" = /opt/registry-test ] ||
  fail "DESTDIR install: registry.pc does not name the prefix /opt/registry-test"
[ ! -e /opt/registry-test ] || fail "DESTDIR install wrote outside DESTDIR"
make --no-print-directory uninstall DESTDIR="$S" PREFIX=/opt/registry-test LDCONFIG= >/dev/null
[ -z "$(ls -A "$S")" ] || fail "make uninstall left $(cd "$S" && find . | tr '\n' ' ') in DESTDIR"
ok "DESTDIR: installed under $S with prefix /opt/registry-test; uninstalled to nothing"
