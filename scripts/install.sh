#!/usr/bin/env bash
# `make install PREFIX=... [DESTDIR=...]`: builds the release libraries and
# installs them with the header, the Swift module map, pkg-config files
# (nettask.pc for the shared library, nettask-static.pc for the static one)
# and a CMake package (find_package(nettask)).
#
# scripts/dist.sh also sets NETTASK_TARGET (a Rust target triple other
# than the host's), NETTASK_FLAVOUR (openssl, the default, or rustls),
# NETTASK_BUILD and NETTASK_RUSTC (the cargo commands that build, by
# default "cargo build" and "cargo rustc"; for musl "cargo zigbuild" and
# "cargo-zigbuild rustc") and PC_PREFIX
# (the prefix written in the .pc files, e.g. ${pcfiledir}/../.. for an
# archive unpacked anywhere).
set -euo pipefail
cd "$(dirname "$0")/.."
prefix=${PREFIX:?set PREFIX, e.g. make install PREFIX=/usr/local}
root="${DESTDIR:-}$prefix"
read -r -a build <<<"${NETTASK_BUILD:-cargo build}"
read -r -a rustc <<<"${NETTASK_RUSTC:-cargo rustc}"

args=(--release --quiet)
out=${CARGO_TARGET_DIR:-target}
if [ -n "${NETTASK_TARGET:-}" ]; then
  args+=(--target "$NETTASK_TARGET")
  out=$out/$NETTASK_TARGET
fi
out=$out/release
case ${NETTASK_FLAVOUR:-openssl} in
  openssl) ;;
  rustls) args+=(--no-default-features --features rustls) ;;
  *) echo "install: NETTASK_FLAVOUR is openssl or rustls, not $NETTASK_FLAVOUR" >&2; exit 1 ;;
esac

"${build[@]}" "${args[@]}"
# The system libraries the static library needs, as rustc reports them.
native=$("${rustc[@]}" "${args[@]}" --lib --crate-type staticlib -- --print native-static-libs 2>&1 |
  sed -n 's/.*native-static-libs: //p' | tail -1)
[ -n "$native" ] || { echo "install: rustc did not report the native libraries" >&2; exit 1; }
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)

fill() { # template native-libs destination
  sed -e "s|@PREFIX@|${PC_PREFIX:-$prefix}|g" -e "s|@VERSION@|$version|g" \
    -e "s|@NATIVE_LIBS@|$2|g" "packaging/$1.in" >"$3"
}

install -d "$root/lib/pkgconfig" "$root/lib/cmake/nettask" "$root/include/nettask"
install -m 755 "$out/libnettask.so" "$root/lib/"
install -m 644 "$out/libnettask.a" "$root/lib/"
install -m 644 include/nettask.h "$root/include/"
# Swift: swiftc -I $prefix/include/nettask; the map names ../nettask.h.
sed 's|header "nettask.h"|header "../nettask.h"|' include/module.modulemap >"$root/include/nettask/module.modulemap"
fill nettask.pc "" "$root/lib/pkgconfig/nettask.pc"
fill nettask-static.pc "$native" "$root/lib/pkgconfig/nettask-static.pc"
cmake_libs=$(echo "$native" | sed -e 's/-l//g' -e 's/ \+/;/g')
fill nettask-config.cmake "$cmake_libs" "$root/lib/cmake/nettask/nettask-config.cmake"
fill nettask-config-version.cmake "" "$root/lib/cmake/nettask/nettask-config-version.cmake"
echo "installed nettask $version in $root"
