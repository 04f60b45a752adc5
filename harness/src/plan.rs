//! The trial plan: which (target, case) pairs a run makes, under which names, and which of them a
//! libtest-style filter selects. One plan serves both entry points — the `compat` CLI and the `conformance`
//! test target — so they name, order and skip trials the same way.

use std::sync::Arc;

use crate::case::LoadedCase;
use crate::outcome::{ErrorKind, Mode, Outcome, RunError, State, trial_name};
use crate::report::json::{RunInfo, TargetInfo};
use crate::run::RunMode;
use crate::suite::{Suite, broken_case_outcome};
use crate::target::Target;

/// Which trials a libtest-style filter selects (mirrors `cargo test NAME`, `--exact`, `--skip`).
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// Substring (or, with `exact`, the whole name) a trial must have.
    pub filter: Option<String>,
    /// Match `filter` and `skip` exactly.
    pub exact: bool,
    /// Names (substrings unless `exact`) to leave out.
    pub skip: Vec<String>,
}

impl Selection {
    /// Whether the trial `name` runs.
    pub fn selects(&self, name: &str) -> bool {
        let hit = |p: &str| if self.exact { name == p } else { name.contains(p) };
        self.filter.as_deref().is_none_or(hit) && !self.skip.iter().any(|s| hit(s))
    }
}

/// One trial of a run.
// Most trials are `Case`s; boxing it to even out the variants would add an allocation per trial for nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum PlannedTrial {
    /// A case on a target.
    Case {
        /// `<target>::<feature>::<id>`.
        name: String,
        /// The target (shared by all its trials).
        target: Arc<Target>,
        /// The case (shared by its trials on every target).
        case: Arc<LoadedCase>,
        /// When the target skips the case: its outcome (the trial itself never runs).
        skipped: Option<Outcome>,
    },
    /// A case file that did not load: one failing trial, `load::<feature>::<file stem>`.
    Broken {
        /// Its outcome, an `error` naming file:line:col.
        outcome: Outcome,
    },
}

impl PlannedTrial {
    /// The trial's name.
    pub fn name(&self) -> String {
        match self {
            PlannedTrial::Case { name, .. } => name.clone(),
            PlannedTrial::Broken { outcome } => outcome.name(),
        }
    }

    /// The outcome of a trial whose task failed (`why`) before it gave one: an error of the harness.
    pub fn failed_task(&self, why: &str, mode: Mode) -> Outcome {
        let error = RunError { kind: ErrorKind::Harness, message: format!("harness bug: the trial's task failed: {why}"), diff: None };
        match self {
            PlannedTrial::Case { target, case, .. } => Outcome::new(&case.case, &case.file, case.line, &target.name, mode, State::Broken(error)),
            PlannedTrial::Broken { outcome } => outcome.clone(),
        }
    }

    /// The outcome known without running: a skipped case's, or a broken file's.
    pub fn known_outcome(&self) -> Option<&Outcome> {
        match self {
            PlannedTrial::Case { skipped, .. } => skipped.as_ref(),
            PlannedTrial::Broken { outcome } => Some(outcome),
        }
    }
}

/// The trials of a run on `targets`: every target × every case, in suite order, then one `load::…` trial per
/// broken case file. `mode` is what the skipped outcomes say.
pub fn plan(suite: &Suite, targets: &[&Target], mode: RunMode) -> Vec<PlannedTrial> {
    let mut plan = plan_pairs(pairs(targets, &suite.cases), mode);
    plan.extend(suite.broken.iter().map(|b| PlannedTrial::Broken { outcome: broken_case_outcome(b) }));
    plan
}

/// The trials of `pairs`, in their order (a benchmark's own selection: no broken files).
pub fn plan_pairs(pairs: Vec<Pair>, mode: RunMode) -> Vec<PlannedTrial> {
    let mut plan = Vec::new();
    for (target, loaded) in pairs {
        let name = trial_name(&target.name, &loaded.case.feature, &loaded.case.id);
        // Decided here, before anything is sent: an override's skip, a profile the target does not run, a role
        // it has no model for (see `Target::planned_skip`).
        let reason = target.planned_skip(&loaded.case, mode == RunMode::Live);
        let skipped =
            reason.map(|reason| Outcome::new(&loaded.case, &loaded.file, loaded.line, &target.name, mode.into(), State::Skipped { reason }));
        plan.push(PlannedTrial::Case { name, target, case: loaded, skipped });
    }
    plan
}

/// A case to run on a target. Shared, not copied: a run of thousands of trials names the same few targets and
/// cases over and over (at 5,000 trials, a copy of each per trial was 60 MB and half a million allocations).
pub type Pair = (Arc<Target>, Arc<LoadedCase>);

/// Every target × every case, in that order, one shared value per target and per case.
pub fn pairs(targets: &[&Target], cases: &[LoadedCase]) -> Vec<Pair> {
    let cases: Vec<Arc<LoadedCase>> = cases.iter().cloned().map(Arc::new).collect();
    targets
        .iter()
        .flat_map(|t| {
            let t = Arc::new((*t).clone());
            cases.iter().map(move |c| (Arc::clone(&t), Arc::clone(c)))
        })
        .collect()
}

/// The header of a run of `targets`, dated now. `base_url` is the live `--base-url` override, if any.
pub fn run_info(targets: &[&Target], mode: Mode, base_url: Option<&str>, spec_version: &str) -> RunInfo {
    RunInfo {
        date: crate::time::now_rfc3339(),
        harness_version: env!("CARGO_PKG_VERSION").to_owned(),
        spec_version: spec_version.to_owned(),
        targets: targets
            .iter()
            .map(|t| TargetInfo {
                name: t.name.clone(),
                base_url: base_url.filter(|_| mode == Mode::Live).unwrap_or(&t.config.base_url).to_owned(),
                mode,
                counts: Default::default(),
                control: t.config.control,
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selection_mirrors_libtest() {
        let s = Selection { filter: Some("gemini::chat".into()), exact: false, skip: vec!["chat::n".into()] };
        assert!(s.selects("gemini::chat::basic"));
        assert!(!s.selects("gemini::chat::n"));
        assert!(!s.selects("openai-reference::chat::basic"));
        let exact = Selection { filter: Some("gemini::chat::basic".into()), exact: true, skip: vec![] };
        assert!(exact.selects("gemini::chat::basic") && !exact.selects("gemini::chat::basic2"));
        assert!(Selection::default().selects("anything"));
    }
}
