//! Semantic checks: does the answer make sense for the request that was sent?
//!
//! Applied automatically when the request calls for them (a case turns them off with `semantic: false`):
//! - `semantic.tool_arguments`: each tool call names a declared tool, its `arguments` parse as JSON (breaking
//!   if not) and validate against that tool's `parameters` schema (spec);
//! - `semantic.structured_output`: with `response_format` `json_schema`, the content parses and validates
//!   against the schema (breaking when `strict: true`, since the SDKs' `parse` helpers then reject it); with
//!   `json_object`, the content parses as a JSON object (breaking);
//! - `semantic.choices`: with `n`, exactly `n` choices with indexes 0..n-1 (breaking);
//! - `semantic.usage`: a chat completion's `usage.total_tokens` is `prompt_tokens + completion_tokens`, as
//!   `CompletionUsage` defines it (spec; reasoning tokens belong to `completion_tokens`);
//! - `semantic.embeddings`: one embedding per input, indexes 0..k-1, and with `dimensions` vectors of that
//!   length, base64 ones decoded (breaking);
//! - `semantic.tool_call_id`: the tool calls of one message have non-empty, distinct ids (breaking: a tool
//!   result names its call by id, so an empty or repeated id leaves results unmatchable); and every
//!   `role: tool` message of a request that was answered names a call of an earlier assistant message
//!   (spec: OpenAI refuses such a request with 400, an endpoint that answers it matched the result some
//!   other way or dropped it);
//! - `semantic.model`: a chat completion's or embedding list's `model` names the requested model — the same
//!   string, or it followed by a `-` suffix (OpenAI answers `gpt-4o-mini` with the snapshot
//!   `gpt-4o-mini-2024-07-18`); anything else, a `models/` prefix included, is reported (spec).

use base64::Engine;
use serde_json::Value;

use crate::case::ObjectKind;
use crate::outcome::Finding;
use crate::rules::{self, Rule, Severity};
use crate::schema::{compact, pointer_to_path};

/// Findings of every semantic check that applies to a request with body `request` whose answer is the object
/// `kind` (a stream's reassembled message counts as a chat completion). Without a request (recorded traffic that
/// did not keep it) only the checks that need none run: usage totals, tool-call ids, a `models/` prefix on `model`.
pub fn check(request: Option<&Value>, kind: Option<ObjectKind>, response: &Value) -> Vec<Finding> {
    let mut out = Vec::new();
    if matches!(kind, Some(ObjectKind::ChatCompletion | ObjectKind::ChatCompletionChunk)) {
        if let Some(request) = request {
            tool_arguments(request, response, &mut out);
            structured_output(request, response, &mut out);
            choice_count(request, response, &mut out);
            finish_reason_with_calls(request, response, &mut out);
        }
        usage_total(response, &mut out);
        tool_call_ids(response, &mut out);
        if let Some(request) = request {
            request_tool_call_ids(request, &mut out);
        }
    }
    if kind == Some(ObjectKind::EmbeddingList)
        && let Some(request) = request
    {
        embeddings(request, response, &mut out);
    }
    if matches!(kind, Some(ObjectKind::ChatCompletion | ObjectKind::ChatCompletionChunk | ObjectKind::EmbeddingList)) {
        match request {
            Some(request) => model_named(request, response, &mut out),
            None => model_prefixed(response, &mut out),
        }
    }
    out
}

/// A message that carries tool calls ends with `finish_reason: "tool_calls"`: agent loops branch on it. Where the
/// request forced one function by name (`tool_choice: {type: function, …}`) OpenAI itself answers `stop`, so
/// nothing is reported there.
fn finish_reason_with_calls(request: &Value, response: &Value, out: &mut Vec<Finding>) {
    if request.get("tool_choice").is_some_and(Value::is_object) {
        return;
    }
    for (c, choice) in response_choices(response) {
        let calls = choice.pointer("/message/tool_calls").and_then(Value::as_array).is_some_and(|a| !a.is_empty());
        let reason = choice.get("finish_reason").and_then(Value::as_str);
        if calls && reason.is_some_and(|r| r != "tool_calls" && r != "function_call") {
            out.push(
                Finding::new(
                    &rules::SEMANTIC_FINISH_REASON,
                    format!("$.choices[{c}].finish_reason"),
                    "the message carries tool calls but its finish_reason is not `tool_calls`",
                )
                .expecting("\"tool_calls\"", compact(&choice["finish_reason"], 40))
                .detail("a choice whose message calls tools finishes with tool_calls"),
            );
        }
    }
}

/// Without a request: the answer's `model` is a resource name `models/…` — what callers never send as `model`.
fn model_prefixed(response: &Value, out: &mut Vec<Finding>) {
    let Some(answered) = response.get("model").and_then(Value::as_str) else { return };
    let Some(bare) = answered.strip_prefix("models/") else { return };
    out.push(
        Finding::new(&rules::SEMANTIC_MODEL, "$.model", "the answer's model is a resource name with a `models/` prefix")
            .expecting(format!("a model name as callers send it ({bare:?})"), format!("{answered:?}"))
            .detail("the answer's model names the model as callers send it"),
    );
}

fn response_choices(response: &Value) -> impl Iterator<Item = (usize, &Value)> {
    response.get("choices").and_then(Value::as_array).into_iter().flatten().enumerate()
}

fn tool_arguments(request: &Value, response: &Value, out: &mut Vec<Finding>) {
    let tools: Vec<&Value> = request.get("tools").and_then(Value::as_array).into_iter().flatten().collect();
    for (c, choice) in response_choices(response) {
        let calls = choice.pointer("/message/tool_calls").and_then(Value::as_array).into_iter().flatten();
        for (k, call) in calls.enumerate() {
            if call.get("type").and_then(Value::as_str) == Some("custom") {
                continue; // a custom tool call has free-form `custom.input`, no function arguments to parse
            }
            let path = format!("$.choices[{c}].message.tool_calls[{k}].function");
            let name = call.pointer("/function/name").and_then(Value::as_str).unwrap_or_default();
            let Some(tool) = tools.iter().find(|t| t.pointer("/function/name").and_then(Value::as_str) == Some(name)) else {
                let declared: Vec<_> = tools.iter().filter_map(|t| t.pointer("/function/name").and_then(Value::as_str)).collect();
                out.push(
                    Finding::new(&rules::SEMANTIC_TOOL_ARGUMENTS, format!("{path}.name"), "the call names a tool the request did not declare")
                        .expecting(format!("one of {declared:?}"), format!("{name:?}"))
                        .detail("tool calls name a declared tool")
                        .why("a tool loop dispatches on the name and has no handler for this one"),
                );
                continue;
            };
            let raw = call.pointer("/function/arguments").and_then(Value::as_str).unwrap_or_default();
            let args: Value = match serde_json::from_str(raw) {
                Ok(v) => v,
                Err(e) => {
                    out.push(
                        Finding::new(&rules::SEMANTIC_TOOL_ARGUMENTS, format!("{path}.arguments"), format!("arguments are not JSON: {e}"))
                            .expecting("a JSON object string", compact(&Value::String(raw.to_owned()), 120))
                            .detail("tool-call arguments parse as JSON")
                            .why("code calls json.loads / JSON.parse on arguments before dispatching"),
                    );
                    continue;
                }
            };
            let parameters = tool.pointer("/function/parameters").cloned().unwrap_or_else(|| serde_json::json!({}));
            validate_against(
                &parameters,
                &args,
                &rules::SEMANTIC_TOOL_ARGUMENTS,
                Severity::Spec,
                &format!("{path}.arguments"),
                &format!("arguments of `{name}` validate against its parameters schema"),
                out,
            );
        }
    }
}

fn structured_output(request: &Value, response: &Value, out: &mut Vec<Finding>) {
    let Some(format) = request.get("response_format") else { return };
    let kind = format.get("type").and_then(Value::as_str).unwrap_or_default();
    if kind != "json_schema" && kind != "json_object" {
        return;
    }
    let strict = format.pointer("/json_schema/strict").and_then(Value::as_bool) == Some(true);
    for (c, choice) in response_choices(response) {
        let path = format!("$.choices[{c}].message.content");
        let Some(content) = choice.pointer("/message/content").and_then(Value::as_str) else {
            out.push(
                Finding::new(&rules::SEMANTIC_STRUCTURED_OUTPUT, path, "no text content to parse")
                    .expecting("a JSON document as content", compact(&choice["message"]["content"], 60))
                    .detail(format!("content conforms to response_format {kind}")),
            );
            continue;
        };
        let parsed: Value = match serde_json::from_str(content) {
            Ok(v) => v,
            Err(e) => {
                out.push(
                    Finding::new(&rules::SEMANTIC_STRUCTURED_OUTPUT, path, format!("content is not JSON: {e}"))
                        .expecting("a JSON document", compact(&Value::String(content.to_owned()), 120))
                        .detail(format!("content conforms to response_format {kind}"))
                        .why("the SDKs' parse helpers (client.beta.chat.completions.parse) raise on it"),
                );
                continue;
            }
        };
        if kind == "json_object" {
            if !parsed.is_object() {
                out.push(
                    Finding::new(&rules::SEMANTIC_STRUCTURED_OUTPUT, path, "content is JSON but not an object")
                        .expecting("a JSON object", compact(&parsed, 80))
                        .detail("content conforms to response_format json_object"),
                );
            }
            continue;
        }
        if let Some(schema) = format.pointer("/json_schema/schema") {
            let severity = if strict { Severity::Breaking } else { Severity::Spec };
            validate_against(
                schema,
                &parsed,
                &rules::SEMANTIC_STRUCTURED_OUTPUT,
                severity,
                &path,
                "content validates against response_format.json_schema.schema",
                out,
            );
        }
    }
}

fn choice_count(request: &Value, response: &Value, out: &mut Vec<Finding>) {
    let Some(n) = request.get("n").and_then(Value::as_u64) else { return };
    let indexes: Vec<i64> = response_choices(response).map(|(_, c)| c["index"].as_i64().unwrap_or(-1)).collect();
    let mut sorted = indexes.clone();
    sorted.sort_unstable();
    let expected: Vec<i64> = (0..n as i64).collect();
    if sorted != expected {
        out.push(
            Finding::new(&rules::SEMANTIC_CHOICES, "$.choices", format!("asked for n={n}, got {} choices", indexes.len()))
                .expecting(format!("{n} choices with indexes {expected:?}"), format!("indexes {indexes:?}"))
                .detail("n choices come back with indexes 0..n-1"),
        );
    }
}

pub(crate) fn usage_total(response: &Value, out: &mut Vec<Finding>) {
    let Some(usage) = response.get("usage").filter(|u| u.is_object()) else { return };
    let count = |k: &str| usage.get(k).and_then(Value::as_i64);
    let (Some(prompt), Some(completion), Some(total)) = (count("prompt_tokens"), count("completion_tokens"), count("total_tokens")) else {
        return; // missing or mistyped counts are the schema's to report
    };
    if prompt + completion != total {
        out.push(
            Finding::new(&rules::SEMANTIC_USAGE, "$.usage.total_tokens", "total_tokens is not prompt_tokens + completion_tokens")
                .expecting(format!("{prompt} + {completion} = {}", prompt + completion), total.to_string())
                .detail("CompletionUsage.total_tokens counts prompt + completion tokens"),
        );
    }
}

fn embeddings(request: &Value, response: &Value, out: &mut Vec<Finding>) {
    let inputs = match request.get("input") {
        Some(Value::Array(items)) if items.iter().all(Value::is_number) => 1, // one tokenized input
        Some(Value::Array(items)) => items.len(),
        Some(_) => 1,
        None => return,
    };
    let data: Vec<&Value> = response.get("data").and_then(Value::as_array).into_iter().flatten().collect();
    let mut indexes: Vec<i64> = data.iter().map(|d| d["index"].as_i64().unwrap_or(-1)).collect();
    indexes.sort_unstable();
    // A missing `index` is the client schema's finding (typed: the SDKs return the vectors in order); here only
    // the count can then be checked.
    let unindexed = data.iter().any(|d| d.get("index").and_then(Value::as_i64).is_none());
    if (unindexed && data.len() != inputs) || (!unindexed && indexes != (0..inputs as i64).collect::<Vec<_>>()) {
        out.push(
            Finding::new(&rules::SEMANTIC_EMBEDDINGS, "$.data", format!("{inputs} inputs, {} embeddings", data.len()))
                .expecting(format!("{inputs} embeddings with indexes 0..{inputs}"), format!("indexes {indexes:?}"))
                .detail("one embedding per input, indexed 0..k-1")
                .why("callers zip inputs with data[] by index"),
        );
    }
    let dimensions = request.get("dimensions").and_then(Value::as_u64);
    let mut lengths = Vec::new();
    for (i, item) in data.iter().enumerate() {
        let len = match &item["embedding"] {
            Value::Array(v) => Some(v.len()),
            Value::String(b64) => match base64::engine::general_purpose::STANDARD.decode(b64) {
                // The SDKs decode the string as little-endian float32s (numpy.frombuffer, Float32Array).
                Ok(bytes) if bytes.len() % 4 == 0 => {
                    let floats = bytes.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]));
                    if let Some(k) = floats.clone().position(|f| !f.is_finite()) {
                        out.push(
                            Finding::new(
                                &rules::SEMANTIC_EMBEDDINGS,
                                format!("$.data[{i}].embedding"),
                                format!("float32 number {k} of the decoded vector is not finite"),
                            )
                            .expecting("finite float32s", "NaN or infinity")
                            .detail("a base64 embedding decodes to finite little-endian float32s")
                            .why("similarity search over a vector holding NaN or infinity returns garbage"),
                        );
                    }
                    Some(bytes.len() / 4)
                }
                Ok(bytes) => {
                    out.push(
                        Finding::new(
                            &rules::SEMANTIC_EMBEDDINGS,
                            format!("$.data[{i}].embedding"),
                            "the base64 vector is not a whole number of float32s",
                        )
                        .expecting("a multiple of 4 bytes", format!("{} bytes", bytes.len()))
                        .detail("a base64 embedding decodes to little-endian float32s")
                        .why("the SDKs' decoders raise on it (numpy.frombuffer: buffer size must be a multiple of element size)"),
                    );
                    None
                }
                Err(e) => {
                    out.push(
                        Finding::new(&rules::SEMANTIC_EMBEDDINGS, format!("$.data[{i}].embedding"), format!("the vector string is not base64: {e}"))
                            .expecting("base64 of little-endian float32s", compact(&item["embedding"], 60))
                            .detail("a base64 embedding decodes to little-endian float32s")
                            .why("the SDKs base64-decode it and raise"),
                    );
                    None
                }
            },
            _ => None,
        };
        let Some(len) = len else { continue }; // the schema reports a missing or malformed vector
        lengths.push(len);
        if let Some(d) = dimensions.filter(|d| *d as usize != len) {
            out.push(
                Finding::new(&rules::SEMANTIC_EMBEDDINGS, format!("$.data[{i}].embedding"), format!("asked for {d} dimensions, got {len}"))
                    .expecting(format!("{d} dimensions"), format!("{len} dimensions"))
                    .detail("vectors have the requested dimensions")
                    .why("a vector index built for the requested dimension rejects other lengths"),
            );
        }
    }
    if dimensions.is_none() && lengths.windows(2).any(|w| w[0] != w[1]) {
        out.push(
            Finding::new(&rules::SEMANTIC_EMBEDDINGS, "$.data", "vectors of one response differ in length")
                .expecting("equal lengths", format!("{lengths:?}"))
                .detail("vectors of one model have one dimension"),
        );
    }
}

/// Each message's tool calls carry non-empty ids, no two alike. A missing or non-string id is left to the
/// schema (client tier) and, in a stream, to `stream.tool_call_index`, so it is not reported twice.
pub(crate) fn tool_call_ids(response: &Value, out: &mut Vec<Finding>) {
    for (c, choice) in response_choices(response) {
        let calls = choice.pointer("/message/tool_calls").and_then(Value::as_array).into_iter().flatten();
        let mut seen: Vec<(&str, usize)> = Vec::new();
        for (k, call) in calls.enumerate() {
            let Some(id) = call.get("id").and_then(Value::as_str) else { continue };
            let path = format!("$.choices[{c}].message.tool_calls[{k}].id");
            if id.is_empty() {
                out.push(
                    Finding::new(&rules::SEMANTIC_TOOL_CALL_ID, path, "the tool call's id is empty")
                        .expecting("a non-empty id, unique within the message", "\"\"")
                        .detail("tool calls carry non-empty ids, unique within a message"),
                );
            } else if let Some((_, first)) = seen.iter().find(|(s, _)| *s == id) {
                out.push(
                    Finding::new(&rules::SEMANTIC_TOOL_CALL_ID, path, format!("the id repeats that of tool_calls[{first}]"))
                        .expecting("a non-empty id, unique within the message", format!("{id:?}"))
                        .detail("tool calls carry non-empty ids, unique within a message"),
                );
            } else {
                seen.push((id, k));
            }
        }
    }
}

/// Every tool message of the request answers a call of an earlier assistant message. Only reached for an
/// answered (2xx) request: OpenAI refuses an unmatched `tool_call_id` with 400.
fn request_tool_call_ids(request: &Value, out: &mut Vec<Finding>) {
    let mut called: Vec<&str> = Vec::new();
    for (m, message) in request.get("messages").and_then(Value::as_array).into_iter().flatten().enumerate() {
        match message.get("role").and_then(Value::as_str) {
            Some("assistant") => {
                let calls = message.get("tool_calls").and_then(Value::as_array).into_iter().flatten();
                called.extend(calls.filter_map(|c| c.get("id").and_then(Value::as_str)));
            }
            Some("tool") => {
                let id = message.get("tool_call_id").and_then(Value::as_str).unwrap_or_default();
                if !called.contains(&id) {
                    out.push(
                        Finding::new(&rules::SEMANTIC_TOOL_CALL_ID, format!("$.messages[{m}].tool_call_id"), "the request's tool message answers no earlier tool call, yet it was answered")
                            .with_severity(Severity::Spec)
                            .expecting(format!("one of the earlier calls' ids {called:?}, or a 400"), format!("{id:?}"))
                            .detail("in the request: each tool message's tool_call_id names a call of an earlier assistant message")
                            .why("OpenAI refuses such a request with 400; an endpoint that answers it matched the result to a call some other way, or dropped it"),
                    );
                }
            }
            _ => {}
        }
    }
}

/// The answer's `model` names the requested one: equal, or the requested name followed by `-` (a dated
/// snapshot). A `models/` prefix the request did not have is reported, not normalized away.
fn model_named(request: &Value, response: &Value, out: &mut Vec<Finding>) {
    let (Some(requested), Some(answered)) = (request.get("model").and_then(Value::as_str), response.get("model").and_then(Value::as_str)) else {
        return; // a missing or mistyped model is the schema's to report
    };
    if requested.contains("{{") {
        return; // a case not resolved for a target (a unit test's) names a role, not a model
    }
    if answered == requested || answered.strip_prefix(requested).is_some_and(|rest| rest.starts_with('-')) {
        return;
    }
    let message = if answered.strip_prefix("models/") == Some(requested) {
        "the answer names the requested model with a `models/` prefix".to_owned()
    } else {
        "the answer names another model than the one requested".to_owned()
    };
    out.push(
        Finding::new(&rules::SEMANTIC_MODEL, "$.model", message)
            .expecting(format!("{requested:?} (or a snapshot of it, {requested:?} followed by `-…`)"), format!("{answered:?}"))
            .detail("the answer's model names the requested model"),
    );
}

/// Validates `instance` against a schema taken from the request, one finding per violation.
fn validate_against(schema: &Value, instance: &Value, rule: &Rule, severity: Severity, path: &str, detail: &str, out: &mut Vec<Finding>) {
    let validator = match jsonschema::validator_for(schema) {
        Ok(v) => v,
        Err(e) => {
            out.push(
                Finding::new(rule, path, format!("the request's schema does not compile, so this cannot be checked: {e}"))
                    .with_severity(Severity::Spec)
                    .detail(detail),
            );
            return;
        }
    };
    for error in validator.iter_errors(instance) {
        let inner = pointer_to_path(error.instance_path().as_str());
        // By characters, not bytes: a message quoting non-ASCII content must not be cut inside a character.
        let message: String = error.to_string().chars().take(200).collect();
        out.push(
            Finding::new(rule, format!("{path} → {inner}"), message)
                .with_severity(severity)
                .expecting(format!("valid against the request's schema at {}", error.schema_path().as_str()), compact(error.instance(), 120))
                .detail(detail.to_owned()),
        );
    }
}
