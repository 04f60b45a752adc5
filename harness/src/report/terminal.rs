//! The terminal report: one block per case that needs attention, then a summary line.
//!
//! A finding renders as (the shape the self-tests assert):
//! ```text
//! diverges (breaking): cases/streaming/tool_call.yaml:3 — gemini::streaming::tool_call
//!   chunk 2, $.choices[0].delta.tool_calls[0].index: required property is missing
//!     --> cases/streaming/tool_call.yaml:3
//!     rule: schema.client — client tier, chat.completion.chunk › ChatCompletionMessageToolCallChunk.required
//!     expected: present
//!     actual:   missing
//!     why it matters: …
//! ```
//! Expected and actual that are JSON structures or long values render as a `similar` diff
//! (`-expected +actual`) instead.

use std::fmt::Write;

use super::structured_diff;
use crate::outcome::{ErrorKind, Finding, Outcome, SnapshotStatus, Verdict};

/// One finding, indented for a case block. `file` and `case_line` locate findings without a line of their own.
pub fn render_finding(f: &Finding, file: &str, case_line: u64) -> String {
    let mut out = String::new();
    let place = f.location();
    let known = if f.known.is_some() { " [known]" } else { "" };
    let _ = writeln!(out, "  {place}: {}{known}", f.message);
    let _ = writeln!(out, "    --> {file}:{}", f.line.unwrap_or(case_line));
    if f.detail.is_empty() {
        let _ = writeln!(out, "    rule: {} ({})", f.rule, f.severity);
    } else {
        let _ = writeln!(out, "    rule: {} ({}) — {}", f.rule, f.severity, f.detail);
    }
    if !f.expected.is_empty() || !f.actual.is_empty() {
        match structured_diff(&f.expected, &f.actual) {
            Some(diff) => {
                let _ = writeln!(out, "    diff (-expected +actual):");
                for line in diff.lines() {
                    let _ = writeln!(out, "      {line}");
                }
            }
            None => {
                let _ = writeln!(out, "    expected: {}", f.expected);
                let _ = writeln!(out, "    actual:   {}", f.actual);
            }
        }
    }
    if let Some(why) = &f.why {
        let _ = writeln!(out, "    why it matters: {why}");
    }
    out
}

/// The headline of an outcome: `verdict (severity): file:line — name`.
pub fn headline(o: &Outcome) -> String {
    let verdict = match o.severity() {
        Some(s) => format!("{} ({s})", o.verdict()),
        None => o.verdict().to_string(),
    };
    format!("{verdict}: {}:{} — {}", o.file, o.line, o.name())
}

/// Everything a user needs about one outcome: the headline, findings, known divergences, error, snapshot.
pub fn render_outcome(o: &Outcome) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}", headline(o));
    for step in &o.steps {
        let _ = writeln!(out, "  step {}", step.summary());
    }
    if let Some(e) = &o.error() {
        let _ = writeln!(out, "  error ({}): {}", e.kind, e.message);
        if let Some(diff) = &e.diff {
            for line in diff.lines() {
                let _ = writeln!(out, "    {line}");
            }
        }
    }
    if let Some(reason) = &o.skip_reason() {
        let _ = writeln!(out, "  skipped: {reason}");
    }
    let shown: Vec<&Finding> = match o.verdict() {
        Verdict::Diverges => o.findings().iter().filter(|f| f.known.is_none()).collect(),
        _ => o.findings().iter().collect(),
    };
    for g in super::group_findings(shown) {
        out.push_str(&render_finding(g.first, &o.file, o.line));
        if g.count > 1 {
            let _ = writeln!(out, "    {}", g.more_line());
        }
    }
    for k in o.known() {
        let d = &k.divergence;
        let what = d.rule_at_path();
        if k.observed == 0 && !k.due {
            let _ = writeln!(out, "  not due: `{what}` was not observed, and shows only sometimes — {}", d.reason);
        } else if k.observed == 0 {
            let file = k.file.as_deref().unwrap_or(&o.file);
            let _ = writeln!(out, "  fixed: known divergence `{what}` ({file}:{}) was not observed — {}; {}", k.line, d.reason, d.link);
            let _ = writeln!(out, "    if the target really changed, remove the entry from {file} (or update the fixture)");
        } else if o.verdict() == Verdict::Known {
            let _ = writeln!(out, "  known: `{what}` — {} ({})", d.reason, d.link);
        }
    }
    if let Some(s) = &o.snapshot {
        match s.status {
            SnapshotStatus::Matched => {}
            SnapshotStatus::Missing if !s.gating => {}
            SnapshotStatus::Missing => {
                let _ = writeln!(out, "  snapshot {} is missing (review with `cargo insta review`)", s.file);
            }
            SnapshotStatus::Changed if !s.gating => {
                let _ = writeln!(out, "  note: snapshot {} changed (live answers vary, so this fails nothing; --snapshots strict would):", s.file);
                for line in s.diff.as_deref().unwrap_or_default().lines() {
                    let _ = writeln!(out, "    {line}");
                }
            }
            SnapshotStatus::Changed => {
                let _ = writeln!(out, "  snapshot {} changed:", s.file);
                for line in s.diff.as_deref().unwrap_or_default().lines() {
                    let _ = writeln!(out, "    {line}");
                }
            }
        }
    }
    if let Some(r) = &o.repeats {
        let _ = writeln!(out, "  runs: {} of {} passed", r.passed, r.total);
    }
    out
}

/// Counts per verdict, in report order.
pub fn counts(outcomes: &[Outcome]) -> Vec<(Verdict, usize)> {
    Verdict::ALL.iter().map(|v| (*v, outcomes.iter().filter(|o| o.verdict() == *v).count())).collect()
}

/// The whole run: blocks for failing outcomes, then one summary line. Cases never sent because their target
/// was unreachable get one line per target, after the block of the case that found it unreachable.
pub fn render_run(outcomes: &[Outcome]) -> String {
    let mut out = String::new();
    let not_sent =
        |o: &Outcome| o.error().is_some_and(|e| e.kind == ErrorKind::Unreachable && e.message.contains("not sent: the target is unreachable"));
    for o in outcomes.iter().filter(|o| o.fails() && !not_sent(o)) {
        out.push_str(&render_outcome(o));
        out.push('\n');
    }
    let mut targets: Vec<&str> = outcomes.iter().filter(|o| not_sent(o)).map(|o| o.target.as_str()).collect();
    targets.dedup();
    for t in targets {
        let n = outcomes.iter().filter(|o| o.target == t && not_sent(o)).count();
        let _ = writeln!(out, "error (unreachable): {n} more cases of `{t}` were not sent — the target cannot be reached (see above)\n");
    }
    let notes: Vec<String> = outcomes.iter().filter(|o| o.snapshot_note() && !o.fails()).map(Outcome::name).collect();
    if !notes.is_empty() {
        // Named, not shown in full: the report holds each diff, and a night of varying answers stays readable.
        let _ = writeln!(out, "snapshot changes (notes, not failures; diffs in the report): {}\n", notes.join(", "));
    }
    let summary: Vec<String> = counts(outcomes).into_iter().filter(|(_, n)| *n > 0).map(|(v, n)| format!("{n} {v}")).collect();
    let failing = outcomes.iter().filter(|o| o.fails()).count();
    let _ = writeln!(out, "{} outcomes: {}; {failing} failing", outcomes.len(), summary.join(", "));
    out
}
