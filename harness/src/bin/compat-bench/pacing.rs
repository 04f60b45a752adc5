//! `compat-bench pacing --rpm R`: does a live run pace itself to a quota without losing time or cases?
//!
//! It starts a loopback server that stands for a rate-limited endpoint: it admits at most R requests in any
//! 60-second window and answers every request beyond that with `429` and a `Retry-After` (whole seconds until
//! a slot frees, as real endpoints do); an admitted request gets the case's own fixture for the target
//! (matched on method, path, JSON body and — for `auth: invalid` cases — the key). Then it runs the whole
//! suite for the target live against that server, through the target's pacer with its `rpm` set to R (or to
//! `--pacer-rpm`, to watch a budget set too high recover through `Retry-After`), and prints: requests, R,
//! the wall time, the ideal time (requests ÷ R), their ratio, the 429s served, and the false failures — cases
//! whose live verdict or snapshot differs from their replay. The bar: ratio ≤ 1.1, no false failures.
//!
//! Nothing leaves the machine: the server is on 127.0.0.1, the key is a made-up one in `COMPAT_BENCH_KEY`.

use std::collections::VecDeque;
use std::path::Path;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use compat::case::{AuthMode, LoadedCase};
use compat::fixture::replay::{request_mock, response_template};
use compat::fixture::{Fixture, fixture_path, load_fixtures};
use compat::outcome::Outcome;
use compat::pacing::Pacer;
use compat::plan::{Pair, plan_pairs};
use compat::run::{INVALID_KEY, RunContext, RunMode};
use compat::session::{Session, SnapshotSink};
use compat::target::Target;
use wiremock::matchers::{any, header};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// The environment variable the bench's made-up key is read from.
const BENCH_KEY_ENV: &str = "COMPAT_BENCH_KEY";

/// Arguments of `compat-bench pacing`.
#[derive(clap::Args)]
pub struct PacingArgs {
    /// Requests per minute the server admits (R).
    #[arg(long, default_value_t = 36)]
    rpm: u32,
    /// The pacer's budget; default R. Set it above R to exercise 429 + Retry-After recovery.
    #[arg(long)]
    pacer_rpm: Option<u32>,
    /// The target whose cases, fixtures and pacing are used.
    #[arg(long, default_value = "gemini")]
    target: String,
    /// Run the suite this many times in one paced run (more requests, same budget).
    #[arg(long, default_value_t = 1)]
    rounds: usize,
}

/// The server's quota: admissions of the last 60 s, and counts.
#[derive(Default)]
struct Quota {
    admitted: VecDeque<Instant>,
    served: u64,
    rejected: u64,
}

/// A fixture's answer behind the shared quota.
struct Limited {
    quota: Arc<Mutex<Quota>>,
    rpm: usize,
    answer: ResponseTemplate,
}

impl Respond for Limited {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        let now = Instant::now();
        let mut q = self.quota.lock().unwrap_or_else(|e| e.into_inner());
        while q.admitted.front().is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(60)) {
            q.admitted.pop_front();
        }
        if q.admitted.len() < self.rpm {
            q.admitted.push_back(now);
            q.served += 1;
            return self.answer.clone();
        }
        q.rejected += 1;
        let oldest = *q.admitted.front().expect("the window is full");
        let free_in = Duration::from_secs(60).saturating_sub(now.duration_since(oldest));
        let secs = free_in.as_secs() + u64::from(free_in.subsec_nanos() > 0);
        ResponseTemplate::new(429).insert_header("retry-after", secs.max(1).to_string().as_str()).set_body_json(serde_json::json!({
            "error": {"message": format!("quota of {} requests per minute exceeded", self.rpm), "type": "rate_limit_exceeded", "code": 429}
        }))
    }
}

/// Runs `compat-bench pacing`.
pub fn run(root: &Path, args: PacingArgs) -> ExitCode {
    let suite = match crate::load_suite(root) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let Some(mut target) = suite.target(&args.target).cloned() else {
        eprintln!("error: no target `{}`", args.target);
        return ExitCode::from(2);
    };
    if args.rpm == 0 {
        eprintln!("error: --rpm must be at least 1");
        return ExitCode::from(2);
    }
    // A made-up key in a variable of our own, so no real key is ever sent, even to loopback.
    target.config.auth.env = BENCH_KEY_ENV.into();
    // SAFETY: no other thread exists yet (the runtime is built below), so nothing reads the environment
    // concurrently.
    unsafe { std::env::set_var(BENCH_KEY_ENV, "compat-bench-key-not-secret") };
    target.config.pacing.rpm = args.pacer_rpm.unwrap_or(args.rpm);

    let mut cases: Vec<(LoadedCase, Fixture)> = Vec::new();
    // Cases a live run sends, each one request: the server below answers each request by its fixture, any
    // number of times, which a multi-step sequence (answers in order, once each) is not.
    let mut left_out = 0;
    for c in &suite.cases {
        if target.live_skip_reason(&c.case.feature, &c.case.id).is_some() {
            continue;
        }
        let rel = fixture_path(&target.fixtures_dir(), &c.case.feature, &c.case.id);
        match load_fixtures(root, &rel) {
            Ok(Some(mut f)) if f.len() == 1 => cases.push((c.clone(), f.remove(0))),
            Ok(Some(_)) => left_out += 1,
            _ => {}
        }
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("a tokio runtime starts");
    let quota = Arc::new(Mutex::new(Quota::default()));
    let server = runtime.block_on(serve(&cases, &target, args.rpm as usize, &quota));

    // Replay first: the verdicts a faithful live run must reproduce.
    let pairs: Vec<Pair> = {
        let t = Arc::new(target.clone());
        cases.iter().map(|(c, _)| (Arc::clone(&t), Arc::new(c.clone()))).collect()
    };
    let replay_ctx = match RunContext::replay(root.to_owned()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let replay = Arc::new(Session::of_trials(replay_ctx, plan_pairs(pairs.clone(), RunMode::Replay), &[&target], SnapshotSink::Policy));
    let replayed = runtime.block_on(replay.run(|_| true, 16));

    let mut ctx = RunContext::new(root.to_owned(), Arc::clone(&replay.ctx.schemas), RunMode::Live);
    ctx.base_url = Some(format!("{}/", server.uri()));
    ctx.pacers.insert(target.name.clone(), Arc::new(Pacer::new(target.config.pacing)));
    let rounds = args.rounds.max(1);
    let live_pairs: Vec<Pair> = (0..rounds).flat_map(|_| pairs.iter().cloned()).collect();
    let requests: u64 = live_pairs.iter().map(|(_, c)| u64::from(c.case.repeat)).sum();
    let live_session = Arc::new(Session::of_trials(ctx, plan_pairs(live_pairs, RunMode::Live), &[&target], SnapshotSink::Policy));
    let started = Instant::now();
    let live = runtime.block_on(live_session.run(|_| true, 64));
    let wall = started.elapsed();

    let false_failures: Vec<String> = live.iter().filter_map(|o| differs(o, &replayed)).collect();
    let q = quota.lock().unwrap_or_else(|e| e.into_inner());
    let ideal = Duration::from_secs_f64(requests as f64 * 60.0 / f64::from(args.rpm));
    let ratio = wall.as_secs_f64() / ideal.as_secs_f64();
    println!(
        "compat-bench pacing — target {}, {} cases × {rounds} rounds ({left_out} multi-step cases left out: their recorded sequences answer once each)",
        target.name,
        cases.len()
    );
    println!(
        "server admits R = {} requests per minute (429 + Retry-After beyond); pacer budget {} rpm, concurrency {}",
        args.rpm, target.config.pacing.rpm, target.config.pacing.concurrency
    );
    println!("requests needed: {requests}; served: {}; answered 429: {}", q.served, q.rejected);
    println!("wall time: {:.1} s; ideal (requests ÷ R): {:.1} s; ratio: {ratio:.3} (bar: 1.100)", wall.as_secs_f64(), ideal.as_secs_f64());
    let failing = live.iter().filter(|o| o.fails()).count();
    println!(
        "false failures (live verdict or snapshot differs from replay): {} ({failing} outcomes fail in replay and live alike)",
        false_failures.len()
    );
    for f in &false_failures {
        println!("  {f}");
    }
    if ratio <= 1.1 && false_failures.is_empty() { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}

/// Mounts every case's fixture behind the quota; `auth: invalid` cases also match on the invalid key, since
/// their request body may equal another case's.
async fn serve(cases: &[(LoadedCase, Fixture)], target: &Target, rpm: usize, quota: &Arc<Mutex<Quota>>) -> MockServer {
    let server = MockServer::start().await;
    for (case, fixture) in cases {
        let mut mock = request_mock(fixture, "/");
        let priority = if case.case.first_request().auth == AuthMode::Invalid {
            let auth = &target.config.auth;
            mock = mock.and(header(auth.header.as_str(), auth.header_value(INVALID_KEY).as_str()));
            1
        } else {
            2
        };
        let answer = Limited { quota: Arc::clone(quota), rpm, answer: response_template(fixture) };
        mock.respond_with(answer).with_priority(priority).named(case.case.name()).mount(&server).await;
    }
    Mock::given(any()).respond_with(ResponseTemplate::new(599)).with_priority(u8::MAX).mount(&server).await;
    server
}

/// Why a live outcome is a false failure, if it is: its verdict or snapshot status differs from replay's.
fn differs(live: &Outcome, replayed: &[Outcome]) -> Option<String> {
    let r = replayed.iter().find(|r| r.name() == live.name())?;
    let snap = |o: &Outcome| o.snapshot.as_ref().map(|s| s.status);
    if live.verdict() == r.verdict() && snap(live) == snap(r) {
        return None;
    }
    let why = live.error().map_or(String::new(), |e| format!(": {}", e.message));
    let show = |o: &Outcome| match snap(o) {
        Some(s) => format!("{} (snapshot {s:?})", o.verdict()),
        None => o.verdict().to_string(),
    };
    Some(format!("{}: live {} vs replay {}{why}", live.name(), show(live), show(r)))
}
