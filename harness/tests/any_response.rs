//! No crash from any response, in either entry point, and a verdict that holds together: arbitrary JSON, event
//! streams and null-valued delta fields go through the very functions `compat check`
//! ([`assess::check_exchange`]) and `compat run` ([`run_case`], live against a loopback wiremock) call, and
//! every outcome must keep its trial's name, have a kind when it is an error, findings when it diverges and none
//! when it passes. Streamed tool calls whose `function` is `null` on one delta and an object on the next once
//! aborted `compat check` (issue 19); they are among the generated inputs and pinned as a regression below.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use compat::case::ObjectKind;
use compat::case::load::parse_case;
use compat::check::Observed;
use compat::import::{RecordedExchange, assess};
use compat::outcome::{Outcome, Verdict};
use compat::run::{RunContext, run_case};
use compat::schema::SchemaSet;
use compat::target::parse_targets;
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn schemas() -> Arc<SchemaSet> {
    static S: OnceLock<Arc<SchemaSet>> = OnceLock::new();
    Arc::clone(S.get_or_init(|| Arc::new(SchemaSet::builtin().expect("builtin schemas compile"))))
}

fn config() -> Config {
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(64);
    Config { cases, failure_persistence: None, ..Config::default() }
}

/// The invariants of any outcome, whatever the response.
fn holds_together(o: &Outcome, name: &str) {
    assert_eq!(o.name(), name, "the trial keeps its name");
    match o.verdict() {
        Verdict::Error => {
            let e = o.error().expect("an error has its run error");
            assert!(!e.message.is_empty(), "an error says what broke: {e:?}");
            assert!(o.findings().is_empty(), "an error judges nothing: {:?}", o.findings());
        }
        Verdict::Diverges => {
            assert!(o.findings().iter().any(|f| f.known.is_none()), "a divergence has a finding of its own: {o:#?}");
            for f in o.findings() {
                assert!(!f.rule.is_empty() && !f.message.is_empty() && compat::rules::lookup(&f.rule).is_some(), "{f:?}");
            }
            assert_eq!(o.severity(), o.findings().iter().filter(|f| f.known.is_none()).map(|f| f.severity).max(), "severity is the worst finding's");
        }
        Verdict::Pass => assert!(o.findings().iter().all(|f| f.known.is_some()), "a pass has no unexplained finding: {:?}", o.findings()),
        other => panic!("{name}: an outcome of a checked response is pass, diverges or error, not {other:?}"),
    }
}

/// Arbitrary JSON, with nulls likelier than by chance (null-valued fields are what the checks trip on).
fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        3 => Just(Value::Null),
        1 => any::<bool>().prop_map(Value::Bool),
        1 => any::<i64>().prop_map(|n| json!(n)),
        1 => any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(|f| json!(f)),
        2 => "[a-z_ é\"{}]{0,8}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    Just("index".to_owned()),
                    Just("id".to_owned()),
                    Just("function".to_owned()),
                    Just("name".to_owned()),
                    Just("arguments".to_owned()),
                    Just("role".to_owned()),
                    Just("content".to_owned()),
                    Just("tool_calls".to_owned()),
                    Just("usage".to_owned()),
                    "[a-z]{1,6}",
                ],
                inner,
                0..5
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A delta whose known fields are arbitrary (often null), tool calls included.
fn arb_delta() -> impl Strategy<Value = Value> {
    (arb_json(), arb_json(), arb_json(), arb_json(), prop::option::of(0i64..3), arb_json()).prop_map(|(role, content, function, id, index, extra)| {
        let mut call = json!({"id": id, "type": "function", "function": function});
        if let Some(i) = index {
            call["index"] = json!(i);
        }
        json!({"role": role, "content": content, "tool_calls": [call], "x": extra})
    })
}

fn stream_of(deltas: &[Value], finish: &[Value], done: &str) -> String {
    let mut s = String::new();
    for (i, d) in deltas.iter().enumerate() {
        let c = json!({"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
                       "choices": [{"index": 0, "delta": d, "finish_reason": finish.get(i).cloned().unwrap_or(Value::Null)}]});
        s += &format!("data: {c}\n\n");
    }
    s + done
}

fn exchange(kind: ObjectKind, request: Option<Value>, response: Observed) -> RecordedExchange {
    RecordedExchange {
        file: "recorded/any.sse".into(),
        index: 0,
        line: 1,
        method: "POST".into(),
        url: kind.endpoint().into(),
        endpoint: kind.endpoint().replace("{id}", "m"),
        kind,
        request_known: request.is_some(),
        request,
        response,
        items: false,
        nulls_ambiguous: false,
        notes: Vec::new(),
        batch_line: None,
    }
}

fn sse(text: &str) -> Observed {
    Observed::from_bytes(200, vec![("content-type".into(), "text/event-stream".into())], text.as_bytes())
}

/// The regression: `function` null on the first delta of a call, an object on the next.
#[test]
fn a_null_function_then_an_object_is_judged_not_a_crash() {
    let deltas = [
        json!({"role": "assistant", "tool_calls": [{"index": 0, "id": "call_1", "type": "function", "function": null}]}),
        json!({"tool_calls": [{"index": 0, "function": {"name": "f", "arguments": "{}"}}]}),
    ];
    let body = stream_of(&deltas, &[Value::Null, json!("tool_calls")], "data: [DONE]\n\n");
    let request = json!({"model": "m", "stream": true, "messages": []});
    let o = assess::check_exchange(&exchange(ObjectKind::ChatCompletionChunk, Some(request), sse(&body)), &schemas());
    holds_together(&o, "check::any::0");
    let message = &o.exchange.as_ref().unwrap().reassembled.as_ref().unwrap()["choices"][0]["message"];
    assert_eq!(message["tool_calls"][0]["function"], json!({"name": "f", "arguments": "{}"}), "the object replaces the null");
    // The first delta names no function: that is what is reported.
    assert!(o.findings().iter().any(|f| f.rule == "stream.tool_call_index" && f.chunk == Some(0)), "{:?}", o.findings());
}

#[test]
fn any_stream_through_compat_check_holds_together() {
    let endings = ["data: [DONE]\n\n", "data: [DONE]", "data: [DONE]\n", "data: [DONE]\r\n\r\n", "", "data: {\"cut"];
    let checked = AtomicUsize::new(0);
    TestRunner::new(config())
        .run(
            &(prop::collection::vec(arb_delta(), 1..4), prop::collection::vec(arb_json(), 0..4), 0..endings.len(), any::<bool>()),
            |(deltas, finish, ending, with_request)| {
                let body = stream_of(&deltas, &finish, endings[ending]);
                // Without a recorded request the importers stand in `stream: true` (what the body shows), unknown.
                let mut x = if with_request {
                    let request = json!({"model": "m", "stream": true, "stream_options": {"include_usage": true}, "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}]});
                    exchange(ObjectKind::ChatCompletionChunk, Some(request), sse(&body))
                } else {
                    exchange(ObjectKind::ChatCompletionChunk, Some(json!({"stream": true})), sse(&body))
                };
                x.request_known = with_request;
                let o = assess::check_exchange(&x, &schemas());
                holds_together(&o, "check::any::0");
                if ending == endings.len() - 1 {
                    assert_eq!(o.verdict(), Verdict::Error, "a stream cut inside a chunk is an error");
                }
                checked.fetch_add(1, Ordering::Relaxed);
                Ok(())
            },
        )
        .unwrap();
    let checked = checked.into_inner();
    assert!(checked >= 32, "{checked} streams checked");
}

#[test]
fn any_json_body_of_any_kind_through_compat_check_holds_together() {
    let checked = AtomicUsize::new(0);
    TestRunner::new(config())
        .run(
            &(arb_json(), prop::sample::select(ObjectKind::ALL.to_vec()), prop::sample::select(vec![200u16, 400, 404, 500])),
            |(body, kind, status)| {
                let kind = if kind == ObjectKind::ChatCompletionChunk { ObjectKind::ChatCompletion } else { kind };
                let response = Observed::from_bytes(status, vec![("content-type".into(), "application/json".into())], body.to_string().as_bytes());
                let o = assess::check_exchange(&exchange(kind, None, response), &schemas());
                holds_together(&o, "check::any::0");
                checked.fetch_add(1, Ordering::Relaxed);
                Ok(())
            },
        )
        .unwrap();
    let checked = checked.into_inner();
    assert!(checked >= 32, "{checked} bodies checked");
}

const TARGET: &str = "targets:
  t:
    base_url: https://example.invalid/v1/
    auth: { env: COMPAT_ANY_RESPONSE_UNUSED_KEY }
    models: { chat: m-1 }
    pacing: { rpm: 0, concurrency: 4, max_retries: 0, backoff_ms: 10, max_backoff_ms: 100 }
    timeouts: { connect_ms: 5000, first_byte_ms: 10000, idle_ms: 10000 }
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

/// The same streams through `compat run`'s path: a live run of a streaming case against a loopback server.
#[tokio::test]
async fn any_stream_through_compat_run_holds_together() {
    let target = parse_targets(TARGET).unwrap().remove(0);
    let loaded = parse_case("cases/streaming/text.yaml", STREAM_CASE).unwrap_or_else(|e| panic!("{e}"));
    let server = MockServer::start().await;
    let base = format!("{}/v1/", server.uri());
    let ctx = RunContext::live(std::env::temp_dir(), schemas(), Some(base), &[&target], compat::snapshot::SnapshotPolicy::Off);
    // Generated up front (the runner is synchronous), then served one by one.
    let mut bodies = Vec::new();
    let mut runner = TestRunner::new(Config { cases: 24, ..config() });
    let strategy = (prop::collection::vec(arb_delta(), 1..4), prop::collection::vec(arb_json(), 0..4));
    for _ in 0..24 {
        let (deltas, finish) = strategy.new_tree(&mut runner).unwrap().current();
        bodies.push(stream_of(&deltas, &finish, "data: [DONE]\n\n"));
    }
    bodies.push(stream_of(
        &[
            json!({"role": "assistant", "tool_calls": [{"index": 0, "id": "c", "type": "function", "function": null}]}),
            json!({"tool_calls": [{"index": 0, "function": {"name": "f", "arguments": "{}"}}]}),
        ],
        &[Value::Null, json!("tool_calls")],
        "data: [DONE]",
    ));
    let mut judged = 0;
    for body in &bodies {
        server.reset().await;
        Mock::given(method("POST"))
            .and(path("/v1/chat/completions"))
            .respond_with(ResponseTemplate::new(200).insert_header("content-type", "text/event-stream").set_body_string(body.clone()))
            .mount(&server)
            .await;
        let o = run_case(&ctx, &loaded, &target).await;
        holds_together(&o, "t::streaming::text");
        assert_ne!(o.error().map(|e| e.kind), Some(compat::outcome::ErrorKind::Harness), "no panic inside the harness: {body}");
        judged += 1;
    }
    assert_eq!(judged, 25);
}
