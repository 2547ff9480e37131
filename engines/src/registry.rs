//! The engine registry: the list of engines, and the catalog the scenario loader parses engine
//! tables with. This is the only place that names every engine; engines never refer to each
//! other or to this list.

use crate::spec::{Entry, Registered};
use ftsim_sim::config::{ConfigBox, ParamError};
use ftsim_sim::scenario::Catalog;
use ftsim_sim::{Prepared, RunReport, Scenario, SimTime};

/// Every built-in engine, in the order `ftsim engines` lists them.
static BUILTIN: &[&dyn Registered] = &[
    &Entry::<crate::none::NoFaultTolerance>::new(),
    &Entry::<crate::upstream_backup::UpstreamBackup>::new(),
    &Entry::<crate::passive_standby::PassiveStandby>::new(),
    &Entry::<crate::active_standby::ActiveStandby>::new(),
    &Entry::<crate::flink_abs::FlinkAbs>::new(),
    &Entry::<crate::dstream::DStream>::new(),
    &Entry::<crate::structured_streaming::StructuredStreaming>::new(),
    &Entry::<crate::storm_acking::StormAcking>::new(),
];

/// A list of engines: the built-in ones, and any a test or an embedding program adds.
#[derive(Clone)]
pub struct Registry {
    engines: Vec<&'static dyn Registered>,
}

impl Default for Registry {
    fn default() -> Self {
        Self::builtin()
    }
}

impl Registry {
    /// The built-in engines.
    pub fn builtin() -> Registry {
        Registry {
            engines: BUILTIN.to_vec(),
        }
    }
    /// This list with `engine` added at the end.
    pub fn with(mut self, engine: &'static dyn Registered) -> Registry {
        self.engines.push(engine);
        self
    }
    /// Every engine, in listing order.
    pub fn all(&self) -> &[&'static dyn Registered] {
        &self.engines
    }
    /// The engine called `name`.
    pub fn find(&self, name: &str) -> Option<&'static dyn Registered> {
        self.engines.iter().copied().find(|e| e.name() == name)
    }
    /// Runs engine `name` of `sc` over `prepared`; `None` if there is no such engine.
    pub fn run(
        &self,
        sc: &Scenario,
        name: &str,
        prepared: &Prepared,
        progress: &mut dyn FnMut(SimTime),
    ) -> Option<RunReport> {
        Some(self.find(name)?.run(sc, prepared, progress))
    }
}

impl Catalog for Registry {
    fn names(&self) -> Vec<&'static str> {
        self.engines.iter().map(|e| e.name()).collect()
    }
    fn parse(&self, name: &str, table: Option<toml::Value>) -> Option<Result<ConfigBox, ParamError>> {
        Some(self.find(name)?.parse(table))
    }
}
