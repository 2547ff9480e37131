//! ftsim-engines: the fault-tolerance engines, one folder each, every one built only on
//! ftsim-sim's public API. [`registry`] is the one place that wires names to engines.
#![deny(missing_docs)]

pub mod active_standby;
pub mod dstream;
pub mod flink_abs;
pub mod microbatch;
pub mod none;
pub mod passive_standby;
pub mod pipeline;
pub mod registry;
pub mod spec;
pub mod storm_acking;
pub mod structured_streaming;
pub mod upstream_backup;

/// A scenario from TOML text, with the built-in engines (for unit tests).
#[cfg(test)]
pub(crate) fn test_scenario(text: &str) -> ftsim_sim::Scenario {
    ftsim_sim::Scenario::from_str(
        std::path::Path::new("t.toml"),
        text,
        &ftsim_sim::scenario::Overrides::default(),
        &crate::Registry::builtin(),
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

pub use registry::Registry;
pub use spec::{EngineSpec, Entry, Registered};
