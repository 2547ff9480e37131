//! `point.toml`: the file beside each run's output that says which run of which sweep it is, so
//! that a rerun reuses a run directory only when it holds that very run.

use super::manifest::{Manifest, RunId, list_field, number_field, string, strings, text_field};
use std::fmt::Write;

/// The file's name in a run directory.
pub const POINT_FILE: &str = "point.toml";

/// What a run is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PointRecord {
    /// The ftsim version that ran it.
    pub ftsim: String,
    /// The scenario file's text hash.
    pub scenario_hash: String,
    /// The run's index in the sweep.
    pub run: usize,
    /// The point's index.
    pub point: usize,
    /// The seed.
    pub seed: u64,
    /// Every override, in order: the sweep's `--set` arguments, then the varied values.
    pub sets: Vec<String>,
    /// The sweep's `--engine` arguments.
    pub engine_flags: Vec<String>,
    /// The engines run, in order (what follows from the above; empty where not yet known).
    pub engines: Vec<String>,
}

impl PointRecord {
    /// The record a run of sweep `m` must carry (`engines` left empty).
    pub fn expected(m: &Manifest, id: RunId) -> PointRecord {
        PointRecord {
            ftsim: m.ftsim.clone(),
            scenario_hash: m.scenario_hash.clone(),
            run: id.index,
            point: id.point,
            seed: id.seed,
            sets: m.point_sets(id.point),
            engine_flags: m.engines.clone(),
            engines: Vec::new(),
        }
    }

    /// Whether `other` records the same run: everything but the engines, which follow from it.
    pub fn same_run(&self, other: &PointRecord) -> bool {
        (
            &self.ftsim,
            &self.scenario_hash,
            self.run,
            self.point,
            self.seed,
            &self.sets,
            &self.engine_flags,
        ) == (
            &other.ftsim,
            &other.scenario_hash,
            other.run,
            other.point,
            other.seed,
            &other.sets,
            &other.engine_flags,
        )
    }

    /// The record as TOML.
    pub fn to_toml(&self) -> String {
        let mut s = String::from("# The run of an ftsim sweep that this directory holds.\n");
        let _ = writeln!(s, "ftsim = {}", string(&self.ftsim));
        let _ = writeln!(s, "scenario_hash = {}", string(&self.scenario_hash));
        let _ = writeln!(s, "run = {}", self.run);
        let _ = writeln!(s, "point = {}", self.point);
        let _ = writeln!(s, "seed = {}", string(&self.seed.to_string()));
        let _ = writeln!(s, "sets = {}", strings(&self.sets));
        let _ = writeln!(s, "engine_flags = {}", strings(&self.engine_flags));
        let _ = writeln!(s, "engines = {}", strings(&self.engines));
        s
    }

    /// Reads a record written by [`PointRecord::to_toml`].
    pub fn parse(text: &str) -> Result<PointRecord, String> {
        let t: toml::Table = toml::from_str(text).map_err(|e| format!("not valid TOML: {}", e.message()))?;
        let index = |key: &str| number_field(&t, key).map(|n| n as usize);
        Ok(PointRecord {
            ftsim: text_field(&t, "ftsim")?,
            scenario_hash: text_field(&t, "scenario_hash")?,
            run: index("run")?,
            point: index("point")?,
            seed: text_field(&t, "seed")?
                .parse()
                .map_err(|_| "seed: not a whole number".to_string())?,
            sets: list_field(&t, "sets")?,
            engine_flags: list_field(&t, "engine_flags")?,
            engines: list_field(&t, "engines")?,
        })
    }
}
