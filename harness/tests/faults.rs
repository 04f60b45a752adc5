//! Fault tests: live runs against misbehaving servers this test starts on loopback — wiremock for the
//! faults it can serve, a raw tokio TCP server for those it cannot (a reset in the middle of a body, a stall,
//! a server that never answers). Each fault must come out as the issue says: retried and `flaky`, or `error`
//! with its cause, or — for an endpoint that answered in the wrong shape — a divergence. Never a pass that
//! hides a fault, never a divergence that is really a bad night.
//!
//! Timeouts and backoffs are tens of milliseconds (the target below), so the whole file runs in seconds.
//! The cases send `auth: invalid` (a fixed dummy key): these servers ignore credentials, and no environment
//! variable is needed.

mod http_support;

use http_support::read_request;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use compat::case::load::parse_case;
use compat::outcome::{ErrorKind, Outcome, Verdict};
use compat::pacing::Pacer;
use compat::run::{RunContext, RunMode, run_case};
use compat::schema::SchemaSet;
use compat::target::{Target, parse_targets};
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const TARGET: &str = "targets:
  t:
    base_url: https://example.invalid/v1/
    auth: { env: COMPAT_FAULTS_UNUSED_KEY }
    models: { chat: m-1 }
    pacing: { rpm: 0, concurrency: 4, max_retries: 2, backoff_ms: 20, max_backoff_ms: 2000 }
    timeouts: { connect_ms: 1000, first_byte_ms: 1500, idle_ms: 300 }
";

const CHAT_CASE: &str = "id: basic
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
";

const STREAM_CASE: &str = "id: text
feature: streaming
title: t
doc: d
request:
  path: chat/completions
  auth: invalid
  body: { model: \"{{model}}\", stream: true, messages: [{ role: user, content: hi }] }
expect:
  status: 200
  schema: chat.completion.chunk
  snapshot: false
";

const ERROR_CASE: &str = "id: missing_messages
feature: errors
title: t
doc: d
request:
  path: chat/completions
  auth: invalid
  body: { model: \"{{model}}\" }
expect:
  status: 400
  schema: error
  snapshot: false
";

fn completion() -> Value {
    json!({
        "id": "chatcmpl-1", "object": "chat.completion", "created": 1741569952, "model": "m-1",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello!", "refusal": null, "annotations": []},
                     "logprobs": null, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}
    })
}

fn chunk(delta: Value, finish: Option<&str>) -> String {
    let c = json!({"id": "c-1", "object": "chat.completion.chunk", "created": 1741569952, "model": "m-1",
                   "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}]});
    format!("data: {c}\n\n")
}

fn full_stream() -> String {
    format!("{}{}data: [DONE]\n\n", chunk(json!({"role": "assistant", "content": "Hi"}), None), chunk(json!({}), Some("stop")))
}

fn schemas() -> Arc<SchemaSet> {
    static S: OnceLock<Arc<SchemaSet>> = OnceLock::new();
    Arc::clone(S.get_or_init(|| Arc::new(SchemaSet::builtin().expect("builtin schemas compile"))))
}

fn target() -> Target {
    parse_targets(TARGET).unwrap().remove(0)
}

/// Runs `case_yaml` live against `base` (ending in `/`) through the target's pacer.
async fn run_live(case_yaml: &str, base: &str) -> Outcome {
    let target = target();
    let parsed: Value = serde_saphyr::from_str(case_yaml).unwrap();
    let rel = format!("cases/{}/{}.yaml", parsed["feature"].as_str().unwrap(), parsed["id"].as_str().unwrap());
    let loaded = parse_case(&rel, case_yaml).unwrap_or_else(|e| panic!("{e}"));
    let ctx = RunContext::live(std::env::temp_dir(), schemas(), Some(base.to_owned()), &[&target], compat::snapshot::SnapshotPolicy::Strict);
    run_case(&ctx, &loaded, &target).await
}

fn error_of(o: &Outcome) -> (ErrorKind, &str) {
    assert_eq!(o.verdict(), Verdict::Error, "{o:#?}");
    let e = o.error().unwrap();
    (e.kind, e.message.as_str())
}

async fn wiremock() -> (MockServer, String) {
    let server = MockServer::start().await;
    let base = format!("{}/v1/", server.uri());
    (server, base)
}

fn chat() -> wiremock::MockBuilder {
    Mock::given(method("POST")).and(path("/v1/chat/completions"))
}

// ---- retries and pacing -------------------------------------------------------------------------------

#[tokio::test]
async fn a_429_with_retry_after_then_success_passes_as_flaky_after_waiting() {
    let (server, base) = wiremock().await;
    chat()
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "1").set_body_json(json!({"error": {"message": "slow down"}})))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    chat().respond_with(ResponseTemplate::new(200).set_body_json(completion())).mount(&server).await;
    let started = Instant::now();
    let o = run_live(CHAT_CASE, &base).await;
    assert_eq!(o.verdict(), Verdict::Pass, "{o:#?}");
    assert_eq!((o.timing.attempts, o.timing.retries, o.timing.flaky), (2, 1, true));
    assert!(started.elapsed() >= Duration::from_secs(1), "Retry-After: 1 was honoured ({:?})", started.elapsed());
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
}

#[tokio::test]
async fn a_clean_first_answer_is_not_flaky() {
    let (server, base) = wiremock().await;
    chat().respond_with(ResponseTemplate::new(200).set_body_json(completion())).mount(&server).await;
    let o = run_live(CHAT_CASE, &base).await;
    assert_eq!((o.verdict(), o.timing.attempts, o.timing.retries, o.timing.flaky), (Verdict::Pass, 1, 0, false));
}

#[tokio::test]
async fn a_503_storm_exhausts_the_retries_and_is_an_endpoint_error() {
    let (server, base) = wiremock().await;
    chat().respond_with(ResponseTemplate::new(503).set_body_json(json!({"error": {"message": "overloaded"}}))).mount(&server).await;
    let o = run_live(CHAT_CASE, &base).await;
    let (kind, message) = error_of(&o);
    assert_eq!(kind, ErrorKind::Endpoint);
    assert_eq!(message, "status 503 after 3 attempts (expected 200): the endpoint is overloaded or failing");
    assert_eq!((o.timing.attempts, o.timing.flaky), (3, false), "1 + max_retries 2");
    assert!(o.findings().is_empty(), "a fault is never a divergence");
}

#[tokio::test]
async fn every_retryable_status_is_retried_and_other_4xx_are_not() {
    for status in [429u16, 500, 502, 503, 504] {
        let (server, base) = wiremock().await;
        chat().respond_with(ResponseTemplate::new(status)).up_to_n_times(1).with_priority(1).mount(&server).await;
        chat().respond_with(ResponseTemplate::new(200).set_body_json(completion())).mount(&server).await;
        let o = run_live(CHAT_CASE, &base).await;
        assert_eq!((o.verdict(), o.timing.attempts, o.timing.flaky), (Verdict::Pass, 2, true), "{status}");
    }
    for status in [400u16, 404, 409, 422] {
        let (server, base) = wiremock().await;
        chat().respond_with(ResponseTemplate::new(status).set_body_json(json!({"error": {"message": "no"}}))).mount(&server).await;
        let o = run_live(CHAT_CASE, &base).await;
        assert_eq!(server.received_requests().await.unwrap().len(), 1, "{status} is never retried");
        assert_eq!(o.verdict(), Verdict::Diverges, "an unexpected {status} is the endpoint's answer: {o:#?}");
        assert_eq!(o.findings()[0].rule, "status");
    }
}

#[tokio::test]
async fn an_unexpected_401_is_an_endpoint_error_not_a_divergence() {
    let (server, base) = wiremock().await;
    chat().respond_with(ResponseTemplate::new(401).set_body_json(json!({"error": {"message": "bad key"}}))).mount(&server).await;
    let o = run_live(CHAT_CASE, &base).await;
    assert_eq!(error_of(&o), (ErrorKind::Endpoint, "status 401: the key in $COMPAT_FAULTS_UNUSED_KEY was refused"));
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}

// ---- bodies in the wrong shape ------------------------------------------------------------------------

#[tokio::test]
async fn an_html_502_page_is_an_endpoint_error() {
    let (server, base) = wiremock().await;
    let page = "<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title></head><body><h1>Bad Gateway</h1></body></html>";
    chat().respond_with(ResponseTemplate::new(502).set_body_raw(page, "text/html; charset=UTF-8")).mount(&server).await;
    let o = run_live(CHAT_CASE, &base).await;
    assert_eq!(error_of(&o), (ErrorKind::Endpoint, "status 502 with an HTML page instead of an API answer (a gateway or proxy fault)"));
    assert_eq!(o.timing.attempts, 3, "a 502 is retried first");
}

#[tokio::test]
async fn an_html_page_is_an_endpoint_error_at_any_status_even_without_its_content_type() {
    let (server, base) = wiremock().await;
    chat()
        .respond_with(ResponseTemplate::new(200).set_body_raw("<html><body>Sign in</body></html>", "application/octet-stream"))
        .mount(&server)
        .await;
    let o = run_live(CHAT_CASE, &base).await;
    assert_eq!(error_of(&o).0, ErrorKind::Endpoint);
}

#[tokio::test]
async fn plain_text_where_json_was_due_is_a_breaking_divergence_not_an_error() {
    let (server, base) = wiremock().await;
    chat().respond_with(ResponseTemplate::new(200).set_body_raw("Hello!", "text/plain")).mount(&server).await;
    let o = run_live(CHAT_CASE, &base).await;
    assert_eq!(o.verdict(), Verdict::Diverges, "{o:#?}");
    assert_eq!((o.findings()[0].rule.as_str(), o.severity()), ("body.json", Some(compat::rules::Severity::Breaking)));
}

#[tokio::test]
async fn an_array_rooted_json_error_is_a_breaking_divergence_not_an_error() {
    let (server, base) = wiremock().await;
    let body =
        json!([{"error": {"code": 400, "message": "* GenerateContentRequest.contents: contents is not specified", "status": "INVALID_ARGUMENT"}}]);
    chat().respond_with(ResponseTemplate::new(400).set_body_json(body)).mount(&server).await;
    let o = run_live(ERROR_CASE, &base).await;
    assert_eq!(o.verdict(), Verdict::Diverges, "{o:#?}");
    assert_eq!(o.severity(), Some(compat::rules::Severity::Breaking));
    assert!(o.findings().iter().any(|f| f.rule == "schema.client" && f.path == "$"), "{:#?}", o.findings());
    assert_eq!(o.timing.attempts, 1);
    // The other way: the object-rooted error the spec describes passes.
    let (server, base) = wiremock().await;
    let body = json!({"error": {"message": "messages is required", "type": "invalid_request_error", "param": "messages", "code": null}});
    chat().respond_with(ResponseTemplate::new(400).set_body_json(body)).mount(&server).await;
    assert_eq!(run_live(ERROR_CASE, &base).await.verdict(), Verdict::Pass);
}

#[tokio::test]
async fn a_10_mb_body_is_read_and_checked_without_trouble() {
    let (server, base) = wiremock().await;
    let mut big = completion();
    big["choices"][0]["message"]["content"] = json!("lorem ipsum ".repeat(10 * 1024 * 1024 / 12));
    let bytes = serde_json::to_vec(&big).unwrap();
    assert!(bytes.len() >= 10 * 1024 * 1024);
    chat().respond_with(ResponseTemplate::new(200).set_body_raw(bytes, "application/json")).mount(&server).await;
    let started = Instant::now();
    let o = run_live(CHAT_CASE, &base).await;
    assert_eq!(o.verdict(), Verdict::Pass, "{:?}", o.error());
    assert!(started.elapsed() < Duration::from_secs(20), "{:?}", started.elapsed());
    // And 10 MB that is not JSON is the divergence it is, not a crash.
    let (server, base) = wiremock().await;
    chat().respond_with(ResponseTemplate::new(200).set_body_raw(vec![b'x'; 10 * 1024 * 1024], "text/plain")).mount(&server).await;
    let o = run_live(CHAT_CASE, &base).await;
    assert_eq!((o.verdict(), o.findings()[0].rule.as_str()), (Verdict::Diverges, "body.json"));
}

// ---- streams ------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_whole_stream_passes() {
    let (server, base) = wiremock().await;
    chat().respond_with(ResponseTemplate::new(200).set_body_raw(full_stream(), "text/event-stream")).mount(&server).await;
    let o = run_live(STREAM_CASE, &base).await;
    assert_eq!(o.verdict(), Verdict::Pass, "{o:#?}");
}

#[tokio::test]
async fn a_stream_cut_before_done_is_a_truncated_error() {
    let (server, base) = wiremock().await;
    let cut = chunk(json!({"role": "assistant", "content": "Hi"}), None);
    chat().respond_with(ResponseTemplate::new(200).set_body_raw(cut, "text/event-stream")).mount(&server).await;
    let o = run_live(STREAM_CASE, &base).await;
    assert_eq!(error_of(&o), (ErrorKind::Truncated, "the stream ended after 1 events with neither [DONE] nor a finish_reason"));
    assert!(o.findings().is_empty());
}

#[tokio::test]
async fn a_stream_cut_inside_an_event_is_a_truncated_error() {
    let (server, base) = wiremock().await;
    let full = full_stream();
    let cut = &full[..full.len() / 2];
    chat().respond_with(ResponseTemplate::new(200).set_body_raw(cut.to_owned(), "text/event-stream")).mount(&server).await;
    let o = run_live(STREAM_CASE, &base).await;
    assert_eq!(error_of(&o).0, ErrorKind::Truncated);
}

/// A raw HTTP/1.1 server: for each of up to `connections` connections it reads the request, then writes
/// `head` and `parts` (pausing `pause` between parts) and ends as `end` says. It stops by itself.
#[derive(Clone, Copy)]
enum End {
    /// Close normally.
    Close,
    /// Abort with a TCP reset (SO_LINGER 0).
    Reset,
    /// Keep the connection open, silent, for this long, then close.
    Stall(Duration),
}

async fn raw_server(connections: usize, head: &'static str, parts: Vec<String>, end: End) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        for _ in 0..connections {
            let Ok(Ok((mut socket, _))) = tokio::time::timeout(Duration::from_secs(10), listener.accept()).await else { return };
            let parts = parts.clone();
            tokio::spawn(async move {
                read_request(&mut socket).await;
                let _ = socket.write_all(head.as_bytes()).await;
                for p in parts {
                    let _ = socket.write_all(format!("{:x}\r\n{p}\r\n", p.len()).as_bytes()).await;
                    let _ = socket.flush().await;
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                match end {
                    End::Close => {
                        let _ = socket.write_all(b"0\r\n\r\n").await;
                    }
                    End::Reset => {
                        // Linger 0 makes the close an immediate RST (so the drop does not block).
                        #[allow(deprecated)]
                        let _ = socket.set_linger(Some(Duration::ZERO));
                    }
                    End::Stall(d) => tokio::time::sleep(d).await,
                }
                drop(socket);
            });
        }
    });
    format!("http://{addr}/v1/")
}

const SSE_HEAD: &str = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n";

#[tokio::test]
async fn the_raw_server_serves_a_whole_stream_that_passes() {
    let parts = vec![chunk(json!({"role": "assistant", "content": "Hi"}), None), chunk(json!({}), Some("stop")), "data: [DONE]\n\n".into()];
    let base = raw_server(1, SSE_HEAD, parts, End::Close).await;
    let o = run_live(STREAM_CASE, &base).await;
    assert_eq!(o.verdict(), Verdict::Pass, "{o:#?}");
}

#[tokio::test]
async fn a_reset_in_the_middle_of_a_stream_is_retried_then_a_truncated_error() {
    let parts = vec![chunk(json!({"role": "assistant", "content": "Hi"}), None)];
    let base = raw_server(3, SSE_HEAD, parts, End::Reset).await;
    let o = run_live(STREAM_CASE, &base).await;
    let (kind, message) = error_of(&o);
    assert_eq!(kind, ErrorKind::Truncated);
    assert!(message.starts_with("the connection broke after 1 events: "), "{message}");
    assert_eq!(o.timing.attempts, 3, "a reset is retried");
    assert!(o.findings().is_empty());
}

#[tokio::test]
async fn a_stream_that_stalls_hits_the_idle_timeout() {
    let parts = vec![chunk(json!({"role": "assistant", "content": "Hi"}), None)];
    // The server stalls for a minute: ending well before that (a bound no loaded machine nears) is the idle timeout.
    let base = raw_server(1, SSE_HEAD, parts, End::Stall(Duration::from_secs(60))).await;
    let started = Instant::now();
    let o = run_live(STREAM_CASE, &base).await;
    assert_eq!(error_of(&o), (ErrorKind::Timeout, "the body stalled: nothing for 300 ms after 1 events"));
    assert_eq!(o.timing.attempts, 1, "a stall is reported, not retried");
    assert!(started.elapsed() < Duration::from_secs(30), "{:?}", started.elapsed());
}

#[tokio::test]
async fn a_server_that_never_answers_hits_the_first_byte_timeout() {
    let base = raw_server(1, "", Vec::new(), End::Stall(Duration::from_secs(4))).await;
    // The stalled server writes nothing at all, not even a head.
    let o = run_live(CHAT_CASE, &base).await;
    assert_eq!(error_of(&o), (ErrorKind::Timeout, "no response head within 1500 ms"));
}

/// A port nobody listens on.
fn refused_base() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{addr}/v1/")
}

#[tokio::test]
async fn a_refused_connection_to_a_target_that_never_answered_is_unreachable_at_once() {
    let o = run_live(CHAT_CASE, &refused_base()).await;
    let (kind, message) = error_of(&o);
    assert_eq!(kind, ErrorKind::Unreachable);
    assert!(message.starts_with("cannot connect: "), "{message}");
    assert_eq!(o.timing.attempts, 1, "not retried: nothing of this target ever answered");
}

/// Issue 9: a wrong port ends every case of the target in under 2 s, with the default pacing of a free
/// Gemini key (10 rpm, 2 in flight, 4 retries from 1 s): one case meets the refusal, the rest are not sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_port_ends_every_case_of_the_target_within_two_seconds() {
    let mut target = target();
    target.config.pacing = compat::target::Pacing::default();
    let cases: Vec<_> = (0..12)
        .map(|i| {
            let yaml = CHAT_CASE.replace("id: basic", &format!("id: basic_{i:02}"));
            parse_case(&format!("cases/chat/basic_{i:02}.yaml"), &yaml).unwrap_or_else(|e| panic!("{e}"))
        })
        .collect();
    let ctx = RunContext::live(std::env::temp_dir(), schemas(), Some(refused_base()), &[&target], compat::snapshot::SnapshotPolicy::Note);
    let started = Instant::now();
    let pairs = cases.into_iter().map(|c| (Arc::new(target.clone()), Arc::new(c))).collect();
    let session = Arc::new(compat::session::Session::of_trials(
        ctx,
        compat::plan::plan_pairs(pairs, RunMode::Live),
        &[&target],
        compat::session::SnapshotSink::Policy,
    ));
    let outcomes = session.run(|_| true, 16).await;
    let took = started.elapsed();
    // Retrying each case (4 retries from 1 s) would take 15 s per case; 10 s is far from both that and the
    // milliseconds the refusal takes, so a loaded machine cannot blur the two.
    assert!(took < Duration::from_secs(10), "12 cases took {took:?}");
    assert_eq!(outcomes.len(), 12);
    assert!(outcomes.iter().all(|o| error_of(o).0 == ErrorKind::Unreachable), "{outcomes:#?}");
    let not_sent = outcomes.iter().filter(|o| error_of(o).1.starts_with("not sent: the target is unreachable (cannot connect: ")).count();
    let in_flight = target.config.pacing.concurrency as usize;
    assert!(not_sent >= 12 - in_flight, "at most the {in_flight} requests in flight met the refusal themselves: {not_sent} not sent");
    let printed = compat::report::terminal::render_run(&outcomes);
    assert!(printed.contains(&format!("error (unreachable): {not_sent} more cases of `t` were not sent")), "{printed}");
    assert_eq!(printed.matches("cannot connect").count(), 12 - not_sent, "one block per case that met the refusal:\n{printed}");
}

#[tokio::test]
async fn a_connect_failure_after_the_target_answered_is_retried_as_a_blip() {
    // One connection, then the listener closes: the second request is refused.
    const JSON_HEAD: &str = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n";
    let base = raw_server(1, JSON_HEAD, vec![completion().to_string()], End::Close).await;
    let target = target();
    let loaded = parse_case("cases/chat/basic.yaml", CHAT_CASE).unwrap();
    let ctx = RunContext::live(std::env::temp_dir(), schemas(), Some(base), &[&target], compat::snapshot::SnapshotPolicy::Note);
    assert_eq!(run_case(&ctx, &loaded, &target).await.verdict(), Verdict::Pass);
    tokio::time::sleep(Duration::from_millis(100)).await; // the server task drops its listener
    let o = run_case(&ctx, &loaded, &target).await;
    let (kind, message) = error_of(&o);
    assert_eq!(kind, ErrorKind::Transport, "{message}");
    assert_eq!(o.timing.attempts, 3, "retried: the target did answer before");
    assert!(ctx.pacers[&target.name].unreachable().is_none());
}

// ---- a 5xx where a 4xx is due ------------------------------------------------------------------------

const INTERNAL: &str = r#"{"error":{"code":500,"message":"Internal error: 'messages' is required","type":"server_error"}}"#;

#[tokio::test]
async fn a_deterministic_500_where_a_400_is_due_diverges_on_status_after_one_retry() {
    let (server, base) = wiremock().await;
    chat().respond_with(ResponseTemplate::new(500).set_body_raw(INTERNAL, "application/json")).mount(&server).await;
    let mut target = target();
    target.config.pacing.max_retries = 4;
    let loaded = parse_case("cases/errors/missing_messages.yaml", ERROR_CASE).unwrap();
    let ctx = RunContext::live(std::env::temp_dir(), schemas(), Some(base), &[&target], compat::snapshot::SnapshotPolicy::Note);
    let o = run_case(&ctx, &loaded, &target).await;
    assert_eq!((o.verdict(), o.severity()), (Verdict::Diverges, Some(compat::rules::Severity::Breaking)), "{o:#?}");
    assert_eq!(o.timing.attempts, 2, "the same body twice: the endpoint's answer, not a blip");
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
    let f = &o.findings()[0];
    assert_eq!((f.rule.as_str(), f.expected.as_str()), ("status", "400"));
    assert_eq!(f.actual, format!("500 with body {INTERNAL}"));
    assert!(f.why.as_deref().unwrap().contains("InternalServerError"), "{f:?}");
    let printed = compat::report::terminal::render_run(&[o]);
    assert!(printed.contains("Internal error: 'messages' is required"), "the body is shown in the terminal:\n{printed}");
}

#[tokio::test]
async fn a_500_whose_body_changes_keeps_the_retry_budget() {
    let (server, base) = wiremock().await;
    for i in 0..3 {
        let body = format!(r#"{{"error":{{"message":"internal error, trace {i}"}}}}"#);
        chat()
            .respond_with(ResponseTemplate::new(500).set_body_raw(body, "application/json"))
            .up_to_n_times(1)
            .with_priority(1 + i)
            .mount(&server)
            .await;
    }
    let o = run_live(ERROR_CASE, &base).await;
    assert_eq!(o.timing.attempts, 3, "1 + max_retries 2: each body differed");
    assert_eq!((o.verdict(), o.findings()[0].rule.as_str()), (Verdict::Diverges, "status"), "still a 500 where 400 is due");
}

#[tokio::test]
async fn an_html_500_page_where_a_400_is_due_keeps_the_retry_budget_and_is_an_endpoint_error() {
    let (server, base) = wiremock().await;
    let page = "<!DOCTYPE html><html><body>500 Internal Server Error</body></html>";
    chat().respond_with(ResponseTemplate::new(500).set_body_raw(page, "text/html")).mount(&server).await;
    let o = run_live(ERROR_CASE, &base).await;
    assert_eq!(error_of(&o).0, ErrorKind::Endpoint, "a gateway's page, not the endpoint's answer");
    assert_eq!(o.timing.attempts, 3, "the same page every time says nothing about the fault lasting");
}

#[tokio::test]
async fn a_transient_5xx_where_a_400_is_due_stays_an_endpoint_error() {
    for status in [502u16, 503, 504] {
        let (server, base) = wiremock().await;
        chat()
            .respond_with(ResponseTemplate::new(status).set_body_raw(r#"{"error":{"message":"overloaded"}}"#, "application/json"))
            .mount(&server)
            .await;
        let o = run_live(ERROR_CASE, &base).await;
        assert_eq!(error_of(&o).0, ErrorKind::Endpoint, "{status}");
        assert_eq!(o.timing.attempts, 3, "{status}: the whole budget, identical bodies or not");
    }
}

#[tokio::test]
async fn a_deterministic_500_where_a_200_is_due_is_an_endpoint_error_after_the_whole_budget() {
    let (server, base) = wiremock().await;
    chat().respond_with(ResponseTemplate::new(500).set_body_raw(INTERNAL, "application/json")).mount(&server).await;
    let o = run_live(CHAT_CASE, &base).await;
    let (kind, message) = error_of(&o);
    assert_eq!(kind, ErrorKind::Endpoint);
    assert_eq!(message, "status 500 after 3 attempts (expected 200): the endpoint is overloaded or failing");
}

#[tokio::test]
async fn a_body_trickling_past_the_ceiling_is_cut_by_the_deadline() {
    // 300 parts, 20 ms apart: 6 s if nothing cut the body.
    let parts: Vec<String> = (0..300).map(|_| ": keep-alive\n\n".to_owned()).collect();
    let base = raw_server(1, SSE_HEAD, parts, End::Close).await;
    let t = target();
    let request = compat::transport::WireRequest { method: compat::case::Method::Get, url: format!("{base}models"), headers: Vec::new(), body: None };
    let client = compat::transport::HttpClients::default().client(&t.config.timeouts, compat::transport::Proxy::Direct, &request.url);
    let r = compat::transport::send_within(&client, &request, &t.config.timeouts, Duration::from_millis(150)).await.unwrap();
    assert_eq!(r.ended, compat::transport::BodyEnd::Deadline(Duration::from_millis(150)), "each part came within the idle timeout");
    assert!(r.elapsed < Duration::from_secs(3), "cut by the 150 ms deadline, long before the 6 s trickle ends: {:?}", r.elapsed);
}

#[tokio::test]
async fn the_pacer_holds_its_concurrency_limit() {
    let server = MockServer::start().await;
    Mock::given(method("GET")).respond_with(ResponseTemplate::new(200).set_delay(Duration::from_millis(200))).mount(&server).await;
    let t = target();
    let client = compat::transport::HttpClients::default().client(&t.config.timeouts, compat::transport::Proxy::Direct, &server.uri());
    let request = compat::transport::WireRequest {
        method: compat::case::Method::Get,
        url: format!("{}/models", server.uri()),
        headers: Vec::new(),
        body: None,
    };
    // One at a time, 4 requests of 200 ms take at least 800 ms; four at a time, at least 200 ms and less than the
    // 800 ms they would take one by one (no tighter upper bound: a loaded machine only adds time).
    for (concurrency, at_least, below) in [(1u32, 800u64, u64::MAX), (4, 200, 800)] {
        let pacer = Arc::new(Pacer::new(compat::target::Pacing { rpm: 0, concurrency, ..t.config.pacing }));
        let started = Instant::now();
        let sends = (0..4).map(|_| {
            let (pacer, client, request, timeouts) = (Arc::clone(&pacer), Arc::clone(&client), request.clone(), t.config.timeouts);
            tokio::spawn(async move { pacer.send(&client, &request, &timeouts).await })
        });
        for s in sends.collect::<Vec<_>>() {
            assert_eq!(s.await.unwrap().response.unwrap().status, 200);
        }
        let ms = started.elapsed().as_millis() as u64;
        assert!(ms >= at_least && ms < below, "concurrency {concurrency}: 4 requests of 200 ms took {ms} ms");
    }
}

#[tokio::test]
async fn the_pacer_spaces_requests_by_its_budget() {
    let server = MockServer::start().await;
    Mock::given(method("GET")).respond_with(ResponseTemplate::new(200)).mount(&server).await;
    let t = target();
    let client = compat::transport::HttpClients::default().client(&t.config.timeouts, compat::transport::Proxy::Direct, &server.uri());
    let request = compat::transport::WireRequest {
        method: compat::case::Method::Get,
        url: format!("{}/models", server.uri()),
        headers: Vec::new(),
        body: None,
    };
    let pacer = Pacer::new(compat::target::Pacing { rpm: 600, concurrency: 8, ..t.config.pacing });
    let started = Instant::now();
    for _ in 0..4 {
        pacer.send(&client, &request, &t.config.timeouts).await;
    }
    let ms = started.elapsed().as_millis();
    assert!((300..1000).contains(&ms), "4 requests at 600 rpm start 100 ms apart: {ms} ms");
}
