#!/usr/bin/env bash
# Re-records the `llama-server` target: llama.cpp's own OpenAI-compatible server (`llama-server`, built from the
# llama.cpp tree vendored in the llama-cpp-python 0.3.36 sdist) on a tiny random GGUF model.
#
#   bash scripts/llama-server/record.sh            # from anywhere; not part of CI (the build is slow)
#   bash scripts/llama-server/record.sh chat::basic embeddings::dimensions_base64   # only these cases
#
# With case names (trial-name substrings, as `compat run` takes them) only those cases are recorded and their
# fixtures and snapshots replaced; every other fixture stays as it was recorded.
#   0. install.sh builds the pinned server under ~/.cache/compat/llama-server if it is missing (nice 19,
#      BUILD_JOBS jobs, default 1) and a virtualenv with the GGUF writer;
#   1. writes the model with scripts/llama-cpp/make_model.py (random weights from a fixed seed, ~0.4 MB, nothing
#      downloaded) into a private work folder;
#   2. starts llama-server on 127.0.0.1 (a free port) with a throwaway API key (so errors::bad_key is
#      meaningful), the model under the alias `tiny-llama`, Jinja chat templates, one slot, one thread, a fixed
#      default seed, and embeddings on in the same process (mean pooling);
#   3. runs `compat run --live --target llama-server --record all` against it, after removing the old fixtures
#      (only the named cases' when cases are named); cases the target skips get none, errors are never recorded;
#   4. stops the server and replays what it recorded.
# COMPAT (default: target/release/compat of this checkout, built if missing) is the harness binary to run.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cache="${COMPAT_CACHE:-$HOME/.cache/compat}"
target=llama-server

bin="$(bash "$here/install.sh")"
py="$cache/venv-gguf/bin/python"
commit="$("$bin" --version 2>&1 | sed -n 's/.*commit \([0-9a-f]*\).*/\1/p' | head -n 1)"
server_name="llama.cpp llama-server $commit (llama-cpp-python 0.3.36 sdist)"

key_env=LLAMA_SERVER_API_KEY
source "$root/scripts/lib/record.sh"
compat="$(compat_binary)"

"$py" "$root/scripts/llama-cpp/make_model.py" "$work/tiny-llama.gguf"

port="$(free_port "$py")"
key="$(throwaway_key "$py")"
# The key goes through the environment (LLAMA_API_KEY), not the command line other users can read.
LLAMA_API_KEY="$key" nice -n 19 "$bin" -m "$work/tiny-llama.gguf" --alias tiny-llama --host 127.0.0.1 --port "$port" \
  --jinja -c 4096 -np 1 -t 1 --seed 1 --embeddings --pooling mean --no-webui > "$work/server.log" 2>&1 &
server_pids+=($!)
base="http://127.0.0.1:$port/v1/"
wait_ready "$py" "$base" "$key" 60 "$work/server.log"
record_and_replay "$@"
