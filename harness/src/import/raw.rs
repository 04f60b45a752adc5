//! Raw response bodies — a JSON document or an SSE stream saved from a log or a terminal — with the endpoint
//! (`--endpoint chat/completions`) or the object kind (`--kind chat.completion`) stated by the user, since the
//! body alone does not say what was asked.
//!
//! A body whose first line starts with `data:`, `event:`, `id:` or `:` is an event stream; anything else must
//! parse as JSON (a located error otherwise). Neither stated, the kind is the one the body's `object` names (the
//! first chunk's for a stream), or `error` for a body holding an `error` key, said in a note; a body naming none (`list`, or no `object`) asks for it. A single
//! chunk saved as JSON (`--kind chat.completion.chunk`) is checked against the chunk schema alone: the stream
//! invariants need the whole stream. The request is whatever `--request` gives; without it the
//! semantic checks that compare with the request cannot run, and for a stream `stream_options.include_usage` is
//! taken from the stream itself (a usage chunk means it was asked), so `stream.usage` still checks the usage
//! chunk's shape but cannot say whether it was asked for.

use serde_json::{Value, json};

use super::{Imported, RawOptions, RecordedExchange, kind_of};
use crate::case::ObjectKind;
use crate::check::Observed;
use crate::diagnostic::Diagnostic;
use crate::outcome::ObservedBody;

/// Imports a raw body.
pub fn import(file: &str, text: &str, opts: &RawOptions) -> Result<Imported, Diagnostic> {
    let first = text.trim_start().lines().next().unwrap_or_default();
    let is_stream = ["data:", "event:", "id:", ":"].iter().any(|p| first.starts_with(p));
    let mut notes = Vec::new();
    let stated = match (&opts.endpoint, opts.kind) {
        (Some(e), _) => e.trim_matches('/').to_owned(),
        (None, Some(k)) => k.endpoint().to_owned(),
        (None, None) => match named_kind(text, is_stream) {
            Some(ObjectKind::Error) => {
                notes.push("no --endpoint or --kind was given: the body was checked as the error object its `error` key shows".into());
                String::new()
            }
            Some(kind) => {
                notes.push(format!("no --endpoint or --kind was given: the body was checked as the {kind} its `object` names"));
                kind.endpoint().to_owned()
            }
            None => {
                return Err(Diagnostic::whole_file(
                    file,
                    "a raw body does not say what it answers (its `object` names no kind): state it with --endpoint \
                     (chat/completions, embeddings, models, models/{id}, images/generations, batches, videos) or --kind \
                     (chat.completion, chat.completion.chunk, embedding.list, model.list, model, error, images.response, \
                     batch, video)",
                ));
            }
        },
    };
    let status = opts.status.unwrap_or(200);
    let mut request = opts.request.clone();
    let response = if is_stream {
        let observed = Observed::from_bytes(status, vec![("content-type".into(), "text/event-stream".into())], text.as_bytes());
        if request.is_none() {
            let usage_seen = match &observed.body {
                ObservedBody::Stream { events, .. } => {
                    events.iter().any(|e| serde_json::from_str::<Value>(&e.data).ok().is_some_and(|c| c.get("usage").is_some_and(|u| !u.is_null())))
                }
                _ => false,
            };
            notes.push(
                "no request was given (--request): stream_options.include_usage is taken from the stream, and checks that \
                 compare with the request were not run"
                    .into(),
            );
            request = Some(if usage_seen { json!({"stream": true, "stream_options": {"include_usage": true}}) } else { json!({"stream": true}) });
        }
        observed
    } else {
        let value: Value = serde_json::from_str(text).map_err(|e| {
            Diagnostic::at(file, text, e.line() as u64, e.column() as u64, format!("the body is neither an event stream nor JSON: {e}"))
        })?;
        if request.is_none() {
            notes.push("no request was given (--request): checks that compare with the request were not run".into());
        }
        Observed { status, headers: vec![("content-type".into(), "application/json".into())], body: ObservedBody::Json { value } }
    };
    if let Some(m) = request.as_mut().and_then(Value::as_object_mut).filter(|_| is_stream) {
        m.entry("stream").or_insert(Value::Bool(true)); // the body is a stream, so one was asked for
    }
    let kind = match opts.kind {
        Some(k) => k,
        None if !is_stream
            && opts.endpoint.is_none()
            && matches!(named_kind(text, false), Some(ObjectKind::ChatCompletionChunk | ObjectKind::Error)) =>
        {
            named_kind(text, false).expect("just matched")
        }
        None => kind_of("POST", &stated, request.as_ref()).map_err(|e| Diagnostic::whole_file(file, format!("--endpoint: {e}")))?,
    };
    if is_stream && kind != ObjectKind::ChatCompletionChunk {
        return Err(Diagnostic::whole_file(
            file,
            format!("the body is an event stream, but a {kind} is not streamed (a stream is chat.completion.chunk)"),
        ));
    }
    if !is_stream && kind == ObjectKind::ChatCompletionChunk {
        notes.push("a single chunk saved as JSON: checked against the chunk schema; the stream invariants need the whole stream".into());
        // Not a streaming request: the body is checked as the one JSON object it is.
        request = request.map(|mut r| {
            if let Some(m) = r.as_object_mut() {
                m.remove("stream");
            }
            r
        });
    }
    let items = kind == ObjectKind::Model && matches!(&response.body, ObservedBody::Json { value: Value::Array(_) });
    let exchange = RecordedExchange {
        file: file.to_owned(),
        index: 0,
        line: 1,
        method: "POST".into(),
        url: stated.clone(),
        endpoint: stated,
        kind,
        items,
        nulls_ambiguous: false,
        batch_line: None,
        request_known: opts.request.is_some(),
        request,
        response,
        notes,
    };
    Ok(Imported { form: "raw body", exchanges: vec![exchange], left_out: Vec::new() })
}

/// The kind a raw body's `object` names: the JSON body's, or the first chunk's of a stream.
fn named_kind(text: &str, is_stream: bool) -> Option<ObjectKind> {
    let value = if is_stream {
        let (events, _) = crate::sse::parse_all(text.as_bytes());
        events.iter().find_map(|e| serde_json::from_str::<Value>(&e.data).ok())?
    } else {
        serde_json::from_str::<Value>(text).ok()?
    };
    // An error body names no `object`: `{"error": …}`, or such an object wrapped in an array (as Gemini once sent).
    let first = value.as_array().and_then(|a| a.first()).unwrap_or(&value);
    if !is_stream && first.get("error").is_some() && value.get("object").is_none() {
        return Some(ObjectKind::Error);
    }
    super::batch::object_kind(&value)
}
