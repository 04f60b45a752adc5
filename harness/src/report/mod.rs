//! Reports: pure functions of outcomes, one module per output format. Nothing here runs anything or knows
//! how a request was made.

pub mod changes;
pub mod coverage;
pub mod html;
pub mod json;
pub mod junit;
pub mod markdown;
pub mod terminal;
pub mod write;

/// `text` with `content` between the markers `start` and `end` (a generated README section); `None` when a
/// marker is missing.
pub fn splice_between(text: &str, start: &str, end: &str, content: &str) -> Option<String> {
    let from = text.find(start)? + start.len();
    let to = text[from..].find(end)? + from;
    Some(format!("{}\n{}{}", &text[..from], content, &text[to..]))
}

/// What stands between the markers `start` and `end`; `None` when a marker is missing.
pub fn between<'a>(text: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let from = text.find(start)? + start.len();
    let to = text[from..].find(end)? + from;
    Some(text[from..to].trim_start_matches('\n'))
}

/// A `similar` line diff (`-expected +actual`) of pretty-printed JSON when either side is a structure, or of
/// the text when it is long; `None` for short scalars, which read better as `expected:`/`actual:` lines.
/// Shared by the terminal and HTML renderings of a finding.
pub fn structured_diff(expected: &str, actual: &str) -> Option<String> {
    use std::fmt::Write;
    let pretty = |s: &str| match serde_json::from_str::<serde_json::Value>(s) {
        Ok(v @ (serde_json::Value::Object(_) | serde_json::Value::Array(_))) => serde_json::to_string_pretty(&v).ok(),
        _ => None,
    };
    let (e, a) = match (pretty(expected), pretty(actual)) {
        (Some(e), Some(a)) => (e, a),
        _ if expected.len() + actual.len() > 160 => (expected.to_owned(), actual.to_owned()),
        _ => return None,
    };
    let mut out = String::new();
    for change in similar::TextDiff::from_lines(&e, &a).iter_all_changes() {
        let sign = match change.tag() {
            similar::ChangeTag::Delete => '-',
            similar::ChangeTag::Insert => '+',
            similar::ChangeTag::Equal => ' ',
        };
        let text = change.to_string_lossy();
        let _ = write!(out, "{sign}{text}");
        if !text.ends_with('\n') {
            out.push('\n');
        }
    }
    Some(out)
}
