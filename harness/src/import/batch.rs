//! Batch output files (`.jsonl`): what `GET files/{output_file_id}/content` returns for a finished batch, one
//! JSON line per request, `{id, custom_id, response: {status_code, request_id, body}, error}` as OpenAI documents
//! the request output object.
//!
//! Each line is one exchange: its `response.body` is checked as the endpoint's object (or as an error for a
//! non-2xx `status_code`), with paths rooted at the line (`$.response.body.choices[0]…`), and its envelope against
//! the documented line shape (`batch.output_line`, in [`super::assess`]). A batch serves one endpoint, which the
//! file does not name: it is the one stated (`--endpoint`, `--kind`), else the one the bodies' `object` names
//! (said in a note, since it is read, not recorded). A line that is not JSON is a located error.

use serde_json::Value;

use super::{Imported, RawOptions, RecordedExchange, kind_of};
use crate::case::ObjectKind;
use crate::check::Observed;
use crate::diagnostic::Diagnostic;
use crate::outcome::ObservedBody;

/// Whether `text` looks like a batch output file: JSON lines with `custom_id` and a `response` or an `error`.
pub fn looks_like(text: &str) -> bool {
    text.lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .and_then(|l| serde_json::from_str::<Value>(l).ok())
        .is_some_and(|v| v.get("custom_id").is_some() && (v.get("response").is_some() || v.get("error").is_some()))
}

/// Imports a batch output file.
pub fn import(file: &str, text: &str, opts: &RawOptions) -> Result<Imported, Diagnostic> {
    let mut lines = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let value: Value = serde_json::from_str(line)
            .map_err(|e| Diagnostic::at(file, text, n as u64 + 1, e.column() as u64, format!("line {} is not a JSON object: {e}", n + 1)))?;
        if !value.is_object() {
            return Err(Diagnostic::at(file, text, n as u64 + 1, 1, format!("line {} is not a JSON object", n + 1)));
        }
        lines.push((n as u64 + 1, value));
    }
    let mut notes = Vec::new();
    let endpoint = match (&opts.endpoint, opts.kind) {
        (Some(e), _) => e.trim_matches('/').to_owned(),
        (None, Some(k)) => k.endpoint().to_owned(),
        (None, None) => {
            let named = lines.iter().find_map(|(_, l)| object_kind(l.pointer("/response/body")?));
            let Some(kind) = named else {
                return Err(Diagnostic::whole_file(
                    file,
                    "a batch output file does not say which endpoint its lines answered, and no body names its object: \
                     state it with --endpoint (chat/completions, embeddings)",
                ));
            };
            notes.push(format!(
                "a batch output file does not name its endpoint: {} was taken from the `object` its bodies give ({kind})",
                kind.endpoint()
            ));
            kind.endpoint().to_owned()
        }
    };
    let kind = match opts.kind {
        Some(k) => k,
        None => kind_of("POST", &endpoint, None).map_err(|e| Diagnostic::whole_file(file, format!("--endpoint: {e}")))?,
    };
    let mut out = Imported { form: "batch output file", exchanges: Vec::new(), left_out: Vec::new() };
    for (index, (line, mut value)) in lines.into_iter().enumerate() {
        let response = value.get_mut("response").filter(|r| r.is_object()).map(|r| {
            let status = r.get("status_code").and_then(Value::as_u64).and_then(|s| u16::try_from(s).ok()).unwrap_or(200);
            let body = match r.get_mut("body").map(Value::take) {
                None | Some(Value::Null) => ObservedBody::Empty,
                Some(Value::String(s)) => match serde_json::from_str::<Value>(&s) {
                    Ok(v) => ObservedBody::Json { value: v },
                    Err(_) => ObservedBody::Text { text: s, content_type: None },
                },
                Some(v) => ObservedBody::Json { value: v },
            };
            Observed { status, headers: vec![("content-type".into(), "application/json".into())], body }
        });
        let custom_id = value.get("custom_id").and_then(Value::as_str).unwrap_or("?").to_owned();
        out.exchanges.push(RecordedExchange {
            file: file.to_owned(),
            index,
            line,
            method: "POST".into(),
            url: format!("{endpoint} (batch line {line}, custom_id {custom_id})"),
            endpoint: endpoint.clone(),
            kind,
            request: None,
            request_known: false,
            // A line without a response (a failed request: `error` only) has no body to check, only its envelope.
            response: response.unwrap_or(Observed { status: 0, headers: Vec::new(), body: ObservedBody::Empty }),
            items: false,
            nulls_ambiguous: false,
            notes: notes.clone(),
            batch_line: Some(value),
        });
    }
    Ok(out)
}

/// The kind a body's `object` names, where it names one (`list` does not).
pub(crate) fn object_kind(body: &Value) -> Option<ObjectKind> {
    let object = body.get("object").and_then(Value::as_str)?;
    ObjectKind::ALL.into_iter().find(|k| k.name() == object && *k != ObjectKind::Error)
}
