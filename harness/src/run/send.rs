//! Sending one request of a step — to the fixture's replay server or to the live endpoint — and classifying
//! what came back: a response to check, or a fault of the run.

use std::time::Duration;

use super::{INVALID_KEY, RunContext};
use crate::case::{AuthMode, Request};
use crate::check::Observed;
use crate::fixture::replay::{ReplayServer, UNMATCHED_HEADER};
use crate::fixture::{Fixture, FixtureFile, FixtureRequest};
use crate::outcome::{ErrorKind, ObservedBody, RunError, SentRequest};
use crate::target::Target;
use crate::transport::{self, BodyEnd, Proxy, TransportError, WireRequest, WireResponse};

/// Where a pass sends its requests.
pub(super) enum Sender<'a> {
    /// A fixture's exchanges on a replay server; `served` counts the requests sent so far (the index of the
    /// exchange due next).
    Replay { server: ReplayServer, file: &'a FixtureFile, served: usize },
    /// The target's endpoint.
    Live,
}

/// One request's result: the response and how its body ended, or why there is none.
pub(super) struct Attempt {
    pub result: Result<(Observed, BodyEnd, Vec<u8>), RunError>,
    /// Requests sent (more than one when the pacer retried).
    pub attempts: u32,
    /// Live: time queued behind the pacer.
    pub queued: Duration,
    /// Live: the last request's (first byte, body) times.
    pub wire: Option<(Duration, Duration)>,
}

impl Attempt {
    fn once(result: Result<(Observed, BodyEnd, Vec<u8>), RunError>) -> Self {
        Attempt { result, attempts: 1, queued: Duration::ZERO, wire: None }
    }
}

impl<'a> Sender<'a> {
    /// A sender serving the exchanges of `file` for one pass.
    pub(super) async fn replay(ctx: &RunContext, file: &'a FixtureFile) -> Sender<'a> {
        Sender::Replay { server: ctx.replayer.serve(file).await, file, served: 0 }
    }

    /// Sends `sent` (the step's `request`, resolved) and reads the answer. `expected` is the step's status: the
    /// live pacer does not retry a 5xx the case expects.
    pub(super) async fn send(&mut self, ctx: &RunContext, target: &Target, sent: &SentRequest, request: &Request, expected: u16) -> Attempt {
        match self {
            Sender::Replay { server, file, served } => {
                let wire = wire_request(server.base_url(), sent, &request.headers, None);
                let client = ctx.http.client(&target.config.timeouts, Proxy::Direct, &wire.url);
                let result = match transport::send(&client, &wire, &target.config.timeouts).await {
                    Err(e) => Err(transport_error(e, false)),
                    Ok(r) if r.headers.iter().any(|(k, _)| k == UNMATCHED_HEADER) => Err(unmatched(&file.path, &file.exchanges, *served, sent)),
                    Ok(r) => Ok(observe(r)),
                };
                *served += 1;
                Attempt::once(result)
            }
            Sender::Live => send_live(ctx, target, sent, request, expected).await,
        }
    }
}

/// The error of a request the replay server matched to no exchange: diffed against the exchange due next.
fn unmatched(path: &str, fixtures: &[Fixture], served: usize, sent: &SentRequest) -> RunError {
    let (message, due) = match fixtures {
        [one] => (format!("the request matches no fixture: {path} was recorded for a different request"), Some(one)),
        several => match several.get(served) {
            Some(next) => (format!("the request matches no exchange of {path}: exchange {served} was recorded for a different request"), Some(next)),
            None => (format!("{path} holds {} exchanges and the case sent a request after the last one", several.len()), None),
        },
    };
    RunError { kind: ErrorKind::Unmatched, message, diff: due.map(|f| request_diff(&f.request, sent)) }
}

async fn send_live(ctx: &RunContext, target: &Target, sent: &SentRequest, request: &Request, expected: u16) -> Attempt {
    let key = match request.auth {
        AuthMode::Invalid => INVALID_KEY.to_owned(),
        AuthMode::Target => match target.key() {
            Ok(key) => key.unwrap_or_default(),
            Err(message) => {
                let error = RunError { kind: ErrorKind::Config, message, diff: None };
                return Attempt { result: Err(error), attempts: 0, queued: Duration::ZERO, wire: None };
            }
        },
    };
    let mut base = ctx.base_url.clone().unwrap_or_else(|| target.config.base_url.clone());
    if !base.ends_with('/') {
        base.push('/'); // case paths join under it, as for a target's base_url
    }
    let wire = wire_request(&base, sent, &request.headers, target.auth_header(&key));
    drop(key);
    let client = ctx.http.client(&target.config.timeouts, Proxy::FromEnv, &wire.url);
    let sent_result = ctx.pacer(&target.name).send_expecting(&client, &wire, &target.config.timeouts, expected).await;
    let timing = sent_result.response.as_ref().ok().map(|r| (r.first_byte, r.elapsed.saturating_sub(r.first_byte)));
    let result = match sent_result.response {
        Err(e) => Err(transport_error(e, sent_result.unreachable)),
        Ok(r) => Ok(observe(r)),
    };
    Attempt { result, attempts: sent_result.attempts, queued: sent_result.queued, wire: timing }
}

type Headers = std::collections::BTreeMap<String, String>;

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

/// The response classified for the checks, how its body ended, and the body as it came (the exchange keeps
/// its JSON as spelled there).
fn observe(r: WireResponse) -> (Observed, BodyEnd, Vec<u8>) {
    (Observed::from_bytes(r.status, r.headers, &r.body), r.ended, r.body)
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
pub(super) fn classify(
    observed: &Observed,
    ended: &BodyEnd,
    expected: u16,
    stream_truncated: bool,
    target: &Target,
    attempts: u32,
) -> Option<RunError> {
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
            let why = if target.config.auth.is_none() {
                "the target refused a request without a key (configure one: --api-key-env, or `auth` in targets.yaml)".to_owned()
            } else {
                format!("the key in ${} was refused", target.config.auth.env)
            };
            return err(ErrorKind::Endpoint, format!("status {status}: {why}"));
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
