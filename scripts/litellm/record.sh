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

key_env=LITELLM_API_KEY
source "$root/scripts/lib/record.sh"
compat="$(compat_binary)"

"$py" "$root/scripts/llama-cpp/make_model.py" "$work/tiny-llama.gguf"
upstream_port="$(free_port "$py")"
port="$(free_port "$py")"
upstream_key="$(throwaway_key "$py")"
key="$(throwaway_key "$py" sk-local-)"

LLAMA_API_KEY="$upstream_key" nice -n 19 "$llama_bin" -m "$work/tiny-llama.gguf" --alias tiny-llama --host 127.0.0.1 \
  --port "$upstream_port" --jinja -c 4096 -np 1 -t 1 --seed 1 --embeddings --pooling mean --no-webui \
  > "$work/upstream.log" 2>&1 &
server_pids+=($!)

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
server_pids+=($!)
base="http://127.0.0.1:$port/v1/"
wait_ready "$py" "$base" "$key" 180 "$work/upstream.log" "$work/server.log"
record_and_replay "$@"
