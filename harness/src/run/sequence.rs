//! Running a multi-step case: its steps in order, values captured from one answer into the next request, and
//! bounded polls.
//!
//! Each step is sent and checked exactly as a one-step case would be (the case seen through
//! [`Case::step_case`]), and its findings are marked with the step's name; the verdict is decided once over
//! the findings of every step, against the case's known divergences (which may name a step). After a step,
//! its `captures` are read from its answer — the JSON body, or a stream's reassembled message — and a capture
//! that finds nothing is a `step.capture` finding that stops the run there (the next request cannot be made).
//! A polled step sends its request again every `interval_ms` until `until` holds or the answer's status is not
//! the expected one, and only that last answer is checked; every answer is kept as an exchange, so recording
//! writes the whole sequence. A poll that never ends within `max_attempts` is an `error` (`timeout`) naming the
//! condition and the last value seen — never a hang. Replay serves the fixture's exchanges in order and does
//! not wait between attempts.
//!
//! Snapshots: a multi-step case has one snapshot, of its last step's final answer, under the case's usual name.

use std::time::{Duration, Instant};

use serde_json::Value;

use super::{
    Attempt, Captures, Headers, RunContext, Tally, classify, live_once, ms, observe, redact_snapshot, redactor_for, request_diff, resolve_with,
    transport_error, wire_request,
};
use crate::case::{Case, KnownDivergence, LoadedCase, Request, When};
use crate::check::{self, assertions};
use crate::fixture::replay::{ReplayServer, UNMATCHED_HEADER};
use crate::fixture::{self, Fixture};
use crate::outcome::{self, ErrorKind, Exchange, Finding, FixtureInfo, JsonText, Mode, Outcome, RunError, SentRequest, StepRecord, Timing};
use crate::rules;
use crate::schema::compact;
use crate::snapshot::{self, SnapshotPolicy};
use crate::target::Target;
use crate::transport;

/// One run through the steps.
#[derive(Default)]
struct Pass {
    steps: Vec<StepRecord>,
    findings: Vec<Finding>,
    extensions: Vec<String>,
    error: Option<RunError>,
}

/// Runs a multi-step case on `target`, `repeat` times, into `outcome` (already named, not skipped).
pub(super) async fn run_steps(ctx: &RunContext, loaded: &LoadedCase, target: &Target, mut outcome: Outcome, started: Instant) -> Outcome {
    let case = &loaded.case;
    let fixtures = match ctx.mode {
        Mode::Live => None,
        Mode::Recorded => {
            outcome.set_error(ErrorKind::Config, super::RECORDED_MODE, None);
            return outcome;
        }
        Mode::Replay => {
            let path = fixture::fixture_path(&target.fixtures_dir(), &case.feature, &case.id);
            let loaded_fixtures = match fixture::load_fixtures(&ctx.root, &path) {
                Ok(Some(f)) => Ok(f),
                Ok(None) => {
                    Err(format!("no fixture at {path} (write one, or record it: compat run --live --target {} --record missing)", target.name))
                }
                Err(e) => Err(e.headline()),
            };
            match loaded_fixtures {
                Ok(f) => {
                    outcome.fixture = Some(FixtureInfo { path: path.clone(), origin: f[0].origin.clone() });
                    Some((path, f))
                }
                Err(message) => {
                    outcome.set_error(ErrorKind::Fixture, message, None);
                    outcome.timing.duration_ms = ms(started);
                    return outcome;
                }
            }
        }
    };

    let mut tally = Tally::new(case);
    let mut last_steps = Vec::new();
    let mut error = None;
    for _ in 0..case.repeat {
        let pass = run_once(ctx, loaded, target, fixtures.as_ref(), &mut outcome.timing).await;
        if pass.error.is_some() {
            error = pass.error;
            last_steps = pass.steps;
            break;
        }
        let mut run_findings = pass.findings;
        let decided = outcome::decide_with(case, &target.name, &mut run_findings, |_, k| due_in(k, &pass.steps));
        tally.add_run(decided, run_findings);
        for ext in pass.extensions {
            if !outcome.extensions.contains(&ext) {
                outcome.extensions.push(ext);
            }
        }
        last_steps = pass.steps;
    }
    outcome.timing.duration_ms = ms(started);
    outcome.exchange = last_steps.last().and_then(|s| s.exchanges.last()).cloned();
    outcome.steps = last_steps;
    if let Some(e) = error {
        outcome.set_error(e.kind, e.message, e.diff);
        return outcome;
    }
    tally.finish(case, &target.name, &mut outcome);
    let snapshot_wanted = case.steps.last().is_some_and(|s| s.value.expect.snapshot) && ctx.snapshots != SnapshotPolicy::Off;
    if let Some(exchange) = outcome.exchange.as_ref().filter(|_| snapshot_wanted) {
        let chunks: Vec<Value> = exchange.chunks.iter().map(JsonText::value).collect();
        let normalized = snapshot::normalize(exchange.json_body().as_ref(), &chunks, exchange.reassembled.as_ref(), exchange.status);
        let content = redact_snapshot(normalized, &redactor_for(ctx, target));
        let name = snapshot::snapshot_name(&case.feature, &case.id);
        outcome.snapshot = ctx.snapshots.apply(snapshot::compare(&ctx.root, &target.name, &name, content));
    }
    outcome
}

/// Whether a known divergence was due on a run: `when: present` is due when its path holds a value in the
/// checked answer of its step (of any step, when it names none).
fn due_in(k: &KnownDivergence, steps: &[StepRecord]) -> bool {
    match &k.when {
        When::Present { .. } => steps
            .iter()
            .filter(|s| k.step.as_ref().is_none_or(|name| *name == s.name))
            .any(|s| k.when.due(s.exchanges.last().and_then(subject).as_ref())),
        other => other.due(None),
    }
}

/// What a step's captures and a poll's condition read: a stream's reassembled message, else the JSON body.
fn subject(x: &Exchange) -> Option<Value> {
    x.reassembled.clone().or_else(|| x.json_body())
}

/// One pass through every step.
async fn run_once(ctx: &RunContext, loaded: &LoadedCase, target: &Target, fixtures: Option<&(String, Vec<Fixture>)>, timing: &mut Timing) -> Pass {
    let case: &Case = &loaded.case;
    let server = match fixtures {
        Some((path, f)) => Some(ReplayServer::start_sequence(f, path).await),
        None => None,
    };
    let mut served = 0usize; // requests sent so far: in replay, the index of the next recorded exchange
    let mut captures = Captures::new();
    let mut pass = Pass::default();
    for (index, spanned) in case.steps.iter().enumerate() {
        let step = &spanned.value;
        let in_step = |mut e: RunError| {
            e.message = format!("step `{}`: {}", step.name, e.message);
            e
        };
        let sent = match resolve_with(loaded, &step.request, target, &captures) {
            Ok(s) => s,
            Err(message) => {
                pass.error = Some(in_step(RunError { kind: ErrorKind::Config, message, diff: None }));
                return pass;
            }
        };
        // As for a one-step case, the checks see the request as sent (model names and captures resolved).
        let step_case = case.step_case(index);
        let step_case = Case { request: Request { body: sent.body.clone(), ..step_case.request.clone() }, ..step_case };
        let mut record = StepRecord { name: step.name.clone(), exchanges: Vec::new(), captured: Default::default() };
        let max_attempts = step.poll.as_ref().map_or(1, |p| p.max_attempts);
        let mut checked = None;
        for attempt in 1..=max_attempts {
            let a = match (&server, fixtures) {
                (Some(server), Some(fixtures)) => replay_send(server, target, &sent, &step.request.headers, fixtures, served).await,
                _ => live_once(ctx, target, &sent, &step.request.headers, step.request.auth, step_case.expect.status).await,
            };
            served += 1;
            timing.attempts += a.attempts;
            timing.retries += a.attempts.saturating_sub(1);
            if ctx.mode == Mode::Live {
                *timing.queued_ms.get_or_insert(0.0) += a.queued.as_secs_f64() * 1000.0;
                if let Some((head, body)) = a.wire {
                    (timing.first_byte_ms, timing.body_ms) = (Some(head.as_secs_f64() * 1000.0), Some(body.as_secs_f64() * 1000.0));
                }
            }
            let (observed, ended) = match a.result {
                Ok(ok) => ok,
                Err(e) => {
                    pass.error = Some(in_step(e));
                    pass.steps.push(record);
                    return pass;
                }
            };
            let ev = check::evaluate(&step_case, &observed, &ctx.schemas);
            let fault = classify(&observed, &ended, step.expect.status, ev.truncated, target, a.attempts);
            let content_type = observed.header("content-type").map(str::to_owned);
            record.exchanges.push(Exchange::new(sent.clone(), observed.status, content_type, observed.body, &ev.chunks, ev.reassembled.clone()));
            if let Some(e) = fault {
                pass.error = Some(in_step(e));
                pass.steps.push(record);
                return pass;
            }
            let Some(poll) = &step.poll else {
                checked = Some(ev);
                break;
            };
            let last = record.exchanges.last().expect("just pushed");
            // A status other than the expected one ends the poll too: that answer is checked (a `status` finding).
            if last.status != step.expect.status || subject(last).is_some_and(|v| assertions::holds(&poll.until, &v)) {
                checked = Some(ev);
                break;
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
                pass.error = Some(in_step(RunError { kind: ErrorKind::Timeout, message, diff: None }));
                pass.steps.push(record);
                return pass;
            }
            if ctx.mode == Mode::Live {
                tokio::time::sleep(Duration::from_millis(poll.interval_ms)).await;
            }
        }
        let ev = checked.expect("the attempt loop either checks an answer or returns");
        pass.findings.extend(ev.findings.into_iter().map(|f| f.in_step(&step.name)));
        for ext in ev.extensions {
            if !pass.extensions.contains(&ext) {
                pass.extensions.push(ext);
            }
        }
        let status_failed = pass.findings.iter().any(|f| f.step.as_deref() == Some(&step.name) && f.rule == rules::STATUS.id);
        let answer = record.exchanges.last().and_then(subject);
        let mut missing = false;
        for (name, path) in &step.captures {
            match answer.as_ref().and_then(|v| path.value.select(v).into_iter().next()) {
                Some((_, value)) => {
                    captures.insert(name.clone(), value.clone());
                    record.captured.insert(name.clone(), value.clone());
                }
                None => {
                    missing = true;
                    if !status_failed {
                        // A wrong status already says why; the capture's absence would only repeat it.
                        let mut f = Finding::new(
                            &rules::STEP_CAPTURE,
                            path.value.as_str(),
                            format!("capture `{name}` found nothing; later steps were not sent"),
                        )
                        .expecting("a value", "nothing")
                        .detail(format!("captures.{name}: {}", path.value))
                        .in_step(&step.name);
                        f.line = Some(path.referenced.line());
                        pass.findings.push(f);
                    }
                }
            }
        }
        pass.steps.push(record);
        if missing {
            break;
        }
    }
    pass
}

/// Sends one request of a sequence to the replay server; an unmatched request is diffed against the exchange
/// the fixture has next.
async fn replay_send(
    server: &ReplayServer,
    target: &Target,
    sent: &SentRequest,
    headers: &Headers,
    fixtures: &(String, Vec<Fixture>),
    served: usize,
) -> Attempt {
    let (path, recorded) = fixtures;
    let request = wire_request(&server.base_url(), sent, headers, None);
    let client = transport::client(&target.config.timeouts, transport::Proxy::Direct, &request.url);
    let result = match transport::send(&client, &request, &target.config.timeouts).await {
        Err(e) => Err(transport_error(e, false)),
        Ok(r) if r.headers.iter().any(|(k, _)| k == UNMATCHED_HEADER) => Err(match recorded.get(served) {
            Some(next) => RunError {
                kind: ErrorKind::Unmatched,
                message: format!("the request matches no exchange of {path}: exchange {served} was recorded for a different request"),
                diff: Some(request_diff(&next.request, sent)),
            },
            None => RunError {
                kind: ErrorKind::Unmatched,
                message: format!("{path} holds {} exchanges and the case sent a request after the last one", recorded.len()),
                diff: None,
            },
        }),
        Ok(r) => Ok(observe(r)),
    };
    Attempt { result, attempts: 1, queued: Duration::ZERO, wire: None }
}
