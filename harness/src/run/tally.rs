//! The one judge of a case: the passes of a run (`repeat: k` of them) in, the judged state out.
//!
//! Each pass is decided on its own ([`outcome::decide`], a known divergence due as its `when` says on that
//! pass's answers); the tally keeps every pass's findings (deduplicated), pass^k, and for each known divergence
//! in how many passes it was due and observed. The verdict is decided once over all findings, a known
//! divergence due if it was due in any pass; a pass that failed on its own (a known divergence some passes did
//! not show) makes the verdict that pass's, `fixed`.

use super::step::{Pass, subject};
use crate::case::{Case, KnownDivergence, When};
use crate::outcome::{self, Finding, Judged, Judgement, Outcome, Repeats, StepRecord, Verdict};

/// The passes of a case so far.
pub(super) struct Tally {
    findings: Vec<Finding>,
    extensions: Vec<String>,
    passed: u32,
    first_failing: Option<Judged>,
    due: Vec<u32>,
    seen: Vec<u32>,
}

impl Tally {
    pub(super) fn new(case: &Case) -> Self {
        let declared = case.known_divergences.len() + case.expected.len();
        Tally { findings: Vec::new(), extensions: Vec::new(), passed: 0, first_failing: None, due: vec![0; declared], seen: vec![0; declared] }
    }

    /// Adds one pass that got its answers (a pass that broke ends the run as an error instead).
    /// Its findings and extensions move into the tally; its steps stay.
    pub(super) fn add_pass(&mut self, case: &Case, target: &str, pass: &mut Pass) {
        let mut findings = std::mem::take(&mut pass.findings);
        let decision = outcome::decide(case, target, &mut findings, |_, k| due_in(k, &pass.steps));
        for k in &decision.known {
            self.due[k.index] += u32::from(k.due);
            self.seen[k.index] += u32::from(k.observed > 0);
        }
        if Verdict::from(decision.verdict).fails() {
            self.first_failing.get_or_insert(decision.verdict);
        } else {
            self.passed += 1;
        }
        for f in findings {
            let same = |g: &Finding| g.rule == f.rule && g.path == f.path && g.chunk == f.chunk && g.step == f.step && g.message == f.message;
            if !self.findings.iter().any(same) {
                self.findings.push(f);
            }
        }
        for ext in std::mem::take(&mut pass.extensions) {
            if !self.extensions.contains(&ext) {
                self.extensions.push(ext);
            }
        }
    }

    /// The judgement over every pass; sets the outcome's pass^k and flakiness.
    pub(super) fn finish(mut self, case: &Case, target: &str, outcome: &mut Outcome) -> Judgement {
        let due = &self.due;
        let mut decision = outcome::decide(case, target, &mut self.findings, |i, _| due[i] > 0);
        if case.repeat > 1 {
            decision.known.iter_mut().for_each(|k| k.runs_observed = Some(self.seen[k.index]));
            outcome.repeats = Some(Repeats { passed: self.passed, total: case.repeat });
        }
        if let Some(failed) = self.first_failing.filter(|_| !Verdict::from(decision.verdict).fails()) {
            decision.verdict = failed;
        }
        outcome.timing.flaky = outcome.timing.retries > 0 && !Verdict::from(decision.verdict).fails();
        Judgement {
            verdict: decision.verdict,
            severity: decision.severity,
            findings: self.findings,
            known: decision.known,
            extensions: self.extensions,
        }
    }
}

/// Whether a known divergence was due on a pass: `when: present` is due when its path holds a value in the
/// checked answer of its step (of any step, when it names none).
fn due_in(k: &KnownDivergence, steps: &[StepRecord]) -> bool {
    match &k.when {
        When::Present { .. } => {
            steps.iter().filter(|s| k.step.is_none() || k.step == s.name).any(|s| k.when.due(s.exchanges.last().and_then(subject).as_ref()))
        }
        other => other.due(None),
    }
}
