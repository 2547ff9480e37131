//! ftsim's integration tests: one binary, one file per behaviour.

mod arbitrary;
mod support;

mod bad_input;
mod cli;
mod determinism;
mod dstream;
mod engine_kit;
mod flink_abs;
mod golden;
mod invariants;
mod kernel_order;
mod none_engine;
mod oracle;
mod physics;
mod planted;
mod properties;
mod regressions;
mod workload;
