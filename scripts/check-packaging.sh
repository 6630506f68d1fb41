#!/usr/bin/env bash
# Packaging: `make install` into a temporary prefix, then builds
# examples-c/request.c the ways a C project would (pkg-config shared and
# static, CMake find_package shared and static) and runs each against the
# loopback server.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/check-lib.sh

# The shared library exports the C API and nothing else (not libcurl's,
# OpenSSL's or any Rust crate's symbols).
only_nettask_exported() {
  local others
  others=$(nm -D --defined-only target/release/libnettask.so | awk '{print $3}' | grep -v '^nettask_' || true)
  [ -z "$others" ] || { echo "exported besides nettask_*: $others"; return 1; }
  nm -D --defined-only target/release/libnettask.so | grep -q ' nettask_upload_create$'
}
cargo build --release --quiet
check "libnettask.so exports only nettask_* (nm -D)" only_nettask_exported

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
prefix=$work/prefix
check "make install PREFIX=..." make -s install PREFIX="$prefix"

export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
cflags="-std=c11 -D_POSIX_C_SOURCE=200809L -Wall -Werror"
libdir=$(pkg-config --variable=libdir nettask)
# shellcheck disable=SC2046,SC2086
check "pkg-config: shared" cc $cflags examples-c/request.c -o "$work/pc-shared" \
  $(pkg-config --cflags --libs nettask) -Wl,-rpath,"$libdir" -lpthread
# shellcheck disable=SC2046,SC2086
check "pkg-config: static (Libs.private)" cc $cflags examples-c/request.c -o "$work/pc-static" \
  $(pkg-config --cflags --libs --static nettask-static)
check "static binary does not load libnettask.so" bash -c "! ldd '$work/pc-static' | grep -q libnettask"

check "cmake: find_package(nettask)" cmake -S tests/cmake -B "$work/cmake" -DCMAKE_PREFIX_PATH="$prefix"
check "cmake: build shared and static" cmake --build "$work/cmake"

export WORK=$work
scripts/with-server.sh bash -c '
  . scripts/check-lib.sh
  for program in pc-shared pc-static cmake/request_shared cmake/request_static; do
    check "run $program" "$WORK/$program" "$NETTASK_HTTP"
  done
'
