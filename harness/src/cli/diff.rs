//! `compat diff OLD.json NEW.json`: what changed between two results documents — regressions, fixes, new and
//! removed cases, and the tiers before and after — printed as text; exits 1 on a regression, 2 when a file
//! does not read. The comparison is [`compat::report::changes::compare`], the same the reports use for
//! `compat run --baseline`.
//!
//! `compat diff results.json --between A B` compares two implementations of one document instead (with two
//! documents, A from the first and B from the second): the cases where one meets a tier and the other does
//! not, with the findings that make the difference ([`compat::report::between`]); exits 0, or 2 when a file
//! does not read or a target is not in it.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use compat::report::changes::{compare, render_text};
use compat::report::write::load_results;
use compat::report::{between, interop};

#[derive(clap::Args)]
pub struct DiffArgs {
    /// The baseline results.json (an earlier run); with --between, the document holding the first target.
    old: PathBuf,
    /// The results.json to compare with it; with --between, optional: the document holding the second target.
    new: Option<PathBuf>,
    /// Compare two implementations (targets) instead of two runs: the cases where one meets a tier and the
    /// other does not.
    #[arg(long, num_args = 2, value_names = ["A", "B"])]
    between: Option<Vec<String>>,
}

pub fn run(_root: &Path, args: DiffArgs) -> ExitCode {
    let old = match load_results(&args.old) {
        Ok(d) => d,
        Err(e) => return fail(&e),
    };
    let new = match args.new.as_deref().map(load_results) {
        Some(Ok(d)) => Some(d),
        Some(Err(e)) => return fail(&e),
        None => None,
    };
    if let Some(names) = &args.between {
        let right = new.as_ref().unwrap_or(&old);
        return match between::between(&old, &names[0], right, &names[1]) {
            Ok(c) => {
                print!("{}", between::render_text(&c));
                ExitCode::SUCCESS
            }
            Err(e) => fail(&e),
        };
    }
    let Some(new) = new else { return fail("compat diff takes two results documents (or one with --between A B)") };
    let changes = compare(&old, &new);
    print!("{}", render_text(&changes));
    print!("{}", interop::render_change(&interop::scores(&old), &interop::scores(&new)));
    if changes.regressions.is_empty() { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}

fn fail(message: &str) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::from(2)
}
