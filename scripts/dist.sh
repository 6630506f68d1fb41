#!/usr/bin/env bash
# `make dist [DIST="TARGET:FLAVOUR ..."]`: one release archive per target
# and TLS flavour, in dist/, named nettask-VERSION-TARGET-FLAVOUR.tar.gz:
#
#   lib/libnettask.so   stripped (its exports: nettask_* only)
#   lib/libnettask.a    debug info stripped
#   include/nettask.h, include/nettask/module.modulemap (Swift)
#   lib/pkgconfig/      nettask.pc, nettask-static.pc, relative to the
#                       archive's place (${pcfiledir}): unpack anywhere
#   lib/cmake/nettask/  find_package(nettask), also relative
#   SIZES               the size in bytes of each file above
#
# The default set: x86_64 and aarch64 Linux, glibc (OpenSSL and rustls)
# and musl (rustls only: the system's OpenSSL is built for glibc). The
# aarch64 glibc builds use Debian's cross gcc (scripts/aarch64-env.sh); the
# musl builds use cargo-zigbuild with zig from PyPI (installed under
# target/ when missing), and -crt-static off, without which Rust's musl
# targets build no cdylib. Prints one line of sizes per archive.
set -euo pipefail
cd "$(dirname "$0")/.."

default="x86_64-unknown-linux-gnu:openssl x86_64-unknown-linux-gnu:rustls
  aarch64-unknown-linux-gnu:openssl aarch64-unknown-linux-gnu:rustls
  x86_64-unknown-linux-musl:rustls aarch64-unknown-linux-musl:rustls"
read -r -a builds <<<"$(echo ${DIST:-$default})"
host=$(rustc -vV | sed -n 's/^host: //p')
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
top=$(pwd)
mkdir -p dist

zig_tools() { # cargo-zigbuild, and zig through a venv's ziglang
  command -v cargo-zigbuild >/dev/null || cargo install --locked --quiet cargo-zigbuild
  if ! command -v zig >/dev/null; then
    [ -x target/dist-venv/bin/python ] || python3 -m venv target/dist-venv
    target/dist-venv/bin/python -c 'import ziglang' 2>/dev/null ||
      target/dist-venv/bin/pip install --quiet ziglang
    export PATH=$top/target/dist-venv/bin:$PATH # cargo-zigbuild runs `python3 -m ziglang`
  fi
}

for build in "${builds[@]}"; do
  target=${build%%:*}
  flavour=${build#*:}
  [ "$flavour" != "$build" ] || flavour=openssl
  name=nettask-$version-$target-$flavour
  export NETTASK_FLAVOUR=$flavour NETTASK_TARGET= NETTASK_BUILD="cargo build" NETTASK_RUSTC="cargo rustc"
  # Each flavour builds in a directory of its own, so that the default
  # one's target/release stays what the other checks use.
  [ "$flavour" = openssl ] && export CARGO_TARGET_DIR=$top/target ||
    export CARGO_TARGET_DIR=$top/target/dist-$flavour
  [ "$target" = "$host" ] || NETTASK_TARGET=$target
  strip=strip
  case $target in
    aarch64-*) strip=aarch64-linux-gnu-strip ;;
  esac
  case $target in
    aarch64-unknown-linux-gnu) . scripts/aarch64-env.sh ;;
    *-linux-musl)
      zig_tools
      rustup target list --installed | grep -qx "$target" || rustup target add "$target"
      NETTASK_BUILD="cargo zigbuild" NETTASK_RUSTC="cargo-zigbuild rustc"
      var=CARGO_TARGET_$(echo "$target" | tr a-z- A-Z_)_RUSTFLAGS
      export "$var=-C target-feature=-crt-static"
      ;;
  esac

  stage=$(mktemp -d)
  PREFIX=/ DESTDIR=$stage/$name PC_PREFIX='${pcfiledir}/../..' scripts/install.sh >/dev/null
  (
    cd "$stage/$name"
    $strip --strip-unneeded lib/libnettask.so
    $strip --strip-debug lib/libnettask.a
    find . -type f ! -name SIZES | sort | xargs stat -c '%s %n' | sed 's| \./| |' >SIZES
  )
  tar -C "$stage" -czf "dist/$name.tar.gz" "$name"
  sizes=$(awk '{ size[$2] = $1 } END { print "libnettask.so " size["lib/libnettask.so"] ", libnettask.a " size["lib/libnettask.a"] }' "$stage/$name/SIZES")
  rm -rf "$stage"
  echo "dist/$name.tar.gz  $(stat -c %s "dist/$name.tar.gz") bytes; $sizes"
done
