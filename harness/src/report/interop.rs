//! The interop score: how much of the suite each implementation passes, and how much passes everywhere —
//! per feature area and overall, after web-platform-tests' Interop dashboards.
//!
//! A pure function of a results document ([`super::json::Results`]); the README gives the formula:
//! - the **case list** `C` is every `<feature>::<id>` of the document, over all targets (a case file that does
//!   not load, the `load` pseudo-target's outcome, is on it too: it is a case of this suite version that no
//!   implementation passes); `C_F` is its part in feature area `F`;
//! - an implementation's **score** in `F` is `|{c ∈ C_F : verdict(t, c) = pass}| / |C_F|`. Only `pass`
//!   passes: `known` (a declared divergence is still a divergence), `diverges`, `fixed`, `error`, `skipped`
//!   and a missing outcome all count against it; `skipped`, `error` and missing are shown apart so a low
//!   score is not mistaken for a nonconforming implementation;
//! - the **interop score** in `F` is `|{c ∈ C_F : ∀ t ∈ T, verdict(t, c) = pass}| / |C_F|`, where `T` is every
//!   target of the document except control targets (`control: true`) and `load`; with no such target it is
//!   undefined;
//! - **overall** is the same over all of `C` (so every case weighs the same, whatever its area).
//!
//! [`Scores::suite_id`] fingerprints the case list, so two documents (or two nights of history) say whether
//! they scored the same list. The renderings — terminal text, a Markdown table, an HTML table carrying every
//! count in `data-*` attributes — are here too, so the three reports show the same figures.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

use serde::{Deserialize, Serialize};

use super::html::esc;
use super::json::Results;
use super::markdown::md;
use crate::outcome::Verdict;

/// The pseudo-target under which case files that do not load are reported (see `suite::broken_case_outcome`).
pub const LOAD_TARGET: &str = "load";

/// How one implementation fared on a set of cases: each case is counted once, in exactly one field.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tally {
    /// `pass`: the only verdict that scores.
    pub pass: usize,
    /// `known`.
    pub known: usize,
    /// `diverges`.
    pub diverges: usize,
    /// `fixed`.
    pub fixed: usize,
    /// `error`.
    pub error: usize,
    /// `skipped`.
    pub skipped: usize,
    /// On the case list but with no outcome for this target.
    pub missing: usize,
}

impl Tally {
    /// Counts one case.
    pub fn add(&mut self, verdict: Option<Verdict>) {
        match verdict {
            Some(Verdict::Pass) => self.pass += 1,
            Some(Verdict::Known) => self.known += 1,
            Some(Verdict::Diverges) => self.diverges += 1,
            Some(Verdict::Fixed) => self.fixed += 1,
            Some(Verdict::Error) => self.error += 1,
            Some(Verdict::Skipped) => self.skipped += 1,
            None => self.missing += 1,
        }
    }

    /// Cases counted.
    pub fn total(&self) -> usize {
        self.pass + self.known + self.diverges + self.fixed + self.error + self.skipped + self.missing
    }

    /// Cases neither passing nor run to a conformance verdict: `skipped`, `error` and missing.
    pub fn not_run(&self) -> usize {
        self.skipped + self.error + self.missing
    }
}

/// One implementation (target) of the document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Implementation {
    /// Target name.
    pub name: String,
    /// A control target: scored, but left out of the interop score.
    pub control: bool,
}

/// The scores of one feature area (or of the whole suite).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AreaScore {
    /// The feature area; `all` for the overall row.
    pub feature: String,
    /// `|C_F|`.
    pub cases: usize,
    /// One tally per implementation, in [`Scores::implementations`] order.
    pub targets: Vec<Tally>,
    /// Cases passing on every non-control implementation; `None` when there is none.
    pub interop: Option<usize>,
}

/// Every score of a results document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scores {
    /// A fingerprint of the case list (12 hex digits of the SHA-256 of the sorted `<feature>::<id>` lines).
    pub suite_id: String,
    /// The targets scored, in the document's order (`load` left out).
    pub implementations: Vec<Implementation>,
    /// Per feature area, by name.
    pub areas: Vec<AreaScore>,
    /// Over the whole case list.
    pub overall: AreaScore,
}

/// `<feature>::<id>` of every case of the document, sorted.
pub fn case_list(results: &Results) -> Vec<String> {
    let set: BTreeSet<String> = results.outcomes.iter().map(|o| format!("{}::{}", o.feature, o.id)).collect();
    set.into_iter().collect()
}

/// The fingerprint of a sorted case list.
pub fn suite_id(cases: &[String]) -> String {
    let mut text = String::new();
    for c in cases {
        text.push_str(c);
        text.push('\n');
    }
    let digest = ring::digest::digest(&ring::digest::SHA256, text.as_bytes());
    digest.as_ref().iter().take(6).map(|b| format!("{b:02x}")).collect()
}

/// Scores a results document.
pub fn scores(results: &Results) -> Scores {
    let implementations: Vec<Implementation> =
        results.run.targets.iter().filter(|t| t.name != LOAD_TARGET).map(|t| Implementation { name: t.name.clone(), control: t.control }).collect();
    let verdicts: BTreeMap<(&str, String), Verdict> =
        results.outcomes.iter().map(|o| ((o.target.as_str(), format!("{}::{}", o.feature, o.id)), o.verdict())).collect();
    let cases = case_list(results);
    score_table(implementations, &cases, |target, case| verdicts.get(&(target, case.to_owned())).copied())
}

/// The scores of `implementations` over `cases` (`<feature>::<id>`, sorted), the verdict of each pair given by
/// `verdict` (`None`: no outcome). [`scores`] reads them from a results document; the history reads them from
/// a night's record, against today's case list.
pub fn score_table(implementations: Vec<Implementation>, cases: &[String], verdict: impl Fn(&str, &str) -> Option<Verdict>) -> Scores {
    let mut by_area: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for c in cases {
        by_area.entry(c.split_once("::").map_or(c.as_str(), |(f, _)| f)).or_default().push(c);
    }
    let score = |feature: &str, list: &[&str]| {
        let mut targets = vec![Tally::default(); implementations.len()];
        let mut everywhere = 0;
        for case in list {
            let mut all = true;
            for (tally, imp) in targets.iter_mut().zip(&implementations) {
                let v = verdict(&imp.name, case);
                tally.add(v);
                all &= imp.control || v == Some(Verdict::Pass);
            }
            everywhere += usize::from(all);
        }
        let any = implementations.iter().any(|i| !i.control);
        AreaScore { feature: feature.to_owned(), cases: list.len(), targets, interop: any.then_some(everywhere) }
    };
    let areas: Vec<AreaScore> = by_area.iter().map(|(f, list)| score(f, list)).collect();
    let all: Vec<&str> = by_area.values().flatten().copied().collect();
    Scores { suite_id: suite_id(cases), overall: score("all", &all), areas, implementations }
}

/// `12/15 (80.0%)`-style percentage of `n` over `d`, one decimal; `–` when `d` is 0.
pub fn percent(n: usize, d: usize) -> String {
    if d == 0 { "–".into() } else { format!("{:.1}%", n as f64 * 100.0 / d as f64) }
}

/// What the tally holds apart from `pass`, as `≈ 3 · ✗ 1 · ⚠ 2 · ⊘ 1 · – 0` (zeros left out).
fn apart(t: &Tally) -> String {
    let parts = [
        (Verdict::Known.symbol(), "known", t.known),
        (Verdict::Diverges.symbol(), "diverges", t.diverges),
        (Verdict::Fixed.symbol(), "fixed", t.fixed),
        (Verdict::Error.symbol(), "error", t.error),
        (Verdict::Skipped.symbol(), "skipped", t.skipped),
        ("–", "missing", t.missing),
    ];
    parts.iter().filter(|p| p.2 > 0).map(|(s, name, n)| format!("{s} {n} {name}")).collect::<Vec<_>>().join(" · ")
}

fn heading(i: &Implementation) -> String {
    if i.control { format!("{} (control)", i.name) } else { i.name.clone() }
}

/// Plain text for the terminal and `compat diff`: the overall line, then one line per area.
pub fn render_text(s: &Scores) -> String {
    let mut out = String::new();
    let line = |out: &mut String, a: &AreaScore| {
        let interop = a.interop.map_or("–".to_owned(), |n| format!("{n}/{} {}", a.cases, percent(n, a.cases)));
        let _ = write!(out, "  {:<22} interop {interop:<14}", a.feature,);
        for (t, imp) in a.targets.iter().zip(&s.implementations) {
            let _ = write!(out, " · {} {}/{} {}", heading(imp), t.pass, a.cases, percent(t.pass, a.cases));
        }
        out.push('\n');
    };
    let _ = writeln!(out, "scores (cases passing over {} cases, suite {}):", s.overall.cases, s.suite_id);
    line(&mut out, &s.overall);
    for a in &s.areas {
        line(&mut out, a);
    }
    out
}

/// The scores of two documents side by side, for `compat diff`: overall and per implementation, with the
/// change in points; says so when the two scored different case lists.
pub fn render_change(old: &Scores, new: &Scores) -> String {
    let mut out = String::new();
    let delta = |a: usize, ad: usize, b: usize, bd: usize| {
        let p = |n: usize, d: usize| if d == 0 { 0.0 } else { n as f64 * 100.0 / d as f64 };
        format!("{} → {} ({:+.1} points)", percent(a, ad), percent(b, bd), p(b, bd) - p(a, ad))
    };
    let _ = writeln!(out, "scores, before → now:");
    if old.suite_id != new.suite_id {
        let _ = writeln!(
            out,
            "  (the case lists differ: suite {} with {} cases → {} with {}; each side is scored over its own list)",
            old.suite_id, old.overall.cases, new.suite_id, new.overall.cases
        );
    }
    if let (Some(a), Some(b)) = (old.overall.interop, new.overall.interop) {
        let _ = writeln!(out, "  interop: {}", delta(a, old.overall.cases, b, new.overall.cases));
    }
    for (i, imp) in new.implementations.iter().enumerate() {
        let now = new.overall.targets[i].pass;
        match old.implementations.iter().position(|o| o.name == imp.name) {
            Some(j) => {
                let _ = writeln!(out, "  {}: {}", heading(imp), delta(old.overall.targets[j].pass, old.overall.cases, now, new.overall.cases));
            }
            None => {
                let _ = writeln!(out, "  {}: new, {}", heading(imp), percent(now, new.overall.cases));
            }
        }
    }
    out
}

/// The Markdown table atop `summary.md`.
pub fn render_markdown(s: &Scores) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "### Scores\n");
    let heads: Vec<String> = s.implementations.iter().map(|i| md(&heading(i))).collect();
    let _ = writeln!(out, "| feature area | cases | interop | {} |", heads.join(" | "));
    let _ = writeln!(out, "|---|--:|--:|{}", "--:|".repeat(heads.len()));
    for a in std::iter::once(&s.overall).chain(&s.areas) {
        let name = if a.feature == "all" { "**all**".to_owned() } else { md(&a.feature) };
        let interop = a.interop.map_or("–".to_owned(), |n| format!("{} ({n})", percent(n, a.cases)));
        let cells: Vec<String> = a
            .targets
            .iter()
            .map(|t| {
                let rest = apart(t);
                let rest = if rest.is_empty() { String::new() } else { format!("<br>{}", md(&rest)) };
                format!("{} ({}){rest}", percent(t.pass, a.cases), t.pass)
            })
            .collect();
        let _ = writeln!(out, "| {name} | {} | {interop} | {} |", a.cases, cells.join(" | "));
    }
    let _ = writeln!(
        out,
        "\nScore: cases passing over the {} cases of this suite ({}); only `pass` counts. Interop: cases passing on every \
         implementation{}.\n",
        s.overall.cases,
        s.suite_id,
        control_note(s)
    );
    out
}

fn control_note(s: &Scores) -> String {
    let controls: Vec<&str> = s.implementations.iter().filter(|i| i.control).map(|i| i.name.as_str()).collect();
    if controls.is_empty() { String::new() } else { format!(" but the control ({})", controls.join(", ")) }
}

/// The HTML section atop `index.html`: one row per area (overall first), one column per implementation;
/// every figure sits in `data-*` attributes too, so a test (or a reader's script) can check it.
pub fn render_html(s: &Scores) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "<section id=\"scores\">\n<h2>Interop score</h2>");
    let _ = writeln!(
        out,
        "<p class=\"legend\">Score: cases passing (verdict <span class=\"v v-pass\">{} pass</span>; known, diverges, fixed, error, skipped \
         and missing do not) over the <b>{}</b> cases of this suite (<code>{}</code>). Interop: cases passing on every implementation{}.</p>",
        Verdict::Pass.symbol(),
        s.overall.cases,
        esc(&s.suite_id),
        esc(&control_note(s))
    );
    let _ = writeln!(out, "<table class=\"scores\">\n<thead><tr><th>feature area</th><th>cases</th><th>interop</th>");
    for i in &s.implementations {
        let _ = writeln!(out, "<th data-target=\"{}\">{}</th>", esc(&i.name), esc(&heading(i)));
    }
    let _ = writeln!(out, "</tr></thead>\n<tbody>");
    for a in std::iter::once(&s.overall).chain(&s.areas) {
        let f = esc(&a.feature);
        let label = if a.feature == "all" { "<b>all</b>".to_owned() } else { f.clone() };
        let interop = match a.interop {
            Some(n) => format!("<td class=\"score\" data-interop=\"{n}\"><b>{}</b> {n}/{}</td>", percent(n, a.cases), a.cases),
            None => "<td class=\"score\">–</td>".to_owned(),
        };
        let _ = writeln!(out, "<tr data-area=\"{f}\" data-cases=\"{}\"><th>{label}</th><td>{}</td>{interop}", a.cases, a.cases);
        for (t, imp) in a.targets.iter().zip(&s.implementations) {
            let rest = apart(t);
            let _ = writeln!(
                out,
                "<td class=\"score\" data-target=\"{}\" data-pass=\"{}\" data-known=\"{}\" data-diverges=\"{}\" data-fixed=\"{}\" data-error=\"{}\" \
                 data-skipped=\"{}\" data-missing=\"{}\"><b>{}</b> {}/{}{}</td>",
                esc(&imp.name),
                t.pass,
                t.known,
                t.diverges,
                t.fixed,
                t.error,
                t.skipped,
                t.missing,
                percent(t.pass, a.cases),
                t.pass,
                a.cases,
                if rest.is_empty() { String::new() } else { format!("<br><small>{}</small>", esc(&rest)) }
            );
        }
        let _ = writeln!(out, "</tr>");
    }
    let _ = writeln!(out, "</tbody>\n</table>\n</section>");
    out
}
