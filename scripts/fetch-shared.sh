#!/usr/bin/env bash
# Fills the cache of third-party material that some tests read (OpenAI's OpenAPI document, real recordings of
# Gemini's endpoint), from the pinned sources of scripts/shared-pins.txt, each checked against its sha256.
#
#   bash scripts/fetch-shared.sh              download from GitHub (raw.githubusercontent.com, repository@commit)
#   bash scripts/fetch-shared.sh --from DIR   copy from a local folder laid out like ../shared (offline)
#   bash scripts/fetch-shared.sh --check      only check what the cache holds
#
# The cache is $COMPAT_SHARED_CACHE, default ${XDG_CACHE_HOME:-$HOME/.cache}/compat/shared, the same layout as
# ../shared; the tests look there when ../shared is absent (harness/src/suite.rs, shared_material). A file
# already in the cache with the pinned sha256 is kept. Exit 0 when every file a test needs (`tests` in the pins)
# is in the cache; 1 otherwise. A file no test reads yet (`later`) only warns when it cannot be provided.
# $COMPAT_SHARED_BASE_URL replaces https://raw.githubusercontent.com (a mirror, or a loopback server in a test).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
pins="${COMPAT_SHARED_PINS:-$here/shared-pins.txt}"
cache="${COMPAT_SHARED_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/compat/shared}"
from=""
check_only=0

usage() { sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
  case "$1" in
    --from) [ $# -ge 2 ] || { echo "error: --from needs a folder" >&2; exit 2; }; from="$2"; shift 2 ;;
    --from=*) from="${1#--from=}"; shift ;;
    --check) check_only=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "error: unknown argument: $1" >&2; usage >&2; exit 2 ;;
  esac
done
if [ -n "$from" ] && [ ! -d "$from" ]; then
  echo "error: --from $from: not a folder" >&2
  exit 2
fi

sha256() { sha256sum "$1" | cut -c1-64; }
trim() { local s="$1"; s="${s#"${s%%[![:space:]]*}"}"; printf '%s' "${s%"${s##*[![:space:]]}"}"; }

# Percent-encodes a repository path for a raw URL (keeps `/` and RFC 3986's unreserved characters).
urlencode() {
  local s="$1" out="" c i
  local LC_ALL=C
  for ((i = 0; i < ${#s}; i++)); do
    c="${s:i:1}"
    case "$c" in
      [A-Za-z0-9._~/-]) out+="$c" ;;
      *) out+="$(printf '%%%02X' "'$c")" ;;
    esac
  done
  printf '%s' "$out"
}

# Downloads repository@commit:path to $2.
download() {
  local source="$1" dest="$2" repo commit path
  repo="${source%%@*}"
  commit="${source#*@}"; commit="${commit%%:*}"
  path="${source#*:}"
  curl --fail --silent --show-error --location --retry 3 --max-time 120 \
    -o "$dest" "${COMPAT_SHARED_BASE_URL:-https://raw.githubusercontent.com}/$repo/$commit/$(urlencode "$path")"
}

# The block under the Markdown heading line $1 of file $2: the lines after the heading and its blank line, up to
# the next heading, without the blank lines that close it and with no trailing newline.
md_block() {
  local block
  block="$(awk -v h="$1" '
    found == 2 && /^### / { exit }
    found == 2 { print; next }
    found == 1 { found = 2; if ($0 != "") print; next }
    $0 == h { found = 1 }' "$2")"
  [ -n "$block" ] || return 1
  printf '%s' "$block"
}

# The text output of cell $1 (0-based) of notebook $2, each line's leading "<number> " removed.
ipynb_output() {
  command -v jq >/dev/null 2>&1 || { echo "jq is needed to read a notebook" >&2; return 1; }
  jq -j --argjson n "$1" '.cells[$n].outputs[] | select(.text != null) | .text | if type == "array" then join("") else . end' "$2" |
    sed -E 's/^[0-9]+ //'
}

mkdir -p "$cache"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# Reports that $rel could not be provided: an error when a test reads it, else a warning.
fail() {
  if [ "$needed" = tests ]; then
    echo "error: $rel: $1" >&2
    missing_needed=$((missing_needed + 1))
  else
    echo "warning: $rel: $1 (no test reads it yet; skipped)" >&2
  fi
}

missing_needed=0
provided=0
n=0
while IFS= read -r line || [ -n "$line" ]; do
  case "$line" in ''|'#'*) continue ;; esac
  IFS='|' read -r rel sum source how needed <<<"$line"
  rel="$(trim "$rel")"; sum="$(trim "$sum")"; source="$(trim "$source")"; how="$(trim "$how")"; needed="$(trim "$needed")"
  n=$((n + 1))
  dest="$cache/$rel"
  if [ -f "$dest" ] && [ "$(sha256 "$dest")" = "$sum" ]; then
    provided=$((provided + 1))
    continue
  fi
  if [ "$check_only" = 1 ]; then
    if [ -f "$dest" ]; then fail "in the cache with sha256 $(sha256 "$dest"), not the pinned $sum"; else fail "not in the cache"; fi
    continue
  fi
  tmp="$work/file"
  rm -f "$tmp"
  if [ -n "$from" ]; then
    if [ ! -f "$from/$rel" ]; then fail "absent from $from"; continue; fi
    cp "$from/$rel" "$tmp"
  else
    raw="$work/raw"
    if ! download "$source" "$raw"; then fail "download of $source failed"; continue; fi
    case "$how" in
      copy) mv "$raw" "$tmp" ;;
      "md-block "*) md_block "${how#md-block }" "$raw" >"$tmp" || { fail "no block under '${how#md-block }' in $source"; continue; } ;;
      "ipynb-output "*) ipynb_output "${how#ipynb-output }" "$raw" >"$tmp" || { fail "no text output in cell ${how#ipynb-output } of $source"; continue; } ;;
      *) fail "unknown way '$how' in $pins"; continue ;;
    esac
  fi
  got="$(sha256 "$tmp")"
  if [ "$got" != "$sum" ]; then
    rm -f "$dest" # a wrong file in the cache would be read by the tests as if it were the pinned one
    fail "sha256 $got is not the pinned $sum (source: ${from:+$from/$rel, pinned from }$source, $how)"
    continue
  fi
  mkdir -p "$(dirname "$dest")"
  mv "$tmp" "$dest"
  provided=$((provided + 1))
done <"$pins"

if [ "$n" = 0 ]; then
  echo "error: no pins in $pins" >&2
  exit 1
fi
echo "$provided of $n pinned files in $cache"
if [ "$missing_needed" -gt 0 ]; then
  echo "error: $missing_needed file(s) that tests read could not be provided" >&2
  exit 1
fi
