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
# (`compat expectations update --target llama-cpp` drafts the entries from reports/results.json).
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
version="$("$venv/bin/python" -c 'import llama_cpp; print(llama_cpp.__version__)')"

work="$(mktemp -d)"
chmod 700 "$work"
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

mkdir "$work/models"
"$venv/bin/python" "$here/make_model.py" "$work/models/chat.gguf"
cp "$work/models/chat.gguf" "$work/models/embed.gguf"

port="$("$venv/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
key="local-$("$venv/bin/python" -c 'import secrets; print(secrets.token_hex(8))')"
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
(cd "$work" && exec "$venv/bin/python" -m llama_cpp.server --config_file config.json) > "$work/server.log" 2>&1 &
server_pid=$!
base="http://127.0.0.1:$port/v1/"
# Ready when GET models answers 200 with the key (up to 120 s; each try bounded to 2 s).
ready() {
  "$venv/bin/python" - "$base" "$key" <<'PY'
import sys, urllib.request
req = urllib.request.Request(sys.argv[1] + "models", headers={"authorization": "Bearer " + sys.argv[2]})
try:
    sys.exit(0 if urllib.request.urlopen(req, timeout=2).status == 200 else 1)
except Exception:
    sys.exit(1)
PY
}
for _ in $(seq 1 120); do
  if ready; then break; fi
  if ! kill -0 "$server_pid" 2>/dev/null; then cat "$work/server.log" >&2; echo "error: the server exited" >&2; exit 1; fi
  sleep 1
done
ready || { cat "$work/server.log" >&2; echo "error: the server did not answer on $base within 120 s" >&2; exit 1; }
echo "llama-cpp-python $version serving on $base" >&2

cd "$root"
if [ "$#" -eq 0 ]; then
  rm -rf fixtures/llama-cpp snapshots/llama-cpp
else
  for name in "$@"; do # feature::id → fixtures/llama-cpp/<feature>/<id>.json and its snapshot
    feature="${name%%::*}" id="${name#*::}"
    rm -f "fixtures/llama-cpp/$feature/$id.json" "snapshots/llama-cpp/${feature}__${id}.snap"
  done
fi
status=0
LLAMA_CPP_API_KEY="$key" cargo run --quiet -- run --live --target llama-cpp --base-url "$base" --record all \
  --server "llama-cpp-python $version" "$@" || status=$?
kill "$server_pid" && wait "$server_pid" 2>/dev/null || true
server_pid=""
echo "live run exit status: $status (1 = some case diverges, errors or is fixed; see reports/index.html)" >&2

# The replay of the new fixtures and snapshots must give the live run's verdicts.
replay_status=0
cargo run --quiet -- run --target llama-cpp --reports "$work/replay" "$@" > "$work/replay.log" || replay_status=$?
tail -n 2 "$work/replay.log"
echo "replay exit status: $replay_status (it should equal the live run's)" >&2
echo "next: git diff fixtures/llama-cpp snapshots/llama-cpp; compat expectations update --target llama-cpp" >&2
