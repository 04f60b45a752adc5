//! The trial plan: which (target, case) pairs a run makes, under which names, and which of them a
//! libtest-style filter selects. One plan serves both entry points — the `compat` CLI and the `conformance`
//! test target — so they name, order and skip trials the same way.

use std::sync::Arc;

use crate::case::LoadedCase;
use crate::outcome::{Mode, Outcome, Verdict, trial_name};
use crate::report::json::{RunInfo, TargetInfo};
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
pub fn plan(suite: &Suite, targets: &[&Target], mode: Mode) -> Vec<PlannedTrial> {
    let mut plan = Vec::new();
    for (target, loaded) in crate::suite::pairs(targets, &suite.cases) {
        let name = trial_name(&target.name, &loaded.case.feature, &loaded.case.id);
        let reason = match mode {
            Mode::Live => target.live_skip_reason(&loaded.case.feature, &loaded.case.id),
            Mode::Replay | Mode::Recorded => target.skip_reason(&loaded.case.feature, &loaded.case.id),
        };
        let skipped = reason.map(|r| skipped_outcome(&loaded, &target.name, r, mode));
        plan.push(PlannedTrial::Case { name, target, case: loaded, skipped });
    }
    plan.extend(suite.broken.iter().map(|b| PlannedTrial::Broken { outcome: broken_case_outcome(b) }));
    plan
}

/// The trials of a replay test run, as the `conformance` target makes them: every replayable target.
pub fn plan_replay(suite: &Suite) -> Vec<PlannedTrial> {
    plan(suite, &suite.replayable_targets(), Mode::Replay)
}

fn skipped_outcome(loaded: &LoadedCase, target: &str, reason: &str, mode: Mode) -> Outcome {
    let mut o = Outcome::new(&loaded.case, &loaded.file, loaded.line, target, mode);
    o.verdict = Verdict::Skipped;
    o.skip_reason = Some(reason.to_owned());
    o
}

/// The header of a replay run of `suite`: its replayable targets with their configured base URLs.
pub fn replay_run_info(suite: &Suite, spec_version: &str) -> RunInfo {
    let targets: Vec<Target> = suite.replayable_targets().into_iter().cloned().collect();
    run_info(&targets, Mode::Replay, None, spec_version)
}

/// The header of a run of `targets`, dated now. `base_url` is the live `--base-url` override, if any.
pub fn run_info(targets: &[Target], mode: Mode, base_url: Option<&str>, spec_version: &str) -> RunInfo {
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
