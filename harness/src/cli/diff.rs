//! `compat diff OLD.json NEW.json`: what changed between two results documents — regressions, fixes, new and
//! removed cases — printed as text; exits 1 on a regression, 2 when a file does not read. The comparison is
//! [`compat::report::changes::compare`], the same the reports use for `compat run --baseline`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use compat::report::changes::{compare, render_text};
use compat::report::write::load_results;

#[derive(clap::Args)]
pub struct DiffArgs {
    /// The baseline results.json (an earlier run).
    old: PathBuf,
    /// The results.json to compare with it.
    new: PathBuf,
}

pub fn run(_root: &Path, args: DiffArgs) -> ExitCode {
    let (old, new) = match (load_results(&args.old), load_results(&args.new)) {
        (Ok(o), Ok(n)) => (o, n),
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let changes = compare(&old, &new);
    print!("{}", render_text(&changes));
    if changes.regressions.is_empty() { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}
