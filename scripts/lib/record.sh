# Sourced by scripts/<target>/record.sh: what every recording does the same way around its own server(s) —
# a private work folder cleaned up on exit, a free loopback port and a throwaway key, waiting until the server
# answers, the live run that records the target, and the replay that must give the same verdicts.
# Tested by harness/tests/record_scripts.rs (a stub compat, a loopback server).
#
# A record script sets `root` (the checkout), `target`, `key_env` (the variable the target's key is read from)
# and, before `record_and_replay`, `compat`, `server_name`, `base` and `key`; it appends each server it starts
# to `server_pids`.

# The work folder (only this user can read it: configs in it hold throwaway keys), removed on exit with every
# server still running.
work="$(mktemp -d)"
chmod 700 "$work"
server_pids=()
stop_servers() {
  local pid
  for pid in "${server_pids[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  server_pids=()
}
trap 'stop_servers; rm -rf "$work"' EXIT

# compat_binary: $COMPAT, else this checkout's release build (built if missing).
compat_binary() {
  local bin="${COMPAT:-$root/target/release/compat}"
  if [ ! -x "$bin" ]; then (cd "$root" && nice -n 19 cargo build --release --quiet); fi
  printf '%s\n' "$bin"
}

# free_port PYTHON: a loopback port nothing listens on now.
free_port() {
  "$1" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# throwaway_key PYTHON [PREFIX]: a random key for this recording only (PREFIX default `local-`).
throwaway_key() {
  printf '%s%s\n' "${2:-local-}" "$("$1" -c 'import secrets; print(secrets.token_hex(8))')"
}

# wait_ready PYTHON BASE KEY SECONDS LOG...: returns once GET BASE/models answers 200 (sent with
# `authorization: Bearer KEY` unless KEY is empty); exits 1 with the end of each LOG when a server in
# `server_pids` has exited or SECONDS have passed.
wait_ready() {
  local py="$1" base="$2" key="$3" seconds="$4" pid
  shift 4
  local deadline=$((SECONDS + seconds))
  while :; do
    if "$py" - "$base" "$key" <<'PY'
import sys, urllib.request
headers = {"authorization": "Bearer " + sys.argv[2]} if sys.argv[2] else {}
try:
    answer = urllib.request.urlopen(urllib.request.Request(sys.argv[1] + "models", headers=headers), timeout=2)
    sys.exit(0 if answer.status == 200 else 1)
except Exception:
    sys.exit(1)
PY
    then
      return 0
    fi
    for pid in "${server_pids[@]}"; do
      if ! kill -0 "$pid" 2>/dev/null; then
        tail -n 50 "$@" >&2
        echo "error: a server exited before it answered on $base" >&2
        exit 1
      fi
    done
    if [ "$SECONDS" -ge "$deadline" ]; then
      tail -n 50 "$@" >&2
      echo "error: the server did not answer on $base within $seconds s" >&2
      exit 1
    fi
    sleep 1
  done
}

# record_and_replay [NAME...]: records the target live (`compat run --live --record all`; no NAME: every case,
# its old fixtures and snapshots removed first, else only those of the cases NAME names as feature::id), keeps
# the results as reports/live-<target>.json (for `compat expectations update --from`), stops the servers, and
# replays what was recorded: its exit status should equal the live run's.
record_and_replay() {
  local status=0 replay_status=0 name feature id
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
  # The key goes through the environment, never a command line other users can read.
  (export "$key_env=$key" && exec "$compat" run --live --target "$target" --base-url "$base" --record all \
    --server "$server_name" "$@") || status=$?
  stop_servers
  echo "live run exit status: $status (1 = some case diverges, errors or is fixed; see reports/index.html)" >&2
  cp reports/results.json "reports/live-$target.json"
  "$compat" run --target "$target" --reports "$work/replay" "$@" > "$work/replay.log" || replay_status=$?
  tail -n 2 "$work/replay.log"
  echo "replay exit status: $replay_status (it should equal the live run's)" >&2
  echo "next: git diff fixtures/$target snapshots/$target; compat expectations update --target $target" >&2
}
