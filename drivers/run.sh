#!/usr/bin/env bash
# Runs both client drivers against a running `compat serve` and prints each driver's JSON document.
# Usage: bash drivers/run.sh http://127.0.0.1:8080/ [--only SUBSTRING]...
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
url="${1:?usage: drivers/run.sh SERVE_URL [--only SUBSTRING]...}"; shift
"$here/python/.venv/bin/python" "$here/python/driver.py" --serve "$url" "$@"
"$here/node/node_modules/.bin/node" "$here/node/driver.mjs" --serve "$url" "$@"
