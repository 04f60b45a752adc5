//! A conformance and compatibility harness for OpenAI-compatible HTTP APIs.
//!
//! Three layers, data flowing one way:
//! 1. **case model** ([`case`], [`target`], [`fixture`]): YAML cases, the targets file and fixtures, as plain
//!    serde data with located load errors;
//! 2. **run** ([`run`]): sends a case's request to a target — a fixture replayed by wiremock, or a live base URL
//!    through [`pacing`] and [`transport`] — applies the [`check`]s (schemas from [`schema`], the [`sse`] parser,
//!    stream invariants, assertions, semantic checks) and returns an [`outcome::Outcome`], printing nothing;
//! 3. **report** ([`report`]): pure functions of outcomes — terminal text, JSON, JUnit, Markdown, HTML.
//!
//! [`secrets`] keeps keys out of everything a live run keeps or shows; [`snapshot`] normalizes responses for
//! insta snapshots; [`suite`] wires the layers for the two entry points
//! (the `compat` CLI and the `conformance` test target); [`results`] turns a run's outcomes into the report files
//! (per-trial result files under `cargo test`/nextest, assembled once all trials have finished).

pub mod case;
pub mod check;
pub mod fixture;
pub mod import;
pub mod outcome;
pub mod pacing;
pub mod report;
pub mod results;
pub mod run;
pub mod schema;
pub mod secrets;
pub mod snapshot;
pub mod sse;
pub mod suite;
pub mod target;
pub mod time;
pub mod transport;
