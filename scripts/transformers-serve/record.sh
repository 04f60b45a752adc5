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

key_env=TRANSFORMERS_SERVE_API_KEY
source "$root/scripts/lib/record.sh"
compat="$(compat_binary)"

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

port="$(free_port "$py")"
key="$(throwaway_key "$py")"
(cd "$work" && exec env HF_HOME="$work/hf" HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_HUB_DISABLE_TELEMETRY=1 DO_NOT_TRACK=1 \
  nice -n 19 "$venv/bin/transformers" serve --device cpu --host 127.0.0.1 --port "$port" --default-seed 1 \
  --log-level info) > "$work/server.log" 2>&1 &
server_pids+=($!)
base="http://127.0.0.1:$port/v1/"
# `transformers serve` has no key option: readiness is asked without one.
wait_ready "$py" "$base" "" 300 "$work/server.log"
record_and_replay "$@"
