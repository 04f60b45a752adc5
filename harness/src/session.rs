//! One run of a selection of trials — the path both entry points take: plan → run → settle snapshots →
//! collect → report.
//!
//! A [`Session`] holds the run's context (schemas, clients, replay servers, evidence, pacers), its trial plan and
//! its header. `compat run` runs the selected trials together ([`Session::run`]); the `conformance` test target
//! runs each as a libtest trial ([`Session::run_trial`]) and collects the outcomes through result files
//! ([`crate::collect`]). Either way a trial's outcome is made by the same function, its snapshot settled by the
//! same rule ([`SnapshotSink`]), and the reports written by [`crate::report::write::write_reports`].

use std::sync::Arc;

use crate::outcome::Outcome;
use crate::plan::{PlannedTrial, plan, run_info};
use crate::report::json::RunInfo;
use crate::run::{RunContext, RunMode, run_case_catching};
use crate::snapshot;
use crate::suite::Suite;
use crate::target::Target;

/// Who settles a changed or missing snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SnapshotSink {
    /// insta, by its own rules (`cargo test`): a `.snap.new` for `cargo insta review`, a failure without a file
    /// under `CI`, or acceptance under `INSTA_UPDATE=always`.
    Insta,
    /// The run's [`SnapshotPolicy`](crate::snapshot::SnapshotPolicy) alone (`compat run`): files are written
    /// only when a flag asks, after the run.
    Policy,
}

/// A planned run: its context, trials and header.
pub struct Session {
    /// What every trial runs with.
    pub ctx: Arc<RunContext>,
    /// Every trial of the run (selected or not), in plan order.
    pub plan: Vec<PlannedTrial>,
    /// The run's header for the reports.
    pub info: RunInfo,
    sink: SnapshotSink,
}

impl Session {
    /// A session running `suite`'s cases on `targets` with `ctx`.
    pub fn new(ctx: RunContext, suite: &Suite, targets: &[&Target], sink: SnapshotSink) -> Session {
        let plan = plan(suite, targets, ctx.mode);
        let info = run_info(targets, ctx.mode.into(), ctx.base_url.as_deref(), ctx.schemas.spec_version());
        Session { ctx: Arc::new(ctx), plan, info, sink }
    }

    /// A session running `trials` (a benchmark's own selection) with `ctx`; `targets` head the reports.
    pub fn of_trials(ctx: RunContext, trials: Vec<PlannedTrial>, targets: &[&Target], sink: SnapshotSink) -> Session {
        let info = run_info(targets, ctx.mode.into(), ctx.base_url.as_deref(), ctx.schemas.spec_version());
        Session { ctx: Arc::new(ctx), plan: trials, info, sink }
    }

    /// A replay session of every replayable target of `suite` (the builtin schemas, strict snapshots, the
    /// drivers' evidence).
    pub fn replay(suite: &Suite, sink: SnapshotSink) -> Result<Session, String> {
        let ctx = RunContext::replay(suite.root.clone())?;
        Ok(Session::new(ctx, suite, &suite.replayable_targets(), sink))
    }

    /// The outcome of one trial: a skipped case's or a broken file's as planned, else the case run (a panic
    /// becomes its own `harness` error) with its snapshot settled.
    pub async fn run_trial(&self, trial: &PlannedTrial) -> Outcome {
        match trial {
            PlannedTrial::Case { skipped: Some(outcome), .. } | PlannedTrial::Broken { outcome } => outcome.clone(),
            PlannedTrial::Case { target, case, skipped: None, .. } => {
                let mut outcome = run_case_catching(&self.ctx, case, target).await;
                if self.sink == SnapshotSink::Insta {
                    snapshot::settle(&self.ctx.root, &mut outcome);
                }
                outcome
            }
        }
    }

    /// Runs every trial `selected` takes (by name) — at most `jobs` at once; live pacing is each target's
    /// pacer's business — and returns their outcomes sorted by name.
    pub async fn run(self: &Arc<Self>, selected: impl Fn(&str) -> bool, jobs: usize) -> Vec<Outcome> {
        let limit = Arc::new(tokio::sync::Semaphore::new(jobs.max(1)));
        let mut tasks = tokio::task::JoinSet::new();
        let mut trial_of_task = std::collections::HashMap::new();
        for (index, trial) in self.plan.iter().enumerate() {
            if !selected(&trial.name()) {
                continue;
            }
            let (session, limit) = (Arc::clone(self), Arc::clone(&limit));
            let task = tasks.spawn(async move {
                let _permit = limit.acquire_owned().await.expect("the semaphore is never closed");
                session.run_trial(&session.plan[index]).await
            });
            trial_of_task.insert(task.id(), index);
        }
        let mut outcomes = Vec::new();
        while let Some(joined) = tasks.join_next_with_id().await {
            match joined {
                Ok((_, outcome)) => outcomes.push(outcome),
                // run_trial catches a case's panic as its outcome; a task fails only when cancelled or when the
                // catching itself failed. Its trial still gets an outcome, an error saying so.
                Err(e) => outcomes.push(self.plan[trial_of_task[&e.id()]].failed_task(&e.to_string(), self.ctx.mode.into())),
            }
        }
        outcomes.sort_by_key(Outcome::name);
        outcomes
    }

    /// The run mode.
    pub fn mode(&self) -> RunMode {
        self.ctx.mode
    }
}
