//! What changed between two results documents: regressions, fixes, new and removed cases.
//!
//! [`compare`] pairs outcomes by name (`<target>::<feature>::<id>`) and sorts each pair into one group:
//! - **regression**: now `diverges` or `error` and it was not before (any other verdict, or the other of the
//!   two); or still `diverges` but worse — a higher severity, or an unexplained finding (rule at path) the
//!   baseline did not have;
//! - **fix**: now `pass` or `fixed` and it was not before;
//! - **other**: any other verdict change (`pass` → `known`, a case newly `skipped`, `diverges` → `known`, …);
//! - **new** / **removed**: only in the new / only in the old document.
//!
//! `compat diff` prints [`render_text`] and fails on a regression; the HTML report and `summary.md` render the
//! same [`Changes`] at their top when `compat run --baseline` is given.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

use serde::{Deserialize, Serialize};

use super::json::Results;
use crate::outcome::Finding;
use crate::outcome::{Outcome, Verdict};
use crate::rules::Severity;

/// One case whose result changed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    /// `<target>::<feature>::<id>`.
    pub name: String,
    /// Verdict in the baseline (`None`: a new case).
    pub before: Option<Verdict>,
    /// Severity in the baseline, if any.
    pub before_severity: Option<Severity>,
    /// Verdict now (`None`: a removed case).
    pub after: Option<Verdict>,
    /// Severity now, if any.
    pub after_severity: Option<Severity>,
    /// What else changed, in a few words (new unexplained findings, a worse severity).
    pub note: String,
}

impl Change {
    /// `pass → diverges (breaking)`.
    pub fn transition(&self) -> String {
        let side = |v: Option<Verdict>, s: Option<Severity>| match (v, s) {
            (None, _) => "—".to_owned(),
            (Some(v), Some(s)) if matches!(v, Verdict::Diverges | Verdict::Known) => format!("{v} ({s})"),
            (Some(v), _) => v.to_string(),
        };
        format!("{} → {}", side(self.before, self.before_severity), side(self.after, self.after_severity))
    }
}

/// The changes from a baseline document to a new one.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Changes {
    /// The baseline's run date.
    pub baseline_date: String,
    /// Newly diverging or erroring, or diverging worse.
    pub regressions: Vec<Change>,
    /// Newly passing or `fixed`.
    pub fixes: Vec<Change>,
    /// Cases only in the new document.
    pub added: Vec<Change>,
    /// Cases only in the baseline.
    pub removed: Vec<Change>,
    /// Other verdict changes.
    pub other: Vec<Change>,
    /// Cases whose snapshot changed without failing (a live run's note) and had not in the baseline.
    #[serde(default)]
    pub snapshots: Vec<Change>,
}

impl Changes {
    /// Whether nothing changed.
    pub fn is_empty(&self) -> bool {
        self.groups().iter().all(|(_, items)| items.is_empty())
    }

    /// The groups with their headings, in display order.
    pub fn groups(&self) -> [(&'static str, &[Change]); 6] {
        [
            ("regressions", &self.regressions),
            ("fixes", &self.fixes),
            ("new cases", &self.added),
            ("removed cases", &self.removed),
            ("other changes", &self.other),
            ("snapshot changes (notes)", &self.snapshots),
        ]
    }

    /// `1 regression, 2 fixes, 0 new, 0 removed, 1 other`.
    pub fn summary(&self) -> String {
        let n = |k: usize, one: &str, many: &str| format!("{k} {}", if k == 1 { one } else { many });
        [
            n(self.regressions.len(), "regression", "regressions"),
            n(self.fixes.len(), "fix", "fixes"),
            n(self.added.len(), "new", "new"),
            n(self.removed.len(), "removed", "removed"),
            n(self.other.len(), "other", "other"),
        ]
        .join(", ")
            + &if self.snapshots.is_empty() { String::new() } else { format!(", {}", n(self.snapshots.len(), "snapshot change", "snapshot changes")) }
    }
}

/// Compares a baseline with a new results document.
pub fn compare(old: &Results, new: &Results) -> Changes {
    let index = |r: &Results| r.outcomes.iter().map(|o| (o.name(), o.clone())).collect::<BTreeMap<String, Outcome>>();
    let (before, after) = (index(old), index(new));
    let mut changes = Changes { baseline_date: old.run.date.clone(), ..Changes::default() };
    for (name, o) in &after {
        let Some(b) = before.get(name) else {
            changes.added.push(change(name, None, Some(o), String::new()));
            continue;
        };
        if o.snapshot_note() && !b.snapshot_note() {
            let diff_lines = o.snapshot.as_ref().and_then(|s| s.diff.as_deref()).map_or(0, |d| d.lines().count());
            changes.snapshots.push(change(name, Some(b), Some(o), format!("snapshot changed ({diff_lines} diff lines)")));
        }
        let failing = |v: Verdict| matches!(v, Verdict::Diverges | Verdict::Error);
        if b.verdict() == o.verdict() {
            if o.verdict() == Verdict::Diverges {
                let fresh: Vec<String> = unexplained(o).difference(&unexplained(b)).cloned().collect();
                let worse = o.severity() > b.severity();
                if worse || !fresh.is_empty() {
                    let mut note = if worse { "worse severity".to_owned() } else { String::new() };
                    if !fresh.is_empty() {
                        let sep = if note.is_empty() { "" } else { "; " };
                        let _ = write!(note, "{sep}new: {}", fresh.join(", "));
                    }
                    changes.regressions.push(change(name, Some(b), Some(o), note));
                }
            }
            continue;
        }
        let c = change(name, Some(b), Some(o), String::new());
        if failing(o.verdict()) {
            changes.regressions.push(c);
        } else if matches!(o.verdict(), Verdict::Pass | Verdict::Fixed) {
            changes.fixes.push(c);
        } else {
            changes.other.push(c);
        }
    }
    for (name, b) in &before {
        if !after.contains_key(name) {
            changes.removed.push(change(name, Some(b), None, String::new()));
        }
    }
    changes
}

fn change(name: &str, before: Option<&Outcome>, after: Option<&Outcome>, note: String) -> Change {
    Change {
        name: name.to_owned(),
        before: before.map(|o| o.verdict()),
        before_severity: before.and_then(|o| o.severity()),
        after: after.map(|o| o.verdict()),
        after_severity: after.and_then(|o| o.severity()),
        note,
    }
}

/// `rule at path` of each unexplained finding (the chunk index is left out: chunking varies between runs).
fn unexplained(o: &Outcome) -> BTreeSet<String> {
    o.findings().iter().filter(|f| f.known.is_none()).map(Finding::rule_at_path).collect()
}

/// Plain text for the terminal: a summary line, then each non-empty group.
pub fn render_text(changes: &Changes) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "changes since {}: {}", changes.baseline_date, changes.summary());
    for (title, items) in changes.groups() {
        if items.is_empty() {
            continue;
        }
        let _ = writeln!(out, "{title}:");
        for c in items {
            let note = if c.note.is_empty() { String::new() } else { format!(" — {}", c.note) };
            let _ = writeln!(out, "  {}: {}{note}", c.name, c.transition());
        }
    }
    out
}
