//! Recorded traffic in, neutral [`RecordedExchange`]s out: what `compat check` reads.
//!
//! Five forms of recording are read, each by its own module: VCR cassettes of vcrpy and pytest-recording
//! ([`vcr`], bodies as raw strings or parsed under `parsed_body`), HAR files as browsers, mitmproxy and proxies
//! export them ([`har`]), llama-stack's recording files ([`llama_stack`]), Batch output files ([`batch`]), and raw JSON or SSE bodies whose
//! endpoint the user states ([`raw`]). Each importer turns every interaction into the same value: the request as
//! recorded, the response as the checks see it ([`Observed`]), the OpenAI endpoint it addressed and the object
//! kind a success there returns. Interactions that address no OpenAI endpoint the harness has schemas for are
//! left out, each with the reason, so a cassette of a whole app can be pointed at as it is. Every problem with
//! the file itself is a located [`Diagnostic`], never a panic. Checking the exchanges is [`assess`]'s job.

pub mod assess;
pub mod batch;
pub mod har;
pub mod llama_stack;
pub mod raw;
pub mod vcr;

use std::path::Path;

use serde_json::Value;

use crate::case::{Method, ObjectKind};
use crate::check::Observed;
use crate::diagnostic::Diagnostic;

/// One recorded request and its response, whatever file form it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedExchange {
    /// The file, as given.
    pub file: String,
    /// 0-based index of the interaction in the file (`interactions[n]`, `log.entries[n]`).
    pub index: usize,
    /// 1-based line of the interaction in the file (1 for a whole-file body).
    pub line: u64,
    /// HTTP method as recorded.
    pub method: String,
    /// URL (or path) as recorded.
    pub url: String,
    /// The OpenAI endpoint addressed, relative to a base URL (`chat/completions`, `models/{id}`).
    pub endpoint: String,
    /// The object a success on that endpoint returns (`chat.completion.chunk` for a streamed chat request).
    pub kind: ObjectKind,
    /// The JSON request body, when one was recorded (for a raw stream without `--request`, a stand-in saying
    /// only `stream: true` and whether usage was included; see `request_known`).
    pub request: Option<Value>,
    /// Whether `request` is the request that was sent. When not, the semantic checks that compare the answer
    /// with the request (tool names and arguments, structured output, `n`, embeddings) are not run.
    pub request_known: bool,
    /// The response.
    pub response: Observed,
    /// The body is a bare JSON array of `kind` objects, checked one by one: the recorder kept a list's items
    /// without its envelope (llama-stack), or the user stated the items' kind (`--kind model`). A bare array
    /// anywhere else is checked as the body it is, so a server that drops the envelope is caught.
    pub items: bool,
    /// A `null` in the response may stand for an absent key (the recorder stored a `model_dump()`): a finding
    /// then counts only when it holds both with the nulls and without them.
    pub nulls_ambiguous: bool,
    /// What this form of recording cannot show (said in the report, so nobody reads it as checked).
    pub notes: Vec<String>,
    /// A Batch output line ([`batch`]): the line with its `response.body` taken out (the body is `response`),
    /// whose envelope is checked against the documented line shape; status 0 when the line has no response.
    pub batch_line: Option<Value>,
}

/// An interaction that was not checked, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeftOut {
    /// 0-based index in the file.
    pub index: usize,
    /// `METHOD url — reason`.
    pub reason: String,
}

/// What one file yielded.
#[derive(Debug, Clone, PartialEq)]
pub struct Imported {
    /// The form it was read as (`VCR cassette`, `HAR`, …).
    pub form: &'static str,
    /// The exchanges to check, in file order.
    pub exchanges: Vec<RecordedExchange>,
    /// Interactions left out.
    pub left_out: Vec<LeftOut>,
}

/// What the user states about raw bodies (and nothing else: recorded requests say it themselves).
#[derive(Debug, Clone, Default)]
pub struct RawOptions {
    /// The endpoint the body answered (`chat/completions`, `embeddings`, `models`, `models/{id}`, …).
    pub endpoint: Option<String>,
    /// The object kind, when no endpoint is given or to override the endpoint's.
    pub kind: Option<ObjectKind>,
    /// The request body that was sent, when known.
    pub request: Option<Value>,
    /// The response status (default 200).
    pub status: Option<u16>,
}

/// Reads `path` and imports it by its form: `.yaml`/`.yml`, or JSON with `interactions`, a VCR cassette;
/// `.jsonl`, or JSON lines with `custom_id`, a Batch output file; `.har`, or JSON with `log.entries`, a HAR file; JSON with `request.url` and `response.body` a llama-stack
/// recording; anything else a raw body.
pub fn load_file(path: &Path, raw: &RawOptions) -> Result<Imported, Diagnostic> {
    let file = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| Diagnostic::whole_file(&file, format!("cannot read it: {e}")))?;
    let text = String::from_utf8(bytes).map_err(|e| Diagnostic::whole_file(&file, format!("not UTF-8 text: {e}")))?;
    import(&file, &text, raw)
}

/// Imports `text` (the contents of `file`) by its form; see [`load_file`].
pub fn import(file: &str, text: &str, raw: &RawOptions) -> Result<Imported, Diagnostic> {
    let ext = Path::new(file).extension().and_then(|e| e.to_str()).unwrap_or_default().to_ascii_lowercase();
    if ext == "yaml" || ext == "yml" {
        return vcr::import(file, text);
    }
    if ext == "jsonl" || batch::looks_like(text) {
        return batch::import(file, text, raw);
    }
    let doc = if text.trim_start().starts_with('{') { serde_json::from_str::<Value>(text).ok() } else { None };
    if ext == "har" || doc.as_ref().is_some_and(|d| d.pointer("/log/entries").is_some()) {
        return har::import(file, text); // a broken .har gets its located error there
    }
    if doc.as_ref().is_some_and(|d| d.get("interactions").is_some_and(Value::is_array)) {
        return vcr::import(file, text); // vcrpy's JSON serializer; JSON is YAML, so lines stay exact
    }
    if let Some(doc) = doc.filter(|d| d.pointer("/request/url").is_some() && d.pointer("/response/body").is_some()) {
        return llama_stack::import(file, &doc);
    }
    raw::import(file, text, raw)
}

/// The OpenAI endpoint a recorded URL or path addresses, relative to a base URL: the part after an `openai`
/// segment (Gemini's `…/v1beta/openai/`, Azure's `/openai/deployments/{name}/`), else after the first `v1`,
/// else the whole path; a leading `v1/` is dropped. The query is ignored.
pub fn endpoint_of(url: &str) -> String {
    let no_scheme = url.split_once("://").map_or(url, |(_, rest)| rest.split_once('/').map_or("", |(_, p)| p));
    let path = no_scheme.split(['?', '#']).next().unwrap_or_default();
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let mut rest: &[&str] = match segments.iter().position(|s| *s == "openai") {
        Some(i) => &segments[i + 1..],
        None => match segments.iter().position(|s| *s == "v1") {
            Some(i) => &segments[i + 1..],
            None => &segments,
        },
    };
    if rest.first() == Some(&"v1") {
        rest = &rest[1..];
    }
    if rest.first() == Some(&"deployments") && rest.len() > 2 {
        rest = &rest[2..];
    }
    rest.join("/")
}

/// The object a success on `endpoint` returns ([`ObjectKind::answering`]), or why none is known. `POST` is
/// assumed where the recording does not say.
pub fn kind_of(method: &str, endpoint: &str, request: Option<&Value>) -> Result<ObjectKind, String> {
    let m = if method.eq_ignore_ascii_case("GET") {
        Method::Get
    } else if method.eq_ignore_ascii_case("DELETE") {
        Method::Delete
    } else {
        Method::Post
    };
    ObjectKind::answering(m, endpoint, request).ok_or_else(|| format!("{method} {endpoint:?} is not an OpenAI endpoint the harness has schemas for"))
}

/// Response headers from a recorder's map of name → value or list of values, names lower-cased.
pub(crate) fn header_pairs(headers: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if let Some(map) = headers.as_object() {
        for (name, value) in map {
            let name = name.to_ascii_lowercase();
            match value {
                Value::Array(items) => out.extend(items.iter().map(|v| (name.clone(), scalar(v)))),
                other => out.push((name, scalar(other))),
            }
        }
    }
    out
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A request body as recorded: JSON when it parses, else none (with a note); empty bodies are none.
pub(crate) fn request_json(text: &str, notes: &mut Vec<String>) -> Option<Value> {
    if text.trim().is_empty() {
        return None;
    }
    match serde_json::from_str::<Value>(text) {
        Ok(v) => Some(v),
        Err(_) => {
            notes.push("the request body is not JSON, so the semantic checks that need the request were not run".into());
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_from_recorded_urls() {
        assert_eq!(endpoint_of("https://generativelanguage.googleapis.com/v1beta/openai/chat/completions"), "chat/completions");
        assert_eq!(endpoint_of("https://generativelanguage.googleapis.com/v1beta/openai/v1/models"), "models");
        assert_eq!(endpoint_of("http://127.0.0.1:8080/v1/chat/completions?x=1"), "chat/completions");
        assert_eq!(endpoint_of("https://x.openai.azure.com/openai/deployments/gpt4/chat/completions"), "chat/completions");
        assert_eq!(endpoint_of("/v1/models/gpt-4o"), "models/gpt-4o");
        assert_eq!(endpoint_of("embeddings"), "embeddings");
    }

    #[test]
    fn kinds_by_endpoint() {
        let streamed = serde_json::json!({"stream": true});
        assert_eq!(kind_of("POST", "chat/completions", Some(&streamed)), Ok(ObjectKind::ChatCompletionChunk));
        assert_eq!(kind_of("POST", "chat/completions", None), Ok(ObjectKind::ChatCompletion));
        assert_eq!(kind_of("POST", "models", None), Ok(ObjectKind::ModelList));
        assert_eq!(kind_of("GET", "models/gemini-2.5-flash", None), Ok(ObjectKind::Model));
        assert!(kind_of("POST", "models/gemini-2.5-flash:generateContent", None).is_err());
        assert!(kind_of("GET", "files", None).is_err());
    }
}
