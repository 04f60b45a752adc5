//! `junit.xml`: one `<testsuite>` per target and one `<testcase>` per case on it, for CI test tabs.
//!
//! Rendered from a results document ([`super::json::Results`]). Verdicts map so CI shows what matters:
//! - `diverges` and `fixed` → `<failure>` (an assertion about the target did not hold, or a declared divergence
//!   is gone — news either way), its `message` the headline, its text the terminal block
//!   ([`super::terminal::render_outcome`]);
//! - `error` → `<error>` (the run broke; nothing was learnt about the target);
//! - `skipped` → `<skipped>` with the reason;
//! - `known` → a pass with one `<property name="known_divergence">` per divergence observed;
//! - a changed or missing snapshot on an otherwise passing case → `<failure type="snapshot">`.
//!
//! Volatile values are only in `time` and `timestamp` attributes. Text is escaped for XML 1.0, and
//! characters XML cannot carry at all (most C0 controls, U+FFFE/U+FFFF) become `\u{…}`, so any model output
//! gives a well-formed file.

use std::fmt::Write;

use super::json::{Counts, Results};
use super::terminal::{headline, render_outcome};
use crate::outcome::{Outcome, SnapshotStatus, Verdict};

/// Renders `junit.xml`.
pub fn render(results: &Results) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let c = &results.counts;
    let total_ms: f64 = results.outcomes.iter().map(|o| o.timing.duration_ms).sum();
    let _ = writeln!(
        out,
        "<testsuites name=\"compat\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" time=\"{}\">",
        c.total(),
        failures(c, results.outcomes.iter()),
        c.error,
        c.skipped,
        seconds(total_ms)
    );
    for target in &results.run.targets {
        let outcomes: Vec<&Outcome> = results.outcomes.iter().filter(|o| o.target == target.name).collect();
        let tc = &target.counts;
        let _ = writeln!(
            out,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" time=\"{}\" timestamp=\"{}\">",
            esc(&target.name),
            outcomes.len(),
            failures(tc, outcomes.iter().copied()),
            tc.error,
            tc.skipped,
            seconds(outcomes.iter().map(|o| o.timing.duration_ms).sum()),
            esc(results.run.date.trim_end_matches('Z')),
        );
        let _ = writeln!(out, "    <properties>");
        property(&mut out, 6, "base_url", &target.base_url);
        property(&mut out, 6, "mode", target.mode.as_str());
        property(&mut out, 6, "spec_version", &results.run.spec_version);
        property(&mut out, 6, "harness_version", &results.run.harness_version);
        let _ = writeln!(out, "    </properties>");
        for o in outcomes {
            testcase(&mut out, o);
        }
        let _ = writeln!(out, "  </testsuite>");
    }
    out.push_str("</testsuites>\n");
    out
}

/// `<failure>`s: `diverges`, `fixed`, and snapshot failures of cases whose verdict does not fail.
fn failures<'a>(c: &Counts, outcomes: impl Iterator<Item = &'a Outcome>) -> usize {
    c.diverges + c.fixed + outcomes.filter(|o| !o.verdict().fails() && o.fails()).count()
}

fn testcase(out: &mut String, o: &Outcome) {
    let _ = write!(
        out,
        "    <testcase name=\"{}\" classname=\"{}\" file=\"{}\" line=\"{}\" time=\"{}\"",
        esc(&o.name()),
        esc(&format!("{}.{}", o.target, o.feature)),
        esc(&o.file),
        o.line,
        seconds(o.timing.duration_ms)
    );
    let known: Vec<String> = o
        .known()
        .iter()
        .filter(|k| k.observed > 0)
        .map(|k| {
            let d = &k.divergence;
            let what = d.rule_at_path();
            format!("{what} — {} ({})", d.reason, d.link)
        })
        .collect();
    let body = match o.verdict() {
        Verdict::Diverges | Verdict::Fixed => Some(("failure", o.verdict().name())),
        Verdict::Error => Some(("error", o.error().map_or("error", |e| e.kind.as_str()))),
        _ if o.fails() => Some(("failure", "snapshot")),
        _ => None,
    };
    // A multi-step case lists its steps as properties (one-step cases have none).
    let known: Vec<(&str, String)> =
        o.steps.iter().map(|s| ("step", s.summary())).chain(known.into_iter().map(|k| ("known_divergence", k))).collect();
    if body.is_none() && known.is_empty() && !o.snapshot_note() && o.verdict() != Verdict::Skipped {
        out.push_str("/>\n");
        return;
    }
    out.push_str(">\n");
    if !known.is_empty() || o.snapshot_note() {
        let _ = writeln!(out, "      <properties>");
        for (name, value) in &known {
            property(out, 8, name, value);
        }
        if o.snapshot_note() {
            property(out, 8, "snapshot_note", "changed");
        }
        let _ = writeln!(out, "      </properties>");
    }
    if o.verdict() == Verdict::Skipped {
        let _ = writeln!(out, "      <skipped message=\"{}\"/>", esc(o.skip_reason().unwrap_or("skipped")));
    }
    if let Some((element, kind)) = body {
        let message = match (&o.error(), o.verdict()) {
            (Some(e), Verdict::Error) => format!("{}: {}", headline(o), e.message),
            _ if !o.verdict().fails() => format!("{}: snapshot {}", headline(o), snapshot_state(o)),
            _ => headline(o),
        };
        let _ = writeln!(
            out,
            "      <{element} message=\"{}\" type=\"{}\">{}</{element}>",
            esc(first_line(&message)),
            esc(kind),
            esc(&render_outcome(o))
        );
    }
    out.push_str("    </testcase>\n");
}

fn snapshot_state(o: &Outcome) -> &'static str {
    o.snapshot.as_ref().map_or(SnapshotStatus::Matched, |s| s.status).as_str()
}

fn property(out: &mut String, indent: usize, name: &str, value: &str) {
    let _ = writeln!(out, "{:indent$}<property name=\"{}\" value=\"{}\"/>", "", esc(name), esc(value));
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or("")
}

fn seconds(ms: f64) -> String {
    if ms.is_finite() && ms >= 0.0 { format!("{:.3}", ms / 1000.0) } else { "0.000".into() }
}

/// Escapes text for XML 1.0 content and double-quoted attributes; characters XML cannot carry become `\u{…}`.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_unrepresentable_characters() {
        assert_eq!(esc("a<b>&\"c'"), "a&lt;b&gt;&amp;&quot;c&apos;");
        assert_eq!(esc("bell\u{7}\u{0}tab\t"), "bell\\u{7}\\u{0}tab\t");
        assert_eq!(esc("ünïcödé ✓"), "ünïcödé ✓");
    }

    #[test]
    fn seconds_never_print_nonsense() {
        assert_eq!(seconds(1234.5), "1.234");
        assert_eq!(seconds(f64::NAN), "0.000");
        assert_eq!(seconds(-1.0), "0.000");
    }
}
