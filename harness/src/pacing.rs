//! Pacing live requests to a target's quota, and retrying what is worth retrying.
//!
//! One [`Pacer`] per target per run, shared by all its cases:
//! - a concurrency limit (a semaphore) and a requests-per-minute budget, spent as evenly spaced start slots
//!   (every attempt, retries included, takes a slot);
//! - `429` honours `Retry-After` (seconds or an HTTP date; without one, the `retryDelay` Gemini puts in its
//!   error body; capped at `max_backoff_ms`) and pushes back every later slot of the target, since the quota
//!   is shared;
//! - `429`, `500`, `502`, `503`, `504` and connection failures are retried up to `max_retries` times with
//!   exponential backoff (`backoff_ms` doubling, capped) and jitter (each wait drawn from [½, 1] of its bound);
//! - every other status, 4xx included, is returned as is: it is the endpoint's answer; so are timeouts (a
//!   stalled endpoint is reported, not waited on again) and bodies cut for size;
//! - where the case expects a 4xx, a `500` (or any 5xx but the transient `502`, `503`, `504`) that comes back
//!   with the same body twice, without asking for time, is not retried again: it is the endpoint's
//!   deterministic answer to an invalid request, which the run layer judges as a `status` divergence;
//! - a connection that fails (refused, DNS, TLS, connect timeout) before the target has answered anything
//!   marks the target *unreachable*: that request is not retried, and every other request of the target —
//!   waiting for its slot or sent later — returns at once as [`TransportError::NotSent`], so a wrong port
//!   costs milliseconds, not the whole suite's backoff.
//!
//! Clock: tokio's, so tests run the budget on a paused clock. The caller counts `attempts` > 1 as a retry and
//! marks a case that passed only after one as flaky.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use tokio::sync::{Mutex, Notify, Semaphore};
use tokio::time::Instant;

use crate::target::{Pacing, Timeouts};
use crate::transport::{self, BodyEnd, TransportError, WireRequest, WireResponse};

/// The result of a paced send.
#[derive(Debug)]
pub struct Sent {
    /// The last attempt's result.
    pub response: Result<WireResponse, TransportError>,
    /// Requests made (1 + retries).
    pub attempts: u32,
    /// The result is the failure that showed the target unreachable, or a request not sent because of it.
    pub unreachable: bool,
    /// Time spent waiting rather than on the wire: for a concurrency permit, for a rate slot, and in backoff
    /// between attempts.
    pub queued: Duration,
}

/// Paces and retries requests to one target.
#[derive(Debug)]
pub struct Pacer {
    pacing: Pacing,
    in_flight: Semaphore,
    next_slot: Mutex<Instant>,
    /// Some request of the target got a response head: a connect failure from now on is transient.
    answered: AtomicBool,
    /// Why the target is unreachable, once a connect failure before any answer showed it.
    unreachable: OnceLock<String>,
    /// Wakes the requests waiting for a slot when the target turns out unreachable.
    gone: Notify,
    /// What the pacer is doing now, for a run's progress line.
    activity: Activity,
}

/// Counters of what a pacer is doing, read by a run's progress line ([`Pacer::activity`]).
#[derive(Debug, Default)]
struct Activity {
    waiting_slot: AtomicUsize,
    backing_off: AtomicUsize,
    rate_limited: AtomicU32,
    retries: AtomicU32,
}

/// A pacer's activity at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PacerActivity {
    /// Requests waiting now for a start slot of the per-minute budget.
    pub waiting_slot: usize,
    /// Requests waiting now before a retry (after a 429, a 5xx, a reset).
    pub backing_off: usize,
    /// 429 answers so far.
    pub rate_limited: u32,
    /// Retries so far.
    pub retries: u32,
}

/// Counts one waiting request for as long as it lives (a cancelled wait is uncounted too).
struct Waiting<'a>(&'a AtomicUsize);

impl<'a> Waiting<'a> {
    fn new(counter: &'a AtomicUsize) -> Self {
        counter.fetch_add(1, Ordering::Relaxed);
        Waiting(counter)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Pacer {
    /// A pacer for a target's configuration.
    pub fn new(pacing: Pacing) -> Self {
        Pacer {
            in_flight: Semaphore::new(pacing.concurrency.max(1) as usize),
            pacing,
            next_slot: Mutex::new(Instant::now()),
            answered: AtomicBool::new(false),
            unreachable: OnceLock::new(),
            gone: Notify::new(),
            activity: Activity::default(),
        }
    }

    /// What the pacer is doing now, and its 429s and retries so far.
    pub fn activity(&self) -> PacerActivity {
        let a = &self.activity;
        PacerActivity {
            waiting_slot: a.waiting_slot.load(Ordering::Relaxed),
            backing_off: a.backing_off.load(Ordering::Relaxed),
            rate_limited: a.rate_limited.load(Ordering::Relaxed),
            retries: a.retries.load(Ordering::Relaxed),
        }
    }

    /// Why the target is unreachable, when a connect failure before any answer showed it.
    pub fn unreachable(&self) -> Option<&str> {
        self.unreachable.get().map(String::as_str)
    }

    /// No budget, no retries: one attempt per request.
    pub fn unpaced() -> Self {
        Pacer::new(Pacing { rpm: 0, concurrency: u32::MAX >> 3, max_retries: 0, ..Pacing::default() })
    }

    /// The configuration in use.
    pub fn pacing(&self) -> &Pacing {
        &self.pacing
    }

    /// Sends `request`, waiting for a slot before each attempt and retrying retryable failures. The
    /// concurrency permit is held for an attempt only, not through the backoff after it.
    pub async fn send(&self, client: &reqwest::Client, request: &WireRequest, timeouts: &Timeouts) -> Sent {
        self.send_expecting(client, request, timeouts, 200).await
    }

    /// [`Pacer::send`] for a case that expects status `expected`: where that is a 4xx, a 5xx repeated with an
    /// identical body is the endpoint's answer and is not retried again (see the module's rules).
    pub async fn send_expecting(&self, client: &reqwest::Client, request: &WireRequest, timeouts: &Timeouts, expected: u16) -> Sent {
        let mut attempts = 0;
        let mut previous: Option<WireResponse> = None;
        let mut queued = Duration::ZERO;
        loop {
            let response = {
                let waiting = Instant::now();
                let waited = tokio::select! {
                    biased;
                    () = self.until_unreachable() => None,
                    permit = async {
                        let permit = self.in_flight.acquire().await.expect("the semaphore is never closed");
                        self.wait_for_slot().await;
                        permit
                    } => Some(permit),
                };
                queued += waiting.elapsed();
                let (Some(_permit), None) = (waited, self.unreachable()) else {
                    return self.not_sent(attempts, queued);
                };
                attempts += 1;
                transport::send(client, request, timeouts).await
            };
            if matches!(&response, Ok(r) if r.status == 429) {
                self.activity.rate_limited.fetch_add(1, Ordering::Relaxed);
            }
            match &response {
                Ok(_) => self.answered.store(true, Ordering::SeqCst),
                Err(e @ (TransportError::Connect(_) | TransportError::Tls(_))) if !self.answered.load(Ordering::SeqCst) => {
                    // Nothing of this target ever answered: a wrong host, port or certificate, not a blip.
                    if self.unreachable.set(e.to_string()).is_ok() {
                        self.gone.notify_waiters();
                    }
                    return Sent { response, attempts, unreachable: true, queued };
                }
                Err(_) => {}
            }
            let retries_left = attempts <= self.pacing.max_retries;
            let repeated = (400..500).contains(&expected) && is_repeated_answer(previous.as_ref(), &response, &self.pacing);
            let Some(wait) = retry_wait(&response, attempts, &self.pacing).filter(|_| retries_left && !repeated) else {
                return Sent { response, attempts, unreachable: false, queued };
            };
            queued += wait;
            // The quota is the target's, not the request's: a 429 or a server asking for time holds back
            // every later request too.
            if matches!(&response, Ok(r) if r.status == 429) || retry_after(&response, &self.pacing).is_some() {
                self.push_back(wait).await;
            }
            previous = response.ok();
            self.activity.retries.fetch_add(1, Ordering::Relaxed);
            let _backing_off = Waiting::new(&self.activity.backing_off);
            tokio::time::sleep(wait).await;
        }
    }

    /// The result of a request that was never sent because the target is unreachable.
    fn not_sent(&self, attempts: u32, queued: Duration) -> Sent {
        let reason = self.unreachable().unwrap_or("an earlier request failed to connect").to_owned();
        Sent { response: Err(TransportError::NotSent(reason)), attempts, unreachable: true, queued }
    }

    /// Returns once the target is known unreachable.
    async fn until_unreachable(&self) {
        loop {
            // Created before the check, so a notification between the two is not lost.
            let notified = self.gone.notified();
            if self.unreachable.get().is_some() {
                return;
            }
            notified.await;
        }
    }

    async fn wait_for_slot(&self) {
        if self.pacing.rpm == 0 {
            return;
        }
        let _waiting = Waiting::new(&self.activity.waiting_slot);
        let interval = Duration::from_secs_f64(60.0 / f64::from(self.pacing.rpm));
        let slot = {
            let mut next = self.next_slot.lock().await;
            let slot = (*next).max(Instant::now());
            *next = slot + interval;
            slot
        };
        // A slot already due is taken at once: the timer rounds a deadline up to its next millisecond tick.
        if slot > Instant::now() {
            tokio::time::sleep_until(slot).await;
        }
    }

    async fn push_back(&self, wait: Duration) {
        let mut next = self.next_slot.lock().await;
        *next = (*next).max(Instant::now() + wait);
    }
}

/// Whether `response` repeats `previous` exactly — the same 5xx (not the transient 502, 503, 504) with the same
/// body, not asking for time and not an HTML page (a gateway's, the same every time however transient the
/// fault): a deterministic answer, which a retry would only repeat.
fn is_repeated_answer(previous: Option<&WireResponse>, response: &Result<WireResponse, TransportError>, pacing: &Pacing) -> bool {
    let (Some(before), Ok(now)) = (previous, response) else { return false };
    now.status >= 500
        && !matches!(now.status, 502..=504)
        && now.ended == BodyEnd::Complete
        && !now.headers.iter().any(|(k, v)| k == "content-type" && v.to_ascii_lowercase().starts_with("text/html"))
        && before.status == now.status
        && before.body == now.body
        && retry_after(response, pacing).is_none()
}

/// How long to wait before retrying, or `None` when the result must not be retried.
fn retry_wait(response: &Result<WireResponse, TransportError>, attempt: u32, pacing: &Pacing) -> Option<Duration> {
    let retryable = match response {
        Ok(r) if matches!(r.status, 429 | 500 | 502 | 503 | 504) => true,
        Ok(r) => matches!(r.ended, BodyEnd::Reset(_)),
        Err(TransportError::Connect(_) | TransportError::Request(_)) => true,
        // A certificate does not change between two attempts.
        Err(TransportError::FirstByteTimeout(_) | TransportError::Tls(_) | TransportError::NotSent(_)) => false,
    };
    if !retryable {
        return None;
    }
    let exp = pacing.backoff_ms.saturating_mul(1 << (attempt - 1).min(20));
    let bound = exp.min(pacing.max_backoff_ms) as f64;
    let jittered = Duration::from_millis((bound * (0.5 + fastrand::f64() * 0.5)) as u64);
    Some(retry_after(response, pacing).map_or(jittered, |after| after.max(jittered)))
}

/// The wait a 429 or 503 asks for, capped at `max_backoff_ms`: its `Retry-After` header (seconds or an HTTP
/// date), else a Google RPC `RetryInfo` in the body (`"retryDelay": "23s"`, which Gemini sends on 429).
fn retry_after(response: &Result<WireResponse, TransportError>, pacing: &Pacing) -> Option<Duration> {
    let r = response.as_ref().ok().filter(|r| r.status == 429 || r.status == 503)?;
    let wait = match r.headers.iter().find(|(k, _)| k == "retry-after") {
        Some((_, value)) => match value.trim().parse::<f64>() {
            Ok(secs) if secs >= 0.0 && secs.is_finite() => Duration::from_secs_f64(secs.min(86_400.0)),
            _ => httpdate_to_wait(value.trim())?,
        },
        None => body_retry_delay(&r.body)?,
    };
    Some(wait.min(Duration::from_millis(pacing.max_backoff_ms)))
}

/// `"retryDelay": "<seconds>s"` anywhere in a (small) JSON error body.
fn body_retry_delay(body: &[u8]) -> Option<Duration> {
    static DELAY: std::sync::LazyLock<regex::Regex> =
        std::sync::LazyLock::new(|| regex::Regex::new(r#""retryDelay"\s*:\s*"(\d+(?:\.\d+)?)s""#).expect("a valid regex"));
    if body.len() > 64 * 1024 {
        return None;
    }
    let text = std::str::from_utf8(body).ok()?;
    let secs: f64 = DELAY.captures(text)?[1].parse().ok()?;
    Some(Duration::from_secs_f64(secs.min(86_400.0)))
}

/// Seconds until an IMF-fixdate (`Wed, 21 Oct 2015 07:28:00 GMT`), zero if it is past.
fn httpdate_to_wait(value: &str) -> Option<Duration> {
    let parts: Vec<&str> = value.split_whitespace().collect();
    let [_, day, month, year, time, "GMT"] = parts.as_slice() else { return None };
    let month = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"].iter().position(|m| m == month)? as i64 + 1;
    let (day, year): (i64, i64) = (day.parse().ok()?, year.parse().ok()?);
    let hms: Vec<i64> = time.split(':').map(|p| p.parse().ok()).collect::<Option<_>>()?;
    let [h, m, s] = hms.as_slice() else { return None };
    let epoch = crate::time::days_from_civil(year, month, day) * 86_400 + h * 3600 + m * 60 + s;
    let now = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).ok()?.as_secs() as i64;
    Some(Duration::from_secs((epoch - now).max(0) as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(status: u16, headers: &[(&str, &str)]) -> Result<WireResponse, TransportError> {
        Ok(WireResponse {
            status,
            headers: headers.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            body: Vec::new(),
            ended: BodyEnd::Complete,
            elapsed: Duration::ZERO,
            first_byte: Duration::ZERO,
        })
    }

    #[test]
    fn only_retryable_failures_are_retried() {
        let p = Pacing { backoff_ms: 100, max_backoff_ms: 1000, ..Pacing::default() };
        for s in [429, 500, 502, 503, 504] {
            assert!(retry_wait(&response(s, &[]), 1, &p).is_some(), "{s}");
        }
        for s in [200, 400, 401, 403, 404, 422] {
            assert!(retry_wait(&response(s, &[]), 1, &p).is_none(), "{s}");
        }
        assert!(retry_wait(&Err(TransportError::Connect("refused".into())), 1, &p).is_some());
    }

    #[test]
    fn only_an_identical_non_transient_5xx_without_a_wait_is_a_repeated_answer() {
        let p = Pacing::default();
        let with = |status: u16, body: &str, headers: &[(&str, &str)]| {
            let mut r = response(status, headers);
            r.as_mut().unwrap().body = body.as_bytes().to_vec();
            r
        };
        let first = with(500, "{\"error\":1}", &[]).unwrap();
        assert!(is_repeated_answer(Some(&first), &with(500, "{\"error\":1}", &[]), &p));
        assert!(!is_repeated_answer(None, &with(500, "{\"error\":1}", &[]), &p), "one answer is not a repeat");
        assert!(!is_repeated_answer(Some(&first), &with(500, "{\"error\":2}", &[]), &p), "another body");
        assert!(!is_repeated_answer(Some(&first), &with(501, "{\"error\":1}", &[]), &p), "another status");
        for transient in [502, 503, 504] {
            let before = with(transient, "x", &[]).unwrap();
            assert!(!is_repeated_answer(Some(&before), &with(transient, "x", &[]), &p), "{transient}");
        }
        let page = with(500, "<html>", &[("content-type", "text/html; charset=utf-8")]);
        assert!(!is_repeated_answer(Some(page.as_ref().unwrap()), &page, &p), "a gateway page");
        let asks = with(500, "{}", &[("retry-after", "1")]);
        assert!(is_repeated_answer(Some(asks.as_ref().unwrap()), &asks, &p), "Retry-After counts on 429 and 503 only");
    }

    #[test]
    fn backoff_doubles_within_jitter_and_is_capped() {
        let p = Pacing { backoff_ms: 100, max_backoff_ms: 1000, ..Pacing::default() };
        for attempt in 1..8u32 {
            let bound = (100u64 << (attempt - 1)).min(1000);
            let w = retry_wait(&response(503, &[]), attempt, &p).unwrap().as_millis() as u64;
            assert!(w >= bound / 2 && w <= bound, "attempt {attempt}: {w} not in [{}, {bound}]", bound / 2);
        }
    }

    #[test]
    fn retry_after_is_honoured_and_capped() {
        let p = Pacing { backoff_ms: 10, max_backoff_ms: 5000, ..Pacing::default() };
        assert_eq!(retry_wait(&response(429, &[("retry-after", "3")]), 1, &p), Some(Duration::from_secs(3)));
        assert_eq!(retry_after(&response(429, &[("retry-after", "3600")]), &p), Some(Duration::from_secs(5)));
        assert_eq!(retry_after(&response(429, &[("retry-after", "Wed, 21 Oct 2015 07:28:00 GMT")]), &p), Some(Duration::ZERO));
        assert_eq!(retry_after(&response(429, &[("retry-after", "soon")]), &p), None);
        assert_eq!(retry_after(&response(500, &[("retry-after", "3")]), &p), None, "only 429 and 503 ask for time");
    }

    #[test]
    fn gemini_retry_info_in_the_body_counts_as_retry_after() {
        let p = Pacing { backoff_ms: 10, max_backoff_ms: 60_000, ..Pacing::default() };
        let body = br#"[{"error":{"code":429,"status":"RESOURCE_EXHAUSTED","details":[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay": "23s"}]}}]"#;
        let mut r = response(429, &[]);
        r.as_mut().unwrap().body = body.to_vec();
        assert_eq!(retry_after(&r, &p), Some(Duration::from_secs(23)));
        r.as_mut().unwrap().headers.push(("retry-after".into(), "2".into()));
        assert_eq!(retry_after(&r, &p), Some(Duration::from_secs(2)), "the header wins");
        r.as_mut().unwrap().body = br#"{"error":{"message":"quota"}}"#.to_vec();
        r.as_mut().unwrap().headers.clear();
        assert_eq!(retry_after(&r, &p), None);
    }

    #[test]
    fn cut_bodies_and_timeouts_are_judged_by_their_end() {
        let p = Pacing { backoff_ms: 10, max_backoff_ms: 100, ..Pacing::default() };
        let ended = |end: BodyEnd| {
            let mut r = response(200, &[]);
            r.as_mut().unwrap().ended = end;
            r
        };
        assert!(retry_wait(&ended(BodyEnd::Reset("reset".into())), 1, &p).is_some(), "a reset is retried");
        assert!(retry_wait(&ended(BodyEnd::IdleTimeout(Duration::from_secs(1))), 1, &p).is_none());
        assert!(retry_wait(&ended(BodyEnd::TooLarge), 1, &p).is_none());
        assert!(retry_wait(&Err(TransportError::FirstByteTimeout(Duration::from_secs(1))), 1, &p).is_none());
        assert!(retry_wait(&Err(TransportError::Request("connection reset".into())), 1, &p).is_some());
    }

    #[tokio::test(start_paused = true)]
    async fn slots_are_spaced_by_the_budget_and_pushed_back_together() {
        let pacer = Pacer::new(Pacing { rpm: 60, concurrency: 4, ..Pacing::default() });
        let start = Instant::now();
        for i in 0..3u64 {
            pacer.wait_for_slot().await;
            assert_eq!(start.elapsed().as_secs(), i, "slot {i}");
        }
        pacer.push_back(Duration::from_secs(10)).await;
        pacer.wait_for_slot().await;
        assert_eq!(start.elapsed().as_secs(), 12, "after a push-back from t=2");
        assert!(Pacer::unpaced().pacing().rpm == 0);
    }

    /// A slot that is already due costs nothing: a sleep until it would wait for the timer's next tick.
    #[tokio::test(start_paused = true)]
    async fn a_slot_already_due_is_taken_at_once() {
        let pacer = Pacer::new(Pacing { rpm: 60, concurrency: 4, ..Pacing::default() });
        for due_for in [Duration::ZERO, Duration::from_micros(300)] {
            tokio::time::advance(due_for).await;
            let start = Instant::now();
            pacer.wait_for_slot().await;
            assert_eq!(start.elapsed(), Duration::ZERO, "due for {due_for:?}");
            *pacer.next_slot.lock().await = Instant::now(); // the next slot due at once again
        }
    }
}
