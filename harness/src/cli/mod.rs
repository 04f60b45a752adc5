//! Subcommands of the `compat` binary, one module each.

pub mod bench;
pub mod bench_pacing;
pub mod coverage;
pub mod diff;
pub mod run;
