//! Checks: an observed response and its case in, [`Finding`]s out.
//!
//! [`evaluate`] applies, in order: the status; the body's form (JSON, or an event stream for streaming
//! requests); the object schemas of both tiers (every chunk of a stream); the stream invariants
//! ([`stream`]); the case's assertions ([`assertions`]) on the body or the reassembled stream message;
//! and the semantic checks ([`semantic`]). It knows nothing of HTTP, targets or known divergences: the
//! run layer decides what the findings mean for the verdict.

pub mod assertions;
pub mod semantic;
pub mod stream;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::case::{Expect, ObjectKind};
use crate::outcome::{Finding, ObservedBody, SentRequest};
use crate::rules::{self, Severity};
use crate::schema::{SchemaSet, Tier, Violation};
use crate::sse::Leftover;

/// A response as the checks see it: status, headers and a body already classified.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Observed {
    /// HTTP status.
    pub status: u16,
    /// Response headers, lower-cased names, in arrival order.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: ObservedBody,
}

impl Observed {
    /// Classifies raw bytes by `content-type` (an event stream is parsed; JSON is parsed when it parses).
    pub fn from_bytes(status: u16, headers: Vec<(String, String)>, bytes: &[u8]) -> Self {
        let content_type = headers.iter().find(|(k, _)| k == "content-type").map(|(_, v)| v.to_ascii_lowercase());
        let body = if content_type.as_deref().is_some_and(|c| c.starts_with("text/event-stream")) {
            let (mut events, leftover) = crate::sse::parse_all(bytes);
            // A final `data: [DONE]` without its closing blank line (saved bodies often end so) is kept as the last
            // event; `truncated` still says the input ended inside an event, and the stream check decides what
            // that means ([`stream::check`]: not a cut stream, `stream.done` at most).
            if let Leftover::Truncated(Some(last)) = &leftover
                && last.data.trim() == "[DONE]"
            {
                events.push(last.clone());
            }
            ObservedBody::Stream { events, truncated: !matches!(leftover, Leftover::Clean) }
        } else if bytes.iter().all(u8::is_ascii_whitespace) {
            ObservedBody::Empty
        } else {
            match serde_json::from_slice::<Value>(bytes) {
                Ok(value) => ObservedBody::Json { value },
                Err(_) => ObservedBody::Text { text: String::from_utf8_lossy(bytes).into_owned(), content_type },
            }
        };
        Observed { status, headers, body }
    }

    /// The header's value, by lower-case name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

/// What the checks produced beyond findings.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    /// Everything the response got wrong.
    pub findings: Vec<Finding>,
    /// Paths of fields the spec does not define (never failures).
    pub extensions: Vec<String>,
    /// The parsed chunks of a stream (without `[DONE]`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub chunks: Vec<Value>,
    /// The stream reassembled into one `chat.completion`-shaped message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reassembled: Option<Value>,
    /// Whether the stream ended without its terminator and without a finish (a cut, not a divergence).
    pub truncated: bool,
}

/// Applies every check of `expect` to `observed`, the answer to `request` (as sent: model names and captures
/// resolved; its path relative to the base URL).
pub fn evaluate(request: &SentRequest, expect: &Expect, observed: &Observed, schemas: &SchemaSet) -> Evaluation {
    let mut ev = Evaluation::default();
    let body = request.body.as_ref();
    let streaming = crate::case::asks_for_stream(body);
    // What the answer is: the endpoint's object (the one table, `ObjectKind::answering`), else the case's schema.
    let answers = ObjectKind::answering(request.method, &request.path, body).or(expect.schema);
    if observed.status != expect.status {
        // The body is shown with the status: it is the endpoint's own account of what went wrong.
        let actual = match body_excerpt(&observed.body) {
            Some(body) => format!("{} with body {body}", observed.status),
            None => observed.status.to_string(),
        };
        let mut finding = Finding::new(&rules::STATUS, "$", format!("status {} where {} was expected", observed.status, expect.status))
            .expecting(expect.status.to_string(), actual)
            .detail("expect.status");
        if observed.status >= 500 && (400..500).contains(&expect.status) {
            finding = finding.why(
                "the SDKs retry a 5xx and then raise a server error, not the client error a caller handles for an invalid \
                 request (openai-python 1.x–2.x `_should_retry` retries every status >= 500, twice by default, then raises \
                 `InternalServerError` instead of `BadRequestError`)",
            );
        }
        ev.findings.push(finding);
        return ev; // the body of an unexpected status says nothing about the expected object
    }
    let success = (200..300).contains(&observed.status);
    // What the assertions and semantic checks read: the reassembled stream (kept in `ev`) or the body itself,
    // borrowed, never copied.
    let subject = match &observed.body {
        ObservedBody::Stream { events, truncated } if streaming && success => {
            let s = stream::check(events, *truncated, body, expect, schemas);
            ev.findings.extend(s.findings);
            ev.extensions.extend(s.extensions);
            ev.truncated = s.truncated;
            ev.chunks = s.chunks;
            Subject::Reassembled(s.reassembled)
        }
        _ if streaming && success => {
            ev.findings.push(
                Finding::new(&rules::BODY_STREAM, "$", "a streaming request got no event stream")
                    .expecting("content-type: text/event-stream", observed.header("content-type").unwrap_or("none")),
            );
            Subject::None
        }
        ObservedBody::Json { value } => {
            if let Some(kind) = expect.schema {
                ev.findings.extend(schemas.validate_both(kind, value).into_iter().map(violation_finding));
                ev.extensions.extend(schemas.extensions(kind, value));
            }
            Subject::Body(value)
        }
        ObservedBody::Empty | ObservedBody::Text { .. } | ObservedBody::Stream { .. } => {
            if expect.schema.is_some() || !expect.assert.is_empty() {
                let actual = match &observed.body {
                    ObservedBody::Empty => "an empty body".to_owned(),
                    ObservedBody::Text { text, .. } => format!("{:?}", text.chars().take(80).collect::<String>()),
                    _ => "an event stream".to_owned(),
                };
                let finding = Finding::new(&rules::BODY_JSON, "$", "the body is not JSON")
                    .expecting(expect.schema.map_or("a JSON body".into(), |k| format!("a JSON {k} object")), actual);
                // Breaking on an error status too: openai-python 3.60.0 then raises the status's error class
                // without the text (`str(e)` is `Error code: 404`), so the server's account is lost.
                ev.findings.push(finding);
            }
            Subject::None
        }
    };
    let subject = match subject {
        Subject::Reassembled(r) => {
            ev.reassembled = Some(r);
            ev.reassembled.as_ref()
        }
        Subject::Body(value) => Some(value),
        Subject::None => None,
    };
    if let Some(subject) = subject {
        let mut found = assertions::check(&expect.assert, subject, &ev.chunks);
        if expect.semantic && success {
            found.extend(semantic::check(body, answers, subject));
        }
        ev.findings.extend(found);
    }
    ev
}

/// What the later checks read, decided while the body's form is checked.
enum Subject<'a> {
    /// The stream, reassembled into one message.
    Reassembled(Value),
    /// The JSON body.
    Body(&'a Value),
    /// Nothing to read.
    None,
}

/// A short, one-line rendering of a body (at most [`BODY_EXCERPT_CHARS`] characters), `None` when empty.
fn body_excerpt(body: &ObservedBody) -> Option<String> {
    match body {
        ObservedBody::Empty => None,
        ObservedBody::Json { value } => Some(crate::schema::compact(value, BODY_EXCERPT_CHARS)),
        ObservedBody::Text { text, .. } => {
            let one_line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
            Some(crate::schema::compact(&Value::String(one_line), BODY_EXCERPT_CHARS))
        }
        ObservedBody::Stream { events, .. } => Some(format!("(an event stream of {} events)", events.len())),
    }
}

/// How much of a body a `status` finding shows.
const BODY_EXCERPT_CHARS: usize = 300;

/// The finding of a schema violation: rule `schema.client` or `schema.spec` by its tier.
fn violation_finding(v: Violation) -> Finding {
    let rule = match v.tier {
        Tier::Client => &rules::SCHEMA_CLIENT,
        Tier::Spec => &rules::SCHEMA_SPEC,
    };
    let message = match v.keyword.as_str() {
        "required" => "required property is missing".to_owned(),
        "type" => format!("expected {}, found {}", v.expected, v.actual),
        "enum" => format!("value {} is not allowed", v.actual),
        _ => format!("violates `{}`", v.keyword),
    };
    let mut f =
        Finding::new(rule, v.path, message).detail(format!("{} tier, {} › {}", v.tier.name(), v.object, v.rule)).expecting(v.expected, v.actual);
    if let Some(why) = v.why {
        f.why = Some(why);
    }
    if v.typed {
        f.severity = Severity::Typed;
    }
    f
}

/// Schema findings for one stream chunk, marked with its index.
pub(crate) fn chunk_schema_findings(schemas: &SchemaSet, chunk: &Value, index: usize) -> Vec<Finding> {
    schemas.validate_both(ObjectKind::ChatCompletionChunk, chunk).into_iter().map(|v| violation_finding(v).in_chunk(index)).collect()
}
