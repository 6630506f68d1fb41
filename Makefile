# The two commands of the README, and helpers.

# Build the library and run the C demo against a loopback server.
demo:
	scripts/demo.sh

# Every test: Rust unit and C-ABI integration tests, the header check, then
# the C examples under valgrind and ASan, packaging, the JVM program, the
# QuickJS host, the rustls flavour and aarch64 under qemu-user.
test:
	scripts/test.sh

# Install the libraries, header, pkg-config and CMake files under PREFIX.
PREFIX ?= /usr/local
install:
	PREFIX="$(PREFIX)" DESTDIR="$(DESTDIR)" scripts/install.sh

# Release archives per target and TLS flavour in dist/ (scripts/dist.sh;
# DIST="TARGET:FLAVOUR ..." for some of them).
dist:
	DIST="$(DIST)" scripts/dist.sh

# Regenerate include/nettask.h from the Rust sources.
header:
	NETTASK_UPDATE_HEADER=1 cargo test --test header

lint:
	cargo fmt --check
	cargo clippy --all-targets -- -D warnings
	cargo fmt --check --manifest-path hosts/quickjs/Cargo.toml
	CARGO_TARGET_DIR=$(CURDIR)/target cargo clippy --release --manifest-path hosts/quickjs/Cargo.toml -- -D warnings

.PHONY: demo test install dist header lint
