//! VCR cassettes (vcrpy, pytest-recording): `interactions: [{request, response}]` in YAML.
//!
//! vcrpy stores a request body as a string (or null) and a response body as `{string: …}`; serializers such as
//! pydantic-ai's replace a JSON body by its parsed form under `parsed_body`. Both are read: a parsed body is
//! taken as the JSON it was, a raw one is classified by its `content-type` like a live response (an event
//! stream is parsed event by event). Headers are maps of name → list of values. A body vcrpy kept as bytes
//! (`!!binary`: vcrpy's default for a compressed body, recorded without `decode_compressed_response`) is
//! base64-decoded and then decoded by its `Content-Encoding` (`gzip`, `deflate` — zlib or raw — and `br`), as a
//! client would; a body that still cannot be read is a located error that says what was found.

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
    // `!!binary` scalars arrive as their base64 text (decoded below, by the response's headers); the strict
    // booleans are those of every other YAML file of the project.
    let options = serde_saphyr::options! { strict_booleans: true, ignore_binary_tag_for_string: true };
    let cassette: Cassette = match serde_saphyr::from_str_with_options(text, options) {
        Ok(c) => c,
        // The project's YAML reader renders the same error, located and with its did-you-mean.
        Err(_) => match parse_yaml::<Cassette>(file, text) {
            Ok(c) => c,
            Err(mut e) => {
                if e.message.contains("interactions") {
                    e.message = format!("{} (a VCR cassette holds `interactions: [{{request, response}}]`)", e.message);
                }
                return Err(e);
            }
        },
    };
    let has_binary = text.contains("!!binary");
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
        let stored = match &response.body {
            Value::Object(m) => m.get("string").unwrap_or(&Value::Null),
            other => other,
        };
        let observed = match (response.parsed_body, stored) {
            (Some(value), _) => Observed { status, headers, body: ObservedBody::Json { value } },
            (None, Value::Null) => Observed::from_bytes(status, headers, b""),
            (None, Value::String(s)) => {
                let encoding = headers.iter().find(|(k, _)| k == "content-encoding").map(|(_, v)| v.trim().to_ascii_lowercase());
                match stored_bytes(s, has_binary, encoding.as_deref()) {
                    Ok(Some(bytes)) => {
                        notes.push(format!(
                            "the response body is stored as bytes (`!!binary`{}); it was decoded as a client would",
                            encoding.as_deref().filter(|e| *e != "identity").map(|e| format!(", content-encoding {e}")).unwrap_or_default()
                        ));
                        // The body is now what a client reads: the encoding header no longer applies.
                        let headers = headers.into_iter().filter(|(k, _)| k != "content-encoding").collect();
                        Observed::from_bytes(status, headers, &bytes)
                    }
                    Ok(None) => Observed::from_bytes(status, headers, s.as_bytes()),
                    Err(why) => return Err(unreadable_body(file, text, line, col, index, &why)),
                }
            }
            (None, _) => return Err(unreadable_body(file, text, line, col, index, "it is neither text nor `!!binary` bytes")),
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
            batch_line: None,
            notes,
        });
    }
    Ok(out)
}

/// The bytes of a body stored as `!!binary` (its base64 text, as read), decoded by `encoding`; `None` when the body
/// is plain text. Only a cassette holding `!!binary` can have such a body, and only a string of nothing but
/// base64 characters is one (JSON and event streams never are).
fn stored_bytes(s: &str, has_binary: bool, encoding: Option<&str>) -> Result<Option<Vec<u8>>, String> {
    use base64::Engine as _;
    let compact: String = s.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    let base64_only = !compact.is_empty()
        && compact.len().is_multiple_of(4)
        && compact.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/' || b == b'=');
    if !has_binary || !base64_only {
        return Ok(None);
    }
    let Ok(raw) = base64::engine::general_purpose::STANDARD.decode(compact.as_bytes()) else { return Ok(None) };
    decode_content(&raw, encoding.unwrap_or("identity")).map(Some)
}

/// Decodes a body by its `Content-Encoding` (a list is applied last to first, as RFC 9110 orders it).
pub(crate) fn decode_content(raw: &[u8], encoding: &str) -> Result<Vec<u8>, String> {
    use std::io::Read as _;
    let mut bytes = raw.to_vec();
    for coding in encoding.split(',').map(str::trim).rev() {
        let mut out = Vec::new();
        let done = match coding {
            "" | "identity" => {
                continue;
            }
            "gzip" | "x-gzip" => flate2::read::MultiGzDecoder::new(&bytes[..]).read_to_end(&mut out).map(|_| ()),
            // `deflate` is zlib-wrapped by the letter of RFC 9110; some servers send it raw.
            "deflate" => flate2::read::ZlibDecoder::new(&bytes[..]).read_to_end(&mut out).map(|_| ()).or_else(|_| {
                out.clear();
                flate2::read::DeflateDecoder::new(&bytes[..]).read_to_end(&mut out).map(|_| ())
            }),
            "br" => brotli_decompressor::Decompressor::new(&bytes[..], 4096).read_to_end(&mut out).map(|_| ()),
            other => return Err(format!("its content-encoding {other:?} is not one the harness decodes (gzip, deflate, br)")),
        };
        done.map_err(|e| format!("it does not decode as {coding}: {e}"))?;
        bytes = out;
    }
    Ok(bytes)
}

fn unreadable_body(file: &str, text: &str, line: u64, col: u64, index: usize, why: &str) -> Diagnostic {
    Diagnostic::at(file, text, line, col, format!("interaction {index}: the response body cannot be read: {why}"))
}
