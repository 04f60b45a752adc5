//! History: a compact record per run (one per night in the nightly workflow), and the scores of every
//! recorded night recomputed against today's case list.
//!
//! A [`Night`] keeps what a timeline needs and nothing else: the run's date, harness and spec versions, the
//! case list with its fingerprint ([`super::interop::suite_id`]), and per target one letter per case — the
//! verdict ([`letter`]) — plus the scores as they were that night ([`super::interop::Scores`]). About one
//! byte per outcome: a year of 10 targets × 500 cases is under 2 MB. `compat history add` writes one file
//! per run, `<history>/<date>.json`, so appending never rewrites the past and two runs never contend.
//!
//! When the case list changes, [`rescore`] scores every night against **today's** list (the newest
//! night's): a case that did not exist that night counts as missing there, as a missing result does in the
//! interop score, and the night is marked ([`Rescored::added`], [`Rescored::dropped`]) so a dip that only
//! reflects new cases is not read as a regression. The timeline page is [`super::history_html`].
//!
//! Since tiers, a target also keeps one [`Standing`] letter per case (`tiers`, [`Standing::letter`]): a verdict
//! letter cannot say which tier a `known` case meets. A record written before (no `tiers`) still reads, at the
//! same version (the field is additive); its nights have verdicts and no tiers, shown as such.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::interop::{self, Cell, Implementation, Scores};
use super::json::Results;
use super::tiers::{Standing, standing};
use crate::outcome::{Mode, Verdict};

/// The `format` tag of a night's record.
pub const FORMAT: &str = "compat-history";

/// The record version this harness writes and reads.
pub const VERSION: u32 = 1;

/// One run, as history keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Night {
    /// Always [`FORMAT`].
    pub format: String,
    /// [`VERSION`].
    pub version: u32,
    /// The run's date, RFC 3339 UTC.
    pub date: String,
    /// Harness version of the run.
    pub harness_version: String,
    /// Spec version of the run.
    pub spec_version: String,
    /// Fingerprint of `cases`.
    pub suite_id: String,
    /// The case list, `<feature>::<id>`, sorted.
    pub cases: Vec<String>,
    /// Per target, its verdicts.
    pub targets: Vec<NightTarget>,
    /// The scores as computed that night, over that night's list.
    pub scores: Scores,
}

/// One target of a night.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NightTarget {
    /// Target name.
    pub name: String,
    /// A control target.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub control: bool,
    /// Replay or live.
    pub mode: Mode,
    /// One letter per case of [`Night::cases`], in order ([`letter`]).
    pub verdicts: String,
    /// One standing letter per case ([`Standing::letter`], `.` for no outcome); empty in records written before
    /// tiers.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub tiers: String,
}

/// The letter a verdict is kept as: `p`ass, `k`nown, `d`iverges, `f`ixed, `e`rror, `s`kipped; `.` for no
/// outcome.
pub fn letter(v: Option<Verdict>) -> char {
    match v {
        Some(Verdict::Pass) => 'p',
        Some(Verdict::Known) => 'k',
        Some(Verdict::Diverges) => 'd',
        Some(Verdict::Fixed) => 'f',
        Some(Verdict::Error) => 'e',
        Some(Verdict::Skipped) => 's',
        None => '.',
    }
}

/// The verdict a letter stands for (`None` for `.` and anything unknown).
pub fn verdict(c: char) -> Option<Verdict> {
    Some(match c {
        'p' => Verdict::Pass,
        'k' => Verdict::Known,
        'd' => Verdict::Diverges,
        'f' => Verdict::Fixed,
        'e' => Verdict::Error,
        's' => Verdict::Skipped,
        _ => return None,
    })
}

/// The record of a results document.
pub fn night(results: &Results) -> Night {
    let scores = interop::scores(results);
    let cases = interop::case_list(results);
    let index: BTreeMap<&str, usize> = cases.iter().enumerate().map(|(i, c)| (c.as_str(), i)).collect();
    let targets = scores
        .implementations
        .iter()
        .map(|imp| {
            let mut letters = vec!['.'; cases.len()];
            let mut tiers = vec!['.'; cases.len()];
            for o in results.outcomes.iter().filter(|o| o.target == imp.name) {
                if let Some(&i) = index.get(format!("{}::{}", o.feature, o.id).as_str()) {
                    letters[i] = letter(Some(o.verdict()));
                    tiers[i] = standing(o).letter();
                }
            }
            let mode = results.run.targets.iter().find(|t| t.name == imp.name).map_or(Mode::Replay, |t| t.mode);
            NightTarget {
                name: imp.name.clone(),
                control: imp.control,
                mode,
                verdicts: letters.into_iter().collect(),
                tiers: tiers.into_iter().collect(),
            }
        })
        .collect();
    Night {
        format: FORMAT.into(),
        version: VERSION,
        date: results.run.date.clone(),
        harness_version: results.run.harness_version.clone(),
        spec_version: results.run.spec_version.clone(),
        suite_id: scores.suite_id.clone(),
        cases,
        targets,
        scores,
    }
}

/// The file name of a night: its date with `:` as `-`, `.json` (sorts by date).
pub fn file_name(night: &Night) -> String {
    let safe: String = night.date.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '-' }).collect();
    format!("{safe}.json")
}

/// Reads a night's record, checking its format and version.
pub fn parse(text: &str) -> Result<Night, String> {
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    if value.get("format").and_then(|f| f.as_str()) != Some(FORMAT) {
        return Err(format!("not a {FORMAT} record"));
    }
    match value.get("version").and_then(|v| v.as_u64()) {
        Some(v) if v == u64::from(VERSION) => {}
        other => return Err(format!("version {other:?} is not supported (this harness reads version {VERSION})")),
    }
    let night: Night = serde_json::from_value(value).map_err(|e| format!("does not match the {FORMAT} v{VERSION} shape: {e}"))?;
    if let Some(t) = night.targets.iter().find(|t| t.verdicts.chars().count() != night.cases.len()) {
        return Err(format!("target `{}` has {} verdicts for {} cases", t.name, t.verdicts.chars().count(), night.cases.len()));
    }
    if let Some(t) = night.targets.iter().find(|t| !t.tiers.is_empty() && t.tiers.chars().count() != night.cases.len()) {
        return Err(format!("target `{}` has {} tier letters for {} cases", t.name, t.tiers.chars().count(), night.cases.len()));
    }
    Ok(night)
}

/// A night scored against today's case list.
#[derive(Debug, Clone, PartialEq)]
pub struct Rescored {
    /// The night's date.
    pub date: String,
    /// Its harness version.
    pub harness_version: String,
    /// Its scores over today's list.
    pub scores: Scores,
    /// Cases of today's list that the night did not have (counted as missing).
    pub added: usize,
    /// Cases the night had that today's list has not (left out).
    pub dropped: usize,
}

impl Rescored {
    /// Whether the night scored a different case list than today's.
    pub fn differs(&self) -> bool {
        self.added > 0 || self.dropped > 0
    }
}

/// Every night (sorted by date) scored against the newest night's case list and targets. Targets a night
/// did not run count as missing there.
pub fn rescore(nights: &[Night]) -> Vec<Rescored> {
    let mut sorted: Vec<&Night> = nights.iter().collect();
    sorted.sort_by(|a, b| a.date.cmp(&b.date));
    let Some(today) = sorted.last() else { return Vec::new() };
    let today_set: BTreeSet<&str> = today.cases.iter().map(String::as_str).collect();
    let implementations: Vec<Implementation> = today.targets.iter().map(|t| Implementation { name: t.name.clone(), control: t.control }).collect();
    sorted
        .iter()
        .map(|n| {
            let index: BTreeMap<&str, usize> = n.cases.iter().enumerate().map(|(i, c)| (c.as_str(), i)).collect();
            let letters: BTreeMap<&str, (Vec<char>, Vec<char>)> =
                n.targets.iter().map(|t| (t.name.as_str(), (t.verdicts.chars().collect(), t.tiers.chars().collect()))).collect();
            let scores = interop::score_table(implementations.clone(), &today.cases, |target, case| {
                let i = *index.get(case)?;
                let (verdicts, tiers) = letters.get(target)?;
                // No tier letters (a record from before tiers): the standing is unknown, not "none met".
                Some(Cell { verdict: verdict(*verdicts.get(i)?)?, standing: tiers.get(i).and_then(|c| Standing::from_letter(*c)) })
            });
            let added = today.cases.iter().filter(|c| !index.contains_key(c.as_str())).count();
            let dropped = n.cases.iter().filter(|c| !today_set.contains(c.as_str())).count();
            Rescored { date: n.date.clone(), harness_version: n.harness_version.clone(), scores, added, dropped }
        })
        .collect()
}
