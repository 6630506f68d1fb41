#!/usr/bin/env bash
# The C side: builds the C examples, the C/C++ tests (tests/c) and the
# programs built against frozen older headers (tests/abi), runs each
# against the loopback server, then again under valgrind memcheck and
# built with AddressSanitizer + UBSan. Any error report fails.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/check-lib.sh

cargo build --release --quiet
make -s -C examples-c >/dev/null
make -s -C examples-c SANITIZE=1 >/dev/null
make -s -C tests/abi >/dev/null
make -s -C tests/abi SANITIZE=1 >/dev/null

# Definite leaks and every memory error fail the run. Nothing is
# suppressed. The one other report valgrind makes is "possibly lost": the
# handle Rust's standard library keeps in a thread-local for each thread
# that called into the library (48 bytes, freed at thread exit, which the
# main thread never reaches); it is not an error and is not shown.
# libcurl allocates with the system allocator in the checked runs, so that
# its blocks are the checkers' to see (src/curl_memory.rs).
export VALGRIND="env NETTASK_CURL_ALLOCATOR=system valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite --show-leak-kinds=definite"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=98
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

runs() { # variant build-directory prefix
  local name=$1 build=$2 pre=$3 dir=examples-c/$2
  check "$name version-1 program, current library" $pre "tests/abi/$build/check_v1" "$NETTASK_HTTP"
  check "$name lifecycle" $pre "$dir/lifecycle" "$NETTASK_HTTP"
  check "$name c++" $pre "$dir/cxx" "$NETTASK_HTTP"
  check "$name request" $pre "$dir/request" "$NETTASK_HTTP"
  check "$name stream (abort at a deadline)" $pre "$dir/stream" "$NETTASK_HTTP/events?delay_ms=100" 0.5
  check "$name chat (server-sent events)" $pre "$dir/chat" "$NETTASK_HTTP/chat?piece=3&delay_ms=1"
  local out
  out=$(mktemp -d)
  check "$name download" $pre "$dir/download" "$NETTASK_HTTP/bytes/2097152" "$out/file.bin"
  check "$name download is complete" test "$(stat -c %s "$out/file.bin")" = 2097152
  check "$name upload" $pre "$dir/upload" "$NETTASK_HTTP/multipart" "$out/file.bin" a=1
  check "$name cookies (a jar file across a restart)" $pre "$dir/cookies" "$NETTASK_HTTP" "$out/jar.txt"
  rm -rf "$out"
}
export -f runs check

scripts/with-server.sh bash -c '
  set -euo pipefail
  runs "c:" build ""
  runs "valgrind:" build "$VALGRIND"
  runs "asan+ubsan:" build-asan "env NETTASK_CURL_ALLOCATOR=system"
'
