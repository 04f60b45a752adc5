//! `compat init DIR`: writes the suite built into the binary (see `compat::bundle`) into DIR as a project to edit —
//! add a target to `cases/targets.yaml`, a case under `cases/<feature>/` — and run from there.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use compat::target::TARGETS_FILE;

#[derive(Args)]
pub struct InitArgs {
    /// The folder to write (created if needed).
    #[arg(default_value = ".")]
    dir: PathBuf,
    /// Overwrite the built-in files of a folder that already holds a project (files of its own are kept).
    #[arg(long)]
    force: bool,
}

pub fn run(args: InitArgs) -> ExitCode {
    if args.dir.join(TARGETS_FILE).exists() && !args.force {
        eprintln!("error: {} already holds a project ({TARGETS_FILE}); pass --force to overwrite its built-in files", args.dir.display());
        return ExitCode::from(2);
    }
    match compat::bundle::write_to(&args.dir) {
        Ok(n) => {
            // Written, not println!: a closed stdout (`compat init DIR | head -1`) must not panic after the work is done.
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "wrote {n} files to {}", args.dir.display());
            let _ = writeln!(out, "next: cd {} && compat run            (replays the control target's fixtures)", args.dir.display());
            let _ = writeln!(out, "      compat run --live --base-url URL   (your server; add it to {TARGETS_FILE} to keep its settings)");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: cannot write {}: {e}", args.dir.display());
            ExitCode::from(2)
        }
    }
}
