//! A server-sent-events parser: bytes in, events out. No HTTP in here.
//!
//! Follows the WHATWG event-stream rules: lines end in CRLF, LF or CR; `data:` lines of one event join with
//! `\n`; one space after the colon is dropped; lines starting with `:` are comments; a blank line dispatches;
//! a leading BOM is skipped; an event with empty data is not dispatched. Input may be split at any byte — inside a UTF-8 sequence or between CR and LF —
//! because bytes are buffered until a whole line is seen. [`SseParser::finish`] reports an event left without
//! its closing blank line, which is how a cut stream shows.

use serde::{Deserialize, Serialize};

/// One dispatched event.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SseEvent {
    /// The `event:` field, when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<String>,
    /// The joined `data:` lines.
    pub data: String,
    /// The `id:` field, when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
}

/// Incremental parser. Feed it with [`push`](Self::push), end with [`finish`](Self::finish).
#[derive(Debug, Default)]
pub struct SseParser {
    line: Vec<u8>,
    /// The previous byte was a CR, so an LF right after it ends nothing new.
    after_cr: bool,
    started: bool,
    pending: Pending,
    comments: usize,
}

#[derive(Debug, Default)]
struct Pending {
    event: Option<String>,
    data: Option<String>,
    id: Option<String>,
    /// A field line was seen since the last dispatch (even one that dispatches nothing).
    touched: bool,
}

/// What remained when the input ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Leftover {
    /// The stream ended on an event boundary.
    Clean,
    /// The stream ended inside an event (no closing blank line); the partial event, if it had data.
    Truncated(Option<SseEvent>),
}

impl SseParser {
    /// A parser at the start of a stream.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds bytes; returns the events completed by them, in order.
    pub fn push(&mut self, bytes: &[u8]) -> Vec<SseEvent> {
        let mut out = Vec::new();
        for &b in bytes {
            match b {
                b'\n' if self.after_cr => self.after_cr = false,
                b'\n' | b'\r' => {
                    self.after_cr = b == b'\r';
                    let line = std::mem::take(&mut self.line);
                    if let Some(ev) = self.on_line(&line) {
                        out.push(ev);
                    }
                }
                _ => {
                    self.after_cr = false;
                    self.line.push(b);
                }
            }
        }
        out
    }

    /// Ends the stream: a line or event without its terminator means the stream was cut.
    pub fn finish(mut self) -> Leftover {
        if !self.line.is_empty() {
            let line = std::mem::take(&mut self.line);
            self.on_line(&line);
        }
        if !self.pending.touched {
            return Leftover::Clean;
        }
        let p = std::mem::take(&mut self.pending);
        Leftover::Truncated(p.data.map(|data| SseEvent { event: p.event, data, id: p.id }))
    }

    /// Comment lines seen so far (`: keep-alive`).
    pub fn comments(&self) -> usize {
        self.comments
    }

    fn on_line(&mut self, raw: &[u8]) -> Option<SseEvent> {
        let mut raw = raw;
        if !self.started {
            self.started = true;
            raw = raw.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(raw);
        }
        if raw.is_empty() {
            return self.dispatch();
        }
        let line = String::from_utf8_lossy(raw);
        if line.starts_with(':') {
            self.comments += 1;
            return None;
        }
        let (field, value) = match line.split_once(':') {
            Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
            None => (line.as_ref(), ""),
        };
        self.pending.touched = true;
        match field {
            "data" => match &mut self.pending.data {
                Some(d) => {
                    d.push('\n');
                    d.push_str(value);
                }
                None => self.pending.data = Some(value.to_owned()),
            },
            "event" => self.pending.event = Some(value.to_owned()),
            "id" if !value.contains('\0') => self.pending.id = Some(value.to_owned()),
            _ => {} // `retry` and unknown fields carry nothing the harness checks
        }
        None
    }

    fn dispatch(&mut self) -> Option<SseEvent> {
        let p = std::mem::take(&mut self.pending);
        // An event whose data is empty is not dispatched (WHATWG "dispatch the event", step 2).
        p.data.filter(|d| !d.is_empty()).map(|data| SseEvent { event: p.event, data, id: p.id })
    }
}

/// Parses a whole body at once: the events and what was left at the end.
pub fn parse_all(bytes: &[u8]) -> (Vec<SseEvent>, Leftover) {
    let mut parser = SseParser::new();
    let events = parser.push(bytes);
    (events, parser.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(events: &[SseEvent]) -> Vec<&str> {
        events.iter().map(|e| e.data.as_str()).collect()
    }

    const STREAM: &str = "\u{feff}: keep-alive\r\ndata: {\"a\":\"é\"}\r\n\r\nevent: x\ndata: line1\ndata:line2\nid: 7\n\ndata: [DONE]\r\rdata\n\n";

    #[test]
    fn parses_multiline_comments_crlf_cr_and_bom() {
        let (events, rest) = parse_all(STREAM.as_bytes());
        assert_eq!(data(&events), vec!["{\"a\":\"é\"}", "line1\nline2", "[DONE]"]);
        assert_eq!(events[1].event.as_deref(), Some("x"));
        assert_eq!(events[1].id.as_deref(), Some("7"));
        assert_eq!(rest, Leftover::Clean);
    }

    #[test]
    fn every_split_point_gives_the_same_events() {
        let bytes = STREAM.as_bytes();
        let (whole, _) = parse_all(bytes);
        for split in 0..=bytes.len() {
            let mut p = SseParser::new();
            let mut got = p.push(&bytes[..split]);
            got.extend(p.push(&bytes[split..]));
            assert_eq!(got, whole, "split at byte {split}");
            assert_eq!(p.finish(), Leftover::Clean);
        }
        // and byte by byte
        let mut p = SseParser::new();
        let got: Vec<_> = bytes.iter().flat_map(|b| p.push(std::slice::from_ref(b))).collect();
        assert_eq!(got, whole);
    }

    #[test]
    fn a_cut_stream_is_reported() {
        let (events, rest) = parse_all(b"data: {\"a\":1}\n\ndata: {\"b\"");
        assert_eq!(data(&events), vec!["{\"a\":1}"]);
        assert_eq!(rest, Leftover::Truncated(Some(SseEvent { data: "{\"b\"".into(), ..Default::default() })));
        let (_, rest) = parse_all(b"data: x\n");
        assert!(matches!(rest, Leftover::Truncated(Some(_))));
    }
}
