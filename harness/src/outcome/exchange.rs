//! The evidence of an outcome: the request as sent, the response as classified, and where a replayed fixture
//! came from. Plain values, so the reports, recording and `compat diff` read them without knowing how a
//! request was made.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::case::Method;
use crate::sse::SseEvent;

/// A response body, classified.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum ObservedBody {
    /// No bytes.
    Empty,
    /// A JSON document.
    Json {
        /// The parsed value.
        value: Value,
    },
    /// A `text/event-stream` body.
    Stream {
        /// The events in order.
        events: Vec<SseEvent>,
        /// Whether the stream ended inside an event.
        truncated: bool,
    },
    /// Anything else (an HTML page, text, invalid JSON).
    Text {
        /// The body as text (lossy UTF-8).
        text: String,
        /// The `content-type` header, if any.
        content_type: Option<String>,
    },
}

/// The request as sent (model names resolved; no headers, so no key). A fixture's `request` is this value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SentRequest {
    /// HTTP method.
    pub method: Method,
    /// Path relative to the base URL.
    pub path: String,
    /// JSON body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<Value>,
    /// Raw body, when the case sends one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw_body: Option<String>,
}

/// The exchange, as evidence for the report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Exchange {
    /// The request.
    pub request: SentRequest,
    /// Response status.
    pub status: u16,
    /// Response content type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    /// The response body.
    pub body: ObservedBody,
    /// For a stream: the parsed chunks.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub chunks: Vec<Value>,
    /// For a stream: the reassembled message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reassembled: Option<Value>,
}

/// One step of a multi-step case as it ran.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepRecord {
    /// The step's name.
    pub name: String,
    /// Its exchanges in order: one, or one per attempt of a poll (the last is the one checked).
    pub exchanges: Vec<Exchange>,
    /// The values it captured for later steps, by name.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub captured: std::collections::BTreeMap<String, Value>,
}

impl StepRecord {
    /// One line for the reports: `poll: GET videos/v1 → 200 (4 attempts)`.
    pub fn summary(&self) -> String {
        let Some(last) = self.exchanges.last() else { return format!("{}: not sent", self.name) };
        let attempts = match self.exchanges.len() {
            1 => String::new(),
            n => format!(" ({n} attempts)"),
        };
        format!("{}: {} {} → {}{attempts}", self.name, last.request.method, last.request.path, last.status)
    }
}

/// Where the fixture came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FixtureInfo {
    /// Root-relative path.
    pub path: String,
    /// Its origin.
    pub origin: Origin,
}

/// Provenance of a fixture.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Origin {
    /// Written by hand from documented or reported behaviour.
    Synthesized {
        /// What it follows: a doc URL and section, or `gemini-compat.md #9`, and how.
        basis: String,
    },
    /// Captured from a live endpoint.
    Recorded {
        /// UTC date and time of the capture (RFC 3339).
        date: String,
        /// The model name that was sent.
        model: String,
        /// The base URL it was captured from.
        base_url: String,
        /// The server software and its version (`llama-cpp-python 0.3.36`), as the recording run was told
        /// (`compat run --record … --server …`); absent when it was not, as for a hosted API that does not say.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        server: Option<String>,
    },
}

impl Origin {
    /// `recorded` or `synthesized`.
    pub fn kind(&self) -> &'static str {
        match self {
            Origin::Synthesized { .. } => "synthesized",
            Origin::Recorded { .. } => "recorded",
        }
    }
}
