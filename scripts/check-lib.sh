# Sourced by the check-*.sh scripts: `check NAME COMMAND...` runs the
# command, shows its output only when it fails, and prints one line,
# "check ok: NAME" or "check FAILED: NAME", which the test summary counts.

check() {
  local name=$1 log
  shift
  log=$(mktemp)
  if "$@" >"$log" 2>&1; then
    echo "check ok: $name"
    rm -f "$log"
  else
    echo "check FAILED: $name"
    sed 's/^/    /' "$log"
    rm -f "$log"
    return 1
  fi
}
