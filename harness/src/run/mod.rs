//! Running one case against one target: its steps' requests → answers → checks → one [`Outcome`]. Prints
//! nothing.
//!
//! Every request of every case goes through one step executor (`step.rs`): send (a fixture replayed by
//! wiremock on loopback, or the target's base URL through its [`Pacer`]) → classify the answer (faults of the
//! run itself — transport errors, 5xx after retries, HTML pages, cut streams, unmatched replays — become an
//! `error` with their cause, see `send.rs`) → check it → keep the exchange. A case written as
//! `request` + `expect` is one unnamed step; `steps` are sent in order, values captured from one answer into the
//! next request, polls bounded. One judge (`tally.rs`) turns the findings of every run into the outcome's state.
//!
//! In live mode the checks judge the response as it came; then everything in the outcome that came from the
//! endpoint — bodies, chunks, findings, error text, snapshot — is passed through a [`Redactor`] holding the key
//! (`redact.rs`), so no report, snapshot or recorded fixture can carry it even when the endpoint echoes it, and
//! no redaction can change a verdict.
//!
//! `repeat: k` runs the case k times: the outcome reports pass^k (runs that passed on their own, of k) and its
//! verdict holds only if all k did.

mod redact;
mod resolve;
mod send;
mod step;
mod tally;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

pub use resolve::{Captures, resolve_request};

use crate::case::LoadedCase;
use crate::clients::Evidence;
use crate::fixture::replay::Replayer;
use crate::fixture::{self, FixtureFile};
use crate::outcome::{ErrorKind, FixtureInfo, Mode, Outcome, RunError, SnapshotCheck, State, Timing, Verdict};
use crate::pacing::Pacer;
use crate::schema::SchemaSet;
use crate::secrets::Redactor;
use crate::snapshot::{self, SnapshotPolicy};
use crate::target::Target;
use crate::transport::HttpClients;

/// Key sent by cases with `auth: invalid`.
pub const INVALID_KEY: &str = "compat-harness-invalid-key";

/// How a run gets its answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunMode {
    /// From each case's fixture, served by wiremock on loopback.
    Replay,
    /// From the target's endpoint.
    Live,
}

impl From<RunMode> for Mode {
    fn from(m: RunMode) -> Mode {
        match m {
            RunMode::Replay => Mode::Replay,
            RunMode::Live => Mode::Live,
        }
    }
}

/// What a run needs besides the case and target, and everything it holds while it lasts: its HTTP clients, its
/// replay servers, the drivers' evidence and each live target's pacer. Build one per run, inside (or for) the
/// tokio runtime that runs it: its pooled connections belong to that runtime.
pub struct RunContext {
    /// Project root (holds `cases/`, `fixtures/`, `snapshots/`).
    pub root: PathBuf,
    /// Compiled schemas, shared.
    pub schemas: Arc<SchemaSet>,
    /// Replay or live.
    pub mode: RunMode,
    /// Live: a base URL replacing the target's (`--base-url`).
    pub base_url: Option<String>,
    /// Live: the pacer of each target, by name, shared by all its cases (an unlisted target is not paced).
    pub pacers: BTreeMap<String, Arc<Pacer>>,
    /// What to do with snapshots (resolved: never `Auto`).
    pub snapshots: SnapshotPolicy,
    /// The run's HTTP clients.
    pub http: HttpClients,
    /// The run's replay servers.
    pub replayer: Replayer,
    /// What the official SDKs did with each fixture (`drivers/evidence.json`), attached to replay outcomes.
    pub evidence: Evidence,
}

impl RunContext {
    /// A context for a run in `mode` with nothing else set: no base URL, no pacers, strict snapshots, no
    /// evidence. Set the fields that differ.
    pub fn new(root: PathBuf, schemas: Arc<SchemaSet>, mode: RunMode) -> Self {
        RunContext {
            root,
            schemas,
            mode,
            base_url: None,
            pacers: BTreeMap::new(),
            snapshots: SnapshotPolicy::Strict,
            http: HttpClients::default(),
            replayer: Replayer::default(),
            evidence: Evidence::default(),
        }
    }

    /// A live context for `targets`: a pacer per target from its `pacing`, `base_url` replacing their base URLs
    /// when given, snapshots as `snapshots` says.
    pub fn live(root: PathBuf, schemas: Arc<SchemaSet>, base_url: Option<String>, targets: &[&Target], snapshots: SnapshotPolicy) -> Self {
        let mut ctx = RunContext::new(root, schemas, RunMode::Live);
        ctx.base_url = base_url;
        ctx.snapshots = snapshots;
        ctx.pacers = targets.iter().map(|t| (t.name.clone(), Arc::new(Pacer::new(t.config.pacing)))).collect();
        ctx
    }

    /// A replay context for `root`: the builtin schemas, strict snapshots, and the drivers' evidence.
    pub fn replay(root: PathBuf) -> Result<Self, String> {
        let mut ctx = RunContext::new(root, Arc::new(SchemaSet::builtin()?), RunMode::Replay);
        ctx.evidence = Evidence::load(&ctx.root)?;
        Ok(ctx)
    }

    /// The pacer of `target`'s live requests (a fresh unpaced one when the run has none for it).
    fn pacer(&self, target: &str) -> Arc<Pacer> {
        self.pacers.get(target).cloned().unwrap_or_else(|| Arc::new(Pacer::unpaced()))
    }

    /// The redactor of a run on `target`: its key in live mode, nothing to hide otherwise.
    fn redactor(&self, target: &Target) -> Redactor {
        match self.mode {
            RunMode::Live => Redactor::new(target.key().ok().flatten()),
            RunMode::Replay => Redactor::default(), // no key of ours was sent
        }
    }

    /// Why `target` skips `case` in this mode, if it does: the decision the plan makes
    /// ([`Target::planned_skip`]: an override, a profile the target does not run, a role it has no model for).
    pub fn skip_reason(&self, target: &Target, case: &crate::case::Case) -> Option<String> {
        target.planned_skip(case, self.mode == RunMode::Live)
    }
}

/// [`run_case`] in a task of its own, so that a panic in the harness becomes that case's outcome — an `error`
/// of kind `harness` under the case's own trial name — instead of taking other outcomes (or the test
/// process's report) with it.
pub async fn run_case_catching(ctx: &Arc<RunContext>, loaded: &Arc<LoadedCase>, target: &Arc<Target>) -> Outcome {
    let (c, l, t) = (Arc::clone(ctx), Arc::clone(loaded), Arc::clone(target));
    match tokio::spawn(async move { run_case(&c, &l, &t).await }).await {
        Ok(outcome) => outcome,
        Err(e) => {
            let message = match e.try_into_panic() {
                Ok(payload) => payload
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_owned())
                    .or_else(|| payload.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "(no message)".to_owned()),
                Err(e) => e.to_string(),
            };
            let error = RunError { kind: ErrorKind::Harness, message: format!("harness bug: the case panicked: {message}"), diff: None };
            Outcome::new(&loaded.case, &loaded.file, loaded.line, &target.name, ctx.mode.into(), State::Broken(error))
        }
    }
}

/// Runs `loaded` on `target` and returns its outcome.
pub async fn run_case(ctx: &RunContext, loaded: &LoadedCase, target: &Target) -> Outcome {
    let redactor = ctx.redactor(target);
    let mut outcome = judge_case(ctx, loaded, target, &redactor).await;
    if ctx.mode == RunMode::Live {
        redact::outcome(&mut outcome, &redactor);
    }
    outcome
}

/// The outcome of `loaded` on `target`, judged on the answers as they came (`redactor` applies to the snapshot
/// content only, before it is compared, since the stored one was redacted when written).
async fn judge_case(ctx: &RunContext, loaded: &LoadedCase, target: &Target, redactor: &Redactor) -> Outcome {
    let started = Instant::now();
    let case = &loaded.case;
    let outcome_in = |state| Outcome::new(case, &loaded.file, loaded.line, &target.name, ctx.mode.into(), state);
    if let Some(reason) = ctx.skip_reason(target, case) {
        return outcome_in(State::Skipped { reason });
    }
    let fixture = match ctx.mode {
        RunMode::Live => None,
        RunMode::Replay => match load_replay_fixture(ctx, loaded, target) {
            Ok(f) => Some(f),
            Err(message) => {
                let mut outcome = outcome_in(State::Broken(RunError { kind: ErrorKind::Fixture, message, diff: None }));
                outcome.timing.duration_ms = ms(started);
                return outcome;
            }
        },
    };

    let mut timing = Timing::default();
    let mut tally = tally::Tally::new(case);
    let mut last = step::Pass::default();
    // Only the last run's answer is snapshotted (a run that breaks has none).
    let wants_snapshot = case.steps.last().is_some_and(|s| s.value.expect.snapshot) && ctx.snapshots != SnapshotPolicy::Off;
    for run in 0..case.repeat {
        let snapshot = wants_snapshot && run + 1 == case.repeat;
        let mut pass = step::run_pass(ctx, loaded, target, fixture.as_ref(), &mut timing, snapshot).await;
        let broke = pass.error.is_some();
        if !broke {
            tally.add_pass(case, &target.name, &mut pass);
        }
        last = pass;
        if broke {
            break;
        }
    }
    // The outcome's exchange is the last answer; a one-step case's step is not listed, so its answer moves.
    let exchange = match last.steps.last_mut() {
        Some(s) if s.name.is_none() => s.exchanges.pop(),
        Some(s) => s.exchanges.last().cloned(),
        None => None,
    };
    let (state, repeats, snapshot) = match last.error {
        Some(error) => (State::Broken(error), None, None),
        None => {
            let (judgement, repeats) = tally.finish(case, &target.name);
            timing.flaky = timing.retries > 0 && !Verdict::from(judgement.verdict).fails();
            let snapshot = last.snapshot.and_then(|content| snapshot_of(ctx, case, &target.name, content, redactor));
            (State::Judged(judgement), repeats, snapshot)
        }
    };
    let mut outcome = outcome_in(state);
    if let Some(file) = fixture {
        outcome.fixture = Some(FixtureInfo { origin: file.exchanges[0].origin.clone(), path: file.path });
        outcome.clients = ctx.evidence.for_digest(&outcome.name(), &file.digest);
    }
    outcome.exchange = exchange;
    // Only the steps of a case written as `steps` are listed; a one-step case's exchange is the outcome's own.
    outcome.steps = last.steps.into_iter().filter(|s| s.name.is_some()).collect();
    (outcome.repeats, outcome.snapshot) = (repeats, snapshot);
    timing.duration_ms = ms(started);
    outcome.timing = timing;
    outcome
}

/// The snapshot comparison of a judged case's final answer, from its normalized `content`, as the run's policy
/// keeps it.
fn snapshot_of(ctx: &RunContext, case: &crate::case::Case, target: &str, content: String, redactor: &Redactor) -> Option<SnapshotCheck> {
    let content = redact::snapshot(content, redactor);
    ctx.snapshots.apply(snapshot::compare(&ctx.root, target, &snapshot::snapshot_name(&case.feature, &case.id), content))
}

fn ms(since: Instant) -> f64 {
    since.elapsed().as_secs_f64() * 1000.0
}

/// A case's fixture file for `target`.
fn load_replay_fixture(ctx: &RunContext, loaded: &LoadedCase, target: &Target) -> Result<FixtureFile, String> {
    let path = fixture::fixture_path(&target.fixtures_dir(), &loaded.case.feature, &loaded.case.id);
    match FixtureFile::load(&ctx.root, &path) {
        Ok(Some(f)) => Ok(f),
        Ok(None) => Err(format!("no fixture at {path} (write one, or record it: compat run --live --target {} --record missing)", target.name)),
        Err(e) => Err(e.headline()),
    }
}

/// Test builds only (feature `test-hooks`, which the crate's own tests turn on): `COMPAT_INJECT_PANIC=<trial
/// name>` makes that case's checks panic, so the tests can show a panic lands on the case's own trial as a
/// `harness` error. A build that ships has no such hook.
#[cfg(feature = "test-hooks")]
fn inject_panic_for_tests(target: &str, loaded: &LoadedCase) {
    if std::env::var("COMPAT_INJECT_PANIC").is_ok_and(|n| n == crate::outcome::trial_name(target, &loaded.case.feature, &loaded.case.id)) {
        panic!("injected by COMPAT_INJECT_PANIC");
    }
}

#[cfg(not(feature = "test-hooks"))]
fn inject_panic_for_tests(_: &str, _: &LoadedCase) {}
