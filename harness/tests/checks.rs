//! Self-tests of every check kind, both ways: a conformant response passes, a broken one is caught with the
//! exact rendered message (path, rule, expected, actual). The checks are driven through the library exactly
//! as the run layer drives them: a case parsed from YAML, an observed response, `check::evaluate`,
//! `outcome::decide`, and the terminal renderer.

use compat::case::LoadedCase;
use compat::case::load::parse_case;
use compat::check::{Evaluation, Observed, evaluate};
use compat::outcome::Finding;
use compat::outcome::{KnownStatus, Verdict};
use compat::report::terminal::render_finding;
use compat::rules::Severity;
use compat::schema::SchemaSet;
use serde_json::{Value, json};
use std::sync::LazyLock;

static SCHEMAS: LazyLock<SchemaSet> = LazyLock::new(|| SchemaSet::builtin().expect("builtin schemas compile"));
const FILE: &str = "cases/selftest/t.yaml";

/// A case from the YAML after the header (`id`, `feature`, `title`, `doc` are filled in).
fn case(rest: &str) -> LoadedCase {
    let text = format!("id: t\nfeature: selftest\ntitle: self test\ndoc: none\n{rest}");
    parse_case(FILE, &text).unwrap_or_else(|e| panic!("{e}"))
}

fn chat_case(extra_body: Value, expect: &str) -> LoadedCase {
    // The checks see the request as sent, model names resolved (`semantic.model` compares with it).
    let mut body = json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]});
    for (k, v) in extra_body.as_object().unwrap() {
        body[k] = v.clone();
    }
    case(&format!("request:\n  path: chat/completions\n  body: {body}\nexpect:\n{expect}"))
}

fn json_response(status: u16, body: Value) -> Observed {
    Observed::from_bytes(status, vec![("content-type".into(), "application/json".into())], body.to_string().as_bytes())
}

fn stream_response(events: &[Value]) -> Observed {
    let mut text = String::new();
    for e in events {
        let data = match e {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        text.push_str(&format!("data: {data}\n\n"));
    }
    Observed::from_bytes(200, vec![("content-type".into(), "text/event-stream".into())], text.as_bytes())
}

/// The checks of a one-step case's step on `observed`, as the step executor applies them.
fn eval_step(c: &LoadedCase, observed: &Observed) -> Evaluation {
    let step = &c.case.steps[0].value;
    evaluate(&sent_as_written(&step.request), &step.expect, observed, &SCHEMAS)
}

/// `outcome::decide` on one answer, every known divergence due.
fn decide(case: &compat::case::Case, target: &str, findings: &mut [Finding]) -> (Verdict, Option<Severity>, Vec<KnownStatus>) {
    let d = compat::outcome::decide(case, target, findings, |_, k| k.when.due(None));
    (d.verdict.into(), d.severity, d.known)
}

fn findings(c: &LoadedCase, observed: &Observed) -> Vec<Finding> {
    eval_step(c, observed).findings
}

fn render(f: &Finding) -> String {
    render_finding(f, FILE, 1)
}

/// The single finding, rendered; fails when there is not exactly one.
fn only(fs: &[Finding]) -> String {
    assert_eq!(fs.len(), 1, "expected one finding, got:\n{}", fs.iter().map(render).collect::<String>());
    render(&fs[0])
}

/// A completion holding `message`, finished as OpenAI finishes it: `tool_calls` when it calls tools, else `stop`.
fn completion(message: Value) -> Value {
    let finish = if message["tool_calls"].as_array().is_some_and(|c| !c.is_empty()) { "tool_calls" } else { "stop" };
    json!({"id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "m",
           "choices": [{"index": 0, "finish_reason": finish, "logprobs": null, "message": message}]})
}

fn text_message() -> Value {
    json!({"role": "assistant", "content": "hi", "refusal": null})
}

fn chunk(delta: Value, finish: Value) -> Value {
    json!({"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "m",
           "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": null}]})
}

fn conformant_stream() -> Vec<Value> {
    vec![
        chunk(json!({"role": "assistant", "content": ""}), Value::Null),
        chunk(json!({"content": "Hel"}), Value::Null),
        chunk(json!({"content": "lo"}), Value::Null),
        chunk(json!({}), json!("stop")),
        json!("[DONE]"),
    ]
}

const STREAM_EXPECT: &str = "  schema: chat.completion.chunk\n";

fn stream_case() -> LoadedCase {
    chat_case(json!({"stream": true}), STREAM_EXPECT)
}

/// A streaming case whose request declares the tools `f` and `g`.
fn stream_tools_case() -> LoadedCase {
    let tool = |name: &str| json!({"type": "function", "function": {"name": name, "parameters": {"type": "object"}}});
    chat_case(json!({"stream": true, "tools": [tool("f"), tool("g")]}), STREAM_EXPECT)
}

// ---- schema tiers ----

#[test]
fn conformant_completion_has_no_findings() {
    let c = chat_case(json!({}), "  schema: chat.completion\n");
    assert_eq!(findings(&c, &json_response(200, completion(text_message()))), vec![]);
}

#[test]
fn client_tier_violation_of_a_returned_object_is_typed() {
    let c = chat_case(json!({}), "  schema: chat.completion\n");
    let mut body = completion(text_message());
    body["choices"][0]["message"]["content"] = json!(["not", "text"]);
    assert_eq!(
        only(&findings(&c, &json_response(200, body))),
        "  $.choices[0].message.content: violates `anyOf`\n    --> cases/selftest/t.yaml:1\n    rule: schema.client (typed) — client tier, chat.completion › ChatCompletionResponseMessage.content.anyOf\n    expected: string or null\n    actual:   array [\"not\",\"text\"]\n    why it matters: the SDKs type the message as an assistant message whose content is text or null\n"
    );
}

#[test]
fn spec_tier_violation_is_spec_and_extensions_are_not_findings() {
    let c = chat_case(json!({}), "  schema: chat.completion\n");
    let mut body = completion(json!({"role": "assistant", "content": "hi", "extra_content": {"google": {}}}));
    body["created"] = json!("yesterday");
    let ev = eval_step(&c, &json_response(200, body));
    let rendered: Vec<String> = ev.findings.iter().map(render).collect();
    assert_eq!(
        rendered,
        vec![
            // `created` is typed (both SDKs' types declare it an integer), and the client tier's finding is not
            // repeated by the spec tier; a missing `refusal` is the letter of the spec alone.
            "  $.created: expected integer, found string\n    --> cases/selftest/t.yaml:1\n    rule: schema.client (typed) — client tier, chat.completion › CreateChatCompletionResponse.created.type\n    expected: integer\n    actual:   string\n    why it matters: both SDKs' types declare `created` a required integer; openai-python 3.60.0's construct keeps a string or None as it came (openai-python 3.60.0, openai-node 7.60.0)\n",
            "  $.choices[0].message.refusal: required property is missing\n    --> cases/selftest/t.yaml:1\n    rule: schema.spec (spec) — spec tier, chat.completion › ChatCompletionResponseMessage.required\n    expected: present\n    actual:   missing\n    why it matters: only the letter of OpenAI's document; strict validators and typed clients may still reject it\n",
        ]
    );
    assert_eq!(ev.extensions, vec!["$.choices[0].message.extra_content"]);
}

#[test]
fn error_body_as_array_is_breaking() {
    let c = chat_case(json!({}), "  status: 400\n  schema: error\n");
    let ok = json!({"error": {"message": "bad", "type": "invalid_request_error", "param": null, "code": null}});
    assert_eq!(findings(&c, &json_response(400, ok)), vec![]);
    let gemini = json!([{"error": {"code": 400, "message": "bad", "status": "INVALID_ARGUMENT"}}]);
    assert_eq!(
        only(&findings(&c, &json_response(400, gemini))),
        "  $: expected object, found array\n    --> cases/selftest/t.yaml:1\n    rule: schema.client (breaking) — client tier, error › ErrorResponse.type\n    expected: object\n    actual:   array\n    why it matters: the SDKs read `error.message` from a JSON object body; with any other body they report the status with no message (openai-node: \"status code (no body)\")\n"
    );
}

// ---- status and body form ----

#[test]
fn unexpected_status_is_breaking_and_skips_body_checks() {
    let c = chat_case(json!({}), "  schema: chat.completion\n");
    assert_eq!(
        only(&findings(&c, &json_response(404, json!({"error": {}})))),
        "  $: status 404 where 200 was expected\n    --> cases/selftest/t.yaml:1\n    rule: status (breaking) — expect.status\n    expected: 200\n    actual:   404 with body {\"error\":{}}\n    why it matters: the SDKs turn any non-2xx status into an exception, and a 2xx into a result\n"
    );
}

#[test]
fn non_json_body_is_breaking() {
    let c = chat_case(json!({}), "  schema: chat.completion\n");
    let text = Observed::from_bytes(200, vec![("content-type".into(), "text/plain".into())], b"OK then");
    assert_eq!(
        only(&findings(&c, &text)),
        "  $: the body is not JSON\n    --> cases/selftest/t.yaml:1\n    rule: body.json (breaking)\n    expected: a JSON chat.completion object\n    actual:   \"OK then\"\n    why it matters: the SDKs parse every non-streamed body as JSON; on an error status openai-python 3.60.0 raises without the server's text (`str(e)` is `Error code: 404`)\n"
    );
}

#[test]
fn streaming_request_answered_with_json_is_breaking() {
    let c = stream_case();
    assert_eq!(
        only(&findings(&c, &json_response(200, completion(text_message())))),
        "  $: a streaming request got no event stream\n    --> cases/selftest/t.yaml:1\n    rule: body.stream (breaking)\n    expected: content-type: text/event-stream\n    actual:   application/json\n    why it matters: the SDKs read a streamed answer only from server-sent events\n"
    );
}

// ---- streams ----

#[test]
fn conformant_stream_has_no_findings_and_reassembles() {
    let ev = eval_step(&stream_case(), &stream_response(&conformant_stream()));
    assert_eq!(ev.findings, vec![]);
    assert!(!ev.truncated);
    assert_eq!(ev.reassembled.unwrap()["choices"][0]["message"]["content"], "Hello");
}

#[test]
fn tool_call_delta_without_index_is_a_breaking_chunk_violation() {
    let mut events = conformant_stream();
    events[1] = chunk(json!({"tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]}), Value::Null);
    events[3] = chunk(json!({}), json!("tool_calls"));
    assert_eq!(
        only(&findings(&stream_tools_case(), &stream_response(&events))),
        "  chunk 1, $.choices[0].delta.tool_calls[0].index: required property is missing\n    --> cases/selftest/t.yaml:1\n    rule: schema.client (breaking) — client tier, chat.completion.chunk › ChatCompletionMessageToolCallChunk.required\n    expected: present\n    actual:   missing\n    why it matters: the official SDKs index tool-call deltas by `index`; without it they cannot assemble the call (openai-python raises a TypeError)\n"
    );
}

#[test]
fn missing_done_is_caught() {
    let mut events = conformant_stream();
    events.pop();
    assert_eq!(
        only(&findings(&stream_case(), &stream_response(&events))),
        "  $: the stream ends without `data: [DONE]`\n    --> cases/selftest/t.yaml:1\n    rule: stream.done (spec) — the stream ends with data: [DONE]\n    expected: data: [DONE] as the last event\n    actual:   the connection closed after the last chunk\n    why it matters: clients stop reading at `[DONE]`; what follows is lost, and a missing one leaves them waiting for the close\n"
    );
}

#[test]
fn data_after_done_is_caught() {
    let mut events = conformant_stream();
    events.push(chunk(json!({}), Value::Null));
    assert_eq!(only(&findings(&stream_case(), &stream_response(&events))).lines().next().unwrap(), "  chunk 5, $: an event follows `[DONE]`");
}

#[test]
fn changing_id_and_object_are_caught() {
    let mut events = conformant_stream();
    events[2]["id"] = json!("c2");
    assert_eq!(
        only(&findings(&stream_case(), &stream_response(&events))),
        "  chunk 2, $.id: `id` changes within the stream\n    --> cases/selftest/t.yaml:1\n    rule: stream.id (spec) — every chunk carries the same `id`\n    expected: \"c1\"\n    actual:   \"c2\"\n    why it matters: code that groups chunks by id splits one answer in two\n"
    );
    let mut events = conformant_stream();
    events[1]["object"] = json!("chat.completion");
    let fs = findings(&stream_case(), &stream_response(&events));
    let rules: Vec<(&str, &str)> = fs.iter().map(|f| (f.rule.as_str(), f.path.as_str())).collect();
    assert_eq!(rules, vec![("schema.spec", "$.object"), ("stream.object", "$.object")]);
    assert_eq!(fs[1].chunk, Some(1));
}

#[test]
fn finish_reason_never_twice_or_followed_by_content_is_caught() {
    let never: Vec<Value> = vec![chunk(json!({"role": "assistant", "content": "x"}), Value::Null), json!("[DONE]")];
    assert_eq!(
        only(&findings(&stream_case(), &stream_response(&never))),
        "  $.choices[*].finish_reason: choice 0 never gets a finish_reason\n    --> cases/selftest/t.yaml:1\n    rule: stream.finish_reason (breaking) — each choice ends with exactly one finish_reason\n    expected: one non-null finish_reason\n    actual:   none\n    why it matters: openai-node's stream helper raises `missing finish_reason for choice N` at the final completion\n"
    );
    let mut twice = conformant_stream();
    twice.insert(4, chunk(json!({}), json!("stop")));
    assert_eq!(
        only(&findings(&stream_case(), &stream_response(&twice))).lines().next().unwrap(),
        "  chunk 4, $.choices[0].finish_reason: choice 0 gets a second finish_reason"
    );
    let mut after = conformant_stream();
    after.insert(4, chunk(json!({"content": "more"}), Value::Null));
    assert_eq!(
        only(&findings(&stream_case(), &stream_response(&after))).lines().next().unwrap(),
        "  chunk 4, $.choices[0].delta: choice 0 gets content after its finish_reason"
    );
}

#[test]
fn tool_call_indexes_must_count_up_and_name_the_call() {
    let call = |index: i64, name: Option<&str>| {
        let mut c = json!({"index": index, "id": format!("call_{index}"), "type": "function", "function": {"arguments": "{}"}});
        if let Some(n) = name {
            c["function"]["name"] = json!(n);
        }
        c
    };
    let events = |calls: Vec<Value>| {
        vec![chunk(json!({"role": "assistant", "tool_calls": calls}), Value::Null), chunk(json!({}), json!("tool_calls")), json!("[DONE]")]
    };
    assert_eq!(findings(&stream_tools_case(), &stream_response(&events(vec![call(0, Some("f")), call(1, Some("g"))]))), vec![]);
    assert_eq!(
        only(&findings(&stream_tools_case(), &stream_response(&events(vec![call(1, Some("f"))])))),
        "  chunk 0, $.choices[0].delta.tool_calls[0].index: tool-call indexes do not count up from 0\n    --> cases/selftest/t.yaml:1\n    rule: stream.tool_call_index (breaking) — tool calls of a choice are numbered 0, 1, 2… in order of their first delta\n    expected: 0\n    actual:   1\n    why it matters: the SDK helpers index a list by it: openai-python raises IndexError, openai-node a TypeError\n"
    );
    // A nameless call also names no declared tool, so the semantic check reports it too.
    let nameless = findings(&stream_tools_case(), &stream_response(&events(vec![call(0, None)])));
    assert_eq!(nameless.iter().map(|f| f.rule.as_str()).collect::<Vec<_>>(), vec!["stream.tool_call_index", "semantic.tool_arguments"]);
    assert_eq!(
        render(&nameless[0]).lines().take(3).collect::<Vec<_>>(),
        vec![
            "  chunk 0, $.choices[0].delta.tool_calls[0]: the first delta of a tool call lacks its id or function name",
            "    --> cases/selftest/t.yaml:1",
            "    rule: stream.tool_call_index (breaking) — a tool call's first delta carries its id and name",
        ]
    );
}

#[test]
fn usage_rules_are_checked_both_ways() {
    let usage = json!({"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3});
    // Not asked, but sent on every chunk (Gemini's habit).
    let mut unasked = conformant_stream();
    for e in unasked.iter_mut().filter(|e| e.is_object()) {
        e["usage"] = usage.clone();
    }
    assert_eq!(
        only(&findings(&stream_case(), &stream_response(&unasked))).lines().take(5).collect::<Vec<_>>(),
        vec![
            "  chunk 0, $.usage: usage is sent although stream_options.include_usage was not asked",
            "    --> cases/selftest/t.yaml:1",
            "    rule: stream.usage (spec) — usage comes once, in a final chunk with empty choices, only when stream_options.include_usage is true",
            "    expected: usage absent or null",
            "    actual:   usage on 4 of 4 chunks",
        ]
    );
    // Asked: a usage-only final chunk passes; usage on the finish chunk instead fails.
    let asked = chat_case(json!({"stream": true, "stream_options": {"include_usage": true}}), STREAM_EXPECT);
    let mut good = conformant_stream();
    let done = good.pop().unwrap();
    good.push(json!({"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "m", "choices": [], "usage": usage}));
    good.push(done);
    assert_eq!(findings(&asked, &stream_response(&good)), vec![]);
    let mut bad = conformant_stream();
    bad[3]["usage"] = usage.clone();
    let fs = findings(&asked, &stream_response(&bad));
    assert_eq!(
        fs.iter().map(|f| (f.rule.as_str(), f.chunk, f.message.as_str())).collect::<Vec<_>>(),
        vec![("stream.usage", Some(3), "usage comes on a chunk that carries choices, not in a usage-only final chunk"),]
    );
}

#[test]
fn chunk_that_is_not_json_is_breaking() {
    let mut events = conformant_stream();
    events[1] = json!("{\"choices\": [");
    let f = findings(&stream_case(), &stream_response(&events));
    assert_eq!(f.len(), 1);
    assert_eq!((f[0].rule.as_str(), f[0].severity, f[0].chunk), ("stream.chunk_json", Severity::Breaking, Some(1)));
    assert!(render(&f[0]).starts_with("  chunk 1, $: chunk is not JSON: EOF while parsing"), "{}", render(&f[0]));
}

#[test]
fn a_cut_stream_is_truncated_not_a_divergence() {
    let events = vec![chunk(json!({"role": "assistant", "content": "Hel"}), Value::Null)];
    let ev = eval_step(&stream_case(), &stream_response(&events));
    assert!(ev.truncated);
    assert_eq!(ev.findings, vec![], "end-of-stream invariants are not applied to a cut stream");
    let cut = Observed::from_bytes(200, vec![("content-type".into(), "text/event-stream".into())], b"data: {\"id\":\"c1\"");
    assert!(eval_step(&stream_case(), &cut).truncated);
}

// ---- assertions ----

#[test]
fn every_assertion_kind_passes_and_fails_with_its_line() {
    let expect = "  assert:\n    - path: $.choices[0].message.role\n      equals: assistant\n    - path: $.choices[0].finish_reason\n      one_of: [stop, length]\n    - path: $.choices[0].message.content\n      type: [string, \"null\"]\n    - path: $.id\n      matches: \"^chatcmpl-\"\n    - path: $.choices\n      length: { min: 1, max: 1 }\n    - path: $.usage\n      exists: true\n    - path: $.choices[0].message.audio\n      absent: true\n";
    let c = chat_case(json!({}), expect);
    let mut good = completion(text_message());
    good["usage"] = json!({"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2});
    assert_eq!(findings(&c, &json_response(200, good)), vec![]);
    let bad = json!({"id": "x-1", "choices": [
        {"index": 0, "finish_reason": "tool_calls", "message": {"role": "model", "content": 3, "audio": {}}},
        {"index": 1, "finish_reason": "stop", "message": {"role": "assistant", "content": "b"}}]});
    let fs = findings(&c, &json_response(200, bad));
    let lines: Vec<String> = fs.iter().map(|f| render(f).lines().take(2).collect::<Vec<_>>().join(" | ")).collect();
    assert_eq!(
        lines,
        vec![
            "  $.choices[0].message.role: value differs |     --> cases/selftest/t.yaml:10",
            "  $.choices[0].finish_reason: value is not one of the allowed |     --> cases/selftest/t.yaml:12",
            "  $.choices[0].message.content: wrong type: integer |     --> cases/selftest/t.yaml:14",
            "  $.id: string does not match |     --> cases/selftest/t.yaml:16",
            "  $.choices: length is 2 |     --> cases/selftest/t.yaml:18",
            "  $.usage: nothing at this path |     --> cases/selftest/t.yaml:20",
            "  $.choices[0].message.audio: a value is present where none should be |     --> cases/selftest/t.yaml:22",
        ]
    );
    assert_eq!(
        render(&fs[0]),
        "  $.choices[0].message.role: value differs\n    --> cases/selftest/t.yaml:10\n    rule: assert.equals (spec) — $.choices[0].message.role: \"assistant\"\n    expected: \"assistant\"\n    actual:   \"model\"\n"
    );
}

#[test]
fn structured_equals_failure_renders_a_diff() {
    let c = chat_case(json!({}), "  assert:\n    - path: $.choices[0].message\n      equals: { role: assistant, content: hi, refusal: null }\n");
    let mut msg = text_message();
    msg["content"] = json!("bye");
    let out = only(&findings(&c, &json_response(200, completion(msg))));
    assert_eq!(
        out,
        "  $.choices[0].message: value differs\n    --> cases/selftest/t.yaml:10\n    rule: assert.equals (spec) — $.choices[0].message: {\"role\":\"assistant\",\"content\":\"hi\",\"refusal\":null}\n    diff (-expected +actual):\n       {\n         \"role\": \"assistant\",\n      -  \"content\": \"hi\",\n      +  \"content\": \"bye\",\n         \"refusal\": null\n       }\n"
    );
}

// ---- semantic checks ----

fn tool_request() -> Value {
    json!({"tools": [{"type": "function", "function": {"name": "get_weather", "parameters": {
        "type": "object", "properties": {"location": {"type": "string"}}, "required": ["location"]}}}]})
}

fn tool_message(name: &str, arguments: &str) -> Value {
    json!({"role": "assistant", "content": null, "refusal": null, "tool_calls": [
        {"id": "call_1", "type": "function", "function": {"name": name, "arguments": arguments}}]})
}

#[test]
fn tool_arguments_are_parsed_and_validated() {
    let c = chat_case(tool_request(), "  schema: chat.completion\n");
    assert_eq!(findings(&c, &json_response(200, completion(tool_message("get_weather", "{\"location\":\"Paris\"}")))), vec![]);
    let not_json = findings(&c, &json_response(200, completion(tool_message("get_weather", "{location: Paris"))));
    assert_eq!(not_json.len(), 1);
    assert!(render(&not_json[0]).starts_with("  $.choices[0].message.tool_calls[0].function.arguments: arguments are not JSON: key must be a string at line 1 column 2\n    --> cases/selftest/t.yaml:1\n    rule: semantic.tool_arguments (breaking) — tool-call arguments parse as JSON\n"), "{}", render(&not_json[0]));
    assert_eq!(
        only(&findings(&c, &json_response(200, completion(tool_message("get_weather", "{\"city\":\"Paris\"}"))))),
        "  $.choices[0].message.tool_calls[0].function.arguments → $: \"location\" is a required property\n    --> cases/selftest/t.yaml:1\n    rule: semantic.tool_arguments (spec) — arguments of `get_weather` validate against its parameters schema\n    expected: valid against the request's schema at /required\n    actual:   {\"city\":\"Paris\"}\n    why it matters: a tool loop dispatches on the name and calls json.loads / JSON.parse on the arguments\n"
    );
    assert_eq!(
        only(&findings(&c, &json_response(200, completion(tool_message("get_time", "{}"))))).lines().next().unwrap(),
        "  $.choices[0].message.tool_calls[0].function.name: the call names a tool the request did not declare"
    );
}

#[test]
fn structured_output_is_parsed_and_validated() {
    let format = json!({"response_format": {"type": "json_schema", "json_schema": {"name": "Event", "strict": true, "schema": {
        "type": "object", "properties": {"name": {"type": "string"}, "participants": {"type": "array", "items": {"type": "string"}}},
        "required": ["name", "participants"], "additionalProperties": false}}}});
    let c = chat_case(format, "  schema: chat.completion\n");
    let with = |content: &str| json_response(200, completion(json!({"role": "assistant", "content": content, "refusal": null})));
    assert_eq!(findings(&c, &with("{\"name\":\"Fair\",\"participants\":[\"Alice\"]}")), vec![]);
    assert_eq!(
        only(&findings(&c, &with("{\"name\":\"Fair\",\"participants\":\"Alice\"}"))),
        "  $.choices[0].message.content → $.participants: \"Alice\" is not of type \"array\"\n    --> cases/selftest/t.yaml:1\n    rule: semantic.structured_output (breaking) — content validates against response_format.json_schema.schema\n    expected: valid against the request's schema at /properties/participants/type\n    actual:   \"Alice\"\n    why it matters: the SDKs' parse helpers (client.beta.chat.completions.parse) raise on it\n"
    );
    assert_eq!(
        only(&findings(&c, &with("Sure! Here it is"))).lines().next().unwrap(),
        "  $.choices[0].message.content: content is not JSON: expected value at line 1 column 1"
    );
    let obj = chat_case(json!({"response_format": {"type": "json_object"}}), "  schema: chat.completion\n");
    assert_eq!(findings(&obj, &with("{\"a\":1}")), vec![]);
    assert_eq!(only(&findings(&obj, &with("[1,2]"))).lines().next().unwrap(), "  $.choices[0].message.content: content is JSON but not an object");
}

#[test]
fn n_choices_come_back_indexed() {
    let c = chat_case(json!({"n": 2}), "  schema: chat.completion\n");
    let mut two = completion(text_message());
    let second = json!({"index": 1, "finish_reason": "stop", "logprobs": null, "message": text_message()});
    two["choices"].as_array_mut().unwrap().push(second);
    assert_eq!(findings(&c, &json_response(200, two)), vec![]);
    assert_eq!(
        only(&findings(&c, &json_response(200, completion(text_message())))),
        "  $.choices: asked for n=2, got 1 choices\n    --> cases/selftest/t.yaml:1\n    rule: semantic.choices (breaking) — n choices come back with indexes 0..n-1\n    expected: 2 choices with indexes [0, 1]\n    actual:   indexes [0]\n    why it matters: code reads choices[i] for i < n\n"
    );
}

#[test]
fn usage_total_is_prompt_plus_completion() {
    let c = chat_case(json!({}), "  schema: chat.completion\n");
    let with_usage = |total: i64| {
        let mut b = completion(text_message());
        b["usage"] = json!({"prompt_tokens": 17, "completion_tokens": 2, "total_tokens": total});
        json_response(200, b)
    };
    assert_eq!(findings(&c, &with_usage(19)), vec![]);
    assert_eq!(
        only(&findings(&c, &with_usage(49))),
        "  $.usage.total_tokens: total_tokens is not prompt_tokens + completion_tokens\n    --> cases/selftest/t.yaml:1\n    rule: semantic.usage (spec) — CompletionUsage.total_tokens counts prompt + completion tokens\n    expected: 17 + 2 = 19\n    actual:   49\n    why it matters: cost and quota accounting that sums prompt and completion tokens disagrees with total_tokens\n"
    );
}

fn calls(ids: &[&str]) -> Value {
    let calls: Vec<Value> = ids
        .iter()
        .map(|id| json!({"id": id, "type": "function", "function": {"name": "get_weather", "arguments": "{\"location\":\"Paris\"}"}}))
        .collect();
    json!({"role": "assistant", "content": null, "refusal": null, "tool_calls": calls})
}

#[test]
fn tool_call_ids_are_non_empty_and_distinct() {
    let c = chat_case(tool_request(), "  schema: chat.completion\n");
    assert_eq!(findings(&c, &json_response(200, completion(calls(&["call_1", "call_2"])))), vec![]);
    assert_eq!(
        only(&findings(&c, &json_response(200, completion(calls(&[""]))))),
        "  $.choices[0].message.tool_calls[0].id: the tool call's id is empty\n    --> cases/selftest/t.yaml:1\n    rule: semantic.tool_call_id (breaking) — tool calls carry non-empty ids, unique within a message\n    expected: a non-empty id, unique within the message\n    actual:   \"\"\n    why it matters: a tool result names its call only by tool_call_id: with an empty or repeated id a tool loop cannot match results to calls (pydantic-ai had to invent ids for Gemini's empty ones, PR #1892; autogen #4878)\n"
    );
    assert_eq!(
        only(&findings(&c, &json_response(200, completion(calls(&["call_1", "call_1"]))))).lines().take(5).collect::<Vec<_>>(),
        vec![
            "  $.choices[0].message.tool_calls[1].id: the id repeats that of tool_calls[0]",
            "    --> cases/selftest/t.yaml:1",
            "    rule: semantic.tool_call_id (breaking) — tool calls carry non-empty ids, unique within a message",
            "    expected: a non-empty id, unique within the message",
            "    actual:   \"call_1\"",
        ]
    );
    // A streamed call with an empty id is caught in the reassembled message (the stream check only asks for one).
    let s = stream_tools_case();
    let call = json!({"index": 0, "id": "", "type": "function", "function": {"name": "f", "arguments": "{}"}});
    let events = [chunk(json!({"role": "assistant", "tool_calls": [call]}), json!("tool_calls")), json!("[DONE]")];
    let fs = findings(&s, &stream_response(&events));
    assert_eq!(
        fs.iter().map(|f| (f.rule.as_str(), f.path.as_str())).collect::<Vec<_>>(),
        vec![("semantic.tool_call_id", "$.choices[0].message.tool_calls[0].id")]
    );
}

#[test]
fn a_request_tool_message_must_answer_an_earlier_call() {
    let history = |answered: &str| {
        json!({"messages": [
            {"role": "user", "content": "weather?"},
            {"role": "assistant", "content": null, "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}]},
            {"role": "tool", "tool_call_id": answered, "content": "sunny"}]})
    };
    let ok = chat_case(history("call_1"), "  schema: chat.completion\n");
    assert_eq!(findings(&ok, &json_response(200, completion(text_message()))), vec![]);
    let stray = chat_case(history("call_9"), "  schema: chat.completion\n");
    assert_eq!(
        only(&findings(&stray, &json_response(200, completion(text_message())))),
        "  $.messages[2].tool_call_id: the request's tool message answers no earlier tool call, yet it was answered\n    --> cases/selftest/t.yaml:1\n    rule: semantic.tool_call_id (spec) — in the request: each tool message's tool_call_id names a call of an earlier assistant message\n    expected: one of the earlier calls' ids [\"call_1\"], or a 400\n    actual:   \"call_9\"\n    why it matters: OpenAI refuses such a request with 400; an endpoint that answers it matched the result to a call some other way, or dropped it\n"
    );
    // Refused as OpenAI refuses it: the semantic checks do not run on an error answer.
    let refused = chat_case(history("call_9"), "  status: 400\n  schema: error\n");
    let error = json!({"error": {"message": "bad", "type": "invalid_request_error", "param": null, "code": null}});
    assert_eq!(findings(&refused, &json_response(400, error)), vec![]);
}

#[test]
fn the_answer_names_the_requested_model() {
    let c = chat_case(json!({}), "  schema: chat.completion\n");
    let named = |model: &str| {
        let mut b = completion(text_message());
        b["model"] = json!(model);
        json_response(200, b)
    };
    assert_eq!(findings(&c, &named("m")), vec![]);
    assert_eq!(findings(&c, &named("m-2024-07-18")), vec![], "a dated snapshot of the requested model names it");
    assert_eq!(
        only(&findings(&c, &named("models/m"))),
        "  $.model: the answer names the requested model with a `models/` prefix\n    --> cases/selftest/t.yaml:1\n    rule: semantic.model (spec) — the answer's model names the requested model\n    expected: \"m\" (or a snapshot of it, \"m\" followed by `-…`)\n    actual:   \"models/m\"\n    why it matters: code that keys cost tables, logs or routing on response.model sees a name it was not configured with\n"
    );
    assert_eq!(only(&findings(&c, &named("mx"))).lines().next().unwrap(), "  $.model: the answer names another model than the one requested");
    // Embeddings too.
    let e = case("model: embedding\nrequest:\n  path: embeddings\n  body: { model: m, input: a }\nexpect:\n  schema: embedding.list\n");
    let list = json!({"object": "list", "model": "models/m", "data": [{"object": "embedding", "index": 0, "embedding": [0.1]}], "usage": {"prompt_tokens": 1, "total_tokens": 1}});
    assert_eq!(findings(&e, &json_response(200, list)).iter().map(|f| f.rule.as_str()).collect::<Vec<_>>(), vec!["semantic.model"]);
}

#[test]
fn embeddings_count_and_dimensions_are_checked() {
    let c = case(
        "model: embedding\nrequest:\n  path: embeddings\n  body: { model: m, input: [a, b], dimensions: 3 }\nexpect:\n  schema: embedding.list\n",
    );
    let item = |i: usize, v: Value| json!({"object": "embedding", "index": i, "embedding": v});
    let list = |data: Vec<Value>| json!({"object": "list", "model": "m", "data": data, "usage": {"prompt_tokens": 2, "total_tokens": 2}});
    assert_eq!(findings(&c, &json_response(200, list(vec![item(0, json!([0.1, 0.2, 0.3])), item(1, json!([0.1, 0.2, 0.3]))]))), vec![]);
    let fs = findings(&c, &json_response(200, list(vec![item(0, json!([0.1, 0.2]))])));
    let got: Vec<String> = fs.iter().map(|f| render(f).lines().next().unwrap().to_owned()).collect();
    assert_eq!(got, vec!["  $.data: 2 inputs, 1 embeddings", "  $.data[0].embedding: asked for 3 dimensions, got 2"]);
    // base64 vectors are decoded: 3 little-endian f32 = 12 bytes.
    let b64 = |n: usize| Value::String(base64_of(&vec![0u8; 4 * n]));
    assert_eq!(
        findings(&c, &json_response(200, list(vec![item(0, b64(3)), item(1, b64(3))]))).iter().filter(|f| f.rule.starts_with("semantic")).count(),
        0
    );
    assert_eq!(
        findings(&c, &json_response(200, list(vec![item(0, b64(4)), item(1, b64(3))]))).iter().filter(|f| f.rule == "semantic.embeddings").count(),
        1
    );
}

fn base64_of(bytes: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

// ---- verdicts ----

#[test]
fn known_fixed_and_diverges_are_decided_from_declarations() {
    let declared = "known_divergences:\n  - targets: [gemini]\n    rule: schema.spec\n    path: $.choices[*].message.refusal\n    reason: no refusal\n    link: x\n";
    let c = chat_case(json!({}), &format!("  schema: chat.completion\n{declared}"));
    let gemini_like = completion(json!({"role": "assistant", "content": "hi"}));
    let mut fs = findings(&c, &json_response(200, gemini_like.clone()));
    assert_eq!(decide(&c.case, "gemini", &mut fs).0, Verdict::Known);
    assert_eq!(fs[0].known, Some(0));
    // The same response on a target without the declaration diverges.
    let mut fs = findings(&c, &json_response(200, gemini_like));
    let (verdict, severity, _) = decide(&c.case, "openai-reference", &mut fs);
    assert_eq!((verdict, severity), (Verdict::Diverges, Some(Severity::Spec)));
    // A conformant response on the declaring target is news: fixed.
    let mut fs = findings(&c, &json_response(200, completion(text_message())));
    let (verdict, _, known) = decide(&c.case, "gemini", &mut fs);
    assert_eq!((verdict, known[0].observed), (Verdict::Fixed, 0));
    // A declared severity that does not match leaves the finding unexplained.
    let strict = chat_case(json!({}), &format!("  schema: chat.completion\n{declared}    severity: breaking\n"));
    let mut fs = findings(&strict, &json_response(200, completion(json!({"role": "assistant", "content": "hi"}))));
    assert_eq!(decide(&strict.case, "gemini", &mut fs).0, Verdict::Diverges);
}

// ---- broken case files ----

#[test]
fn a_broken_case_file_names_file_line_col_with_did_you_mean() {
    let text = "id: t\nfeature: selftest\ntitle: x\ndoc: y\nrequest:\n  path: chat/completions\nexpect:\n  staus: 200\n";
    let e = parse_case(FILE, text).unwrap_err();
    assert_eq!(
        e.to_string(),
        "error: cases/selftest/t.yaml:8:3: unknown key `staus`: did you mean `status`? (expected one of `status`, `schema`, `assert`, `semantic`, `snapshot`)\n  --> cases/selftest/t.yaml:8:3\n  |\n8 |   staus: 200\n  |   ^\n"
    );
    let bad_path = "id: t\nfeature: selftest\ntitle: x\ndoc: y\nrequest:\n  path: chat/completions\nexpect:\n  assert:\n    - path: $.choices[\n      exists: true\n";
    let e = parse_case(FILE, bad_path).unwrap_err();
    assert_eq!((e.line, e.col), (9, 13));
    assert!(e.message.starts_with("invalid JSON path `$.choices[`"), "{}", e.message);
    let wrong_type = "id: t\nfeature: selftest\ntitle: x\ndoc: y\nrequest:\n  path: chat/completions\nexpect:\n  status: ok\n";
    assert_eq!(parse_case(FILE, wrong_type).unwrap_err().headline(), "cases/selftest/t.yaml:8:11: invalid u16");
    let two_checks =
        "id: t\nfeature: selftest\ntitle: x\ndoc: y\nrequest:\n  path: x\nexpect:\n  assert:\n    - path: $.a\n      exists: true\n      equals: 1\n";
    assert!(parse_case(FILE, two_checks).unwrap_err().message.contains("needs exactly one of"));
    let misplaced = "id: other\nfeature: selftest\ntitle: x\ndoc: y\nrequest:\n  path: x\nexpect: {}\n";
    assert_eq!(
        parse_case(FILE, misplaced).unwrap_err().headline(),
        "cases/selftest/t.yaml:1:1: case `other` of feature `selftest` must live at cases/selftest/other.yaml (its file name and folder name the case)"
    );
}

// ---- what the SDK helpers do with a stream (measured by the client drivers, drivers/) ----

#[test]
fn a_role_on_every_delta_or_on_none_is_breaking() {
    let mut repeated = conformant_stream();
    for e in repeated.iter_mut().filter(|e| e.is_object()) {
        e["choices"][0]["delta"]["role"] = json!("assistant");
    }
    let fs = findings(&stream_case(), &stream_response(&repeated));
    assert_eq!(
        only(&fs),
        "  chunk 1, $.choices[*].delta.role: choice 0 gets its role on 4 deltas\n    --> cases/selftest/t.yaml:1\n    rule: stream.role (breaking) — a choice's role comes once, on its first delta\n    expected: role on the first delta only\n    actual:   role on chunks [0, 1, 2, 3]\n    why it matters: openai-python's stream helper concatenates the roles: the final message's role is `assistantassistant…`\n"
    );
    // The reassembled message mirrors openai-python's helper.
    let ev = eval_step(&stream_case(), &stream_response(&repeated));
    assert_eq!(ev.reassembled.unwrap()["choices"][0]["message"]["role"], "assistantassistantassistantassistant");
    let mut none = conformant_stream();
    none[0]["choices"][0]["delta"] = json!({"content": ""});
    assert_eq!(
        only(&findings(&stream_case(), &stream_response(&none))).lines().next().unwrap(),
        "  $.choices[*].delta.role: choice 0 never gets a role"
    );
    assert!(findings(&stream_case(), &stream_response(&conformant_stream())).is_empty());
}

#[test]
fn a_tool_call_repeating_its_id_or_name_is_breaking() {
    let first = json!({"index": 0, "id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{\"a\""}});
    let later = |extra: Value| {
        let mut d = json!({"index": 0, "function": {"arguments": ":1}"}});
        for (k, v) in extra.as_object().unwrap() {
            d[k] = v.clone();
        }
        d
    };
    let events = |second: Value| {
        vec![
            chunk(json!({"role": "assistant", "tool_calls": [first.clone()]}), Value::Null),
            chunk(json!({"tool_calls": [second]}), Value::Null),
            chunk(json!({}), json!("tool_calls")),
            json!("[DONE]"),
        ]
    };
    assert_eq!(findings(&stream_tools_case(), &stream_response(&events(later(json!({}))))), vec![]);
    let fs = findings(&stream_tools_case(), &stream_response(&events(later(json!({"id": "call_1"})))));
    assert_eq!(
        only(&fs).lines().take(3).collect::<Vec<_>>(),
        vec![
            "  chunk 1, $.choices[0].delta.tool_calls[0]: a later delta of tool call 0 repeats its id",
            "    --> cases/selftest/t.yaml:1",
            "    rule: stream.tool_call_index (breaking) — a tool call's id and name come on its first delta only",
        ]
    );
    assert_eq!(fs[0].severity, Severity::Breaking);
}

#[test]
fn an_event_after_done_is_breaking_a_missing_done_spec() {
    let mut after = conformant_stream();
    after.push(chunk(json!({"content": "lost"}), Value::Null));
    let fs = findings(&stream_case(), &stream_response(&after));
    let done: Vec<_> = fs.iter().filter(|f| f.rule == "stream.done").collect();
    assert_eq!((done.len(), done[0].severity), (1, Severity::Breaking));
    let mut no_done = conformant_stream();
    no_done.pop();
    let fs = findings(&stream_case(), &stream_response(&no_done));
    assert_eq!((fs.len(), fs[0].rule.as_str(), fs[0].severity), (1, "stream.done", Severity::Spec));
}

#[test]
fn custom_tool_calls_are_accepted_and_broken_ones_caught() {
    let c = chat_case(json!({}), "  schema: chat.completion\n");
    let custom = json!({"id": "call_1", "type": "custom", "custom": {"name": "grep", "input": "foo"}});
    let message = json!({"role": "assistant", "content": null, "refusal": null, "tool_calls": [custom]});
    assert_eq!(findings(&c, &json_response(200, completion(message.clone()))), vec![]);
    let mut broken = message;
    broken["tool_calls"][0]["custom"].as_object_mut().unwrap().remove("input");
    let fs = findings(&c, &json_response(200, completion(broken)));
    assert_eq!(
        fs.iter().map(|f| (f.rule.as_str(), f.path.as_str(), f.severity)).collect::<Vec<_>>(),
        vec![("schema.client", "$.choices[0].message.tool_calls[0].custom.input", Severity::Typed)]
    );
}

#[test]
fn openai_batch_example_nulls_pass_the_spec_tier() {
    let c = case("request:\n  method: GET\n  path: batches/b\nexpect:\n  schema: batch\n");
    let batch = json!({"id": "batch_abc123", "object": "batch", "endpoint": "/v1/completions", "model": "gpt-5", "errors": null,
        "input_file_id": "file-abc123", "completion_window": "24h", "status": "completed", "output_file_id": "file-cvaTdG",
        "error_file_id": "file-HOWS94", "created_at": 1711471533, "in_progress_at": 1711471538, "expires_at": 1711557933,
        "finalizing_at": 1711493133, "completed_at": 1711493163, "failed_at": null, "expired_at": null, "cancelling_at": null,
        "cancelled_at": null, "request_counts": {"total": 100, "completed": 95, "failed": 5}, "metadata": null});
    assert_eq!(findings(&c, &json_response(200, batch.clone())), vec![]);
    let mut wrong = batch;
    wrong["failed_at"] = json!("never");
    assert_eq!(only(&findings(&c, &json_response(200, wrong))).lines().next().unwrap(), "  $.failed_at: violates `anyOf`");
}

#[test]
fn a_text_body_is_breaking_on_an_error_status_and_on_a_success() {
    // openai-python 3.60.0 raises `NotFoundError` with `str(e) == "Error code: 404"`: the server's text is lost.
    let c = chat_case(json!({}), "  status: 404\n  schema: error\n");
    let text = Observed::from_bytes(404, vec![("content-type".into(), "text/plain".into())], b"model not found");
    let fs = findings(&c, &text);
    assert_eq!((fs.len(), fs[0].rule.as_str(), fs[0].severity), (1, "body.json", Severity::Breaking));
    assert!(fs[0].why.as_deref().unwrap().contains("Error code: 404"), "{:?}", fs[0].why);
    let c = chat_case(json!({}), "  schema: chat.completion\n");
    let text = Observed::from_bytes(200, vec![("content-type".into(), "text/plain".into())], b"OK");
    assert_eq!(findings(&c, &text)[0].severity, Severity::Breaking);
}

#[test]
fn base64_embeddings_decode_to_whole_finite_float32s() {
    let c = case("model: embedding\nrequest:\n  path: embeddings\n  body: {model: m, input: hi, encoding_format: base64}\nexpect:\n  status: 200\n");
    let vector = |bytes: Vec<u8>| {
        use base64::Engine;
        json!({"object": "list", "data": [{"object": "embedding", "index": 0, "embedding": base64::engine::general_purpose::STANDARD.encode(bytes)}]})
    };
    let floats: Vec<u8> = [0.5f32, -1.25].iter().flat_map(|f| f.to_le_bytes()).collect();
    assert_eq!(findings(&c, &json_response(200, vector(floats.clone()))), vec![]);
    let cut = findings(&c, &json_response(200, vector(floats[..7].to_vec())));
    assert_eq!(only(&cut).lines().next().unwrap(), "  $.data[0].embedding: the base64 vector is not a whole number of float32s");
    let nan: Vec<u8> = [0.5f32, f32::NAN].iter().flat_map(|f| f.to_le_bytes()).collect();
    assert_eq!(
        only(&findings(&c, &json_response(200, vector(nan)))).lines().next().unwrap(),
        "  $.data[0].embedding: float32 number 1 of the decoded vector is not finite"
    );
}

/// A case's request as written (placeholders unresolved), as the checks take it.
fn sent_as_written(r: &compat::case::Request) -> compat::outcome::SentRequest {
    compat::outcome::SentRequest { method: r.method, path: r.path.clone(), body: r.body.clone(), raw_body: r.raw_body.clone() }
}
