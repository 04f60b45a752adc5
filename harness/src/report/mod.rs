//! Reports: pure functions of outcomes, one module per output format. Nothing here runs anything or knows
//! how a request was made.

pub mod coverage;
pub mod terminal;
