//! `compat-bench`: the rerunnable benchmarks whose figures the README quotes, kept out of the shipped `compat`
//! binary. Each measures the real code path (`compat`'s library, or the `compat` binary beside this one as a
//! child process) and prints ratios from one run.
//!
//! - `replay`: start-up, whole-suite replay wall time, and per case its cost next to a bare reqwest round trip.
//! - `pacing`: a paced live run against a loopback server that admits R requests per minute.
//! - `scale`: `compat run` on a generated suite of thousands of outcomes, then one case and 20 cases live next
//!   to curl and Hurl.

mod pacing;
mod replay;
mod scale;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use compat::suite::Suite;

/// Benchmarks of the compat harness.
#[derive(Parser)]
#[command(name = "compat-bench", version, about)]
struct Cli {
    /// Project root holding cases/, fixtures/, snapshots/. Default: the checkout the binary was built from.
    #[arg(long, global = true)]
    root: Option<PathBuf>,
    #[command(subcommand)]
    which: Which,
}

#[derive(Subcommand)]
enum Which {
    /// Replay: whole-suite wall time and per-case cost against a bare round trip.
    Replay(replay::ReplayArgs),
    /// Pacing: a live run of the suite against a loopback server admitting R requests per minute.
    Pacing(pacing::PacingArgs),
    /// Scale: `compat run` on a generated suite of thousands of outcomes (wall, peak memory, report sizes),
    /// then start-up, one case and 20 cases live next to curl and Hurl.
    Scale(scale::ScaleArgs),
}

/// The same allocator as `compat`'s, so the in-process figures are those of the shipped binary.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let root = cli.root.unwrap_or_else(compat::suite::default_root);
    match cli.which {
        Which::Replay(a) => replay::run(&root, a),
        Which::Pacing(a) => pacing::run(&root, a),
        Which::Scale(a) => scale::run(&root, a),
    }
}

/// Loads the suite under `root`, or prints why it cannot and gives exit code 2.
fn load_suite(root: &Path) -> Result<Suite, ExitCode> {
    Suite::load(root).map_err(|e| {
        eprint!("{e}");
        ExitCode::from(2)
    })
}
