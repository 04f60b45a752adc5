//! Running one case against one target: request → response → checks → [`Outcome`]. Prints nothing.
//!
//! In replay mode the case's fixture is served by a wiremock server on loopback ([`ReplayServer`]); in live
//! mode the request goes to the target's base URL with the key from the environment, through the target's
//! [`Pacer`] (rate budget, concurrency, retries). Both paths send with the same client and timeouts and read
//! the response the same way, so replay exercises the real path. Faults of the run itself (transport errors,
//! 5xx after retries, HTML pages, cut streams, unmatched replays) become `error` outcomes with their cause
//! ([`classify`]). In live mode the checks judge the response as it came; then everything in the outcome that
//! came from the endpoint — body, chunks, findings, error text, snapshot — is passed through a [`Redactor`]
//! holding the key ([`redact_outcome`]), so no report, snapshot or recorded fixture can carry it even when the
//! endpoint echoes it, and no redaction can change a verdict.
//!
//! `repeat: k` runs the case k times: the outcome reports pass^k (runs that passed on their own, of k) and
//! its verdict holds only if all k did.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::case::{AuthMode, Case, LoadedCase, Request};
use crate::check::{self, Observed};
use crate::fixture::replay::{ReplayServer, UNMATCHED_HEADER};
use crate::fixture::{self, Fixture, FixtureRequest};
use crate::outcome::{
    self, ErrorKind, Exchange, Finding, FixtureInfo, JsonText, KnownStatus, Mode, ObservedBody, Outcome, Repeats, RunError, SentRequest, Verdict,
};
use crate::pacing::Pacer;
use crate::rules::Severity;
use crate::schema::SchemaSet;
use crate::secrets::Redactor;
use crate::snapshot::{self, SnapshotPolicy};
use crate::target::Target;
use crate::transport::{self, BodyEnd, Proxy, TransportError, WireRequest, WireResponse};

mod sequence; // multi-step cases (issue 11)

/// Key sent by cases with `auth: invalid`.
pub const INVALID_KEY: &str = "compat-harness-invalid-key";

/// Why no case runs in [`Mode::Recorded`]: `compat check` builds those outcomes from recorded traffic
/// ([`crate::import`]), never by running a case.
const RECORDED_MODE: &str = "a case cannot run in recorded mode: that mode is `compat check`'s";

/// What a run needs besides the case and target. Build once per run.
#[derive(Clone)]
pub struct RunContext {
    /// Project root (holds `cases/`, `fixtures/`, `snapshots/`).
    pub root: PathBuf,
    /// Compiled schemas, shared.
    pub schemas: Arc<SchemaSet>,
    /// Replay or live.
    pub mode: Mode,
    /// Live: a base URL replacing the target's (`--base-url`).
    pub base_url: Option<String>,
    /// Live: pacing per target, shared by all its cases.
    pub pacer: Option<Arc<Pacer>>,
    /// What to do with snapshots (resolved: never `Auto`).
    pub snapshots: SnapshotPolicy,
}

/// [`run_case`] in a task of its own, so that a panic in the harness becomes that case's outcome — an `error`
/// of kind `harness` under the case's own trial name — instead of taking other outcomes (or the test
/// process's report) with it.
pub async fn run_case_catching(ctx: &RunContext, loaded: &Arc<LoadedCase>, target: &Arc<Target>) -> Outcome {
    let (c, l, t) = (ctx.clone(), Arc::clone(loaded), Arc::clone(target));
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
            let mut outcome = Outcome::new(&loaded.case, &loaded.file, loaded.line, &target.name, ctx.mode);
            outcome.set_error(ErrorKind::Harness, format!("harness bug: the case panicked: {message}"), None);
            outcome
        }
    }
}

/// Debug builds only: `COMPAT_INJECT_PANIC=<trial name>` makes that case's checks panic, so the tests can
/// show a panic lands on the case's own trial as a `harness` error. Release builds have no such hook.
fn inject_panic_for_tests(target: &str, loaded: &LoadedCase) {
    if cfg!(debug_assertions)
        && std::env::var("COMPAT_INJECT_PANIC").is_ok_and(|n| n == outcome::trial_name(target, &loaded.case.feature, &loaded.case.id))
    {
        panic!("injected by COMPAT_INJECT_PANIC");
    }
}

/// Runs `loaded` on `target` and returns its outcome.
pub async fn run_case(ctx: &RunContext, loaded: &LoadedCase, target: &Target) -> Outcome {
    let redactor = redactor_for(ctx, target);
    let mut outcome = judge_case(ctx, loaded, target, &redactor).await;
    if ctx.mode == Mode::Live {
        redact_outcome(&mut outcome, &redactor);
    }
    outcome
}

/// The redactor of a run on `target`: its key in live mode, nothing to hide otherwise.
fn redactor_for(ctx: &RunContext, target: &Target) -> Redactor {
    match ctx.mode {
        Mode::Live => Redactor::new(std::env::var(&target.config.auth.env).ok()),
        Mode::Replay | Mode::Recorded => Redactor::default(), // no key of ours was sent
    }
}

/// The outcome of `loaded` on `target`, judged on the response as it came (`redactor` applies to the
/// snapshot content only, before it is compared, since the stored one was redacted when written).
async fn judge_case(ctx: &RunContext, loaded: &LoadedCase, target: &Target, redactor: &Redactor) -> Outcome {
    let started = Instant::now();
    let case = &loaded.case;
    let mut outcome = Outcome::new(case, &loaded.file, loaded.line, &target.name, ctx.mode);
    let skip = match ctx.mode {
        Mode::Live => target.live_skip_reason(&case.feature, &case.id),
        Mode::Replay | Mode::Recorded => target.skip_reason(&case.feature, &case.id),
    };
    if let Some(reason) = skip {
        outcome.verdict = Verdict::Skipped;
        outcome.skip_reason = Some(reason.to_owned());
        return outcome;
    }
    // --- multi-step cases (issue 11): their own loop, in crate::sequence ---
    if case.is_multi_step() {
        return sequence::run_steps(ctx, loaded, target, outcome, started).await;
    }
    let sent = match resolve_request(loaded, target) {
        Ok(r) => r,
        Err(message) => {
            outcome.set_error(ErrorKind::Config, message, None);
            return outcome;
        }
    };
    let fixture = match ctx.mode {
        Mode::Replay => match load_replay_fixture(ctx, loaded, target) {
            Ok(f) => {
                outcome.fixture = Some(FixtureInfo { path: f.0.clone(), origin: f.1.origin.clone() });
                outcome.clients = crate::clients::for_fixture(&ctx.root, &outcome.name(), &f.1);
                Some(f)
            }
            Err(e) => {
                outcome.set_error(ErrorKind::Fixture, e, None);
                outcome.timing.duration_ms = ms(started);
                return outcome;
            }
        },
        Mode::Live => None,
        Mode::Recorded => {
            outcome.set_error(ErrorKind::Config, RECORDED_MODE, None);
            return outcome;
        }
    };

    // The checks compare the answer with the request as sent, model names resolved for this target
    // (`semantic.model`); the case is otherwise unchanged, so findings keep their lines.
    let checked = Case { request: Request { body: sent.body.clone(), ..case.request.clone() }, ..case.clone() };
    let mut tally = Tally::new(case);
    let (mut last, mut snapshot_text) = (None, None);
    for run in 1..=case.repeat {
        let attempt = match &fixture {
            Some((path, f)) => replay_once(target, &sent, &case.request.headers, path, f).await,
            None => live_once(ctx, target, &sent, &case.request.headers, case.request.auth, case.expect.status).await,
        };
        outcome.timing.attempts += attempt.attempts;
        if ctx.mode == Mode::Live {
            *outcome.timing.queued_ms.get_or_insert(0.0) += attempt.queued.as_secs_f64() * 1000.0;
            if let Some((head, body)) = attempt.wire {
                (outcome.timing.first_byte_ms, outcome.timing.body_ms) = (Some(head.as_secs_f64() * 1000.0), Some(body.as_secs_f64() * 1000.0));
            }
        }
        outcome.timing.retries += attempt.attempts.saturating_sub(1);
        let (observed, ended) = match attempt.result {
            Ok(ok) => ok,
            Err(e) => {
                outcome.error = Some(e);
                break;
            }
        };
        inject_panic_for_tests(&target.name, loaded);
        let ev = check::evaluate(&checked, &observed, &ctx.schemas);
        let fault = classify(&observed, &ended, case.expect.status, ev.truncated, target, attempt.attempts);
        let content_type = observed.header("content-type").map(str::to_owned);
        if let Some(e) = fault {
            outcome.exchange = Some(Exchange::new(sent.clone(), observed.status, content_type, observed.body, &ev.chunks, ev.reassembled));
            outcome.error = Some(e);
            break;
        }
        let mut run_findings = ev.findings;
        let body = match &observed.body {
            ObservedBody::Json { value } => Some(value),
            _ => None,
        };
        let decided = outcome::decide_on(case, &target.name, &mut run_findings, body.or(ev.reassembled.as_ref()));
        tally.add_run(decided, run_findings);
        for ext in ev.extensions {
            if !outcome.extensions.contains(&ext) {
                outcome.extensions.push(ext);
            }
        }
        // The snapshot is of the last run (it is compared only when every run got an answer).
        if run == case.repeat && case.expect.snapshot && ctx.snapshots != SnapshotPolicy::Off {
            snapshot_text = Some(redact_snapshot(snapshot::normalize(body, &ev.chunks, ev.reassembled.as_ref(), observed.status), redactor));
        }
        // The checks are done: the exchange keeps the JSON as text (bodies can be large: embeddings).
        last = Some(Exchange::new(sent.clone(), observed.status, content_type, observed.body, &ev.chunks, ev.reassembled));
    }
    outcome.timing.duration_ms = ms(started);
    if let Some(error) = outcome.error.take() {
        outcome.set_error(error.kind, error.message, error.diff);
        return outcome;
    }
    tally.finish(case, &target.name, &mut outcome);
    if let Some(content) = snapshot_text {
        let name = snapshot::snapshot_name(&case.feature, &case.id);
        outcome.snapshot = ctx.snapshots.apply(snapshot::compare(&ctx.root, &target.name, &name, content));
    }
    outcome.exchange = last;
    outcome
}

/// The tally of a case run `repeat: k` times, shared by one-step and multi-step cases: every run's findings
/// (deduplicated), pass^k, and for each known divergence (the case's own, then its expectations-file entries)
/// in how many runs it was due and observed.
pub(crate) struct Tally {
    findings: Vec<Finding>,
    passed: u32,
    first_failing: Option<Verdict>,
    due: Vec<u32>,
    seen: Vec<u32>,
}

impl Tally {
    pub(crate) fn new(case: &Case) -> Self {
        let declared = case.known_divergences.len() + case.expected.len();
        Tally { findings: Vec::new(), passed: 0, first_failing: None, due: vec![0; declared], seen: vec![0; declared] }
    }

    /// Adds one run: its decision (from [`outcome::decide_on`] or [`outcome::decide_with`]) and its findings.
    pub(crate) fn add_run(&mut self, (verdict, _, known): (Verdict, Option<Severity>, Vec<KnownStatus>), findings: Vec<Finding>) {
        for k in &known {
            self.due[k.index] += u32::from(k.due);
            self.seen[k.index] += u32::from(k.observed > 0);
        }
        if verdict.fails() {
            self.first_failing.get_or_insert(verdict);
        } else {
            self.passed += 1;
        }
        for f in findings {
            let same = |g: &Finding| g.rule == f.rule && g.path == f.path && g.chunk == f.chunk && g.step == f.step && g.message == f.message;
            if !self.findings.iter().any(same) {
                self.findings.push(f);
            }
        }
    }

    /// Decides the outcome over all runs: a known divergence is due if it was due in any run, and the verdict
    /// needs every run (a run that failed on its own — a known divergence some runs did not show — makes it that
    /// run's, `fixed`).
    pub(crate) fn finish(mut self, case: &Case, target: &str, outcome: &mut Outcome) {
        let due = &self.due;
        let (mut verdict, severity, mut known) = outcome::decide_with(case, target, &mut self.findings, |i, _| due[i] > 0);
        if case.repeat > 1 {
            known.iter_mut().for_each(|k| k.runs_observed = Some(self.seen[k.index]));
            outcome.repeats = Some(Repeats { passed: self.passed, total: case.repeat });
        }
        if let Some(failed) = self.first_failing.filter(|_| !verdict.fails()) {
            verdict = failed;
        }
        outcome.verdict = verdict;
        outcome.severity = severity;
        outcome.known = known;
        outcome.findings = self.findings;
        outcome.timing.flaky = outcome.timing.retries > 0 && !verdict.fails();
    }
}

fn ms(since: Instant) -> f64 {
    since.elapsed().as_secs_f64() * 1000.0
}

/// The request with `{{model}}` / `{{model.<role>}}` replaced by the target's model names.
pub fn resolve_request(loaded: &LoadedCase, target: &Target) -> Result<SentRequest, String> {
    resolve_with(loaded, &loaded.case.request, target, &Captures::new())
}

/// Values captured by earlier steps of a multi-step case, by name.
pub type Captures = std::collections::BTreeMap<String, Value>;

/// `request` with its placeholders filled: `{{model}}` / `{{model.<role>}}` by the target's model names, and
/// `{{<capture>}}` by a value an earlier step captured. A body string that is exactly one capture placeholder
/// becomes the captured JSON value itself (an object, an array); inside a longer string a capture is inserted
/// as text (a string as is, anything else as compact JSON).
fn resolve_with(loaded: &LoadedCase, request: &crate::case::Request, target: &Target, captures: &Captures) -> Result<SentRequest, String> {
    let case = &loaded.case;
    let model_for = |role: &str| {
        target
            .model_for(&case.feature, &case.id, role)
            .ok_or_else(|| format!("target `{}` has no model for role `{role}` (add it under `models` in cases/targets.yaml)", target.name))
    };
    let substitute = |s: &str| -> Result<String, String> {
        let mut out = String::new();
        let mut rest = s;
        while let Some(start) = rest.find("{{") {
            let end = rest[start..].find("}}").map(|e| start + e).ok_or_else(|| format!("unclosed `{{{{` in `{s}`"))?;
            out.push_str(&rest[..start]);
            let name = rest[start + 2..end].trim();
            match (name, captures.get(name)) {
                (_, Some(Value::String(v))) => out.push_str(v),
                (_, Some(other)) => out.push_str(&other.to_string()),
                ("model", None) => out.push_str(&model_for(&case.model)?),
                (other, None) => {
                    let role = other.strip_prefix("model.").ok_or_else(|| format!("unknown placeholder `{{{{{other}}}}}`"))?;
                    out.push_str(&model_for(role)?);
                }
            }
            rest = &rest[end + 2..];
        }
        out.push_str(rest);
        Ok(out)
    };
    let whole = |s: &str| -> Option<Value> {
        let inner = s.trim().strip_prefix("{{")?.strip_suffix("}}")?;
        (!inner.contains("{{")).then(|| captures.get(inner.trim()).cloned()).flatten()
    };
    fn walk(v: &Value, f: &dyn Fn(&str) -> Result<String, String>, whole: &dyn Fn(&str) -> Option<Value>) -> Result<Value, String> {
        Ok(match v {
            Value::String(s) if s.contains("{{") => match whole(s) {
                Some(value) => value,
                None => Value::String(f(s)?),
            },
            Value::Array(items) => Value::Array(items.iter().map(|i| walk(i, f, whole)).collect::<Result<_, _>>()?),
            Value::Object(map) => Value::Object(map.iter().map(|(k, v)| Ok((k.clone(), walk(v, f, whole)?))).collect::<Result<_, String>>()?),
            other => other.clone(),
        })
    }
    Ok(SentRequest {
        method: request.method,
        path: substitute(&request.path)?,
        body: request.body.as_ref().map(|b| walk(b, &substitute, &whole)).transpose()?,
        raw_body: request.raw_body.as_ref().map(|r| substitute(r)).transpose()?,
    })
}

fn load_replay_fixture(ctx: &RunContext, loaded: &LoadedCase, target: &Target) -> Result<(String, Fixture), String> {
    let path = fixture::fixture_path(&target.fixtures_dir(), &loaded.case.feature, &loaded.case.id);
    match fixture::load_fixture(&ctx.root, &path) {
        Ok(Some(f)) => Ok((path, f)),
        Ok(None) => Err(format!("no fixture at {path} (write one, or record it: compat run --live --target {} --record missing)", target.name)),
        Err(e) => Err(e.headline()),
    }
}

/// One request's result: the response and how its body ended, or why there is none.
struct Attempt {
    result: Result<(Observed, BodyEnd), RunError>,
    attempts: u32,
    /// Live: time queued behind the pacer, and the last request's (first byte, body) times.
    queued: Duration,
    wire: Option<(Duration, Duration)>,
}

type Headers = std::collections::BTreeMap<String, String>;

async fn replay_once(target: &Target, sent: &SentRequest, headers: &Headers, fixture_path: &str, fixture: &Fixture) -> Attempt {
    let server = ReplayServer::start(fixture, fixture_path).await;
    let request = wire_request(&server.base_url(), sent, headers, None);
    let client = transport::client(&target.config.timeouts, Proxy::Direct, &request.url);
    let result = match transport::send(&client, &request, &target.config.timeouts).await {
        Err(e) => Err(transport_error(e, false)),
        Ok(r) if r.headers.iter().any(|(k, _)| k == UNMATCHED_HEADER) => Err(RunError {
            kind: ErrorKind::Unmatched,
            message: format!("the request matches no fixture: {fixture_path} was recorded for a different request"),
            diff: Some(request_diff(&fixture.request, sent)),
        }),
        Ok(r) => Ok(observe(r)),
    };
    Attempt { result, attempts: 1, queued: Duration::ZERO, wire: None }
}

async fn live_once(ctx: &RunContext, target: &Target, sent: &SentRequest, headers: &Headers, auth: AuthMode, expected: u16) -> Attempt {
    let auth_cfg = &target.config.auth;
    let key = match auth {
        AuthMode::Invalid => INVALID_KEY.to_owned(),
        AuthMode::Target => match std::env::var(&auth_cfg.env).ok().filter(|k| !k.is_empty()) {
            Some(k) => k,
            None => {
                return Attempt {
                    result: Err(RunError { kind: ErrorKind::Config, message: format!("${} is not set", auth_cfg.env), diff: None }),
                    attempts: 0,
                    queued: Duration::ZERO,
                    wire: None,
                };
            }
        },
    };
    let mut base = ctx.base_url.clone().unwrap_or_else(|| target.config.base_url.clone());
    if !base.ends_with('/') {
        base.push('/'); // case paths join under it, as for a target's base_url
    }
    let request = wire_request(&base, sent, headers, Some((auth_cfg.header.clone(), auth_cfg.header_value(&key))));
    drop(key);
    let client = transport::client(&target.config.timeouts, Proxy::FromEnv, &request.url);
    let pacer = ctx.pacer.clone().unwrap_or_else(|| Arc::new(Pacer::unpaced()));
    let sent_result = pacer.send_expecting(&client, &request, &target.config.timeouts, expected).await;
    let wire = sent_result.response.as_ref().ok().map(|r| (r.first_byte, r.elapsed.saturating_sub(r.first_byte)));
    let result = match sent_result.response {
        Err(e) => Err(transport_error(e, sent_result.unreachable)),
        Ok(r) => Ok(observe(r)),
    };
    Attempt { result, attempts: sent_result.attempts, queued: sent_result.queued, wire }
}

/// Replaces every copy of the key in what the outcome took from the endpoint: the exchange (JSON value by
/// value, stream events, chunks, the reassembled message), the findings' text, extensions and the error.
/// Credential headers never reach an outcome (only `content-type` is kept).
fn redact_outcome(o: &mut Outcome, r: &Redactor) {
    if let Some(x) = &mut o.exchange {
        redact_exchange(x, r);
    }
    for step in &mut o.steps {
        step.exchanges.iter_mut().for_each(|x| redact_exchange(x, r));
        step.captured.values_mut().for_each(|v| r.value(v));
    }
    for f in &mut o.findings {
        for field in [&mut f.path, &mut f.message, &mut f.expected, &mut f.actual, &mut f.detail] {
            *field = r.text(field);
        }
    }
    o.extensions.iter_mut().for_each(|e| *e = r.text(e));
    if let Some(e) = &mut o.error {
        e.message = r.text(&e.message);
        e.diff = e.diff.as_deref().map(|d| r.text(d));
    }
}

/// [`redact_outcome`] for one exchange. Its request too: a later step's request carries values captured
/// from earlier answers.
fn redact_exchange(x: &mut Exchange, r: &Redactor) {
    if let Some(b) = &mut x.request.body {
        r.value(b);
    }
    x.request.raw_body = x.request.raw_body.as_deref().map(|t| r.text(t));
    x.content_type = x.content_type.as_deref().map(|c| r.text(c));
    let redact_json = |j: &mut JsonText| {
        let mut value = j.value();
        r.value(&mut value);
        *j = JsonText::from_value(&value);
    };
    match &mut x.body {
        ObservedBody::Empty => {}
        ObservedBody::Json { value } => redact_json(value),
        ObservedBody::Stream { events, .. } => {
            for e in events {
                e.data = r.event_data(&e.data);
                e.event = e.event.as_deref().map(|t| r.text(t));
                e.id = e.id.as_deref().map(|t| r.text(t));
            }
        }
        ObservedBody::Text { text, content_type } => {
            *text = r.text(text);
            *content_type = content_type.as_deref().map(|c| r.text(c));
        }
    }
    x.chunks.iter_mut().for_each(redact_json);
    if let Some(m) = &mut x.reassembled {
        r.value(m);
    }
}

/// A normalized snapshot with the key replaced value by value (it is JSON text); unchanged when it holds none.
fn redact_snapshot(content: String, r: &Redactor) -> String {
    let Ok(mut value) = serde_json::from_str::<Value>(&content) else { return r.text(&content) };
    let before = value.clone();
    r.value(&mut value);
    if value == before { content } else { serde_json::to_string_pretty(&value).expect("a Value serializes") }
}

/// The request on the wire: the case's own headers, then the auth header (which wins over a case header of
/// the same name).
fn wire_request(base: &str, sent: &SentRequest, case_headers: &Headers, auth: Option<(String, String)>) -> WireRequest {
    let mut headers: Vec<(String, String)> = case_headers
        .iter()
        .filter(|(k, _)| auth.as_ref().is_none_or(|(a, _)| !a.eq_ignore_ascii_case(k)))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    headers.extend(auth);
    let body = match (&sent.body, &sent.raw_body) {
        (Some(b), _) => Some(serde_json::to_vec(b).expect("a Value serializes")),
        (None, Some(raw)) => Some(raw.clone().into_bytes()),
        (None, None) => None,
    };
    WireRequest { method: sent.method, url: format!("{base}{}", sent.path.trim_start_matches('/')), headers, body }
}

fn observe(r: WireResponse) -> (Observed, BodyEnd) {
    (Observed::from_bytes(r.status, r.headers, &r.body), r.ended)
}

/// The error of a request that got no response; `unreachable` when the pacer found the target unreachable
/// (this connect failure showed it, or the request was never sent because of it).
fn transport_error(e: TransportError, unreachable: bool) -> RunError {
    let kind = match e {
        TransportError::FirstByteTimeout(_) => ErrorKind::Timeout,
        TransportError::Tls(_) => ErrorKind::Tls,
        TransportError::NotSent(_) => ErrorKind::Unreachable,
        TransportError::Connect(_) if unreachable => ErrorKind::Unreachable,
        TransportError::Connect(_) | TransportError::Request(_) => ErrorKind::Transport,
    };
    RunError { kind, message: e.to_string(), diff: None }
}

/// Decides whether a response is a fault of the run rather than evidence about conformance.
///
/// The rule (stated in the README): a body cut short (reset, or a stream with neither `[DONE]` nor a
/// `finish_reason`) is `truncated`; a body that stalls past the idle timeout is `timeout`; a 5xx or 429 that
/// the case did not expect (what is left after the pacer's retries) is an endpoint fault — except a 5xx other
/// than the transient 502, 503, 504 where the case expects a 4xx: that is the endpoint's answer to an invalid
/// request, a `status` divergence; a 401/403 the case did not expect is an endpoint fault (credentials, not
/// conformance); an HTML body is a gateway or proxy page, an endpoint fault at any status. Any other non-JSON
/// body where JSON was due is a divergence, judged by the checks.
fn classify(observed: &Observed, ended: &BodyEnd, expected: u16, stream_truncated: bool, target: &Target, attempts: u32) -> Option<RunError> {
    let err = |kind, message: String| Some(RunError { kind, message, diff: None });
    let size = match &observed.body {
        ObservedBody::Stream { events, .. } => format!("{} events", events.len()),
        _ => "the body".to_owned(),
    };
    match ended {
        BodyEnd::Complete => {}
        BodyEnd::IdleTimeout(d) => return err(ErrorKind::Timeout, format!("the body stalled: nothing for {} ms after {size}", d.as_millis())),
        BodyEnd::Reset(e) => return err(ErrorKind::Truncated, format!("the connection broke after {size}: {e}")),
        BodyEnd::TooLarge => return err(ErrorKind::Endpoint, format!("the body exceeds {} bytes", transport::MAX_BODY_BYTES)),
        BodyEnd::Deadline(d) => return err(ErrorKind::Timeout, format!("the body was still arriving after {} ms ({size} so far)", d.as_millis())),
    }
    let status = observed.status;
    if let ObservedBody::Text { content_type, text } = &observed.body {
        let start: String = text.trim_start().chars().take(15).collect::<String>().to_ascii_lowercase();
        if content_type.as_deref().is_some_and(|ct| ct.starts_with("text/html")) || start.starts_with("<!doctype html") || start.starts_with("<html")
        {
            return err(ErrorKind::Endpoint, format!("status {status} with an HTML page instead of an API answer (a gateway or proxy fault)"));
        }
    }
    if status != expected {
        let answers_invalid_request = (400..500).contains(&expected) && status >= 500 && !matches!(status, 502..=504);
        if (status == 429 || status >= 500) && !answers_invalid_request {
            let tries = if attempts > 1 { format!(" after {attempts} attempts") } else { String::new() };
            return err(ErrorKind::Endpoint, format!("status {status}{tries} (expected {expected}): the endpoint is overloaded or failing"));
        }
        if status == 401 || status == 403 {
            return err(ErrorKind::Endpoint, format!("status {status}: the key in ${} was refused", target.config.auth.env));
        }
    }
    if stream_truncated {
        return err(ErrorKind::Truncated, format!("the stream ended after {size} with neither [DONE] nor a finish_reason"));
    }
    None
}

/// A unified diff from the recorded request to the one sent.
fn request_diff(recorded: &FixtureRequest, sent: &SentRequest) -> String {
    let render = |r: &SentRequest| {
        let body = match (&r.body, &r.raw_body) {
            (Some(b), _) => serde_json::to_string_pretty(b).expect("a Value serializes"),
            (None, Some(raw)) => raw.clone(),
            (None, None) => String::new(),
        };
        format!("{} {}\n{body}\n", r.method, r.path)
    };
    let (old, new) = (render(recorded), render(sent));
    similar::TextDiff::from_lines(&old, &new).unified_diff().context_radius(3).header("recorded", "sent").to_string()
}
