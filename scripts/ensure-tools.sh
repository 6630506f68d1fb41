#!/usr/bin/env bash
# Installs the Debian packages the build and the test suite use, when
# missing. `ensure-tools.sh build`: what building the library and the C
# demos needs; no argument: also valgrind, cmake, a JDK with JNA,
# kotlinc, python3 (httpbin), node + npm (the JS host) and the aarch64
# cross toolchain with qemu-user (scripts/check-aarch64.sh) for
# `make test`. Needs root (CI, containers); otherwise lists what to
# install.
set -euo pipefail

packages=(build-essential make pkg-config libssl-dev zlib1g-dev)
if [ "${1:-}" != build ]; then
  packages+=(valgrind cmake default-jdk-headless libjna-java kotlin python3 python3-venv)
  # aarch64 Linux: Debian's cross gcc, qemu-user, and the arm64 libc,
  # OpenSSL and zlib (multiarch) that the cross-built library links and
  # that `qemu-aarch64 -L /` loads. The arm64 libssl-dev must be the same
  # version as the host's, so apt may upgrade the host's along with it.
  packages+=(gcc-aarch64-linux-gnu g++-aarch64-linux-gnu qemu-user libc6:arm64 libssl-dev:arm64 zlib1g-dev:arm64)
fi
missing=()
for pkg in "${packages[@]}"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
# The JS host's Taro bundle (hosts/quickjs/taro): node and npm, from
# Debian unless some node (nodesource's ships npm) is there already.
if [ "${1:-}" != build ] && ! command -v npm >/dev/null; then
  missing+=(nodejs npm)
fi
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "missing packages: ${missing[*]} (sudo apt-get install ${missing[*]})" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
case " ${missing[*]}" in
  *:arm64*) dpkg --print-foreign-architectures | grep -qx arm64 || dpkg --add-architecture arm64 ;;
esac
apt-get update -q
apt-get install -y -q "${missing[@]}"
