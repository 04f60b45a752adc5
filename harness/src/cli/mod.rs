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

use compat::suite::Suite;

/// Loads the suite under `root`, or prints why it cannot (rustc-style, file:line:col) and gives exit code 2.
pub fn load_suite(root: &Path) -> Result<Suite, ExitCode> {
    Suite::load(root).map_err(load_failed)
}

/// Prints why the suite did not load (rustc-style, file:line:col) and gives exit code 2 (`compat run` loads
/// with [`Suite::load_beside`]).
pub fn load_failed(e: compat::diagnostic::Diagnostic) -> ExitCode {
    eprint!("{e}");
    ExitCode::from(2)
}
