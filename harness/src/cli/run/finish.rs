//! After the trials: what a live run keeps (fixtures, snapshots), the terminal summary, the reports and the
//! run's exit code.

use std::path::Path;
use std::process::ExitCode;

use compat::outcome::{ErrorKind, SnapshotStatus};
use compat::report::json::{Results, RunInfo};
use compat::report::terminal;
use compat::snapshot::SnapshotPolicy;
use compat::suite::Suite;
use compat::target::Target;

use super::{EXIT_UNREACHABLE, RunArgs, say};

/// What a live run keeps besides its reports: fixtures under `--record` (with the snapshot of each new one),
/// and `.snap.new` files for review under `--snapshots update`. Prints each file written.
pub(super) fn keep_recordings(
    root: &Path,
    args: &RunArgs,
    targets: &[Target],
    suite: &Suite,
    outcomes: &mut [compat::outcome::Outcome],
    policy: SnapshotPolicy,
) {
    let recorded = compat::record::record_run(root, targets, &suite.cases, outcomes, args.record, args.base_url.as_deref(), args.server.as_deref());
    for r in &recorded {
        say(&format!("{r}\n"));
    }
    // Snapshots are written only when a flag asks: for review under `--snapshots update`, and beside each fixture
    // `--record` wrote (a new fixture's snapshot is derived from it, so it replays green at once).
    let written: Vec<&str> = recorded.iter().filter(|r| r.action == compat::record::RecordAction::Written).map(|r| r.name.as_str()).collect();
    for o in outcomes.iter_mut() {
        let (fresh, file) = (written.contains(&o.name().as_str()), o.file.clone());
        let Some(snap) = o.snapshot.as_mut().filter(|s| s.status != SnapshotStatus::Matched) else { continue };
        if !fresh && policy != SnapshotPolicy::Update {
            continue;
        }
        match compat::snapshot::write_snapshot(root, snap, &file, !fresh) {
            Ok(rel) if fresh => {
                say(&format!("snapshot {rel}\n"));
                (snap.status, snap.diff) = (SnapshotStatus::Matched, None);
            }
            Ok(rel) => say(&format!("snapshot for review: {rel} (cargo insta review)\n")),
            Err(e) => eprintln!("warning: cannot write the snapshot {}: {e}", snap.file),
        }
    }
    // The new snapshot texts were kept only for writing; at thousands of outcomes they weigh.
    for snap in outcomes.iter_mut().filter_map(|o| o.snapshot.as_mut()) {
        snap.content = String::new();
    }
}

/// Prints the terminal summary and the scores, writes the reports, and gives the run's exit code.
pub(super) fn report(
    root: &Path,
    args: &RunArgs,
    info: RunInfo,
    outcomes: Vec<compat::outcome::Outcome>,
    baseline: Option<&Results>,
    limited: u32,
) -> ExitCode {
    say(&terminal::render_run(&outcomes));
    say(&waits_line(&outcomes, limited));
    let reports = args.reports.clone().unwrap_or_else(|| root.join("reports"));
    let failing = outcomes.iter().any(|o| o.fails());
    let unreachable = outcomes.iter().any(|o| o.error().is_some_and(|e| matches!(e.kind, ErrorKind::Unreachable | ErrorKind::Tls)));
    // The document takes the outcomes rather than a copy: at thousands of outcomes the copy is the peak.
    let results = compat::report::json::build(info, outcomes);
    say(&compat::report::interop::render_text(&compat::report::interop::scores(&results)));
    match compat::report::write::write_reports(&reports, &results, baseline) {
        Ok(changes) => {
            if let Some(c) = changes {
                say(&compat::report::changes::render_text(&c));
            }
            say(&format!("reports: {}\n", reports.join("index.html").display()));
        }
        Err(e) => eprintln!("warning: reports: {e}"),
    }
    if unreachable {
        ExitCode::from(EXIT_UNREACHABLE)
    } else if failing {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// The run's retries and waits, for the terminal summary: `retries: 5 (3 cases, 2 × 429) · waited 41.2 s
/// behind the pacer`; nothing when there were none.
fn waits_line(outcomes: &[compat::outcome::Outcome], limited: u32) -> String {
    let retries: u32 = outcomes.iter().map(|o| o.timing.retries).sum();
    let retried = outcomes.iter().filter(|o| o.timing.retries > 0).count();
    let queued_ms: f64 = outcomes.iter().filter_map(|o| o.timing.queued_ms).sum();
    let mut parts = Vec::new();
    if retries > 0 || limited > 0 {
        let s = if retried == 1 { "" } else { "s" };
        let limited = if limited > 0 { format!(", {limited} × 429") } else { String::new() };
        parts.push(format!("retries: {retries} ({retried} case{s}{limited})"));
    }
    if queued_ms >= 1000.0 {
        parts.push(format!("waited {:.1} s behind the pacer (rate budget, concurrency, backoff; summed over cases)", queued_ms / 1000.0));
    }
    if parts.is_empty() { String::new() } else { format!("{}\n", parts.join(" · ")) }
}
