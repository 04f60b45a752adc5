//! Multi-step cases at load time: the rules a `steps:` list must follow, and the placeholders its requests use.
//!
//! A case is either one step (`request` + `expect`, as always) or `steps: [{name, request, expect, captures,
//! poll}, …]` — never both. Step names are unique identifiers; a capture's name is an identifier other than
//! `model`; a `{{name}}` in a step's request must name a capture of an *earlier* step (or be `{{model}}` /
//! `{{model.<role>}}`), else the case does not load and the diagnostic points at the placeholder itself.
//! A poll is bounded: `max_attempts` in 1..=1000 and `interval_ms` at most ten minutes.

use std::collections::BTreeSet;

use serde_json::Value;

use super::{Expect, Request, Spanned, Step};
use crate::diagnostic::{Diagnostic, closest};

/// Each `{{ name }}` in `text`, left to right, as the byte offset of its `{{` and the name (trimmed): what the
/// pattern `\{\{\s*([^{}]*?)\s*\}\}` finds, scanned by hand because compiling that pattern was a third of a
/// millisecond of every run's start-up.
fn placeholder_spans(text: &str) -> impl Iterator<Item = (usize, &str)> {
    let mut from = 0;
    std::iter::from_fn(move || {
        loop {
            let start = from + text[from..].find("{{")?;
            let inner = &text[start + 2..];
            // The name holds no brace: the first one after `{{` must open the closing `}}`.
            match inner.find(['{', '}']) {
                Some(k) if inner[k..].starts_with("}}") => {
                    from = start + 2 + k + 2;
                    return Some((start, inner[..k].trim()));
                }
                _ => from = start + 1,
            }
        }
    })
}

/// Most attempts a poll may make, and the longest wait between two.
const MAX_POLL_ATTEMPTS: u32 = 1000;
const MAX_POLL_INTERVAL_MS: u64 = 600_000;

/// Whether `name` is a placeholder the target fills (`model`, `model.<role>`) rather than a capture.
pub fn is_model_placeholder(name: &str) -> bool {
    name == "model" || name.starts_with("model.")
}

/// Every placeholder name in `request` (path, body strings, raw body, header values), in order.
pub fn placeholders(request: &Request) -> Vec<String> {
    fn walk(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::String(s) => out.extend(placeholder_spans(s).map(|(_, name)| name.to_owned())),
            Value::Array(items) => items.iter().for_each(|i| walk(i, out)),
            Value::Object(map) => map.values().for_each(|i| walk(i, out)),
            _ => {}
        }
    }
    let mut out: Vec<String> = placeholder_spans(&request.path).map(|(_, name)| name.to_owned()).collect();
    if let Some(body) = &request.body {
        walk(body, &mut out);
    }
    for text in request.raw_body.iter().chain(request.headers.values()) {
        out.extend(placeholder_spans(text).map(|(_, name)| name.to_owned()));
    }
    out
}

fn is_identifier(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_') && !s.starts_with(|c: char| c.is_ascii_digit())
}

/// Line and column of a key written at the start of a line (a top-level key), if any.
fn top_level_key(text: &str, key: &str) -> Option<(u64, u64)> {
    let needle = format!("{key}:");
    text.lines().position(|l| l.starts_with(&needle)).map(|i| (i as u64 + 1, 1))
}

/// The first `{{name}}` (any spacing) at or after 1-based `from_line`, as line and column.
fn placeholder_position(text: &str, from_line: u64, name: &str) -> Option<(u64, u64)> {
    text.lines()
        .enumerate()
        .skip(from_line.saturating_sub(1) as usize)
        .find_map(|(i, l)| placeholder_spans(l).find(|(_, n)| *n == name).map(|(start, _)| (i as u64 + 1, start as u64 + 1)))
}

/// The steps of a case as written: its `request` + `expect` as one unnamed step, or its `steps` — never both,
/// never neither — each checked (unique identifiers for names, placeholders that name earlier captures, bounded
/// polls, a chunk schema for a stream).
pub(crate) fn steps_of(
    file: &str,
    text: &str,
    request: Option<Spanned<Request>>,
    expect: Option<Expect>,
    steps: Vec<Spanned<Step>>,
) -> Result<Vec<Spanned<Step>>, Diagnostic> {
    if steps.is_empty() {
        let Some(request) = request else {
            let (line, col) = top_level_key(text, "id").unwrap_or((1, 1));
            return Err(Diagnostic::at(file, text, line, col, "a case needs `request` (with `expect`) or `steps`"));
        };
        if request.value.body.is_some() && request.value.raw_body.is_some() {
            return Err(Diagnostic::at_key(file, text, &["request", "raw_body"], "give `body` or `raw_body`, not both"));
        }
        let expect = expect.unwrap_or_default();
        let step = Step { name: None, request: request.value, expect, captures: Default::default(), poll: None };
        if step.is_streaming()
            && (200..300).contains(&step.expect.status)
            && step.expect.schema.is_some_and(|s| s != super::ObjectKind::ChatCompletionChunk)
        {
            return Err(Diagnostic::at_key(
                file,
                text,
                &["expect", "schema"],
                "a streaming request (`body.stream: true`) is checked chunk by chunk: use `schema: chat.completion.chunk`",
            ));
        }
        return Ok(vec![Spanned::new(step, request.referenced, request.defined)]);
    }
    for key in ["request", "expect"] {
        if let Some((line, col)) = top_level_key(text, key) {
            return Err(Diagnostic::at(
                file,
                text,
                line,
                col,
                format!("a case with `steps` gives each step its own `request` and `expect`: move `{key}` into a step"),
            ));
        }
    }
    let mut names = BTreeSet::new();
    let mut captured: Vec<String> = Vec::new();
    for spanned in &steps {
        let (line, col) = (spanned.referenced.line(), spanned.referenced.column());
        let step = &spanned.value;
        let at = |message: String| Diagnostic::at(file, text, line, col, message);
        let Some(name) = step.name.as_deref() else { return Err(at("a step needs a `name`".to_owned())) };
        if !is_identifier(name) {
            return Err(at(format!("a step's `name` must match [a-z_][a-z0-9_]*, got `{name}`")));
        }
        if !names.insert(name.to_owned()) {
            return Err(at(format!("two steps are named `{name}`: step names must be unique")));
        }
        if step.request.body.is_some() && step.request.raw_body.is_some() {
            return Err(at(format!("step `{name}`: give `body` or `raw_body`, not both")));
        }
        for placeholder in placeholders(&step.request) {
            if is_model_placeholder(&placeholder) || captured.contains(&placeholder) {
                continue;
            }
            let (l, c) = placeholder_position(text, line, &placeholder).unwrap_or((line, col));
            let d = Diagnostic::at(file, text, l, c, format!("step `{name}` uses `{{{{{placeholder}}}}}`, which no earlier step captures"));
            let help = match closest(&placeholder, captured.iter().map(String::as_str)) {
                Some(best) => format!("did you mean `{{{{{best}}}}}`?"),
                None if captured.is_empty() => "capture it in an earlier step: `captures: { NAME: \"$.json.path\" }`".to_owned(),
                None => format!("captures so far: {}", captured.join(", ")),
            };
            return Err(d.with_help(help));
        }
        for (capture, path) in &step.captures {
            if !is_identifier(capture) || is_model_placeholder(capture) {
                let (l, c) = (path.referenced.line(), path.referenced.column());
                return Err(Diagnostic::at(
                    file,
                    text,
                    l,
                    c,
                    format!("a capture name must match [a-z_][a-z0-9_]* and not be `model`, got `{capture}`"),
                ));
            }
            if !captured.contains(capture) {
                captured.push(capture.clone());
            }
        }
        if let Some(poll) = &step.poll {
            if poll.max_attempts == 0 || poll.max_attempts > MAX_POLL_ATTEMPTS {
                return Err(at(format!("step `{name}`: `poll.max_attempts` must be 1..={MAX_POLL_ATTEMPTS}")));
            }
            if poll.interval_ms > MAX_POLL_INTERVAL_MS {
                return Err(at(format!("step `{name}`: `poll.interval_ms` must be at most {MAX_POLL_INTERVAL_MS}")));
            }
        }
        let success = (200..300).contains(&step.expect.status);
        if step.is_streaming() && success && step.expect.schema.is_some_and(|s| s != super::ObjectKind::ChatCompletionChunk) {
            return Err(at(format!("step `{name}` streams (`body.stream: true`): use `schema: chat.completion.chunk`")));
        }
    }
    Ok(steps)
}

#[cfg(test)]
mod tests {
    use super::placeholder_spans;

    /// The scanner finds what the pattern it replaced finds, offset and name, on every tricky spelling.
    #[test]
    fn placeholder_spans_agree_with_the_pattern() {
        let pattern = regex::Regex::new(r"\{\{\s*([^{}]*?)\s*\}\}").unwrap();
        let texts = [
            "",
            "no placeholder",
            "{{model}}",
            "/v1/batches/{{ create.id }}?x={{ other }}",
            "{{{x}}",
            "{{x}}}",
            "{{a}b}}",
            "{{a{b}}",
            "{{ }}",
            "{{}}",
            "{{\u{a0}name\u{2003}}}",
            "{{ unclosed",
            "}} {{ a }} {{ b",
            "{{a}}{{b}}",
            "{{ {{ x }}",
            "{{é}} and {{ model.embedding }}",
        ];
        for text in texts {
            let want: Vec<(usize, &str)> = pattern.captures_iter(text).map(|c| (c.get(0).unwrap().start(), c.get(1).unwrap().as_str())).collect();
            let got: Vec<(usize, &str)> = placeholder_spans(text).collect();
            assert_eq!(got, want, "{text:?}");
        }
        assert_eq!(placeholder_spans("x {{ id }}").collect::<Vec<_>>(), [(2, "id")]);
    }
}
