#!/usr/bin/env bash
# The README's demo: builds the library and the C examples, then runs them
# end to end against the loopback server.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/ensure-tools.sh build
cargo build --release
make -C examples-c
exec scripts/with-server.sh bash -c '
  set -euo pipefail
  echo "== request: GET, POST, 404 against $NETTASK_HTTP"
  examples-c/build/request "$NETTASK_HTTP"
  echo
  echo "== stream: server-sent events, aborted after 1.2 s"
  examples-c/build/stream "$NETTASK_HTTP/events" 1.2
  echo
  echo "== chat: a Chinese answer as server-sent events, sent 2 bytes at a time"
  examples-c/build/chat "$NETTASK_HTTP/chat?piece=2&delay_ms=15"
  echo
  echo "== download: 32 MiB with a progress bar"
  out=$(mktemp -d)
  examples-c/build/download "$NETTASK_HTTP/bytes/33554432" "$out/file.bin"
  ls -l "$out"
  echo
  echo "== upload: that file as a form with two fields, with a progress bar"
  examples-c/build/upload "$NETTASK_HTTP/multipart" "$out/file.bin" title=demo "note=中文"
  echo
  echo "== cookies: a login that survives a restart, in a jar file"
  examples-c/build/cookies "$NETTASK_HTTP" "$out/jar.txt"
  rm -rf "$out"
'
