//! `compat run`: run the cases (replay by default, `--live` against endpoints) and print a terminal summary.
//!
//! One concern a module, in the order a run goes through them: [`prepare`] (every input checked, the suite,
//! schemas and session built; [`discover`] asks an ad-hoc server for its models), [`execute`] (the trials on
//! the run's runtime, progress, signals), [`finish`] (recordings, summary, reports, exit code).

mod discover;
mod execute;
mod finish;
mod prepare;

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use compat::report::json::Results;
use compat::session::Session;
use compat::snapshot::SnapshotPolicy;
use compat::suite::Suite;
use compat::target::Target;

use execute::{SIGNAL, execute, pacer_totals};
use finish::{keep_recordings, report};
use prepare::prepare;

/// Arguments of `compat run`.
#[derive(clap::Args)]
pub struct RunArgs {
    /// Send the cases to the live endpoint instead of replaying fixtures.
    #[arg(long)]
    pub live: bool,
    /// Targets to run (repeatable). Default: every target with fixtures (replay), the targets file's
    /// `live_default` (live).
    #[arg(long = "target")]
    targets: Vec<String>,
    /// Live: the server's base URL (`http://127.0.0.1:8080/v1`). With --target, it replaces that target's;
    /// without, an ad-hoc target runs, even at a configured target's base URL (see --name, --api-key-env,
    /// --model).
    #[arg(long, requires = "live")]
    base_url: Option<String>,
    /// The server and what to run on it (ad-hoc target, profiles, `--failed`).
    #[command(flatten)]
    more: Box<MoreArgs>,
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

/// `compat run`'s flags for a server of one's own, profiles and re-runs (boxed: `RunArgs` sits in the
/// subcommand enum beside smaller ones).
#[derive(clap::Args)]
pub struct MoreArgs {
    /// Live, ad-hoc target: its name in the reports. Default: the base URL's host and port (`127.0.0.1-8080`).
    #[arg(long, requires = "base_url", conflicts_with = "targets")]
    name: Option<String>,
    /// Live: the environment variable holding the key, sent as `authorization: Bearer <key>` (replaces a
    /// configured target's). An ad-hoc target without it sends no auth header.
    #[arg(long, requires = "live", value_name = "VAR")]
    api_key_env: Option<String>,
    /// Live: the model to use — `NAME` for every role (chat, vision, audio, reasoning, embedding, image, video),
    /// `ROLE=NAME` for one (repeatable; also `reasoning_none`, `reasoning_minimal`: a model accepting
    /// reasoning_effort none / minimal). An ad-hoc target without it takes its models from `GET models`.
    #[arg(long = "model", requires = "live", value_name = "NAME|ROLE=NAME")]
    models: Vec<String>,
    /// The profiles to run, replacing the targets' (repeatable): `openai` (OpenAI's API as documented, the
    /// default of a target that lists none), `gemini` (Gemini's extensions).
    #[arg(long = "profile", value_name = "NAME")]
    profiles: Vec<String>,
    /// Re-run the trials that failed in a results.json (default: the reports folder's), filters applying too.
    #[arg(long, value_name = "RESULTS_JSON", num_args = 0..=1)]
    failed: Option<Option<PathBuf>>,
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

/// Runs `compat run`: exit 0 when nothing fails, 1 when an outcome fails, 2 on a usage or configuration error
/// (nothing sent), 3 ([`EXIT_UNREACHABLE`]) when a target could not be reached, 130 / 143 when interrupted by
/// SIGINT / SIGTERM (the reports written, the trials not run marked so).
pub fn run(root: &Path, args: RunArgs) -> ExitCode {
    let prepared = match prepare(root, &args) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let Prepared { suite, session, targets, baseline, selection } = prepared;
    let mut outcomes = execute(&session, &selection, &args);
    let info = session.info.clone();
    let waits = pacer_totals(&session);
    drop(session); // its replay servers: at thousands of fixtures they hold tens of MB
    if let Some(b) = &baseline {
        compat::outcome::carry_night_counts(&mut outcomes, &b.outcomes);
    }
    let policy = args.snapshots.resolve(args.live);
    keep_recordings(root, &args, &targets, &suite, &mut outcomes, policy);
    let code = report(root, &args, info, outcomes, baseline.as_ref(), waits);
    match SIGNAL.load(Ordering::SeqCst) {
        0 => code,
        signal => ExitCode::from(128 + signal as u8),
    }
}

/// What a run needs before anything is sent, every input checked.
struct Prepared {
    suite: Suite,
    session: Arc<Session>,
    targets: Vec<Target>,
    baseline: Option<Results>,
    selection: Selection,
}

/// Which trials the run runs: those its filters select, and with `--failed` only those that failed.
struct Selection {
    filters: compat::suite::TrialFilters,
    failed: Option<std::collections::BTreeSet<String>>,
}

impl Selection {
    fn selects(&self, name: &str) -> bool {
        self.filters.selects(name) && self.failed.as_ref().is_none_or(|f| f.contains(name))
    }
}

/// Says `message` as an error and gives the exit code of a usage or configuration error (2).
fn usage_error(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {message}; nothing was sent");
    ExitCode::from(2)
}

/// Whether stdout was closed under the run (`compat run | head -1`): nothing more is written to it.
static STDOUT_CLOSED: AtomicBool = AtomicBool::new(false);

/// Writes `text` to stdout; once a reader closed it (a broken pipe), quietly nothing: the run goes on and
/// writes its reports, where `print!` would panic.
fn say(text: &str) {
    if text.is_empty() || STDOUT_CLOSED.load(Ordering::Relaxed) {
        return;
    }
    let mut out = std::io::stdout().lock();
    if out.write_all(text.as_bytes()).and_then(|()| out.flush()).is_err() {
        STDOUT_CLOSED.store(true, Ordering::Relaxed);
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
