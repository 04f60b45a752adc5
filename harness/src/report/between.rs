//! Two implementations compared case by case, tier by tier: `compat diff results.json --between A B` (two
//! targets of one document) or `compat diff a.json b.json --between A B` (A from the first document, B from
//! the second — two servers recorded on different days, or one server before and after an upgrade).
//!
//! [`between`] pairs the two targets' outcomes by `<feature>::<id>` and takes each case's [`Standing`]
//! ([`super::tiers`]). A case is **different** when one side meets a tier the other does not; it is listed
//! once, under the loosest tier where they part (the tiers nest: SDK-safe ⊇ typed ⊇ exact), with the
//! findings that make the difference — those of the lower side that keep it out of that tier (a `breaking`
//! finding for SDK-safe, `breaking` or `typed` for typed, any finding for exact), or what it answered instead
//! (not implemented, error). Cases skipped on either side, or absent from one, are not compared and are counted
//! apart. A pure function of the documents: the text rendering is [`render_text`].

use std::collections::BTreeMap;
use std::fmt::Write;

use super::json::Results;
use super::tiers::{Standing, disqualifies, standing};
use crate::outcome::{Outcome, Tier};

/// One case where the two implementations part.
#[derive(Debug, Clone, PartialEq)]
pub struct Parting {
    /// `<feature>::<id>`.
    pub case: String,
    /// The loosest tier one side meets and the other does not.
    pub tier: Tier,
    /// Whether `a` is the side that meets it.
    pub a_meets: bool,
    /// Each side's standing, `a` then `b`.
    pub standings: [Standing; 2],
    /// Why the lower side misses the tier: one line per finding (`rule at path (severity): message`), or what
    /// it answered instead.
    pub why: Vec<String>,
}

/// Per tier: how many compared cases meet it on both sides, only on `a`, only on `b`, on neither.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TierSplit {
    /// Meet it on both.
    pub both: usize,
    /// Only on `a`.
    pub only_a: usize,
    /// Only on `b`.
    pub only_b: usize,
    /// On neither.
    pub neither: usize,
}

/// The comparison of two implementations.
#[derive(Debug, Clone, PartialEq)]
pub struct Between {
    /// The two target names, `a` then `b`.
    pub names: [String; 2],
    /// Cases compared (run on both sides).
    pub compared: usize,
    /// Cases not compared: skipped on a side, or absent from one.
    pub not_compared: usize,
    /// One split per tier, in [`Tier::ALL`] order.
    pub splits: [TierSplit; 3],
    /// The cases where they part, by case name.
    pub partings: Vec<Parting>,
}

/// Compares target `a` of `left` with target `b` of `right` (the same document, for two targets of one run);
/// `Err` names a target the document does not have.
pub fn between(left: &Results, a: &str, right: &Results, b: &str) -> Result<Between, String> {
    let (sa, sb) = (outcomes_of(left, a)?, outcomes_of(right, b)?);
    let mut cases: Vec<&String> = sa.keys().chain(sb.keys()).collect();
    cases.sort();
    cases.dedup();
    let mut out = Between { names: [a.to_owned(), b.to_owned()], compared: 0, not_compared: 0, splits: Default::default(), partings: Vec::new() };
    for case in cases {
        let (Some(oa), Some(ob)) = (sa.get(case), sb.get(case)) else {
            out.not_compared += 1;
            continue;
        };
        let (xa, xb) = (standing(oa), standing(ob));
        if !xa.ran() || !xb.ran() {
            out.not_compared += 1;
            continue;
        }
        out.compared += 1;
        for (i, tier) in Tier::ALL.iter().enumerate() {
            let split = &mut out.splits[i];
            match (xa.meets(*tier), xb.meets(*tier)) {
                (true, true) => split.both += 1,
                (true, false) => split.only_a += 1,
                (false, true) => split.only_b += 1,
                (false, false) => split.neither += 1,
            }
        }
        if let Some(tier) = Tier::ALL.into_iter().find(|t| xa.meets(*t) != xb.meets(*t)) {
            let a_meets = xa.meets(tier);
            let (lower, lower_standing) = if a_meets { (ob, &xb) } else { (oa, &xa) };
            out.partings.push(Parting { case: case.clone(), tier, a_meets, why: why(lower, lower_standing, tier), standings: [xa, xb] });
        }
    }
    Ok(out)
}

/// The outcomes of target `t` by `<feature>::<id>`; `Err` when the document has no such target.
fn outcomes_of<'a>(doc: &'a Results, t: &str) -> Result<BTreeMap<String, &'a Outcome>, String> {
    if !doc.run.targets.iter().any(|x| x.name == t) {
        let known: Vec<&str> = doc.run.targets.iter().map(|x| x.name.as_str()).collect();
        return Err(format!("no target `{t}` in the document (it has: {})", known.join(", ")));
    }
    Ok(doc.outcomes.iter().filter(|o| o.target == t).map(|o| (format!("{}::{}", o.feature, o.id), o)).collect())
}

/// What keeps `o` out of `tier`.
fn why(o: &Outcome, s: &Standing, tier: Tier) -> Vec<String> {
    match s {
        Standing::NotImplemented(endpoint) => {
            let status = o.exchange.as_ref().map_or(String::new(), |x| format!(" (status {})", x.status));
            vec![format!("not implemented: no route for `{endpoint}`{status}")]
        }
        Standing::Error => vec![format!("error: {}", o.error().map_or("", |e| e.message.lines().next().unwrap_or("")))],
        _ => {
            let findings: Vec<&crate::outcome::Finding> = o.findings().iter().filter(|f| disqualifies(f.severity, tier)).collect();
            super::group_findings(findings)
                .iter()
                .map(|g| {
                    let f = g.first;
                    let known = if f.known.is_some() { ", declared known" } else { "" };
                    let more = if g.count > 1 { format!(" (×{})", g.count) } else { String::new() };
                    format!("{} ({}{known}){more}: {}", f.rule_at_path(), f.severity, f.message)
                })
                .collect()
        }
    }
}

/// The comparison as text: the split per tier, then the cases where they part, grouped by tier.
pub fn render_text(c: &Between) -> String {
    let [a, b] = &c.names;
    let mut out = String::new();
    let _ = writeln!(out, "{a} vs {b}: {} cases compared ({} not compared: skipped on a side, or absent from one)", c.compared, c.not_compared);
    for (tier, s) in Tier::ALL.iter().zip(&c.splits) {
        let _ = writeln!(out, "  {:<9} both {} · only {a} {} · only {b} {} · neither {}", tier.name(), s.both, s.only_a, s.only_b, s.neither);
    }
    for tier in Tier::ALL {
        let partings: Vec<&Parting> = c.partings.iter().filter(|p| p.tier == tier).collect();
        if partings.is_empty() {
            continue;
        }
        let _ = writeln!(out, "\n{} — one meets it, the other does not ({}):", tier.name(), partings.len());
        for p in partings {
            let (up, down) = if p.a_meets { (a, b) } else { (b, a) };
            let [sa, sb] = &p.standings;
            let _ = writeln!(out, "  {}: {up} meets {}, {down} does not  [{a}: {}; {b}: {}]", p.case, tier.name(), sa.label(), sb.label());
            for line in &p.why {
                let _ = writeln!(out, "    {down}: {line}");
            }
        }
    }
    if c.partings.is_empty() {
        let _ = writeln!(out, "\nNo compared case meets a tier on one side and not on the other.");
    }
    out
}
