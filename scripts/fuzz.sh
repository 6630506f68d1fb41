#!/usr/bin/env bash
# Runs both fuzz targets of tests/fuzz (options, responses) for ${1:-60}
# seconds each, at the same time, in release mode. NETTASK_FUZZ_SEED picks
# other cases than the fixed default; NETTASK_FUZZ_ITER replays one case.
# See docs/fuzzing.md. Exits non-zero when a target has findings.
set -euo pipefail
cd "$(dirname "$0")/.."
NETTASK_FUZZ_SECS="${1:-60}" exec cargo test --release --test fuzz -- --nocapture
