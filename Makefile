# mooring: `make demo` shows it, `make test` proves it. Every target installs what it needs.
SHELL := /bin/bash
TARGET := x86_64-unknown-linux-musl
BIN := dist/init
CARGO ?= cargo

.PHONY: build build-stable deps-build deps-test test test-unit test-pid1 test-containers lint bench demo fuzz clean

# The release binary is built by nightly with std rebuilt from source and
# panics compiled to a bare abort: std's panic message, backtrace and unwinder
# machinery (~0.45 MB of a 1 MB budget) is then never linked; std's
# optimize_for_size picks its smaller sort and formatting code (-20 kB).
# scripts/cold.ld puts the code a container start never runs after the
# read-only data, out of PID 1's resident memory (README.md, "Numbers"); it
# matches v0 symbol names, and merged functions could hide hot code under a
# cold name. `make build-stable` builds the same code on stable (0.99 MB
# before supervision).
NIGHTLY ?= nightly
RELEASE_RUSTFLAGS := -C relocation-model=static -C target-feature=+crt-static -C force-unwind-tables=no \
    -C link-arg=-Wl,-z,noseparate-code -Zunstable-options -Cpanic=immediate-abort \
    -C symbol-mangling-version=v0 -Z merge-functions=disabled -C link-arg=-Wl,-T,$(CURDIR)/scripts/cold.ld

build: deps-build
	RUSTFLAGS="$(RELEASE_RUSTFLAGS)" $(CARGO) +$(NIGHTLY) build --release --locked --target $(TARGET) \
	    -Z build-std=std,panic_abort -Z build-std-features=optimize_for_size --target-dir target/nightly
	@mkdir -p dist
	cp target/nightly/$(TARGET)/release/init $(BIN)
	@ls -l $(BIN) | awk '{printf "dist/init: %d bytes (static musl, stripped)\n", $$5}'
	@cold=$$(readelf -SW $(BIN) | sed -n 's/.* \.text\.cold  *PROGBITS  *[0-9a-f]*  *[0-9a-f]*  *\([0-9a-f]*\) .*/\1/p'); \
	    printf 'dist/init: %d bytes of it cold code, kept out of memory (scripts/cold.ld)\n' "0x$${cold:-0}"

build-stable:
	@rustup target list --installed | grep -qx $(TARGET) || rustup target add $(TARGET)
	$(CARGO) build --release --locked --target $(TARGET)
	@mkdir -p dist
	cp target/$(TARGET)/release/init $(BIN)

deps-build:
	@rustup toolchain list | grep -q '^$(NIGHTLY)' || rustup toolchain install $(NIGHTLY) --profile minimal
	@rustup component list --toolchain $(NIGHTLY) --installed | grep -q '^rust-src' || rustup component add rust-src --toolchain $(NIGHTLY)
	@rustup target list --toolchain $(NIGHTLY) --installed | grep -qx $(TARGET) || rustup target add $(TARGET) --toolchain $(NIGHTLY)

deps-test:
	@scripts/deps.sh
	@scripts/debian-rootfs.sh

# Unit tests, CLI tests, PID 1 tests (unshare) and container tests (podman) in one run.
test: deps-test build lint
	$(CARGO) test --locked --all-targets

test-unit:
	$(CARGO) test --locked --lib --bins

test-pid1: deps-test build
	$(CARGO) test --locked --test pid1

test-containers: deps-test build
	$(CARGO) test --locked --test containers

lint:
	$(CARGO) fmt --check
	$(CARGO) clippy --locked --all-targets -- -D warnings
	@scripts/check-unsafe.sh

bench: deps-test build
	bench/run.sh
	bench/supervise.sh

demo: build
	config/demo/demo.sh

clean:
	rm -rf dist target

# Fuzz the parsers (nightly + cargo-fuzz): FUZZ_SECONDS per target.
FUZZ_SECONDS ?= 600
fuzz:
	@command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz
	cd fuzz && for t in template config status duration semaphore; do \
	    mkdir -p corpus/$$t && cargo +nightly fuzz run -O $$t corpus/$$t seeds/$$t -- -max_total_time=$(FUZZ_SECONDS) -max_len=65536; \
	done
