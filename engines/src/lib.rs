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

pub use registry::Registry;
pub use spec::{EngineSpec, Entry, Registered};
