//! Subcommands of the `compat` binary, one module each.

pub mod bench;
pub mod coverage;
pub mod diff;
pub mod run;
