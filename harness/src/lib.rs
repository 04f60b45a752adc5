//! A conformance and compatibility harness for OpenAI-compatible HTTP APIs.
//!
//! Layers, data flowing one way (a test, `tests/layers.rs`, reads every `use crate::…` and fails when a module
//! imports a layer above its own):
//! 1. **case model** ([`case`], [`target`], with [`rules`] and [`diagnostic`] beneath them): YAML cases, the
//!    targets file, the rule table, located diagnostics — plain data, no I/O beyond reading those files;
//! 2. **outcome model** ([`outcome`]): `Outcome`, `Verdict`, `Finding`, `Exchange`, fixture `Origin` — the plain
//!    values everything after a run reads;
//! 3. **check** ([`check`], [`schema`], [`sse`]): an observed response and its case in, findings out;
//! 4. **run** ([`run`], [`fixture`], [`transport`], [`pacing`], [`snapshot`], [`secrets`], [`clients`]): sends a
//!    case's request — a fixture replayed by wiremock, or a live base URL — checks the answer and returns an
//!    outcome (with what the official SDKs did with that fixture, when the drivers' evidence has it), printing
//!    nothing;
//! 5. **consumers of outcomes** ([`report`]: terminal, JSON, JUnit, Markdown, HTML, each a pure function of
//!    outcomes; [`record`]: fixtures written from a live run's outcomes);
//! 6. **wiring** ([`suite`], [`plan`], [`session`], [`collect`], [`bundle`]): loading a project, planning trials,
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
