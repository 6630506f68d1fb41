# The two commands of the README, and helpers.

# Build the library and run the C demo against a loopback server.
demo:
	scripts/demo.sh

# Every test: Rust unit tests, the C-ABI integration tests, the header check.
test:
	cargo test

# Regenerate include/nettask.h from the Rust sources.
header:
	NETTASK_UPDATE_HEADER=1 cargo test --test header

lint:
	cargo fmt --check
	cargo clippy --all-targets -- -D warnings

.PHONY: demo test header lint
