//! Before anything is sent: the command line's own mistakes, the suite and schemas loaded, the targets
//! resolved and every input checked — each refusal an exit code with its message, nothing sent.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use compat::pacing::Pacer;
use compat::plan::PlannedTrial;
use compat::run::{RunContext, RunMode};
use compat::schema::SchemaSet;
use compat::session::{Session, SnapshotSink};
use compat::suite::{Suite, TargetScope};
use compat::target::{GENERAL_ROLES, ROLES, TARGETS_FILE, Target};

use super::discover::discover_models;
use super::{Prepared, RunArgs, Selection, say, usage_error};

/// Loads the suite and schemas, resolves the targets and checks every input; an `Err` is the exit code of a
/// usage or configuration error, said on stderr, with nothing sent.
pub(super) fn prepare(root: &Path, args: &RunArgs) -> Result<Prepared, ExitCode> {
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
    let suite = suite.map_err(crate::cli::load_failed)?;
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
