#!/usr/bin/env bash
# The README's `make test`: every test. The Rust unit tests and the C-ABI
# integration tests (cargo test), then the host checks: C examples under
# valgrind and ASan/UBSan, packaging, the JVM program, the QuickJS host
# (wx / Taro in JS), the Rust tests again on the rustls flavour, and on
# aarch64 under qemu-user. Ends with one line counting everything.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/ensure-tools.sh

log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
{
  cargo test &&
    scripts/check-c.sh &&
    scripts/check-packaging.sh &&
    scripts/check-jvm.sh &&
    scripts/check-quickjs.sh &&
    scripts/check-rustls.sh &&
    scripts/check-aarch64.sh
} 2>&1 | tee "$log" || status=1
awk '/^test result:/ { p += $4; f += $6 }
     /^check ok:/ { p++ }
     /^check FAILED:/ { f++ }
     END { printf "all tests: %d passed, %d failed\n", p, f; exit (f > 0 || p == 0) }' "$log" || status=1
exit $status
