//! Which tier each outcome meets — what a client sees, whatever the verdict says about declarations.
//!
//! An outcome's [`Standing`] is one of:
//! - judged (`pass`, `known`, `diverges`, `fixed`), meeting the highest [`Tier`] its findings allow, **all**
//!   findings counted, declared known or not (a `known (spec)` case is still SDK-safe and typed: the tiers
//!   are about what the client sees, not about what was declared): a `breaking` finding meets none; else a
//!   `typed` finding meets SDK-safe; else any finding (`spec`) meets typed; no finding at all meets exact (a
//!   `pass` — or a `fixed` whose declared divergences all vanished);
//! - **not implemented** (the target has no route for the endpoint, [`Outcome::not_implemented`]): meets no tier;
//! - **error** (the run broke): meets no tier and says nothing about conformance;
//! - **skipped**: not run, so left out of the target's denominator.
//!
//! [`Standing::letter`] is how history keeps it, one character per case and target.

use crate::outcome::{Outcome, Tier};
use crate::rules::Severity;

/// What an outcome counts as in the tiers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Standing {
    /// Judged: the highest tier met (`None`: a breaking finding, so none).
    Judged(Option<Tier>),
    /// No route for this endpoint (named).
    NotImplemented(String),
    /// The run broke.
    Error,
    /// Not run on this target.
    Skipped,
}

impl Standing {
    /// Whether it meets `tier`.
    pub fn meets(&self, tier: Tier) -> bool {
        matches!(self, Standing::Judged(Some(best)) if *best >= tier)
    }

    /// Whether it counts in the target's denominator (everything but `skipped`).
    pub fn ran(&self) -> bool {
        !matches!(self, Standing::Skipped)
    }

    /// How history keeps it: `3` exact, `2` typed, `1` SDK-safe, `0` none, `n` not implemented, `e` error,
    /// `s` skipped.
    pub fn letter(&self) -> char {
        match self {
            Standing::Judged(Some(Tier::Exact)) => '3',
            Standing::Judged(Some(Tier::Typed)) => '2',
            Standing::Judged(Some(Tier::SdkSafe)) => '1',
            Standing::Judged(None) => '0',
            Standing::NotImplemented(_) => 'n',
            Standing::Error => 'e',
            Standing::Skipped => 's',
        }
    }

    /// The standing a history letter stands for (`None` for `.`, no outcome, and anything unknown); the
    /// endpoint of a `not implemented` is not kept.
    pub fn from_letter(c: char) -> Option<Standing> {
        Some(match c {
            '3' => Standing::Judged(Some(Tier::Exact)),
            '2' => Standing::Judged(Some(Tier::Typed)),
            '1' => Standing::Judged(Some(Tier::SdkSafe)),
            '0' => Standing::Judged(None),
            'n' => Standing::NotImplemented(String::new()),
            'e' => Standing::Error,
            's' => Standing::Skipped,
            _ => return None,
        })
    }

    /// A short label: `exact`, `typed`, `SDK-safe`, `none`, `not implemented`, `error`, `skipped`.
    pub fn label(&self) -> String {
        match self {
            Standing::Judged(Some(t)) => t.name().to_owned(),
            Standing::Judged(None) => "no tier".to_owned(),
            Standing::NotImplemented(e) if e.is_empty() => "not implemented".to_owned(),
            Standing::NotImplemented(e) => format!("not implemented ({e})"),
            Standing::Error => "error".to_owned(),
            Standing::Skipped => "skipped".to_owned(),
        }
    }
}

/// The highest tier findings of these severities allow.
pub fn best_tier(severities: impl IntoIterator<Item = Severity>) -> Option<Tier> {
    match severities.into_iter().max() {
        None => Some(Tier::Exact),
        Some(Severity::Spec) => Some(Tier::Typed),
        Some(Severity::Typed) => Some(Tier::SdkSafe),
        Some(Severity::Breaking) => None,
    }
}

/// Whether a finding of `severity` keeps a case out of `tier`.
pub fn disqualifies(severity: Severity, tier: Tier) -> bool {
    match tier {
        Tier::SdkSafe => severity == Severity::Breaking,
        Tier::Typed => severity >= Severity::Typed,
        Tier::Exact => true,
    }
}

/// The standing of an outcome.
pub fn standing(o: &Outcome) -> Standing {
    if o.skip_reason().is_some() {
        return Standing::Skipped;
    }
    if o.error().is_some() {
        return Standing::Error;
    }
    if let Some(endpoint) = o.not_implemented() {
        return Standing::NotImplemented(endpoint);
    }
    Standing::Judged(best_tier(o.findings().iter().map(|f| f.severity)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_worst_finding_decides_and_letters_round_trip() {
        assert_eq!(best_tier([]), Some(Tier::Exact));
        assert_eq!(best_tier([Severity::Spec, Severity::Spec]), Some(Tier::Typed));
        assert_eq!(best_tier([Severity::Spec, Severity::Typed]), Some(Tier::SdkSafe));
        assert_eq!(best_tier([Severity::Typed, Severity::Breaking]), None);
        let typed = Standing::Judged(Some(Tier::Typed));
        assert!(typed.meets(Tier::SdkSafe) && typed.meets(Tier::Typed) && !typed.meets(Tier::Exact));
        for s in [Standing::NotImplemented(String::new()), Standing::Error, Standing::Skipped, Standing::Judged(None)] {
            assert!(Tier::ALL.iter().all(|t| !s.meets(*t)), "{s:?}");
            assert_eq!(Standing::from_letter(s.letter()), Some(s));
        }
        assert_eq!(Standing::from_letter('.'), None);
        assert!(disqualifies(Severity::Typed, Tier::Typed) && !disqualifies(Severity::Typed, Tier::SdkSafe));
        assert!(disqualifies(Severity::Spec, Tier::Exact) && !disqualifies(Severity::Spec, Tier::Typed));
    }
}
