//! `compat check` on recorded traffic, both ways.
//!
//! 1. The real Gemini recordings of `../shared/recordings/` (beside the project, or in the cache that
//!    `scripts/fetch-shared.sh` fills; third-party data, never copied in) give exactly the findings a true harness
//!    gives — what that folder's README lists, plus the one divergence its summary leaves out (see
//!    [`EXPECTED_CASSETTES`]). Absent, the test says it skipped; under `CI=true` it fails instead.
//! 2. A HAR file and raw SSE bodies written here: conformant ones give no finding, broken ones the exact path
//!    and rule; exit codes 0, 1 and 2; located errors for broken files.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use compat::import::{self, RawOptions, assess};
use compat::outcome::{Outcome, Verdict};
use compat::schema::SchemaSet;
use compat::suite::{default_root, shared_material};
use serde_json::{Value, json};

fn schemas() -> SchemaSet {
    SchemaSet::builtin().unwrap()
}

fn check_file(path: &Path, raw: &RawOptions) -> (import::Imported, Vec<Outcome>) {
    let imported = import::load_file(path, raw).unwrap_or_else(|e| panic!("{e}"));
    let s = schemas();
    let outcomes = imported.exchanges.iter().map(|x| assess::check_exchange(x, &s)).collect();
    (imported, outcomes)
}

/// `(rule, path)` of every finding, chunk-prefixed for streams.
fn findings(o: &Outcome) -> BTreeSet<(String, String)> {
    o.findings().iter().map(|f| (f.rule.clone(), f.chunk.map_or(f.path.clone(), |c| format!("chunk {c} {}", f.path)))).collect()
}

fn set(items: &[(&str, &str)]) -> BTreeSet<(String, String)> {
    items.iter().map(|(r, p)| (r.to_string(), p.to_string())).collect()
}

fn compat_bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_compat"))
}

// ---------------------------------------------------------------------------------------------------------
// 1. The shared recordings
// ---------------------------------------------------------------------------------------------------------

/// Per cassette (by the pydantic-ai commit in its name) and interaction: the findings, and the extensions.
///
/// The README of the recordings lists `message.refusal` and `choices[].logprobs` absent, `usage.total_tokens` ≠
/// prompt + completion (interaction 0 of both; interaction 1 of 2025), `message.content` absent (2026) and the
/// 2025 tool call's empty id. The 2025 cassette's interaction 0 has no `content` key either (its message holds
/// `extra_content`, `role`, `thought_signature` and `tool_calls` only, and pydantic-ai's serializer drops no
/// null), so a true harness reports it there too; refusal and logprobs are absent from every interaction.
/// `(pydantic-ai commit, interaction, (rule, path) of each finding, extensions)`.
type Expected = (&'static str, usize, &'static [(&'static str, &'static str)], &'static [&'static str]);

const EXPECTED_CASSETTES: &[Expected] = &[
    (
        "b0d3ebdff",
        0,
        &[
            ("schema.spec", "$.choices[0].logprobs"),
            ("schema.spec", "$.choices[0].message.content"),
            ("schema.spec", "$.choices[0].message.refusal"),
            ("semantic.usage", "$.usage.total_tokens"),
            ("semantic.tool_call_id", "$.choices[0].message.tool_calls[0].id"),
        ],
        &["$.choices[0].message.extra_content", "$.choices[0].message.thought_signature"],
    ),
    (
        "b0d3ebdff",
        1,
        &[("schema.spec", "$.choices[0].logprobs"), ("schema.spec", "$.choices[0].message.refusal"), ("semantic.usage", "$.usage.total_tokens")],
        &["$.choices[0].message.extra_content", "$.choices[0].message.thought_signature"],
    ),
    (
        "111dda9bc",
        0,
        &[
            ("schema.spec", "$.choices[0].logprobs"),
            ("schema.spec", "$.choices[0].message.content"),
            ("schema.spec", "$.choices[0].message.refusal"),
            ("semantic.usage", "$.usage.total_tokens"),
        ],
        &[],
    ),
    ("111dda9bc", 1, &[("schema.spec", "$.choices[0].logprobs"), ("schema.spec", "$.choices[0].message.refusal")], &[]),
];

#[test]
fn shared_recordings_give_exactly_the_findings_a_true_harness_gives() {
    let Some(dir) = shared_material(&default_root(), "recordings") else { return };
    let mut files: Vec<PathBuf> =
        std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).filter(|p| p.extension().is_some_and(|e| e != "md")).collect();
    files.sort();
    let (mut cassettes, mut model_lists) = (0, 0);
    for file in &files {
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        let (imported, outcomes) = check_file(file, &RawOptions::default());
        assert!(imported.left_out.is_empty(), "{name}: {:?}", imported.left_out);
        if name.starts_with("pydantic-ai_") {
            cassettes += 1;
            assert_eq!(imported.form, "VCR cassette");
            assert_eq!(outcomes.len(), 2, "{name}");
            for o in &outcomes {
                let index: usize = o.id.parse().unwrap();
                let (_, _, expected, extensions) =
                    EXPECTED_CASSETTES.iter().find(|(c, i, ..)| name.contains(c) && *i == index).unwrap_or_else(|| panic!("{name} {index}"));
                assert_eq!(findings(o), set(expected), "{}", o.name());
                assert_eq!(o.extensions(), *extensions, "{}", o.name());
                assert_eq!(o.verdict(), Verdict::Diverges);
                assert_eq!(o.name(), format!("check::{}::{index}", name.trim_end_matches(".yaml")));
                for f in o.findings() {
                    assert!(!f.expected.is_empty() && !f.actual.is_empty(), "{f:?}");
                }
            }
            let first = &outcomes[0];
            let usage = first.findings().iter().find(|f| f.rule == "semantic.usage").unwrap();
            let total = if name.contains("b0d3ebdff") { "109" } else { "126" };
            assert_eq!((usage.expected.as_str(), usage.actual.as_str()), ("35 + 12 = 47", total));
            assert_eq!(first.line, 2, "interaction 0 starts on line 2 of {name}");
        } else if name.starts_with("llama-stack_models-") {
            model_lists += 1;
            assert_eq!(imported.form, "llama-stack recording");
            let [o] = outcomes.as_slice() else { panic!("{name}: one exchange") };
            let body = match &o.exchange.as_ref().unwrap().body {
                compat::outcome::ObservedBody::Json { value } => value.value(),
                other => panic!("{other:?}"),
            };
            let n = body.as_array().expect("a bare list of model objects").len();
            assert!(n > 50, "{name}: {n} models");
            // Every model: `created` null where the spec wants an integer, and the `models/` id prefix; nothing else.
            let mut expected = BTreeSet::new();
            for i in 0..n {
                expected.insert(("schema.spec".to_owned(), format!("$[{i}].created")));
                expected.insert(("semantic.model_id".to_owned(), format!("$[{i}].id")));
            }
            assert_eq!(findings(o), expected, "{name}");
            assert_eq!(o.findings().len(), 2 * n, "{name}");
            let id = o.findings().iter().find(|f| f.path == "$[0].id").unwrap();
            assert!(id.actual.starts_with("\"models/") && !id.expected.contains('/'), "{id:?}");
            assert_eq!(o.extensions(), ["$[*].display_name"]);
        } else {
            panic!("{name}: a recording this test does not know; add what a true harness says about it");
        }
    }
    assert_eq!((cassettes, model_lists), (2, 2), "the recordings README lists two cassettes and two model lists");

    // The command: exit 1 (findings), the four reports, one outcome per exchange.
    let reports = tempfile::tempdir().unwrap();
    let out = compat_bin().arg("check").arg(&dir).arg("--reports").arg(reports.path()).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("not checked (they need a case): assertions, known divergences, snapshots"), "{stdout}");
    assert!(stdout.contains("$.choices[0].message.tool_calls[0].id: the tool call's id is empty"), "{stdout}");
    assert!(stdout.contains("… and 62 more like it: $[1].created; $[2].created; $[3].created, …"), "{stdout}");
    for f in ["index.html", "junit.xml", "results.json", "summary.md"] {
        assert!(reports.path().join(f).is_file(), "{f}");
    }
    let results = compat::report::write::load_results(&reports.path().join("results.json")).unwrap();
    assert_eq!(results.outcomes.len(), 14, "the six of this folder and the eight of its `2026-12/` subfolder");
    assert!(results.outcomes.iter().all(|o| o.target == "check" && o.verdict() == Verdict::Diverges));
}

/// `2026-12/` of the shared recordings: per file, `(rule, chunk-prefixed path, severity)` of every finding of each
/// exchange. What its README lists, finding by finding: every magentic chunk lacks `id` (typed: both SDKs' types
/// require it); the forced tool-call streams carry the whole call in one delta without `index` (breaking) and with
/// id `""`, and usage on that same chunk (no usage-only final chunk); their `finish_reason: "stop"` after a call
/// forced by name is what OpenAI answers too, so it is no finding; the text stream repeats `role` and carries usage
/// on every chunk. The gemini-balance bodies lack `message.refusal` and `choices[].logprobs`; its stream lacks
/// `finish_reason` on intermediate chunks, repeats `role`, sends usage on every chunk, and ends with a `[DONE]`
/// without its blank line (`stream.done`, spec — never a cut stream). The batch bodies use Gemini's camelCase
/// (`finishReason`, `usage.promptTokens`…: the OpenAI fields are missing, typed), `created` is a string (typed),
/// choices have no `index` (typed), and the line envelope has no `id`, `error` or `response.request_id`.
type Facts = &'static [(&'static str, &'static str, &'static str)];

const FORCED_TOOL_CALL: Facts = &[
    ("schema.client", "chunk 0 $.choices[0].delta.tool_calls[0].index", "breaking"),
    ("schema.client", "chunk 0 $.id", "typed"),
    ("semantic.tool_call_id", "$.choices[0].message.tool_calls[0].id", "breaking"),
    ("stream.usage", "chunk 0 $", "spec"),
];

const BATCH_LINE: Facts = &[
    ("batch.output_line", "$.error", "spec"),
    ("batch.output_line", "$.id", "spec"),
    ("batch.output_line", "$.response.request_id", "spec"),
    ("schema.client", "$.response.body.choices[0].finish_reason", "typed"),
    ("schema.client", "$.response.body.choices[0].index", "typed"),
    ("schema.client", "$.response.body.created", "typed"),
    ("schema.client", "$.response.body.usage.completion_tokens", "typed"),
    ("schema.client", "$.response.body.usage.prompt_tokens", "typed"),
    ("schema.client", "$.response.body.usage.total_tokens", "typed"),
    ("schema.spec", "$.response.body.choices[0].logprobs", "spec"),
    ("schema.spec", "$.response.body.choices[0].message.refusal", "spec"),
];

const RECORDINGS_2026_12: &[(&str, &str, &[Facts])] = &[
    (
        "gemini-balance_fee0b2d1_nonstream.json",
        "raw body",
        &[&[("schema.spec", "$.choices[0].logprobs", "spec"), ("schema.spec", "$.choices[0].message.refusal", "spec")]],
    ),
    (
        "gemini-balance_fee0b2d1_stream.sse",
        "raw body",
        &[&[
            ("schema.spec", "chunk 0 $.choices[0].finish_reason", "spec"),
            ("schema.spec", "chunk 1 $.choices[0].finish_reason", "spec"),
            ("schema.spec", "chunk 2 $.choices[0].finish_reason", "spec"),
            ("schema.spec", "chunk 3 $.choices[0].finish_reason", "spec"),
            ("stream.done", "chunk 5 $", "spec"),
            ("stream.role", "chunk 1 $.choices[*].delta.role", "breaking"),
            ("stream.usage", "chunk 0 $.usage", "spec"),
            ("stream.usage", "chunk 4 $", "spec"),
        ]],
    ),
    ("gemini-cookbook_48e689e8_batch_output.jsonl", "batch output file", &[BATCH_LINE, BATCH_LINE]),
    ("magentic_58b72cf5_complete_bool.yaml", "VCR cassette", &[FORCED_TOOL_CALL]),
    ("magentic_58b72cf5_complete_fruit.yaml", "VCR cassette", &[FORCED_TOOL_CALL]),
    ("magentic_58b72cf5_complete_list_int.yaml", "VCR cassette", &[FORCED_TOOL_CALL]),
    (
        "magentic_58b72cf5_complete_say_hello.yaml",
        "VCR cassette",
        &[&[
            ("schema.client", "chunk 0 $.id", "typed"),
            ("schema.client", "chunk 1 $.id", "typed"),
            ("schema.spec", "chunk 0 $.choices[0].finish_reason", "spec"),
            ("stream.role", "chunk 1 $.choices[*].delta.role", "breaking"),
            ("stream.usage", "chunk 0 $.usage", "spec"),
            ("stream.usage", "chunk 1 $", "spec"),
        ]],
    ),
];

#[test]
fn shared_recordings_of_2026_12_give_exactly_what_is_true_of_them() {
    let Some(dir) = shared_material(&default_root(), "recordings") else { return };
    let dir = dir.join("2026-12");
    let mut files: Vec<String> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    files.sort();
    let known: Vec<&str> = RECORDINGS_2026_12.iter().map(|(f, ..)| *f).collect();
    assert_eq!(files, known, "every file of 2026-12/ is known to this test (the README lists seven)");
    let mut checked = 0;
    for (name, form, expected) in RECORDINGS_2026_12 {
        // Stated nothing: each form and kind is read from the file itself.
        let (imported, outcomes) = check_file(&dir.join(name), &RawOptions::default());
        assert_eq!((imported.form, outcomes.len()), (*form, expected.len()), "{name}");
        for (o, facts) in outcomes.iter().zip(expected.iter()) {
            let got: BTreeSet<(String, String, String)> = o
                .findings()
                .iter()
                .map(|f| (f.rule.clone(), f.chunk.map_or(f.path.clone(), |c| format!("chunk {c} {}", f.path)), f.severity.to_string()))
                .collect();
            let want: BTreeSet<(String, String, String)> = facts.iter().map(|(r, p, s)| (r.to_string(), p.to_string(), s.to_string())).collect();
            assert_eq!(got, want, "{}", o.name());
            assert_eq!(o.verdict(), Verdict::Diverges, "{}: never an error (a cut stream) nor a refusal", o.name());
            for f in o.findings() {
                assert!(!f.message.contains("was asked"), "{}: nothing inferred is stated as fact: {f:?}", o.name());
                assert!(f.why.is_some(), "every finding says why it matters: {f:?}");
            }
            checked += 1;
        }
    }
    assert_eq!(checked, 8, "eight exchanges in seven files");
    // The magentic bodies were gzip-compressed `!!binary`: decoded, with a note and no library hint.
    let (imported, _) = check_file(&dir.join("magentic_58b72cf5_complete_say_hello.yaml"), &RawOptions::default());
    assert_eq!(
        imported.exchanges[0].notes,
        ["the response body is stored as bytes (`!!binary`, content-encoding gzip); it was decoded as a client would"]
    );
}

// ---------------------------------------------------------------------------------------------------------
// 2. Test data written here
// ---------------------------------------------------------------------------------------------------------

fn tools() -> Value {
    json!([{"type": "function", "function": {"name": "book_table", "parameters": {
        "type": "object",
        "properties": {"restaurant": {"type": "string"}, "party_size": {"type": "integer", "minimum": 1}},
        "required": ["restaurant", "party_size"]}}}])
}

fn completion(arguments: &str) -> Value {
    json!({
        "id": "chatcmpl-1", "object": "chat.completion", "created": 1741569952, "model": "gpt-4o-mini-2024-07-18",
        "choices": [{"index": 0, "logprobs": null, "finish_reason": "tool_calls", "message": {
            "role": "assistant", "content": null, "refusal": null,
            "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "book_table", "arguments": arguments}}]}}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}
    })
}

fn chunk(delta: Value, finish: Value) -> String {
    let c = json!({"id": "chatcmpl-2", "object": "chat.completion.chunk", "created": 1741569952, "model": "gpt-4o-mini-2024-07-18",
        "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}]});
    format!("data: {c}\n\n")
}

fn text_stream(done: bool) -> String {
    let mut s = chunk(json!({"role": "assistant", "content": ""}), Value::Null);
    s += &chunk(json!({"content": "Hello"}), Value::Null);
    s += &chunk(json!({}), json!("stop"));
    if done {
        s += "data: [DONE]\n\n";
    }
    s
}

fn har_entry(method: &str, url: &str, request: Option<&Value>, status: u16, mime: &str, text: &str, base64: bool) -> Value {
    use base64::Engine;
    let mut content = json!({"size": text.len(), "mimeType": mime, "text": text});
    if base64 {
        content["text"] = json!(base64::engine::general_purpose::STANDARD.encode(text));
        content["encoding"] = json!("base64");
    }
    let mut req = json!({"method": method, "url": url, "httpVersion": "HTTP/1.1", "headers": [{"name": "Authorization", "value": "Bearer sk-test"}]});
    if let Some(body) = request {
        req["postData"] = json!({"mimeType": "application/json", "text": body.to_string()});
    }
    json!({"startedDateTime": "2026-12-03T12:00:00Z", "time": 12, "request": req,
        "response": {"status": status, "statusText": "", "httpVersion": "HTTP/1.1", "headers": [{"name": "Content-Type", "value": mime}], "content": content}})
}

/// A HAR of four OpenAI exchanges (chat, a base64-stored model object, a stream, an error) and two entries
/// that are not checked (a script, an aborted request). `broken` plants one divergence in each exchange.
fn har(broken: bool) -> String {
    let base = "https://api.example.test/v1";
    let chat_request = json!({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Book for 4"}], "tools": tools()});
    let arguments = if broken { r#"{"restaurant":"Chez Panisse","party_size":"four"}"# } else { r#"{"restaurant":"Chez Panisse","party_size":4}"# };
    let model = if broken {
        json!({"id": "models/gpt-4o-mini", "object": "model", "created": 1686935002, "owned_by": "openai"})
    } else {
        json!({"id": "gpt-4o-mini", "object": "model", "created": 1686935002, "owned_by": "openai"})
    };
    let stream_request = json!({"model": "gpt-4o-mini", "stream": true, "messages": [{"role": "user", "content": "Hi"}]});
    let error = if broken {
        json!([{"error": {"code": 400, "message": "Invalid JSON payload received.", "status": "INVALID_ARGUMENT"}}])
    } else {
        json!({"error": {"message": "Unrecognized request argument supplied: top_k", "type": "invalid_request_error", "param": null, "code": null}})
    };
    let entries = vec![
        har_entry(
            "POST",
            &format!("{base}/chat/completions"),
            Some(&chat_request),
            200,
            "application/json",
            &completion(arguments).to_string(),
            false,
        ),
        har_entry("GET", "https://app.example.test/static/app.js", None, 200, "text/javascript", "console.log(1)", false),
        har_entry("GET", &format!("{base}/models/gpt-4o-mini"), None, 200, "application/json", &model.to_string(), true),
        har_entry("POST", &format!("{base}/chat/completions"), Some(&stream_request), 0, "", "", false),
        har_entry("POST", &format!("{base}/chat/completions"), Some(&stream_request), 200, "text/event-stream", &text_stream(!broken), false),
        har_entry(
            "POST",
            &format!("{base}/chat/completions"),
            Some(&json!({"model": "gpt-4o-mini", "top_k": 3})),
            400,
            "application/json",
            &error.to_string(),
            false,
        ),
    ];
    serde_json::to_string_pretty(&json!({"log": {"version": "1.2", "creator": {"name": "test", "version": "1"}, "entries": entries}})).unwrap()
}

#[test]
fn a_conformant_har_gives_no_finding_and_leaves_out_what_is_not_an_openai_exchange() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.har");
    std::fs::write(&path, har(false)).unwrap();
    let (imported, outcomes) = check_file(&path, &RawOptions::default());
    assert_eq!(imported.form, "HAR");
    assert_eq!(imported.left_out.iter().map(|l| l.index).collect::<Vec<_>>(), [1, 3], "{:?}", imported.left_out);
    assert!(imported.left_out[1].reason.contains("status 0"), "{:?}", imported.left_out);
    let names: Vec<String> = outcomes.iter().map(Outcome::name).collect();
    assert_eq!(names, ["check::app::0", "check::app::2", "check::app::4", "check::app::5"]);
    for o in &outcomes {
        assert_eq!((o.verdict(), o.findings().len()), (Verdict::Pass, 0), "{}: {:?}", o.name(), o.findings());
    }
    // Each exchange is located at the line where its entry starts.
    let text = std::fs::read_to_string(&path).unwrap();
    let line = |n: u64| text.lines().nth(n as usize - 1).unwrap().trim().to_owned();
    assert!(outcomes.iter().all(|o| line(o.line) == "{"), "entries start with `{{`");
    assert!(outcomes.windows(2).all(|w| w[0].line < w[1].line));
    // What the HAR held in request headers (a key) is never kept.
    assert!(!serde_json::to_string(&outcomes).unwrap().contains("sk-test"));

    let reports = dir.path().join("reports");
    let out = compat_bin().arg("check").arg(&path).arg("--reports").arg(&reports).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));
    let written: Value = serde_json::from_str(&std::fs::read_to_string(reports.join("results.json")).unwrap()).unwrap();
    let schema: Value = serde_json::from_str(compat::report::json::SCHEMA).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = validator.iter_errors(&written).map(|e| format!("{} at {}", e, e.instance_path())).collect();
    assert!(errors.is_empty(), "results.json of compat check breaks its schema: {errors:?}");
    assert_eq!(written["run"]["targets"][0]["mode"], "recorded");
    assert_eq!(written["run"]["targets"][0]["base_url"], "https://api.example.test");
}

#[test]
fn a_broken_har_gives_each_planted_divergence_at_its_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.har");
    std::fs::write(&path, har(true)).unwrap();
    let (_, outcomes) = check_file(&path, &RawOptions::default());
    let by_index = |i: &str| outcomes.iter().find(|o| o.id == i).unwrap();
    assert_eq!(findings(by_index("0")), set(&[("semantic.tool_arguments", "$.choices[0].message.tool_calls[0].function.arguments → $.party_size")]));
    assert_eq!(findings(by_index("2")), set(&[("semantic.model_id", "$.id")]));
    assert_eq!(findings(by_index("4")), set(&[("stream.done", "$")]));
    assert_eq!(findings(by_index("5")), set(&[("schema.client", "$")]));
    let args = &by_index("0").findings()[0];
    assert_eq!((args.actual.as_str(), args.severity), ("\"four\"", compat::rules::Severity::Spec));
    let model = &by_index("2").findings()[0];
    assert_eq!((model.expected.as_str(), model.actual.as_str()), ("\"gpt-4o-mini\"", "\"models/gpt-4o-mini\""));
    assert!(outcomes.iter().all(|o| o.verdict() == Verdict::Diverges));

    let out = compat_bin().arg("check").arg(&path).arg("--reports").arg(dir.path().join("r")).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains(&format!("--> {}:", path.display())), "{stdout}");
}

#[test]
fn raw_sse_bodies_are_checked_with_a_stated_endpoint() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.sse");
    std::fs::write(&good, text_stream(true)).unwrap();
    let chat = RawOptions { endpoint: Some("chat/completions".into()), ..Default::default() };
    let (imported, outcomes) = check_file(&good, &chat);
    assert_eq!(imported.form, "raw body");
    assert_eq!((outcomes[0].verdict(), outcomes[0].findings().len()), (Verdict::Pass, 0), "{:?}", outcomes[0].findings());
    assert!(outcomes[0].doc.contains("no request was given"), "{}", outcomes[0].doc);

    // A tool-call delta without `index`, and no `[DONE]`.
    let bad = dir.path().join("bad.sse");
    let mut text = chunk(
        json!({"role": "assistant", "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "book_table", "arguments": "{}"}}]}),
        Value::Null,
    );
    text += &chunk(json!({}), json!("tool_calls"));
    std::fs::write(&bad, text).unwrap();
    let by_kind = RawOptions { kind: Some(compat::case::ObjectKind::ChatCompletionChunk), ..Default::default() };
    let (_, outcomes) = check_file(&bad, &by_kind);
    assert_eq!(findings(&outcomes[0]), set(&[("schema.client", "chunk 0 $.choices[0].delta.tool_calls[0].index"), ("stream.done", "$")]));

    // With the request given, the tool call is checked against the request's tools.
    let request = RawOptions { request: Some(json!({"model": "m", "stream": true, "tools": tools()})), ..chat.clone() };
    let (_, outcomes) = check_file(&bad, &request);
    assert!(
        findings(&outcomes[0])
            .contains(&("semantic.tool_arguments".to_owned(), "$.choices[0].message.tool_calls[0].function.arguments → $".to_owned()))
    );

    // Without the request, the checks that need none still run: an empty tool-call id is caught.
    let empty = dir.path().join("empty_id.sse");
    let mut text = chunk(
        json!({"role": "assistant", "tool_calls": [{"index": 0, "id": "", "type": "function", "function": {"name": "f", "arguments": "{}"}}]}),
        Value::Null,
    );
    text += &chunk(json!({}), json!("tool_calls"));
    text += "data: [DONE]\n\n";
    std::fs::write(&empty, text).unwrap();
    let (_, outcomes) = check_file(&empty, &chat);
    assert_eq!(findings(&outcomes[0]), set(&[("semantic.tool_call_id", "$.choices[0].message.tool_calls[0].id")]));

    // A stream cut before any finish is the recording's fault, not a divergence.
    let cut = dir.path().join("cut.sse");
    std::fs::write(&cut, chunk(json!({"role": "assistant", "content": "Hel"}), Value::Null)).unwrap();
    let (_, outcomes) = check_file(&cut, &chat);
    assert_eq!(outcomes[0].verdict(), Verdict::Error);

    let out = compat_bin().args(["check", "--endpoint", "chat/completions"]).arg(&good).arg("--reports").arg(dir.path().join("r")).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));
}

#[test]
fn broken_files_are_located_errors_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let cassette = dir.path().join("bad.yaml");
    std::fs::write(&cassette, "interactions:\n- request:\n    method: POST\n  response: [\n").unwrap();
    let e = import::load_file(&cassette, &RawOptions::default()).unwrap_err();
    assert!(e.line > 0 && e.headline().starts_with(&format!("{}:", cassette.display())), "{e}");

    let har = dir.path().join("bad.har");
    std::fs::write(&har, "{\"log\": {\"entries\": [\n  {\"request\": 3}\n]}}").unwrap();
    let e = import::load_file(&har, &RawOptions::default()).unwrap_err();
    assert_eq!(e.line, 2, "{e}");
    assert!(e.message.contains("not a HAR file"), "{e}");

    let raw = dir.path().join("body.json");
    std::fs::write(&raw, "{\"id\": 1}").unwrap();
    let e = import::load_file(&raw, &RawOptions::default()).unwrap_err();
    assert!(e.message.contains("--endpoint") && e.message.contains("--kind"), "{e}");
    std::fs::write(&raw, "{\"id\": 1,\n  oops}").unwrap();
    let e = import::load_file(&raw, &RawOptions { endpoint: Some("embeddings".into()), ..Default::default() }).unwrap_err();
    assert_eq!(e.line, 2, "{e}");

    let out = compat_bin().arg("check").arg(&cassette).arg("--reports").arg(dir.path().join("r")).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(!dir.path().join("r").exists(), "nothing checked, no reports written");
    assert!(String::from_utf8_lossy(&out.stderr).contains("error: "), "{}", String::from_utf8_lossy(&out.stderr));
    let out = compat_bin().args(["check", "--kind", "chat"]).arg(&raw).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not an object kind"));
}

/// vcrpy's own form: bodies as strings (`body: {string: …}`), a stream as its SSE text, another API's
/// interaction beside them.
fn cassette(stream: &str, total_tokens: u64) -> String {
    let request = json!({"model": "gpt-4o-mini", "stream": true, "messages": [{"role": "user", "content": "Hi"}]}).to_string();
    let usage_request = json!({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hi"}]}).to_string();
    let answer = json!({
        "id": "chatcmpl-3", "object": "chat.completion", "created": 1741569952, "model": "gpt-4o-mini-2024-07-18",
        "choices": [{"index": 0, "logprobs": null, "finish_reason": "stop", "message": {"role": "assistant", "content": "Hello", "refusal": null}}],
        "usage": {"prompt_tokens": 8, "completion_tokens": 2, "total_tokens": total_tokens}
    })
    .to_string();
    let q = |s: &str| serde_json::to_string(s).unwrap(); // a JSON string is a YAML double-quoted scalar
    format!(
        "interactions:
- request:
    body: {req}
    headers:
      Content-Type: [application/json]
    method: POST
    uri: https://api.example.test/v1/chat/completions
  response:
    body: {{string: {stream}}}
    headers:
      Content-Type: [text/event-stream; charset=utf-8]
    status: {{code: 200, message: OK}}
- request:
    body: null
    headers: {{}}
    method: GET
    uri: https://weather.example.test/today
  response:
    body: {{string: sunny}}
    headers: {{}}
    status: {{code: 200, message: OK}}
- request:
    body: {usage_req}
    headers: {{}}
    method: POST
    uri: https://api.example.test/v1/chat/completions
  response:
    body: {{string: {answer}}}
    headers:
      Content-Type: [application/json]
    status: {{code: 200, message: OK}}
version: 1
",
        req = q(&request),
        stream = q(stream),
        usage_req = q(&usage_request),
        answer = q(&answer),
    )
}

#[test]
fn vcrpy_cassettes_with_raw_string_bodies_both_ways() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("test_chat.yaml");
    std::fs::write(&good, cassette(&text_stream(true), 10)).unwrap();
    let (imported, outcomes) = check_file(&good, &RawOptions::default());
    assert_eq!(imported.form, "VCR cassette");
    assert_eq!(imported.left_out.iter().map(|l| l.index).collect::<Vec<_>>(), [1]);
    assert_eq!(outcomes.iter().map(Outcome::name).collect::<Vec<_>>(), ["check::test_chat::0", "check::test_chat::2"]);
    for o in &outcomes {
        assert_eq!((o.verdict(), o.findings().len()), (Verdict::Pass, 0), "{}: {:?}", o.name(), o.findings());
    }
    assert_eq!(outcomes[0].exchange.as_ref().unwrap().chunks.len(), 3, "the SSE string body is parsed event by event");
    let starts: Vec<u64> =
        std::fs::read_to_string(&good).unwrap().lines().zip(1..).filter(|(l, _)| l.starts_with("- request:")).map(|(_, n)| n).collect();
    assert_eq!(vec![outcomes[0].line, outcomes[1].line], [starts[0], starts[2]], "each outcome at its interaction's line");

    let bad = dir.path().join("test_chat_bad.yaml");
    std::fs::write(&bad, cassette(&text_stream(false), 11)).unwrap();
    let (_, outcomes) = check_file(&bad, &RawOptions::default());
    assert_eq!(findings(&outcomes[0]), set(&[("stream.done", "$")]));
    assert_eq!(findings(&outcomes[1]), set(&[("semantic.usage", "$.usage.total_tokens")]));
    let usage = &outcomes[1].findings()[0];
    assert_eq!((usage.expected.as_str(), usage.actual.as_str()), ("8 + 2 = 10", "11"));

    // A body vcrpy kept as bytes is decoded (see `compressed_binary_bodies_are_decoded_as_a_client_would`).
}

#[test]
fn a_bare_model_list_is_excused_only_where_the_recorder_dropped_the_envelope() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("models.json");
    std::fs::write(&path, json!([{"id": "gpt-4o-mini", "object": "model", "created": 1686935002, "owned_by": "openai"}]).to_string()).unwrap();
    // Stated as the items' kind: each checked as a model object, and conformant.
    let (_, outcomes) = check_file(&path, &RawOptions { kind: Some(compat::case::ObjectKind::Model), ..Default::default() });
    assert_eq!((outcomes[0].verdict(), outcomes[0].findings().len()), (Verdict::Pass, 0), "{:?}", outcomes[0].findings());
    // Stated as what GET models answered: a server that sends the bare list breaks `client.models.list()`.
    let (_, outcomes) = check_file(&path, &RawOptions { endpoint: Some("models".into()), ..Default::default() });
    assert!(findings(&outcomes[0]).contains(&("schema.client".to_owned(), "$".to_owned())), "{:?}", outcomes[0].findings());
}

/// A llama-stack recording of a chat completion: openai-python's `model_dump()`, every optional field `null`.
fn llama_stack_chat(created: Value, total_tokens: u64) -> String {
    json!({
        "test_id": null,
        "request": {"method": "POST", "url": "http://0.0.0.0:11434/v1/v1/chat/completions", "headers": {},
            "body": {"model": "llama3.2:3b", "messages": [{"role": "user", "content": "Hi"}], "stream": false, "extra_body": null},
            "endpoint": "/v1/chat/completions", "model": "llama3.2:3b"},
        "response": {"body": {"__type__": "openai.types.chat.chat_completion.ChatCompletion", "__data__": {
            "id": "rec-1", "created": created, "model": "llama3.2:3b", "object": "chat.completion", "service_tier": null, "system_fingerprint": "fp_ollama",
            "choices": [{"finish_reason": "stop", "index": 0, "logprobs": null, "message": {
                "content": "Hello", "refusal": null, "role": "assistant", "annotations": null, "audio": null, "function_call": null, "tool_calls": null}}],
            "usage": {"completion_tokens": 2, "prompt_tokens": 8, "total_tokens": total_tokens, "completion_tokens_details": null, "prompt_tokens_details": null}}},
            "is_streaming": false}
    })
    .to_string()
}

#[test]
fn llama_stack_nulls_count_only_when_a_finding_holds_either_way() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("chat.json");
    std::fs::write(&good, llama_stack_chat(json!(0), 10)).unwrap();
    let (imported, outcomes) = check_file(&good, &RawOptions::default());
    assert_eq!(imported.form, "llama-stack recording");
    // `annotations`, `function_call`, `tool_calls`, `service_tier`, the token details: null stands for absent.
    assert_eq!((outcomes[0].verdict(), outcomes[0].findings().len()), (Verdict::Pass, 0), "{:?}", outcomes[0].findings());

    let bad = dir.path().join("chat_bad.json");
    std::fs::write(&bad, llama_stack_chat(Value::Null, 11)).unwrap();
    let (_, outcomes) = check_file(&bad, &RawOptions::default());
    // `created` is wrong whether null was sent or the key was absent (typed either way: both SDKs' types declare it
    // a required integer); the total is wrong either way.
    assert_eq!(findings(&outcomes[0]), set(&[("schema.client", "$.created"), ("semantic.usage", "$.usage.total_tokens")]));
    assert_eq!(outcomes[0].findings().iter().find(|f| f.path == "$.created").unwrap().severity, compat::rules::Severity::Typed);
}

#[test]
fn a_cassette_in_vcrpys_json_serializer_is_a_cassette() {
    let dir = tempfile::tempdir().unwrap();
    let yaml = cassette(&text_stream(true), 11);
    let doc: Value = serde_saphyr::from_str(&yaml).unwrap();
    let path = dir.path().join("test_chat.json");
    std::fs::write(&path, serde_json::to_string_pretty(&doc).unwrap()).unwrap();
    let (imported, outcomes) = check_file(&path, &RawOptions::default());
    assert_eq!((imported.form, outcomes.len()), ("VCR cassette", 2));
    assert_eq!(findings(&outcomes[1]), set(&[("semantic.usage", "$.usage.total_tokens")]));
}

/// A streamed tool call shaped as Gemini's captures and reports describe it (gemini-compat #9, #14, the
/// September 2026 capture's `models/` model name): no `index` on the tool-call delta, usage on every chunk
/// although `include_usage` was not asked, the model named `models/gemini-2.5-flash`.
#[test]
fn a_gemini_shaped_streamed_tool_call_in_a_cassette_gives_each_of_its_divergences() {
    let chunk = |delta: Value, finish: Value| {
        let c = json!({"id": "g-1", "object": "chat.completion.chunk", "created": 1757000000, "model": "models/gemini-2.5-flash",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            "usage": {"prompt_tokens": 20, "completion_tokens": 5, "total_tokens": 25}});
        format!("data: {c}\n\n")
    };
    let mut stream = chunk(
        json!({"role": "assistant", "tool_calls": [{"id": "function-call-1", "type": "function", "function": {"name": "book_table", "arguments": "{\"restaurant\":\"Chez Panisse\",\"party_size\":4}"}}]}),
        json!("tool_calls"),
    );
    stream += "data: [DONE]\n\n";
    let request = json!({"model": "gemini-2.5-flash", "stream": true, "messages": [{"role": "user", "content": "Book for 4"}], "tools": tools()});
    let text = format!(
        "interactions:\n- request:\n    body: {}\n    method: POST\n    uri: https://generativelanguage.googleapis.com/v1beta/openai/chat/completions\n  response:\n    body: {{string: {}}}\n    headers: {{content-type: [text/event-stream]}}\n    status: {{code: 200, message: OK}}\n",
        serde_json::to_string(&request.to_string()).unwrap(),
        serde_json::to_string(&stream).unwrap()
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gemini_stream.yaml");
    std::fs::write(&path, text).unwrap();
    let (_, outcomes) = check_file(&path, &RawOptions::default());
    assert_eq!(
        findings(&outcomes[0]),
        set(&[
            ("schema.client", "chunk 0 $.choices[0].delta.tool_calls[0].index"),
            ("stream.usage", "chunk 0 $.usage"),
            ("semantic.model", "$.model"),
        ])
    );
}

#[test]
fn a_llama_stack_stream_is_rebuilt_from_its_chunks_and_its_nulls_excuse_nothing_true() {
    let dump = |delta: Value, role: Value, finish: Value, usage: Value| {
        json!({"__type__": "openai.types.chat.chat_completion_chunk.ChatCompletionChunk", "__data__": {
            "id": "rec-2", "created": 1741569952, "model": "llama3.2:3b", "object": "chat.completion.chunk", "service_tier": null,
            "system_fingerprint": null, "usage": usage,
            "choices": [{"index": 0, "logprobs": null, "finish_reason": finish,
                "delta": {"content": delta, "function_call": null, "refusal": null, "role": role, "tool_calls": null}}]}})
    };
    let recording = |usage_total: Value| {
        json!({"request": {"method": "POST", "url": "http://0.0.0.0:11434/v1/v1/chat/completions",
                "body": {"model": "llama3.2:3b", "messages": [{"role": "user", "content": "Hi"}], "stream": true}},
            "response": {"is_streaming": true, "body": [
                dump(json!("Hel"), json!("assistant"), Value::Null, Value::Null),
                dump(json!("lo"), Value::Null, json!("stop"), usage_total)]}})
        .to_string()
    };
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("stream.json");
    std::fs::write(&good, recording(Value::Null)).unwrap();
    let (_, outcomes) = check_file(&good, &RawOptions::default());
    assert_eq!((outcomes[0].verdict(), outcomes[0].findings().len()), (Verdict::Pass, 0), "{:?}", outcomes[0].findings());
    assert_eq!(outcomes[0].exchange.as_ref().unwrap().reassembled.as_ref().unwrap()["choices"][0]["message"]["content"], "Hello");

    // Usage on a chunk that has choices, never asked for: wrong whether or not its nulls were sent.
    let bad = dir.path().join("stream_bad.json");
    std::fs::write(&bad, recording(json!({"prompt_tokens": 8, "completion_tokens": 2, "total_tokens": 10}))).unwrap();
    let (_, outcomes) = check_file(&bad, &RawOptions::default());
    assert_eq!(findings(&outcomes[0]), set(&[("stream.usage", "chunk 1 $.usage")]));
}

// ---------------------------------------------------------------------------------------------------------
// 3. Streams as saved, compressed cassettes, Batch output files, bare chunks
// ---------------------------------------------------------------------------------------------------------

/// A text stream whose `data: [DONE]` ends with `ending` instead of its blank line.
fn stream_ending(ending: &str) -> String {
    let mut s = text_stream(false);
    s += "data: [DONE]";
    s += ending;
    s
}

/// Every line ending after `[DONE]`: LF and CRLF blank lines end the stream cleanly; none and a single `\n` leave the
/// last event open, which openai-python 3.60.0 and openai-node 7.60.0 accept without losing a chunk, so it is
/// `stream.done` (spec) and never a cut stream; every chunk is still checked.
#[test]
fn every_line_ending_after_done_is_a_whole_stream() {
    let dir = tempfile::tempdir().unwrap();
    let stated = RawOptions { endpoint: Some("chat/completions".into()), ..Default::default() };
    let cases = [("lf", "\n\n", false), ("crlf", "\r\n\r\n", false), ("none", "", true), ("single_lf", "\n", true), ("single_crlf", "\r\n", true)];
    for (name, ending, open) in cases {
        let path = dir.path().join(format!("{name}.sse"));
        std::fs::write(&path, stream_ending(ending)).unwrap();
        let (_, outcomes) = check_file(&path, &stated);
        let o = &outcomes[0];
        assert_ne!(o.verdict(), Verdict::Error, "{name}: {:?}", o.error());
        assert_eq!(o.exchange.as_ref().unwrap().chunks.len(), 3, "{name}: every chunk is checked");
        if open {
            assert_eq!(findings(o), set(&[("stream.done", "chunk 3 $")]), "{name}");
            let f = &o.findings()[0];
            assert_eq!((f.severity, f.message.as_str()), (compat::rules::Severity::Spec, "the final `data: [DONE]` has no closing blank line"));
        } else {
            assert_eq!((o.verdict(), findings(o)), (Verdict::Pass, set(&[])), "{name}");
        }
    }
    // Every chunk is checked behind an open [DONE]: a repeated role is found.
    let path = dir.path().join("roles.sse");
    let mut s = chunk(json!({"role": "assistant", "content": "Hel"}), Value::Null);
    s += &chunk(json!({"role": "assistant", "content": "lo"}), json!("stop"));
    std::fs::write(&path, s + "data: [DONE]").unwrap();
    let (_, outcomes) = check_file(&path, &stated);
    assert_eq!(findings(&outcomes[0]), set(&[("stream.done", "chunk 2 $"), ("stream.role", "chunk 1 $.choices[*].delta.role")]));
    // A stream cut inside a chunk is still a cut stream.
    let cut = dir.path().join("cut.sse");
    std::fs::write(&cut, chunk(json!({"role": "assistant", "content": "Hel"}), Value::Null) + "data: {\"id\": \"chatcmpl-2\", \"cho").unwrap();
    let (_, outcomes) = check_file(&cut, &stated);
    assert_eq!(outcomes[0].verdict(), Verdict::Error);
    assert_eq!(outcomes[0].error().unwrap().kind, compat::outcome::ErrorKind::Truncated);
}

/// A cassette whose answer vcrpy kept compressed: `!!binary` base64 of the body encoded as its `Content-Encoding`.
fn compressed_cassette(base64_body: &str, encoding: &str) -> String {
    let request = json!({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hi"}]}).to_string();
    let wrapped: Vec<String> = base64_body.as_bytes().chunks(76).map(|c| format!("        {}", std::str::from_utf8(c).unwrap())).collect();
    format!(
        "interactions:
- request:
    body: {req}
    headers:
      Content-Type: [application/json]
    method: POST
    uri: https://api.example.test/v1/chat/completions
  response:
    body:
      string: !!binary |
{body}
    headers:
      Content-Encoding:
      - {encoding}
      Content-Type:
      - application/json
    status: {{code: 200, message: OK}}
version: 1
",
        req = serde_json::to_string(&request).unwrap(),
        body = wrapped.join("\n"),
    )
}

/// `answer` compressed by Node's zlib (`brotliCompressSync`): no brotli encoder is built here.
const BR_ANSWER: &str = "GyYBAIzUVnmiBA9B4NZSvwy8eMpikhipw9K13upDFFr/vm/2hmLD9iphk9jEKGSV0y09NL+hcOhqr5k7MMa13a9N+gQB6hy3Q0gEwgdO5DtBmCSBK9j5Acbrk/4pXWllAHdpR9KJiVhXpBoGBna7neP1nE2hmQSvSilsBMoDdFyFRvoCppqJ2Dj8zkWIN/n5ekOejDl+jPF6zv36SvtcXsQCgtwBF2XmRXVsYwA=";

fn answer(total_tokens: u64) -> String {
    json!({"id": "chatcmpl-4", "object": "chat.completion", "created": 1741569952, "model": "gpt-4o-mini-2024-07-18",
           "choices": [{"index": 0, "logprobs": null, "finish_reason": "stop", "message": {"role": "assistant", "content": "Hello", "refusal": null}}],
           "usage": {"prompt_tokens": 8, "completion_tokens": 2, "total_tokens": total_tokens}})
    .to_string()
}

#[test]
fn compressed_binary_bodies_are_decoded_as_a_client_would() {
    use base64::Engine as _;
    use std::io::Write as _;
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    let dir = tempfile::tempdir().unwrap();
    for total in [10, 11] {
        let text = answer(total);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(text.as_bytes()).unwrap();
        let mut zlib = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        zlib.write_all(text.as_bytes()).unwrap();
        let mut raw = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
        raw.write_all(text.as_bytes()).unwrap();
        let mut variants =
            vec![("gzip", b64(&gz.finish().unwrap())), ("deflate", b64(&zlib.finish().unwrap())), ("deflate", b64(&raw.finish().unwrap()))];
        if total == 10 {
            variants.push(("br", BR_ANSWER.to_owned()));
        }
        for (n, (encoding, body)) in variants.into_iter().enumerate() {
            let path = dir.path().join(format!("test_{encoding}_{total}_{n}.yaml"));
            std::fs::write(&path, compressed_cassette(&body, encoding)).unwrap();
            let (imported, outcomes) = check_file(&path, &RawOptions::default());
            assert_eq!(outcomes.len(), 1, "{encoding}");
            let expected = if total == 10 { set(&[]) } else { set(&[("semantic.usage", "$.usage.total_tokens")]) };
            assert_eq!(findings(&outcomes[0]), expected, "{encoding} ({total} tokens)");
            assert!(
                imported.exchanges[0].notes.iter().any(|n| n.contains(&format!("content-encoding {encoding}"))),
                "{:?}",
                imported.exchanges[0].notes
            );
        }
    }
    // Bytes that are not what the header says: a located error that says so, and no library's configuration hint.
    let path = dir.path().join("test_bad_gzip.yaml");
    std::fs::write(&path, compressed_cassette(&b64(b"not gzip at all"), "gzip")).unwrap();
    let e = import::load_file(&path, &RawOptions::default()).unwrap_err();
    assert!(e.message.contains("does not decode as gzip") && e.line == 2, "{e}");
    for hint in ["decode_compressed_response", "ignore_binary_tag_for_string", "Options", "re-record"] {
        assert!(!e.message.contains(hint), "{e}");
    }
}

fn batch_line(custom_id: &str, body: Value) -> String {
    json!({"id": format!("batch_req_{custom_id}"), "custom_id": custom_id, "response": {"status_code": 200, "request_id": format!("req_{custom_id}"), "body": body}, "error": null}).to_string()
}

#[test]
fn batch_output_files_are_read_line_by_line_with_their_envelope() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("batch_output.jsonl");
    let ok: Value = serde_json::from_str(&answer(10)).unwrap();
    std::fs::write(&good, format!("{}\n{}\n", batch_line("request-1", ok.clone()), batch_line("request-2", ok.clone()))).unwrap();
    let (imported, outcomes) = check_file(&good, &RawOptions::default());
    assert_eq!((imported.form, outcomes.len()), ("batch output file", 2));
    for o in &outcomes {
        assert_eq!((o.verdict(), findings(o)), (Verdict::Pass, set(&[])), "{}", o.name());
    }
    assert_eq!(outcomes.iter().map(|o| o.line).collect::<Vec<_>>(), [1, 2], "each outcome at its line");

    // A broken envelope and a broken body, each at its path in the line.
    let bad = dir.path().join("batch_bad.jsonl");
    let mut body = ok.clone();
    body["usage"]["total_tokens"] = json!(11);
    body["choices"][0].as_object_mut().unwrap().remove("finish_reason");
    let line = json!({"custom_id": "request-1", "response": {"status_code": 200, "body": body}});
    std::fs::write(&bad, format!("{line}\n")).unwrap();
    let (_, outcomes) = check_file(&bad, &RawOptions::default());
    assert_eq!(
        findings(&outcomes[0]),
        set(&[
            ("batch.output_line", "$.id"),
            ("batch.output_line", "$.error"),
            ("batch.output_line", "$.response.request_id"),
            ("schema.client", "$.response.body.choices[0].finish_reason"),
            ("semantic.usage", "$.response.body.usage.total_tokens"),
        ])
    );
    let missing = outcomes[0].findings().iter().find(|f| f.path.ends_with("finish_reason")).unwrap();
    assert_eq!(missing.severity, compat::rules::Severity::Typed, "both SDKs' types declare finish_reason required");

    // Directory mode takes `.jsonl` files, subfolders included.
    let sub = dir.path().join("sub");
    std::fs::create_dir(&sub).unwrap();
    std::fs::copy(&good, sub.join("again.jsonl")).unwrap();
    let reports = tempfile::tempdir().unwrap();
    let out = compat_bin().arg("check").arg(dir.path()).arg("--reports").arg(reports.path()).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert_eq!(stdout.matches(": batch output file, ").count(), 3, "{stdout}");
    assert!(stdout.contains("5 exchanges"), "{stdout}");
}

#[test]
fn a_bare_chunk_is_checked_against_the_chunk_schema() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("chunk.json");
    let good = json!({"id": "chatcmpl-2", "object": "chat.completion.chunk", "created": 1741569952, "model": "gpt-4o-mini",
                      "choices": [{"index": 0, "delta": {"content": "Hi"}, "logprobs": null, "finish_reason": null}]});
    for (opts, what) in [
        (RawOptions { kind: Some(compat::case::ObjectKind::ChatCompletionChunk), ..Default::default() }, "--kind"),
        (RawOptions::default(), "its object"),
    ] {
        std::fs::write(&path, good.to_string()).unwrap();
        let (imported, outcomes) = check_file(&path, &opts);
        assert_eq!((outcomes[0].verdict(), findings(&outcomes[0])), (Verdict::Pass, set(&[])), "{what}");
        assert_eq!(imported.exchanges[0].kind, compat::case::ObjectKind::ChatCompletionChunk);
        let mut bad = good.clone();
        bad.as_object_mut().unwrap().remove("id");
        bad["choices"][0]["delta"] = json!({"tool_calls": [{"id": "c", "function": {"name": "f", "arguments": "{}"}}]});
        std::fs::write(&path, bad.to_string()).unwrap();
        let (_, outcomes) = check_file(&path, &opts);
        let got: Vec<(String, String, compat::rules::Severity)> =
            outcomes[0].findings().iter().map(|f| (f.rule.clone(), f.path.clone(), f.severity)).collect();
        assert!(got.contains(&("schema.client".into(), "$.id".into(), compat::rules::Severity::Typed)), "{what}: {got:?}");
        assert!(
            got.contains(&("schema.client".into(), "$.choices[0].delta.tool_calls[0].index".into(), compat::rules::Severity::Breaking)),
            "{what}: {got:?}"
        );
    }
}

/// What a request would tell, without one: a `models/` prefix on `model` is reported from the answer alone, and
/// an inferred `include_usage` is never stated as asked.
#[test]
fn response_only_checks_run_without_a_request_and_say_only_what_is_known() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("answer.json");
    let mut body: Value = serde_json::from_str(&answer(10)).unwrap();
    std::fs::write(&path, body.to_string()).unwrap();
    let (_, outcomes) = check_file(&path, &RawOptions::default());
    assert_eq!(findings(&outcomes[0]), set(&[]));
    body["model"] = json!("models/gemini-2.5-flash");
    std::fs::write(&path, body.to_string()).unwrap();
    let (_, outcomes) = check_file(&path, &RawOptions::default());
    assert_eq!(findings(&outcomes[0]), set(&[("semantic.model", "$.model")]));
    assert_eq!(outcomes[0].findings()[0].expected, "a model name as callers send it (\"gemini-2.5-flash\")");

    // Usage on every chunk of a stream saved without its request: where usage came is said, not what was asked.
    let sse = dir.path().join("usage.sse");
    let with_usage = |delta: Value, finish: Value| {
        let c = json!({"id": "chatcmpl-2", "object": "chat.completion.chunk", "created": 1, "model": "m",
            "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}});
        format!("data: {c}\n\n")
    };
    std::fs::write(
        &sse,
        with_usage(json!({"role": "assistant", "content": "Hi"}), Value::Null) + &with_usage(json!({}), json!("stop")) + "data: [DONE]\n\n",
    )
    .unwrap();
    let (_, outcomes) = check_file(&sse, &RawOptions::default());
    let messages: Vec<&str> = outcomes[0].findings().iter().filter(|f| f.rule == "stream.usage").map(|f| f.message.as_str()).collect();
    assert!(!messages.is_empty());
    for m in messages {
        assert!(!m.contains("was asked"), "{m}");
    }
}

/// `finish_reason: "stop"` on a message that calls tools: `semantic.finish_reason`, except where the request forced
/// one function by name (OpenAI answers `stop` there).
#[test]
fn finish_reason_stop_with_tool_calls_is_reported_unless_the_call_was_forced() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("calls.json");
    let req = dir.path().join("request.json");
    let mut body = completion("{\"restaurant\": \"x\", \"party_size\": 2}");
    std::fs::write(&path, body.to_string()).unwrap();
    let request = json!({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "book"}], "tools": tools()});
    let opts = |r: &Value| {
        std::fs::write(&req, r.to_string()).unwrap();
        RawOptions { endpoint: Some("chat/completions".into()), request: Some(r.clone()), ..Default::default() }
    };
    let (_, outcomes) = check_file(&path, &opts(&request));
    assert_eq!(findings(&outcomes[0]), set(&[]));
    body["choices"][0]["finish_reason"] = json!("stop");
    std::fs::write(&path, body.to_string()).unwrap();
    let (_, outcomes) = check_file(&path, &opts(&request));
    assert_eq!(findings(&outcomes[0]), set(&[("semantic.finish_reason", "$.choices[0].finish_reason")]));
    let mut forced = request.clone();
    forced["tool_choice"] = json!({"type": "function", "function": {"name": "book_table"}});
    let (_, outcomes) = check_file(&path, &opts(&forced));
    assert_eq!(findings(&outcomes[0]), set(&[]));
}

/// An error body pasted without a word about it: `{"error": …}` is checked as the error object, both ways.
#[test]
fn a_raw_error_body_is_read_as_an_error_object() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("error.json");
    let status = RawOptions { status: Some(404), ..Default::default() };
    std::fs::write(
        &path,
        json!({"error": {"message": "model not found", "type": "invalid_request_error", "param": null, "code": "model_not_found"}}).to_string(),
    )
    .unwrap();
    let (imported, outcomes) = check_file(&path, &status);
    assert_eq!(
        (imported.exchanges[0].kind, outcomes[0].verdict(), findings(&outcomes[0])),
        (compat::case::ObjectKind::Error, Verdict::Pass, set(&[]))
    );
    // `error` as a string: openai-python 3.60.0's exception loses the message, so it is breaking.
    std::fs::write(&path, json!({"error": "some message"}).to_string()).unwrap();
    let (_, outcomes) = check_file(&path, &status);
    assert_eq!(findings(&outcomes[0]), set(&[("schema.client", "$.error")]));
    assert_eq!(outcomes[0].findings()[0].severity, compat::rules::Severity::Breaking);
    // Wrapped in an array (Gemini once sent that): the error object is not at the top.
    std::fs::write(&path, json!([{"error": {"message": "m", "type": "t", "param": null, "code": "c"}}]).to_string()).unwrap();
    let (imported, outcomes) = check_file(&path, &status);
    assert_eq!(imported.exchanges[0].kind, compat::case::ObjectKind::Error);
    assert_eq!(outcomes[0].verdict(), Verdict::Diverges);
}
