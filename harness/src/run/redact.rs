//! Redaction of a live outcome: every copy of the key in what came from the endpoint is replaced after the
//! checks have judged the answer as it came, so no report, snapshot or fixture carries it and no verdict
//! depends on it.

use serde_json::Value;

use crate::outcome::{Exchange, JsonText, ObservedBody, Outcome, State};
use crate::secrets::Redactor;

/// Replaces every copy of the key in what the outcome took from the endpoint: the exchange (JSON value by
/// value, stream events, chunks, the reassembled message), the findings' text, extensions and the error.
/// Credential headers never reach an outcome (only `content-type` is kept).
pub(super) fn outcome(o: &mut Outcome, r: &Redactor) {
    if let Some(x) = &mut o.exchange {
        exchange(x, r);
    }
    for step in &mut o.steps {
        step.exchanges.iter_mut().for_each(|x| exchange(x, r));
        step.captured.values_mut().for_each(|v| r.value(v));
    }
    match &mut o.state {
        State::Judged(j) => {
            for f in &mut j.findings {
                for field in [&mut f.path, &mut f.message, &mut f.expected, &mut f.actual, &mut f.detail] {
                    *field = r.text(field);
                }
            }
            j.extensions.iter_mut().for_each(|e| *e = r.text(e));
        }
        State::Broken(e) => {
            e.message = r.text(&e.message);
            e.diff = e.diff.as_deref().map(|d| r.text(d));
        }
        State::Skipped { .. } => {}
    }
}

/// [`outcome`] for one exchange. Its request too: a later step's request carries values captured
/// from earlier answers.
fn exchange(x: &mut Exchange, r: &Redactor) {
    if let Some(b) = &mut x.request.body {
        r.value(b);
    }
    x.request.raw_body = x.request.raw_body.as_deref().map(|t| r.text(t));
    x.content_type = x.content_type.as_deref().map(|c| r.text(c));
    let redact_json = |j: &mut JsonText| {
        if !r.could_change(j.get()) {
            return; // most answers: no parse, no copy
        }
        let mut value = j.value();
        r.value(&mut value);
        *j = JsonText::from_value(&value);
    };
    match &mut x.body {
        ObservedBody::Empty => {}
        ObservedBody::Json { value } => redact_json(value),
        ObservedBody::Stream { events, .. } => {
            for e in events {
                e.data = r.event_data(&e.data);
                e.event = e.event.as_deref().map(|t| r.text(t));
                e.id = e.id.as_deref().map(|t| r.text(t));
            }
        }
        ObservedBody::Text { text, content_type } => {
            *text = r.text(text);
            *content_type = content_type.as_deref().map(|c| r.text(c));
        }
    }
    x.chunks.iter_mut().for_each(redact_json);
    if let Some(m) = &mut x.reassembled {
        r.value(m);
    }
}

/// A normalized snapshot with the key replaced value by value (it is JSON text); unchanged when it holds none.
pub(super) fn snapshot(content: String, r: &Redactor) -> String {
    if !r.could_change(&content) {
        return content;
    }
    let Ok(mut value) = serde_json::from_str::<Value>(&content) else { return r.text(&content) };
    let before = value.clone();
    r.value(&mut value);
    if value == before { content } else { serde_json::to_string_pretty(&value).expect("a Value serializes") }
}
