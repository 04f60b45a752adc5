//! The step executor: one pass through a case's steps, every request sent, classified, checked and kept the
//! same way whatever the case's form.
//!
//! Each step's request is resolved for the target (model names, values captured by earlier steps) and sent;
//! the answer is classified (a fault of the run ends the pass with an error), checked, and kept as an exchange.
//! A polled step sends its request again every `interval_ms` until `until` holds or the answer's status is not
//! the expected one, and only that last answer is checked; every answer is kept, so recording writes the whole
//! sequence. A poll that never ends within `max_attempts` is an `error` (`timeout`) naming the condition and the
//! last value seen — never a hang. After a step, its `captures` are read from its answer (the JSON body, or a
//! stream's reassembled message); a capture that finds nothing is a `step.capture` finding that ends the pass
//! (the next request cannot be made). Findings and errors of a named step say which step they come from.

use std::time::Duration;

use serde_json::Value;

use super::send::{self, Sender};
use super::{RunContext, RunMode, resolve};
use crate::case::{LoadedCase, Step};
use crate::check::{self, assertions};
use crate::fixture::FixtureFile;
use crate::outcome::{ErrorKind, Exchange, Finding, ObservedBody, RunError, StepRecord, Timing};
use crate::rules;
use crate::schema::compact;
use crate::target::Target;

/// One run through a case's steps.
#[derive(Default)]
pub(super) struct Pass {
    /// Each step that was sent, with its exchanges and captures, in order.
    pub steps: Vec<StepRecord>,
    /// The findings of every step (a named step's marked with its name).
    pub findings: Vec<Finding>,
    /// Fields the spec does not define, over every step.
    pub extensions: Vec<String>,
    /// Why the pass broke, if it did.
    pub error: Option<RunError>,
    /// When asked for: the normalized snapshot content of the pass's last answer.
    pub snapshot: Option<String>,
}

/// What a pass reads of an exchange: a stream's reassembled message, else the JSON body.
pub(super) fn subject(x: &Exchange) -> Option<Value> {
    x.reassembled.clone().or_else(|| x.json_body())
}

/// Sends every step of `loaded` to `target` in order (from `fixture` in replay), adding to `timing`. With
/// `snapshot`, the last answer's snapshot content is normalized while its JSON is still parsed.
pub(super) async fn run_pass(
    ctx: &RunContext,
    loaded: &LoadedCase,
    target: &Target,
    fixture: Option<&FixtureFile>,
    timing: &mut Timing,
    snapshot: bool,
) -> Pass {
    let mut sender = match fixture {
        Some(file) => Sender::replay(ctx, file).await,
        None => Sender::Live,
    };
    let mut captures = resolve::Captures::new();
    let mut pass = Pass::default();
    for spanned in &loaded.case.steps {
        let step = &spanned.value;
        let in_step = |mut e: RunError| {
            if let Some(name) = &step.name {
                e.message = format!("step `{name}`: {}", e.message);
            }
            e
        };
        let mut record = StepRecord { name: step.name.clone(), exchanges: Vec::new(), captured: Default::default() };
        let checked = match execute(ctx, loaded, target, step, &captures, &mut sender, &mut record, timing, snapshot).await {
            Ok(checked) => checked,
            Err(e) => {
                pass.error = Some(in_step(e));
                pass.steps.push(record);
                return pass;
            }
        };
        pass.snapshot = checked.snapshot;
        pass.findings.extend(checked.findings.into_iter().map(|f| match &step.name {
            Some(name) => f.in_step(name),
            None => f,
        }));
        for ext in checked.extensions {
            if !pass.extensions.contains(&ext) {
                pass.extensions.push(ext);
            }
        }
        let complete = capture(step, &mut record, &mut captures, &mut pass.findings);
        pass.steps.push(record);
        if !complete {
            break;
        }
    }
    pass
}

/// What the checks found on a step's final answer.
struct Checked {
    findings: Vec<Finding>,
    extensions: Vec<String>,
    /// The answer's normalized snapshot content, when asked for.
    snapshot: Option<String>,
}

/// Sends one step (again and again while it polls) and checks its final answer; every answer is kept in
/// `record`. An `Err` is a fault of the run.
#[allow(clippy::too_many_arguments)] // one call site; the arguments are the step's context, each distinct
async fn execute(
    ctx: &RunContext,
    loaded: &LoadedCase,
    target: &Target,
    step: &Step,
    captures: &resolve::Captures,
    sender: &mut Sender<'_>,
    record: &mut StepRecord,
    timing: &mut Timing,
    snapshot: bool,
) -> Result<Checked, RunError> {
    let sent = resolve::resolve_with(loaded, &step.request, target, captures).map_err(|message| RunError {
        kind: ErrorKind::Config,
        message,
        diff: None,
    })?;
    let max_attempts = step.poll.as_ref().map_or(1, |p| p.max_attempts);
    for attempt in 1..=max_attempts {
        let a = sender.send(ctx, target, &sent, &step.request, step.expect.status).await;
        timing.attempts += a.attempts;
        timing.retries += a.attempts.saturating_sub(1);
        if ctx.mode == RunMode::Live {
            *timing.queued_ms.get_or_insert(0.0) += a.queued.as_secs_f64() * 1000.0;
            if let Some((head, body)) = a.wire {
                (timing.first_byte_ms, timing.body_ms) = (Some(head.as_secs_f64() * 1000.0), Some(body.as_secs_f64() * 1000.0));
            }
        }
        let (observed, ended, wire) = a.result?;
        super::inject_panic_for_tests(&target.name, loaded);
        let ev = check::evaluate(&sent, &step.expect, &observed, &ctx.schemas);
        let fault = send::classify(&observed, &ended, step.expect.status, ev.truncated, target, a.attempts);
        let content_type = observed.header("content-type").map(str::to_owned);
        let json = match &observed.body {
            ObservedBody::Json { value } => Some(value),
            _ => None,
        };
        let snapshot = snapshot.then(|| crate::snapshot::normalize(json, &ev.chunks, ev.reassembled.as_ref(), observed.status));
        // The checks are done: the exchange keeps the JSON as text, as it came (bodies can be large: embeddings).
        let body = observed.body.into_wire_text(&wire);
        record.exchanges.push(Exchange::received(sent.clone(), observed.status, content_type, body, &ev.chunks, ev.reassembled));
        if let Some(e) = fault {
            return Err(e);
        }
        let checked = Checked { findings: ev.findings, extensions: ev.extensions, snapshot };
        let Some(poll) = &step.poll else { return Ok(checked) };
        let last = record.exchanges.last().expect("just pushed");
        // A status other than the expected one ends the poll too: that answer is checked (a `status` finding).
        if last.status != step.expect.status || subject(last).is_some_and(|v| assertions::holds(&poll.until, &v)) {
            return Ok(checked);
        }
        if attempt == max_attempts {
            let seen = subject(last)
                .map(|v| poll.until.path.select(&v).iter().map(|(_, v)| compact(v, 80)).collect::<Vec<_>>().join(", "))
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| "nothing at that path".to_owned());
            let message = format!(
                "the poll gave up: `{}` did not hold after {max_attempts} attempts (every {} ms); the last answer has {seen}",
                assertions::describe_assertion(&poll.until),
                poll.interval_ms
            );
            return Err(RunError { kind: ErrorKind::Timeout, message, diff: None });
        }
        if ctx.mode == RunMode::Live {
            tokio::time::sleep(Duration::from_millis(poll.interval_ms)).await;
        }
    }
    unreachable!("a poll makes at least one attempt (the loader bounds max_attempts to 1..=1000)")
}

/// Reads `step`'s captures from its last answer into `captures` (and the record); a capture that finds nothing
/// adds a `step.capture` finding — unless the step's status was already wrong, which says why — and returns
/// false: the next request cannot be made.
fn capture(step: &Step, record: &mut StepRecord, captures: &mut resolve::Captures, findings: &mut Vec<Finding>) -> bool {
    if step.captures.is_empty() {
        return true;
    }
    let name = step.name.as_deref().unwrap_or_default();
    let status_failed = findings.iter().any(|f| f.step.as_deref() == step.name.as_deref() && f.rule == rules::STATUS.id);
    let answer = record.exchanges.last().and_then(subject);
    let mut complete = true;
    for (capture, path) in &step.captures {
        match answer.as_ref().and_then(|v| path.value.select(v).into_iter().next()) {
            Some((_, value)) => {
                captures.insert(capture.clone(), value.clone());
                record.captured.insert(capture.clone(), value.clone());
            }
            None => {
                complete = false;
                if !status_failed {
                    let mut f = Finding::new(
                        &rules::STEP_CAPTURE,
                        path.value.as_str(),
                        format!("capture `{capture}` found nothing; later steps were not sent"),
                    )
                    .expecting("a value", "nothing")
                    .detail(format!("captures.{capture}: {}", path.value))
                    .in_step(name);
                    f.line = Some(path.referenced.line());
                    findings.push(f);
                }
            }
        }
    }
    complete
}
