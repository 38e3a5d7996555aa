#!/bin/sh
# The gem as a Ruby user meets it: `gem build` of bindings/ruby, `gem install
# --local` into a fresh GEM_HOME (its one dependency, ffi, met by Debian's
# ruby-ffi: no network), then `require "registry"` from outside the checkout
# against the real (anonymous) registry, the C library found through
# pkg-config in a temporary `make install` prefix. Then the other two ways
# the gem finds the library: REGISTRY_LIB first, and the soname on the
# dynamic linker's search path last.

. ffi-tests/install/common.sh

P=$T/prefix
install_prefix "$P"

gem build -C "$REPO/bindings/ruby" registry-ffi.gemspec --output "$T/registry-ffi.gem" >"$T/build.log" 2>&1 ||
  { cat "$T/build.log" >&2; fail "gem build"; }
export GEM_HOME="$T/gems"
gem install --local --no-document "$T/registry-ffi.gem" >"$T/install.log" 2>&1 ||
  { cat "$T/install.log" >&2; fail "gem install --local"; }
[ "$(ls "$GEM_HOME/gems")" = "registry-ffi-$VERSION" ] ||
  fail "GEM_HOME holds $(ls "$GEM_HOME/gems" | tr '\n' ' ')(ffi should come from the system)"
ok "gem build and gem install --local registry-ffi-$VERSION (ffi from the system: $(gem list -q '^ffi$' | tr -d '\n'))"

mkdir "$T/app"
cd "$T/app"
cat >check.rb <<'RUBY'
# Usage: ruby check.rb EXPECTED_LIBRARY_FILE
require "registry"

def check(what)
  raise "FAIL (ruby.sh): #{what}" unless yield
end

expected = File.realpath(ARGV.fetch(0))
spec = Gem.loaded_specs.fetch("registry-ffi")
check("the gem is loaded from GEM_HOME (#{spec.full_gem_path})") { spec.full_gem_path.start_with?(ENV["GEM_HOME"]) }
rb = $LOADED_FEATURES.grep(%r{/registry\.rb\z})
check("registry.rb comes from the gem: #{rb}") { rb.size == 1 && rb[0].start_with?(spec.full_gem_path) }
mapped = File.readlines("/proc/self/maps").map { |l| l.split[5] }.compact.grep(/libregistry/).uniq
check("the library mapped is #{expected}, not #{mapped}") { mapped == [expected] }
check("the library's version is the gem's") { Registry.version == spec.version.to_s }

c = Registry::Client.new(ENV.fetch("REGISTRY_TEST_ANON_ADDR"))
check("ping") { c.ping == :v2 }
check("tags") { (c.tags("fixtures/app") & %w[v1 v2]) == %w[v1 v2] }
check("image id") { c.image_id("fixtures/app", "v1") == ENV.fetch("REGISTRY_TEST_IMAGE_ID") }
layer = c.layer("fixtures/app", ENV.fetch("REGISTRY_TEST_LAYER_DIGEST"))
check("layer") { layer.bytesize == Integer(ENV.fetch("REGISTRY_TEST_LAYER_SIZE")) }
begin
  c.image_id("fixtures/app", "no-such-tag")
  check("a missing tag raises") { false }
rescue Registry::NotFound => e
  check("NotFound carries the HTTP status") { e.http_status == 404 && e.status == :not_found }
end
c.close
puts "library #{mapped[0]} as #{Registry::Native.library_path}"
RUBY

# 1. Through pkg-config (PKG_CONFIG_PATH names the prefix).
PKG_CONFIG_PATH="$P/lib/pkgconfig" ruby check.rb "$P/lib/libregistry.so.$VERSION" ||
  fail "require \"registry\" through pkg-config"
ok "require \"registry\" outside the checkout: the library from pkg-config's libdir, calls against $REGISTRY_TEST_ANON_ADDR"

# 2. REGISTRY_LIB wins over pkg-config.
mkdir "$T/elsewhere"
cp "$P/lib/libregistry.so.$VERSION" "$T/elsewhere/libregistry-copy.so"
REGISTRY_LIB="$T/elsewhere/libregistry-copy.so" PKG_CONFIG_PATH="$P/lib/pkgconfig" ruby check.rb "$T/elsewhere/libregistry-copy.so" ||
  fail "REGISTRY_LIB is not the first choice"
ok "REGISTRY_LIB comes first"

# 3. No pkg-config file (PKG_CONFIG_LIBDIR hides the system's too): the
#    soname, found by the dynamic linker (here through LD_LIBRARY_PATH).
mkdir "$T/no-pc"
PKG_CONFIG_LIBDIR="$T/no-pc" LD_LIBRARY_PATH="$P/lib" ruby check.rb "$P/lib/libregistry.so.$VERSION" ||
  fail "the soname on the search path"
ok "without pkg-config's help, libregistry.so.$MAJOR on the dynamic linker's search path"

# 4. Nowhere: a LoadError that says what to do (unless this system has the
#    library installed where the dynamic linker looks).
if ldconfig -p 2>/dev/null | grep -q "libregistry.so.$MAJOR "; then
  echo "skip ($0): this system has libregistry.so.$MAJOR installed; not checking the LoadError"
else
  out=$(PKG_CONFIG_LIBDIR="$T/no-pc" ruby -e 'require "registry"' 2>&1) && fail "require succeeded with no library anywhere"
  case "$out" in *LoadError*REGISTRY_LIB*) ;; *) fail "no helpful LoadError: $out" ;; esac
  ok "no library anywhere: LoadError naming REGISTRY_LIB"
fi
