#!/usr/bin/env bash
# Installs both client drivers' pinned SDKs (what harness/tests/agreement.rs and `drivers/run.sh` need):
# drivers/python/.venv (openai from requirements.txt, hashes required) and drivers/node/node_modules
# (openai and Node.js 22 as the npm package `node`, from package-lock.json). Uses only PyPI and the npm registry.
set -euo pipefail
cd "$(dirname "$0")"
bash python/setup.sh
if [ ! -x node/node_modules/.bin/node ] || ! cmp -s node/package-lock.json node/node_modules/.package-lock.json.installed 2>/dev/null; then
  npm ci --prefix node --no-audit --no-fund --loglevel=error
  cp node/package-lock.json node/node_modules/.package-lock.json.installed
fi
echo "drivers: openai-python $(python/.venv/bin/python -c 'import openai; print(openai.__version__)'), openai-node $(node/node_modules/.bin/node -p 'require("./node/node_modules/openai/package.json").version') on Node.js $(node/node_modules/.bin/node --version)"
