//! VCR cassettes (vcrpy, pytest-recording): `interactions: [{request, response}]` in YAML.
//!
//! vcrpy stores a request body as a string (or null) and a response body as `{string: …}`; serializers such as
//! pydantic-ai's replace a JSON body by its parsed form under `parsed_body`. Both are read: a parsed body is
//! taken as the JSON it was, a raw one is classified by its `content-type` like a live response (an event
//! stream is parsed event by event). Headers are maps of name → list of values. A body vcrpy kept as bytes
//! (`!!binary`, usually a compressed body recorded without `decode_compressed_response`) cannot be checked and
//! is a located error saying so.

use serde::Deserialize;
use serde_json::Value;

use super::{Imported, LeftOut, RecordedExchange, header_pairs, kind_of, request_json};
use crate::case::{Spanned, load::parse_yaml};
use crate::check::Observed;
use crate::diagnostic::Diagnostic;
use crate::outcome::ObservedBody;

#[derive(Deserialize)]
struct Cassette {
    interactions: Vec<Spanned<Interaction>>,
}

#[derive(Deserialize)]
struct Interaction {
    request: Request,
    response: Response,
}

#[derive(Deserialize)]
struct Request {
    method: String,
    uri: String,
    #[serde(default)]
    body: Value,
    #[serde(default)]
    parsed_body: Option<Value>,
}

#[derive(Deserialize)]
struct Response {
    status: Status,
    #[serde(default)]
    headers: Value,
    #[serde(default)]
    body: Value,
    #[serde(default)]
    parsed_body: Option<Value>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Status {
    /// vcrpy: `{code: 200, message: OK}`.
    Full { code: u16 },
    /// A bare code.
    Code(u16),
}

/// Imports a cassette.
pub fn import(file: &str, text: &str) -> Result<Imported, Diagnostic> {
    let cassette: Cassette = parse_yaml(file, text).map_err(|mut e| {
        if e.message.contains("interactions") {
            e.message = format!("{} (a VCR cassette holds `interactions: [{{request, response}}]`)", e.message);
        } else if e.message.contains("!!binary") {
            e.message = format!("a body is stored as bytes, not text (a compressed body?); {BINARY_HINT} ({})", e.message);
        }
        e
    })?;
    let mut out = Imported { form: "VCR cassette", exchanges: Vec::new(), left_out: Vec::new() };
    for (index, spanned) in cassette.interactions.into_iter().enumerate() {
        let (line, col) = (spanned.referenced.line(), spanned.referenced.column());
        let Interaction { request, response } = spanned.value;
        let mut notes = Vec::new();
        let request_body = match request.parsed_body {
            Some(v) => Some(v),
            None => match &request.body {
                Value::String(s) => request_json(s, &mut notes),
                Value::Object(m) => m.get("string").and_then(Value::as_str).and_then(|s| request_json(s, &mut notes)),
                _ => None,
            },
        };
        let endpoint = super::endpoint_of(&request.uri);
        let kind = match kind_of(&request.method, &endpoint, request_body.as_ref()) {
            Ok(k) => k,
            Err(reason) => {
                out.left_out.push(LeftOut { index, reason: format!("{} {} — {reason}", request.method, request.uri) });
                continue;
            }
        };
        let status = match response.status {
            Status::Full { code } | Status::Code(code) => code,
        };
        let headers = header_pairs(&response.headers);
        let observed = match (response.parsed_body, &response.body) {
            (Some(value), _) => Observed { status, headers, body: ObservedBody::Json { value } },
            (None, Value::Null) => Observed::from_bytes(status, headers, b""),
            (None, Value::String(s)) => Observed::from_bytes(status, headers, s.as_bytes()),
            (None, Value::Object(m)) => match m.get("string") {
                Some(Value::String(s)) => Observed::from_bytes(status, headers, s.as_bytes()),
                Some(Value::Null) | None => Observed::from_bytes(status, headers, b""),
                Some(_) => return Err(binary_body(file, text, line, col, index)),
            },
            (None, _) => return Err(binary_body(file, text, line, col, index)),
        };
        out.exchanges.push(RecordedExchange {
            file: file.to_owned(),
            index,
            line,
            method: request.method.to_ascii_uppercase(),
            url: request.uri,
            endpoint,
            kind,
            request_known: request_body.is_some(),
            request: request_body,
            response: observed,
            items: false,
            nulls_ambiguous: false,
            notes,
        });
    }
    Ok(out)
}

const BINARY_HINT: &str = "record with vcrpy's `decode_compressed_response=True` so the body can be checked";

fn binary_body(file: &str, text: &str, line: u64, col: u64, index: usize) -> Diagnostic {
    Diagnostic::at(
        file,
        text,
        line,
        col,
        format!("interaction {index}: the response body is stored as bytes, not text (a compressed body?); {BINARY_HINT}"),
    )
}
