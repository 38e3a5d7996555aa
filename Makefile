# registry: build, demo and tests. `make demo` and `make test` are the two
# commands a newcomer runs; both install what they need (Debian packages).

CARGO      ?= cargo
# The C ABI and header generation are behind the `capi` feature (Rust users
# of the crate do without); every build here wants them. The build generates
# the header into cargo's OUT_DIR only; `make header` copies it to include/.
FEATURES   := --features capi
CC         ?= cc
CFLAGS     ?= -std=c99 -O1 -g -Wall -Wextra -Wpedantic -Werror -D_DEFAULT_SOURCE
RELEASE    := target/release
STATIC_LIB := $(RELEASE)/libregistry.a
SHARED_LIB := $(RELEASE)/libregistry.so
# The native libraries the static library needs, as `rustc --print
# native-static-libs` prints them for this toolchain; `make static-libs-check`
# proves it is still what rustc prints. It links libregistry.a into a program
# whose libc is shared.
NATIVE_STATIC_LIBS := -lgcc_s -lutil -lrt -lpthread -lm -ldl -lc
# The same for a fully static program (`cc -static`): libgcc_s, the unwinder,
# exists only as a shared library; its static form is libgcc_eh. This is
# registry.pc's Libs.private, and the README's static line.
STATIC_LINK_LIBS := $(subst -lgcc_s,-lgcc_eh,$(NATIVE_STATIC_LIBS))

# The version (Cargo.toml's [package] version) names the installed shared
# library; build.rs gives it the soname libregistry.so.<major>.
VERSION    := $(shell sed -n '/^\[package\]/,/^\[/s/^version *= *"\([^"]*\)".*/\1/p' Cargo.toml)
VERSION_NUM := $(firstword $(subst -, ,$(VERSION)))
MAJOR      := $(word 1,$(subst ., ,$(VERSION_NUM)))
SONAME     := libregistry.so.$(MAJOR)
SO_FILE    := libregistry.so.$(VERSION_NUM)

# `make install` (GNU conventions: PREFIX, DESTDIR, and the directories).
PREFIX       ?= /usr/local
LIBDIR       ?= $(PREFIX)/lib
INCLUDEDIR   ?= $(PREFIX)/include
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
# Run after installing into (or uninstalling from) the live system as root,
# so that the dynamic linker finds libregistry.so.<major>; empty: never.
LDCONFIG     ?= ldconfig
# The build tree's own registry.pc (libdir = target/release, includedir =
# include, and an rpath): the Go package finds the library through it here.
# Every command run from here sees it first (the tests of ffi-tests/install
# set their own PKG_CONFIG_PATH).
BUILD_PC_DIR := $(abspath target/pkgconfig)
export PKG_CONFIG_PATH := $(BUILD_PC_DIR)$(if $(PKG_CONFIG_PATH),:$(PKG_CONFIG_PATH))
FIXTURES   := python3 ffi-tests/fixtures/registry.py
VALGRIND   := valgrind --quiet --error-exitcode=99 --leak-check=full \
              --suppressions=ffi-tests/c/valgrind.supp \
              --show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect
CBUILD     := ffi-tests/c/build
# The C suite also runs under AddressSanitizer + UndefinedBehaviorSanitizer.
SANITIZE   := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer

PACKAGES := docker-registry skopeo apache2-utils openssl curl ruby ruby-ffi \
            golang-go valgrind python3 gcc g++ make umoci

.PHONY: fuzz bench all deps ferro build demo demo-rust test lint header header-check exports-check static-libs-check \
        suites test-rust test-c test-ruby test-go test-examples c-tests c-examples clean \
        cli test-cli test-c-resume test-docker-archive

all: build cli

## Install the Debian packages the demo and the tests need, when missing.
## docker.io (dockerd, which ffi-tests/docker_archive.py runs privately,
## never the system's) goes in without its recommends and under a temporary
## policy-rc.d that forbids starting services (invoke-rc.d and
## deb-systemd-invoke both obey it), so that installing it does not start the
## system's docker and containerd services; an existing policy-rc.d is left
## as it is. (The units stay enabled, as the package leaves them.)
POLICY_RC_D := /usr/sbin/policy-rc.d
deps:
	@missing=""; for p in $(PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi
	@dpkg-query -W -f='$${Status}' docker.io 2>/dev/null | grep -q "ok installed" || { \
	  echo "installing: docker.io (without recommends; its services are not started)"; \
	  if [ ! -e $(POLICY_RC_D) ]; then \
	    trap 'rm -f $(POLICY_RC_D)' EXIT INT TERM; \
	    printf '#!/bin/sh\n# make deps: no service starts while docker.io installs\nexit 101\n' > $(POLICY_RC_D); \
	    chmod 755 $(POLICY_RC_D); \
	  fi; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker.io >/dev/null; \
	}

## ferro-oci-server, the second registry implementation every suite runs
## against (registry.py's ferro mode), when it is on neither PATH nor in
## cargo's bin directory: `cargo install` builds it (a few minutes, once).
ferro:
	@command -v ferro-oci-server >/dev/null 2>&1 || \
	  [ -x "$${CARGO_HOME:-$$HOME/.cargo}/bin/ferro-oci-server" ] || \
	  { echo "installing ferro-oci-server (cargo install ferro-oci-server --locked)"; \
	    $(CARGO) install ferro-oci-server --locked; }

# Besides cargo's output: the soname link target/release/libregistry.so.<major>
# (what programs linked against the build tree ask for at run time) and the
# build tree's registry.pc.
build:
	$(CARGO) build --release $(FEATURES)
	ln -sf libregistry.so $(RELEASE)/$(SONAME)
	mkdir -p $(BUILD_PC_DIR)
	$(call write_pc,$(abspath .),$${prefix}/$(RELEASE),$${prefix}/include, -Wl$(,)-rpath$(,)$${libdir}) \
	  > $(BUILD_PC_DIR)/registry.pc

## The command-line tool, target/release/regcli (or: cargo install --path cli).
## It uses the library without the C ABI.
cli:
	$(CARGO) build --release -p regcli

## Build everything, start a throw-away registry, push an image with skopeo,
## and run the C example against it.
demo: deps build c-examples
	$(FIXTURES) run --modes anon -- sh -c './$(CBUILD)/demo "$$REGISTRY_TEST_ANON_ADDR" fixtures/layers v1'

## The same walk-through from the Rust example.
demo-rust: deps
	$(CARGO) build --release $(FEATURES) --example demo
	$(FIXTURES) run --modes anon -- sh -c '$(RELEASE)/examples/demo "$$REGISTRY_TEST_ANON_ADDR" fixtures/layers v1'

## Everything: lint, header check, then every suite against the real registry
## in every fixture mode (one set of fixtures shared by all languages).
test: deps ferro lint build cli header-check exports-check static-libs-check c-tests c-examples
	$(CARGO) build --release $(FEATURES) --examples
	$(FIXTURES) run -- $(MAKE) --no-print-directory suites

## `unsafe` stays in src/ffi: every other module says #![forbid(unsafe_code)].
## rustdoc warns of nothing, with the C ABI and without.
lint:
	$(CARGO) fmt --check
	$(CARGO) clippy --all-targets $(FEATURES) -- -D warnings
	$(CARGO) clippy --lib -- -D warnings
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc --no-deps $(FEATURES)
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc --no-deps

# Builds the library and prints the path of the header build.rs generated
# from src/ffi this time ($$OUT_DIR/registry.h: a build writes nothing into
# src/ or include/), from cargo's build-script-executed message.
fresh_header = $(CARGO) build --release $(FEATURES) --message-format=json-render-diagnostics | \
  python3 -c 'import json, os, sys; \
    found = [m["out_dir"] for m in map(json.loads, sys.stdin) \
             if m.get("reason") == "build-script-executed" \
             and os.path.basename(os.path.dirname(m["out_dir"])).startswith("registry-") \
             and os.path.isfile(os.path.join(m["out_dir"], "registry.h"))]; \
    found or sys.exit("build.rs generated no registry.h"); \
    print(os.path.join(found[-1], "registry.h"))'

## Regenerate include/registry.h from src/ffi (cbindgen, through build.rs);
## commit it with the change to src/ffi.
header:
	@fresh=$$($(fresh_header)) && cp "$$fresh" include/registry.h && echo "include/registry.h: generated from src/ffi"

## The committed header must equal a fresh one and compile as C99 and C++.
header-check: build
	@fresh=$$($(fresh_header)) || exit 1; diff -u include/registry.h "$$fresh" || \
	  { echo "include/registry.h differs from src/ffi's header: run make header and commit it"; exit 1; }
	$(CC) -std=c99 -Wall -Wextra -Wpedantic -Werror -fsyntax-only -x c include/registry.h
	c++ -Wall -Wextra -Wpedantic -Werror -fsyntax-only -x c++ include/registry.h

## Every public Client / ClientBuilder method has its C export in the
## committed header (or a reason in the script's list of exceptions).
exports-check:
	python3 ffi-tests/check_exports.py

## rustc's native-static-libs line is still the one pinned here; registry.pc
## (build tree) carries its static form, and README.md shows it. The test
## that links with it (`cc -static` through pkg-config) is test-install-c.
static-libs-check: build
	@printed=$$($(CARGO) rustc --release $(FEATURES) --lib --crate-type staticlib -- --print native-static-libs 2>&1 \
	  | sed -n 's/.*native-static-libs: //p' | tail -1); \
	if [ "$$printed" != "$(NATIVE_STATIC_LIBS)" ]; then \
	  echo "rustc now wants: $$printed (update NATIVE_STATIC_LIBS and README.md)"; exit 1; fi; \
	echo "rustc's static link line: $$printed"; \
	pc=$$(pkg-config --static --libs registry); \
	case " $$pc " in *" -lgcc_s "*) echo "registry.pc: -lgcc_s has no static form: $$pc"; exit 1;; esac; \
	grep -qxF -- "Libs.private: $(STATIC_LINK_LIBS)" $(BUILD_PC_DIR)/registry.pc || \
	  { echo "registry.pc's Libs.private is not $(STATIC_LINK_LIBS)"; exit 1; }; \
	echo "pkg-config --static --libs registry: $$pc"; \
	grep -qF -- "$(STATIC_LINK_LIBS)" README.md || { echo "README.md does not show the static link line"; exit 1; }; \
	grep -qF -- "$(NATIVE_STATIC_LIBS)" README.md || { echo "README.md does not show rustc's line"; exit 1; }

, := ,
# $(call write_pc,prefix,libdir,includedir,extra Libs): registry.pc on stdout.
write_pc = sed -e 's|@prefix@|$(1)|' -e 's|@libdir@|$(2)|' -e 's|@includedir@|$(3)|' \
  -e 's|@version@|$(VERSION)|' -e 's|@libs_extra@|$(4)|' -e 's|@libs_private@|$(STATIC_LINK_LIBS)|' \
  registry.pc.in

# `make install` builds the library only when it is missing, so that
# `make && sudo make install` needs no Rust toolchain as root.
$(STATIC_LIB) $(SHARED_LIB):
	$(MAKE) --no-print-directory build

## Install the C library: lib/libregistry.a, lib/libregistry.so.X.Y.Z with
## its soname link libregistry.so.X and the link libregistry.so,
## include/registry.h and lib/pkgconfig/registry.pc. The directories it has
## to create are listed in a comment of registry.pc, so that `make uninstall`
## removes those (when empty) and nothing that was there before.
install: $(STATIC_LIB) $(SHARED_LIB)
	@set -e; d='$(DESTDIR)'; created=''; \
	for dir in '$(LIBDIR)' '$(INCLUDEDIR)' '$(PKGCONFIGDIR)'; do \
	  p=$$dir; new=''; \
	  while [ "$$p" != / ] && [ "$$p" != . ] && [ ! -d "$$d$$p" ]; do new="$$p $$new"; p=$$(dirname "$$p"); done; \
	  created="$$created $$new"; \
	  install -d "$$d$$dir"; \
	done; \
	install -m 644 $(STATIC_LIB) "$$d$(LIBDIR)/libregistry.a"; \
	install -m 755 $(SHARED_LIB) "$$d$(LIBDIR)/$(SO_FILE)"; \
	ln -sfn $(SO_FILE) "$$d$(LIBDIR)/$(SONAME)"; \
	ln -sfn $(SONAME) "$$d$(LIBDIR)/libregistry.so"; \
	install -m 644 include/registry.h "$$d$(INCLUDEDIR)/registry.h"; \
	{ $(call write_pc,$(PREFIX),$(patsubst $(PREFIX)/%,$${prefix}/%,$(LIBDIR)),$(patsubst $(PREFIX)/%,$${prefix}/%,$(INCLUDEDIR)),); \
	  echo "# make install created these directories:" $$created; \
	} > "$$d$(PKGCONFIGDIR)/registry.pc"; \
	chmod 644 "$$d$(PKGCONFIGDIR)/registry.pc"; \
	echo "installed registry $(VERSION) into $$d$(PREFIX): $(LIBDIR)/{libregistry.a,$(SO_FILE),$(SONAME),libregistry.so}, $(INCLUDEDIR)/registry.h, $(PKGCONFIGDIR)/registry.pc"; \
	$(run_ldconfig)

## Remove what `make install` put there (the same PREFIX and DESTDIR), and
## the directories it created, when they are empty.
uninstall:
	@set -e; d='$(DESTDIR)'; pc="$$d$(PKGCONFIGDIR)/registry.pc"; \
	created=$$(sed -n 's/^# make install created these directories://p' "$$pc" 2>/dev/null || true); \
	rm -f "$$d$(LIBDIR)/libregistry.a" "$$d$(LIBDIR)/$(SO_FILE)" "$$d$(LIBDIR)/$(SONAME)" \
	  "$$d$(LIBDIR)/libregistry.so" "$$d$(INCLUDEDIR)/registry.h" "$$pc"; \
	for dir in $$(printf '%s\n' $$created | sort -r); do rmdir "$$d$$dir" 2>/dev/null || true; done; \
	echo "uninstalled registry $(VERSION) from $$d$(PREFIX)"; \
	$(run_ldconfig)

run_ldconfig = $(if $(LDCONFIG),if [ -z "$$d" ] && [ "$$(id -u)" = 0 ] && command -v $(LDCONFIG) >/dev/null; then $(LDCONFIG); fi,:)

c-tests: build
	mkdir -p $(CBUILD)
	$(CC) $(CFLAGS) -Iinclude ffi-tests/c/test_registry.c $(STATIC_LIB) $(NATIVE_STATIC_LIBS) -o $(CBUILD)/test_static
	$(CC) $(CFLAGS) -Iinclude ffi-tests/c/test_registry.c -L$(RELEASE) -lregistry -Wl,-rpath,$(abspath $(RELEASE)) -lpthread -o $(CBUILD)/test_shared
	$(CC) $(CFLAGS) $(SANITIZE) -Iinclude ffi-tests/c/test_registry.c $(STATIC_LIB) $(NATIVE_STATIC_LIBS) -o $(CBUILD)/test_sanitized
	$(CC) $(CFLAGS) -Iinclude ffi-tests/c/push_resume.c $(STATIC_LIB) $(NATIVE_STATIC_LIBS) -o $(CBUILD)/push_resume

c-examples: build
	mkdir -p $(CBUILD)
	$(CC) $(CFLAGS) -Iinclude examples/c/demo.c $(STATIC_LIB) $(NATIVE_STATIC_LIBS) -o $(CBUILD)/demo

## Run inside `registry.py run` (REGISTRY_TEST_* set).
suites: test-rust test-c test-c-resume test-ruby test-go test-examples test-cli \
        test-docker-archive

## The tests that need a real registry are #[ignore]d (a plain `cargo test`
## lists them as ignored); here, inside `registry.py run`, they run too.
test-rust:
	$(CARGO) test --profile ci $(FEATURES) -- --include-ignored

## regcli: its lint, then its tests driving the binary against the fixtures.
test-cli:
	$(CARGO) fmt -p regcli --check
	$(CARGO) clippy -p regcli --all-targets -- -D warnings
	$(CARGO) test --profile ci -p regcli -- --include-ignored

test-c:
	$(VALGRIND) ./$(CBUILD)/test_static
	$(VALGRIND) ./$(CBUILD)/test_shared
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 ./$(CBUILD)/test_sanitized

## A C program (ffi-tests/c/push_resume.c) killed with SIGKILL halfway
## through a 64 MiB layer resumes its push when run again (issue 22): the
## driver puts a throttling proxy between it and the anon registry, and
## checks the registry's access log, the bytes sent and skopeo's reading.
test-c-resume:
	python3 ffi-tests/c/push_resume.py ./$(CBUILD)/push_resume

## A real dockerd (a private one: ffi-tests/docker_archive.py starts it in a
## temporary directory and removes it) loads what `regcli save` wrote, and
## regcli pushes what `docker save` wrote, as it is and with --compress gzip;
## skopeo reads the registry's side (issue 22). Where dockerd cannot start,
## it says so in one line and passes.
test-docker-archive: cli
	python3 ffi-tests/docker_archive.py $(RELEASE)/regcli

test-ruby:
	REGISTRY_LIB=$(abspath $(SHARED_LIB)) ruby -Ibindings/ruby/lib -e 'Dir["bindings/ruby/test/*_test.rb"].sort.each { |f| load f }'

test-go:
	cd bindings/go && GOFLAGS=-mod=mod GOTOOLCHAIN=local GOPROXY=off go test -count=1 ./...

## The examples must keep working: run each against the anonymous registry.
test-examples:
	$(VALGRIND) ./$(CBUILD)/demo "$$REGISTRY_TEST_ANON_ADDR" fixtures/layers v1
	$(RELEASE)/examples/demo "$$REGISTRY_TEST_ANON_ADDR" fixtures/layers v1
	REGISTRY_LIB=$(abspath $(SHARED_LIB)) ruby examples/ruby/demo.rb "$$REGISTRY_TEST_ANON_ADDR" fixtures/app v1
	REGISTRY_LIB=$(abspath $(SHARED_LIB)) ruby examples/ruby/images.rb "$$REGISTRY_TEST_ANON_ADDR" fixtures/multi latest
	cd examples/go && GOFLAGS=-mod=mod GOTOOLCHAIN=local GOPROXY=off go run . "$$REGISTRY_TEST_ANON_ADDR" fixtures/app v1
	cd examples/go && GOFLAGS=-mod=mod GOTOOLCHAIN=local GOPROXY=off go run ./images "$$REGISTRY_TEST_ANON_ADDR" fixtures/multi latest

## Fuzz every parser (fuzz/, cargo-fuzz on nightly) for FUZZ_SECONDS each, one
## target after another (FUZZ_TARGETS="link url" for some); not part of `make test`.
## Seeds stay in fuzz/corpus/<target>, what a run adds goes to fuzz/corpus-new/<target>,
## crashes to fuzz/artifacts/<target>.
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?=
FUZZ_CARGO   ?= $(CARGO) +nightly
FUZZ_FLAGS   ?= -timeout=10 -rss_limit_mb=2048 -print_final_stats=1

fuzz:
	@command -v cargo-fuzz >/dev/null 2>&1 || $(CARGO) install cargo-fuzz --locked
	$(FUZZ_CARGO) fuzz build --debug-assertions
	@failed=""; \
	for t in $(or $(FUZZ_TARGETS),$$($(FUZZ_CARGO) fuzz list)); do \
	  echo "== fuzz $$t ($(FUZZ_SECONDS) s)"; \
	  mkdir -p fuzz/corpus-new/$$t; \
	  $(FUZZ_CARGO) fuzz run --debug-assertions $$t fuzz/corpus-new/$$t fuzz/corpus/$$t -- \
	    -max_total_time=$(FUZZ_SECONDS) $(FUZZ_FLAGS) || failed="$$failed $$t"; \
	done; \
	if [ -n "$$failed" ]; then echo "fuzz: findings in$$failed (fuzz/artifacts/)"; exit 1; fi

## Benchmarks (never part of `make test`): regcli against curl, python-dxf and
## skopeo on the same local registries; writes BENCHMARKS.md. BENCH_RUNS=5.
bench: deps cli
	@command -v dxf >/dev/null || pip install --quiet python-dxf
	@test -x /usr/bin/time || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time >/dev/null)
	$(CARGO) build --release $(FEATURES) --lib
	python3 bench/bench.py

clean:
	$(CARGO) clean
	rm -rf $(CBUILD)

## Installed the way a user installs it: `make install` into a temporary
## prefix, then the C example, the gem and the Go module built and run outside
## this checkout, finding the library only through that prefix (pkg-config).
## Run inside `registry.py run` (REGISTRY_TEST_* set), as part of `suites`.
suites: test-install

test-install: test-install-c test-install-ruby test-install-go

test-install-c:
	sh ffi-tests/install/c.sh

test-install-ruby:
	sh ffi-tests/install/ruby.sh

test-install-go:
	sh ffi-tests/install/go.sh

.PHONY: install uninstall test-install test-install-c test-install-ruby test-install-go
# What the install tests need besides PACKAGES (make deps installs them too).
PACKAGES += pkg-config binutils file
