#!/usr/bin/env bash
# Re-records the `litellm` target: a LiteLLM proxy (litellm[proxy] 1.108.7, pinned with everything it pulled in:
# requirements.txt) used as a gateway in front of llama.cpp's llama-server (scripts/llama-server) on a tiny random
# GGUF model, through LiteLLM's generic `openai/` provider.
#
#   bash scripts/litellm/record.sh            # not part of CI
#   bash scripts/litellm/record.sh chat::basic   # only these cases (trial-name substrings)
#
#   0. builds llama-server if missing (scripts/llama-server/install.sh) and installs the pinned LiteLLM into a
#      virtualenv (LITELLM_VENV, default ~/.cache/compat/venv-litellm) with uv, at nice 19;
#   1. writes the model (scripts/llama-cpp/make_model.py) into a private work folder;
#   2. starts llama-server on a free loopback port with its own throwaway key, then the LiteLLM proxy on another
#      with a throwaway master key (so errors::bad_key is meaningful) and two deployments: `tiny-llama` (chat) and
#      `tiny-embed` (embeddings), both `openai/…` on llama-server. LiteLLM reads its cost map from the package
#      (LITELLM_LOCAL_MODEL_COST_MAP), sends no telemetry, and gets a dead loopback proxy for anything that is
#      not loopback, so nothing leaves the machine;
#   3. runs `compat run --live --target litellm --record all` against the proxy;
#   4. stops both servers and replays what it recorded.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cache="${COMPAT_CACHE:-$HOME/.cache/compat}"
venv="${LITELLM_VENV:-$cache/venv-litellm}"
target=litellm

llama_bin="$(bash "$root/scripts/llama-server/install.sh")"
py="$cache/venv-gguf/bin/python"
if ! "$venv/bin/python" -c 'import litellm.proxy.proxy_server' 2>/dev/null; then
  echo "installing LiteLLM into $venv" >&2
  UV_CACHE_DIR="$cache/uvcache" nice -n 19 "$cache/tools/bin/uv" venv -q -p 3.11 "$venv" >&2
  UV_CACHE_DIR="$cache/uvcache" nice -n 19 "$cache/tools/bin/uv" pip install -q -p "$venv/bin/python" -r "$here/requirements.txt" >&2
fi
version="$("$venv/bin/python" -c 'import importlib.metadata as m; print(m.version("litellm"))')"
llama_commit="$("$llama_bin" --version 2>&1 | sed -n 's/.*commit \([0-9a-f]*\).*/\1/p' | head -n 1)"
server_name="LiteLLM proxy $version (openai/ provider) in front of llama.cpp llama-server $llama_commit"

compat="${COMPAT:-$root/target/release/compat}"
if [ ! -x "$compat" ]; then (cd "$root" && nice -n 19 cargo build --release --quiet); fi

work="$(mktemp -d)"
chmod 700 "$work"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

"$py" "$root/scripts/llama-cpp/make_model.py" "$work/tiny-llama.gguf"
free_port() { "$py" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
upstream_port="$(free_port)"
port="$(free_port)"
upstream_key="local-$("$py" -c 'import secrets; print(secrets.token_hex(8))')"
key="sk-local-$("$py" -c 'import secrets; print(secrets.token_hex(8))')"

LLAMA_API_KEY="$upstream_key" nice -n 19 "$llama_bin" -m "$work/tiny-llama.gguf" --alias tiny-llama --host 127.0.0.1 \
  --port "$upstream_port" --jinja -c 4096 -np 1 -t 1 --seed 1 --embeddings --pooling mean --no-webui \
  > "$work/upstream.log" 2>&1 &
pids+=($!)

# The config holds both throwaway keys: it lives in the private work folder and goes with it.
cat > "$work/config.yaml" <<YAML
model_list:
  - model_name: tiny-llama
    litellm_params: { model: openai/tiny-llama, api_base: "http://127.0.0.1:$upstream_port/v1", api_key: "$upstream_key" }
  # A distinct upstream model string: LiteLLM keys model_info by it, and would tag the chat deployment "embedding" too.
  - model_name: tiny-embed
    litellm_params: { model: openai/tiny-embed, api_base: "http://127.0.0.1:$upstream_port/v1", api_key: "$upstream_key" }
    model_info: { mode: embedding }
general_settings: { master_key: "$key" }
litellm_settings: { telemetry: false }
YAML
(cd "$work" && exec env LITELLM_LOCAL_MODEL_COST_MAP=True DO_NOT_TRACK=1 LITELLM_TELEMETRY=False \
  HTTP_PROXY=http://127.0.0.1:9 HTTPS_PROXY=http://127.0.0.1:9 ALL_PROXY=http://127.0.0.1:9 NO_PROXY=127.0.0.1,localhost \
  nice -n 19 "$venv/bin/litellm" --config config.yaml --host 127.0.0.1 --port "$port" --num_workers 1) \
  > "$work/server.log" 2>&1 &
pids+=($!)
base="http://127.0.0.1:$port/v1/"
ready() {
  "$py" - "$base" "$key" <<'PY'
import sys, urllib.request
req = urllib.request.Request(sys.argv[1] + "models", headers={"authorization": "Bearer " + sys.argv[2]})
try:
    sys.exit(0 if urllib.request.urlopen(req, timeout=2).status == 200 else 1)
except Exception:
    sys.exit(1)
PY
}
for _ in $(seq 1 180); do
  if ready; then break; fi
  for pid in "${pids[@]}"; do
    if ! kill -0 "$pid" 2>/dev/null; then cat "$work/upstream.log" "$work/server.log" >&2; echo "error: a server exited" >&2; exit 1; fi
  done
  sleep 1
done
ready || { cat "$work/server.log" >&2; echo "error: LiteLLM did not answer on $base within 180 s" >&2; exit 1; }
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
LITELLM_API_KEY="$key" "$compat" run --live --target "$target" --base-url "$base" --record all \
  --server "$server_name" "$@" || status=$?
for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
pids=()
echo "live run exit status: $status (1 = some case diverges, errors or is fixed; see reports/index.html)" >&2
# Kept apart for `compat expectations update --from` and for comparing two recordings.
cp reports/results.json "reports/live-$target.json"

replay_status=0
"$compat" run --target "$target" --reports "$work/replay" "$@" > "$work/replay.log" || replay_status=$?
tail -n 2 "$work/replay.log"
echo "replay exit status: $replay_status (it should equal the live run's)" >&2
echo "next: git diff fixtures/$target snapshots/$target; compat expectations update --target $target" >&2
