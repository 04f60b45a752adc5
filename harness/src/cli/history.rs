//! `compat history add results.json` keeps a compact record of a run in the history folder;
//! `compat history [render]` draws the timeline of every recorded run into `history.html`;
//! `compat badge results.json` writes the score badges of a run. The records, the rescoring against today's
//! case list and the drawings are [`compat::report::history`], [`compat::report::history_html`] and
//! [`compat::report::badge`]; this module only reads and writes files.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use compat::report::history::{self, Night};
use compat::report::write::{load_results, write_atomic};
use compat::report::{badge, history_html, interop};

/// Arguments of `compat history`.
#[derive(clap::Args)]
pub struct HistoryArgs {
    #[command(subcommand)]
    action: Option<Action>,
    /// The history folder, one `<date>.json` per run. Default: <root>/reports/history.
    #[arg(long, global = true)]
    history: Option<PathBuf>,
    /// Render: the page to write. Default: history.html beside the history folder.
    #[arg(long, global = true)]
    out: Option<PathBuf>,
}

#[derive(clap::Subcommand)]
enum Action {
    /// Add the run of a results.json to the history (a run already there is replaced).
    Add {
        /// The results document.
        results: PathBuf,
    },
    /// Render the timeline of every recorded run (the default action).
    Render,
}

/// Arguments of `compat badge`.
#[derive(clap::Args)]
pub struct BadgeArgs {
    /// The results document.
    results: PathBuf,
    /// Folder for `<target>.svg`, `interop.svg` and their shields endpoint `.json`. Default: <root>/reports/badges.
    #[arg(long)]
    out: Option<PathBuf>,
}

/// Runs `compat history`.
pub fn run(root: &Path, args: HistoryArgs) -> ExitCode {
    let dir = args.history.clone().unwrap_or_else(|| root.join("reports").join("history"));
    let result = match args.action.unwrap_or(Action::Render) {
        Action::Add { results } => add(&dir, &results),
        Action::Render => {
            let out = args.out.clone().unwrap_or_else(|| dir.parent().unwrap_or(Path::new(".")).join("history.html"));
            render(&dir, &out)
        }
    };
    match result {
        Ok(message) => {
            println!("{message}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

fn add(dir: &Path, results: &Path) -> Result<String, String> {
    let doc = load_results(results)?;
    let night = history::night(&doc);
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let path = dir.join(history::file_name(&night));
    let text = serde_json::to_string(&night).map_err(|e| e.to_string())? + "\n";
    write_atomic(&path, text.as_bytes())?;
    Ok(format!("added {} ({} cases, {} targets, suite {}) as {}", night.date, night.cases.len(), night.targets.len(), night.suite_id, path.display()))
}

/// Every record in `dir`, by file name; a file that does not read is an error naming it (history is
/// evidence: a corrupt night must not vanish silently).
pub fn read_nights(dir: &Path) -> Result<Vec<Night>, String> {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
    let mut files: Vec<PathBuf> = entries.flatten().map(|e| e.path()).filter(|p| p.extension().is_some_and(|x| x == "json")).collect();
    files.sort();
    files
        .iter()
        .map(|p| std::fs::read_to_string(p).map_err(|e| e.to_string()).and_then(|t| history::parse(&t)).map_err(|e| format!("{}: {e}", p.display())))
        .collect()
}

fn render(dir: &Path, out: &Path) -> Result<String, String> {
    let nights = read_nights(dir)?;
    let rescored = history::rescore(&nights);
    if let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
    }
    write_atomic(out, history_html::render(&rescored).as_bytes())?;
    let marked = rescored.iter().filter(|r| r.differs()).count();
    Ok(format!("rendered {} nights ({marked} with another case list, rescored against today's) to {}", rescored.len(), out.display()))
}

/// Runs `compat badge`.
pub fn badge(root: &Path, args: BadgeArgs) -> ExitCode {
    let out = args.out.clone().unwrap_or_else(|| root.join("reports").join("badges"));
    let written = load_results(&args.results).and_then(|doc| {
        std::fs::create_dir_all(&out).map_err(|e| format!("cannot create {}: {e}", out.display()))?;
        let all = badge::badges(&interop::scores(&doc));
        for b in &all {
            // A target name is a YAML key: keep file names to a safe alphabet.
            let stem: String = b.name.chars().map(|c| if c.is_ascii_alphanumeric() || "._-".contains(c) { c } else { '_' }).collect();
            write_atomic(&out.join(format!("{stem}.svg")), b.svg.as_bytes())?;
            write_atomic(&out.join(format!("{stem}.json")), b.json.as_bytes())?;
        }
        Ok(all.len())
    });
    match written {
        Ok(n) => {
            println!("wrote {n} badges to {}", out.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}
