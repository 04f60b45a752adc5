//! Checking one [`RecordedExchange`] as a case run would: the step it was, [`check::evaluate`], an [`Outcome`].
//!
//! The step holds the request as recorded and expects the recorded status — so the status is never judged, no
//! case says what it should have been — with the schema of the endpoint's object for a 2xx and the `error`
//! object otherwise. Everything else a case run applies follows: both schema tiers, the stream invariants and
//! the semantic checks (tool arguments against the request's tools, structured output against its
//! `response_format`, usage totals, `n`, embeddings). What only a case can give — assertions, known divergences,
//! snapshots — is not applied, and every outcome says so. A body the importer marks as a bare list of items
//! (llama-stack keeps `GET models` as the model objects alone) is checked item by item, paths `$[i]…`, and
//! never blamed for the list envelope the recorder dropped.
//!
//! One check stands in for what the models cases assert, since recorded traffic has no case:
//! `semantic.model_id` (spec), a model object's `id` is not the resource name `models/<name>` where callers
//! send and compare `<name>`. Where the request was not recorded, the semantic checks that need none still run
//! (`semantic.usage`, the non-empty, distinct tool-call ids of `semantic.tool_call_id`, and a `models/` prefix on
//! the answer's `model`, `semantic.model`).
//!
//! A Batch output line ([`super::batch`]) is checked twice over: its `response.body` as above, findings at
//! `$.response.body…`, and its envelope against the line shape OpenAI documents (`batch.output_line`).
//!
//! The outcome is `check::<file stem>::<interaction index>`: target `check`, feature the file stem.

use std::path::Path;

use serde_json::Value;

use super::RecordedExchange;
use crate::case::{Expect, Method, ObjectKind};
use crate::check::{self, Observed};
use crate::outcome::{self, ErrorKind, Exchange, Finding, Judgement, Mode, ObservedBody, Outcome, RunError, SentRequest, State};
use crate::rules;
use crate::schema::SchemaSet;
use crate::secrets::Redactor;
use crate::sse::SseEvent;

/// The pseudo-target of recorded-traffic outcomes.
pub const TARGET: &str = "check";

/// What `compat check` does not apply, said on every outcome.
pub const NOT_CHECKED: &str = "not checked (they need a case): assertions, known divergences, snapshots";

/// Checks `x` and returns its outcome (verdict `pass`, `diverges`, or `error` when the recording itself is cut).
pub fn check_exchange(x: &RecordedExchange, schemas: &SchemaSet) -> Outcome {
    let started = std::time::Instant::now();
    let (request, expect) = checked_step(x);
    // The checks see the endpoint, relative to a base URL; the exchange shows the URL as recorded.
    let checked = SentRequest { path: x.endpoint.clone(), ..request.clone() };
    let mut ev = if x.batch_line.is_some() && x.response.status == 0 {
        // A batch line without a response: only its envelope says anything.
        Evaluated { findings: Vec::new(), extensions: Vec::new(), chunks: Vec::new(), reassembled: None, truncated: false }
    } else {
        evaluate(x, &checked, &expect, &x.response, schemas)
    };
    if x.nulls_ambiguous {
        // A `null` may stand for an absent key: a finding counts only when it holds either way.
        let alt = evaluate(x, &checked, &expect, &without_nulls(&x.response), schemas);
        ev.findings.retain(|f| alt.findings.iter().any(|g| g.chunk == f.chunk && g.path == f.path));
    }
    if let Some(line) = &x.batch_line {
        // The body's findings at their place in the line, then the envelope's.
        let at = |p: &str| format!("$.response.body{}", p.strip_prefix('$').unwrap_or(p));
        for f in &mut ev.findings {
            f.path = at(&f.path);
        }
        ev.extensions = ev.extensions.iter().map(|e| at(e)).collect();
        ev.findings.extend(batch_envelope(line));
    }
    let Evaluated { mut findings, extensions, chunks, reassembled, truncated } = ev;
    let state = match recording_fault(&x.response, truncated) {
        Some((kind, message)) => State::Broken(RunError { kind, message, diff: None }),
        None => {
            let d = outcome::decide_undeclared(&mut findings);
            State::Judged(Judgement { verdict: d.verdict, severity: d.severity, findings, known: d.known, extensions })
        }
    };
    let stem = file_stem(&x.file);
    let mut outcome = Outcome::bare([TARGET, &stem, &x.index.to_string()], &title(x, expect.schema), &x.file, x.line, Mode::Recorded, state);
    outcome.doc = doc(x);
    let content_type = x.response.header("content-type").map(str::to_owned);
    outcome.exchange = Some(Exchange::new(request, x.response.status, content_type, x.response.body.clone(), &chunks, reassembled));
    outcome.timing.duration_ms = started.elapsed().as_secs_f64() * 1000.0;
    outcome
}

/// What the checks gave on one exchange.
struct Evaluated {
    findings: Vec<Finding>,
    extensions: Vec<String>,
    chunks: Vec<Value>,
    reassembled: Option<Value>,
    truncated: bool,
}

/// The checks of a case run (and the pending ones) on `response`, item by item for a bare list.
fn evaluate(x: &RecordedExchange, request: &SentRequest, expect: &Expect, response: &Observed, schemas: &SchemaSet) -> Evaluated {
    let success = (200..300).contains(&response.status);
    let mut out = Evaluated { findings: Vec::new(), extensions: Vec::new(), chunks: Vec::new(), reassembled: None, truncated: false };
    match &response.body {
        ObservedBody::Json { value: Value::Array(items) } if success && x.items => {
            for (i, item) in items.iter().enumerate() {
                let one = Observed { status: response.status, headers: response.headers.clone(), body: ObservedBody::Json { value: item.clone() } };
                let at = |p: &str| format!("$[{i}]{}", p.strip_prefix('$').unwrap_or(p));
                let ev = check::evaluate(request, expect, &one, schemas);
                for mut f in ev.findings.into_iter().chain(model_ids(x, item)) {
                    f.path = at(&f.path);
                    out.findings.push(f);
                }
                for e in ev.extensions {
                    let e = format!("$[*]{}", e.strip_prefix('$').unwrap_or(&e));
                    if !out.extensions.contains(&e) {
                        out.extensions.push(e);
                    }
                }
            }
        }
        _ => {
            let ev = check::evaluate(request, expect, response, schemas);
            out.findings = ev.findings;
            out.extensions = ev.extensions;
            out.truncated = ev.truncated;
            let subject = ev.reassembled.as_ref().or(match &response.body {
                ObservedBody::Json { value } => Some(value),
                _ => None,
            });
            if let Some(subject) = subject.filter(|_| success) {
                out.findings.extend(model_ids(x, subject));
                if !x.request_known {
                    // The semantic checks that need no request (the others stay off: see the module docs).
                    out.findings.extend(check::semantic::check(None, Some(x.kind), subject));
                }
            }
            out.chunks = ev.chunks;
            out.reassembled = ev.reassembled;
        }
    }
    out
}

/// The response with every object member whose value is `null` removed (from the body, or from every chunk).
fn without_nulls(o: &Observed) -> Observed {
    fn strip(v: &Value) -> Value {
        match v {
            Value::Object(m) => Value::Object(m.iter().filter(|(_, v)| !v.is_null()).map(|(k, v)| (k.clone(), strip(v))).collect()),
            Value::Array(items) => Value::Array(items.iter().map(strip).collect()),
            other => other.clone(),
        }
    }
    let body = match &o.body {
        ObservedBody::Json { value } => ObservedBody::Json { value: strip(value) },
        ObservedBody::Stream { events, truncated } => ObservedBody::Stream {
            events: events
                .iter()
                .map(|e| match serde_json::from_str::<Value>(&e.data) {
                    Ok(v) => SseEvent { data: strip(&v).to_string(), ..e.clone() },
                    Err(_) => e.clone(),
                })
                .collect(),
            truncated: *truncated,
        },
        other => other.clone(),
    };
    Observed { status: o.status, headers: o.headers.clone(), body }
}

/// The outcome's feature: the file's stem (`test_tool_calls` for `cassettes/test_tool_calls.yaml`).
pub fn file_stem(file: &str) -> String {
    Path::new(file).file_stem().and_then(|s| s.to_str()).unwrap_or(file).to_owned()
}

/// The request as recorded and what its answer is checked against: the recorded status (never judged: no case
/// says what it should have been), the endpoint's object for a 2xx and the `error` object otherwise, the
/// semantic checks only where the request was recorded.
fn checked_step(x: &RecordedExchange) -> (SentRequest, Expect) {
    let success = (200..300).contains(&x.response.status);
    let schema = if success { x.kind } else { ObjectKind::Error };
    let method = match x.method.as_str() {
        "GET" => Method::Get,
        "DELETE" => Method::Delete,
        _ => Method::Post,
    };
    // The URL as recorded, with nothing hidden (the redactor holds no secret) but its key-bearing parameters.
    let request = SentRequest { method, path: Redactor::new([""; 0]).text(&x.url), body: x.request.clone(), raw_body: None };
    let expect = Expect { status: x.response.status, schema: Some(schema), assert: Vec::new(), semantic: x.request_known, snapshot: false };
    (request, expect)
}

/// The outcome's title: `interaction 0: POST chat/completions → chat.completion (status 200)`.
fn title(x: &RecordedExchange, schema: Option<ObjectKind>) -> String {
    let schema = schema.expect("a recorded exchange is checked against an object");
    let object = match &x.response.body {
        ObservedBody::Json { value: Value::Array(_) } if x.items && (200..300).contains(&x.response.status) => {
            format!("a bare list of {schema} objects, each checked as {schema}")
        }
        _ => schema.to_string(),
    };
    format!("interaction {}: {} {} → {object} (status {})", x.index, x.method, x.endpoint, x.response.status)
}

/// The outcome's doc line: what `compat check` does not apply, and the importer's notes.
fn doc(x: &RecordedExchange) -> String {
    let mut doc = format!("recorded traffic, checked by `compat check`; {NOT_CHECKED}");
    for n in &x.notes {
        doc.push_str("; ");
        doc.push_str(n);
    }
    doc
}

fn is_html(o: &Observed) -> bool {
    match &o.body {
        ObservedBody::Text { text, content_type } => {
            let start = text.trim_start().chars().take(15).collect::<String>().to_ascii_lowercase();
            content_type.as_deref().is_some_and(|c| c.starts_with("text/html")) || start.starts_with("<!doctype html") || start.starts_with("<html")
        }
        _ => false,
    }
}

/// What makes a recorded exchange say nothing about conformance, as a case run would classify it: a stream
/// cut before its end, or an HTML page (a gateway or proxy answered, not the API).
fn recording_fault(o: &Observed, stream_truncated: bool) -> Option<(ErrorKind, String)> {
    if is_html(o) {
        return Some((ErrorKind::Endpoint, format!("status {} with an HTML page instead of an API answer (a gateway or proxy fault)", o.status)));
    }
    stream_truncated.then(|| {
        (ErrorKind::Truncated, "the recorded stream ends inside an event, or with neither [DONE] nor a finish_reason (cut short)".to_owned())
    })
}

/// `semantic.model_id` on a model object, or on every model of a list (see the module docs).
fn model_ids(x: &RecordedExchange, subject: &Value) -> Vec<Finding> {
    match x.kind {
        ObjectKind::Model => model_id(subject, "$.id").into_iter().collect(),
        ObjectKind::ModelList => subject
            .get("data")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
            .filter_map(|(i, m)| model_id(m, &format!("$.data[{i}].id")))
            .collect(),
        _ => Vec::new(),
    }
}

fn model_id(model: &Value, path: &str) -> Option<Finding> {
    let id = model.get("id").and_then(Value::as_str)?;
    let bare = id.strip_prefix("models/")?;
    Some(
        Finding::new(&rules::SEMANTIC_MODEL_ID, path, "the model's id is its resource name `models/…`, not the name callers send")
            .expecting(format!("{bare:?}"), format!("{id:?}"))
            .detail("a listed or retrieved model's id is the name sent as `model`"),
    )
}

/// `batch.output_line`: a Batch output line against the request output object OpenAI documents — `id` and
/// `custom_id` strings; `response` an object (`status_code` an integer, `request_id` a string, `body`) or null;
/// `error` present, an object or null; one of `response` and `error` non-null. `line` is the line with its body
/// taken out (the body is checked as the endpoint's object).
pub fn batch_envelope(line: &Value) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut expect = |path: &str, value: Option<&Value>, ok: fn(&Value) -> bool, expected: &str| {
        let actual = match value {
            None => "missing".to_owned(),
            Some(v) if ok(v) => return,
            Some(v) => crate::schema::compact(v, 80),
        };
        let message = if value.is_none() { format!("`{}` is missing", &path[2..]) } else { format!("`{}` is not {expected}", &path[2..]) };
        out.push(
            Finding::new(&rules::BATCH_OUTPUT_LINE, path, message)
                .expecting(expected, actual)
                .detail("a batch output line is {id, custom_id, response: {status_code, request_id, body}, error}"),
        );
    };
    expect("$.id", line.get("id"), Value::is_string, "a string");
    expect("$.custom_id", line.get("custom_id"), Value::is_string, "a string");
    expect("$.error", line.get("error"), |v| v.is_null() || v.is_object(), "an object or null");
    let response = line.get("response");
    expect("$.response", response, |v| v.is_null() || v.is_object(), "an object or null");
    if let Some(r) = response.filter(|r| r.is_object()) {
        expect("$.response.status_code", r.get("status_code"), Value::is_u64, "an integer");
        expect("$.response.request_id", r.get("request_id"), Value::is_string, "a string");
    }
    out
}
