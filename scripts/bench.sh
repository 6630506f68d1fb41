#!/usr/bin/env bash
# Side-by-side benchmarks: installs nginx and the curl CLI when
# missing, then runs `cargo bench --bench compare`, the download memory
# bench and the SSE listener bench. Pass `quick` for a short run.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v nginx >/dev/null || ! command -v curl >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q nginx-light curl
fi
cargo bench --bench compare -- "$@"
cargo bench --bench download_rss
cargo bench --bench sse -- "$@"
