#!/usr/bin/env bash
# Re-records the `llama-cpp` target: llama-cpp-python's OpenAI-compatible server on a tiny random GGUF model.
#
#   bash scripts/llama-cpp/record.sh            # from the repository root; not part of CI (the build is slow)
#   bash scripts/llama-cpp/record.sh embeddings::string_array_base64 chat::basic   # only these cases
#
# With case names (trial-name substrings, as `compat run` takes them) only those cases are recorded and their
# fixtures and snapshots replaced; every other fixture stays as it was recorded.
# On a fresh machine it makes a virtualenv (LLAMA_VENV, default ~/.cache/compat/venv-llama) and installs the
# pinned server there: llama-cpp-python compiles llama.cpp from source, about 15 minutes on 2 cores, at low
# priority (nice 19, 2 build jobs; BUILD_JOBS to change). Then it
#   1. writes the model (make_model.py: random weights, a ~300-token vocabulary, ~0.4 MB, nothing downloaded)
#      as models/chat.gguf and models/embed.gguf in a private work folder; llama-cpp-python names a model by
#      the path it was given, so these relative paths are the model ids the cases send;
#   2. starts the server on 127.0.0.1 (a free port) with a throwaway API key (so errors::bad_key is
#      meaningful), the chat model, and the embedding one (`embedding: true`, which embeddings need);
#   3. runs `compat run --live --target llama-cpp --record all` against it, after removing the old fixtures
#      (only the named cases' when cases are named), so every fixture comes from this run (each says `recorded`, the date, the model, the base URL and
#      `server: llama-cpp-python <version>`); cases the target skips get none, and errors are never recorded;
#   4. stops the server (`--record` wrote each new fixture's snapshot beside it) and replays what it recorded.
# Review `git diff`, then explain any new unexplained divergence in cases/expectations/llama-cpp.yaml
# (`compat expectations update --target llama-cpp` drafts the entries from reports/results.json, or from the
# copy kept as reports/live-llama-cpp.json). COMPAT (default: target/release/compat of this checkout, built if
# missing) is the harness binary to run.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
venv="${LLAMA_VENV:-$HOME/.cache/compat/venv-llama}"
jobs="${BUILD_JOBS:-2}"

if ! "$venv/bin/python" -c 'import llama_cpp.server, gguf' 2>/dev/null; then
  echo "installing llama-cpp-python into $venv (compiles llama.cpp: about 15 minutes on 2 cores)" >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --upgrade pip
  # Portable CPU code (no -march=native), no tests or examples: the build is all the script needs.
  nice -n 19 env CMAKE_BUILD_PARALLEL_LEVEL="$jobs" \
    CMAKE_ARGS="-DGGML_NATIVE=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DGGML_OPENMP=OFF" \
    "$venv/bin/pip" install --quiet -r "$here/requirements.txt"
fi
py="$venv/bin/python"
version="$("$py" -c 'import llama_cpp; print(llama_cpp.__version__)')"
server_name="llama-cpp-python $version"
target=llama-cpp
key_env=LLAMA_CPP_API_KEY
source "$root/scripts/lib/record.sh"
compat="$(compat_binary)"

mkdir "$work/models"
"$py" "$here/make_model.py" "$work/models/chat.gguf"
cp "$work/models/chat.gguf" "$work/models/embed.gguf"

port="$(free_port "$py")"
key="$(throwaway_key "$py")"
# The config file holds the throwaway key: it lives in the private work folder and goes with it.
cat > "$work/config.json" <<EOF
{
  "host": "127.0.0.1",
  "port": $port,
  "api_key": "$key",
  "models": [
    { "model": "models/chat.gguf", "n_ctx": 4096, "seed": 1, "verbose": false },
    { "model": "models/embed.gguf", "n_ctx": 4096, "embedding": true, "verbose": false }
  ]
}
EOF
(cd "$work" && exec "$py" -m llama_cpp.server --config_file config.json) > "$work/server.log" 2>&1 &
server_pids+=($!)
base="http://127.0.0.1:$port/v1/"
# Ready when GET models answers 200 with the key (up to 120 s; each try bounded to 2 s).
wait_ready "$py" "$base" "$key" 120 "$work/server.log"
record_and_replay "$@"
