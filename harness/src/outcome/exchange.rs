//! The evidence of an outcome: the request as sent, the response as classified, and where a replayed fixture
//! came from. Plain values, so the reports, recording and `compat diff` read them without knowing how a
//! request was made.
//!
//! An outcome keeps the JSON it received as text ([`JsonText`]), not as a parsed `Value`: the checks are done
//! by then, and what is left is to show it and write it out. At 5,000 outcomes the parsed bodies were half the
//! run's memory (an embeddings answer of 3,072 floats takes some 80 bytes a number as a `Value`, a dozen as text).

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;
use serde_json::value::RawValue;

use crate::case::Method;
use crate::sse::SseEvent;

/// A JSON value kept as compact text: an answer's as it came with the whitespace between its tokens left out
/// ([`JsonText::from_wire`]), anything else as serde_json writes it. It serializes as the value itself and
/// [`JsonText::value`] parses it again where a report must lay it out.
#[derive(Clone)]
pub struct JsonText(Box<RawValue>);

impl JsonText {
    /// The compact text of `value`.
    pub fn from_value(value: &Value) -> JsonText {
        JsonText(serde_json::value::to_raw_value(value).expect("a Value serializes"))
    }

    /// The JSON document `wire` as it came, without the whitespace outside its strings: numbers and escapes
    /// spelled as the endpoint spelled them, and no float read and written again (an embeddings answer holds
    /// thousands). `None` when `wire` is not a JSON document.
    pub fn from_wire(wire: &[u8]) -> Option<JsonText> {
        // Checked as JSON again (a scan, nothing converted): the text is kept only if it is a document.
        RawValue::from_string(String::from_utf8(compact(wire)).ok()?).ok().map(JsonText)
    }

    /// The value, parsed from the text (which was written from a value or checked when read, so it parses).
    pub fn value(&self) -> Value {
        serde_json::from_str(self.0.get()).unwrap_or(Value::Null)
    }

    /// The compact JSON text.
    pub fn get(&self) -> &str {
        self.0.get()
    }
}

impl PartialEq for JsonText {
    fn eq(&self, other: &Self) -> bool {
        self.get() == other.get()
    }
}

impl fmt::Debug for JsonText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.get())
    }
}

impl Serialize for JsonText {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

impl<'de> Deserialize<'de> for JsonText {
    /// Through a `Value`: a `RawValue` cannot be read from inside an internally tagged enum (serde buffers
    /// the variant's content first), and [`ObservedBody`] is one. Only reading `results.json` back pays this.
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<JsonText, D::Error> {
        Value::deserialize(d).map(|v| JsonText::from_value(&v))
    }
}

/// `wire` without the whitespace outside its strings that separates nothing. Quotes and whitespace are found
/// with memchr, so a compact answer's numbers are jumped over rather than stepped through (a byte loop was a
/// third of keeping an embeddings answer).
fn compact(wire: &[u8]) -> Vec<u8> {
    let mut text = Vec::with_capacity(wire.len());
    let quote_or_space = |from: usize| memchr::memchr3(b'"', b' ', b'\n', &wire[from..]).map_or(wire.len(), |k| from + k);
    let other_space = |from: usize| memchr::memchr2(b'\r', b'\t', &wire[from..]).map_or(wire.len(), |k| from + k);
    let (mut i, mut run, mut next, mut next_other) = (0, 0, quote_or_space(0), other_space(0));
    while i < wire.len() {
        if next < i {
            next = quote_or_space(i);
        }
        if next_other < i {
            next_other = other_space(i);
        }
        i = next.min(next_other);
        match wire.get(i) {
            None => break,
            Some(b'"') => i = past_string(wire, i),
            Some(_) => {
                let end = i + wire[i..].iter().take_while(|b| matches!(b, b' ' | b'\n' | b'\r' | b'\t')).count();
                // Only whitespace beside a bracket, comma, colon, quote or the text's ends separates nothing:
                // between two other tokens (`1 2`, `- 1`) it is kept, and the check after refuses the text.
                let apart = |b: Option<&u8>| b.is_none_or(|b| matches!(b, b'{' | b'}' | b'[' | b']' | b',' | b':' | b'"'));
                if apart(i.checked_sub(1).map(|p| &wire[p])) || apart(wire.get(end)) {
                    text.extend_from_slice(&wire[run..i]);
                    run = end;
                }
                i = end;
            }
        }
    }
    text.extend_from_slice(wire.get(run..).unwrap_or_default());
    text
}

/// The index just past the JSON string whose opening quote is at `open` in `text` (past the text's end when the
/// string is not closed): how the scanners of compact JSON text step over a string, escapes included.
pub(crate) fn past_string(text: &[u8], open: usize) -> usize {
    let mut i = open + 1;
    // Jumps from one quote or backslash to the next (a base64 image is one string of hundreds of KB).
    while let Some(at) = text.get(i..).and_then(|rest| memchr::memchr2(b'"', b'\\', rest)) {
        if text[i + at] == b'"' {
            return i + at + 1;
        }
        i += at + 2; // a backslash and the character it escapes
    }
    i.max(text.len()) + 1
}

/// A response body, classified. The checks read it parsed (`ObservedBody<Value>`, the default); an outcome's
/// [`Exchange`] keeps the JSON as text (`ObservedBody<JsonText>`, see [`ObservedBody::into_text`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum ObservedBody<J = Value> {
    /// No bytes.
    Empty,
    /// A JSON document.
    Json {
        /// The value (parsed, or as text).
        value: J,
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

impl ObservedBody {
    /// [`ObservedBody::into_text`] of a body that came as `wire`: its JSON kept as [`JsonText::from_wire`] spells it.
    pub fn into_wire_text(self, wire: &[u8]) -> ObservedBody<JsonText> {
        match self {
            ObservedBody::Json { value } => ObservedBody::Json { value: JsonText::from_wire(wire).unwrap_or_else(|| JsonText::from_value(&value)) },
            other => other.into_text(),
        }
    }

    /// The body as an outcome keeps it: JSON as text, everything else as it is.
    pub fn into_text(self) -> ObservedBody<JsonText> {
        match self {
            ObservedBody::Empty => ObservedBody::Empty,
            ObservedBody::Json { value } => ObservedBody::Json { value: JsonText::from_value(&value) },
            ObservedBody::Stream { events, truncated } => ObservedBody::Stream { events, truncated },
            ObservedBody::Text { text, content_type } => ObservedBody::Text { text, content_type },
        }
    }
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
    /// The response body (JSON as text).
    pub body: ObservedBody<JsonText>,
    /// For a stream: the chunks' JSON, as text.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub chunks: Vec<JsonText>,
    /// For a stream: the reassembled message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reassembled: Option<Value>,
}

impl Exchange {
    /// The exchange of `request` answered with `status`, `body` and (for a stream) its `chunks` and
    /// `reassembled` message, parsed as the checks read them: the JSON is kept as text from here on.
    pub fn new(
        request: SentRequest,
        status: u16,
        content_type: Option<String>,
        body: ObservedBody,
        chunks: &[Value],
        reassembled: Option<Value>,
    ) -> Self {
        Exchange::received(request, status, content_type, body.into_text(), chunks, reassembled)
    }

    /// [`Exchange::new`] of a body whose JSON is already text (see [`ObservedBody::into_wire_text`]).
    pub fn received(
        request: SentRequest,
        status: u16,
        content_type: Option<String>,
        body: ObservedBody<JsonText>,
        chunks: &[Value],
        reassembled: Option<Value>,
    ) -> Self {
        Exchange { request, status, content_type, body, chunks: chunks.iter().map(JsonText::from_value).collect(), reassembled }
    }

    /// The JSON body, parsed; `None` for any other body.
    pub fn json_body(&self) -> Option<Value> {
        match &self.body {
            ObservedBody::Json { value } => Some(value.value()),
            _ => None,
        }
    }
}

/// One step of a multi-step case as it ran.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepRecord {
    /// The step's name; absent for the one step of a case written as `request` + `expect` (outcomes list only
    /// named steps).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Its exchanges in order: one, or one per attempt of a poll (the last is the one checked).
    pub exchanges: Vec<Exchange>,
    /// The values it captured for later steps, by name.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub captured: std::collections::BTreeMap<String, Value>,
}

impl StepRecord {
    /// One line for the reports: `poll: GET videos/v1 → 200 (4 attempts)`.
    pub fn summary(&self) -> String {
        let name = self.name.as_deref().unwrap_or("request");
        let Some(last) = self.exchanges.last() else { return format!("{name}: not sent") };
        let attempts = match self.exchanges.len() {
            1 => String::new(),
            n => format!(" ({n} attempts)"),
        };
        format!("{name}: {} {} → {}{attempts}", last.request.method, last.request.path, last.status)
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The byte-at-a-time walk `past_string` replaced, kept as its reference.
    fn past_string_bytewise(text: &[u8], open: usize) -> usize {
        let mut i = open + 1;
        while i < text.len() && text[i] != b'"' {
            i += if text[i] == b'\\' { 2 } else { 1 };
        }
        i + 1
    }

    #[test]
    fn past_string_agrees_with_the_bytewise_walk_on_every_short_text() {
        // Every text of up to 7 bytes over `a`, `"` and `\`, from each quote in it: closed, unclosed, escaped
        // quotes and backslashes, and a backslash as the last byte.
        let mut checked = 0;
        for len in 1..=7u32 {
            for mut code in 0..3usize.pow(len) {
                let text: Vec<u8> = (0..len)
                    .map(|_| {
                        let b = [b'a', b'"', b'\\'][code % 3];
                        code /= 3;
                        b
                    })
                    .collect();
                for open in (0..text.len()).filter(|&k| text[k] == b'"') {
                    assert_eq!(past_string(&text, open), past_string_bytewise(&text, open), "{:?} from {open}", String::from_utf8_lossy(&text));
                    checked += 1;
                }
            }
        }
        assert!(checked > 3000, "{checked}");
    }

    fn exchange(body: Value, chunks: &[Value]) -> Exchange {
        let request = SentRequest { method: Method::Post, path: "embeddings".into(), body: Some(json!({"input": "x"})), raw_body: None };
        Exchange::new(request, 200, Some("application/json".into()), ObservedBody::Json { value: body }, chunks, None)
    }

    #[test]
    fn json_kept_as_text_writes_and_reads_back_as_the_value_did() {
        // Key order as received (not sorted), floats as written, and the internally tagged `kind` around it.
        let body = json!({"object": "list", "data": [{"index": 0, "embedding": [0.25, -1.5e-7, 3.0]}], "model": "m"});
        let x = exchange(body.clone(), &[json!({"z": 1, "a": 2})]);
        let text = serde_json::to_string(&x).unwrap();
        assert!(
            text.contains(r#""body":{"kind":"json","value":{"object":"list","data":[{"index":0,"embedding":[0.25,-1.5e-7,3.0]}],"model":"m"}}"#),
            "{text}"
        );
        assert!(text.contains(r#""chunks":[{"z":1,"a":2}]"#), "{text}");
        let back: Exchange = serde_json::from_str(&text).unwrap();
        assert_eq!(back, x);
        assert_eq!(back.json_body(), Some(body));
        // Pretty-printed output (small runs' results.json) reads back the same.
        let pretty: Exchange = serde_json::from_str(&serde_json::to_string_pretty(&x).unwrap()).unwrap();
        assert_eq!(pretty, x);
    }

    /// [`compact`] against the byte-at-a-time walk it replaced, on every text of up to six characters over a
    /// letter, a digit, a quote, a backslash, a comma and the four kinds of whitespace.
    #[test]
    fn compact_agrees_with_the_bytewise_walk_on_every_short_text() {
        fn bytewise(wire: &[u8]) -> Vec<u8> {
            let mut text = Vec::new();
            let (mut i, mut run) = (0, 0);
            while i < wire.len() {
                match wire[i] {
                    b'"' => i = past_string(wire, i),
                    b' ' | b'\n' | b'\r' | b'\t' => {
                        let end = i + wire[i..].iter().take_while(|b| matches!(b, b' ' | b'\n' | b'\r' | b'\t')).count();
                        let apart = |b: Option<&u8>| b.is_none_or(|b| matches!(b, b'{' | b'}' | b'[' | b']' | b',' | b':' | b'"'));
                        if apart(i.checked_sub(1).map(|p| &wire[p])) || apart(wire.get(end)) {
                            text.extend_from_slice(&wire[run..i]);
                            run = end;
                        }
                        i = end;
                    }
                    _ => i += 1,
                }
            }
            text.extend_from_slice(wire.get(run..).unwrap_or_default());
            text
        }
        let alphabet = b"a1\"\\, \n\r\t";
        let (mut level, mut texts) = (vec![Vec::new()], Vec::new());
        for _ in 0..6 {
            level = level.iter().flat_map(|t: &Vec<u8>| alphabet.iter().map(move |c| [t.as_slice(), &[*c]].concat())).collect();
            texts.extend(level.iter().cloned());
        }
        for t in &texts {
            assert_eq!(compact(t), bytewise(t), "{:?}", String::from_utf8_lossy(t));
        }
    }

    /// The text kept of an answer is the answer's own, less the whitespace between its tokens.
    #[test]
    fn json_from_the_wire_keeps_its_spelling_and_drops_only_the_whitespace_between_tokens() {
        let wire = b"{\n  \"a\" : [1.50, 1E5, -0.0],\r\n\t\"s\": \"two  spaces, \\\" a quote\\\\\", \"\\u00e9\": {} }\n";
        let kept = JsonText::from_wire(wire).unwrap();
        assert_eq!(kept.get(), r#"{"a":[1.50,1E5,-0.0],"s":"two  spaces, \" a quote\\","\u00e9":{}}"#);
        assert_eq!(kept.value(), serde_json::from_slice::<Value>(wire).unwrap());
        // What serde_json writes (a replayed fixture's body) is kept byte for byte.
        let written = serde_json::to_string(&json!({"x": [0.25, -1.5e-7, "é \n"], "y": null})).unwrap();
        assert_eq!(JsonText::from_wire(written.as_bytes()).unwrap().get(), written);
        // Not a document: nothing.
        for bad in [&b"{\"a\": 1"[..], b"", b"1 2", b"[- 1]", b"[1 .5]", b"{\"a\":\xff}"] {
            assert!(JsonText::from_wire(bad).is_none(), "{bad:?}");
        }
        let body = ObservedBody::Json { value: json!({"a": 1.5}) };
        assert_eq!(body.into_wire_text(b"{ \"a\": 1.50 }"), ObservedBody::Json { value: JsonText::from_wire(b"{\"a\":1.50}").unwrap() });
    }

    #[test]
    fn json_text_compares_by_content_and_other_bodies_pass_through() {
        assert_eq!(JsonText::from_value(&json!({"a": [1, 2]})), JsonText::from_value(&json!({"a": [1, 2]})));
        assert_ne!(JsonText::from_value(&json!({"a": [1, 2]})), JsonText::from_value(&json!({"a": [2, 1]})));
        assert_eq!(format!("{:?}", JsonText::from_value(&json!({"a": null}))), r#"{"a":null}"#);
        let text = ObservedBody::Text { text: "<html>".into(), content_type: Some("text/html".into()) };
        assert_eq!(text.into_text(), ObservedBody::Text { text: "<html>".into(), content_type: Some("text/html".into()) });
        assert_eq!(exchange(json!(null), &[]).json_body(), Some(json!(null)));
        assert_eq!(ObservedBody::Empty.into_text(), ObservedBody::<JsonText>::Empty);
    }
}
