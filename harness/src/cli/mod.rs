//! Subcommands of the `compat` binary, one module each.

pub mod bench;
pub mod bench_pacing;
pub mod check;
pub mod coverage;
pub mod diff;
pub mod expectations;
pub mod rules;
pub mod run;
pub mod serve;

use std::path::Path;
use std::process::ExitCode;

use compat::suite::Suite;

/// Loads the suite under `root`, or prints why it cannot (rustc-style, file:line:col) and gives exit code 2.
pub fn load_suite(root: &Path) -> Result<Suite, ExitCode> {
    Suite::load(root).map_err(|e| {
        eprint!("{e}");
        ExitCode::from(2)
    })
}
