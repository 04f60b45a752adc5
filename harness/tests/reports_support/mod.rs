//! Shared by the report tests: outcomes from a real replay of the project's suite, and hand-made outcomes
//! covering every verdict and body kind, with hostile text where a response or case could put it.

#![allow(dead_code)]

use std::sync::OnceLock;

use compat::outcome::Outcome;
use compat::report::json::{self, Results, RunInfo, TargetInfo};
use compat::session::{Session, SnapshotSink};
use compat::suite::{Suite, default_root};
use serde_json::{Value, json};

/// Text that would run script, break out of a `<pre>`, a CDATA section or a Markdown table if not escaped.
pub const HOSTILE: &str = "</pre><script>document.title='PWNED-script';document.body.setAttribute('data-pwned','script')</script>\
<img src=x onerror=\"document.title='PWNED-img';document.body.setAttribute('data-pwned','img')\">]]>&amp; | `x` \u{1}\u{7f}";

/// A fresh replay of every case on every replayable target (the suite as `cargo test` sees it).
pub fn replay_outcomes() -> Vec<Outcome> {
    let root = default_root();
    let suite = Suite::load(&root).expect("the project's suite loads");
    let session = std::sync::Arc::new(Session::replay(&suite, SnapshotSink::Policy).expect("the replay session starts"));
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("a runtime");
    runtime.block_on(session.run(|_| true, 8))
}

/// One replay, shared by the tests of a binary.
pub fn replay_once() -> &'static Vec<Outcome> {
    static ONCE: OnceLock<Vec<Outcome>> = OnceLock::new();
    ONCE.get_or_init(replay_outcomes)
}

/// The header of a replay of the project's suite.
pub fn info() -> RunInfo {
    let suite = Suite::load(&default_root()).expect("the project's suite loads");
    compat::plan::run_info(&suite.replayable_targets(), compat::outcome::Mode::Replay, None, "spec-test")
}

/// A fixed header for hand-made documents.
pub fn fixed_info(targets: &[&str]) -> RunInfo {
    RunInfo {
        date: "2025-01-02T03:04:05Z".into(),
        harness_version: "0.0.0-test".into(),
        spec_version: "spec-test".into(),
        targets: targets
            .iter()
            .map(|t| TargetInfo {
                name: (*t).into(),
                base_url: format!("https://{t}.invalid/v1/"),
                mode: compat::outcome::Mode::Replay,
                counts: Default::default(),
                control: false,
            })
            .collect(),
    }
}

/// A minimal outcome as JSON, to be amended and read with [`outcome`]; an `error` carries its error and a
/// `skipped` its reason, as every outcome a run writes does.
pub fn base(target: &str, feature: &str, id: &str, verdict: &str) -> Value {
    let mut v = minimal(target, feature, id, verdict);
    match verdict {
        "error" => v["error"] = json!({"kind": "transport", "message": "connection reset"}),
        "skipped" => v["skip_reason"] = json!("not served by this target"),
        _ => {}
    }
    v
}

fn minimal(target: &str, feature: &str, id: &str, verdict: &str) -> Value {
    json!({
        "target": target, "feature": feature, "id": id, "title": format!("{id} title"), "doc": "https://docs.invalid/x#y",
        "file": format!("cases/{feature}/{id}.yaml"), "line": 2, "mode": "replay", "verdict": verdict,
        "findings": [], "known": [], "extensions": [],
        "timing": {"duration_ms": 12.5, "attempts": 1, "retries": 0, "flaky": false}
    })
}

/// Reads an outcome from JSON (as the run directory's files are read).
pub fn outcome(v: Value) -> Outcome {
    serde_json::from_value(v).expect("a valid outcome")
}

/// A finding as JSON.
pub fn finding(rule: &str, severity: &str, path: &str, expected: &str, actual: &str) -> Value {
    json!({"rule": rule, "detail": format!("detail of {rule}"), "severity": severity, "path": path,
           "message": format!("message of {rule}"), "expected": expected, "actual": actual,
           "why": "the SDKs cannot parse it"})
}

/// One outcome of every verdict and body kind, with hostile text in everything a response or case controls.
pub fn zoo() -> Vec<Outcome> {
    let mut diverges = base("gemini", "chat", "diverging", "diverges");
    diverges["severity"] = json!("breaking");
    diverges["findings"] = json!([
        finding("schema.client", "breaking", "$.choices[0].message.role", "\"assistant\"", "\"model\""),
        finding(
            "assert.equals",
            "spec",
            "$.usage",
            "{\"a\": 1, \"b\": [1, 2]}",
            &format!("{{\"a\": 2, \"b\": [1, 2], \"c\": {}}}", serde_json::to_string(HOSTILE).unwrap())
        ),
    ]);
    diverges["exchange"] = json!({
        "request": {"method": "POST", "path": "chat/completions", "body": {"model": "m", "messages": [{"role": "user", "content": HOSTILE}]}},
        "status": 200, "content_type": "application/json",
        "body": {"kind": "json", "value": {"choices": [{"message": {"role": "model", "content": HOSTILE}}]}}
    });
    diverges["fixture"] = json!({"path": "fixtures/gemini/chat/diverging.json", "origin": {"kind": "recorded", "date": "2025-01-01T00:00:00Z", "model": "m", "base_url": "https://gemini.invalid/"}});
    diverges["snapshot"] = json!({"name": "chat__diverging", "file": "snapshots/gemini/chat__diverging.snap", "status": "changed",
        "diff": format!("--- stored\n+++ new\n@@ -1,2 +1,2 @@\n-old line\n+{HOSTILE}\n same\n")});

    let mut known = base("gemini", "streaming", "known", "known");
    known["severity"] = json!("breaking");
    let mut f = finding("schema.client", "breaking", "$.choices[0].delta.tool_calls[0].index", "present", "missing");
    f["chunk"] = json!(1);
    f["known"] = json!(0);
    known["findings"] = json!([f]);
    known["known"] = json!([{"index": 0, "line": 30, "observed": 1, "divergence": {"targets": ["gemini"], "rule": "schema.client",
        "path": "$.choices[*].delta.tool_calls[*].index", "reason": format!("no index {HOSTILE}"), "link": "gemini-compat.md #9 (openai/openai-python#2806)", "severity": "breaking"}}]);
    known["exchange"] = json!({
        "request": {"method": "POST", "path": "chat/completions", "body": {"stream": true}},
        "status": 200, "content_type": "text/event-stream",
        "body": {"kind": "stream", "truncated": false, "events": [{"data": format!("{{\"c\":{}}}", serde_json::to_string(HOSTILE).unwrap())}, {"data": "[DONE]"}]},
        "chunks": [{"c": HOSTILE}],
        "reassembled": {"choices": [{"message": {"content": HOSTILE}}]}
    });
    known["fixture"] = json!({"path": "fixtures/gemini/streaming/known.json", "origin": {"kind": "synthesized", "basis": "javascript:alert(1)"}});
    known["extensions"] = json!(["$.choices[0].delta.extra_content"]);

    let mut fixed = base("gemini", "chat", "fixed", "fixed");
    fixed["known"] = json!([{"index": 0, "line": 20, "observed": 0, "divergence": {"targets": ["gemini"], "rule": "stream.usage", "path": null,
        "reason": "usage on every chunk", "link": "https://issues.invalid/14", "severity": null}}]);

    let mut error = base("gemini", "errors", "broken", "error");
    error["error"] = json!({"kind": "unmatched", "message": format!("no fixture matched {HOSTILE}"), "diff": "-{\"a\": 1}\n+{\"a\": 2}\n"});
    error["exchange"] = json!({"request": {"method": "GET", "path": "models", "raw_body": HOSTILE}, "status": 502, "content_type": "text/html",
        "body": {"kind": "text", "text": format!("<html><body>{HOSTILE}</body></html>"), "content_type": "text/html"}});
    error["timing"] = json!({"duration_ms": 2500.0, "attempts": 3, "retries": 2, "flaky": true});

    let mut skipped = base("openai-reference", "chat", "diverging", "skipped");
    skipped["skip_reason"] = json!(format!("not offered {HOSTILE}"));

    let mut pass = base("openai-reference", "chat", "fixed", "pass");
    pass["exchange"] = json!({"request": {"method": "DELETE", "path": "files/x"}, "status": 204, "body": {"kind": "empty"}});
    pass["repeats"] = json!({"passed": 3, "total": 3});
    // What a live run adds: the wall time split, a snapshot change as a note, a known divergence not due.
    pass["mode"] = json!("live");
    pass["timing"] =
        json!({"duration_ms": 1500.0, "attempts": 3, "retries": 0, "flaky": false, "queued_ms": 1200.0, "first_byte_ms": 80.5, "body_ms": 3.25});
    pass["snapshot"] = json!({"name": "chat__fixed", "file": "snapshots/openai-reference/chat__fixed.snap", "status": "changed", "gating": false,
        "diff": "--- stored\n+++ new\n-a\n+b\n"});
    pass["known"] = json!([{"index": 0, "line": 12, "observed": 0, "due": false, "runs_observed": 0, "divergence": {"targets": ["openai-reference"],
        "rule": "semantic.usage", "path": null, "reason": "only when the model thought", "link": "gemini-compat.md #28", "severity": null, "when": "sometimes"}}]);

    let mut title = base("openai-reference", "errors", "broken", "pass");
    title["title"] = json!(HOSTILE);
    title["snapshot"] = json!({"name": "errors__broken", "file": "snapshots/openai-reference/errors__broken.snap", "status": "missing"});

    [diverges, known, fixed, error, skipped, pass, title].into_iter().map(outcome).collect()
}

/// The zoo as a results document.
pub fn zoo_results() -> Results {
    json::build(fixed_info(&["gemini", "openai-reference"]), zoo())
}
