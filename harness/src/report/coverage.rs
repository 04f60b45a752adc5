//! The coverage table: documented feature → documented request → cases → verdict per target, as Markdown.
//!
//! A pure function of the feature list, the cases and their outcomes. `compat coverage` prints it, the README
//! carries it between `<!-- coverage:start -->` and `<!-- coverage:end -->`, and a test fails when that copy
//! is stale.

use std::fmt::Write;

use crate::case::LoadedCase;
use crate::case::features::Features;
use crate::outcome::Outcome;

/// Marks the start of the generated table in the README.
pub const START: &str = "<!-- coverage:start -->";
/// Marks its end.
pub const END: &str = "<!-- coverage:end -->";

/// A verdict as a table cell: a symbol and the word (and severity), readable without colour.
pub fn cell(o: &Outcome) -> String {
    format!("{} {}", o.verdict().emoji(), o.verdict().with_severity(o.severity()))
}

/// The document holding the coverage table (between its markers); the table's links are relative to it.
pub const COVERAGE_DOC: &str = "docs/coverage.md";

/// The Markdown table, its links relative to [`COVERAGE_DOC`]. `targets` fixes the column order; outcomes are
/// looked up by target and case.
pub fn render(features: &Features, cases: &[LoadedCase], outcomes: &[Outcome], targets: &[String]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "| feature | documented request | case | {} |", targets.join(" | "));
    let _ = writeln!(out, "|---|---|---|{}", "---|".repeat(targets.len()));
    let escape = |s: &str| s.replace('|', "\\|");
    for (name, feature) in features {
        let mine: Vec<&LoadedCase> = cases.iter().filter(|c| c.case.feature == *name).collect();
        let head = format!("[{}]({}) | {}", escape(&feature.title), feature.doc, escape(&feature.documented));
        if mine.is_empty() {
            let why = feature.not_covered.as_deref().unwrap_or("**no cases yet**");
            let _ = writeln!(out, "| {head} | — not covered: {} |{}", escape(why), " — |".repeat(targets.len()));
            continue;
        }
        for (i, c) in mine.iter().enumerate() {
            let first = if i == 0 { head.clone() } else { " | ".to_owned() };
            let verdicts: Vec<String> = targets
                .iter()
                .map(|t| {
                    outcomes.iter().find(|o| o.target == *t && o.feature == c.case.feature && o.id == c.case.id).map_or_else(|| "—".to_owned(), cell)
                })
                .collect();
            let _ = writeln!(out, "| {first} | [`{}`](../{}) {} | {} |", c.case.id, c.file, escape(&c.case.title), verdicts.join(" | "));
        }
    }
    let covered = features.iter().filter(|(n, _)| cases.iter().any(|c| c.case.feature == *n)).count();
    let _ = writeln!(out, "\n{covered} of {} documented features have cases; {} cases in all.", features.len(), cases.len());
    out
}

/// The known divergences observed on `target`, grouped by source (a known divergence's `link` up to the first
/// ` (`): each source's rules and paths, the severities seen, and the cases where it was observed.
pub fn render_known(outcomes: &[Outcome], target: &str) -> String {
    use std::collections::BTreeMap;
    #[derive(Default)]
    struct Group {
        rules: Vec<String>,
        severities: Vec<String>,
        cases: Vec<String>,
    }
    let mut groups: BTreeMap<(u32, String), Group> = BTreeMap::new();
    for o in outcomes.iter().filter(|o| o.target == target) {
        for k in o.known().iter().filter(|k| k.observed > 0) {
            let d = &k.divergence;
            let source = d.link.split(" (").next().unwrap_or(&d.link).trim().to_owned();
            // Sort `#2` before `#10`: the first number in the source, then the text.
            let number = source.split('#').nth(1).and_then(|n| n.chars().take_while(char::is_ascii_digit).collect::<String>().parse().ok());
            let g = groups.entry((number.unwrap_or(u32::MAX), source)).or_default();
            let rule = match (&d.rule, &d.path) {
                (Some(r), Some(p)) => format!("`{r}` `{p}`"),
                (Some(r), None) => format!("`{r}`"),
                (None, Some(p)) => format!("`{p}`"),
                (None, None) => String::new(),
            };
            if !g.rules.contains(&rule) {
                g.rules.push(rule);
            }
            for f in o.findings().iter().filter(|f| f.known == Some(k.index)) {
                let s = f.severity.to_string();
                if !g.severities.contains(&s) {
                    g.severities.push(s);
                }
            }
            let name = format!("{}::{}", o.feature, o.id);
            if !g.cases.contains(&name) {
                g.cases.push(name);
            }
        }
    }
    let mut out = String::new();
    let _ = writeln!(out, "| source | rule · path | severity | observed in |");
    let _ = writeln!(out, "|---|---|---|---|");
    for ((_, source), g) in groups {
        let shown: Vec<&str> = g.cases.iter().take(6).map(String::as_str).collect();
        let more = if g.cases.len() > 6 { format!(" … {} cases in all", g.cases.len()) } else { String::new() };
        let _ =
            writeln!(out, "| {} | {} | {} | {}{more} |", source.replace('|', "\\|"), g.rules.join("<br>"), g.severities.join(", "), shown.join(", "));
    }
    out
}

/// `readme` with the generated coverage table between its markers; `None` when they are missing.
pub fn splice(readme: &str, table: &str) -> Option<String> {
    super::splice_between(readme, START, END, table)
}

/// The coverage table currently between the markers.
pub fn current(readme: &str) -> Option<&str> {
    super::between(readme, START, END)
}
