//! ftsim's integration tests: one binary, one file per behaviour.

mod arbitrary;
mod support;

mod active_standby;
mod bad_input;
mod capacity;
mod cli;
mod determinism;
mod dstream;
mod engine_kit;
mod experiment_scenarios;
mod flink_abs;
mod flink_broadcast;
mod golden;
mod invariants;
mod kernel_order;
mod kernel_timers;
mod ledger;
mod live;
mod none_engine;
mod oracle;
mod parsing;
mod passive_standby;
mod physics;
mod planted;
mod properties;
mod record_at_a_time;
mod regressions;
mod report;
mod storm_acking;
mod sweep;
mod trace;
mod unfinished;
mod upstream_backup;
mod watermark_rounds;
mod workload;
