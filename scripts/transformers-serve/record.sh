#!/usr/bin/env bash
# Re-records the `transformers-serve` target: Hugging Face transformers' OpenAI-compatible server (`transformers
# serve`, transformers[serving] 5.23.0 with torch from PyPI, pinned with everything they pulled in:
# requirements.txt) on CPU, serving the tiny random-weight Llama of scripts/vllm/make_hf_model.py.
#
#   bash scripts/transformers-serve/record.sh            # not part of CI (a ~5 GB virtualenv)
#   bash scripts/transformers-serve/record.sh chat::basic   # only these cases (trial-name substrings)
#
#   0. installs the pinned server into a virtualenv (TF_SERVE_VENV, default ~/.cache/compat/transformers-serve/.venv)
#      with uv at nice 19 if it is missing;
#   1. writes the model (random weights from a fixed seed, nothing downloaded) and puts it in a private Hugging Face
#      cache (HF_HOME in the work folder) as the repo `tiny-llama`: `transformers serve` lists, and loads by name,
#      only what that cache holds (GET /v1/models answers 500 when the cache folder does not exist);
#   2. starts `transformers serve` on 127.0.0.1 (a free port), CPU, a fixed default seed, offline. It has no API
#      key option: the throwaway key the harness sends is ignored (errors::bad_key records what that gives);
#   3. runs `compat run --live --target transformers-serve --record all` against it;
#   4. stops the server and replays what it recorded.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cache="${COMPAT_CACHE:-$HOME/.cache/compat}"
venv="${TF_SERVE_VENV:-$cache/transformers-serve/.venv}"
target=transformers-serve

if [ ! -x "$cache/tools/bin/uv" ]; then
  nice -n 19 python3 -m venv "$cache/tools"
  nice -n 19 "$cache/tools/bin/pip" install --quiet -r "$root/scripts/llama-server/requirements-tools.txt" >&2
fi
if ! "$venv/bin/python" -c 'import transformers.cli.serving.server' 2>/dev/null; then
  echo "installing transformers[serving] into $venv (about 5 GB)" >&2
  UV_CACHE_DIR="$cache/uvcache" nice -n 19 "$cache/tools/bin/uv" venv -q -p 3.11 "$venv" >&2
  UV_CACHE_DIR="$cache/uvcache" nice -n 19 "$cache/tools/bin/uv" pip install -q -p "$venv/bin/python" -r "$here/requirements.txt" >&2
fi
py="$venv/bin/python"
version="$("$py" -c 'import importlib.metadata as m; print(m.version("transformers"))')"
server_name="transformers serve $version"

compat="${COMPAT:-$root/target/release/compat}"
if [ ! -x "$compat" ]; then (cd "$root" && nice -n 19 cargo build --release --quiet); fi

work="$(mktemp -d)"
chmod 700 "$work"
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

HF_HUB_OFFLINE=1 nice -n 19 "$py" "$root/scripts/vllm/make_hf_model.py" "$work/model" 2>/dev/null
# The Hugging Face cache layout: blobs named by their sha256, a snapshot of symlinks, refs/main naming it.
repo="$work/hf/hub/models--tiny-llama"
rev=0123456789abcdef0123456789abcdef01234567
mkdir -p "$repo/blobs" "$repo/refs" "$repo/snapshots/$rev"
printf %s "$rev" > "$repo/refs/main"
for f in "$work/model"/*; do
  b="$(sha256sum "$f" | cut -c1-64)"
  cp "$f" "$repo/blobs/$b"
  ln -s "../../blobs/$b" "$repo/snapshots/$rev/$(basename "$f")"
done

port="$("$py" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
key="local-$("$py" -c 'import secrets; print(secrets.token_hex(8))')"
(cd "$work" && exec env HF_HOME="$work/hf" HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_HUB_DISABLE_TELEMETRY=1 DO_NOT_TRACK=1 \
  nice -n 19 "$venv/bin/transformers" serve --device cpu --host 127.0.0.1 --port "$port" --default-seed 1 \
  --log-level info) > "$work/server.log" 2>&1 &
server_pid=$!
base="http://127.0.0.1:$port/v1/"
ready() {
  "$py" - "$base" <<'PY'
import sys, urllib.request
try:
    sys.exit(0 if urllib.request.urlopen(sys.argv[1] + "models", timeout=2).status == 200 else 1)
except Exception:
    sys.exit(1)
PY
}
for _ in $(seq 1 300); do
  if ready; then break; fi
  if ! kill -0 "$server_pid" 2>/dev/null; then tail -n 50 "$work/server.log" >&2; echo "error: the server exited" >&2; exit 1; fi
  sleep 1
done
ready || { tail -n 50 "$work/server.log" >&2; echo "error: the server did not answer on $base within 300 s" >&2; exit 1; }
echo "$server_name serving on $base" >&2

cd "$root"
if [ "$#" -eq 0 ]; then
  rm -rf "fixtures/$target" "snapshots/$target"
else
  for name in "$@"; do
    feature="${name%%::*}" id="${name#*::}"
    rm -f "fixtures/$target/$feature/$id.json" "snapshots/$target/${feature}__${id}.snap"
  done
fi
status=0
TRANSFORMERS_SERVE_API_KEY="$key" "$compat" run --live --target "$target" --base-url "$base" --record all \
  --server "$server_name" "$@" || status=$?
kill "$server_pid" && wait "$server_pid" 2>/dev/null || true
server_pid=""
echo "live run exit status: $status (1 = some case diverges, errors or is fixed; see reports/index.html)" >&2
# Kept apart for `compat expectations update --from` and for comparing two recordings.
cp reports/results.json "reports/live-$target.json"

replay_status=0
"$compat" run --target "$target" --reports "$work/replay" "$@" > "$work/replay.log" || replay_status=$?
tail -n 2 "$work/replay.log"
echo "replay exit status: $replay_status (it should equal the live run's)" >&2
echo "next: git diff fixtures/$target snapshots/$target; compat expectations update --target $target" >&2
