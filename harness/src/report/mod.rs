//! Reports: pure functions of outcomes, one module per output format. Nothing here runs anything or knows
//! how a request was made.

pub mod changes;
pub mod coverage;
pub mod html;
pub mod json;
pub mod junit;
pub mod markdown;
pub mod terminal;
