//! The one trait every engine implements, and the object-safe face the registry keeps of it.
//!
//! This module is a leaf: engines implement [`EngineSpec`] here without knowing the registry,
//! and the registry lists them without their knowing it. An engine is a folder with a type that
//! implements [`EngineSpec`] (name, summary, typed configuration, promise, how to build the
//! state machine) plus one line in [`crate::registry`].

use ftsim_sim::config::{ConfigBox, EngineConfig, ParamDoc, ParamError};
use ftsim_sim::scenario::{JobKind, SinkMode};
use ftsim_sim::{Engine, Guarantee, Prepared, RunReport, Scenario, SimTime};
use serde::de::DeserializeOwned;
use std::marker::PhantomData;
use std::sync::Arc;

/// A fault-tolerance engine as a kind: what it is called, what it promises, how it is configured
/// and built.
pub trait EngineSpec: 'static {
    /// Name used in scenario files and `--engine`.
    const NAME: &'static str;
    /// One line on the model.
    const SUMMARY: &'static str;
    /// The `[engines.NAME]` table, typed.
    type Config: EngineConfig + DeserializeOwned;
    /// The state machine the kernel drives.
    type Engine: Engine;
    /// The guarantee promised under `cfg` for a job kind and sink mode.
    fn promise(cfg: &Self::Config, kind: JobKind, sink: SinkMode) -> Guarantee;
    /// Configurations whose promises differ, each with a label such as `mode = "unaligned"`, for
    /// `ftsim engines` (empty: the promise does not depend on the configuration).
    fn promise_variants() -> Vec<(String, Self::Config)> {
        Vec::new()
    }
    /// A fresh engine for `sc` under `cfg`.
    fn build(sc: &Scenario, cfg: &Self::Config) -> Self::Engine;
}

/// The promises of one configuration: a label and, per job kind, one guarantee per sink mode
/// (in [`SinkMode::ALL`] order).
pub type PromiseTable = (String, Vec<(JobKind, Vec<Guarantee>)>);

/// An engine as the registry keeps it: an [`EngineSpec`] behind an object-safe face.
pub trait Registered: Sync {
    /// Name.
    fn name(&self) -> &'static str;
    /// One line on the model.
    fn summary(&self) -> &'static str;
    /// The parameters, with docs, defaults and ranges.
    fn params(&self) -> Vec<ParamDoc>;
    /// Parses and checks an `[engines.NAME]` table (`None`: every default).
    fn parse(&self, table: Option<toml::Value>) -> Result<ConfigBox, ParamError>;
    /// The promise of this engine in `sc` (under its configuration there).
    fn promise(&self, sc: &Scenario) -> Guarantee;
    /// The promise tables `ftsim engines` prints, one per configuration variant.
    fn promises(&self) -> Vec<PromiseTable>;
    /// Runs the engine over `prepared` under its configuration in `sc`.
    fn run(&self, sc: &Scenario, prepared: &Prepared, progress: &mut dyn FnMut(SimTime)) -> RunReport;
    /// The tables a run of this engine in `sc` writes (`DIR/ENGINE/NAME.csv`): each one's name
    /// and columns, as an engine built for `sc` and not yet run has them (no rows).
    fn tables(&self, sc: &Scenario) -> Vec<(String, Vec<String>)>;
}

/// The registry's entry for engine `S`.
pub struct Entry<S>(PhantomData<fn() -> S>);

impl<S> Entry<S> {
    /// The entry (a constant, for the registry's static list).
    pub const fn new() -> Self {
        Entry(PhantomData)
    }
}

impl<S> Default for Entry<S> {
    fn default() -> Self {
        Self::new()
    }
}

impl<S: EngineSpec> Entry<S> {
    /// `S`'s configuration in `sc`: the one parsed when the scenario loaded, or the defaults if
    /// the scenario names no table for it.
    fn config(sc: &Scenario) -> S::Config {
        sc.engines
            .get(S::NAME)
            .and_then(|c| c.as_any().downcast_ref::<S::Config>())
            .cloned()
            .unwrap_or_default()
    }
}

impl<S: EngineSpec> Registered for Entry<S> {
    fn name(&self) -> &'static str {
        S::NAME
    }
    fn summary(&self) -> &'static str {
        S::SUMMARY
    }
    fn params(&self) -> Vec<ParamDoc> {
        S::Config::params()
    }
    fn parse(&self, table: Option<toml::Value>) -> Result<ConfigBox, ParamError> {
        Ok(Arc::new(S::Config::parse(table)?))
    }
    fn promise(&self, sc: &Scenario) -> Guarantee {
        S::promise(&Self::config(sc), sc.job.kind, sc.job.sink)
    }
    fn promises(&self) -> Vec<PromiseTable> {
        let mut variants = S::promise_variants();
        if variants.is_empty() {
            variants.push((String::new(), S::Config::default()));
        }
        variants
            .into_iter()
            .map(|(label, cfg)| {
                let rows = JobKind::ALL
                    .iter()
                    .map(|k| (*k, SinkMode::ALL.iter().map(|m| S::promise(&cfg, *k, *m)).collect()))
                    .collect();
                (label, rows)
            })
            .collect()
    }
    fn run(&self, sc: &Scenario, prepared: &Prepared, progress: &mut dyn FnMut(SimTime)) -> RunReport {
        let cfg = Self::config(sc);
        let promised = S::promise(&cfg, sc.job.kind, sc.job.sink);
        let mut engine = S::build(sc, &cfg);
        ftsim_sim::simulate(sc, prepared, S::NAME, promised, &mut engine, progress)
    }
    fn tables(&self, sc: &Scenario) -> Vec<(String, Vec<String>)> {
        let engine = S::build(sc, &Self::config(sc));
        Engine::tables(&engine)
            .into_iter()
            .map(|t| (t.name, t.columns))
            .collect()
    }
}
