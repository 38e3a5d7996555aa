# registry: build, demo and tests. `make demo` and `make test` are the two
# commands a newcomer runs; both install what they need (Debian packages).

CARGO      ?= cargo
# The C ABI and header generation are behind the `capi` feature (Rust users
# of the crate do without); every build here wants them.
FEATURES   := --features capi
CC         ?= cc
CFLAGS     ?= -std=c99 -O1 -g -Wall -Wextra -Wpedantic -Werror -D_DEFAULT_SOURCE
RELEASE    := target/release
STATIC_LIB := $(RELEASE)/libregistry.a
SHARED_LIB := $(RELEASE)/libregistry.so
# The link line for the static library; README.md documents it and
# `make static-libs-check` proves it is still what rustc prints.
NATIVE_STATIC_LIBS := -lc -lm -lrt -lpthread -lgcc_s -lutil -lrt -lpthread -lm -ldl -lc
FIXTURES   := python3 ffi-tests/fixtures/registry.py
VALGRIND   := valgrind --quiet --error-exitcode=99 --leak-check=full \
              --suppressions=ffi-tests/c/valgrind.supp \
              --show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect
CBUILD     := ffi-tests/c/build
# The C suite also runs under AddressSanitizer + UndefinedBehaviorSanitizer.
SANITIZE   := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer

PACKAGES := docker-registry skopeo apache2-utils openssl curl ruby ruby-ffi \
            golang-go valgrind python3 gcc g++ make

.PHONY: all deps build demo demo-rust test lint header-check static-libs-check \
        suites test-rust test-c test-ruby test-go test-examples c-tests c-examples clean

all: build

## Install the Debian packages the demo and the tests need, when missing.
deps:
	@missing=""; for p in $(PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

build:
	$(CARGO) build --release $(FEATURES)

## Build everything, start a throw-away registry, push an image with skopeo,
## and run the C example against it.
demo: deps build c-examples
	$(FIXTURES) run --modes anon -- sh -c './$(CBUILD)/demo "$$REGISTRY_TEST_ANON_ADDR" fixtures/app v1'

## The same walk-through from the Rust example.
demo-rust: deps
	$(CARGO) build --release $(FEATURES) --example demo
	$(FIXTURES) run --modes anon -- sh -c '$(RELEASE)/examples/demo "$$REGISTRY_TEST_ANON_ADDR" fixtures/app v1'

## Everything: lint, header check, then every suite against the real registry
## in all four modes (one set of fixtures shared by all languages).
test: deps lint build header-check static-libs-check c-tests c-examples
	$(CARGO) build --release $(FEATURES) --examples
	$(FIXTURES) run -- $(MAKE) --no-print-directory suites

## `unsafe` stays in src/ffi: every other module says #![forbid(unsafe_code)].
lint:
	$(CARGO) fmt --check
	$(CARGO) clippy --all-targets $(FEATURES) -- -D warnings
	$(CARGO) clippy --lib -- -D warnings

## The committed header must equal a fresh one and compile as C99 and C++.
header-check: build
	git diff --exit-code -- include/registry.h
	$(CC) -std=c99 -Wall -Wextra -Wpedantic -Werror -fsyntax-only -x c include/registry.h
	c++ -Wall -Wextra -Wpedantic -Werror -fsyntax-only -x c++ include/registry.h

static-libs-check:
	@printed=$$($(CARGO) rustc --release $(FEATURES) --lib --crate-type staticlib -- --print native-static-libs 2>&1 \
	  | sed -n 's/.*native-static-libs: //p' | tail -1); \
	if [ "$$printed" != "$(NATIVE_STATIC_LIBS)" ]; then \
	  echo "rustc now wants: $$printed (update NATIVE_STATIC_LIBS and README.md)"; exit 1; fi; \
	grep -qF -- "$(NATIVE_STATIC_LIBS)" README.md || { echo "README.md does not show the link line"; exit 1; }; \
	echo "static link line: $$printed"

c-tests: build
	mkdir -p $(CBUILD)
	$(CC) $(CFLAGS) -Iinclude ffi-tests/c/test_registry.c $(STATIC_LIB) $(NATIVE_STATIC_LIBS) -o $(CBUILD)/test_static
	$(CC) $(CFLAGS) -Iinclude ffi-tests/c/test_registry.c -L$(RELEASE) -lregistry -Wl,-rpath,$(abspath $(RELEASE)) -lpthread -o $(CBUILD)/test_shared
	$(CC) $(CFLAGS) $(SANITIZE) -Iinclude ffi-tests/c/test_registry.c $(STATIC_LIB) $(NATIVE_STATIC_LIBS) -o $(CBUILD)/test_sanitized

c-examples: build
	mkdir -p $(CBUILD)
	$(CC) $(CFLAGS) -Iinclude examples/c/demo.c $(STATIC_LIB) $(NATIVE_STATIC_LIBS) -o $(CBUILD)/demo

## Run inside `registry.py run` (REGISTRY_TEST_* set).
suites: test-rust test-c test-ruby test-go test-examples

test-rust:
	$(CARGO) test --release $(FEATURES)

test-c:
	$(VALGRIND) ./$(CBUILD)/test_static
	$(VALGRIND) ./$(CBUILD)/test_shared
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 ./$(CBUILD)/test_sanitized

test-ruby:
	REGISTRY_LIB=$(abspath $(SHARED_LIB)) ruby -Ibindings/ruby/lib -e 'Dir["bindings/ruby/test/*_test.rb"].sort.each { |f| load f }'

test-go:
	cd bindings/go && GOFLAGS=-mod=mod GOTOOLCHAIN=local GOPROXY=off go test -count=1 ./...

## The examples must keep working: run each against the anonymous registry.
test-examples:
	$(VALGRIND) ./$(CBUILD)/demo "$$REGISTRY_TEST_ANON_ADDR" fixtures/app v1
	$(RELEASE)/examples/demo "$$REGISTRY_TEST_ANON_ADDR" fixtures/app v1
	REGISTRY_LIB=$(abspath $(SHARED_LIB)) ruby examples/ruby/demo.rb "$$REGISTRY_TEST_ANON_ADDR" fixtures/app v1
	REGISTRY_LIB=$(abspath $(SHARED_LIB)) ruby examples/ruby/images.rb "$$REGISTRY_TEST_ANON_ADDR" fixtures/multi latest
	cd examples/go && GOFLAGS=-mod=mod GOTOOLCHAIN=local GOPROXY=off go run . "$$REGISTRY_TEST_ANON_ADDR" fixtures/app v1
	cd examples/go && GOFLAGS=-mod=mod GOTOOLCHAIN=local GOPROXY=off go run ./images "$$REGISTRY_TEST_ANON_ADDR" fixtures/multi latest

clean:
	$(CARGO) clean
	rm -rf $(CBUILD)
