//! The verdict of a judged case: its findings matched against the case's declared known divergences.

use super::{Judged, KnownStatus};
use crate::case::{Case, KnownDivergence};
use crate::outcome::Finding;
use crate::rules::Severity;

/// What [`decide`] makes of a run's findings.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    /// The verdict.
    pub verdict: Judged,
    /// Worst severity among the findings that decided it (`diverges`: unexplained, `known`: explained).
    pub severity: Option<Severity>,
    /// Each declared known divergence and how many findings it explains.
    pub known: Vec<KnownStatus>,
}

/// Matches `findings` against the known divergences declared for `target` (findings get `known` set when
/// explained) and decides the verdict. `due(index, divergence)` says which known divergences were due on the
/// answers judged (their `when`; for `repeat: k`, due in any run): one not due and not observed does not make
/// the case `fixed`.
pub fn decide(case: &Case, target: &str, findings: &mut [Finding], due: impl Fn(usize, &KnownDivergence) -> bool) -> Decision {
    let known: Vec<KnownStatus> = case
        .known_for(target)
        .map(|(index, file, k)| KnownStatus {
            index,
            line: k.referenced.line(),
            file: file.map(str::to_owned),
            divergence: k.value.clone(),
            observed: 0,
            due: due(index, &k.value),
            runs_observed: None,
            nights_observed: None,
        })
        .collect();
    decide_against(known, findings)
}

/// [`decide`] where nothing is declared known (recorded traffic, which has no case): any finding diverges.
pub fn decide_undeclared(findings: &mut [Finding]) -> Decision {
    decide_against(Vec::new(), findings)
}

fn decide_against(mut known: Vec<KnownStatus>, findings: &mut [Finding]) -> Decision {
    for f in findings.iter_mut() {
        if let Some(k) = known.iter_mut().find(|k| explains(&k.divergence, f)) {
            f.known = Some(k.index);
            k.observed += 1;
        }
    }
    let worst = |explained: bool| findings.iter().filter(|f| f.known.is_some() == explained).map(|f| f.severity).max();
    if let Some(s) = worst(false) {
        return Decision { verdict: Judged::Diverges, severity: Some(s), known };
    }
    let verdict = if known.iter().any(|k| k.observed == 0 && k.due) {
        Judged::Fixed
    } else if findings.is_empty() {
        Judged::Pass
    } else {
        Judged::Known
    };
    let severity = if verdict == Judged::Known { worst(true) } else { None };
    Decision { verdict, severity, known }
}

/// Whether a declared divergence explains a finding: its rule (exact, or a prefix at a `.` boundary), its path
/// pattern, its severity and (when it names one) its step all agree with the finding's.
pub fn explains(k: &KnownDivergence, f: &Finding) -> bool {
    let rule_ok = k.rule.as_deref().is_none_or(|r| f.rule.strip_prefix(r).is_some_and(|rest| rest.is_empty() || rest.starts_with('.')));
    let path_ok = k.path.as_ref().is_none_or(|p| p.matches(&f.path));
    let severity_ok = k.severity.is_none_or(|s| s == f.severity);
    let step_ok = k.step.is_none() || k.step == f.step;
    rule_ok && path_ok && severity_ok && step_ok
}

#[cfg(test)]
mod tests {
    use super::explains;
    use crate::case::KnownDivergence;
    use crate::outcome::Finding;
    use crate::rules::SCHEMA_SPEC;

    fn known(rule: &str) -> KnownDivergence {
        KnownDivergence {
            targets: vec!["t".into()],
            rule: Some(rule.into()),
            path: None,
            reason: "r".into(),
            link: "l".into(),
            severity: None,
            step: None,
            when: Default::default(),
        }
    }

    #[test]
    fn a_rule_explains_itself_and_its_family_at_a_dot_only() {
        let f = Finding::new(&SCHEMA_SPEC, "$.id", "m"); // rule `schema.spec`
        for (rule, explained) in
            [("schema.spec", true), ("schema", true), ("schema.spe", false), ("schem", false), ("schema.spec.x", false), ("stream", false)]
        {
            assert_eq!(explains(&known(rule), &f), explained, "rule `{rule}` on a `schema.spec` finding");
        }
    }
}
