//! Reports: pure functions of outcomes, one module per output format. Nothing here runs anything or knows
//! how a request was made.

pub mod badge;
pub mod between;
pub mod changes;
pub mod coverage;
pub mod history;
pub mod history_html;
pub mod html;
pub mod interop;
pub mod json;
pub mod junit;
pub mod markdown;
pub mod terminal;
pub mod tiers;
pub mod write;

use crate::case::generalize_indexes;
use crate::outcome::Finding;

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

/// Findings as reports show them: the same rule, severity and path pattern (array indexes collapsed to `[*]`,
/// chunks ignored) across array elements or stream chunks is one group — an embeddings answer holding one
/// vector per token must not flood a report with a hundred identical findings. results.json keeps every one.
pub struct FindingGroup<'a> {
    /// The first finding of the group, shown in full.
    pub first: &'a Finding,
    /// How many findings the group holds (1 for a lone finding).
    pub count: usize,
    /// Where the others are: the locations of the next few (see [`GROUP_LOCATIONS`]).
    pub more: Vec<String>,
}

/// How many further locations a group names before "…".
pub const GROUP_LOCATIONS: usize = 3;

/// What makes two findings one group. The step is part of it: the same path in two steps of a multi-step case
/// is two findings.
#[derive(PartialEq)]
struct GroupKey<'a> {
    rule: &'a str,
    severity: crate::rules::Severity,
    path: String,
    known: Option<usize>,
    detail: &'a str,
    step: Option<&'a str>,
}

/// Groups `findings` in order of first appearance.
pub fn group_findings<'a>(findings: impl IntoIterator<Item = &'a Finding>) -> Vec<FindingGroup<'a>> {
    let mut groups: Vec<(GroupKey<'a>, FindingGroup<'a>)> = Vec::new();
    for f in findings {
        let key = GroupKey {
            rule: &f.rule,
            severity: f.severity,
            path: generalize_indexes(&f.path),
            known: f.known,
            detail: &f.detail,
            step: f.step.as_deref(),
        };
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, g)) => {
                g.count += 1;
                if g.more.len() < GROUP_LOCATIONS {
                    g.more.push(f.location());
                }
            }
            None => groups.push((key, FindingGroup { first: f, count: 1, more: Vec::new() })),
        }
    }
    groups.into_iter().map(|(_, g)| g).collect()
}

impl FindingGroup<'_> {
    /// `  … and 27 more like it: $.data[1].embedding, $.data[2].embedding, $.data[3].embedding, …` (empty for one).
    pub fn more_line(&self) -> String {
        if self.count == 1 {
            return String::new();
        }
        let ellipsis = if self.count - 1 > self.more.len() { ", …" } else { "" };
        format!("… and {} more like it: {}{ellipsis}", self.count - 1, self.more.join("; "))
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules;

    #[test]
    fn findings_group_by_rule_and_path_pattern_across_elements_and_chunks() {
        let at = |path: &str, chunk: Option<usize>| {
            let f = Finding::new(&rules::SCHEMA_SPEC, path, "required property is missing");
            match chunk {
                Some(c) => f.in_chunk(c),
                None => f,
            }
        };
        let findings: Vec<Finding> = (0..28)
            .map(|i| at(&format!("$.data[{i}].embedding"), None))
            .chain([at("$.usage", None), at("$.choices[0].finish_reason", Some(0)), at("$.choices[0].finish_reason", Some(1))])
            .collect();
        let groups = group_findings(&findings);
        assert_eq!(groups.iter().map(|g| g.count).collect::<Vec<_>>(), vec![28, 1, 2]);
        assert_eq!(groups[0].first.path, "$.data[0].embedding");
        assert_eq!(groups[0].more_line(), "… and 27 more like it: $.data[1].embedding; $.data[2].embedding; $.data[3].embedding, …");
        assert_eq!(groups[1].more_line(), "");
        assert_eq!(groups[2].more_line(), "… and 1 more like it: chunk 1, $.choices[0].finish_reason");
        assert_eq!(generalize_indexes("$.a[12].b[x][0]"), "$.a[*].b[x][*]");
    }
}
