//! Verdicts and the one table that names them: word, symbol, emoji, meaning and whether it fails a run.
//! Every report takes a verdict's look from here ([`Verdict::symbol`] in the HTML matrix, the terminal and
//! `summary.md`; [`Verdict::emoji`] in the README's coverage table), so the two sets cannot drift apart.
//! The [`Tier`]s a case meets are named here too.

use serde::{Deserialize, Serialize};

/// The verdict of a case on a target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Conformant.
    Pass,
    /// A divergence nobody declared.
    Diverges,
    /// Only declared divergences were observed.
    Known,
    /// A declared divergence is no longer observed.
    Fixed,
    /// The run broke; says nothing about conformance.
    Error,
    /// Not run on this target.
    Skipped,
}

/// How a verdict is named and shown.
struct Look {
    name: &'static str,
    symbol: &'static str,
    emoji: &'static str,
    meaning: &'static str,
    fails: bool,
}

/// The table, in [`Verdict::ALL`] order.
const LOOKS: [(Verdict, Look); 6] = [
    (Verdict::Pass, Look { name: "pass", symbol: "✓", emoji: "✅", meaning: "conformant", fails: false }),
    (Verdict::Known, Look { name: "known", symbol: "≈", emoji: "🟡", meaning: "only divergences declared known for this target", fails: false }),
    (Verdict::Diverges, Look { name: "diverges", symbol: "✗", emoji: "❌", meaning: "a divergence nobody declared", fails: true }),
    (Verdict::Fixed, Look { name: "fixed", symbol: "★", emoji: "🆕", meaning: "a declared known divergence was not observed", fails: true }),
    (Verdict::Error, Look { name: "error", symbol: "⚠", emoji: "⚠️", meaning: "the run broke (transport, endpoint fault, fixture)", fails: true }),
    (Verdict::Skipped, Look { name: "skipped", symbol: "⊘", emoji: "⏭️", meaning: "the target skips the case", fails: false }),
];

impl Verdict {
    /// Every verdict, in report order.
    pub const ALL: [Verdict; 6] = [Verdict::Pass, Verdict::Known, Verdict::Diverges, Verdict::Fixed, Verdict::Error, Verdict::Skipped];

    fn look(self) -> &'static Look {
        &LOOKS.iter().find(|(v, _)| *v == self).expect("every verdict has a row in LOOKS").1
    }

    /// Lower-case name.
    pub fn name(self) -> &'static str {
        self.look().name
    }

    /// The symbol shown with the verdict's colour, so no verdict is told by colour alone.
    pub fn symbol(self) -> &'static str {
        self.look().symbol
    }

    /// The emoji of Markdown tables read on GitHub (the README's coverage table).
    pub fn emoji(self) -> &'static str {
        self.look().emoji
    }

    /// What the verdict means, for legends.
    pub fn meaning(self) -> &'static str {
        self.look().meaning
    }

    /// The word with the deciding severity when there is one: `known (spec)`, `pass`.
    pub fn with_severity(self, severity: Option<crate::rules::Severity>) -> String {
        match severity {
            Some(s) => format!("{self} ({s})"),
            None => self.name().to_owned(),
        }
    }

    /// Whether this verdict fails `cargo test` and `compat run`.
    pub fn fails(self) -> bool {
        self.look().fails
    }
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The tiers of compatibility, each a superset of the next: what a client of the official SDKs can count on.
/// Decided from an outcome's findings by `report::tiers::standing` (whether or not they were declared known).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Tier {
    /// No `breaking` finding: code using the official SDKs works.
    SdkSafe,
    /// No `breaking` or `typed` finding: the SDKs' typed contract holds too.
    Typed,
    /// No finding at all: the answer is what OpenAI's specification says.
    Exact,
}

impl Tier {
    /// Every tier, loosest first.
    pub const ALL: [Tier; 3] = [Tier::SdkSafe, Tier::Typed, Tier::Exact];

    /// `SDK-safe`, `typed`, `exact`.
    pub fn name(self) -> &'static str {
        match self {
            Tier::SdkSafe => "SDK-safe",
            Tier::Typed => "typed",
            Tier::Exact => "exact",
        }
    }

    /// A one-letter key for narrow places (census cells, badges' file names): `S`, `T`, `E`.
    pub fn key(self) -> &'static str {
        match self {
            Tier::SdkSafe => "S",
            Tier::Typed => "T",
            Tier::Exact => "E",
        }
    }

    /// A name for file stems and attributes: `sdk-safe`, `typed`, `exact`.
    pub fn slug(self) -> &'static str {
        match self {
            Tier::SdkSafe => "sdk-safe",
            Tier::Typed => "typed",
            Tier::Exact => "exact",
        }
    }

    /// What meeting it means, for legends.
    pub fn meaning(self) -> &'static str {
        match self {
            Tier::SdkSafe => "no breaking finding: code using the official SDKs works",
            Tier::Typed => "no breaking or typed finding: the SDKs' types hold too",
            Tier::Exact => "no finding at all: exactly as OpenAI's specification says",
        }
    }
}

impl std::fmt::Display for Tier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_follows_all_and_its_names_are_the_serde_names() {
        for (i, v) in Verdict::ALL.iter().enumerate() {
            assert_eq!(LOOKS[i].0, *v);
            assert_eq!(serde_json::to_value(v).unwrap(), serde_json::Value::from(v.name()));
        }
    }

    #[test]
    fn tiers_are_ordered_loosest_first_and_serialize_as_their_slugs() {
        assert!(Tier::SdkSafe < Tier::Typed && Tier::Typed < Tier::Exact);
        for t in Tier::ALL {
            assert_eq!(serde_json::to_value(t).unwrap(), serde_json::Value::from(t.slug()));
        }
    }
}
