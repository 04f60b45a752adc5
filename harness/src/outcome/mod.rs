//! The outcome of one case on one target: a plain value the reports render.
//!
//! [`decide`] turns findings and the case's known divergences into a [`Verdict`]:
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

mod exchange;
mod finding;
mod verdict;

use serde::{Deserialize, Serialize};

pub use exchange::{Exchange, FixtureInfo, JsonText, ObservedBody, Origin, SentRequest, StepRecord};
pub use finding::Finding;
pub use verdict::Verdict;

use serde_json::Value;

use crate::case::{Case, KnownDivergence};
use crate::rules::Severity;

/// The name of a case's trial and outcome on a target: `<target>::<feature>::<id>`. The one place it is
/// formatted: `cargo test` filters, result files, reports and `compat diff` all pair outcomes by it.
pub fn trial_name(target: &str, feature: &str, id: &str) -> String {
    format!("{target}::{feature}::{id}")
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
    for o in outcomes.iter_mut().filter(|o| !matches!(o.verdict, Verdict::Error | Verdict::Skipped)) {
        let before = baseline.iter().find(|b| b.target == o.target && b.feature == o.feature && b.id == o.id);
        for k in &mut o.known {
            let prev = before
                .and_then(|b| b.known.iter().find(|p| p.index == k.index && p.divergence == k.divergence))
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

/// The outcome of one case on one target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
    /// Replay or live.
    pub mode: Mode,
    /// The verdict.
    pub verdict: Verdict,
    /// Worst severity among the findings that decided the verdict (`diverges`: unexplained, `known`: explained).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<Severity>,
    /// Every finding; explained ones carry `known`.
    pub findings: Vec<Finding>,
    /// Known divergences declared for this target and what became of them.
    pub known: Vec<KnownStatus>,
    /// Fields the spec does not define.
    pub extensions: Vec<String>,
    /// Why the run broke.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<RunError>,
    /// Why the case was skipped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skip_reason: Option<String>,
    /// The exchange (the last one, for repeated cases; for a multi-step case, its last step's last answer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exchange: Option<Exchange>,
    /// A multi-step case: each step that ran, with its exchanges (several when it polled) and captures, in
    /// order (of the last run, for repeated cases). Absent for a one-step case.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub steps: Vec<StepRecord>,
    /// The fixture replayed or written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fixture: Option<FixtureInfo>,
    /// The snapshot comparison.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot: Option<SnapshotCheck>,
    /// Timing and retries.
    pub timing: Timing,
    /// pass^k, for cases with `repeat` > 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repeats: Option<Repeats>,
    /// What the official SDKs did with this very fixture (replay only; `drivers/evidence.json`, written by the
    /// agreement test), one entry per client driver.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub clients: Vec<ClientRun>,
}

/// What one official SDK did with a response, as its client driver (`drivers/`) classified it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClientRun {
    /// The driver and its SDK version, e.g. `openai-python 3.60.0`.
    pub driver: String,
    /// `ok`, `degraded` (data lost or changed, wrong error class, the server's message missing) or `breaks`.
    pub outcome: String,
    /// Each SDK call the driver made.
    pub calls: Vec<ClientCall>,
}

/// One SDK call of a client driver.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClientCall {
    /// The call, e.g. `chat.completions.stream().get_final_completion()`.
    pub call: String,
    /// `ok`, `degraded` or `breaks`.
    pub outcome: String,
    /// The exception text or what differed from the wire.
    pub detail: String,
}

impl Outcome {
    /// A fresh outcome for `case` on `target` with a verdict to be decided.
    pub fn new(case: &Case, file: &str, line: u64, target: &str, mode: Mode) -> Self {
        Outcome {
            target: target.to_owned(),
            feature: case.feature.clone(),
            id: case.id.clone(),
            title: case.title.clone(),
            doc: case.doc.clone(),
            file: file.to_owned(),
            line,
            mode,
            verdict: Verdict::Pass,
            severity: None,
            findings: Vec::new(),
            known: Vec::new(),
            extensions: Vec::new(),
            error: None,
            skip_reason: None,
            exchange: None,
            steps: Vec::new(),
            fixture: None,
            snapshot: None,
            timing: Timing::default(),
            repeats: None,
            clients: Vec::new(),
        }
    }

    /// An outcome that is only an error, for what has no case to run: a case file that does not load, a
    /// result file that does not read. `file` and `line` say where to look.
    pub fn error_only(name: [&str; 3], title: &str, file: &str, line: u64, kind: ErrorKind, message: String) -> Self {
        let [target, feature, id] = name;
        Outcome {
            target: target.to_owned(),
            feature: feature.to_owned(),
            id: id.to_owned(),
            title: title.to_owned(),
            doc: String::new(),
            file: file.to_owned(),
            line,
            mode: Mode::Replay,
            verdict: Verdict::Error,
            severity: None,
            findings: Vec::new(),
            known: Vec::new(),
            extensions: Vec::new(),
            error: Some(RunError { kind, message, diff: None }),
            skip_reason: None,
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

    /// Whether this outcome fails the run: a failing verdict, or a changed or missing snapshot that gates.
    pub fn fails(&self) -> bool {
        self.verdict.fails() || self.snapshot.as_ref().is_some_and(|s| s.gating && s.status != SnapshotStatus::Matched)
    }

    /// Whether its snapshot changed without failing the run (a live run's note).
    pub fn snapshot_note(&self) -> bool {
        self.snapshot.as_ref().is_some_and(|s| !s.gating && s.status == SnapshotStatus::Changed)
    }

    /// Marks the outcome as an error.
    pub fn set_error(&mut self, kind: ErrorKind, message: impl Into<String>, diff: Option<String>) {
        self.verdict = Verdict::Error;
        self.severity = None;
        self.error = Some(RunError { kind, message: message.into(), diff });
    }
}

/// Matches `findings` against the known divergences declared for `target` and returns the verdict,
/// the deciding severity and the status of each declaration. Findings get `known` set when explained.
pub fn decide(case: &Case, target: &str, findings: &mut [Finding]) -> (Verdict, Option<Severity>, Vec<KnownStatus>) {
    decide_with(case, target, findings, |_, k| k.when.due(None))
}

/// [`decide`] for one answer: `subject` (the body, or the reassembled stream message) decides which known
/// divergences were due (their `when`); one that was not due and not observed does not make the case `fixed`.
pub fn decide_on(case: &Case, target: &str, findings: &mut [Finding], subject: Option<&Value>) -> (Verdict, Option<Severity>, Vec<KnownStatus>) {
    decide_with(case, target, findings, |_, k| k.when.due(subject))
}

/// [`decide`] with `due(index, divergence)` saying which known divergences were due (for `repeat: k`: due in
/// any of the runs).
pub fn decide_with(
    case: &Case,
    target: &str,
    findings: &mut [Finding],
    due: impl Fn(usize, &KnownDivergence) -> bool,
) -> (Verdict, Option<Severity>, Vec<KnownStatus>) {
    let mut known: Vec<KnownStatus> = case
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
    for f in findings.iter_mut() {
        if let Some(k) = known.iter_mut().find(|k| explains(&k.divergence, f)) {
            f.known = Some(k.index);
            k.observed += 1;
        }
    }
    let worst = |explained: bool| findings.iter().filter(|f| f.known.is_some() == explained).map(|f| f.severity).max();
    let verdict = if let Some(s) = worst(false) {
        return (Verdict::Diverges, Some(s), known);
    } else if known.iter().any(|k| k.observed == 0 && k.due) {
        Verdict::Fixed
    } else if findings.is_empty() {
        Verdict::Pass
    } else {
        Verdict::Known
    };
    let severity = if verdict == Verdict::Known { worst(true) } else { None };
    (verdict, severity, known)
}

/// Whether a declared divergence explains a finding: its rule (exact, or a prefix at a `.` boundary), its path
/// pattern, its severity and (when it names one) its step all agree with the finding's.
pub fn explains(k: &KnownDivergence, f: &Finding) -> bool {
    let rule_ok = k.rule.as_deref().is_none_or(|r| f.rule == r || f.rule.starts_with(&format!("{r}.")));
    let path_ok = k.path.as_ref().is_none_or(|p| p.matches(&f.path));
    let severity_ok = k.severity.is_none_or(|s| s == f.severity);
    let step_ok = k.step.is_none() || k.step == f.step;
    rule_ok && path_ok && severity_ok && step_ok
}
