//! ftsim: the command line, the run orchestration and the reports (CSV, console table, charts).
//! The simulation itself lives in `ftsim-sim`; the engines in `ftsim-engines`.
#![deny(missing_docs)]

pub mod check;
pub mod cli;
pub mod live;
pub mod output;
pub mod runner;
pub mod sweep;
