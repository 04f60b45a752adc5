#!/usr/bin/env bash
# The logic of the compat GitHub Action (action.yml): runs the live suite against one server and writes the job
# summary. Kept out of action.yml so that harness/tests/action.rs can run it against a loopback server.
#
# Inputs, from the environment (action.yml maps its inputs to these):
#   COMPAT_BASE_URL    the server's OpenAI-compatible base URL (required)
#   COMPAT_API_KEY     the key; sent as a bearer token through --api-key-env, never echoed. Empty: no auth header
#   COMPAT_MODEL       model names, separated by commas or newlines: NAME (every role) or ROLE=NAME
#   COMPAT_PROFILE     profiles to run, separated by commas or newlines (compat's default: openai)
#   COMPAT_NAME        the target's name in the reports (compat's default: derived from the URL)
#   COMPAT_ARGS        more arguments for `compat run`, split on whitespace (filters, --rpm 0, --jobs 4, …)
#   COMPAT_REPORTS     folder for the reports (default: ./compat-reports)
#   COMPAT_BIN         the compat binary (default: compat on PATH)
#   GITHUB_STEP_SUMMARY, GITHUB_OUTPUT   set by the runner; summary.md is appended to the first, exit-code and
#                      reports to the second
# Exit status: compat's (0 every case passed or was skipped, 1 a divergence or error, 2 a configuration error).
set -uo pipefail

bin="${COMPAT_BIN:-compat}"
reports="${COMPAT_REPORTS:-compat-reports}"
if [ -z "${COMPAT_BASE_URL:-}" ]; then
  echo "error: the base-url input is required" >&2
  exit 2
fi

args=(run --live --base-url "$COMPAT_BASE_URL" --reports "$reports")
[ -n "${COMPAT_NAME:-}" ] && args+=(--name "$COMPAT_NAME")
if [ -n "${COMPAT_API_KEY:-}" ]; then
  export COMPAT_API_KEY
  args+=(--api-key-env COMPAT_API_KEY) # the name of the variable goes on the command line, never the key
fi
set -f # a model name is not a glob
list() { tr ',\n' '  ' <<<"$1"; }
for m in $(list "${COMPAT_MODEL:-}"); do args+=(--model "$m"); done
for p in $(list "${COMPAT_PROFILE:-}"); do args+=(--profile "$p"); done
# shellcheck disable=SC2206 # split on whitespace, documented
[ -n "${COMPAT_ARGS:-}" ] && args+=(${COMPAT_ARGS})

mkdir -p "$reports"
echo "compat ${args[*]}"
"$bin" "${args[@]}"
code=$?

summary="$reports/summary.md"
if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then
  if [ -f "$summary" ]; then
    cat "$summary" >>"$GITHUB_STEP_SUMMARY"
  else
    printf '### compat\n\n`compat run` exited %s before writing a report (a configuration error?): see the step log.\n' "$code" >>"$GITHUB_STEP_SUMMARY"
  fi
fi
if [ -n "${GITHUB_OUTPUT:-}" ]; then
  printf 'exit-code=%s\nreports=%s\n' "$code" "$reports" >>"$GITHUB_OUTPUT"
fi
exit "$code"
