//! Live mode end to end, against wiremock "endpoints" on loopback: the real `compat` binary run on a throwaway
//! project (`--root`), and the library for `repeat: k`.
//!
//! - a missing key stops a live run before any request is sent;
//! - `--record all` writes fixtures (origin `recorded`, SSE event by event, only `content-type` kept) that
//!   replay green at once, and `--record missing` keeps what exists;
//! - a canary key, echoed back by the server in bodies, headers, URLs and error pages, appears in no file the
//!   run wrote and in no line it printed;
//! - `repeat: k` reports pass^k and its verdict needs all k runs.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;

use compat::case::load::parse_case;
use compat::outcome::{Outcome, Verdict};
use compat::run::{RunContext, run_case};
use compat::schema::SchemaSet;
use compat::target::parse_targets;
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const KEY_ENV: &str = "COMPAT_LIVE_TEST_KEY";
const CANARY: &str = "canary-7f3a9c51-do-not-leak-e2d4b816";

fn targets_yaml(auth: &str) -> String {
    format!(
        "targets:
  t:
    base_url: https://example.invalid/v1/
    auth: {auth}
    models: {{ chat: m-1 }}
    pacing: {{ rpm: 0, concurrency: 4, max_retries: 1, backoff_ms: 10, max_backoff_ms: 50 }}
    timeouts: {{ connect_ms: 1000, first_byte_ms: 3000, idle_ms: 1000 }}
"
    )
}

const CHAT_CASE: &str = "id: basic
feature: chat
title: A single user message gets one assistant message
doc: d
request:
  path: chat/completions
  body: { model: \"{{model}}\", messages: [{ role: user, content: hi }] }
expect:
  status: 200
  schema: chat.completion
";

const STREAM_CASE: &str = "id: text
feature: streaming
title: A streamed answer
doc: d
request:
  path: chat/completions
  body: { model: \"{{model}}\", stream: true, messages: [{ role: user, content: count }] }
expect:
  status: 200
  schema: chat.completion.chunk
";

const ERROR_CASE: &str = "id: missing_messages
feature: errors
title: A request without messages is refused with an error object
doc: d
request:
  path: chat/completions
  body: { model: \"{{model}}\" }
expect:
  status: 400
  schema: error
known_divergences:
  - targets: [t]
    rule: schema.client
    path: $
    reason: the error body is an array
    link: test
";

/// A case the canary server answers with an HTML 503 page quoting the key: an error, never recorded.
const BROKEN_CASE: &str = "id: broken
feature: chat
title: An endpoint fault
doc: d
request:
  path: embeddings
  body: { model: \"{{model}}\", input: hi }
expect:
  status: 200
";

fn completion(content: &str) -> Value {
    json!({
        "id": "chatcmpl-1", "object": "chat.completion", "created": 1741569952, "model": "m-1",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content, "refusal": null, "annotations": []},
                     "logprobs": null, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}
    })
}

fn stream(content: &str) -> String {
    let c = |delta: Value, finish: Value| {
        json!({"id": "c-1", "object": "chat.completion.chunk", "created": 1741569952, "model": "m-1",
               "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}]})
    };
    format!("data: {}\n\ndata: {}\n\ndata: [DONE]\n\n", c(json!({"role": "assistant", "content": content}), Value::Null), c(json!({}), json!("stop")))
}

/// Mounts the answers of the three recordable cases, each mentioning `echo` (the key, for the canary test)
/// in its content, and an HTML fault page for `chat::broken`.
async fn endpoint(echo: &str) -> MockServer {
    let server = MockServer::start().await;
    let chat = || Mock::given(method("POST")).and(path("/v1/chat/completions"));
    let url = format!("https://example.invalid/v1/files?alt=json&key={echo}");
    chat()
        .and(wiremock::matchers::body_partial_json(json!({"stream": true})))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw(stream(&format!("one, two {echo}")), "text/event-stream")
                .insert_header("x-echo-key", echo)
                .insert_header("x-request-id", "req-123"),
        )
        .with_priority(1)
        .mount(&server)
        .await;
    let no_messages = wiremock::matchers::body_json(json!({"model": "m-1"}));
    let array_error = json!([{"error": {"code": 400, "message": format!("API key {echo} was used; see {url}"), "status": "INVALID_ARGUMENT"}}]);
    chat().and(no_messages).respond_with(ResponseTemplate::new(400).set_body_json(array_error)).with_priority(1).mount(&server).await;
    chat()
        .respond_with(ResponseTemplate::new(200).set_body_json(completion(&format!("Hello {echo} at {url}"))).insert_header("x-echo-key", echo))
        .with_priority(2)
        .mount(&server)
        .await;
    let page = format!("<!DOCTYPE html><html><body>503 upstream refused key {echo}</body></html>");
    Mock::given(path("/v1/embeddings")).respond_with(ResponseTemplate::new(503).set_body_raw(page, "text/html")).mount(&server).await;
    server
}

fn write(root: &Path, rel: &str, text: &str) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

/// A minimal project: the targets file and the given cases.
fn project(auth: &str, cases: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "cases/targets.yaml", &targets_yaml(auth));
    for (rel, text) in cases {
        write(dir.path(), rel, text);
    }
    dir
}

/// Runs the real `compat` binary with `--root`, the key variable set to `key` (or unset), no CI.
fn compat(root: &Path, args: &[&str], key: Option<&str>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_compat"));
    cmd.arg("--root").arg(root).args(args).env_remove("CI").env("INSTA_UPDATE", "always").env("NO_COLOR", "1");
    match key {
        Some(k) => cmd.env(KEY_ENV, k),
        None => cmd.env_remove(KEY_ENV),
    };
    cmd.output().expect("the compat binary runs")
}

async fn compat_async(root: &Path, args: &[&str], key: Option<&str>) -> Output {
    let (root, args, key): (PathBuf, Vec<String>, Option<String>) =
        (root.to_owned(), args.iter().map(|s| s.to_string()).collect(), key.map(str::to_owned));
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        compat(&root, &args, key.as_deref())
    })
    .await
    .unwrap()
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let p = entry.unwrap().path();
        if p.is_dir() { out.extend(files_under(&p)) } else { out.push(p) }
    }
    out
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

const BEARER: &str = "{ env: COMPAT_LIVE_TEST_KEY }";

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_key_stops_a_live_run_before_any_request() {
    let server = endpoint("x").await;
    let dir = project(BEARER, &[("cases/chat/basic.yaml", CHAT_CASE)]);
    let base = format!("{}/v1/", server.uri());
    let out = compat_async(dir.path(), &["run", "--live", "--target", "t", "--base-url", &base], None).await;
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "error: target `t` reads its key from $COMPAT_LIVE_TEST_KEY, which is not set; nothing was sent\n"
    );
    assert!(server.received_requests().await.unwrap().is_empty(), "nothing was sent");
    // The other way: with the key, the same run sends and passes.
    let out = compat_async(dir.path(), &["run", "--live", "--target", "t", "--base-url", &base], Some("k-123456")).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let got = server.received_requests().await.unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].headers.get("authorization").unwrap(), "Bearer k-123456");
}

#[tokio::test(flavor = "multi_thread")]
async fn record_needs_live() {
    let dir = project(BEARER, &[("cases/chat/basic.yaml", CHAT_CASE)]);
    let out = compat_async(dir.path(), &["run", "--record", "all"], None).await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("--live"), "{}", text(&out));
    let out = compat_async(dir.path(), &["run", "--live", "--record", "sometimes"], Some("k")).await;
    assert!(text(&out).contains("`sometimes` is not a record mode (none, missing, all)"), "{}", text(&out));
}

#[tokio::test(flavor = "multi_thread")]
async fn recorded_fixtures_replay_green_at_once_and_missing_keeps_them() {
    let server = endpoint("world").await;
    let cases =
        [("cases/chat/basic.yaml", CHAT_CASE), ("cases/streaming/text.yaml", STREAM_CASE), ("cases/errors/missing_messages.yaml", ERROR_CASE)];
    let dir = project(BEARER, &cases);
    let root = dir.path();
    let base = format!("{}/v1/", server.uri());

    let live = compat_async(root, &["run", "--live", "--target", "t", "--base-url", &base, "--record", "all"], Some("k-123456")).await;
    assert_eq!(live.status.code(), Some(0), "{}", text(&live));
    let stdout = String::from_utf8_lossy(&live.stdout);
    for f in ["chat/basic", "streaming/text", "errors/missing_messages"] {
        assert!(stdout.contains(&format!("recorded fixtures/t/{f}.json\n")), "{stdout}");
    }

    let chat = read_json(&root.join("fixtures/t/chat/basic.json"));
    assert_eq!(chat["origin"]["kind"], "recorded");
    assert_eq!(chat["origin"]["model"], "m-1");
    assert_eq!(chat["origin"]["base_url"], json!(base));
    let date = chat["origin"]["date"].as_str().unwrap();
    assert!(date.len() == 20 && date.ends_with('Z') && date.starts_with("20"), "{date}");
    assert_eq!(
        chat["request"],
        json!({"method": "POST", "path": "chat/completions", "body": {"model": "m-1", "messages": [{"role": "user", "content": "hi"}]}})
    );
    assert_eq!(chat["response"]["headers"], json!({"content-type": "application/json"}), "volatile headers dropped");
    assert_eq!(chat["response"]["body"]["choices"][0]["message"]["content"], "Hello world at https://example.invalid/v1/files?alt=json&key=REDACTED");

    let streamed = read_json(&root.join("fixtures/t/streaming/text.json"));
    let events = streamed["response"]["events"].as_array().unwrap();
    assert_eq!(events.len(), 3, "event by event");
    assert_eq!(events[0]["data"]["choices"][0]["delta"]["content"], "one, two world");
    assert_eq!(events[2]["data"], "[DONE]");
    assert_eq!(streamed["response"]["headers"], json!({"content-type": "text/event-stream"}));
    let error = read_json(&root.join("fixtures/t/errors/missing_messages.json"));
    assert_eq!((error["response"]["status"].as_u64(), error["response"]["body"].is_array()), (Some(400), true));

    // Replay, no key, no server: the same verdicts, the snapshots written by the live run match.
    drop(server);
    let replay = compat_async(root, &["run", "--target", "t"], None).await;
    assert_eq!(replay.status.code(), Some(0), "{}", text(&replay));
    assert!(String::from_utf8_lossy(&replay.stdout).contains("3 outcomes: 2 pass, 1 known; 0 failing\n"), "{}", text(&replay));
    assert!(!text(&replay).contains("snapshot"), "the snapshots written live match the replay: {}", text(&replay));

    // --record missing keeps them.
    let before = std::fs::read_to_string(root.join("fixtures/t/chat/basic.json")).unwrap();
    let server = endpoint("again").await;
    let base = format!("{}/v1/", server.uri());
    let again = compat_async(root, &["run", "--live", "--target", "t", "--base-url", &base, "--record", "missing"], Some("k-123456")).await;
    assert!(
        String::from_utf8_lossy(&again.stdout).contains("kept fixtures/t/chat/basic.json (it exists; --record all replaces it)\n"),
        "{}",
        text(&again)
    );
    assert_eq!(std::fs::read_to_string(root.join("fixtures/t/chat/basic.json")).unwrap(), before);
    // --record none (the default) writes nothing.
    std::fs::remove_file(root.join("fixtures/t/chat/basic.json")).unwrap();
    let none = compat_async(root, &["run", "--live", "--target", "t", "--base-url", &base], Some("k-123456")).await;
    assert!(!String::from_utf8_lossy(&none.stdout).contains("recorded"), "{}", text(&none));
    assert!(!root.join("fixtures/t/chat/basic.json").exists());
}

/// The canary: the key travels in `x-goog-api-key`, the server echoes it in JSON bodies, SSE events, headers,
/// `key=` URLs and an HTML fault page. After a live run with `--record all`, no file under the project and
/// no printed line holds it.
#[tokio::test(flavor = "multi_thread")]
async fn a_canary_key_lands_in_no_file_and_no_printed_line() {
    let server = endpoint(CANARY).await;
    let cases = [
        ("cases/chat/basic.yaml", CHAT_CASE),
        ("cases/chat/broken.yaml", BROKEN_CASE),
        ("cases/streaming/text.yaml", STREAM_CASE),
        ("cases/errors/missing_messages.yaml", ERROR_CASE),
    ];
    let dir = project("{ env: COMPAT_LIVE_TEST_KEY, header: x-goog-api-key, scheme: \"\" }", &cases);
    let root = dir.path();
    let base = format!("{}/v1/", server.uri());
    let out = compat_async(root, &["run", "--live", "--target", "t", "--base-url", &base, "--record", "all"], Some(CANARY)).await;

    // The key was really used, and really echoed.
    let got = server.received_requests().await.unwrap();
    assert_eq!(got.len(), 1 + 2 + 1 + 1, "basic, broken (503, retried once), text, missing_messages");
    assert!(got.iter().all(|r| r.headers.get("x-goog-api-key").unwrap() == CANARY));
    assert!(got.iter().all(|r| r.headers.get("authorization").is_none()));

    let printed = text(&out);
    assert!(printed.contains("recorded fixtures/t/chat/basic.json"), "{printed}");
    assert!(printed.contains("not recorded fixtures/t/chat/broken.json: the run broke (status 503"), "{printed}");
    assert!(!printed.contains(CANARY), "printed:\n{printed}");
    let files = files_under(root);
    assert!(files.len() >= 3 + 4 + 3, "fixtures and snapshots were written: {files:?}");
    for f in &files {
        let bytes = std::fs::read(f).unwrap();
        assert!(!String::from_utf8_lossy(&bytes).contains(CANARY), "{} holds the key", f.display());
    }
    let chat = std::fs::read_to_string(root.join("fixtures/t/chat/basic.json")).unwrap();
    assert!(chat.contains("Hello REDACTED at https://example.invalid/v1/files?alt=json&key=REDACTED"), "{chat}");
}

// ---- repeat: k ----------------------------------------------------------------------------------------

const REPEAT_CASE: &str = "id: repeated
feature: chat
title: t
doc: d
request:
  path: chat/completions
  auth: invalid
  body: { model: \"{{model}}\", messages: [{ role: user, content: hi }] }
expect:
  status: 200
  schema: chat.completion
  snapshot: false
repeat: 3
";

async fn run_repeated(case_yaml: &str, answers: Vec<Value>) -> (Outcome, usize) {
    let server = MockServer::start().await;
    let n = answers.len();
    for (i, body) in answers.into_iter().enumerate() {
        let mock = Mock::given(method("POST")).respond_with(ResponseTemplate::new(200).set_body_json(body)).with_priority(1 + i as u8);
        // The last answer serves any further request; the others once each, in order.
        let mock = if i + 1 < n { mock.up_to_n_times(1) } else { mock };
        mock.mount(&server).await;
    }
    let target = parse_targets(&targets_yaml(BEARER)).unwrap().remove(0);
    let loaded = parse_case("cases/chat/repeated.yaml", case_yaml).unwrap_or_else(|e| panic!("{e}"));
    let ctx = RunContext::live(
        std::env::temp_dir(),
        Arc::new(SchemaSet::builtin().unwrap()),
        Some(format!("{}/v1/", server.uri())),
        &[&target],
        compat::snapshot::SnapshotPolicy::Strict,
    );
    let o = run_case(&ctx, &loaded, &target).await;
    let sent = server.received_requests().await.unwrap().len();
    (o, sent)
}

#[tokio::test]
async fn repeat_reports_pass_k_of_k() {
    let (o, sent) = run_repeated(REPEAT_CASE, vec![completion("hi")]).await;
    assert_eq!((o.verdict(), sent, o.timing.attempts), (Verdict::Pass, 3, 3));
    let r = o.repeats.unwrap();
    assert_eq!((r.passed, r.total), (3, 3));
}

#[tokio::test]
async fn repeat_fails_when_one_run_of_k_diverges() {
    let mut bad = completion("hi");
    bad["choices"][0].as_object_mut().unwrap().remove("finish_reason");
    let (o, sent) = run_repeated(REPEAT_CASE, vec![completion("hi"), bad, completion("hi")]).await;
    assert_eq!((o.verdict(), sent), (Verdict::Diverges, 3));
    let r = o.repeats.as_ref().unwrap();
    assert_eq!((r.passed, r.total), (2, 3));
    assert!(o.findings().iter().any(|f| f.path == "$.choices[0].finish_reason"), "{:#?}", o.findings());
    assert!(compat::report::terminal::render_outcome(&o).contains("runs: 2 of 3 passed"));
}

#[tokio::test]
async fn repeat_turns_fixed_when_a_known_divergence_shows_in_some_runs_only() {
    let case = format!(
        "{REPEAT_CASE}known_divergences:\n  - targets: [t]\n    rule: schema.spec\n    path: $.choices[*].logprobs\n    reason: sometimes no logprobs\n    link: test\n"
    );
    let mut without = completion("hi");
    without["choices"][0].as_object_mut().unwrap().remove("logprobs");
    // Known in every run: `known`, 3 of 3.
    let (o, _) = run_repeated(&case, vec![without.clone()]).await;
    assert_eq!((o.verdict(), o.repeats.as_ref().unwrap().passed), (Verdict::Known, 3));
    // Known in two runs of three: the verdict needs all three, so `fixed`, 2 of 3.
    let (o, _) = run_repeated(&case, vec![without.clone(), completion("hi"), without]).await;
    assert_eq!((o.verdict(), o.repeats.as_ref().unwrap().passed), (Verdict::Fixed, 2));
}

#[tokio::test]
async fn a_repeated_case_snapshots_its_last_run() {
    let case = REPEAT_CASE.replace("  snapshot: false\n", "  snapshot: true\n");
    let mut first = completion("hi");
    first["x_first_run_only"] = json!(true);
    for (answers, last_has_it) in [(vec![first.clone(), completion("hi")], false), (vec![completion("hi"), first], true)] {
        let (o, sent) = run_repeated(&case, answers).await;
        assert_eq!(sent, 3);
        let content = &o.snapshot.as_ref().expect("a snapshot is taken").content;
        assert_eq!(content.contains("x_first_run_only"), last_has_it, "{content}");
    }
}

/// The snapshot policy of live runs: a conformant server and a new target with no snapshots is green, prints no
/// insta text and writes nothing into the project; a stored snapshot of another shape is a note, not a failure,
/// unless `--snapshots strict`; `--snapshots update` writes `.snap.new` files for review.
#[tokio::test(flavor = "multi_thread")]
async fn live_snapshots_are_notes_unless_strict_and_written_only_when_asked() {
    let server = endpoint("plain").await;
    let dir = project(BEARER, &[("cases/chat/basic.yaml", CHAT_CASE)]);
    let reports = tempfile::tempdir().unwrap();
    let base = format!("{}/v1/", server.uri());
    let args = |extra: &[&str]| {
        let mut a = vec!["run", "--live", "--target", "t", "--base-url", &base, "--reports", reports.path().to_str().unwrap()];
        a.extend_from_slice(extra);
        a.into_iter().map(str::to_owned).collect::<Vec<_>>()
    };
    let root = dir.path().to_owned();
    let run = |extra: &[&str]| {
        let (a, root) = (args(extra), root.clone());
        async move {
            let a: Vec<&str> = a.iter().map(String::as_str).collect();
            compat_async(&root, &a, Some("k-long-enough-key")).await
        }
    };
    let before = files_under(dir.path());
    let out = run(&[]).await;
    let printed = text(&out);
    assert_eq!(out.status.code(), Some(0), "{printed}");
    for noise in ["insta", "Stopped on the first failure", "panicked", ".snap.new"] {
        assert!(!printed.contains(noise), "`{noise}` in:\n{printed}");
    }
    assert_eq!(files_under(dir.path()), before, "a live run wrote into the project");

    // A stored snapshot of another shape: a note in the terminal and results.json, exit 0.
    write(dir.path(), "snapshots/t/chat__basic.snap", "---\nsource: harness/src/snapshot.rs\n---\n{\n  \"status\": 200,\n  \"body\": {}\n}\n");
    let out = run(&[]).await;
    let printed = text(&out);
    assert_eq!(out.status.code(), Some(0), "{printed}");
    assert!(printed.contains("snapshot changes (notes, not failures; diffs in the report): t::chat::basic"), "{printed}");
    let results = read_json(&reports.path().join("results.json"));
    let snap = &results["outcomes"][0]["snapshot"];
    assert_eq!((snap["status"].as_str(), snap["gating"].as_bool()), (Some("changed"), Some(false)), "{snap}");
    assert!(std::fs::read_to_string(reports.path().join("junit.xml")).unwrap().contains("name=\"snapshot_note\" value=\"changed\""));

    let strict = run(&["--snapshots", "strict"]).await;
    assert_eq!(strict.status.code(), Some(1), "{}", text(&strict));
    assert!(text(&strict).contains("snapshot snapshots/t/chat__basic.snap changed:"), "{}", text(&strict));

    let update = run(&["--snapshots", "update"]).await;
    assert_eq!(update.status.code(), Some(0), "{}", text(&update));
    let pending = dir.path().join("snapshots/t/chat__basic.snap.new");
    assert!(pending.is_file() && std::fs::read_to_string(&pending).unwrap().contains("\"object\": \"chat.completion\""));
}

/// Conditional known divergences: one that shows only on some answers (`when: sometimes`, or due only when a path
/// of the answer holds a value) is not `fixed` when the answer did not trigger it, and a repeated case says in
/// how many runs it was observed.
#[tokio::test]
async fn a_conditional_known_divergence_not_triggered_is_not_fixed() {
    let declare = |when: &str| {
        format!(
            "{REPEAT_CASE}known_divergences:\n  - targets: [t]\n    rule: semantic.usage\n    when: {when}\n    reason: thinking tokens counted in the total only\n    link: gemini-compat.md #3\n"
        )
        .replace("repeat: 3", "repeat: 1")
    };
    let usage = |prompt: u64, completion_tokens: u64, total: u64, reasoning: u64| {
        let mut c = completion("hi");
        c["usage"] = json!({"prompt_tokens": prompt, "completion_tokens": completion_tokens, "total_tokens": total,
            "completion_tokens_details": {"reasoning_tokens": reasoning}});
        c
    };
    // The 2026 round-trip recording's arithmetic (66 + 6 = 72): the model did not think, nothing to see.
    let (o, _) = run_repeated(&declare("sometimes"), vec![usage(66, 6, 72, 0)]).await;
    assert_eq!(o.verdict(), Verdict::Pass, "{:#?}", o.known());
    assert!(!o.known()[0].due && o.known()[0].observed == 0);
    assert!(!compat::report::terminal::render_outcome(&o).contains("fixed"), "{}", compat::report::terminal::render_outcome(&o));
    let (o, _) = run_repeated(&declare("sometimes"), vec![usage(17, 2, 49, 0)]).await;
    assert_eq!(o.verdict(), Verdict::Known);
    // Due only when reasoning tokens were spent: not spent and not seen is fine; spent and not seen is news.
    let when_thought = "{ present: \"$.usage.completion_tokens_details.reasoning_tokens\" }";
    let (o, _) = run_repeated(&declare(when_thought), vec![usage(66, 6, 72, 0)]).await;
    assert_eq!(o.verdict(), Verdict::Pass);
    let (o, _) = run_repeated(&declare(when_thought), vec![usage(66, 6, 72, 30)]).await;
    assert_eq!(o.verdict(), Verdict::Fixed);
    // Repeated: observed in 2 of 3 runs, known, and the count is kept.
    let case = declare("sometimes").replace("repeat: 1", "repeat: 3");
    let (o, _) = run_repeated(&case, vec![usage(17, 2, 49, 0), usage(66, 6, 72, 0), usage(17, 2, 49, 0)]).await;
    assert_eq!((o.verdict(), o.known()[0].runs_observed), (Verdict::Known, Some(2)));
    assert_eq!(o.repeats.as_ref().unwrap().passed, 3);
}

/// Honest timing: two cases through one pacer at 20 requests a minute — the second waits its slot, and that wait
/// is `queued_ms`, not time on the wire; the wire time shows the server's delay as time to first byte.
#[tokio::test(flavor = "multi_thread")]
async fn time_queued_behind_the_pacer_is_apart_from_time_on_the_wire() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(completion("hi")).set_delay(std::time::Duration::from_millis(150)))
        .mount(&server)
        .await;
    let mut target = parse_targets(&targets_yaml(BEARER)).unwrap().remove(0);
    target.config.pacing.rpm = 20; // a slot every 3 s: wide enough that a loaded machine cannot blur queue and wire
    let loaded = parse_case("cases/chat/repeated.yaml", &REPEAT_CASE.replace("repeat: 3", "repeat: 1")).unwrap();
    let ctx = RunContext::live(
        std::env::temp_dir(),
        Arc::new(SchemaSet::builtin().unwrap()),
        Some(format!("{}/v1/", server.uri())),
        &[&target],
        compat::snapshot::SnapshotPolicy::Note,
    );
    let first = run_case(&ctx, &loaded, &target).await;
    let second = run_case(&ctx, &loaded, &target).await;
    let t = &second.timing;
    let (queued, head, body) = (t.queued_ms.unwrap(), t.first_byte_ms.unwrap(), t.body_ms.unwrap());
    assert!(queued > 1500.0, "the second waited for its slot: {t:?}");
    assert!(first.timing.queued_ms.unwrap() < 1500.0, "the first slot is free (no wait near a queued one's): {:?}", first.timing);
    assert!(head >= 140.0 && head < queued && body < queued, "the wire time is the server's: {t:?}");
    assert!(t.duration_ms >= queued + head, "{t:?}");
}

/// With a baseline, each known divergence carries how many nights it was observed: a chain of nightly runs
/// counts how often one that shows only sometimes shows.
#[tokio::test]
async fn night_counts_carry_from_the_baseline() {
    let case = format!(
        "{}known_divergences:\n  - targets: [t]\n    rule: semantic.usage\n    when: sometimes\n    reason: r\n    link: l\n",
        REPEAT_CASE.replace("repeat: 3", "repeat: 1")
    );
    let with_usage = |total: u64| {
        let mut c = completion("hi");
        c["usage"]["total_tokens"] = json!(total);
        c
    };
    let (night1, _) = run_repeated(&case, vec![with_usage(9)]).await; // observed
    let (mut night2, _) = run_repeated(&case, vec![with_usage(2)]).await; // not observed
    compat::outcome::carry_night_counts(std::slice::from_mut(&mut night2), std::slice::from_ref(&night1));
    assert_eq!(night2.known()[0].nights_observed, Some([1, 2]));
    let (mut night3, _) = run_repeated(&case, vec![with_usage(9)]).await;
    compat::outcome::carry_night_counts(std::slice::from_mut(&mut night3), &[night2]);
    assert_eq!((night3.verdict(), night3.known()[0].nights_observed), (Verdict::Known, Some([2, 3])));
}
