//! llama-stack's recording files (`tests/integration/common/recordings/*.json`): one exchange per file,
//! `{request: {method, url, body, endpoint}, response: {body, is_streaming}}`.
//!
//! llama-stack keeps the response as the openai-python objects it parsed, each `{__type__, __data__}` with
//! `__data__` a `model_dump()`: a list endpoint is stored as the bare list of items (for `GET models`, the model
//! objects without the `{object, data}` envelope), a stream as the list of its chunks. So the recording cannot
//! show the status (none is kept: 200 is assumed), the SSE framing and `[DONE]` (a stream is rebuilt from its
//! chunks and `[DONE]` added, so `stream.done` is not evidence here), nor whether a `null` was sent or stands
//! for an absent key (`model_dump` writes both as `null`), so a finding counts only when it holds either way.
//! The report says so on every exchange.

use serde_json::Value;

use super::{Imported, RecordedExchange, kind_of};
use crate::case::ObjectKind;
use crate::check::Observed;
use crate::diagnostic::Diagnostic;

/// Imports a llama-stack recording already parsed as `doc`.
pub fn import(file: &str, doc: &Value) -> Result<Imported, Diagnostic> {
    let request = &doc["request"];
    let url = request["url"].as_str().unwrap_or_default().to_owned();
    let method = request["method"].as_str().unwrap_or("POST").to_ascii_uppercase();
    let body = unwrap(&request["body"]);
    let body = body.filter(|b| b.as_object().is_none_or(|m| !m.is_empty()));
    let endpoint = super::endpoint_of(&url);
    let mut out = Imported { form: "llama-stack recording", exchanges: Vec::new(), left_out: Vec::new() };
    let mut kind = match kind_of(&method, &endpoint, body.as_ref()) {
        Ok(k) => k,
        Err(reason) => {
            out.left_out.push(super::LeftOut { index: 0, reason: format!("{method} {url} — {reason}") });
            return Ok(out);
        }
    };
    let mut notes = vec![
        "llama-stack keeps no status: 200 is assumed".to_owned(),
        "llama-stack stores openai-python's model_dump(), where a null may stand for an absent key: a finding counts only when it holds either way"
            .to_owned(),
    ];
    let response_body = unwrap(&doc["response"]["body"]).unwrap_or(Value::Null);
    let streamed = doc["response"]["is_streaming"].as_bool() == Some(true);
    let observed = match (&response_body, streamed) {
        (Value::Array(chunks), true) => {
            notes.push("llama-stack keeps a stream's parsed chunks only: SSE framing and `[DONE]` are rebuilt, not recorded".into());
            let mut sse = String::new();
            for c in chunks {
                sse.push_str(&format!("data: {c}\n\n"));
            }
            sse.push_str("data: [DONE]\n\n");
            Observed::from_bytes(200, vec![("content-type".into(), "text/event-stream".into())], sse.as_bytes())
        }
        (value, _) => {
            if value.is_array() && kind == ObjectKind::ModelList {
                kind = ObjectKind::Model;
                notes.push("llama-stack keeps a list's items only: the `{object, data}` envelope is not in the file".into());
            }
            let bytes = serde_json::to_vec(value).map_err(|e| Diagnostic::whole_file(file, e.to_string()))?;
            Observed::from_bytes(200, vec![("content-type".into(), "application/json".into())], &bytes)
        }
    };
    out.exchanges.push(RecordedExchange {
        file: file.to_owned(),
        index: 0,
        line: 1,
        method,
        url,
        endpoint,
        kind,
        request_known: body.is_some(),
        request: body,
        response: observed,
        nulls_ambiguous: true,
        batch_line: None,
        items: kind == ObjectKind::Model && response_body.is_array() && !streamed,
        notes,
    });
    Ok(out)
}

/// The value with every `{__type__, __data__}` wrapper replaced by its `__data__`.
fn unwrap(v: &Value) -> Option<Value> {
    match v {
        Value::Null => None,
        Value::Object(m) if m.contains_key("__data__") => unwrap(&m["__data__"]),
        Value::Object(m) => Some(Value::Object(m.iter().map(|(k, v)| (k.clone(), unwrap(v).unwrap_or(Value::Null))).collect())),
        Value::Array(items) => Some(Value::Array(items.iter().map(|i| unwrap(i).unwrap_or(Value::Null)).collect())),
        other => Some(other.clone()),
    }
}
