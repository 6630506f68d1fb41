#!/usr/bin/env bash
# aarch64 Linux (the ABI of arm64 phones and servers: unsigned `char`,
# other alignment rules), cross-built with Debian's gcc-aarch64-linux-gnu
# and run under qemu-user: the Rust unit and C-ABI integration tests, then
# the C life-cycle program and the version-1 program (frozen header) linked
# with the aarch64 libnettask.so, against the loopback server (which runs
# natively: the emulated clients reach it over 127.0.0.1).
# The cross-build settings: scripts/aarch64-env.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/check-lib.sh

. scripts/aarch64-env.sh
target=$aarch64_gnu
qemu=$qemu_aarch64
# Tests that start their own binary again, or read what the emulator
# cannot give (TCP_INFO), look at this.
export NETTASK_EMULATOR=$qemu

status=0
# `cargo test` prints its "test result:" lines, which make test counts.
cargo test --target $target || status=1

cargo build --target $target --quiet
libdir=$(realpath "${CARGO_TARGET_DIR:-target}")/$target/debug
cross=(CC=aarch64-linux-gnu-gcc CXX=aarch64-linux-gnu-g++ LIBDIR="$libdir" BUILD=build-aarch64)
make -s -C examples-c "${cross[@]}" build-aarch64/lifecycle >/dev/null
make -s -C tests/abi "${cross[@]}" >/dev/null

is_aarch64() {
  readelf -h "$1" | grep -q 'Machine: *AArch64'
}
check "aarch64: libnettask.so is an aarch64 ELF" is_aarch64 "$libdir/libnettask.so" || status=1
export qemu
scripts/with-server.sh bash -c '
  . scripts/check-lib.sh
  status=0
  check "aarch64 (qemu): lifecycle" $qemu examples-c/build-aarch64/lifecycle "$NETTASK_HTTP" || status=1
  check "aarch64 (qemu): version-1 program, current library" $qemu tests/abi/build-aarch64/check_v1 "$NETTASK_HTTP" || status=1
  exit $status
' || status=1
exit $status
