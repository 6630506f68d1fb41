#!/usr/bin/env bash
# Packaging: `make install` into a temporary prefix, and this target's
# `make dist` archive unpacked elsewhere; for each, builds
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

# Builds request.c against the nettask under $2 the ways a C project
# would, into $work/$1/.
consumers() { # name prefix
  local out=$work/$1 prefix=$2 cflags="-std=c11 -D_POSIX_C_SOURCE=200809L -Wall -Werror" libdir
  mkdir -p "$out"
  export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
  libdir=$(pkg-config --variable=libdir nettask)
  # shellcheck disable=SC2046,SC2086
  check "$1: pkg-config: shared" cc $cflags examples-c/request.c -o "$out/pc-shared" \
    $(pkg-config --cflags --libs nettask) -Wl,-rpath,"$libdir" -lpthread
  # shellcheck disable=SC2046,SC2086
  check "$1: pkg-config: static (Libs.private)" cc $cflags examples-c/request.c -o "$out/pc-static" \
    $(pkg-config --cflags --libs --static nettask-static)
  check "$1: static binary does not load libnettask.so" bash -c "! ldd '$out/pc-static' | grep -q libnettask"
  check "$1: cmake: find_package(nettask)" cmake -S tests/cmake -B "$out/cmake" -DCMAKE_PREFIX_PATH="$prefix"
  check "$1: cmake: build shared and static" cmake --build "$out/cmake"
}

check "make install PREFIX=..." make -s install PREFIX="$work/prefix"
consumers install "$work/prefix"

# The release archive of this machine's target, unpacked elsewhere: its
# pkg-config and CMake files find the libraries relative to themselves.
host=$(rustc -vV | sed -n 's/^host: //p')
check "make dist (this target)" make -s dist DIST="$host:openssl"
mkdir "$work/unpacked"
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
tar -C "$work/unpacked" -xzf "dist/nettask-$version-$host-openssl.tar.gz"
consumers dist "$work/unpacked/nettask-$version-$host-openssl"
sizes_match() { # every file of the archive is in SIZES, with its size
  (cd "$1" && find . -type f ! -name SIZES | sed 's|^\./||' | sort | while read -r f; do
    grep -qx "$(stat -c %s "$f") $f" SIZES || { echo "SIZES lacks: $f"; exit 1; }
  done)
}
check "dist: SIZES lists every file with its size" sizes_match "$work/unpacked/nettask-$version-$host-openssl"

export WORK=$work
scripts/with-server.sh bash -c '
  . scripts/check-lib.sh
  for kind in install dist; do
    for program in pc-shared pc-static cmake/request_shared cmake/request_static; do
      check "$kind: run $program" "$WORK/$kind/$program" "$NETTASK_HTTP"
    done
  done
'
