# mooring: `make demo` shows it, `make test` proves it. Every target installs what it needs.
SHELL := /bin/bash
TARGET := x86_64-unknown-linux-musl
BIN := dist/init
TARGET_AARCH64 := aarch64-unknown-linux-musl
BIN_AARCH64 := dist/init-aarch64
CARGO ?= cargo

.PHONY: build build-x86_64 build-aarch64 build-stable deps-build deps-test test test-unit test-pid1 test-containers \
    test-aarch64 test-images test-reproducible image release lint bench bench-images demo fuzz clean

# The release binary is built by nightly with std rebuilt from source and
# panics compiled to a bare abort: std's panic message, backtrace and unwinder
# machinery (~0.45 MB; the size budget: docs/benchmarks.md, "Budgets") is then never linked; std's
# optimize_for_size picks its smaller sort and formatting code (-20 kB).
# scripts/cold.ld puts the code a container start never runs after the
# read-only data, out of PID 1's resident memory (docs/benchmarks.md); it
# matches v0 symbol names, and merged functions could hide hot code under a
# cold name. `make build-stable` builds the same code on stable (0.99 MB
# before supervision). The nightly is pinned by date so every machine builds
# the same binary.
NIGHTLY ?= nightly-2026-05-20
RELEASE_RUSTFLAGS := -C relocation-model=static -C target-feature=+crt-static -C force-unwind-tables=no \
    -C link-arg=-Wl,-z,noseparate-code -Zunstable-options -Cpanic=immediate-abort \
    -C symbol-mangling-version=v0 -Z merge-functions=disabled -C link-arg=-Wl,-T,scripts/cold.ld
# aarch64: the same code generation, linked by the toolchain's rust-lld against
# Debian's aarch64 musl in MUSL, the directory scripts/aarch64-musl.sh prints
# (it says why), its crt objects placed as a C compiler driver places them.
AARCH64_RUSTFLAGS = -C relocation-model=static -C target-feature=+crt-static -C force-unwind-tables=no \
    -Zunstable-options -Cpanic=immediate-abort -C linker=rust-lld -C link-self-contained=no \
    -L native=$$MUSL -Z pre-link-args=$$MUSL/crt1.o -Z pre-link-args=$$MUSL/crti.o \
    -C link-arg=$$MUSL/crtn.o -C link-arg=-znoseparate-code

build: build-x86_64 build-aarch64

build-x86_64: deps-build
	RUSTFLAGS="$(RELEASE_RUSTFLAGS)" $(CARGO) +$(NIGHTLY) build --release --locked --target $(TARGET) \
	    -Z build-std=std,panic_abort -Z build-std-features=optimize_for_size --target-dir target/nightly
	@mkdir -p dist
	cp target/nightly/$(TARGET)/release/init $(BIN)
	@ls -l $(BIN) | awk '{printf "dist/init: %d bytes (static musl, stripped)\n", $$5}'
	@size() { readelf -SW $(BIN) | sed -n "s/.* \\.text\\.$$1  *PROGBITS  *[0-9a-f]*  *[0-9a-f]*  *\\([0-9a-f]*\\) .*/\\1/p"; }; \
	    printf 'dist/init: %d bytes of it code a single command never runs, %d of those not a boot either (scripts/cold.ld)\n' \
	    "0x$$(size cold)" "0x$$(size unused)"

build-aarch64: deps-build
	MUSL=$$(scripts/aarch64-musl.sh) && RUSTFLAGS="$(AARCH64_RUSTFLAGS)" $(CARGO) +$(NIGHTLY) build --release \
	    --locked --target $(TARGET_AARCH64) -Z build-std=std,panic_abort --target-dir target/nightly
	@mkdir -p dist
	cp target/nightly/$(TARGET_AARCH64)/release/init $(BIN_AARCH64)
	@ls -l $(BIN_AARCH64) | awk '{printf "dist/init-aarch64: %d bytes (static musl, stripped)\n", $$5}'

build-stable:
	@rustup target list --installed | grep -qx $(TARGET) || rustup target add $(TARGET)
	$(CARGO) build --release --locked --target $(TARGET)
	@mkdir -p dist
	cp target/$(TARGET)/release/init $(BIN)

# No rust-std for aarch64 musl: std is rebuilt from rust-src (and that
# component cannot be downloaded on our machines).
deps-build:
	@rustup toolchain list | grep -q '^$(NIGHTLY)-' || rustup toolchain install $(NIGHTLY) --profile minimal
	@rustup component list --toolchain $(NIGHTLY) --installed | grep -q '^rust-src' || rustup component add rust-src --toolchain $(NIGHTLY)
	@rustup target list --toolchain $(NIGHTLY) --installed | grep -qx $(TARGET) || rustup target add $(TARGET) --toolchain $(NIGHTLY)

deps-test:
	@scripts/deps.sh
	@scripts/debian-rootfs.sh

# Unit tests, CLI tests, PID 1 tests (unshare) and container tests (podman) in
# one run, then the CLI and PID 1 tests again against dist/init-aarch64. The
# images of images/ are built and run first, by test-images.
test: deps-test build lint release test-reproducible image test-images
	$(CARGO) test --locked --all-targets
	$(TEST_AARCH64)

# dist/init-aarch64 under qemu-user: binfmt_misc (scripts/deps.sh) runs it as a
# native binary would run, also as PID 1 of a PID namespace, and the tests are
# compiled against it (MOORING_INIT, tests/common/mod.rs). Skipped there for
# qemu's reasons (Debian bookworm's qemu 7.2), not init's:
# - qemu refuses prctl(PR_SET_CHILD_SUBREAPER) with EINVAL, so init outside a
#   PID namespace warns on stderr and orphans escape it: quiet_silences_...,
#   as_subreaper_..., leftovers_ignoring_... (its non-PID-1 half);
# - qemu catches every default-fatal signal itself, so a signal that init
#   inherited as ignored is back at default in the child after exec:
#   child_gets_the_mask_...;
# - qemu's own helper thread takes pid 2 of the namespace, the child gets 3:
#   logs_name_the_pid_...;
# - stat of /proc/self/exe reaches the emulator's file and the kernel starts
#   the emulator with its own credentials, not the set-uid bit: a_setuid_copy_...
AARCH64_SKIP := quiet_silences_info_and_init_log_can_raise_it as_subreaper_init_never_signals_processes_outside_its_tree \
    leftovers_ignoring_sigterm_are_killed_at_the_end_of_the_budget \
    child_gets_the_mask_and_dispositions_init_inherited_and_no_fds_of_init \
    logs_name_the_pid_and_signal_and_json_is_one_object_a_line a_setuid_copy_of_init_refuses_to_run_with_77
TEST_AARCH64 = MOORING_INIT=$(CURDIR)/$(BIN_AARCH64) $(CARGO) test --locked --test cli --test pid1 -- \
    --exact $(addprefix --skip ,$(AARCH64_SKIP))

test-aarch64: deps-test build-aarch64
	$(TEST_AARCH64)

test-unit:
	$(CARGO) test --locked --lib --bins

test-pid1: deps-test build-x86_64
	$(CARGO) test --locked --test pid1

test-containers: deps-test build-x86_64
	$(CARGO) test --locked --test containers

# images/base, postgres, redis and nginx built in our podman store and run as
# their users run them (tests/images/, Cargo.toml keeps it out of --all-targets):
# on localhost/debian:bookworm-slim, imported from the cached debootstrap rootfs
# (scripts/debian-image.sh), and the mooring image. Builds install Debian
# packages once; podman's layer cache serves them afterwards.
test-images: deps-test image release
	scripts/debian-image.sh
	$(CARGO) test --locked --test images

# dist/release/: both binaries, the multi-arch OCI archive, the Debian
# packages, the SBOM and SHA256SUMS (scripts/release.sh; docs/development.md,
# "Releases"). tests/images/release.rs installs and runs each of them;
# tests/images/docker_release.rs runs the image under a Docker Engine.
release: build
	NIGHTLY=$(NIGHTLY) scripts/release.sh

# The same sources released again from a second path: identical bytes.
test-reproducible: release
	scripts/reproduce.sh

# localhost/mooring:VERSION and :latest (amd64), :VERSION-arm64, in our own
# podman store: images/mooring/Containerfile, FROM scratch (scripts/image.sh).
image: build
	@scripts/deps.sh
	@scripts/podman.sh setup
	scripts/image.sh

# clippy.toml refuses path-based filesystem calls outside src/safe_fs and
# src/sys (docs/security.md): enforced on the library and the binary; the
# tests, which write their fixtures by path, are linted without that list.
lint:
	$(CARGO) fmt --check
	$(CARGO) clippy --locked --lib --bins -- -D warnings
	$(CARGO) clippy --locked --all-targets --test images -- -D warnings -A clippy::disallowed_methods
	@scripts/check-unsafe.sh

bench: deps-test build-x86_64
	bench/run.sh
	bench/supervise.sh
	bench/reload.sh
	bench/flood.sh

# The images of images/ beside plain Debian: sizes, and redis's stop latency
# under mooring, catatonit (podman run --init) and no init (bench/images.md).
bench-images: test-images
	bench/images.sh

demo: build-x86_64
	config/demo/demo.sh

clean:
	rm -rf dist target

# Fuzz the parsers (nightly + cargo-fuzz): FUZZ_SECONDS per target.
FUZZ_SECONDS ?= 600
fuzz: deps-build
	@command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz
	cd fuzz && for t in template config status duration semaphore pattern notify escape; do \
	    mkdir -p corpus/$$t && cargo +$(NIGHTLY) fuzz run -O $$t corpus/$$t seeds/$$t -- -max_total_time=$(FUZZ_SECONDS) -max_len=65536; \
	done
