//! `summary.md`: a short Markdown summary for a CI job page (`$GITHUB_STEP_SUMMARY` and the like).
//!
//! Rendered from a results document ([`super::json::Results`]): a title line, the targets, a table of verdict
//! counts per target, fixture provenance, the changes since a baseline when one is given
//! ([`super::changes::Changes`]), then one row per failing outcome (at most [`MAX_ROWS`]) with its first
//! unexplained finding. Everything taken from a case or a response is escaped so it cannot break the table
//! or inject markup (job summaries render HTML). The run date is the only volatile value.

use std::fmt::Write;

use super::changes::Changes;
use super::json::{Counts, Results};
use crate::outcome::{Outcome, Verdict};

/// Rows of the failing table before it is cut with "… and N more".
pub const MAX_ROWS: usize = 50;

/// Renders `summary.md`.
pub fn render(results: &Results, changes: Option<&Changes>) -> String {
    let mut out = String::new();
    let c = &results.counts;
    let status = if c.failing == 0 { "all good".to_owned() } else { format!("{} of {} failing", c.failing, c.total()) };
    let _ = writeln!(out, "## compat report: {status}\n");
    let targets: Vec<String> =
        results.run.targets.iter().map(|t| format!("**{}** ({}, {})", md(&t.name), t.mode.as_str(), md(&t.base_url))).collect();
    let _ = writeln!(out, "{}  ", targets.join(" · "));
    let _ = writeln!(out, "spec {} · harness {} · run {}\n", md(&results.run.spec_version), md(&results.run.harness_version), md(&results.run.date));
    let heads: Vec<String> = Verdict::ALL.iter().map(|v| format!("{} {v}", v.symbol())).collect();
    let _ = writeln!(out, "| target | {} |", heads.join(" | "));
    let _ = writeln!(out, "|---|{}", "--:|".repeat(Verdict::ALL.len()));
    for t in &results.run.targets {
        let _ = writeln!(out, "| {} | {} |", md(&t.name), cells(&t.counts));
    }
    if results.run.targets.len() > 1 {
        let _ = writeln!(out, "| **all** | {} |", cells(c));
    }
    let f = &results.fixtures;
    let _ = writeln!(out, "\nFixtures: {} recorded, {} synthesized, {} none.", f.recorded, f.synthesized, f.none);
    let _ = writeln!(out, "\n{}", super::interop::render_markdown(&super::interop::scores(results)).trim_end());
    if let Some(changes) = changes {
        let _ = writeln!(out, "\n### Changes since {}: {}\n", md(&changes.baseline_date), changes.summary());
        if !changes.is_empty() {
            let _ = writeln!(out, "| change | case | verdict | note |\n|---|---|---|---|");
            for (group, items) in changes.groups() {
                for ch in items {
                    let _ = writeln!(out, "| {group} | {} | {} | {} |", md(&ch.name), md(&ch.transition()), md(&ch.note));
                }
            }
        }
    }
    let failing: Vec<&Outcome> = results.outcomes.iter().filter(|o| o.fails()).collect();
    if !failing.is_empty() {
        let _ = writeln!(out, "\n### Failing\n\n| case | verdict | first finding |\n|---|---|---|");
        for o in failing.iter().take(MAX_ROWS) {
            let verdict = format!("{} {}", o.verdict().symbol(), o.verdict().with_severity(o.severity()));
            let _ = writeln!(out, "| {} | {verdict} | {} |", md(&o.name()), md(&first_finding(o)));
        }
        if failing.len() > MAX_ROWS {
            let _ = writeln!(out, "\n… and {} more (see index.html)", failing.len() - MAX_ROWS);
        }
    }
    let notes: Vec<String> = results.outcomes.iter().filter(|o| o.snapshot_note()).map(|o| md(&o.name())).collect();
    if !notes.is_empty() {
        let _ = writeln!(out, "\n### Snapshot changes (notes, not failures)\n\n{}", notes.join(", "));
    }
    out
}

fn cells(c: &Counts) -> String {
    Verdict::ALL.iter().map(|v| c.get(*v).to_string()).collect::<Vec<_>>().join(" | ")
}

/// The one line that best says why an outcome fails.
fn first_finding(o: &Outcome) -> String {
    if let Some(e) = &o.error() {
        return e.message.lines().next().unwrap_or("").to_owned();
    }
    if let Some(f) = o.findings().iter().find(|f| f.known.is_none()) {
        return format!("{}: {}", f.rule_at_path(), f.message);
    }
    if let Some(k) = o.known().iter().find(|k| k.observed == 0) {
        return format!("known divergence no longer observed: {}", k.divergence.reason);
    }
    match &o.snapshot {
        Some(s) => format!("snapshot {} {}", s.file, s.status),
        None => String::new(),
    }
}

/// Escapes text for a Markdown table cell: no line breaks, no pipes, no markup, no HTML.
pub fn md(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars().take(300) {
        match c {
            '\n' | '\r' | '\t' => out.push(' '),
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '|' | '\\' | '`' | '*' | '_' | '[' | ']' | '#' | '~' | '!' => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    if s.chars().count() > 300 {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_cannot_break_the_table_or_inject_html() {
        assert_eq!(md("a|b\nc"), "a\\|b c");
        assert_eq!(md("<img src=x onerror=alert(1)>"), "&lt;img src=x onerror=alert(1)&gt;");
        assert_eq!(md("[x](javascript:1)"), "\\[x\\](javascript:1)");
        assert!(md(&"y".repeat(400)).ends_with('…'));
    }
}
