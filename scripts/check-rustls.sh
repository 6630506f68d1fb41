#!/usr/bin/env bash
# The rustls flavour (`--no-default-features --features rustls`, the TLS
# library for Android and iOS, where no system OpenSSL can be linked): the
# Rust unit and C-ABI integration tests against it, and its shared library
# linking no OpenSSL and exporting nettask_* only (rustls-ffi's own
# rustls_* functions stay inside). Debug profile, so that the release
# build the other checks use stays the default flavour.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/check-lib.sh

flavour=(--no-default-features --features rustls)
lib=${CARGO_TARGET_DIR:-target}/debug/libnettask.so

only_nettask_exported() {
  local others
  others=$(nm -D --defined-only "$lib" | awk '{print $3}' | grep -v '^nettask_' || true)
  [ -z "$others" ] || { echo "exported besides nettask_*: $(echo "$others" | head -5) ..."; return 1; }
  nm -D --defined-only "$lib" | grep -q ' nettask_client_new$'
}

no_openssl() {
  ! ldd "$lib" | grep -E 'libssl|libcrypto'
}

status=0
# `cargo test` prints its "test result:" lines, which make test counts.
cargo test "${flavour[@]}" --lib --test api --test header || status=1
cargo build "${flavour[@]}" --quiet
check "rustls: libnettask.so links no OpenSSL" no_openssl || status=1
check "rustls: libnettask.so exports only nettask_* (nm -D)" only_nettask_exported || status=1
exit $status
