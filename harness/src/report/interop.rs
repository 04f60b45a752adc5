//! The scores: how much of the suite each implementation gets right, in three tiers, and how much every
//! implementation gets right — per feature area and overall, after web-platform-tests' Interop dashboards.
//!
//! A pure function of a results document ([`super::json::Results`]); the README gives the formula:
//! - the **case list** `C` is every `<feature>::<id>` of the document, over all targets (a case file that does
//!   not load, the `load` pseudo-target's outcome, is on it too); `C_F` is its part in feature area `F`;
//! - each outcome has a [`Standing`] ([`super::tiers`]): the highest [`Tier`] its findings allow — **SDK-safe**
//!   (no `breaking` finding), **typed** (no `breaking` or `typed` finding), **exact** (no finding: `pass`),
//!   declared known or not — or not implemented, error or skipped, which meet no tier;
//! - `R_F(t)` = the cases of `C_F` target `t` ran: all but its `skipped` ones (a missing outcome counts as run
//!   and failed). Tier score of `t` in `F` = `|{c ∈ R_F(t) : t meets the tier on c}| / |R_F(t)|`;
//! - **interop** per tier in `F` = `|{c ∈ R_F : ∀ t ∈ T, t meets the tier on c}| / |R_F|`, with `T` every
//!   target except controls (`control: true`) and `load`, and `R_F` the cases of `C_F` that no `t ∈ T`
//!   skipped; with no such target it is undefined;
//! - **overall** is the same over all of `C` (every case weighs the same, whatever its area).
//!
//! The verdict [`Tally`] per implementation is kept beside the tiers (pass, known, diverges, fixed, error,
//! skipped, missing), and `interop` (cases passing everywhere over `|C_F|`) as version 1 of history has it.
//! [`Scores::suite_id`] fingerprints the case list, so two documents (or two nights of history) say whether
//! they scored the same list. The renderings — terminal text, a Markdown table — are here; the HTML census
//! is [`super::html`]'s.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

use serde::{Deserialize, Serialize};

use super::json::Results;
use super::markdown::md;
use super::tiers::{Standing, standing};
use crate::outcome::{Tier, Verdict};

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
    /// The tiers; `None` where the standings are not known (a history record written before tiers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tiers: Option<TierCounts>,
}

/// Cases run and cases meeting each tier (see the module's formula).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TierCounts {
    /// The denominator: cases run (not skipped; for interop, run by every non-control implementation).
    pub ran: usize,
    /// Meeting SDK-safe.
    pub sdk_safe: usize,
    /// Meeting typed.
    pub typed: usize,
    /// Meeting exact.
    pub exact: usize,
    /// Not implemented (for interop: of the cases run, those not implemented on at least one implementation).
    pub not_implemented: usize,
}

impl TierCounts {
    /// Cases meeting `tier`.
    pub fn met(&self, tier: Tier) -> usize {
        match tier {
            Tier::SdkSafe => self.sdk_safe,
            Tier::Typed => self.typed,
            Tier::Exact => self.exact,
        }
    }

    fn count(&mut self, meets: impl Fn(Tier) -> bool) {
        self.sdk_safe += usize::from(meets(Tier::SdkSafe));
        self.typed += usize::from(meets(Tier::Typed));
        self.exact += usize::from(meets(Tier::Exact));
    }

    /// `S 54/85 63.5% · T 40/85 47.1% · E 9/85 10.6%`.
    pub fn line(&self) -> String {
        Tier::ALL
            .iter()
            .map(|t| format!("{} {}/{} {}", t.name(), self.met(*t), self.ran, percent(self.met(*t), self.ran)))
            .collect::<Vec<_>>()
            .join(" · ")
    }

    /// `63.5% · 47.1% · 10.6%` (SDK-safe · typed · exact).
    pub fn percents(&self) -> String {
        Tier::ALL.iter().map(|t| percent(self.met(*t), self.ran)).collect::<Vec<_>>().join(" · ")
    }
}

/// One case on one implementation, as [`score_table`] counts it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cell {
    /// The verdict.
    pub verdict: Verdict,
    /// Its standing in the tiers; `None` when not known (history written before tiers).
    pub standing: Option<Standing>,
}

impl Tally {
    /// Counts one case's verdict (not its tiers).
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
    /// Cases passing on every non-control implementation, over `cases`; `None` when there is none.
    pub interop: Option<usize>,
    /// The tiers met on every non-control implementation; `None` when there is none, or standings are unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interop_tiers: Option<TierCounts>,
    /// Per implementation (in [`Scores::implementations`] order), the endpoints it does not serve in this area.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_implemented: Vec<Vec<String>>,
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
    let cells: BTreeMap<(&str, String), Cell> = results
        .outcomes
        .iter()
        .map(|o| ((o.target.as_str(), format!("{}::{}", o.feature, o.id)), Cell { verdict: o.verdict(), standing: Some(standing(o)) }))
        .collect();
    let cases = case_list(results);
    score_table(implementations, &cases, |target, case| cells.get(&(target, case.to_owned())).cloned())
}

/// The scores of `implementations` over `cases` (`<feature>::<id>`, sorted), each pair's [`Cell`] given by
/// `cell` (`None`: no outcome). [`scores`] reads them from a results document; the history reads them from a
/// night's record, against today's case list.
pub fn score_table(implementations: Vec<Implementation>, cases: &[String], cell: impl Fn(&str, &str) -> Option<Cell>) -> Scores {
    let mut by_area: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for c in cases {
        by_area.entry(c.split_once("::").map_or(c.as_str(), |(f, _)| f)).or_default().push(c);
    }
    let score = |feature: &str, list: &[&str]| {
        let mut targets = vec![Tally { tiers: Some(TierCounts::default()), ..Tally::default() }; implementations.len()];
        let mut unserved: Vec<BTreeSet<String>> = vec![BTreeSet::new(); implementations.len()];
        let mut everywhere = 0;
        let mut interop = Some(TierCounts::default());
        for case in list {
            let mut all = true;
            let mut row: Vec<Option<Standing>> = Vec::new();
            for (i, imp) in implementations.iter().enumerate() {
                let c = cell(&imp.name, case);
                let tally = &mut targets[i];
                tally.add(c.as_ref().map(|c| c.verdict));
                all &= imp.control || c.as_ref().map(|c| c.verdict) == Some(Verdict::Pass);
                // A missing outcome ran and met nothing; an unknown standing leaves the tiers unknown.
                let s = match c {
                    None => Some(Standing::Judged(None)),
                    Some(c) => c.standing,
                };
                if let (Some(t), Some(s)) = (tally.tiers.as_mut(), s.as_ref()) {
                    if s.ran() {
                        t.ran += 1;
                        t.count(|tier| s.meets(tier));
                    }
                    if let Standing::NotImplemented(e) = s {
                        t.not_implemented += 1;
                        if !e.is_empty() {
                            unserved[i].insert(e.clone());
                        }
                    }
                }
                if s.is_none() {
                    tally.tiers = None;
                }
                if !imp.control {
                    row.push(s);
                }
            }
            everywhere += usize::from(all);
            match (interop.as_mut(), row.iter().all(Option::is_some)) {
                (Some(t), true) => {
                    let row: Vec<&Standing> = row.iter().flatten().collect();
                    if row.iter().all(|s| s.ran()) {
                        t.ran += 1;
                        t.count(|tier| row.iter().all(|s| s.meets(tier)));
                        t.not_implemented += usize::from(row.iter().any(|s| matches!(s, Standing::NotImplemented(_))));
                    }
                }
                _ => interop = None,
            }
        }
        let any = implementations.iter().any(|i| !i.control);
        let not_implemented =
            if unserved.iter().all(BTreeSet::is_empty) { Vec::new() } else { unserved.into_iter().map(|s| s.into_iter().collect()).collect() };
        AreaScore {
            feature: feature.to_owned(),
            cases: list.len(),
            targets,
            interop: any.then_some(everywhere),
            interop_tiers: interop.filter(|_| any),
            not_implemented,
        }
    };
    let areas: Vec<AreaScore> = by_area.iter().map(|(f, list)| score(f, list)).collect();
    let all: Vec<&str> = by_area.values().flatten().copied().collect();
    Scores { suite_id: suite_id(cases), overall: score("all", &all), areas, implementations }
}

/// `12/15 (80.0%)`-style percentage of `n` over `d`, one decimal; `–` when `d` is 0.
pub fn percent(n: usize, d: usize) -> String {
    if d == 0 { "–".into() } else { format!("{:.1}%", n as f64 * 100.0 / d as f64) }
}

/// `S 63.5% · T 47.1% · E 10.6%`-style figures of an optional tier count; `–` when unknown.
fn tiers_or_dash(t: Option<&TierCounts>) -> String {
    t.map_or("–".to_owned(), TierCounts::line)
}

/// Plain text for the terminal and `compat diff`: interop and each implementation overall, in tiers, then
/// one line per area with the three percentages.
pub fn render_text(s: &Scores) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "tiers (SDK-safe: no breaking finding · typed: no breaking or typed finding · exact: no finding; over the cases run, \
         skipped left out; suite {}, {} cases):",
        s.suite_id, s.overall.cases
    );
    let width = s.implementations.iter().map(|i| heading(i).len()).max().unwrap_or(0).max(7);
    if s.overall.interop.is_some() {
        let _ = writeln!(out, "  {:<width$}  {}", "interop", tiers_or_dash(s.overall.interop_tiers.as_ref()));
    }
    for (t, imp) in s.overall.targets.iter().zip(&s.implementations) {
        let _ = writeln!(out, "  {:<width$}  {}{}", heading(imp), tiers_or_dash(t.tiers.as_ref()), not_run_note(t));
    }
    let _ = writeln!(out, "per feature area (SDK-safe · typed · exact):");
    for a in &s.areas {
        let _ = write!(out, "  {:<22}", a.feature);
        if a.interop.is_some() {
            let _ = write!(out, " interop {}", a.interop_tiers.as_ref().map_or("–".to_owned(), TierCounts::percents));
        }
        for (t, imp) in a.targets.iter().zip(&s.implementations) {
            let _ = write!(out, " | {} {}", imp.name, t.tiers.as_ref().map_or("–".to_owned(), TierCounts::percents));
        }
        out.push('\n');
    }
    out
}

/// ` (33 skipped, 3 not implemented, 1 error)` — what the tiers leave out or count against, zeros left out.
fn not_run_note(t: &Tally) -> String {
    let ni = t.tiers.map_or(0, |x| x.not_implemented);
    let parts: Vec<String> = [(t.skipped, "skipped"), (ni, "not implemented"), (t.error, "error"), (t.missing, "missing")]
        .iter()
        .filter(|p| p.0 > 0)
        .map(|(n, what)| format!("{n} {what}"))
        .collect();
    if parts.is_empty() { String::new() } else { format!(" ({})", parts.join(", ")) }
}

/// The tiers of two documents side by side, for `compat diff`: interop and each implementation, each tier
/// with the change in points; says so when the two scored different case lists.
pub fn render_change(old: &Scores, new: &Scores) -> String {
    let mut out = String::new();
    let p = |t: &TierCounts, tier: Tier| if t.ran == 0 { 0.0 } else { t.met(tier) as f64 * 100.0 / t.ran as f64 };
    let delta = |a: Option<&TierCounts>, b: Option<&TierCounts>| match (a, b) {
        (Some(a), Some(b)) => Tier::ALL
            .iter()
            .map(|t| format!("{} {} → {} ({:+.1} points)", t.name(), percent(a.met(*t), a.ran), percent(b.met(*t), b.ran), p(b, *t) - p(a, *t)))
            .collect::<Vec<_>>()
            .join(" · "),
        (None, Some(b)) => format!("{} (no tiers before)", b.line()),
        _ => "–".to_owned(),
    };
    let _ = writeln!(out, "tiers, before → now:");
    if old.suite_id != new.suite_id {
        let _ = writeln!(
            out,
            "  (the case lists differ: suite {} with {} cases → {} with {}; each side is scored over its own list)",
            old.suite_id, old.overall.cases, new.suite_id, new.overall.cases
        );
    }
    if old.overall.interop.is_some() && new.overall.interop.is_some() {
        let _ = writeln!(out, "  interop: {}", delta(old.overall.interop_tiers.as_ref(), new.overall.interop_tiers.as_ref()));
    }
    for (i, imp) in new.implementations.iter().enumerate() {
        let now = new.overall.targets[i].tiers;
        match old.implementations.iter().position(|o| o.name == imp.name) {
            Some(j) => {
                let _ = writeln!(out, "  {}: {}", heading(imp), delta(old.overall.targets[j].tiers.as_ref(), now.as_ref()));
            }
            None => {
                let _ = writeln!(out, "  {}: new, {}", heading(imp), tiers_or_dash(now.as_ref()));
            }
        }
    }
    out
}

/// The Markdown table atop `summary.md`: areas × (interop, implementations), each cell the three tiers.
pub fn render_markdown(s: &Scores) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "### Tiers: SDK-safe · typed · exact\n");
    let heads: Vec<String> = s.implementations.iter().map(|i| md(&heading(i))).collect();
    let _ = writeln!(out, "| feature area | cases | interop | {} |", heads.join(" | "));
    let _ = writeln!(out, "|---|--:|--:|{}", "--:|".repeat(heads.len()));
    let cell = |t: Option<&TierCounts>| match t {
        Some(t) => format!("{}<br>{}/{}/{} of {}", t.percents(), t.sdk_safe, t.typed, t.exact, t.ran),
        None => "–".to_owned(),
    };
    for a in std::iter::once(&s.overall).chain(&s.areas) {
        let name = if a.feature == "all" { "**all**".to_owned() } else { md(&a.feature) };
        let interop = if a.interop.is_some() { cell(a.interop_tiers.as_ref()) } else { "–".to_owned() };
        let cells: Vec<String> = a
            .targets
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let mut c = cell(t.tiers.as_ref());
                if let Some(e) = a.not_implemented.get(i).filter(|e| !e.is_empty()) {
                    let _ = write!(c, "<br>∅ not implemented: {}", md(&e.join(", ")));
                }
                let rest = apart(t);
                if !rest.is_empty() {
                    let _ = write!(c, "<br>{}", md(&rest));
                }
                c
            })
            .collect();
        let _ = writeln!(out, "| {name} | {} | {interop} | {} |", a.cases, cells.join(" | "));
    }
    let _ = writeln!(
        out,
        "\nEach cell: the share of the cases run (skipped left out) meeting **SDK-safe** (no `breaking` finding), **typed** (no \
         `breaking` or `typed` finding) and **exact** (no finding), then the counts. Declared (`known`) findings count: the tiers \
         are what a client sees. Error and not implemented meet no tier. Interop: cases meeting the tier on every implementation{}, \
         over the cases none of them skipped. Suite {}, {} cases.\n",
        control_note(s),
        s.suite_id,
        s.overall.cases
    );
    out
}

/// What the tally holds apart from `pass`, as `≈ 3 known · ✗ 1 diverges · ⚠ 2 error` (zeros left out).
pub fn apart(t: &Tally) -> String {
    let parts = [
        (Verdict::Pass.symbol(), "pass", t.pass),
        (Verdict::Known.symbol(), "known", t.known),
        (Verdict::Diverges.symbol(), "diverges", t.diverges),
        (Verdict::Fixed.symbol(), "fixed", t.fixed),
        (Verdict::Error.symbol(), "error", t.error),
        (Verdict::Skipped.symbol(), "skipped", t.skipped),
        ("–", "missing", t.missing),
    ];
    parts.iter().filter(|p| p.2 > 0).map(|(s, name, n)| format!("{s} {n} {name}")).collect::<Vec<_>>().join(" · ")
}

/// `name`, or `name (control)`.
pub fn heading(i: &Implementation) -> String {
    if i.control { format!("{} (control)", i.name) } else { i.name.clone() }
}

fn control_note(s: &Scores) -> String {
    let controls: Vec<&str> = s.implementations.iter().filter(|i| i.control).map(|i| i.name.as_str()).collect();
    if controls.is_empty() { String::new() } else { format!(" but the control ({})", controls.join(", ")) }
}
