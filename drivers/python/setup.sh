#!/usr/bin/env bash
# Creates drivers/python/.venv with the official openai package at the version pinned (with hashes) in
# requirements.txt. Idempotent: a venv whose installed set already matches is kept.
set -euo pipefail
cd "$(dirname "$0")"
python="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ] || ! cmp -s requirements.txt .venv/requirements.installed; then
  rm -rf .venv
  "$python" -m venv .venv
  .venv/bin/pip install --quiet --disable-pip-version-check --require-hashes --no-deps -r requirements.txt
  cp requirements.txt .venv/requirements.installed
fi
