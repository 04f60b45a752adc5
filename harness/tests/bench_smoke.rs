//! The benchmarks (`compat-bench`) run end to end, small: each prints the figures the README quotes and exits
//! as it should. Their numbers are not checked here (a loaded 2-core debug build says nothing about speed);
//! that they run, and measure the real path, is.

use std::process::Command;

fn bench(args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_compat-bench")).args(args).output().expect("compat-bench runs");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

#[test]
fn replay_measures_the_suite_and_each_case_against_a_bare_round_trip() {
    let (ok, text) = bench(&["replay", "--suite-runs", "1", "--case-runs", "1"]);
    assert!(ok, "{text}");
    assert!(text.contains("whole suite, 16 concurrent: min") && text.contains("(0 failing verdicts)"), "{text}");
    let rows = text.lines().filter(|l| l.trim_end().ends_with('×') && l.contains("::")).count();
    assert!(rows >= 150, "one row per replayed case, {rows} rows:\n{text}");
    assert!(text.contains("ratio case/bare: min "), "{text}");
}

#[test]
fn scale_runs_the_compat_binary_on_a_generated_suite_and_one_case_live() {
    let (ok, text) = bench(&["scale", "--targets", "1", "--cases", "2", "--runs", "1", "--live-runs", "1"]);
    assert!(ok, "{text}");
    assert!(text.contains("compat run (replay, reports written), 1 runs: wall min"), "{text}");
    assert!(text.contains("verdicts:") && text.contains("(0 failing)"), "{text}");
    assert!(text.contains("1 case (") && text.contains("compat run --live"), "{text}");
}

#[test]
fn pacing_keeps_a_quota_the_suite_fits_in() {
    // 6,000 a minute: the quota never binds, so the run is quick and any false failure is the harness's.
    let (_, text) = bench(&["pacing", "--rpm", "6000", "--target", "gemini"]);
    assert!(text.contains("requests needed:") && text.contains("answered 429: 0"), "{text}");
    assert!(text.contains("false failures (live verdict or snapshot differs from replay): 0"), "{text}");
}
