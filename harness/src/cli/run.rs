//! `compat run`: run the cases (replay by default, `--live` against endpoints) and print a terminal summary.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::time::{Duration, Instant};

use compat::outcome::{ErrorKind, SnapshotStatus};
use compat::pacing::Pacer;
use compat::plan::PlannedTrial;
use compat::report::json::{Results, RunInfo};
use compat::report::terminal;
use compat::run::{RunContext, RunMode};
use compat::schema::SchemaSet;
use compat::session::{RunControl, Session, SnapshotSink};
use compat::snapshot::SnapshotPolicy;
use compat::suite::{Suite, TargetScope};
use compat::target::{GENERAL_ROLES, ROLES, TARGETS_FILE, Target};

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

/// How long the requests in flight of an interrupted run may take to finish before they are cut.
const INTERRUPT_GRACE: Duration = Duration::from_secs(5);

/// Bounds the model discovery of an ad-hoc target (`GET models`).
const DISCOVERY_TIMEOUT_MS: u64 = 10_000;

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

/// Loads the suite and schemas, resolves the targets and checks every input; an `Err` is the exit code of a
/// usage or configuration error, said on stderr, with nothing sent.
fn prepare(root: &Path, args: &RunArgs) -> Result<Prepared, ExitCode> {
    // The command line's own mistakes first: they need no file read.
    if let Some(url) = &args.base_url {
        check_base_url(url).map_err(|e| usage_error(format!("--base-url {e}")))?;
    }
    let models = parse_models(&args.more.models).map_err(usage_error)?;
    if let Some(var) = args.more.api_key_env.as_ref().filter(|v| std::env::var(v).unwrap_or_default().is_empty()) {
        return Err(usage_error(format!("--api-key-env names ${var}, which is not set (or empty)")));
    }
    let failed = match &args.more.failed {
        None => None,
        Some(path) => {
            let path = path.clone().unwrap_or_else(|| args.reports.clone().unwrap_or_else(|| root.join("reports")).join("results.json"));
            let last = compat::report::write::load_results(&path).map_err(|e| usage_error(format!("--failed: {e}")))?;
            let names: std::collections::BTreeSet<String> = last.outcomes.iter().filter(|o| o.fails()).map(|o| o.name()).collect();
            if names.is_empty() {
                say(&format!("nothing failed in {}: nothing to re-run (the reports are left as they are)\n", path.display()));
                return Err(ExitCode::SUCCESS);
            }
            eprintln!("re-running the {} failing trial{} of {}", names.len(), if names.len() == 1 { "" } else { "s" }, path.display());
            Some(names)
        }
    };
    check_profiles(root, args)?;
    // The schemas are read while the suite loads, on the thread that parses the targets file once it has (see
    // `Suite::load_beside`). (Every validator build checks its schema against the JSON Schema meta-schema, whose
    // validator `jsonschema`'s `macros` feature generates at compile time: built at run time, it cost 1–2 ms of
    // CPU a run and most of a schema build's.)
    let spec = args.spec.clone();
    let read_schemas = std::panic::AssertUnwindSafe(move || match spec {
        None => SchemaSet::builtin(),
        Some(path) => std::fs::read_to_string(&path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))
            .and_then(|t| serde_json::from_str(&t).map_err(|e| format!("{} is not JSON: {e}", path.display())))
            .and_then(|doc| SchemaSet::with_openapi(&doc, &path.display().to_string())),
    });
    // A panic there is a harness bug, said as an error like the others rather than as the run's panic.
    let read_schemas = move || std::panic::catch_unwind(read_schemas).unwrap_or_else(|_| Err("reading the schemas panicked".to_owned()));
    // Only the case files a filter can select are read — by their trial names on the configured targets; an
    // ad-hoc target's trials bear a name the suite does not know, so its run reads them all.
    let ad_hoc = ad_hoc_name(args)?;
    let load_filters: Vec<String> = match (&failed, &ad_hoc) {
        (_, Some(_)) => Vec::new(),
        (Some(names), None) if args.filters.is_empty() => names.iter().cloned().collect(),
        _ => args.filters.clone(),
    };
    // The targets the run names, known before the suite loads (the others come from the targets file: its
    // live default, or every target with fixtures); only the targets the run reaches have their expectations
    // read (those of the others are most of the YAML a one-target run would parse).
    let named = match (&ad_hoc, &failed) {
        (Some(name), _) => vec![name.clone()],
        (None, _) if !args.targets.is_empty() => args.targets.clone(),
        (None, Some(failed)) => targets_of(failed),
        (None, None) => Vec::new(),
    };
    let scope = match (named.is_empty(), args.live) {
        (false, _) => TargetScope::Named(&named),
        (true, true) => TargetScope::LiveDefault,
        (true, false) => TargetScope::All,
    };
    let (suite, schemas) = Suite::load_beside(root, &load_filters, scope, read_schemas);
    let suite = suite.map_err(super::load_failed)?;
    let fail = |message: String| {
        eprintln!("error: {message}");
        ExitCode::from(2)
    };
    let schemas = Arc::new(schemas.map_err(fail)?);
    let baseline = args.baseline.as_deref().map(compat::report::write::load_results).transpose().map_err(|e| fail(format!("--baseline {e}")))?;
    if let (Some(name), Some(url)) = (&ad_hoc, &args.base_url) {
        check_ad_hoc(&suite, name, url)?;
    }
    // An unknown name read from the failing trials is an ad-hoc target's; one given with --target is a typo.
    let from_failed = failed.is_some() && args.targets.is_empty();
    let mut targets = resolve_targets(&suite, args, ad_hoc.as_deref(), &named, from_failed)?;
    for t in &mut targets {
        apply_target_flags(t, args, &models);
    }
    if args.live {
        check_live_inputs(&targets)?;
    }
    let selection = Selection { filters: compat::suite::TrialFilters::new(&args.filters), failed };
    check_selection(&suite, &targets, &selection)?;
    check_expectations(&suite, &targets, args.live)?;
    // The last step, all inputs checked: an ad-hoc target named no model, so ask the server which it has.
    if args.live && ad_hoc.is_some() && models.is_empty() {
        let target = &mut targets[0];
        target.config.models = discover_models(target)?;
    }
    let mode = if args.live { RunMode::Live } else { RunMode::Replay };
    let mut ctx = RunContext::new(root.to_owned(), schemas, mode);
    ctx.base_url = if ad_hoc.is_some() { None } else { args.base_url.clone() };
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
        .filter(|t| selection.selects(&t.name()))
        .filter_map(|t| match t {
            PlannedTrial::Case { case, skipped: None, .. } => Some(case.case.schema_kinds()),
            _ => None,
        })
        .flatten()
        .collect();
    kinds.sort_unstable_by_key(|k| k.name());
    kinds.dedup();
    session.ctx.schemas.prepare(&kinds);
    Ok(Prepared { suite, session: Arc::new(session), targets, baseline, selection })
}

/// A base URL the run can send to: absolute, `http` or `https`, with a host and a port in range.
fn check_base_url(url: &str) -> Result<(), String> {
    let hint = |u: &str| format!("`{u}` has no http:// or https:// scheme (did you mean `http://{u}`?)");
    let parsed = match reqwest::Url::parse(url) {
        Ok(u) => u,
        // url's ParseError, which reqwest does not re-export: told apart by its text.
        Err(e) if e.to_string().contains("relative URL without a base") => return Err(hint(url)),
        Err(e) if e.to_string().contains("invalid port") => return Err(format!("`{url}`: the port is not a number from 1 to 65535")),
        Err(e) => return Err(format!("`{url}` is not a URL: {e}")),
    };
    match parsed.scheme() {
        "http" | "https" => {}
        // `localhost:8080/v1` parses with the scheme `localhost`.
        _ if parsed.cannot_be_a_base() || url.split_once(':').is_some_and(|(_, rest)| rest.starts_with(|c: char| c.is_ascii_digit())) => {
            return Err(hint(url));
        }
        other => return Err(format!("`{url}`: the scheme is `{other}`, where http or https is due")),
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(format!("`{url}` names no host"));
    }
    if parsed.port() == Some(0) {
        return Err(format!("`{url}`: the port is not a number from 1 to 65535"));
    }
    Ok(())
}

/// `--model` values: `NAME` fills every general role, `ROLE=NAME` one role (and wins over `NAME`).
fn parse_models(specs: &[String]) -> Result<BTreeMap<String, String>, String> {
    let (mut every, mut by_role) = (None, BTreeMap::new());
    for spec in specs {
        match spec.split_once('=') {
            Some((role, name)) => {
                if !ROLES.contains(&role) {
                    let hint = compat::diagnostic::closest(role, ROLES.iter().copied()).map(|r| format!("did you mean `{r}`? ")).unwrap_or_default();
                    return Err(format!("--model {spec}: unknown role `{role}` ({hint}roles: {})", ROLES.join(", ")));
                }
                if name.trim().is_empty() {
                    return Err(format!("--model {spec}: no model name after `=`"));
                }
                by_role.insert(role.to_owned(), name.to_owned());
            }
            None if spec.trim().is_empty() => return Err("--model: an empty model name".to_owned()),
            None => every = Some(spec.clone()),
        }
    }
    let mut models: BTreeMap<String, String> =
        every.map(|m| GENERAL_ROLES.iter().map(|r| ((*r).to_owned(), m.clone())).collect()).unwrap_or_default();
    models.extend(by_role);
    Ok(models)
}

/// The name of the ad-hoc target of this run, if it runs one (`--live --base-url` without `--target`):
/// `--name`, else the URL's host and port. Whether a configured target bears it is checked once the targets
/// file is read ([`check_ad_hoc`]).
fn ad_hoc_name(args: &RunArgs) -> Result<Option<String>, ExitCode> {
    let Some(url) = args.base_url.as_deref().filter(|_| args.live && args.targets.is_empty()) else { return Ok(None) };
    if let Some(name) = &args.more.name {
        let valid = !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
        if !valid {
            return Err(usage_error(format!("--name `{name}`: a target's name is letters, digits, `-`, `_` and `.`")));
        }
        return Ok(Some(name.clone()));
    }
    let parsed = reqwest::Url::parse(url).expect("checked before");
    let host = parsed.host_str().unwrap_or("server").trim_matches(|c| c == '[' || c == ']');
    let name = match parsed.port_or_known_default() {
        Some(port) => format!("{host}-{port}"),
        None => host.to_owned(),
    };
    Ok(Some(name.chars().map(|c| if c.is_ascii_alphanumeric() || "-_.".contains(c) { c } else { '-' }).collect()))
}

/// An ad-hoc target's name must not be a configured target's (its trials would take that target's
/// expectations). A configured target at the same base URL is named in a note: the run stays ad hoc — several
/// reference servers share the usual loopback ports — and `--target` runs the configured one there.
fn check_ad_hoc(suite: &Suite, name: &str, url: &str) -> Result<(), ExitCode> {
    if suite.target(name).is_some() {
        return Err(usage_error(format!(
            "`{name}` is a configured target: run it with --target {name} --base-url {url}, or name this one with --name NAME"
        )));
    }
    // A configured base URL ends with `/` once loaded (`target::targets_of`); the one given may not.
    let folder = if url.ends_with('/') { url.to_owned() } else { format!("{url}/") };
    let same: Vec<String> = suite.targets.iter().filter(|t| t.config.base_url == folder).map(|t| format!("`{}`", t.name)).collect();
    if !same.is_empty() {
        eprintln!(
            "note: {url} is also the base URL of {} in {TARGETS_FILE}; this run is ad hoc (`--target NAME --base-url {url}` runs a configured target there, with its models, skips and expectations)",
            same.join(", ")
        );
    }
    Ok(())
}

/// The targets of the run, with this run's pacing and timeout flags applied: the ad-hoc one, those `named`
/// (by `--target`, else those of the failing trials of a `--failed` re-run: `from_failed`), else every target
/// with fixtures (replay) or the targets file's `live_default` (live).
fn resolve_targets(suite: &Suite, args: &RunArgs, ad_hoc: Option<&str>, named: &[String], from_failed: bool) -> Result<Vec<Target>, ExitCode> {
    if let (Some(name), Some(url)) = (ad_hoc, &args.base_url) {
        let mut t = Target::ad_hoc(name, url, args.more.api_key_env.as_deref(), BTreeMap::new());
        args.override_target(&mut t);
        let p = t.config.pacing;
        let paced = if p.rpm == 0 { "no per-minute budget".to_owned() } else { format!("{} requests a minute", p.rpm) };
        eprintln!("target `{name}` (ad hoc): {url}, {} in flight, {paced}", p.concurrency);
        return Ok(vec![t]);
    }
    let names: Vec<String> = match (named.is_empty(), args.live, &suite.live_default) {
        (false, _, _) => named.to_vec(),
        (true, true, Some(default)) => vec![default.clone()],
        (true, true, None) => {
            eprintln!("error: name a target with --target, or a server with --base-url (the targets file sets no `live_default`)");
            return Err(ExitCode::from(2));
        }
        (true, false, _) => suite.replayable_targets().iter().map(|t| t.name.clone()).collect(),
    };
    let mut targets = Vec::new();
    for name in &names {
        let Some(t) = suite.target(name) else {
            let known: Vec<&str> = suite.targets.iter().map(|t| t.name.as_str()).collect();
            let hint = match from_failed {
                true => format!(" (an ad-hoc target: re-run it with --live --base-url URL --name {name} --failed)"),
                false => compat::diagnostic::closest(name, known.iter().copied()).map(|k| format!(" (did you mean `{k}`?)")).unwrap_or_default(),
            };
            eprintln!("error: no target `{name}` in {TARGETS_FILE}{hint} (known: {}); nothing was sent", known.join(", "));
            return Err(ExitCode::from(2));
        };
        let mut t = t.clone();
        args.override_target(&mut t);
        targets.push(t);
    }
    Ok(targets)
}

/// The targets of a `--failed` re-run: those of the failing trials' names, in order, once each.
fn targets_of(failed: &std::collections::BTreeSet<String>) -> Vec<String> {
    let mut names: Vec<String> = failed.iter().filter_map(|n| n.split("::").next()).map(str::to_owned).collect();
    names.dedup();
    names
}

/// `--api-key-env`, `--model` and `--profile` applied to a target.
fn apply_target_flags(t: &mut Target, args: &RunArgs, models: &BTreeMap<String, String>) {
    if let Some(var) = &args.more.api_key_env {
        t.config.auth = compat::target::Auth { env: var.clone(), ..compat::target::Auth::bearer(var) };
    }
    if !models.is_empty() {
        t.config.models.extend(models.iter().map(|(r, m)| (r.clone(), m.clone())));
    }
    if !args.more.profiles.is_empty() {
        t.config.profiles = args.more.profiles.clone();
    }
}

/// `--profile` names a profile some case has (or `openai`, `gemini`). The case files' `profile:` lines are
/// looked up as text, before the suite loads.
fn check_profiles(root: &Path, args: &RunArgs) -> Result<(), ExitCode> {
    let builtin = [compat::case::OPENAI_PROFILE, "gemini"];
    if args.more.profiles.iter().all(|p| builtin.contains(&p.as_str())) {
        return Ok(());
    }
    let mut found: Vec<String> = builtin.iter().map(|p| (*p).to_owned()).collect();
    for file in compat::case::load::discover(root).unwrap_or_default() {
        let text = std::fs::read_to_string(root.join(&file)).unwrap_or_default();
        found.extend(text.lines().filter_map(|l| l.strip_prefix("profile:")).map(|p| p.trim().trim_matches('"').to_owned()));
    }
    found.sort_unstable();
    found.dedup();
    let known: Vec<&str> = found.iter().map(String::as_str).collect();
    for p in &args.more.profiles {
        if !known.contains(&p.as_str()) {
            let hint = compat::diagnostic::closest(p, known.iter().copied()).map(|k| format!("did you mean `{k}`? ")).unwrap_or_default();
            return Err(usage_error(format!("--profile {p}: no case has this profile ({hint}profiles: {})", known.join(", "))));
        }
    }
    Ok(())
}

/// A live run's inputs that would make every request fail: an unset key, a proxy variable that is no URL, a
/// base URL that is none.
fn check_live_inputs(targets: &[Target]) -> Result<(), ExitCode> {
    for t in targets {
        check_base_url(&t.config.base_url).map_err(|e| usage_error(format!("target `{}`: base_url {e}", t.name)))?;
        match t.key() {
            Ok(None) => {}
            Ok(Some(key)) => {
                if let Some(note) = compat::secrets::short_key_note(&t.config.auth.env, &key) {
                    eprintln!("{note}");
                }
            }
            Err(message) => {
                eprintln!("error: {message}; nothing was sent");
                return Err(ExitCode::from(2));
            }
        }
    }
    if let Some(Err(e)) = compat::transport::env_proxies().into_iter().find(Result::is_err) {
        eprintln!("error: {e}; nothing was sent");
        return Err(ExitCode::from(2));
    }
    Ok(())
}

/// A selection of no trial is a mistake (a typo in a filter): said with the nearest trial name, and the reports
/// of the last run are left as they are.
fn check_selection(suite: &Suite, targets: &[Target], selection: &Selection) -> Result<(), ExitCode> {
    let mut names: Vec<String> = Vec::new();
    let cases = &suite.case_names;
    for t in targets {
        names.extend(cases.iter().filter_map(|c| c.split_once("::")).map(|(feature, id)| compat::outcome::trial_name(&t.name, feature, id)));
    }
    names.extend(suite.broken.iter().map(|b| compat::suite::broken_case_outcome(b).name()));
    if names.iter().any(|n| selection.selects(n)) {
        return Ok(());
    }
    let shown: Vec<&str> = targets.iter().map(|t| t.name.as_str()).collect();
    let mut message = format!("the filters {:?} select no trial of {}", selection.filters.names(), shown.join(", "));
    let mut candidates: Vec<&str> = names.iter().map(String::as_str).collect();
    candidates.extend(cases.iter().map(String::as_str));
    let features: Vec<&str> = cases.iter().filter_map(|c| c.split("::").next()).collect();
    candidates.extend(features);
    if let Some(best) = selection.filters.names().iter().find_map(|f| compat::diagnostic::closest(f, candidates.iter().copied())) {
        message.push_str(&format!(" (did you mean `{best}`?)"));
    } else if selection.failed.is_some() {
        message.push_str(" (the failing trials of the results file are on other targets, or filtered out)");
    }
    message.push_str("; a trial is named <target>::<feature>::<id>, and a filter selects the trials whose name contains it");
    Err(usage_error(message))
}

/// An expectations entry still marked `TODO` (a draft of `compat expectations update`) would explain findings
/// with no evidence: a live run refuses to start until it is reviewed; a replay run (where the drafts are
/// reviewed) says so and goes on.
fn check_expectations(suite: &Suite, targets: &[Target], live: bool) -> Result<(), ExitCode> {
    for c in &suite.cases {
        for e in &c.case.expected {
            let d = &e.divergence.value;
            if !targets.iter().any(|t| d.targets.contains(&t.name)) {
                continue;
            }
            if d.link.trim().eq_ignore_ascii_case("todo") || d.reason.trim_start().starts_with("TODO") {
                let line = e.divergence.referenced.line();
                let message = format!(
                    "{}:{line}: the expectations entry of `{}` is still a draft marked TODO: replace its `reason` and `link` with the evidence, or delete it",
                    e.file,
                    c.case.name()
                );
                if live {
                    return Err(usage_error(message));
                }
                eprintln!("warning: {message} (a live run refuses to start with it)");
            }
        }
    }
    Ok(())
}

/// The models of an ad-hoc target from the server's `GET models`, a note saying which model each role got;
/// bounded by [`DISCOVERY_TIMEOUT_MS`].
fn discover_models(target: &Target) -> Result<BTreeMap<String, String>, ExitCode> {
    let url = format!("{}models", target.config.base_url);
    let key = target.key().unwrap_or_default().unwrap_or_default(); // checked before: a key named is set
    let headers: Vec<_> = target.auth_header(&key).into_iter().collect();
    let request = compat::transport::WireRequest { method: compat::case::Method::Get, url: url.clone(), headers, body: None };
    let timeouts = compat::target::Timeouts { connect_ms: 5_000, first_byte_ms: DISCOVERY_TIMEOUT_MS, idle_ms: 5_000 };
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a tokio runtime starts");
    let answer = runtime.block_on(async {
        let client = compat::transport::HttpClients::default().client(&timeouts, compat::transport::Proxy::FromEnv, &url);
        tokio::time::timeout(Duration::from_millis(DISCOVERY_TIMEOUT_MS), compat::transport::send(&client, &request, &timeouts)).await
    });
    let how = "name the models with --model NAME (every role) or --model ROLE=NAME";
    let response = match answer {
        Err(_) => return Err(usage_error(format!("GET {url} did not answer within {} s: {how}", DISCOVERY_TIMEOUT_MS / 1000))),
        Ok(Err(e @ (compat::transport::TransportError::Connect(_) | compat::transport::TransportError::Tls(_)))) => {
            eprintln!("error: target `{}` is unreachable: GET {url}: {e}", target.name);
            return Err(ExitCode::from(EXIT_UNREACHABLE));
        }
        Ok(Err(e)) => return Err(usage_error(format!("GET {url}: {e}: {how}"))),
        Ok(Ok(r)) => r,
    };
    let ids: Vec<String> = serde_json::from_slice::<serde_json::Value>(&response.body)
        .ok()
        .and_then(|v| v["data"].as_array().map(|d| d.iter().filter_map(|m| m["id"].as_str().map(str::to_owned)).collect()))
        .unwrap_or_default();
    if response.status != 200 || ids.is_empty() {
        return Err(usage_error(format!("GET {url} answered {} without a model list: {how}", response.status)));
    }
    let models = choose_models(&ids);
    let mut by_model: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (role, model) in &models {
        by_model.entry(model.as_str()).or_default().push(role.as_str());
    }
    let chosen: Vec<String> = by_model.iter().map(|(m, roles)| format!("{m} for {}", roles.join(", "))).collect();
    let missing: Vec<&str> = ROLES.iter().copied().filter(|r| !models.contains_key(*r)).collect();
    eprintln!(
        "note: no --model given: GET {url} lists {} model{}; using {}{} (choose with --model NAME or --model ROLE=NAME)",
        ids.len(),
        if ids.len() == 1 { "" } else { "s" },
        chosen.join("; "),
        if missing.is_empty() { String::new() } else { format!("; no model for {} (their cases are skipped)", missing.join(", ")) }
    );
    Ok(models)
}

/// A model for each role from a server's model ids, by their names: embedding, image and video models by
/// what they are called, the first other model for chat, vision, audio and reasoning. `reasoning_none` and
/// `reasoning_minimal` are never guessed.
fn choose_models(ids: &[String]) -> BTreeMap<String, String> {
    let has = |id: &str, words: &[&str]| words.iter().any(|w| id.to_ascii_lowercase().contains(w));
    let (embedding, image, video) = (["embed"], ["image", "dall-e", "imagen"], ["sora", "veo", "video"]);
    let other = ["tts", "whisper", "transcribe", "moderation", "rerank", "realtime", "search"];
    let mut models = BTreeMap::new();
    let mut first = |role: &str, pick: &dyn Fn(&str) -> bool| {
        if let Some(id) = ids.iter().find(|i| pick(i)) {
            models.insert(role.to_owned(), id.clone());
        }
    };
    first("embedding", &|i| has(i, &embedding));
    first("image", &|i| has(i, &image));
    first("video", &|i| has(i, &video));
    let chat = |i: &str| !has(i, &embedding) && !has(i, &image) && !has(i, &video) && !has(i, &other);
    for role in ["chat", "vision", "audio", "reasoning"] {
        first(role, &chat);
    }
    if let Some(audio) = ids.iter().find(|i| has(i, &["audio"]) && chat(i)) {
        models.insert("audio".to_owned(), audio.clone());
    }
    models
}

/// Set by the first SIGINT or SIGTERM (its number); a second one ends the process at once.
static SIGNAL: AtomicI32 = AtomicI32::new(0);

extern "C" fn on_signal(signal: libc::c_int) {
    // Async-signal-safe only: an atomic swap, and _exit.
    if SIGNAL.swap(signal, Ordering::SeqCst) != 0 {
        unsafe { libc::_exit(128 + signal) };
    }
}

/// From now on, SIGINT and SIGTERM stop the run (see [`execute`]) instead of killing it; a second one kills it.
fn catch_signals() {
    let handler = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
    // SAFETY: the handler only touches an atomic and calls _exit, both async-signal-safe.
    unsafe {
        libc::signal(libc::SIGINT, handler);
        libc::signal(libc::SIGTERM, handler);
    }
}

/// Runs the selected trials on a runtime of the run's own, showing progress on stderr and stopping cleanly on
/// SIGINT / SIGTERM: no trial starts after it, those in flight have [`INTERRUPT_GRACE`] to finish, and every
/// trial gets an outcome (those not run say so).
fn execute(session: &Arc<Session>, selection: &Selection, args: &RunArgs) -> Vec<compat::outcome::Outcome> {
    catch_signals();
    // A run of one trial has nothing to run beside it: it runs on this thread, without handing its task to a
    // worker and its outcome back (0.2–0.5 ms of a one-case run on 2 cores, measured).
    let one_trial = session.plan.iter().filter(|t| selection.selects(&t.name())).nth(1).is_none();
    let runtime = if one_trial { tokio::runtime::Builder::new_current_thread() } else { tokio::runtime::Builder::new_multi_thread() }
        .enable_all()
        .build()
        .expect("a tokio runtime starts");
    let control = Arc::new(RunControl::default());
    let outcomes = runtime.block_on(async {
        let watch = {
            let (control, session) = (Arc::clone(&control), Arc::clone(session));
            tokio::spawn(async move { watch_run(&session, &control).await })
        };
        let outcomes = session.run_controlled(|name| selection.selects(name), args.jobs, &control, INTERRUPT_GRACE).await;
        watch.abort();
        outcomes
    });
    clear_progress_line();
    // Nothing is left to wait for but what a case cut in flight left behind: the workers drop it as they stop,
    // while the reports are written (joining them cost a one-case run a few tenths of a millisecond).
    runtime.shutdown_background();
    outcomes
}

/// Whether the progress line is on screen (to clear it before anything else is printed).
static PROGRESS_SHOWN: AtomicBool = AtomicBool::new(false);

fn clear_progress_line() {
    if PROGRESS_SHOWN.swap(false, Ordering::SeqCst) {
        let _ = write!(std::io::stderr(), "\r\x1b[2K");
    }
}

/// Shows the run's progress on stderr — one updating line on a terminal, a line every few seconds in a log — and
/// turns the first signal into a stop.
async fn watch_run(session: &Session, control: &RunControl) {
    let tty = std::io::stderr().is_terminal();
    let started = Instant::now();
    let (tick, every) = (Duration::from_millis(50), if tty { Duration::from_millis(250) } else { Duration::from_secs(5) });
    let mut last_shown = Instant::now();
    loop {
        tokio::time::sleep(tick).await;
        let signal = SIGNAL.load(Ordering::SeqCst);
        if signal != 0 && !control.stopped() {
            control.stop();
            clear_progress_line();
            let name = if signal == libc::SIGTERM { "SIGTERM" } else { "SIGINT" };
            eprintln!(
                "interrupted ({name}): no new case starts; the requests in flight have {} s to finish, then the reports are written \
                 (Ctrl-C again quits at once, without them)",
                INTERRUPT_GRACE.as_secs()
            );
        }
        if last_shown.elapsed() < every {
            continue;
        }
        last_shown = Instant::now();
        let line = progress_line(session, control, started.elapsed());
        if tty {
            PROGRESS_SHOWN.store(true, Ordering::SeqCst);
            let _ = write!(std::io::stderr(), "\r\x1b[2K{line}");
        } else {
            let _ = writeln!(std::io::stderr(), "{line}");
        }
    }
}

/// `37/120 done · 2 failing · 3 waiting for the rate budget · 1 retrying after a 429 · 12 s`.
fn progress_line(session: &Session, control: &RunControl, elapsed: Duration) -> String {
    let p = control.progress();
    let mut parts = vec![format!("{}/{} done", p.done, p.total), format!("{} failing", p.failing)];
    let (mut waiting, mut backing_off, mut limited) = (0, 0, 0);
    for pacer in session.ctx.pacers.values() {
        let a = pacer.activity();
        (waiting, backing_off, limited) = (waiting + a.waiting_slot, backing_off + a.backing_off, limited + a.rate_limited);
    }
    if waiting > 0 {
        parts.push(format!("{waiting} waiting for the rate budget"));
    }
    if backing_off > 0 {
        parts.push(format!("{backing_off} waiting to retry"));
    }
    if limited > 0 {
        parts.push(format!("{limited} × 429 so far"));
    }
    if control.stopped() {
        parts.push("interrupted: finishing the requests in flight".to_owned());
    }
    parts.push(format!("{} s", elapsed.as_secs()));
    format!("compat: {}", parts.join(" · "))
}

/// The 429s the run's pacers met (retries and waits are counted per outcome).
fn pacer_totals(session: &Session) -> u32 {
    session.ctx.pacers.values().map(|p| p.activity().rate_limited).sum()
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
fn report(root: &Path, args: &RunArgs, info: RunInfo, outcomes: Vec<compat::outcome::Outcome>, baseline: Option<&Results>, limited: u32) -> ExitCode {
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
