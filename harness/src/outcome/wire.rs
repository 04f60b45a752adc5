//! results.json's form of an [`Outcome`]: the state's parts as the flat, optional fields version 1 of the
//! format has, written from the outcome and read back into a state (a combination no run produces refused).

use serde::{Deserialize, Serialize};

use super::{
    ClientRun, Exchange, Finding, FixtureInfo, Judged, Judgement, KnownStatus, Mode, Outcome, Repeats, RunError, SnapshotCheck, State, StepRecord,
    Timing, Verdict,
};
use crate::rules::Severity;

/// results.json's form of an outcome: the state's parts as flat, optional fields (`verdict`, `severity`,
/// `findings`, `known`, `extensions`, `error`, `skip_reason`), as version 1 of the format has them.
#[derive(Serialize)]
struct OutcomeOut<'a> {
    target: &'a str,
    feature: &'a str,
    id: &'a str,
    title: &'a str,
    doc: &'a str,
    file: &'a str,
    line: u64,
    #[serde(skip_serializing_if = "is_openai")]
    profile: &'a str,
    mode: Mode,
    verdict: Verdict,
    #[serde(skip_serializing_if = "Option::is_none")]
    severity: Option<Severity>,
    findings: &'a [Finding],
    known: &'a [KnownStatus],
    extensions: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a RunError>,
    #[serde(skip_serializing_if = "Option::is_none")]
    skip_reason: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    exchange: Option<&'a Exchange>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    steps: &'a [StepRecord],
    #[serde(skip_serializing_if = "Option::is_none")]
    fixture: Option<&'a FixtureInfo>,
    #[serde(skip_serializing_if = "Option::is_none")]
    snapshot: Option<&'a SnapshotCheck>,
    timing: &'a Timing,
    #[serde(skip_serializing_if = "Option::is_none")]
    repeats: Option<&'a Repeats>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    clients: &'a [ClientRun],
}

fn is_openai(profile: &&str) -> bool {
    *profile == crate::case::OPENAI_PROFILE
}

impl Serialize for Outcome {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        OutcomeOut {
            target: &self.target,
            feature: &self.feature,
            id: &self.id,
            title: &self.title,
            doc: &self.doc,
            file: &self.file,
            line: self.line,
            profile: &self.profile,
            mode: self.mode,
            verdict: self.verdict(),
            severity: self.severity(),
            findings: self.findings(),
            known: self.known(),
            extensions: self.extensions(),
            error: self.error(),
            skip_reason: self.skip_reason(),
            exchange: self.exchange.as_ref(),
            steps: &self.steps,
            fixture: self.fixture.as_ref(),
            snapshot: self.snapshot.as_ref(),
            timing: &self.timing,
            repeats: self.repeats.as_ref(),
            clients: &self.clients,
        }
        .serialize(serializer)
    }
}

/// [`OutcomeOut`] read back; a combination no run produces (an `error` verdict without its error, a `skipped`
/// one without a reason) is refused.
#[derive(Deserialize)]
struct OutcomeIn {
    target: String,
    feature: String,
    id: String,
    title: String,
    doc: String,
    file: String,
    line: u64,
    #[serde(default = "openai_profile")]
    profile: String,
    mode: Mode,
    verdict: Verdict,
    #[serde(default)]
    severity: Option<Severity>,
    #[serde(default)]
    findings: Vec<Finding>,
    #[serde(default)]
    known: Vec<KnownStatus>,
    #[serde(default)]
    extensions: Vec<String>,
    #[serde(default)]
    error: Option<RunError>,
    #[serde(default)]
    skip_reason: Option<String>,
    #[serde(default)]
    exchange: Option<Exchange>,
    #[serde(default)]
    steps: Vec<StepRecord>,
    #[serde(default)]
    fixture: Option<FixtureInfo>,
    #[serde(default)]
    snapshot: Option<SnapshotCheck>,
    timing: Timing,
    #[serde(default)]
    repeats: Option<Repeats>,
    #[serde(default)]
    clients: Vec<ClientRun>,
}

fn openai_profile() -> String {
    crate::case::OPENAI_PROFILE.to_owned()
}

impl<'de> Deserialize<'de> for Outcome {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let o = OutcomeIn::deserialize(deserializer)?;
        let state = match (o.verdict, o.error, o.skip_reason) {
            (Verdict::Skipped, _, Some(reason)) => State::Skipped { reason },
            (Verdict::Skipped, _, None) => return Err(D::Error::custom("a `skipped` outcome needs its `skip_reason`")),
            (Verdict::Error, Some(error), _) => State::Broken(error),
            (Verdict::Error, None, _) => return Err(D::Error::custom("an `error` outcome needs its `error`")),
            (judged, _, _) => State::Judged(Judgement {
                verdict: Judged::from_verdict(judged).expect("error and skipped are matched above"),
                severity: o.severity,
                findings: o.findings,
                known: o.known,
                extensions: o.extensions,
            }),
        };
        Ok(Outcome {
            target: o.target,
            feature: o.feature,
            id: o.id,
            title: o.title,
            doc: o.doc,
            file: o.file,
            line: o.line,
            profile: o.profile,
            mode: o.mode,
            state,
            exchange: o.exchange,
            steps: o.steps,
            fixture: o.fixture,
            snapshot: o.snapshot,
            timing: o.timing,
            repeats: o.repeats,
            clients: o.clients,
        })
    }
}
