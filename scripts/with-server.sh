#!/usr/bin/env bash
# Runs a command with the loopback test server up: starts
# `cargo run --example loopback_server`, exports NETTASK_HTTP, NETTASK_HTTPS
# and NETTASK_CA, runs "$@", and stops the server whatever happens.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --quiet --example loopback_server
fifo=$(mktemp -u)
mkfifo "$fifo"
"${CARGO_TARGET_DIR:-target}"/debug/examples/loopback_server >"$fifo" &
server=$!
trap 'kill $server 2>/dev/null || true; rm -f "$fifo"' EXIT
read -r line <"$fifo"
for field in $line; do
  case $field in
    http=*) export NETTASK_HTTP="http://${field#http=}" ;;
    https=*) export NETTASK_HTTPS="https://localhost:${field##*:}" ;;
    ca=*) export NETTASK_CA="${field#ca=}" ;;
  esac
done
"$@"
