//! `compat-bench replay` measures, in one run: start-up (loading the suite, reading the schemas), the wall
//! time of replaying the whole suite concurrently, and for each case its median cost next to the median of a
//! bare reqwest round trip to a wiremock server serving the same fixture. Ratios, not absolute times, are what
//! carry between machines; quote figures from a single run.

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use compat::case::LoadedCase;
use compat::fixture::{fixture_path, load_fixtures};
use compat::run::{RunContext, resolve_request, run_case};
use compat::session::{Session, SnapshotSink};
use compat::target::Target;

/// Arguments of `compat-bench replay`.
#[derive(clap::Args)]
pub struct ReplayArgs {
    /// Whole-suite repetitions (the minimum and median are reported).
    #[arg(long, default_value_t = 5)]
    suite_runs: usize,
    /// Per-case repetitions for each median.
    #[arg(long, default_value_t = 15)]
    case_runs: usize,
    /// Cases in flight at once during the whole-suite runs.
    #[arg(long, default_value_t = 16)]
    jobs: usize,
}

/// Runs `compat-bench replay`.
pub fn run(root: &Path, args: ReplayArgs) -> ExitCode {
    let started = Instant::now();
    let suite = match crate::load_suite(root) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let session = match Session::replay(&suite, SnapshotSink::Policy) {
        Ok(s) => Arc::new(s),
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let startup = started.elapsed();
    let pairs = compat::plan::pairs(&suite.replayable_targets(), &suite.cases);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("a tokio runtime starts");

    let mut suite_times = Vec::new();
    let mut failing = 0;
    for _ in 0..args.suite_runs.max(1) {
        let t = Instant::now();
        let outcomes = runtime.block_on(session.run(|_| true, args.jobs));
        suite_times.push(t.elapsed());
        failing = outcomes.iter().filter(|o| o.verdict().fails()).count();
    }
    println!("compat-bench replay — {} cases × {} targets = {} replays", suite.cases.len(), suite.replayable_targets().len(), pairs.len());
    println!("start-up (load suite, read schemas; validators are built on first use, in the suite runs): {}", fmt(startup));
    println!(
        "whole suite, {} concurrent: min {}, median {} over {} runs ({failing} failing verdicts)",
        args.jobs,
        fmt(min(&suite_times)),
        fmt(median(&mut suite_times)),
        args.suite_runs
    );

    // One case at a time on one thread, so neither the case nor the bare round trip pays for waking another
    // runtime worker (on 2 cores that hand-off alone costs about as much as the round trip).
    // A context of its own: its pooled connections belong to the runtime that uses them.
    let sequential = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a tokio runtime starts");
    let ctx = match RunContext::replay(root.to_owned()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let mut rows = Vec::new();
    for (target, case) in &pairs {
        if let Some(row) = sequential.block_on(per_case(&ctx, target, case, args.case_runs.max(1))) {
            rows.push(row);
        }
    }
    rows.sort_by(|a, b| b.3.total_cmp(&a.3));
    println!(
        "\nper case, median of {} sequential runs on one thread (case = load fixture + mount + send + checks + snapshot; bare = reqwest round trip to the same server):",
        args.case_runs
    );
    println!("{:<55} {:>10} {:>10} {:>7}", "case", "case", "bare", "ratio");
    for (name, case_t, bare_t, ratio) in &rows {
        println!("{name:<55} {:>10} {:>10} {ratio:>6.2}×", fmt(*case_t), fmt(*bare_t));
    }
    let mut ratios: Vec<f64> = rows.iter().map(|r| r.3).collect();
    ratios.sort_by(f64::total_cmp);
    if let (Some(first), Some(last)) = (ratios.first(), ratios.last()) {
        println!("\nratio case/bare: min {first:.2}×, median {:.2}×, max {last:.2}×", ratios[ratios.len() / 2]);
        let within = ratios.iter().filter(|r| **r <= 3.0).count();
        println!("within 3× of the bare round trip: {within} of {} cases", ratios.len());
    }
    ExitCode::SUCCESS
}

/// (name, median case time, median bare round trip, ratio) for one replay.
async fn per_case(ctx: &RunContext, target: &Target, case: &LoadedCase, runs: usize) -> Option<(String, Duration, Duration, f64)> {
    let rel = fixture_path(&target.fixtures_dir(), &case.case.feature, &case.case.id);
    let fixtures = load_fixtures(&ctx.root, &rel).ok()??;
    let sent = resolve_request(case, target).ok()?;
    // Warm both paths once so neither pays first-use costs inside the measurement.
    run_case(ctx, case, target).await;
    let mut case_times = Vec::new();
    for _ in 0..runs {
        let t = Instant::now();
        run_case(ctx, case, target).await;
        case_times.push(t.elapsed());
    }
    let server = ctx.replayer.serve(&fixtures[..1], &rel).await;
    let url = format!("{}{}", server.base_url(), sent.path);
    let client = ctx.http.client(&target.config.timeouts, compat::transport::Proxy::Direct, &url);
    let body =
        sent.body.as_ref().map(|b| serde_json::to_vec(b).expect("a Value serializes")).or_else(|| sent.raw_body.clone().map(String::into_bytes));
    let bare = || async {
        let mut req = client.request(reqwest::Method::from_bytes(sent.method.as_str().as_bytes()).expect("a known method"), &url);
        if let Some(b) = &body {
            req = req.header("content-type", "application/json").body(b.clone());
        }
        let t = Instant::now();
        let _ = req.send().await.ok()?.bytes().await.ok()?;
        Some(t.elapsed())
    };
    bare().await?;
    let mut bare_times = Vec::new();
    for _ in 0..runs {
        bare_times.push(bare().await?);
    }
    let (c, b) = (median(&mut case_times), median(&mut bare_times));
    Some((compat::outcome::trial_name(&target.name, &case.case.feature, &case.case.id), c, b, c.as_secs_f64() / b.as_secs_f64()))
}

/// The median of `times` (sorted in place); shared by the benchmarks.
pub fn median(times: &mut [Duration]) -> Duration {
    times.sort();
    times[times.len() / 2]
}

/// The shortest of `times`, or zero.
pub fn min(times: &[Duration]) -> Duration {
    times.iter().copied().min().unwrap_or_default()
}

fn fmt(d: Duration) -> String {
    if d.as_millis() >= 10 { format!("{:.0} ms", d.as_secs_f64() * 1e3) } else { format!("{:.0} µs", d.as_secs_f64() * 1e6) }
}
