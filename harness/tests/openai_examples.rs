//! OpenAI's own examples pass both of our tiers: every response example of the official document is valid.
//!
//! Reads `reference/openai-openapi.json` of the reference material (`../shared/`, or the cache that
//! `scripts/fetch-shared.sh` fills; see `suite::shared_material`): the
//! `x-oaiMeta.example` of each component the harness has a schema for, and the response of every `x-oaiMeta`
//! example of the operations that return one (`POST /chat/completions`, `GET /models`, `POST /batches`, …). Each
//! JSON example — or each chunk of a streamed one — is validated against the client and spec tiers of its object.
//! Every violation is listed by example name; the test fails on any that `ACCEPTED` does not list with a reason,
//! and on an `ACCEPTED` entry that no longer disagrees. Examples that are not JSON are listed as skipped. Absent
//! document: a `skipped:` line, and a failure naming the fetch command under `CI=true`.

use compat::case::ObjectKind;
use compat::schema::{SchemaSet, Tier};
use compat::suite::{default_root, shared_material};
use serde_json::Value;

/// Example violations accepted on purpose: (example name, instance path, why our tier is right to differ).
const ACCEPTED: &[(&str, &str, &str)] = &[
    ("POST /chat/completions — Functions", "$.choices[0].message.refusal", REFUSAL),
    ("POST /chat/completions — Logprobs", "$.choices[0].message.refusal", REFUSAL),
    ("POST /chat/completions — Logprobs", "$.choices[0].logprobs.refusal", REFUSAL),
    ("GET /chat/completions/{completion_id} — example", "$.choices[0].message.refusal", REFUSAL),
    ("POST /chat/completions/{completion_id} — example", "$.choices[0].message.refusal", REFUSAL),
];

/// Why a missing `refusal` stays a spec finding although some examples omit it.
const REFUSAL: &str = "the document's schema requires `refusal` (nullable) and OpenAI's live answers carry `refusal: null`; these \
    examples predate the field. The spec tier follows the schema; the SDKs do not need it (a spec finding only), and 29 \
    Gemini cases declare its absence as a known spec divergence";

/// The object an operation's 200 response is, by path and method.
fn operation_kind(method: &str, path: &str) -> Option<ObjectKind> {
    Some(match (method, path) {
        ("post", "/chat/completions") | ("get", "/chat/completions/{completion_id}") | ("post", "/chat/completions/{completion_id}") => {
            ObjectKind::ChatCompletion
        }
        ("post", "/embeddings") => ObjectKind::EmbeddingList,
        ("get", "/models") => ObjectKind::ModelList,
        ("get", "/models/{model}") => ObjectKind::Model,
        ("post", "/images/generations") | ("post", "/images/edits") | ("post", "/images/variations") => ObjectKind::ImagesResponse,
        ("post", "/batches") | ("get", "/batches/{batch_id}") | ("post", "/batches/{batch_id}/cancel") => ObjectKind::Batch,
        _ => return None,
    })
}

/// The example's text made JSON where the document wrote it loosely: `...` placeholders and trailing commas go.
fn lenient(text: &str) -> String {
    let no_lines = regex::Regex::new(r"(?m)^\s*\.{3,}.*$\n?").unwrap().replace_all(text, "");
    let no_ellipsis = regex::Regex::new(r",?\s*\.\.\.\s*").unwrap().replace_all(&no_lines, "");
    regex::Regex::new(r",(\s*[}\]])").unwrap().replace_all(&no_ellipsis, "$1").into_owned()
}

/// The example's instances: one JSON document, or the JSON chunks of an event stream (then of `chunk_kind`),
/// written with `data:` lines or as JSON objects one after another.
fn instances(text: &str, kind: ObjectKind) -> Result<Vec<(ObjectKind, Value)>, String> {
    let text = lenient(text);
    let trimmed = text.trim();
    if kind == ObjectKind::ChatCompletion && !trimmed.starts_with("data:") {
        let docs: Vec<Value> =
            serde_json::Deserializer::from_str(trimmed).into_iter::<Value>().collect::<Result<_, _>>().map_err(|e| format!("not JSON: {e}"))?;
        if docs.len() > 1 || docs.first().is_some_and(|d| d["object"] == "chat.completion.chunk") {
            return Ok(docs.into_iter().map(|d| (ObjectKind::ChatCompletionChunk, d)).collect());
        }
    }
    if trimmed.starts_with("data:") || trimmed.starts_with("event:") {
        let mut out = Vec::new();
        for line in trimmed.lines().filter_map(|l| l.strip_prefix("data:")).map(str::trim) {
            if line == "[DONE]" {
                continue;
            }
            let chunk_kind = if kind == ObjectKind::ChatCompletion {
                ObjectKind::ChatCompletionChunk
            } else {
                return Err("a stream of events that are not chat completion chunks".into());
            };
            out.push((chunk_kind, serde_json::from_str(line).map_err(|e| format!("a data line is not JSON: {e}"))?));
        }
        return Ok(out);
    }
    serde_json::from_str(trimmed).map(|v| vec![(kind, v)]).map_err(|e| format!("not JSON: {e}"))
}

#[test]
fn openai_examples_pass_both_tiers() {
    let root = default_root();
    let Some(path) = shared_material(&root, "reference/openai-openapi.json") else { return };
    let text = std::fs::read_to_string(&path).expect("the official document reads");
    let doc: Value = serde_json::from_str(&text).expect("the official document is JSON");
    let mut examples: Vec<(String, ObjectKind, String)> = Vec::new();
    for kind in ObjectKind::ALL {
        let component = kind.openapi_component();
        if let Some(ex) = doc.pointer(&format!("/components/schemas/{component}/x-oaiMeta/example")).and_then(Value::as_str) {
            // A chunk component's example is chunks; instances() reads a chat.completion example that way too.
            let as_kind = if kind == ObjectKind::ChatCompletionChunk { ObjectKind::ChatCompletion } else { kind };
            examples.push((format!("component {component}"), as_kind, ex.to_owned()));
        }
    }
    for (p, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let Some(kind) = operation_kind(method, p) else { continue };
            let list = match &op["x-oaiMeta"]["examples"] {
                Value::Array(a) => a.clone(),
                Value::Object(_) => vec![op["x-oaiMeta"]["examples"].clone()],
                _ => continue,
            };
            for ex in list {
                let title = ex["title"].as_str().unwrap_or("example");
                let response = match &ex["response"] {
                    Value::String(s) => s.clone(),
                    Value::Object(o) => o.values().find_map(Value::as_str).unwrap_or_default().to_owned(),
                    _ => continue,
                };
                if !response.is_empty() {
                    examples.push((format!("{} {p} — {title}", method.to_uppercase()), kind, response));
                }
            }
        }
    }
    assert!(examples.len() >= 10, "found only {} examples in the document", examples.len());

    let schemas = SchemaSet::builtin().unwrap();
    let mut disagreements = Vec::new();
    let mut skipped = Vec::new();
    let mut seen_accepted = Vec::new();
    let mut checked = 0;
    for (name, kind, text) in &examples {
        match instances(text, *kind) {
            Err(why) => skipped.push(format!("{name}: {why}")),
            Ok(list) => {
                for (k, value) in list {
                    checked += 1;
                    for tier in [Tier::Client, Tier::Spec] {
                        for v in schemas.validate(tier, k, &value) {
                            match ACCEPTED.iter().find(|(n, p, _)| n == name && *p == v.path) {
                                Some(a) => seen_accepted.push(format!("{name} {}: accepted — {}", v.path, a.2)),
                                None => disagreements.push(format!(
                                    "{name}: {} tier of {k}, {}: {} (expected {}, actual {})",
                                    tier.name(),
                                    v.path,
                                    v.rule,
                                    v.expected,
                                    v.actual
                                )),
                            }
                        }
                    }
                }
            }
        }
    }
    for s in &skipped {
        eprintln!("skipped example {s}");
    }
    for a in &seen_accepted {
        eprintln!("{a}");
    }
    let stale: Vec<_> = ACCEPTED.iter().filter(|(n, p, _)| !seen_accepted.iter().any(|s| s.starts_with(&format!("{n} {p}:")))).collect();
    eprintln!(
        "OpenAI examples: {} examples, {checked} instances validated, {} skipped (not JSON, or events of an object the harness has no schema for), {} disagreements",
        examples.len(),
        skipped.len(),
        disagreements.len()
    );
    // A loop that checks nothing passes: OpenAI's document gives 24 instances of objects the harness has schemas for.
    assert!(checked >= 24, "only {checked} example instances were validated; at least 24 are due");
    assert!(skipped.len() <= 2, "more examples skipped than the two event examples: {skipped:?}");
    assert!(stale.is_empty(), "accepted disagreements that no longer occur: {stale:?}");
    assert!(disagreements.is_empty(), "our tiers reject OpenAI's own examples:\n{}", disagreements.join("\n"));
}
