//! Never a panic from a response: property tests drive arbitrary answers through everything a response
//! reaches — body classification, the SSE parser, the checks of every case of the project (so every object
//! kind, every stream invariant, every assertion and every semantic check), the verdict, the snapshot
//! normalizer, redaction and the terminal and HTML reports — and each must end in a verdict.
//!
//! The answers: arbitrary bytes; arbitrary JSON (non-ASCII text, huge and extreme numbers); the project's own
//! fixtures with parts replaced by arbitrary JSON or removed; JSON nested up to and past the parser's depth
//! limit; event streams split anywhere, with CRLF or CR line ends, comments, multi-line `data:`, a BOM,
//! invalid UTF-8 and arbitrary chunks. Then the same on the live path, against a loopback server, for the
//! inputs that once broke a check. The case count is bounded (`PROPTEST_CASES` raises it) so CI stays fast;
//! failures are not persisted to files.

use std::sync::{Arc, OnceLock};

use compat::check::{self, Observed};
use compat::fixture::{Fixture, fixture_path, load_fixture};
use compat::outcome::{self, Exchange, Judgement, Mode, ObservedBody, Outcome, RunError, State, Verdict};
use compat::report::{html, json as json_report, terminal};
use compat::schema::SchemaSet;
use compat::secrets::Redactor;
use compat::snapshot;
use compat::sse::{SseParser, parse_all};
use compat::suite::{Suite, default_root};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{Value, json};

/// The project's suite, schemas and each case's fixtures (gemini, openai-reference), loaded once.
struct World {
    suite: Suite,
    schemas: SchemaSet,
    /// Per case: the fixtures that exist for it.
    fixtures: Vec<Vec<Fixture>>,
}

fn world() -> &'static World {
    static W: OnceLock<World> = OnceLock::new();
    W.get_or_init(|| {
        let suite = Suite::load(&default_root()).expect("the project's suite loads");
        let fixtures = suite
            .cases
            .iter()
            .map(|c| {
                ["gemini", "openai-reference"]
                    .iter()
                    .filter_map(|t| {
                        let dir = suite.target(t)?.fixtures_dir();
                        let rel = fixture_path(&dir, &c.case.feature, &c.case.id);
                        load_fixture(&suite.root, &rel).unwrap_or_else(|e| panic!("{rel}: {e}"))
                    })
                    .collect()
            })
            .collect();
        World { suite, schemas: SchemaSet::builtin().expect("builtin schemas compile"), fixtures }
    })
}

fn config() -> Config {
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(96);
    Config { cases, failure_persistence: None, ..Config::default() }
}

/// Everything a response reaches after the transport, for case `index` of the suite; panics only if some
/// step does.
fn judge(index: usize, status: u16, content_type: Option<&str>, bytes: &[u8]) -> Verdict {
    let w = world();
    let loaded = &w.suite.cases[index];
    let case = &loaded.case;
    let target = w.suite.target("gemini").expect("the gemini target");
    let headers: Vec<(String, String)> = content_type.map(|c| vec![("content-type".to_owned(), c.to_owned())]).unwrap_or_default();
    let observed = Observed::from_bytes(status, headers, bytes);
    let step = &case.steps[0].value;
    let ev = check::evaluate(&sent_as_written(&step.request), &step.expect, &observed, &w.schemas);
    let mut findings = ev.findings;
    let decision = outcome::decide(case, &target.name, &mut findings, |_, k| k.when.due(None));
    let body = match &observed.body {
        ObservedBody::Json { value } => Some(value),
        _ => None,
    };
    let snap = snapshot::normalize(body, &ev.chunks, ev.reassembled.as_ref(), status);
    assert!(serde_json::from_str::<Value>(&snap).is_ok(), "a snapshot is JSON");
    let state = if ev.truncated {
        State::Broken(RunError { kind: compat::outcome::ErrorKind::Truncated, message: "cut".into(), diff: None })
    } else {
        State::Judged(Judgement {
            verdict: decision.verdict,
            severity: decision.severity,
            findings,
            known: decision.known,
            extensions: ev.extensions,
        })
    };
    let mut o = Outcome::new(case, &loaded.file, loaded.line, &target.name, Mode::Live, state);
    // Redaction as a live run applies it, with a key the answer may well contain.
    let redactor = Redactor::new(["sk-robust-0123456789"]);
    let (mut body, mut chunks) = (observed.body, ev.chunks);
    chunks.iter_mut().for_each(|c| redactor.value(c));
    if let ObservedBody::Json { value } = &mut body {
        redactor.value(value);
    }
    let request = compat::run::resolve_request(loaded, target).expect("the request resolves");
    o.exchange = Some(Exchange::new(request, status, content_type.map(str::to_owned), body, &chunks, ev.reassembled));
    for f in o.findings() {
        let _ = redactor.text(&f.actual);
    }
    // The verdict holds together, not only "no panic": the trial keeps its name, an error has its kind, a
    // divergence an unexplained finding and a severity no lower than its worst, a pass no unexplained finding.
    assert_eq!(o.name(), format!("{}::{}::{}", target.name, case.feature, case.id));
    match o.verdict() {
        Verdict::Error => assert!(o.error().is_some_and(|e| !e.message.is_empty()) && o.findings().is_empty()),
        Verdict::Diverges => assert!(o.findings().iter().any(|f| f.known.is_none()), "{:?}", o.findings()),
        Verdict::Pass => assert!(o.findings().iter().all(|f| f.known.is_some()), "{:?}", o.findings()),
        _ => {}
    }
    if o.verdict() == Verdict::Diverges {
        let worst = o.findings().iter().filter(|f| f.known.is_none()).map(|f| f.severity).max();
        assert!(o.severity() >= worst, "{:?} below the worst unexplained finding {worst:?}", o.severity());
    }
    let _ = terminal::render_outcome(&o);
    let _ = terminal::render_run(std::slice::from_ref(&o));
    let info = compat::plan::run_info(&[target], Mode::Live, None, w.schemas.spec_version());
    let verdict = o.verdict();
    let results = json_report::build(info, vec![o]);
    let _ = json_report::to_string(&results);
    let _ = html::render(&results, None);
    verdict
}

// ---- strategies ------------------------------------------------------------------------------------------

/// Words the checks look for, so arbitrary documents often reach them.
const WORDS: &[&str] = &[
    "assistant",
    "user",
    "tool",
    "function",
    "stop",
    "length",
    "tool_calls",
    "content_filter",
    "chat.completion",
    "chat.completion.chunk",
    "list",
    "embedding",
    "model",
    "error",
    "[DONE]",
    "index",
    "",
    "é",
    "日本語のテキスト",
    "🦀🦀",
    "\u{feff}",
    "a\u{0301}",
    "{\"location\": \"Bost",
    "{}",
    "[1,2]",
    "AAAA",
    "AAAAAAA=",
    "null",
];

const KEYS: &[&str] = &[
    "id",
    "object",
    "created",
    "model",
    "choices",
    "index",
    "message",
    "delta",
    "role",
    "content",
    "refusal",
    "tool_calls",
    "function",
    "name",
    "arguments",
    "type",
    "finish_reason",
    "logprobs",
    "usage",
    "prompt_tokens",
    "completion_tokens",
    "total_tokens",
    "completion_tokens_details",
    "reasoning_tokens",
    "data",
    "embedding",
    "error",
    "code",
    "param",
    "status",
    "annotations",
    "audio",
    "b64_json",
    "url",
    "owned_by",
    "system_fingerprint",
    "extra_content",
];

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => "\\PC{0,24}",
        2 => prop::sample::select(WORDS).prop_map(str::to_owned),
        1 => "[\\u{0}-\\u{7f}]{0,300}",
        1 => "[ä-ÿ\\u{0400}-\\u{04ff}\\u{4e00}-\\u{4e80}\\u{1f600}-\\u{1f64f}]{150,260}",
    ]
}

fn number() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        prop::sample::select(vec![0i64, 1, 2, -1, 3, 100]).prop_map(Value::from),
        any::<f64>().prop_filter_map("finite", |f| serde_json::Number::from_f64(f).map(Value::Number)),
        prop::sample::select(vec![f64::MAX, f64::MIN, f64::MIN_POSITIVE, 1e300, -0.0, 0.5])
            .prop_filter_map("finite", |f| serde_json::Number::from_f64(f).map(Value::Number)),
    ]
}

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![Just(Value::Null), any::<bool>().prop_map(Value::Bool), number(), text().prop_map(Value::String)];
    leaf.prop_recursive(5, 48, 5, |inner| {
        let key = prop_oneof![3 => prop::sample::select(KEYS).prop_map(str::to_owned), 1 => "\\PC{0,10}"];
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::vec((key, inner), 0..6).prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

/// A change to a document: at the node a list of child choices leads to, replace it or remove it.
#[derive(Debug, Clone)]
enum Edit {
    Replace(Vec<usize>, Value),
    Remove(Vec<usize>),
}

fn edits() -> impl Strategy<Value = Vec<Edit>> {
    let route = prop::collection::vec(any::<usize>(), 0..7);
    let edit = prop_oneof![
        3 => (route.clone(), arb_json()).prop_map(|(r, v)| Edit::Replace(r, v)),
        1 => route.prop_map(Edit::Remove),
    ];
    prop::collection::vec(edit, 1..5)
}

fn apply(doc: &mut Value, edit: &Edit) {
    match edit {
        Edit::Replace(route, v) => at(doc, route, Some(v)),
        Edit::Remove(route) => at(doc, route, None),
    }
}

/// Follows `route` (each step a child, modulo the number of children) and replaces or removes what it ends
/// at; a route running into a leaf stops there.
fn at(node: &mut Value, route: &[usize], replacement: Option<&Value>) {
    let Some((&choice, rest)) = route.split_first() else {
        if let Some(v) = replacement {
            *node = v.clone();
        }
        return;
    };
    match node {
        Value::Array(items) if !items.is_empty() => {
            let i = choice % items.len();
            if rest.is_empty() && replacement.is_none() {
                items.remove(i);
            } else {
                at(&mut items[i], rest, replacement);
            }
        }
        Value::Object(map) if !map.is_empty() => {
            let key = map.keys().nth(choice % map.len()).expect("in range").clone();
            if rest.is_empty() && replacement.is_none() {
                map.remove(&key);
            } else {
                at(map.get_mut(&key).expect("present"), rest, replacement);
            }
        }
        leaf => {
            if let Some(v) = replacement {
                *leaf = v.clone();
            }
        }
    }
}

/// How an event stream is written on the wire.
#[derive(Debug, Clone)]
struct Wire {
    /// Line ends to cycle through (0: LF, 1: CRLF, 2: CR).
    ends: Vec<u8>,
    bom: bool,
    /// A comment line before each event whose index is in here (mod the event count).
    comments: Vec<usize>,
    /// Split each data value into lines at these byte offsets (mod its length, at char boundaries).
    splits: Vec<usize>,
    /// Invalid UTF-8 inserted at these offsets of the whole stream.
    garbage: Vec<usize>,
    /// Where the stream is cut short (a fraction of its length, in thousandths), if it is.
    cut: Option<u16>,
}

fn wire() -> impl Strategy<Value = Wire> {
    (
        prop::collection::vec(0u8..3, 1..4),
        any::<bool>(),
        prop::collection::vec(any::<usize>(), 0..3),
        prop::collection::vec(any::<usize>(), 0..3),
        prop::collection::vec(any::<usize>(), 0..2),
        prop::option::weighted(0.2, 0u16..1000),
    )
        .prop_map(|(ends, bom, comments, splits, garbage, cut)| Wire { ends, bom, comments, splits, garbage, cut })
}

fn render_stream(datas: &[String], w: &Wire) -> Vec<u8> {
    let mut out = Vec::new();
    let mut n = 0usize;
    let mut end = |out: &mut Vec<u8>| {
        out.extend_from_slice(match w.ends[n % w.ends.len()] {
            0 => b"\n".as_slice(),
            1 => b"\r\n",
            _ => b"\r",
        });
        n += 1;
    };
    if w.bom {
        out.extend_from_slice("\u{feff}".as_bytes());
    }
    for (i, data) in datas.iter().enumerate() {
        if w.comments.iter().any(|c| c % datas.len().max(1) == i) {
            out.extend_from_slice(b": keep-alive");
            end(&mut out);
        }
        let mut cuts: Vec<usize> = w.splits.iter().map(|s| s % (data.len() + 1)).filter(|c| data.is_char_boundary(*c)).collect();
        cuts.sort_unstable();
        cuts.dedup();
        let mut from = 0;
        for c in cuts.into_iter().chain([data.len()]) {
            out.extend_from_slice(b"data: ");
            out.extend_from_slice(&data.as_bytes()[from..c]);
            end(&mut out);
            from = c;
        }
        end(&mut out);
    }
    for g in &w.garbage {
        let at = g % (out.len() + 1);
        out.splice(at..at, [0xff, 0xc3]);
    }
    if let Some(cut) = w.cut {
        out.truncate(out.len() * usize::from(cut) / 1000);
    }
    out
}

/// The data of each event of a fixture stream, as the wire carries it.
fn stream_datas(f: &Fixture) -> Option<Vec<String>> {
    let events = f.response.events.as_ref()?;
    Some(events.iter().map(|e| if let Value::String(s) = &e.data { s.clone() } else { e.data.to_string() }).collect())
}

fn case_count() -> usize {
    world().suite.cases.len()
}

// ---- properties ------------------------------------------------------------------------------------------

#[test]
fn arbitrary_bytes_under_any_content_type_end_in_a_verdict() {
    let types = vec![Some("application/json"), Some("text/event-stream"), Some("text/html"), Some("text/plain; charset=utf-8"), None];
    let statuses = vec![200u16, 201, 400, 401, 404, 422, 429, 500, 503];
    TestRunner::new(config())
        .run(
            &(0..case_count(), prop::sample::select(statuses), prop::sample::select(types), prop::collection::vec(any::<u8>(), 0..600)),
            |(i, status, ct, bytes)| {
                judge(i, status, ct, &bytes);
                Ok(())
            },
        )
        .unwrap();
}

#[test]
fn arbitrary_json_for_every_case_ends_in_a_verdict() {
    TestRunner::new(config())
        .run(&(0..case_count(), arb_json(), any::<bool>()), |(i, doc, expected_status)| {
            let status = if expected_status { world().suite.cases[i].case.steps[0].value.expect.status } else { 200 };
            judge(i, status, Some("application/json"), &serde_json::to_vec(&doc).unwrap());
            Ok(())
        })
        .unwrap();
}

#[test]
fn the_projects_fixtures_with_parts_replaced_or_removed_end_in_a_verdict() {
    TestRunner::new(config())
        .run(&(0..case_count(), any::<usize>(), edits(), wire()), |(i, pick, edits, w)| {
            let fixtures = &world().fixtures[i];
            let Some(f) = fixtures.get(pick % fixtures.len().max(1)) else { return Ok(()) };
            let status = f.response.status;
            if let Some(datas) = stream_datas(f) {
                // Each edit lands in one chunk (the route's first step picks which).
                let mut docs: Vec<Value> = datas.iter().map(|d| serde_json::from_str(d).unwrap_or(Value::String(d.clone()))).collect();
                for e in &edits {
                    let (Edit::Replace(route, _) | Edit::Remove(route)) = e;
                    let k = route.first().copied().unwrap_or(0) % docs.len().max(1);
                    if let Some(doc) = docs.get_mut(k) {
                        apply(doc, e);
                    }
                }
                let datas: Vec<String> = docs.iter().map(|d| if let Value::String(s) = d { s.clone() } else { d.to_string() }).collect();
                judge(i, status, Some("text/event-stream"), &render_stream(&datas, &w));
            } else if let Some(mut doc) = f.response.body.clone() {
                for e in &edits {
                    apply(&mut doc, e);
                }
                judge(i, status, Some("application/json"), &serde_json::to_vec(&doc).unwrap());
            } else {
                let (bytes, ct) = f.response.wire_body();
                judge(i, status, Some(ct), &bytes);
            }
            Ok(())
        })
        .unwrap();
}

/// Tool-call arguments and structured output are JSON inside a string, checked against the request's own
/// schemas: arbitrary JSON there reaches every branch of the semantic checks.
#[test]
fn arbitrary_tool_arguments_and_structured_output_end_in_a_verdict() {
    let w = world();
    let semantic: Vec<usize> = (0..case_count())
        .filter(|&i| {
            let c = &w.suite.cases[i].case;
            !c.steps[0].value.is_streaming()
                && c.steps[0].value.request.body.as_ref().is_some_and(|b| b.get("tools").is_some() || b.get("response_format").is_some())
        })
        .collect();
    assert!(semantic.len() >= 4, "the project has tool and structured-output cases: {semantic:?}");
    TestRunner::new(config())
        .run(&(prop::sample::select(semantic), arb_json(), any::<usize>(), prop::option::of(text())), |(i, args, pick, name)| {
            let c = &w.suite.cases[i].case;
            let request = c.steps[0].value.request.body.as_ref().unwrap();
            let tools: Vec<&str> = request["tools"].as_array().into_iter().flatten().filter_map(|t| t.pointer("/function/name")?.as_str()).collect();
            let name = name.unwrap_or_else(|| tools.get(pick % tools.len().max(1)).copied().unwrap_or("f").to_owned());
            let text = args.to_string();
            let message = if tools.is_empty() {
                json!({"role": "assistant", "content": text, "refusal": null, "annotations": []})
            } else {
                json!({"role": "assistant", "content": null, "refusal": null, "annotations": [],
                       "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": name, "arguments": text}}]})
            };
            let body = json!({"id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "m",
                              "choices": [{"index": 0, "message": message, "logprobs": null, "finish_reason": "stop"}],
                              "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}});
            judge(i, 200, Some("application/json"), &serde_json::to_vec(&body).unwrap());
            Ok(())
        })
        .unwrap();
}

#[test]
fn arbitrary_event_streams_end_in_a_verdict() {
    let chunk = prop_oneof![
        3 => arb_json().prop_map(|v| v.to_string()),
        1 => Just("[DONE]".to_owned()),
        1 => text(),
    ];
    TestRunner::new(config())
        .run(&(0..case_count(), prop::collection::vec(chunk, 0..8), wire()), |(i, datas, w)| {
            judge(i, 200, Some("text/event-stream"), &render_stream(&datas, &w));
            Ok(())
        })
        .unwrap();
}

#[test]
fn the_sse_parser_gives_the_same_events_however_the_bytes_are_split() {
    let data = prop_oneof![arb_json().prop_map(|v| v.to_string()), text()];
    TestRunner::new(config())
        .run(&(prop::collection::vec(data, 0..6), wire(), prop::collection::vec(any::<usize>(), 0..6)), |(datas, mut w, cuts)| {
            w.cut = None;
            let bytes = render_stream(&datas, &w);
            let whole = parse_all(&bytes);
            let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (bytes.len() + 1)).collect();
            cuts.sort_unstable();
            let mut parser = SseParser::new();
            let mut events = Vec::new();
            let mut from = 0;
            for c in cuts.into_iter().chain([bytes.len()]) {
                events.extend(parser.push(&bytes[from..c]));
                from = c;
            }
            prop_assert_eq!(&events, &whole.0);
            prop_assert_eq!(parser.finish(), whole.1);
            Ok(())
        })
        .unwrap();
}

#[test]
fn json_nested_to_and_past_the_parsers_limit_ends_in_a_verdict() {
    let chat = world().suite.cases.iter().position(|c| c.case.feature == "chat" && c.case.id == "basic").expect("chat::basic");
    for depth in [10usize, 127, 128, 129, 1_000, 100_000] {
        let deep = format!("{}1{}", "[".repeat(depth), "]".repeat(depth));
        let body = format!(r#"{{"id":"x","object":"chat.completion","choices":{deep}}}"#);
        judge(chat, 200, Some("application/json"), body.as_bytes());
        let stream = format!("data: {{\"choices\":[{{\"index\":0,\"delta\":{{\"content\":{deep}}}}}]}}\n\ndata: [DONE]\n\n");
        for i in 0..case_count() {
            if world().suite.cases[i].case.steps[0].value.is_streaming() {
                judge(i, 200, Some("text/event-stream"), stream.as_bytes());
            }
        }
    }
    for huge in ["1e400", "-1e400", "123456789012345678901234567890", "1e-400", "0.1e99999"] {
        let body = format!(r#"{{"usage":{{"prompt_tokens":{huge},"completion_tokens":1,"total_tokens":2}},"choices":[{{"index":{huge}}}]}}"#);
        judge(chat, 200, Some("application/json"), body.as_bytes());
    }
}

// ---- the live path ---------------------------------------------------------------------------------------

/// The inputs that broke checks once, served live by a loopback server: a tool call whose arguments fail
/// the tool's schema with a long non-ASCII value (the validator's message was cut at a byte index), a
/// stream whose multi-byte characters are split across chunks, and structured output in non-ASCII.
#[tokio::test]
async fn non_ascii_answers_on_the_live_path_end_in_a_verdict() {
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    let w = world();
    let mut target = w.suite.target("openai-reference").unwrap().clone();
    target.config.auth.env = "COMPAT_ROBUSTNESS_UNUSED_KEY".into();
    target.config.pacing = compat::target::Pacing { rpm: 0, max_retries: 0, ..Default::default() };
    let long = "ünïcödé ".repeat(40) + "日本語のテキスト🦀";
    let arguments = json!({"location": {"city": long}, "unit": long}).to_string();
    let tool_call = json!({
        "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "m",
        "choices": [{"index": 0, "finish_reason": "tool_calls", "logprobs": null, "message": {
            "role": "assistant", "content": null, "refusal": null, "annotations": [],
            "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": arguments}}]}}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}
    });
    let structured = {
        let mut t = tool_call.clone();
        t["choices"][0]["finish_reason"] = json!("stop");
        t["choices"][0]["message"] =
            json!({"role": "assistant", "content": format!("{{\"answer\": \"{long}\"}}"), "refusal": null, "annotations": []});
        t
    };
    let chunk = |content: &str| {
        json!({"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
               "choices": [{"index": 0, "delta": {"content": content}, "logprobs": null, "finish_reason": null}]})
        .to_string()
    };
    let sse = format!("data: {}\r\n\r\n: é\r\ndata: {}\r\n\r\ndata: [DONE]\r\n\r\n", chunk(&long), chunk("🦀"));

    let mut ran = 0;
    // One-step cases: a multi-step case's steps go through the same send and checks, each step as one case.
    let single: Vec<_> = w.suite.cases.iter().filter(|c| !c.case.is_multi_step()).collect();
    for loaded in &single {
        let c = &loaded.case;
        let (body, content_type) = if c.steps[0].value.is_streaming() {
            (sse.clone().into_bytes(), "text/event-stream")
        } else if c.steps[0].value.request.body.as_ref().is_some_and(|b| b.get("response_format").is_some()) {
            (structured.to_string().into_bytes(), "application/json")
        } else {
            (tool_call.to_string().into_bytes(), "application/json")
        };
        let server = MockServer::start().await;
        Mock::given(method(c.steps[0].value.request.method.as_str()))
            .and(path(format!("/{}", c.steps[0].value.request.path.trim_start_matches('/'))))
            .respond_with(ResponseTemplate::new(c.steps[0].value.expect.status).set_body_raw(body, content_type))
            .mount(&server)
            .await;
        let ctx = compat::run::RunContext::live(
            std::env::temp_dir(),
            Arc::new(SchemaSet::builtin().unwrap()),
            Some(format!("{}/", server.uri())),
            &[&target],
            compat::snapshot::SnapshotPolicy::Note,
        );
        let mut loaded = (*loaded).clone();
        loaded.case.steps[0].value.expect.snapshot = false;
        loaded.case.steps[0].value.request.auth = compat::case::AuthMode::Invalid; // no key needed: the server takes any
        let o = compat::run::run_case(&ctx, &loaded, &target).await;
        assert!(o.error().is_none_or(|e| e.kind != compat::outcome::ErrorKind::Config), "{}: {:?}", o.name(), o.error());
        let _ = terminal::render_outcome(&o);
        ran += 1;
    }
    assert!(ran == single.len() && ran > 50, "{ran}");
}

/// A case's request as written (placeholders unresolved), as the checks take it.
fn sent_as_written(r: &compat::case::Request) -> compat::outcome::SentRequest {
    compat::outcome::SentRequest { method: r.method, path: r.path.clone(), body: r.body.clone(), raw_body: r.raw_body.clone() }
}
