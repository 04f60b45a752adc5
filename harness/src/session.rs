//! One run of a selection of trials — the path both entry points take: plan → run → settle snapshots →
//! collect → report.
//!
//! A [`Session`] holds the run's context (schemas, clients, replay servers, evidence, pacers), its trial plan and
//! its header. `compat run` runs the selected trials together ([`Session::run`]); the `conformance` test target
//! runs each as a libtest trial ([`Session::run_trial`]) and collects the outcomes through result files
//! ([`crate::collect`]). Either way a trial's outcome is made by the same function, its snapshot settled by the
//! same rule ([`SnapshotSink`]), and the reports written by [`crate::report::write::write_reports`].

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use crate::outcome::{Outcome, State};
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

/// The reason of a trial an interrupted run did not start.
pub const NOT_RUN_INTERRUPTED: &str = "not run: the run was interrupted";

/// The reason of a trial whose requests were still in flight when an interrupted run's grace period ended.
pub const CUT_INTERRUPTED: &str = "not run: the run was interrupted while its request was in flight, and cut";

/// How a run is watched and stopped while it lasts: trials done, failing so far, and a stop that starts no new
/// trial ([`Session::run_controlled`]). Shared between the run and whoever shows progress or catches a signal.
#[derive(Debug)]
pub struct RunControl {
    total: AtomicUsize,
    done: AtomicUsize,
    failing: AtomicUsize,
    stop: tokio::sync::watch::Sender<bool>,
}

impl Default for RunControl {
    fn default() -> Self {
        RunControl {
            total: AtomicUsize::new(0),
            done: AtomicUsize::new(0),
            failing: AtomicUsize::new(0),
            stop: tokio::sync::watch::Sender::new(false),
        }
    }
}

/// A run's progress at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Progress {
    /// Trials selected.
    pub total: usize,
    /// Trials with an outcome.
    pub done: usize,
    /// Of which failing the run.
    pub failing: usize,
}

impl RunControl {
    /// Trials done, failing so far, of how many.
    pub fn progress(&self) -> Progress {
        Progress { total: self.total.load(Ordering::Relaxed), done: self.done.load(Ordering::Relaxed), failing: self.failing.load(Ordering::Relaxed) }
    }

    /// Stops the run: no trial starts from now on; those in flight get the run's grace period.
    pub fn stop(&self) {
        self.stop.send_replace(true);
    }

    /// Whether the run was stopped.
    pub fn stopped(&self) -> bool {
        *self.stop.borrow()
    }

    /// Returns once the run is stopped.
    async fn until_stopped(&self) {
        let mut rx = self.stop.subscribe();
        let _ = rx.wait_for(|s| *s).await;
    }
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
        self.run_controlled(selected, jobs, &Arc::new(RunControl::default()), Duration::ZERO).await
    }

    /// [`Session::run`], counted in `control` as it goes and stopped by it: once [`RunControl::stop`] is called
    /// no trial starts (each gets a skipped outcome, [`NOT_RUN_INTERRUPTED`]), the trials in flight have `grace`
    /// to finish, and those still running then are cut ([`CUT_INTERRUPTED`]). Every selected trial gets an
    /// outcome either way.
    pub async fn run_controlled(
        self: &Arc<Self>,
        selected: impl Fn(&str) -> bool,
        jobs: usize,
        control: &Arc<RunControl>,
        grace: Duration,
    ) -> Vec<Outcome> {
        let limit = Arc::new(tokio::sync::Semaphore::new(jobs.max(1)));
        let mut tasks = tokio::task::JoinSet::new();
        let mut trial_of_task = std::collections::HashMap::new();
        for (index, trial) in self.plan.iter().enumerate() {
            if !selected(&trial.name()) {
                continue;
            }
            control.total.fetch_add(1, Ordering::Relaxed);
            let (session, limit, control) = (Arc::clone(self), Arc::clone(&limit), Arc::clone(control));
            let task = tasks.spawn(async move {
                let trial = &session.plan[index];
                // A trial known without running (skipped, broken file) is not held back by a stop.
                if let Some(known) = trial.known_outcome() {
                    return known.clone();
                }
                let permit = tokio::select! {
                    biased;
                    () = control.until_stopped() => None,
                    permit = limit.acquire_owned() => Some(permit.expect("the semaphore is never closed")),
                };
                match permit {
                    Some(_permit) if !control.stopped() => session.run_trial(trial).await,
                    _ => session.not_run(trial, NOT_RUN_INTERRUPTED),
                }
            });
            trial_of_task.insert(task.id(), index);
        }
        let mut outcomes = Vec::new();
        let mut deadline: Option<tokio::time::Instant> = None;
        loop {
            let joined = tokio::select! {
                joined = tasks.join_next_with_id() => joined,
                () = control.until_stopped(), if deadline.is_none() => {
                    deadline = Some(tokio::time::Instant::now() + grace);
                    continue;
                }
                () = async { tokio::time::sleep_until(deadline.unwrap_or_else(tokio::time::Instant::now)).await }, if deadline.is_some() => {
                    tasks.abort_all();
                    deadline = Some(tokio::time::Instant::now() + Duration::from_secs(86_400)); // cut once
                    continue;
                }
            };
            let Some(joined) = joined else { break };
            let outcome = match joined {
                Ok((_, outcome)) => outcome,
                Err(e) if e.is_cancelled() => self.not_run(&self.plan[trial_of_task[&e.id()]], CUT_INTERRUPTED),
                // run_trial catches a case's panic as its outcome; a task fails only when cancelled or when the
                // catching itself failed. Its trial still gets an outcome, an error saying so.
                Err(e) => self.plan[trial_of_task[&e.id()]].failed_task(&e.to_string(), self.ctx.mode.into()),
            };
            control.done.fetch_add(1, Ordering::Relaxed);
            if outcome.fails() {
                control.failing.fetch_add(1, Ordering::Relaxed);
            }
            outcomes.push(outcome);
        }
        outcomes.sort_by_key(Outcome::name);
        outcomes
    }

    /// The outcome of a trial an interrupted run did not run (or cut): skipped, `reason` saying why.
    fn not_run(&self, trial: &PlannedTrial, reason: &str) -> Outcome {
        match trial {
            PlannedTrial::Case { target, case, .. } => {
                Outcome::new(&case.case, &case.file, case.line, &target.name, self.ctx.mode.into(), State::Skipped { reason: reason.to_owned() })
            }
            PlannedTrial::Broken { outcome } => outcome.clone(),
        }
    }

    /// The run mode.
    pub fn mode(&self) -> RunMode {
        self.ctx.mode
    }
}
