//! A conformance and compatibility harness for OpenAI-compatible HTTP APIs.
//!
//! Layers, data flowing one way (a test, `tests/layers.rs`, reads every `use crate::…` and fails when a module
//! imports a layer above its own; another holds this list and `docs/internals.md`'s table to that test's):
//! 0. **beneath all** ([`diagnostic`], [`rules`], [`sse`], [`secrets`], [`time`]): located diagnostics, the rule
//!    table, the event-stream parser, key redaction, RFC 3339 time — importing nothing of the crate;
//! 1. **case model** ([`case`], [`target`]): YAML cases and the targets file as plain data, loaded with located
//!    diagnostics, no I/O beyond reading those files;
//! 2. **outcome model** ([`outcome`]): `Outcome`, `Verdict`, `Finding`, `Exchange`, fixture `Origin` — the plain
//!    values everything after a run reads;
//! 3. **check** ([`check`], [`schema`]): an observed response and its case in, findings out;
//! 4. **run** ([`run`], [`fixture`], [`transport`], [`pacing`], [`snapshot`], [`clients`]): sends a case's
//!    requests — fixtures replayed by wiremock, or a live base URL — checks the answers and returns an outcome
//!    (with what the official SDKs did with that fixture, when the drivers' evidence has it), printing nothing;
//! 5. **recorded traffic** ([`import`]): `compat check` in place of a run — recordings parsed into exchanges,
//!    each checked into an outcome;
//! 6. **consumers** ([`report`], [`record`]): terminal, JSON, JUnit, Markdown, HTML, each a pure function of
//!    outcomes; fixtures written from a live run's outcomes;
//! 7. **wiring** ([`suite`], [`plan`], [`session`], [`collect`], [`bundle`]): loading a project, planning trials,
//!    running them (one path, [`session::Session`]), collecting result files — shared by the `compat` CLI and the
//!    `conformance` test target; the built-in suite and root resolution of an installed binary.

pub mod bundle;
pub mod case;
pub mod check;
pub mod clients;
pub mod collect;
pub mod diagnostic;
pub mod fixture;
pub mod import;
pub mod outcome;
pub mod pacing;
pub mod plan;
pub mod record;
pub mod report;
pub mod rules;
pub mod run;
pub mod schema;
pub mod secrets;
pub mod session;
pub mod snapshot;
pub mod sse;
pub mod suite;
pub mod target;
pub mod time;
pub mod transport;
