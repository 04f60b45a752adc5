//! `compat coverage`: the coverage table (feature → documented request → cases → verdict per target),
//! from a replay of every case; `--write` puts it into docs/coverage.md between its markers.

use std::path::Path;
use std::process::ExitCode;

use compat::report::coverage::{COVERAGE_DOC, splice};
use compat::suite::{coverage_table, replay_all};

/// Arguments of `compat coverage`.
#[derive(clap::Args)]
pub struct CoverageArgs {
    /// Write the table into docs/coverage.md (between `<!-- coverage:start -->` and `<!-- coverage:end -->`).
    #[arg(long)]
    write: bool,
}

/// Runs `compat coverage`.
pub fn run(root: &Path, args: CoverageArgs) -> ExitCode {
    let suite = match super::load_suite(root) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let outcomes = match replay_all(&suite) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let table = coverage_table(&suite, &outcomes);
    if !args.write {
        print!("{table}");
        return ExitCode::SUCCESS;
    }
    let readme_path = root.join(COVERAGE_DOC);
    let readme = std::fs::read_to_string(&readme_path).unwrap_or_default();
    match splice(&readme, &table) {
        Some(updated) => match std::fs::write(&readme_path, updated) {
            Ok(()) => {
                println!("wrote the coverage table into {}", readme_path.display());
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: cannot write {}: {e}", readme_path.display());
                ExitCode::from(2)
            }
        },
        None => {
            eprintln!("error: {COVERAGE_DOC} has no coverage markers; add `<!-- coverage:start -->` and `<!-- coverage:end -->`");
            ExitCode::from(2)
        }
    }
}
