//! The case's own assertions (`expect.assert`), evaluated on the body or the reassembled stream message.
//!
//! A path that selects several values requires every one to pass; a path that selects nothing fails every
//! check but `absent`. Each failure names the assertion's line in the case file and the concrete path.

use serde_json::Value;

use crate::case::{Assertion, AssertionCheck, JsonType, Spanned, Subject};
use crate::outcome::Finding;
use crate::schema::compact;

/// Findings for every assertion of `asserts` (a step's `expect.assert`) that does not hold.
pub fn check(asserts: &[Spanned<Assertion>], response: &Value, chunks: &[Value]) -> Vec<Finding> {
    // Copied only when an assertion reads the chunks (a stream's can be many).
    let chunk_array = asserts.iter().any(|a| a.value.on == Subject::Chunks).then(|| Value::Array(chunks.to_vec()));
    let mut out = Vec::new();
    for spanned in asserts {
        let a = &spanned.value;
        let subject = match a.on {
            Subject::Response => response,
            Subject::Chunks => chunk_array.as_ref().expect("built when an assertion reads the chunks"),
        };
        let selected = a.path.select(subject);
        let mut fail = |path: &str, message: String, expected: String, actual: String| {
            let mut f = Finding::new(a.check.rule(), path, message).with_severity(a.severity).expecting(expected, actual).detail(format!(
                "{}: {}",
                a.path,
                describe(&a.check)
            ));
            f.line = Some(spanned.referenced.line());
            f.why = a.why.clone();
            out.push(f);
        };
        match &a.check {
            AssertionCheck::Exists => {
                if selected.is_empty() {
                    fail(a.path.as_str(), "nothing at this path".into(), "a value".into(), "nothing".into());
                }
            }
            AssertionCheck::Absent => {
                for (path, value) in &selected {
                    fail(path, "a value is present where none should be".into(), "nothing".into(), compact(value, 120));
                }
            }
            check if selected.is_empty() => {
                fail(a.path.as_str(), "nothing at this path".into(), describe(check), "nothing".into());
            }
            check => {
                for (path, value) in &selected {
                    if let Some((message, actual)) = failure(check, value) {
                        fail(path, message, describe(check), actual);
                    }
                }
            }
        }
    }
    out
}

/// Whether one assertion holds on `value` (a poll's `until`): what [`check`] would find nothing wrong with.
pub fn holds(a: &crate::case::Assertion, value: &Value) -> bool {
    let selected = a.path.select(value);
    match &a.check {
        AssertionCheck::Exists => !selected.is_empty(),
        AssertionCheck::Absent => selected.is_empty(),
        check => !selected.is_empty() && selected.iter().all(|(_, v)| failure(check, v).is_none()),
    }
}

/// What an assertion requires, as a failure shows it under "expected" (`one of ["completed","failed"]`).
pub fn describe_assertion(a: &crate::case::Assertion) -> String {
    format!("{} {}", a.path, describe(&a.check))
}

/// What the check requires, as shown under "expected".
fn describe(check: &AssertionCheck) -> String {
    match check {
        AssertionCheck::Equals(v) => compact(v, 200),
        AssertionCheck::OneOf(vs) => format!("one of {}", compact(&Value::Array(vs.clone()), 200)),
        AssertionCheck::Type(ts) => ts.iter().map(|t| t.name()).collect::<Vec<_>>().join(" or "),
        AssertionCheck::Matches(re) => format!("a string matching /{}/", re.as_str()),
        AssertionCheck::Length(l) => format!("length {}", l.describe()),
        AssertionCheck::Exists => "a value".into(),
        AssertionCheck::Absent => "nothing".into(),
    }
}

/// `Some((message, actual))` when `value` fails `check`.
fn failure(check: &AssertionCheck, value: &Value) -> Option<(String, String)> {
    match check {
        AssertionCheck::Equals(expected) => (value != expected).then(|| ("value differs".into(), compact(value, 200))),
        AssertionCheck::OneOf(options) => (!options.contains(value)).then(|| ("value is not one of the allowed".into(), compact(value, 200))),
        AssertionCheck::Type(types) => (!types.iter().any(|t| t.admits(value)))
            .then(|| (format!("wrong type: {}", JsonType::of(value).name()), JsonType::of(value).name().to_owned())),
        AssertionCheck::Matches(re) => match value.as_str() {
            Some(s) if re.is_match(s) => None,
            Some(s) => Some(("string does not match".into(), compact(&Value::String(s.to_owned()), 200))),
            None => Some((format!("not a string but {}", JsonType::of(value).name()), compact(value, 120))),
        },
        AssertionCheck::Length(spec) => {
            let len = match value {
                Value::Array(a) => a.len(),
                Value::String(s) => s.chars().count(),
                Value::Object(o) => o.len(),
                other => return Some((format!("{} has no length", JsonType::of(other).name()), compact(other, 120))),
            };
            (!spec.admits(len)).then(|| (format!("length is {len}"), format!("length {len}")))
        }
        AssertionCheck::Exists | AssertionCheck::Absent => None,
    }
}
