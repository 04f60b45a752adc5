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

"$py" "$root/scripts/llama-cpp/make_model.py" "$work/tiny-llama.gguf"

port="$("$py" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
key="local-$("$py" -c 'import secrets; print(secrets.token_hex(8))')"
# The key goes through the environment (LLAMA_API_KEY), not the command line other users can read.
LLAMA_API_KEY="$key" nice -n 19 "$bin" -m "$work/tiny-llama.gguf" --alias tiny-llama --host 127.0.0.1 --port "$port" \
  --jinja -c 4096 -np 1 -t 1 --seed 1 --embeddings --pooling mean --no-webui > "$work/server.log" 2>&1 &
server_pid=$!
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
for _ in $(seq 1 60); do
  if ready; then break; fi
  if ! kill -0 "$server_pid" 2>/dev/null; then cat "$work/server.log" >&2; echo "error: the server exited" >&2; exit 1; fi
  sleep 1
done
ready || { cat "$work/server.log" >&2; echo "error: the server did not answer on $base within 60 s" >&2; exit 1; }
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
LLAMA_SERVER_API_KEY="$key" "$compat" run --live --target "$target" --base-url "$base" --record all \
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
