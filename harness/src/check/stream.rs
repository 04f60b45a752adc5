//! Stream checks: every chunk against the chunk schema, the invariants that span chunks, and reassembly.
//!
//! The invariants (rule ids in brackets):
//! - `[DONE]` ends the stream and nothing follows it (`stream.done`);
//! - every chunk has the same `id` and the same `object` (`stream.id`, `stream.object`);
//! - each choice gets exactly one non-null `finish_reason`, and no content after it (`stream.finish_reason`);
//! - tool-call deltas number their calls 0, 1, 2… and a call's first delta names it (`stream.tool_call_index`);
//!   a delta *without* `index` is a client-tier schema violation of the chunk, reported per chunk;
//! - usage comes as one final chunk with empty `choices` when `stream_options.include_usage` was asked,
//!   and not at all otherwise (`stream.usage`).
//!
//! A stream that ends with neither `[DONE]` nor any `finish_reason`, or inside an event, is *truncated*: the
//! run layer reports that as an error, never as a divergence, so the end-of-stream invariants are not applied.
//! One exception: a final `data: [DONE]` that lacks only its closing blank line (`data: [DONE]` at the end of a
//! saved body, or followed by a single line end) is a whole stream. openai-python 3.60.0's `SSEDecoder` never
//! dispatches that last event and openai-node 7.60.0's decoder drops it, yet both deliver every chunk and end the
//! iteration without an error (probed with each line ending: LF, CRLF, none, a single `\n`). It is reported as
//! `stream.done` (spec) and every chunk is checked.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use super::chunk_schema_findings;
use crate::case::{Expect, ObjectKind};
use crate::outcome::Finding;
use crate::rules::{self, Rule, Severity};
use crate::schema::{SchemaSet, compact};
use crate::sse::SseEvent;

/// What checking a stream produced.
#[derive(Debug, Clone, Default)]
pub struct StreamCheck {
    /// Schema and invariant findings.
    pub findings: Vec<Finding>,
    /// Extension paths, deduplicated across chunks.
    pub extensions: Vec<String>,
    /// The chunks that parsed as JSON, in order.
    pub chunks: Vec<Value>,
    /// The reassembled `chat.completion`-shaped message.
    pub reassembled: Value,
    /// The stream was cut (see the module docs).
    pub truncated: bool,
}

/// Checks a stream's events, the answer to a request with body `request`, against `expect`.
pub fn check(events: &[SseEvent], cut_inside_event: bool, request: Option<&Value>, expect: &Expect, schemas: &SchemaSet) -> StreamCheck {
    let mut out = StreamCheck::default();
    // The input ended inside an event; if that event is `[DONE]` (kept as the last event by `Observed::from_bytes`),
    // only its closing blank line is missing.
    let open_done = cut_inside_event && events.last().is_some_and(|e| e.data.trim() == "[DONE]");
    let cut_inside_event = cut_inside_event && !open_done;
    if open_done {
        out.findings.push(
            Finding::new(&rules::STREAM_DONE, "$", "the final `data: [DONE]` has no closing blank line")
                .expecting("data: [DONE] followed by a blank line", "the body ends right after data: [DONE]")
                .in_chunk(events.len() - 1)
                .detail("every event ends with a blank line")
                .why(
                    "the SDKs never see this last event, but they end the stream without an error and lose no chunk \
                     (openai-python 3.60.0, openai-node 7.60.0)",
                ),
        );
    }
    let mut numbered: Vec<(usize, Value)> = Vec::new();
    let mut done_at: Option<usize> = None;
    for (i, event) in events.iter().enumerate() {
        if event.data.trim() == "[DONE]" {
            done_at.get_or_insert(i);
            continue;
        }
        if done_at.is_some() {
            out.findings.push(
                Finding::new(&rules::STREAM_DONE, "$", "an event follows `[DONE]`")
                    .with_severity(Severity::Breaking)
                    .expecting("nothing after data: [DONE]", compact(&Value::String(event.data.clone()), 80))
                    .in_chunk(i)
                    .detail("the stream ends with data: [DONE]")
                    .why("both SDKs stop reading at [DONE]: what follows never reaches the caller (openai-python, openai-node drivers)"),
            );
        }
        match serde_json::from_str::<Value>(&event.data) {
            Ok(chunk) => numbered.push((i, chunk)),
            Err(e) => out.findings.push(
                Finding::new(&rules::STREAM_CHUNK_JSON, "$", format!("chunk is not JSON: {e}"))
                    .expecting("a JSON chunk", compact(&Value::String(event.data.clone()), 80))
                    .in_chunk(i),
            ),
        }
    }
    if expect.schema == Some(ObjectKind::ChatCompletionChunk) {
        for (i, chunk) in &numbered {
            out.findings.extend(chunk_schema_findings(schemas, chunk, *i));
            for ext in schemas.extensions(ObjectKind::ChatCompletionChunk, chunk) {
                if !out.extensions.contains(&ext) {
                    out.extensions.push(ext);
                }
            }
        }
    }
    let any_finish = numbered.iter().any(|(_, c)| choices(c).any(|ch| !ch["finish_reason"].is_null()));
    out.truncated = cut_inside_event || (done_at.is_none() && !any_finish);
    same_field(&numbered, &rules::STREAM_ID, "id", &mut out.findings);
    same_field(&numbered, &rules::STREAM_OBJECT, "object", &mut out.findings);
    tool_call_indexes(&numbered, &mut out.findings);
    usage(&numbered, request, &mut out.findings);
    roles(&numbered, out.truncated, &mut out.findings);
    if !out.truncated {
        if done_at.is_none() {
            out.findings.push(
                Finding::new(&rules::STREAM_DONE, "$", "the stream ends without `data: [DONE]`")
                    .expecting("data: [DONE] as the last event", "the connection closed after the last chunk")
                    .detail("the stream ends with data: [DONE]"),
            );
        }
        finish_reasons(&numbered, &mut out.findings);
    }
    out.chunks = numbered.into_iter().map(|(_, c)| c).collect();
    out.reassembled = reassemble(&out.chunks);
    out
}

fn choices(chunk: &Value) -> impl Iterator<Item = &Value> {
    chunk.get("choices").and_then(Value::as_array).into_iter().flatten()
}

fn same_field(chunks: &[(usize, Value)], rule: &Rule, field: &str, out: &mut Vec<Finding>) {
    let Some((_, first)) = chunks.first() else { return };
    let expected = &first[field];
    if let Some((i, c)) = chunks.iter().find(|(_, c)| &c[field] != expected) {
        let finding = Finding::new(rule, format!("$.{field}"), format!("`{field}` changes within the stream"))
            .expecting(compact(expected, 80), compact(&c[field], 80))
            .in_chunk(*i)
            .detail(format!("every chunk carries the same `{field}`"));
        // `stream.object` is breaking by its rule (measured by the drivers: openai-python's stream helper skips such
        // a chunk, and its text is lost).
        out.push(finding);
    }
}

fn finish_reasons(chunks: &[(usize, Value)], out: &mut Vec<Finding>) {
    // choice index -> (chunk where finish_reason came, count)
    let mut seen: BTreeMap<i64, (Option<usize>, usize)> = BTreeMap::new();
    for (i, chunk) in chunks {
        for (pos, choice) in choices(chunk).enumerate() {
            let index = choice["index"].as_i64().unwrap_or(-1);
            let entry = seen.entry(index).or_insert((None, 0));
            if entry.0.is_some() && has_content(&choice["delta"]) {
                out.push(
                    Finding::new(
                        &rules::STREAM_FINISH_REASON,
                        format!("$.choices[{pos}].delta"),
                        format!("choice {index} gets content after its finish_reason"),
                    )
                    .expecting("no delta after finish_reason", compact(&choice["delta"], 80))
                    .in_chunk(*i)
                    .detail("each choice ends with exactly one finish_reason"),
                );
            }
            if !choice["finish_reason"].is_null() {
                entry.1 += 1;
                entry.0.get_or_insert(*i);
                if entry.1 == 2 {
                    out.push(
                        Finding::new(
                            &rules::STREAM_FINISH_REASON,
                            format!("$.choices[{pos}].finish_reason"),
                            format!("choice {index} gets a second finish_reason"),
                        )
                        .expecting("exactly one finish_reason", compact(&choice["finish_reason"], 40))
                        .in_chunk(*i)
                        .detail("each choice ends with exactly one finish_reason"),
                    );
                }
            }
        }
    }
    for (index, (_, count)) in seen {
        if count == 0 {
            out.push(
                Finding::new(&rules::STREAM_FINISH_REASON, "$.choices[*].finish_reason", format!("choice {index} never gets a finish_reason"))
                    .with_severity(Severity::Breaking)
                    .expecting("one non-null finish_reason", "none")
                    .detail("each choice ends with exactly one finish_reason")
                    .why("openai-node's stream helper raises `missing finish_reason for choice N` at the final completion"),
            );
        }
    }
}

/// Each choice's role comes on exactly one delta: openai-python's stream helper concatenates repeated roles
/// (`assistantassistant…`), and openai-node's raises `missing role for choice N` when none came.
fn roles(chunks: &[(usize, Value)], truncated: bool, out: &mut Vec<Finding>) {
    let mut seen: BTreeMap<i64, Vec<usize>> = BTreeMap::new(); // choice -> chunks carrying a role
    for (i, chunk) in chunks {
        for choice in choices(chunk) {
            let entry = seen.entry(choice["index"].as_i64().unwrap_or(-1)).or_default();
            if choice["delta"].get("role").and_then(Value::as_str).is_some_and(|r| !r.is_empty()) {
                entry.push(*i);
            }
        }
    }
    for (index, with_role) in seen {
        if with_role.len() > 1 {
            out.push(
                Finding::new(&rules::STREAM_ROLE, "$.choices[*].delta.role", format!("choice {index} gets its role on {} deltas", with_role.len()))
                    .expecting("role on the first delta only", format!("role on chunks {with_role:?}"))
                    .in_chunk(with_role[1])
                    .detail("a choice's role comes once, on its first delta")
                    .why("openai-python's stream helper concatenates the roles: the final message's role is `assistantassistant…`"),
            );
        } else if with_role.is_empty() && !truncated {
            out.push(
                Finding::new(&rules::STREAM_ROLE, "$.choices[*].delta.role", format!("choice {index} never gets a role"))
                    .expecting("role on the first delta", "none")
                    .detail("a choice's role comes once, on its first delta")
                    .why("openai-node's stream helper raises `missing role for choice N` at the final completion"),
            );
        }
    }
}

fn has_content(delta: &Value) -> bool {
    let text = delta.get("content").and_then(Value::as_str).is_some_and(|s| !s.is_empty());
    let calls = delta.get("tool_calls").and_then(Value::as_array).is_some_and(|a| !a.is_empty());
    text || calls
}

fn tool_call_indexes(chunks: &[(usize, Value)], out: &mut Vec<Finding>) {
    let mut started: BTreeMap<i64, Vec<i64>> = BTreeMap::new(); // choice -> tool-call indexes seen
    for (i, chunk) in chunks {
        for (pos, choice) in choices(chunk).enumerate() {
            let choice_index = choice["index"].as_i64().unwrap_or(-1);
            let Some(calls) = choice["delta"].get("tool_calls").and_then(Value::as_array) else { continue };
            for (k, call) in calls.iter().enumerate() {
                let Some(index) = call.get("index").and_then(Value::as_i64) else { continue }; // schema reports it
                let seen = started.entry(choice_index).or_default();
                if seen.contains(&index) {
                    // openai-python's helper concatenates every string of a later delta but `index` and `type`.
                    let repeats: Vec<&str> = [("id", call.get("id")), ("function.name", call["function"].get("name"))]
                        .into_iter()
                        .filter(|(_, v)| v.and_then(Value::as_str).is_some_and(|s| !s.is_empty()))
                        .map(|(n, _)| n)
                        .collect();
                    if !repeats.is_empty() {
                        out.push(
                            Finding::new(
                                &rules::STREAM_TOOL_CALL_INDEX,
                                format!("$.choices[{pos}].delta.tool_calls[{k}]"),
                                format!("a later delta of tool call {index} repeats its {}", repeats.join(" and ")),
                            )
                            .with_severity(Severity::Breaking)
                            .expecting("id and function.name on the first delta of each index only", compact(call, 120))
                            .in_chunk(*i)
                            .detail("a tool call's id and name come on its first delta only")
                            .why("openai-python's stream helper concatenates them (`call_1call_1`, `get_weatherget_weather`)"),
                        );
                    }
                    continue;
                }
                let path = format!("$.choices[{pos}].delta.tool_calls[{k}]");
                if index != seen.len() as i64 {
                    out.push(
                        Finding::new(&rules::STREAM_TOOL_CALL_INDEX, format!("{path}.index"), "tool-call indexes do not count up from 0")
                            .with_severity(Severity::Breaking)
                            .expecting(seen.len().to_string(), index.to_string())
                            .in_chunk(*i)
                            .detail("tool calls of a choice are numbered 0, 1, 2… in order of their first delta")
                            .why("the SDK helpers index a list by it: openai-python raises IndexError, openai-node a TypeError"),
                    );
                }
                let named = call["function"].get("name").and_then(Value::as_str).is_some_and(|n| !n.is_empty());
                if call.get("id").and_then(Value::as_str).is_none() || !named {
                    out.push(
                        Finding::new(&rules::STREAM_TOOL_CALL_INDEX, path, "the first delta of a tool call lacks its id or function name")
                            .with_severity(Severity::Breaking)
                            .expecting("id and function.name on the first delta of each index", compact(call, 120))
                            .in_chunk(*i)
                            .detail("a tool call's first delta carries its id and name")
                            .why("the SDKs' accumulators take id and name from the first delta of each index"),
                    );
                }
                seen.push(index);
            }
        }
    }
}

fn usage(chunks: &[(usize, Value)], request: Option<&Value>, out: &mut Vec<Finding>) {
    let asked = request.and_then(|b| b.pointer("/stream_options/include_usage")).and_then(Value::as_bool) == Some(true);
    let with_usage: Vec<usize> = chunks.iter().filter(|(_, c)| c.get("usage").is_some_and(|u| !u.is_null())).map(|(i, _)| *i).collect();
    let detail = "usage comes once, in a final chunk with empty choices, only when stream_options.include_usage is true";
    if !asked {
        if let Some(first) = with_usage.first() {
            out.push(
                Finding::new(&rules::STREAM_USAGE, "$.usage", "usage is sent although stream_options.include_usage was not asked")
                    .expecting("usage absent or null", format!("usage on {} of {} chunks", with_usage.len(), chunks.len()))
                    .in_chunk(*first)
                    .detail(detail),
            );
        }
        return;
    }
    let Some((last_i, last)) = chunks.last() else { return };
    let final_is_usage_only = !last["usage"].is_null() && last["choices"].as_array().is_some_and(Vec::is_empty);
    if !final_is_usage_only {
        // Only what the stream shows: where no request was recorded, "asked" is inferred from usage being sent, so
        // the message says where usage came, not what was asked.
        let message = if with_usage.is_empty() {
            "no usage chunk although stream_options.include_usage was asked"
        } else {
            "usage comes on a chunk that carries choices, not in a usage-only final chunk"
        };
        out.push(
            Finding::new(&rules::STREAM_USAGE, "$", message)
                .expecting(
                    "a last chunk with usage and choices: []",
                    format!("last chunk: choices {}, usage {}", compact(&last["choices"], 60), compact(&last["usage"], 60)),
                )
                .in_chunk(*last_i)
                .detail(detail),
        );
    }
    if let Some(early) = with_usage.iter().find(|i| *i != last_i) {
        out.push(
            Finding::new(&rules::STREAM_USAGE, "$.usage", "usage is non-null before the final chunk")
                .expecting("usage null on every chunk but the last", format!("usage on {} of {} chunks", with_usage.len(), chunks.len()))
                .in_chunk(*early)
                .detail(detail),
        );
    }
}

/// Reassembles chunks into one `chat.completion`-shaped object, as the SDKs' stream helpers do: text deltas
/// concatenate, tool-call deltas merge by `index` (or, where `index` is missing, by `id`, the way lenient
/// clients do), the last non-null `finish_reason` and `usage` win.
pub fn reassemble(chunks: &[Value]) -> Value {
    #[derive(Default)]
    struct Acc {
        message: Map<String, Value>,
        calls: Vec<(Option<i64>, Map<String, Value>)>,
        finish_reason: Value,
    }
    let mut acc: BTreeMap<i64, Acc> = BTreeMap::new();
    let mut usage = Value::Null;
    for chunk in chunks {
        if chunk.get("usage").is_some_and(|u| !u.is_null()) {
            usage = chunk["usage"].clone();
        }
        for choice in choices(chunk) {
            let a = acc.entry(choice["index"].as_i64().unwrap_or(0)).or_default();
            if !choice["finish_reason"].is_null() {
                a.finish_reason = choice["finish_reason"].clone();
            }
            let Some(delta) = choice.get("delta").and_then(Value::as_object) else { continue };
            for (key, value) in delta {
                match (key.as_str(), value) {
                    ("tool_calls", Value::Array(calls)) => {
                        for call in calls {
                            merge_call(&mut a.calls, call);
                        }
                    }
                    ("content" | "refusal" | "reasoning_content" | "role", Value::String(s)) => {
                        let slot = a.message.entry(key.clone()).or_insert(Value::String(String::new()));
                        match slot {
                            Value::String(existing) => existing.push_str(s),
                            other => *other = Value::String(s.clone()),
                        }
                    }
                    ("content" | "refusal" | "reasoning_content", Value::Null) => {
                        a.message.entry(key.clone()).or_insert(Value::Null);
                    }
                    _ => {
                        a.message.insert(key.clone(), value.clone());
                    }
                }
            }
        }
    }
    let first = chunks.first().cloned().unwrap_or(Value::Null);
    let choices: Vec<Value> = acc
        .into_iter()
        .map(|(index, a)| {
            let mut message = a.message;
            message.entry("role").or_insert(json!("assistant"));
            message.entry("content").or_insert(Value::Null);
            if !a.calls.is_empty() {
                message.insert("tool_calls".into(), Value::Array(a.calls.into_iter().map(|(_, c)| Value::Object(c)).collect()));
            }
            json!({"index": index, "message": message, "finish_reason": a.finish_reason})
        })
        .collect();
    let mut out = json!({
        "id": first["id"], "object": "chat.completion", "created": first["created"], "model": first["model"],
        "choices": choices,
    });
    if !usage.is_null() {
        out["usage"] = usage;
    }
    out
}

fn merge_call(calls: &mut Vec<(Option<i64>, Map<String, Value>)>, delta: &Value) {
    let index = delta.get("index").and_then(Value::as_i64);
    let id = delta.get("id").and_then(Value::as_str).filter(|s| !s.is_empty());
    let slot = match index {
        Some(i) => calls.iter().position(|(k, _)| *k == Some(i)),
        // No index: a delta with a new id starts a call; one without continues the last call.
        None => match id {
            Some(id) => calls.iter().position(|(_, c)| c.get("id").and_then(Value::as_str) == Some(id)),
            None => calls.len().checked_sub(1),
        },
    };
    let slot = slot.unwrap_or_else(|| {
        calls.push((index, Map::new()));
        calls.len() - 1
    });
    let call = &mut calls[slot].1;
    let Some(fields) = delta.as_object() else { return };
    for (key, value) in fields {
        match (key.as_str(), value) {
            ("index", _) => {}
            ("function", Value::Object(f)) => {
                // An earlier delta may have sent `function` as something else (`null`): an object replaces it.
                let slot = call.entry("function").or_insert_with(|| json!({}));
                if !slot.is_object() {
                    *slot = json!({});
                }
                let Value::Object(function) = slot else { unreachable!("just made an object") };
                for (fk, fv) in f {
                    match (fk.as_str(), fv, function.get_mut(fk)) {
                        ("arguments", Value::String(more), Some(Value::String(existing))) => existing.push_str(more),
                        (_, Value::String(s), Some(Value::String(_))) if s.is_empty() => {}
                        _ => {
                            function.insert(fk.clone(), fv.clone());
                        }
                    }
                }
            }
            ("id" | "type", Value::String(s)) if s.is_empty() && call.contains_key(key) => {}
            _ => {
                call.insert(key.clone(), value.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reassembles_text_and_indexed_tool_calls() {
        let chunks = vec![
            json!({"id": "a", "created": 1, "model": "m", "choices": [{"index": 0, "delta": {"role": "assistant", "content": "He"}, "finish_reason": null}]}),
            json!({"id": "a", "created": 1, "model": "m", "choices": [{"index": 0, "delta": {"content": "llo"}, "finish_reason": null}]}),
            json!({"id": "a", "created": 1, "model": "m", "choices": [{"index": 0, "delta": {"tool_calls": [{"index": 0, "id": "c1", "type": "function", "function": {"name": "f", "arguments": "{\"a\""}}]}, "finish_reason": null}]}),
            json!({"id": "a", "created": 1, "model": "m", "choices": [{"index": 0, "delta": {"tool_calls": [{"index": 0, "function": {"arguments": ":1}"}}]}, "finish_reason": "tool_calls"}]}),
            json!({"id": "a", "created": 1, "model": "m", "choices": [], "usage": {"total_tokens": 3}}),
        ];
        let m = reassemble(&chunks);
        assert_eq!(m["choices"][0]["message"]["content"], "Hello");
        assert_eq!(
            m["choices"][0]["message"]["tool_calls"][0],
            json!({"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{\"a\":1}"}})
        );
        assert_eq!(m["choices"][0]["finish_reason"], "tool_calls");
        assert_eq!(m["usage"]["total_tokens"], 3);
    }

    #[test]
    fn reassembles_calls_without_index_by_id() {
        let chunks = vec![json!({"id": "a", "choices": [{"index": 0, "delta": {"role": "assistant", "tool_calls": [
            {"id": "x", "type": "function", "function": {"name": "f", "arguments": "{}"}},
            {"id": "y", "type": "function", "function": {"name": "g", "arguments": "{}"}}
        ]}, "finish_reason": "stop"}]})];
        let m = reassemble(&chunks);
        let calls = m["choices"][0]["message"]["tool_calls"].as_array().unwrap();
        assert_eq!(calls.len(), 2);
        assert_eq!(calls[1]["function"]["name"], "g");
    }
}
