//! Subcommands of the `compat` binary, one module each.

pub mod check;
pub mod coverage;
pub mod diff;
pub mod expectations;
pub mod history;
pub mod init;
pub mod rules;
pub mod run;
pub mod serve;

use std::path::Path;
use std::process::ExitCode;

use compat::suite::{Suite, TargetScope};

/// Loads the suite under `root`, or prints why it cannot (rustc-style, file:line:col) and gives exit code 2.
pub fn load_suite(root: &Path) -> Result<Suite, ExitCode> {
    load_suite_for(root, &[], TargetScope::All)
}

/// [`load_suite`], reading only the case files `filters` can select on the targets of `scope`, and only those
/// targets' expectations (see [`Suite::load_for`]).
pub fn load_suite_for(root: &Path, filters: &[String], scope: TargetScope) -> Result<Suite, ExitCode> {
    Suite::load_for(root, filters, scope).map_err(load_failed)
}

/// Prints why the suite did not load (rustc-style, file:line:col) and gives exit code 2.
pub fn load_failed(e: compat::diagnostic::Diagnostic) -> ExitCode {
    eprint!("{e}");
    ExitCode::from(2)
}
