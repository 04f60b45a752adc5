//! The outcome of one case on one target: a plain value the reports render.
//!
//! An outcome's [`State`] is skipped, broken or judged; [`decide`] turns findings and the case's known
//! divergences into a judged case's verdict:
//! - `error`: the run itself broke (transport, endpoint fault, truncated stream, missing fixture, unmatched
//!   replay) — never counted as a divergence or a pass;
//! - `diverges`: some finding is not explained by a known divergence (severity: the worst such finding);
//! - `fixed`: a divergence declared known on this target was not observed — news to surface;
//! - `known`: every finding is explained by a declared known divergence;
//! - `pass`: no findings; `skipped`: the target skips the case.
//!
//! `cargo test` and `compat run` fail on `diverges`, `fixed`, `error`, and on a changed or missing snapshot.
//!
//! The outcome model stands on its own: [`Finding`] (in `finding`), the [`Exchange`] with its [`ObservedBody`]
//! and the fixture's [`Origin`] (in `exchange`), and the [`Verdict`] table (in `verdict`) live here, so the
//! reports and recording read outcomes without importing the checks, fixtures or transport.

mod decide;
mod exchange;
mod finding;
mod not_implemented;
mod verdict;
mod wire;

use serde::{Deserialize, Serialize};

pub use decide::{Decision, decide, decide_undeclared, explains};
pub(crate) use exchange::past_string;
pub use exchange::{Exchange, FixtureInfo, JsonText, ObservedBody, Origin, SentRequest, StepRecord};
pub use finding::Finding;
pub use not_implemented::{NO_ROUTE_STATUSES, endpoint_of, no_route};
pub use verdict::{Tier, Verdict};

use crate::case::{Case, KnownDivergence};
use crate::rules::Severity;

/// The name of a case's trial and outcome on a target: `<target>::<feature>::<id>`. The one place it is
/// formatted: `cargo test` filters, result files, reports and `compat diff` all pair outcomes by it.
pub fn trial_name(target: &str, feature: &str, id: &str) -> String {
    let mut name = String::with_capacity(target.len() + feature.len() + id.len() + 4);
    write_trial_name(&mut name, target, feature, id);
    name
}

/// [`trial_name`] written into `buffer` (cleared first), for loops that name thousands of trials.
pub fn write_trial_name(buffer: &mut String, target: &str, feature: &str, id: &str) {
    buffer.clear();
    for part in [target, "::", feature, "::", id] {
        buffer.push_str(part);
    }
}

/// Whether the response came from a fixture or a live endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Served from a fixture by wiremock on loopback.
    Replay,
    /// Sent to the target's endpoint.
    Live,
    /// Recorded traffic checked by `compat check` (nothing was sent).
    Recorded,
}

/// Why a run broke.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// Could not connect, or the connection failed before a response.
    Transport,
    /// Live: the target cannot be reached (refused, DNS, connect timeout before it ever answered); the
    /// target's other cases were not sent.
    Unreachable,
    /// Live: the TLS handshake failed (an untrusted or invalid certificate).
    Tls,
    /// A timeout (first byte or stream idle).
    Timeout,
    /// The endpoint answered with a fault: 5xx or 429 after retries, an HTML page, an auth failure.
    Endpoint,
    /// The stream or body was cut before its end.
    Truncated,
    /// Replay: the request matched no fixture.
    Unmatched,
    /// The fixture is missing or broken.
    Fixture,
    /// The case or target cannot run (broken case file, no model for a role, no key).
    Config,
    /// A bug in the harness itself: a case's run or checks panicked.
    Harness,
}

/// Lower-case names as in results.json, for the enums of the outcome model (one `match` each, so a report
/// never spells them with `format!("{:?}")`).
macro_rules! names {
    ($ty:ty { $($variant:ident => $name:literal),* $(,)? }) => {
        impl $ty {
            /// Lower-case name, as serialized.
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $name),* }
            }
        }
        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

names!(Mode { Replay => "replay", Live => "live", Recorded => "recorded" });
names!(ErrorKind {
    Transport => "transport",
    Unreachable => "unreachable",
    Tls => "tls",
    Timeout => "timeout",
    Endpoint => "endpoint",
    Truncated => "truncated",
    Unmatched => "unmatched",
    Fixture => "fixture",
    Config => "config",
    Harness => "harness",
});
names!(SnapshotStatus { Matched => "matched", Changed => "changed", Missing => "missing" });

/// A broken run, with its cause.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunError {
    /// The kind of failure.
    pub kind: ErrorKind,
    /// What happened.
    pub message: String,
    /// For an unmatched replay: the diff from the recorded request to the sent one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diff: Option<String>,
}

/// A declared known divergence and whether this run observed it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KnownStatus {
    /// Its index in the case's `known_divergences`; entries of an expectations file number on after those.
    pub index: usize,
    /// Line of its entry in the case file, or in `file`.
    pub line: u64,
    /// The expectations file declaring it (`cases/expectations/<target>.yaml`); absent when the case file does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// The declaration.
    pub divergence: KnownDivergence,
    /// How many findings it explains.
    pub observed: usize,
    /// Whether it was due on this answer (see `when`); one not due and not observed does not make the case
    /// `fixed`. Serialized only when false.
    #[serde(default = "gates_by_default", skip_serializing_if = "is_true")]
    pub due: bool,
    /// For a case run `repeat: k` times: in how many of the k runs it was observed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runs_observed: Option<u32>,
    /// With a baseline (`compat run --baseline`): `[nights observed, nights run]`, carried from the baseline's
    /// count and this run, so a nightly chain counts how often a divergence that shows only sometimes shows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nights_observed: Option<[u32; 2]>,
}

/// Carries each known divergence's night count from `baseline` (the previous run's outcomes) into `outcomes`:
/// a declaration matched by its index and content adds this run to the baseline's count.
pub fn carry_night_counts(outcomes: &mut [Outcome], baseline: &[Outcome]) {
    for o in outcomes.iter_mut() {
        let before = baseline.iter().find(|b| b.target == o.target && b.feature == o.feature && b.id == o.id);
        let State::Judged(judgement) = &mut o.state else { continue };
        for k in &mut judgement.known {
            let prev = before
                .and_then(|b| b.known().iter().find(|p| p.index == k.index && p.divergence == k.divergence))
                .map(|p| p.nights_observed.unwrap_or([u32::from(p.observed > 0), 1]))
                .unwrap_or([0, 0]);
            k.nights_observed = Some([prev[0] + u32::from(k.observed > 0), prev[1] + 1]);
        }
    }
}

/// How a case's snapshot compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SnapshotStatus {
    /// Same as stored.
    Matched,
    /// Differs from the stored snapshot.
    Changed,
    /// No stored snapshot yet.
    Missing,
}

/// The snapshot comparison of a case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SnapshotCheck {
    /// Snapshot name (`<feature>__<id>`).
    pub name: String,
    /// Root-relative path of the `.snap` file.
    pub file: String,
    /// The comparison.
    pub status: SnapshotStatus,
    /// Unified diff from the stored to the new content, when changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diff: Option<String>,
    /// Whether a change fails the run: true in replay (`cargo test`, `compat run`) and under `--snapshots strict`;
    /// false in a live run, where a changed shape is a note (the answer varies; a nightly is red only for a
    /// real reason). Serialized only when false.
    #[serde(default = "gates_by_default", skip_serializing_if = "is_true")]
    pub gating: bool,
    /// The new normalized content (kept to write a pending `.snap.new`).
    #[serde(skip)]
    pub content: String,
}

fn gates_by_default() -> bool {
    true
}

fn is_true(b: &bool) -> bool {
    *b
}

/// Time spent and attempts made.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Timing {
    /// Wall time of the whole case, ms (all repeats and retries).
    pub duration_ms: f64,
    /// Requests sent.
    pub attempts: u32,
    /// Of which retries.
    pub retries: u32,
    /// Passed only after a retry.
    pub flaky: bool,
    /// Live: time spent waiting behind the target's pacer (concurrency, rate slots, backoff), ms — part of
    /// `duration_ms` but not the endpoint's doing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queued_ms: Option<f64>,
    /// Live: the last request's time from sending to the response head, ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_byte_ms: Option<f64>,
    /// Live: the last request's time from the response head to the body's last byte, ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_ms: Option<f64>,
}

/// pass^k for a case run `repeat` times.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Repeats {
    /// Runs without an unexplained finding or error.
    pub passed: u32,
    /// Runs made.
    pub total: u32,
}

/// What became of a case on a target. Each variant carries exactly what it needs, so an outcome cannot be both
/// skipped and judged, or an error with a severity.
#[derive(Debug, Clone, PartialEq)]
pub enum State {
    /// The target skips the case (the reason says why); nothing was sent.
    Skipped {
        /// Why.
        reason: String,
    },
    /// The run broke (transport, endpoint fault, cut stream, fixture, configuration); says nothing about
    /// conformance.
    Broken(RunError),
    /// The answers were checked and judged.
    Judged(Judgement),
}

/// The verdict of a case whose answers were checked, with the findings that decided it.
#[derive(Debug, Clone, PartialEq)]
pub struct Judgement {
    /// `pass`, `known`, `diverges` or `fixed`.
    pub verdict: Judged,
    /// Worst severity among the findings that decided the verdict (`diverges`: unexplained, `known`: explained).
    pub severity: Option<Severity>,
    /// Every finding; explained ones carry `known`.
    pub findings: Vec<Finding>,
    /// Known divergences declared for this target and what became of them.
    pub known: Vec<KnownStatus>,
    /// Fields the spec does not define.
    pub extensions: Vec<String>,
}

/// The verdicts a judged case can have (a subset of [`Verdict`]: never `error` or `skipped`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Judged {
    /// No findings.
    Pass,
    /// Only declared divergences were observed.
    Known,
    /// A divergence nobody declared.
    Diverges,
    /// A declared divergence was not observed.
    Fixed,
}

impl From<Judged> for Verdict {
    fn from(j: Judged) -> Verdict {
        match j {
            Judged::Pass => Verdict::Pass,
            Judged::Known => Verdict::Known,
            Judged::Diverges => Verdict::Diverges,
            Judged::Fixed => Verdict::Fixed,
        }
    }
}

impl Judged {
    fn from_verdict(v: Verdict) -> Option<Judged> {
        Some(match v {
            Verdict::Pass => Judged::Pass,
            Verdict::Known => Judged::Known,
            Verdict::Diverges => Judged::Diverges,
            Verdict::Fixed => Judged::Fixed,
            Verdict::Error | Verdict::Skipped => return None,
        })
    }
}

/// The outcome of one case on one target.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// Target name.
    pub target: String,
    /// Case feature.
    pub feature: String,
    /// Case id.
    pub id: String,
    /// Case title.
    pub title: String,
    /// The documented feature it checks.
    pub doc: String,
    /// Case file, root-relative.
    pub file: String,
    /// Line of the case's `id`.
    pub line: u64,
    /// The profile the case belongs to (`openai`, or a vendor's extensions such as `gemini`).
    pub profile: String,
    /// Replay, live or recorded.
    pub mode: Mode,
    /// Skipped, broken or judged, with what each needs.
    pub state: State,
    /// The exchange (the last one, for repeated cases; for a multi-step case, its last step's last answer).
    pub exchange: Option<Exchange>,
    /// A multi-step case: each step that ran, with its exchanges (several when it polled) and captures, in
    /// order (of the last run, for repeated cases). Empty for a one-step case.
    pub steps: Vec<StepRecord>,
    /// The fixture replayed or written.
    pub fixture: Option<FixtureInfo>,
    /// The snapshot comparison.
    pub snapshot: Option<SnapshotCheck>,
    /// Timing and retries.
    pub timing: Timing,
    /// pass^k, for cases with `repeat` > 1.
    pub repeats: Option<Repeats>,
    /// What the official SDKs did with this very fixture (replay only; `drivers/evidence.json`, written by the
    /// agreement test), one entry per client driver.
    pub clients: Vec<ClientRun>,
}

/// What one official SDK did with a response, as its client driver (`drivers/`) classified it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClientRun {
    /// The driver and its SDK version, e.g. `openai-python 3.60.0`.
    pub driver: String,
    /// What the SDK did, over all its calls (the worst of them).
    pub outcome: ClientOutcome,
    /// Each SDK call the driver made.
    pub calls: Vec<ClientCall>,
}

/// What an official SDK did with a response, as its driver classified it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum ClientOutcome {
    /// No SDK call exists for this endpoint: the SDK has nothing to say.
    #[serde(rename = "n/a")]
    NotApplicable,
    /// The SDK returned the data as sent.
    #[serde(rename = "ok")]
    Ok,
    /// Data lost or changed, a wrong error class, the server's message missing.
    #[serde(rename = "degraded")]
    Degraded,
    /// The SDK raised where it should have returned.
    #[serde(rename = "breaks")]
    Breaks,
}

names!(ClientOutcome { NotApplicable => "n/a", Ok => "ok", Degraded => "degraded", Breaks => "breaks" });

/// One SDK call of a client driver.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClientCall {
    /// The call, e.g. `chat.completions.stream().get_final_completion()`.
    pub call: String,
    /// What the SDK did on this call.
    pub outcome: ClientOutcome,
    /// The exception text or what differed from the wire.
    pub detail: String,
}

impl Outcome {
    /// The outcome of `case` on `target` in state `state`, with nothing else recorded yet.
    pub fn new(case: &Case, file: &str, line: u64, target: &str, mode: Mode, state: State) -> Self {
        let name = [target, case.feature.as_str(), case.id.as_str()];
        let mut o = Outcome::bare(name, &case.title, file, line, mode, state);
        o.doc = case.doc.clone();
        o.profile = case.profile.clone();
        o
    }

    /// An outcome that is only an error, for what has no case to run: a case file that does not load, a
    /// result file that does not read. `file` and `line` say where to look.
    pub fn error_only(name: [&str; 3], title: &str, file: &str, line: u64, kind: ErrorKind, message: String) -> Self {
        Outcome::bare(name, title, file, line, Mode::Replay, State::Broken(RunError { kind, message, diff: None }))
    }

    /// An outcome named `<target>::<feature>::<id>` with no case behind it (recorded traffic, a broken file).
    pub fn bare(name: [&str; 3], title: &str, file: &str, line: u64, mode: Mode, state: State) -> Self {
        let [target, feature, id] = name.map(str::to_owned);
        Outcome {
            target,
            feature,
            id,
            title: title.to_owned(),
            doc: String::new(),
            file: file.to_owned(),
            line,
            profile: crate::case::OPENAI_PROFILE.to_owned(),
            mode,
            state,
            exchange: None,
            steps: Vec::new(),
            fixture: None,
            snapshot: None,
            timing: Timing::default(),
            repeats: None,
            clients: Vec::new(),
        }
    }

    /// `<target>::<feature>::<id>`, the trial name ([`trial_name`]).
    pub fn name(&self) -> String {
        trial_name(&self.target, &self.feature, &self.id)
    }

    /// The verdict.
    pub fn verdict(&self) -> Verdict {
        match &self.state {
            State::Skipped { .. } => Verdict::Skipped,
            State::Broken(_) => Verdict::Error,
            State::Judged(j) => j.verdict.into(),
        }
    }

    /// The deciding severity of a judged case.
    pub fn severity(&self) -> Option<Severity> {
        self.judgement().and_then(|j| j.severity)
    }

    /// The judgement, when the answers were judged.
    pub fn judgement(&self) -> Option<&Judgement> {
        match &self.state {
            State::Judged(j) => Some(j),
            _ => None,
        }
    }

    /// The judgement, to amend (a baseline's night counts, a hand-made outcome).
    pub fn judgement_mut(&mut self) -> Option<&mut Judgement> {
        match &mut self.state {
            State::Judged(j) => Some(j),
            _ => None,
        }
    }

    /// Every finding (none unless judged).
    pub fn findings(&self) -> &[Finding] {
        self.judgement().map_or(&[], |j| &j.findings)
    }

    /// The known divergences declared for this target and what became of them (none unless judged).
    pub fn known(&self) -> &[KnownStatus] {
        self.judgement().map_or(&[], |j| &j.known)
    }

    /// Fields the spec does not define (none unless judged).
    pub fn extensions(&self) -> &[String] {
        self.judgement().map_or(&[], |j| &j.extensions)
    }

    /// Why the run broke.
    pub fn error(&self) -> Option<&RunError> {
        match &self.state {
            State::Broken(e) => Some(e),
            _ => None,
        }
    }

    /// Why the case was skipped.
    pub fn skip_reason(&self) -> Option<&str> {
        match &self.state {
            State::Skipped { reason } => Some(reason),
            _ => None,
        }
    }

    /// Whether this outcome fails the run: a failing verdict, or a changed or missing snapshot that gates.
    pub fn fails(&self) -> bool {
        self.verdict().fails() || self.snapshot.as_ref().is_some_and(|s| s.gating && s.status != SnapshotStatus::Matched)
    }

    /// Whether its snapshot changed without failing the run (a live run's note).
    pub fn snapshot_note(&self) -> bool {
        self.snapshot.as_ref().is_some_and(|s| !s.gating && s.status == SnapshotStatus::Changed)
    }
}
