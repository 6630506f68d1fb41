#!/usr/bin/env bash
# The JS host (hosts/quickjs): bundles Taro's weapp runtime from npm
# (`npm ci` from its package-lock.json, then esbuild), builds nettask-qjs
# with the bundle embedded, and runs against the loopback server every
# test of tests/js (the Taro RequestTask samples, wx.request shapes, the
# chat stream, downloads, uploads, bad input, the 10-task limit), the
# programs of tests/js/exit (exit codes and output), and three tests
# again under valgrind memcheck (errors and definite leaks fail). One
# line per test: "check ok: quickjs: NAME" or "check FAILED: quickjs: NAME".
#
# Needs node and npm (Debian: nodejs npm), valgrind, and the registry for
# `npm ci` unless hosts/quickjs/taro/node_modules is already there.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/check-lib.sh

host=hosts/quickjs
# The library's target directory: the libcurl, nghttp2 and zstd that
# `cargo build --release` built for it are reused by the host's build.
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
bin=$CARGO_TARGET_DIR/release/nettask-qjs
status=0

for tool in node:nodejs npm:npm valgrind:valgrind; do
  if ! command -v "${tool%%:*}" >/dev/null; then
    echo "check FAILED: quickjs: ${tool%%:*} is not installed (apt-get install ${tool#*:})"
    exit 1
  fi
done

# npm ci only when the lockfile changed since the last install.
taro=$host/taro
if ! cmp -s "$taro/package-lock.json" "$taro/node_modules/.package-lock.json.installed" 2>/dev/null; then
  check "quickjs: npm ci (Taro from package-lock.json)" \
    bash -c 'cd "$0" && npm ci --no-audit --no-fund && cp package-lock.json node_modules/.package-lock.json.installed' "$taro" ||
    exit 1
fi
check "quickjs: bundle Taro's weapp runtime (esbuild)" node "$taro/build.mjs" || exit 1
check "quickjs: build nettask-qjs" cargo build --release --quiet --manifest-path "$host/Cargo.toml" || exit 1
check "quickjs: nettask-qjs embeds Taro from npm" \
  bash -c '"$0" --version 2>&1 | grep "Taro from npm (@tarojs/taro@"' "$bin" || status=1

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
export bin scratch

# A program of tests/js/exit: its exit code, stderr and stdout as its
# header comments say (see tests/js/exit/README.md).
expect() {
  local file=$1 out err rc want failed=0 pattern
  out=$(mktemp)
  err=$(mktemp)
  rc=0
  "$bin" --ca-file "$NETTASK_CA" "$file" "$NETTASK_HTTP" "$NETTASK_HTTPS" "$scratch" >"$out" 2>"$err" || rc=$?
  want=$(sed -n 's|^// exit: ||p' "$file")
  if [ "$rc" != "$want" ]; then
    echo "exit code $rc, expected $want"
    failed=1
  fi
  while IFS= read -r pattern; do
    if ! grep -Eq -- "$pattern" "$err"; then
      echo "no line of stderr matches: $pattern"
      failed=1
    fi
  done < <(sed -n 's|^// stderr: ||p' "$file")
  if grep -q '^// stdout: ' "$file" && ! diff <(sed -n 's|^// stdout: ||p' "$file") "$out"; then
    echo "stdout differs (< expected, > got)"
    failed=1
  fi
  if [ $failed != 0 ]; then
    echo "--- stdout"
    cat "$out"
    echo "--- stderr"
    cat "$err"
  fi
  rm -f "$out" "$err"
  return $failed
}

export -f check expect
scripts/with-server.sh bash -c '
  status=0
  args=("$NETTASK_HTTP" "$NETTASK_HTTPS" "$scratch")
  for test in tests/js/*.js; do
    case $test in tests/js/assert.js) continue ;; esac
    check "quickjs: ${test#tests/js/}" "$bin" --ca-file "$NETTASK_CA" "$PWD/$test" "${args[@]}" || status=1
  done
  for test in tests/js/exit/*.js; do
    check "quickjs: ${test#tests/js/}" expect "$test" || status=1
  done
  # Every memory error and every definite leak fails, as in check-c.sh:
  # requests of every shape (h2 and TLS among them), Taro with an abort,
  # and exit() with a task in flight (the client freed under it); libcurl
  # on the system allocator, whose blocks valgrind sees (src/curl_memory.rs).
  valgrind="env NETTASK_CURL_ALLOCATOR=system valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite --show-leak-kinds=definite"
  for test in tests/js/wx-request.js tests/js/taro-sample-callback.js tests/js/exit/exit-with-tasks.js; do
    check "quickjs: valgrind: ${test#tests/js/}" $valgrind "$bin" --ca-file "$NETTASK_CA" "$test" "${args[@]}" || status=1
  done
  exit $status
' || status=1
exit $status
