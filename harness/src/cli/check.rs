//! `compat check FILE…`: check recorded traffic (VCR cassettes, HAR files, llama-stack recordings, raw JSON or
//! SSE bodies) without writing a case, and write the usual reports.
//!
//! Files are read by [`compat::import`], each exchange checked by [`compat::import::assess`]; a directory stands
//! for the files in it and its subfolders with a known extension. A file that cannot be read or parsed is reported
//! (file:line:col) and the others are still checked.

use std::fmt::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use compat::outcome::Outcome;

use compat::case::ObjectKind;
use compat::import::{self, RawOptions, assess};
use compat::outcome::Mode;
use compat::report::json::{RunInfo, TargetInfo};
use compat::report::terminal;
use compat::schema::SchemaSet;

/// A line to stdout; a closed pipe (`compat check … | head`) ends the output, never the command.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

/// Extensions taken from a directory argument.
const EXTENSIONS: [&str; 7] = ["yaml", "yml", "har", "json", "jsonl", "sse", "txt"];

/// Arguments of `compat check`.
#[derive(clap::Args)]
pub struct CheckArgs {
    /// Recorded traffic: VCR cassettes (.yaml/.yml), HAR files (.har), llama-stack recordings (.json), Batch
    /// output files (.jsonl), raw JSON or SSE bodies (the kind their `object` names, or --endpoint / --kind), or
    /// directories of them (subfolders included).
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Raw bodies: the endpoint they answered, relative to the base URL (chat/completions, embeddings, models,
    /// models/{id}, images/generations, batches, videos).
    #[arg(long)]
    endpoint: Option<String>,
    /// Raw bodies: the object kind (chat.completion, chat.completion.chunk, embedding.list, model.list, model,
    /// error, images.response, batch, video); overrides the endpoint's.
    #[arg(long)]
    kind: Option<String>,
    /// Raw bodies: a JSON file holding the request body that was sent (enables the checks that need it).
    #[arg(long)]
    request: Option<PathBuf>,
    /// Raw bodies: the response status. Default 200.
    #[arg(long)]
    status: Option<u16>,
    /// Folder for index.html, junit.xml, results.json and summary.md. Default: ./reports.
    #[arg(long)]
    reports: Option<PathBuf>,
}

/// Runs `compat check`: exit 0 when no exchange has a finding, 1 when one has (or a recording is itself cut
/// short), 2 when an argument or a file is unusable (the readable files are still checked and reported).
pub fn run(args: CheckArgs) -> ExitCode {
    let raw = match raw_options(&args) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let schemas = match SchemaSet::builtin() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let mut unusable = false;
    let mut files = Vec::new();
    for arg in &args.files {
        match expand(arg) {
            Ok(found) => files.extend(found),
            Err(e) => {
                eprintln!("error: {e}");
                unusable = true;
            }
        }
    }
    let mut outcomes = Vec::new();
    let mut urls: Vec<String> = Vec::new();
    for file in &files {
        let imported = match import::load_file(file, &raw) {
            Ok(i) => i,
            Err(e) => {
                eprint!("{e}");
                unusable = true;
                continue;
            }
        };
        say!("{}: {}, {} exchange(s) checked, {} left out", file.display(), imported.form, imported.exchanges.len(), imported.left_out.len());
        for l in &imported.left_out {
            say!("  left out: interaction {}: {}", l.index, l.reason);
        }
        let stated = args.endpoint.is_some() || args.kind.is_some() || args.request.is_some() || args.status.is_some();
        if stated && imported.form != "raw body" && imported.form != "batch output file" {
            say!(
                "  note: --endpoint, --kind, --request and --status apply to raw bodies and batch output files only; this file's recorded requests say what was asked"
            );
        }
        let mut notes: Vec<&str> = Vec::new();
        for n in imported.exchanges.iter().flat_map(|x| &x.notes) {
            if !notes.contains(&n.as_str()) {
                notes.push(n);
                say!("  note: {n}");
            }
        }
        for x in &imported.exchanges {
            if let Some(origin) = origin_of(&x.url).filter(|o| !urls.contains(o)) {
                urls.push(origin);
            }
            outcomes.push(assess::check_exchange(x, &schemas));
        }
    }
    say!("{}", assess::NOT_CHECKED);
    say!("{}", render(&outcomes).trim_end());
    let info = RunInfo {
        date: compat::time::now_rfc3339(),
        harness_version: env!("CARGO_PKG_VERSION").to_owned(),
        spec_version: schemas.spec_version().to_owned(),
        targets: vec![TargetInfo {
            name: assess::TARGET.into(),
            base_url: urls.join(", "),
            mode: Mode::Recorded,
            counts: Default::default(),
            control: false,
        }],
    };
    let reports = args.reports.clone().unwrap_or_else(|| PathBuf::from("reports"));
    if outcomes.is_empty() && unusable {
        // Nothing could be read: the last reports stay as they were rather than become an empty run.
        say!("reports: not written (nothing was checked)");
    } else {
        let results = compat::report::json::build(info, outcomes.clone());
        match compat::report::write::write_reports(&reports, &results, None) {
            Ok(_) => say!("reports: {}", reports.join("index.html").display()),
            Err(e) => {
                eprintln!("error: reports: {e}");
                unusable = true;
            }
        }
    }
    if unusable {
        ExitCode::from(2)
    } else if outcomes.iter().any(|o| o.fails()) {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

fn raw_options(args: &CheckArgs) -> Result<RawOptions, String> {
    let kind = match &args.kind {
        None => None,
        Some(k) => Some(ObjectKind::ALL.into_iter().find(|o| o.name() == k).ok_or_else(|| {
            let names: Vec<&str> = ObjectKind::ALL.iter().map(|o| o.name()).collect();
            format!("--kind {k:?} is not an object kind (one of {})", names.join(", "))
        })?),
    };
    let request = match &args.request {
        None => None,
        Some(p) => {
            let text = std::fs::read_to_string(p).map_err(|e| format!("--request {}: {e}", p.display()))?;
            Some(serde_json::from_str(&text).map_err(|e| format!("--request {}:{}:{}: not JSON: {e}", p.display(), e.line(), e.column()))?)
        }
    };
    Ok(RawOptions { endpoint: args.endpoint.clone(), kind, request, status: args.status })
}

/// The terminal report: each failing outcome as `compat run` shows it (findings alike across array items
/// grouped, the reports keeping every one) with its extensions, then a summary line.
fn render(outcomes: &[Outcome]) -> String {
    let mut out = String::new();
    for o in outcomes.iter().filter(|o| o.fails()) {
        out.push_str(&terminal::render_outcome(o));
        if !o.extensions().is_empty() {
            let _ = writeln!(out, "  extensions (fields the spec does not define; listed, never findings): {}", o.extensions().join(", "));
        }
        out.push('\n');
    }
    let summary: Vec<String> = terminal::counts(outcomes).into_iter().filter(|(_, n)| *n > 0).map(|(v, n)| format!("{n} {v}")).collect();
    let failing = outcomes.iter().filter(|o| o.fails()).count();
    let _ = writeln!(out, "{} exchanges: {}; {failing} failing", outcomes.len(), summary.join(", "));
    out
}

/// A file as itself; a directory as its files with a known extension, subfolders included, sorted.
fn expand(path: &Path) -> Result<Vec<PathBuf>, String> {
    if !path.is_dir() {
        return if path.exists() { Ok(vec![path.to_owned()]) } else { Err(format!("{}: no such file", path.display())) };
    }
    let mut files = Vec::new();
    let mut dirs = vec![path.to_owned()];
    while let Some(dir) = dirs.pop() {
        let entries = std::fs::read_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        for p in entries.filter_map(|e| e.ok().map(|e| e.path())) {
            if p.is_dir() {
                dirs.push(p);
            } else if p.is_file() && p.extension().and_then(|e| e.to_str()).is_some_and(|e| EXTENSIONS.contains(&e.to_ascii_lowercase().as_str())) {
                files.push(p);
            }
        }
    }
    files.sort();
    if files.is_empty() {
        return Err(format!("{}: no recording in it (files ending in {})", path.display(), EXTENSIONS.join(", ")));
    }
    Ok(files)
}

/// `scheme://host` of a recorded URL, for the report header.
fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = authority.rsplit('@').next().unwrap_or_default(); // never a user:password
    Some(format!("{scheme}://{host}"))
}
