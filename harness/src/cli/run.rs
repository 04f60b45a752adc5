//! `compat run`: run the cases (replay by default, `--live` against endpoints) and print a terminal summary.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use compat::outcome::{ErrorKind, SnapshotStatus};
use compat::pacing::Pacer;
use compat::plan::PlannedTrial;
use compat::report::json::{Results, RunInfo};
use compat::report::terminal;
use compat::run::{RunContext, RunMode};
use compat::schema::SchemaSet;
use compat::session::{Session, SnapshotSink};
use compat::snapshot::SnapshotPolicy;
use compat::suite::Suite;
use compat::target::Target;

/// Arguments of `compat run`.
#[derive(clap::Args)]
pub struct RunArgs {
    /// Send the cases to the live endpoint instead of replaying fixtures.
    #[arg(long)]
    pub live: bool,
    /// Targets to run (repeatable). Default: every target with fixtures (replay), `gemini` (live).
    #[arg(long = "target")]
    targets: Vec<String>,
    /// Live: a base URL replacing the target's.
    #[arg(long, requires = "live")]
    base_url: Option<String>,
    /// Live: requests per minute for each target in this run, replacing its `pacing.rpm` (0: no budget).
    #[arg(long, requires = "live")]
    rpm: Option<u32>,
    /// Live: requests in flight at once for each target in this run, replacing its `pacing.concurrency`.
    #[arg(long, requires = "live", value_parser = clap::value_parser!(u32).range(1..))]
    concurrency: Option<u32>,
    /// Live: connect timeout for this run, replacing `timeouts.connect_ms` (`500ms`, `10s`, `2m`; a bare
    /// number is seconds).
    #[arg(long, requires = "live", value_name = "DURATION", value_parser = parse_duration_ms)]
    timeout_connect: Option<u64>,
    /// Live: first-byte timeout (request sent → response head) for this run, replacing `timeouts.first_byte_ms`.
    #[arg(long, requires = "live", value_name = "DURATION", value_parser = parse_duration_ms)]
    timeout_first_byte: Option<u64>,
    /// Live: idle timeout (longest silence inside a body) for this run, replacing `timeouts.idle_ms`.
    #[arg(long, requires = "live", value_name = "DURATION", value_parser = parse_duration_ms)]
    timeout_idle: Option<u64>,
    /// Live: write fixtures from the responses — `none` (default, what CI uses), `missing` (cases without a
    /// fixture), `all` (replace). Keys are redacted; errors are never recorded.
    #[arg(long, default_value = "none", requires_if("missing", "live"), requires_if("all", "live"))]
    record: compat::record::RecordMode,
    /// Live, with --record: the server software and version that answers (`llama-cpp-python 0.3.36`), kept in
    /// each recorded fixture's origin as `server`.
    #[arg(long, requires = "live")]
    server: Option<String>,
    /// Validate the spec tier against this official OpenAPI document instead of the project's schemas.
    #[arg(long)]
    spec: Option<PathBuf>,
    /// Snapshots: `auto` (strict in replay, note live), `strict` (a changed or missing snapshot fails),
    /// `note` (compared where stored, a change is reported and fails nothing), `update` (as note, and writes
    /// `.snap.new` files for `cargo insta review`), `off`.
    #[arg(long, default_value = "auto")]
    snapshots: SnapshotPolicy,
    /// Cases in flight at once (live runs are further limited by each target's pacing).
    #[arg(long, default_value_t = 16)]
    jobs: usize,
    /// A previous results.json: index.html and summary.md open with what changed since it.
    #[arg(long)]
    baseline: Option<PathBuf>,
    /// Folder for index.html, junit.xml, results.json and summary.md. Default: <root>/reports.
    #[arg(long)]
    reports: Option<PathBuf>,
    /// Only cases whose `<target>::<feature>::<id>` contains one of these.
    filters: Vec<String>,
}

/// Exit code of a run in which a target could not be reached at all (refused, DNS, TLS).
pub const EXIT_UNREACHABLE: u8 = 3;

/// `500ms`, `10s`, `1.5s`, `2m`, or a bare number of seconds, in milliseconds (at least 1).
fn parse_duration_ms(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let (number, unit_ms) = if let Some(n) = t.strip_suffix("ms") {
        (n, 1.0)
    } else if let Some(n) = t.strip_suffix('s') {
        (n, 1000.0)
    } else if let Some(n) = t.strip_suffix('m') {
        (n, 60_000.0)
    } else {
        (t, 1000.0)
    };
    let value: f64 = number.trim().parse().map_err(|_| format!("`{text}` is not a duration (try `500ms`, `10s` or `2m`)"))?;
    let ms = value * unit_ms;
    if !ms.is_finite() || !(1.0..=86_400_000.0).contains(&ms) {
        return Err(format!("`{text}` is out of range (1 ms to 24 h)"));
    }
    Ok(ms.round() as u64)
}

impl RunArgs {
    /// Sets the reports folder when `--reports` did not name one.
    pub fn default_reports(&mut self, dir: PathBuf) {
        self.reports.get_or_insert(dir);
    }

    /// The pacing and timeout flags applied to a target for this run.
    fn override_target(&self, target: &mut compat::target::Target) {
        let (pacing, timeouts) = (&mut target.config.pacing, &mut target.config.timeouts);
        pacing.rpm = self.rpm.unwrap_or(pacing.rpm);
        pacing.concurrency = self.concurrency.unwrap_or(pacing.concurrency);
        timeouts.connect_ms = self.timeout_connect.unwrap_or(timeouts.connect_ms);
        timeouts.first_byte_ms = self.timeout_first_byte.unwrap_or(timeouts.first_byte_ms);
        timeouts.idle_ms = self.timeout_idle.unwrap_or(timeouts.idle_ms);
    }
}

/// Runs `compat run`: exit 0 when nothing fails, 1 when an outcome fails, 2 on a usage or configuration error,
/// 3 ([`EXIT_UNREACHABLE`]) when a target could not be reached.
pub fn run(root: &Path, args: RunArgs) -> ExitCode {
    let prepared = match prepare(root, &args) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let Prepared { suite, session, targets, baseline } = prepared;
    let mut outcomes = execute(&session, &args);
    let info = session.info.clone();
    drop(session); // its replay servers: at thousands of fixtures they hold tens of MB
    if let Some(b) = &baseline {
        compat::outcome::carry_night_counts(&mut outcomes, &b.outcomes);
    }
    let policy = args.snapshots.resolve(args.live);
    keep_recordings(root, &args, &targets, &suite, &mut outcomes, policy);
    report(root, &args, info, outcomes, baseline.as_ref())
}

/// What a run needs before anything is sent, every input checked.
struct Prepared {
    suite: Suite,
    session: Arc<Session>,
    targets: Vec<Target>,
    baseline: Option<Results>,
}

/// Loads the suite and schemas, resolves the targets and checks every input; an `Err` is the exit code of a
/// usage or configuration error, said on stderr, with nothing sent.
fn prepare(root: &Path, args: &RunArgs) -> Result<Prepared, ExitCode> {
    // The schemas are read, and the meta-schema validator built, on threads of their own while the suite
    // loads: a one-case run's start-up is mostly these three. Nothing waits for the meta-schema validator but
    // the first schema build (a run of no case never does).
    std::thread::spawn(compat::schema::prepare_meta_schema);
    let spec = args.spec.clone();
    let schemas = std::thread::spawn(move || match spec {
        None => SchemaSet::builtin(),
        Some(path) => std::fs::read_to_string(&path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))
            .and_then(|t| serde_json::from_str(&t).map_err(|e| format!("{} is not JSON: {e}", path.display())))
            .and_then(|doc| SchemaSet::with_openapi(&doc, &path.display().to_string())),
    });
    let suite = super::load_suite_for(root, &args.filters)?;
    let fail = |message: String| {
        eprintln!("error: {message}");
        ExitCode::from(2)
    };
    let schemas = Arc::new(schemas.join().unwrap_or_else(|_| Err("reading the schemas panicked".to_owned())).map_err(fail)?);
    let baseline = args.baseline.as_deref().map(compat::report::write::load_results).transpose().map_err(|e| fail(format!("--baseline {e}")))?;
    let targets = resolve_targets(&suite, args)?;
    if args.live {
        check_live_inputs(&targets)?;
    }
    let mode = if args.live { RunMode::Live } else { RunMode::Replay };
    let mut ctx = RunContext::new(root.to_owned(), schemas, mode);
    ctx.base_url = args.base_url.clone();
    ctx.snapshots = args.snapshots.resolve(args.live);
    match mode {
        RunMode::Live => ctx.pacers = targets.iter().map(|t| (t.name.clone(), Arc::new(Pacer::new(t.config.pacing)))).collect(),
        RunMode::Replay => ctx.evidence = compat::clients::Evidence::load(root).map_err(fail)?,
    }
    let target_refs: Vec<&Target> = targets.iter().collect();
    let session = Session::new(ctx, &suite, &target_refs, SnapshotSink::Policy);
    // The validators the selected cases use are built in the background while the runtime starts.
    let mut kinds: Vec<_> = session
        .plan
        .iter()
        .filter(|t| selects(args, &t.name()))
        .filter_map(|t| match t {
            PlannedTrial::Case { case, .. } => Some(case.case.schema_kinds()),
            PlannedTrial::Broken { .. } => None,
        })
        .flatten()
        .collect();
    kinds.sort_unstable_by_key(|k| k.name());
    kinds.dedup();
    session.ctx.schemas.prepare(&kinds);
    Ok(Prepared { suite, session: Arc::new(session), targets, baseline })
}

/// The targets of the run, with this run's pacing and timeout flags applied: those named by `--target`, else
/// every target with fixtures (replay) or the targets file's `live_default` (live).
fn resolve_targets(suite: &Suite, args: &RunArgs) -> Result<Vec<Target>, ExitCode> {
    let names: Vec<String> = match (args.targets.is_empty(), args.live, &suite.live_default) {
        (false, _, _) => args.targets.clone(),
        (true, true, Some(default)) => vec![default.clone()],
        (true, true, None) => {
            eprintln!("error: name a target with --target (the targets file sets no `live_default`)");
            return Err(ExitCode::from(2));
        }
        (true, false, _) => suite.replayable_targets().iter().map(|t| t.name.clone()).collect(),
    };
    let mut targets = Vec::new();
    for name in &names {
        let Some(t) = suite.target(name) else {
            let known: Vec<&str> = suite.targets.iter().map(|t| t.name.as_str()).collect();
            eprintln!("error: no target `{name}` in {} (known: {})", compat::target::TARGETS_FILE, known.join(", "));
            return Err(ExitCode::from(2));
        };
        let mut t = t.clone();
        args.override_target(&mut t);
        targets.push(t);
    }
    Ok(targets)
}

/// A live run's inputs that would make every request fail: an unset key, a proxy variable that is no URL.
fn check_live_inputs(targets: &[Target]) -> Result<(), ExitCode> {
    for t in targets {
        let key = std::env::var(&t.config.auth.env).unwrap_or_default();
        if key.is_empty() {
            eprintln!("error: target `{}` reads its key from ${}, which is not set; nothing was sent", t.name, t.config.auth.env);
            return Err(ExitCode::from(2));
        }
        if let Some(note) = compat::secrets::short_key_note(&t.config.auth.env, &key) {
            eprintln!("{note}");
        }
    }
    if let Some(Err(e)) = compat::transport::env_proxies().into_iter().find(Result::is_err) {
        eprintln!("error: {e}; nothing was sent");
        return Err(ExitCode::from(2));
    }
    Ok(())
}

/// Whether the run's filters select the trial `name`.
fn selects(args: &RunArgs, name: &str) -> bool {
    compat::suite::filters_select(&args.filters, name)
}

/// Runs the selected trials on a runtime of the run's own.
fn execute(session: &Arc<Session>, args: &RunArgs) -> Vec<compat::outcome::Outcome> {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("a tokio runtime starts");
    runtime.block_on(session.run(|name| selects(args, name), args.jobs))
}

/// What a live run keeps besides its reports: fixtures under `--record` (with the snapshot of each new one),
/// and `.snap.new` files for review under `--snapshots update`. Prints each file written.
fn keep_recordings(
    root: &Path,
    args: &RunArgs,
    targets: &[Target],
    suite: &Suite,
    outcomes: &mut [compat::outcome::Outcome],
    policy: SnapshotPolicy,
) {
    let recorded = compat::record::record_run(root, targets, &suite.cases, outcomes, args.record, args.base_url.as_deref(), args.server.as_deref());
    for r in &recorded {
        println!("{r}");
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
                println!("snapshot {rel}");
                (snap.status, snap.diff) = (SnapshotStatus::Matched, None);
            }
            Ok(rel) => println!("snapshot for review: {rel} (cargo insta review)"),
            Err(e) => eprintln!("warning: cannot write the snapshot {}: {e}", snap.file),
        }
    }
    // The new snapshot texts were kept only for writing; at thousands of outcomes they weigh.
    for snap in outcomes.iter_mut().filter_map(|o| o.snapshot.as_mut()) {
        snap.content = String::new();
    }
}

/// Prints the terminal summary and the scores, writes the reports, and gives the run's exit code.
fn report(root: &Path, args: &RunArgs, info: RunInfo, outcomes: Vec<compat::outcome::Outcome>, baseline: Option<&Results>) -> ExitCode {
    print!("{}", terminal::render_run(&outcomes));
    let reports = args.reports.clone().unwrap_or_else(|| root.join("reports"));
    let failing = outcomes.iter().any(|o| o.fails());
    let unreachable = outcomes.iter().any(|o| o.error().is_some_and(|e| matches!(e.kind, ErrorKind::Unreachable | ErrorKind::Tls)));
    // The document takes the outcomes rather than a copy: at thousands of outcomes the copy is the peak.
    let results = compat::report::json::build(info, outcomes);
    print!("{}", compat::report::interop::render_text(&compat::report::interop::scores(&results)));
    match compat::report::write::write_reports(&reports, &results, baseline) {
        Ok(changes) => {
            if let Some(c) = changes {
                print!("{}", compat::report::changes::render_text(&c));
            }
            println!("reports: {}", reports.join("index.html").display());
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

#[cfg(test)]
mod tests {
    use super::parse_duration_ms;

    #[test]
    fn durations_read_as_people_write_them() {
        assert_eq!(parse_duration_ms("500ms"), Ok(500));
        assert_eq!(parse_duration_ms("10s"), Ok(10_000));
        assert_eq!(parse_duration_ms("1.5s"), Ok(1500));
        assert_eq!(parse_duration_ms("2m"), Ok(120_000));
        assert_eq!(parse_duration_ms("3"), Ok(3000));
        assert!(parse_duration_ms("soon").unwrap_err().contains("not a duration"));
        assert!(parse_duration_ms("0s").unwrap_err().contains("out of range"));
    }
}
