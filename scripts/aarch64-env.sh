# Sourced by the scripts that cross-build aarch64-unknown-linux-gnu with
# Debian's gcc-aarch64-linux-gnu (scripts/ensure-tools.sh installs it, with
# qemu-user and the arm64 libc, OpenSSL and zlib). Only variables named for
# that target are set: host builds (the loopback server) are unaffected.

aarch64_gnu=aarch64-unknown-linux-gnu
rustup target list --installed | grep -qx $aarch64_gnu || rustup target add $aarch64_gnu

# `qemu-aarch64 -L /` takes the arm64 ld.so and libc.so.6 from the same
# glibc build (Debian's libc6:arm64): a sysroot whose ld.so and libc come
# from different builds hangs qemu in pthread_create.
qemu_aarch64="qemu-aarch64 -L /"
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER=$qemu_aarch64
export CC_aarch64_unknown_linux_gnu=aarch64-linux-gnu-gcc
export CXX_aarch64_unknown_linux_gnu=aarch64-linux-gnu-g++
export AR_aarch64_unknown_linux_gnu=aarch64-linux-gnu-ar
# openssl-sys finds the arm64 OpenSSL through pkg-config's multiarch dir.
export PKG_CONFIG_ALLOW_CROSS_aarch64_unknown_linux_gnu=1
export PKG_CONFIG_LIBDIR_aarch64_unknown_linux_gnu=/usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig
