#!/usr/bin/env bash
# A virtualenv with PyPI's httpbin and the two servers the tests run it
# under (gunicorn: HTTP/1.1; hypercorn: h2 over TLS and h2c), created once
# under target/. Prints the venv's bin directory.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=target/httpbin-venv
pins=(httpbin==0.10.4 gunicorn==27.0.1 hypercorn==0.18.0)
stamp="$venv/.pins"
if [ ! -x "$venv/bin/gunicorn" ] || [ "$(cat "$stamp" 2>/dev/null)" != "${pins[*]}" ]; then
  rm -rf "$venv"
  /usr/bin/python3 -m venv "$venv" >&2
  "$venv/bin/pip" install -q --disable-pip-version-check "${pins[@]}" >&2
  echo "${pins[*]}" >"$stamp"
fi
echo "$PWD/$venv/bin"
