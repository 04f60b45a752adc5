//! `compat rules`: the rule table (rule id, what it checks, severity, why it matters), generated from
//! `compat::rules::RULES`; `--write` puts it into docs/checks.md between its markers.

use std::path::Path;
use std::process::ExitCode;

use compat::report::splice_between;
use compat::rules::{README_END, README_START, render_table};

/// Arguments of `compat rules`.
#[derive(clap::Args)]
pub struct RulesArgs {
    /// Write the table into docs/checks.md (between `<!-- rules:start -->` and `<!-- rules:end -->`).
    #[arg(long)]
    write: bool,
}

/// Runs `compat rules`.
pub fn run(root: &Path, args: RulesArgs) -> ExitCode {
    let table = render_table();
    if !args.write {
        print!("{table}");
        return ExitCode::SUCCESS;
    }
    let readme_path = root.join(compat::rules::RULES_DOC);
    let readme = std::fs::read_to_string(&readme_path).unwrap_or_default();
    let Some(updated) = splice_between(&readme, README_START, README_END, &table) else {
        eprintln!("error: {} has no rule-table markers; add `{README_START}` and `{README_END}`", compat::rules::RULES_DOC);
        return ExitCode::from(2);
    };
    match std::fs::write(&readme_path, updated) {
        Ok(()) => {
            println!("wrote the rule table into {}", readme_path.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: cannot write {}: {e}", readme_path.display());
            ExitCode::from(2)
        }
    }
}
