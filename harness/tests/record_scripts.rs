//! `scripts/lib/record.sh`, the part every `scripts/<target>/record.sh` shares, run by bash against a loopback
//! server the test starts (python3) and a stub `compat` that logs how it was called — the real servers take a
//! multi-gigabyte install, so the scripts' own parts are not run here.
//!
//! Both ways: a server that answers is waited for with the key (or without one), the named cases' fixtures and
//! snapshots are removed before the live run, the key reaches compat through the environment only, the servers
//! are stopped before the replay, and the work folder goes on exit; a server that exits or never answers ends
//! the script with status 1 and its log.

use std::path::Path;
use std::process::{Command, Output};

const LIB: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/lib/record.sh");

/// A loopback server for GET /v1/models: 200 when the `authorization` header is exactly `$WANT` (absent when
/// `WANT` is unset), else 401. It prints its port, then serves until killed.
const SERVER: &str = r#"
import http.server, os, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        ok = self.path == "/v1/models" and self.headers.get("authorization") == os.environ.get("WANT")
        self.send_response(200 if ok else 401)
        self.end_headers()
    def log_message(self, *a):
        pass
s = http.server.HTTPServer(("127.0.0.1", 0), H)
print(s.server_address[1], flush=True)
s.serve_forever()
"#;

/// A stub `compat`: logs its arguments, the key variable's value and whether the server is still up; the live
/// run writes reports/results.json. Both runs exit 1 (a divergence), which the script reports, not fails on.
const STUB: &str = r#"#!/usr/bin/env bash
{ echo "args: $*"; echo "key: ${T_API_KEY:-<unset>}"; if kill -0 "$SERVER_PID" 2>/dev/null; then echo "server: up"; else echo "server: down"; fi; } >> "$LOG"
case " $* " in *" --live "*) mkdir -p reports; echo '{"live": true}' > reports/results.json;; esac
echo "replay line 1"; echo "replay line 2"
exit 1
"#;

/// Runs `body` in bash after sourcing the library, in a project root with fixtures and snapshots of target `t`.
fn run(root: &Path, body: &str) -> Output {
    let script = format!(
        r#"set -euo pipefail
root="{root}"
target=t
key_env=T_API_KEY
source "{LIB}"
echo "work: $work"
server_name="stub server 1.0"
compat="$root/compat-stub"
{body}"#,
        root = root.display()
    );
    Command::new("bash").arg("-c").arg(script).env("LOG", root.join("calls.log")).output().expect("bash runs")
}

fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for f in ["fixtures/t/chat/basic.json", "fixtures/t/chat/other.json", "snapshots/t/chat__basic.snap", "snapshots/t/chat__other.snap"] {
        let path = dir.path().join(f);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, "{}").unwrap();
    }
    let stub = dir.path().join("compat-stub");
    std::fs::write(&stub, STUB).unwrap();
    Command::new("chmod").arg("+x").arg(&stub).status().unwrap();
    std::fs::write(dir.path().join("server.py"), SERVER).unwrap();
    dir
}

/// Starts the test server (`WANT` as given) from inside the script, its pid in `server_pids`.
fn start_server(want: Option<&str>) -> String {
    let want = want.map_or("unset WANT".to_owned(), |w| format!("export WANT='{w}'"));
    format!(
        r#"({want}; exec python3 "$root/server.py") > "$work/port" 2> "$work/server.log" &
server_pids+=($!)
export SERVER_PID=$!
until [ -s "$work/port" ]; do sleep 0.05; done
base="http://127.0.0.1:$(cat "$work/port")/v1/"
"#
    )
}

fn text(o: &Output) -> String {
    format!("status {:?}\nstdout:\n{}\nstderr:\n{}", o.status.code(), String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

#[test]
fn a_named_case_is_recorded_live_with_the_key_then_replayed_with_the_servers_stopped() {
    let dir = project();
    let root = dir.path();
    let out = run(
        root,
        &format!(
            r#"{}key="local-0123"
wait_ready python3 "$base" "$key" 20 "$work/server.log"
record_and_replay chat::basic"#,
            start_server(Some("Bearer local-0123"))
        ),
    );
    let all = text(&out);
    assert_eq!(out.status.code(), Some(0), "{all}");
    let calls = std::fs::read_to_string(root.join("calls.log")).unwrap();
    let lines: Vec<&str> = calls.lines().collect();
    let base = lines[0].split("--base-url ").nth(1).and_then(|s| s.split(' ').next()).unwrap_or_default().to_owned();
    assert!(base.starts_with("http://127.0.0.1:") && base.ends_with("/v1/"), "{calls}");
    let work = all.lines().find_map(|l| l.strip_prefix("work: ")).unwrap().to_owned();
    assert_eq!(
        lines,
        [
            format!("args: run --live --target t --base-url {base} --record all --server stub server 1.0 chat::basic").as_str(),
            "key: local-0123",
            "server: up",
            format!("args: run --target t --reports {work}/replay chat::basic").as_str(),
            "key: <unset>",
            "server: down",
        ],
        "{all}"
    );
    // Only the named case's fixture and snapshot were removed; the live results are kept apart.
    assert!(!root.join("fixtures/t/chat/basic.json").exists() && !root.join("snapshots/t/chat__basic.snap").exists());
    assert!(root.join("fixtures/t/chat/other.json").exists() && root.join("snapshots/t/chat__other.snap").exists());
    assert_eq!(std::fs::read_to_string(root.join("reports/live-t.json")).unwrap().trim(), r#"{"live": true}"#);
    for said in ["stub server 1.0 serving on http://127.0.0.1:", "live run exit status: 1", "replay exit status: 1", "replay line 2"] {
        assert!(all.contains(said), "{said:?} missing:\n{all}");
    }
    assert!(!Path::new(&work).exists(), "the work folder is removed on exit");
}

#[test]
fn without_a_name_every_fixture_of_the_target_is_replaced_and_readiness_can_be_asked_without_a_key() {
    let dir = project();
    let root = dir.path();
    let out = run(root, &format!("{}key=unused\nwait_ready python3 \"$base\" \"\" 20 \"$work/server.log\"\nrecord_and_replay", start_server(None)));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(!root.join("fixtures/t").exists() && !root.join("snapshots/t").exists());
}

#[test]
fn a_server_that_exits_or_never_answers_ends_the_script_with_its_log() {
    let dir = project();
    let root = dir.path();
    // Exits at once, having written its log.
    let exited = run(
        root,
        r#"(echo "fatal: no model"; exit 3) > "$work/server.log" 2>&1 &
server_pids+=($!)
wait_ready python3 "http://127.0.0.1:9/v1/" "k" 20 "$work/server.log"
echo "not reached""#,
    );
    let all = text(&exited);
    assert_eq!(exited.status.code(), Some(1), "{all}");
    assert!(all.contains("fatal: no model") && all.contains("error: a server exited") && !all.contains("not reached"), "{all}");
    // Up, but it answers 401 to every key but its own: the deadline ends the wait.
    let refused = run(
        root,
        &format!("{}wait_ready python3 \"$base\" wrong-key 1 \"$work/server.log\"\necho \"not reached\"", start_server(Some("Bearer right"))),
    );
    let all = text(&refused);
    assert_eq!(refused.status.code(), Some(1), "{all}");
    assert!(all.contains("did not answer on http://127.0.0.1:") && all.contains("within 1 s") && !all.contains("not reached"), "{all}");
    assert!(!root.join("calls.log").exists(), "compat never ran");
}
