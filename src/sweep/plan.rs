//! The plan of a sweep: every point's scenario loaded and checked before anything runs (a value
//! the scenario refuses is refused here, naming the `--vary` or the point), and the manifest.
//! Each run's scenario is loaded again when it runs, so that only the text is held.

use super::error::SweepError;
use super::manifest::{MAX_RUNS, Manifest, RunId, text_hash};
use super::spec::{Shard, Vary};
use ftsim_engines::Registry;
use ftsim_sim::scenario::{EngineOrigin, Overrides};
use ftsim_sim::{Scenario, ScenarioError};
use std::path::{Path, PathBuf};

/// What the command line asks a sweep to run.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    /// The scenario file.
    pub scenario: &'a Path,
    /// `--vary` arguments.
    pub varies: &'a [Vary],
    /// `--seeds`.
    pub seeds: u64,
    /// `--set` arguments.
    pub sets: &'a [String],
    /// `--engine` arguments.
    pub engines: &'a [String],
    /// `--metric`.
    pub metric: &'a str,
    /// `--shard`.
    pub shard: Shard,
}

/// A checked sweep: its manifest and the scenario text every point was loaded from.
pub struct Plan {
    /// What the sweep is.
    pub manifest: Manifest,
    /// The scenario file.
    pub path: PathBuf,
    /// Its text, read once (the text the manifest's hash is of).
    pub text: String,
}

impl Plan {
    /// The scenario of run `id`, loaded as `ftsim run SCENARIO --set ... --seed SEED [--engine
    /// ...]` loads it, with the point's overrides.
    pub fn scenario(&self, id: RunId, registry: &Registry) -> Result<Scenario, ScenarioError> {
        let over = Overrides {
            sets: self.manifest.point_sets(id.point),
            engines: self.manifest.engines.clone(),
            seed: Some(id.seed),
        };
        Scenario::from_str(&self.path, &self.text, &over, registry)
    }

    /// The `ftsim run` command that makes run `id` alone into `out`, shell-quoted.
    pub fn run_command(&self, id: RunId, out: &std::path::Path) -> String {
        let mut args = vec!["ftsim".to_string(), "run".into(), self.manifest.scenario.clone()];
        for s in self.manifest.point_sets(id.point) {
            args.extend(["--set".into(), s]);
        }
        for e in &self.manifest.engines {
            args.extend(["--engine".into(), e.clone()]);
        }
        args.extend([
            "--seed".into(),
            id.seed.to_string(),
            "--out".into(),
            out.display().to_string(),
        ]);
        crate::output::report::shell_command(&args)
    }
}

/// Loads every point of the sweep `req` asks for, or says what is wrong.
pub fn build(req: &Request<'_>, registry: &Registry) -> Result<Plan, anyhow::Error> {
    for (i, v) in req.varies.iter().enumerate() {
        if req.varies[..i].iter().any(|w| w.path == v.path) {
            return Err(SweepError::VariedTwice { path: v.path.clone() }.into());
        }
    }
    let points: u128 = req.varies.iter().map(|v| v.values.len() as u128).product();
    let runs = points.saturating_mul(u128::from(req.seeds));
    if runs > MAX_RUNS as u128 {
        return Err(SweepError::TooManyRuns { runs, max: MAX_RUNS }.into());
    }
    let text = std::fs::read_to_string(req.scenario).map_err(|e| ScenarioError::Io {
        file: req.scenario.to_path_buf(),
        reason: e.to_string(),
    })?;
    let mut manifest = Manifest {
        ftsim: env!("CARGO_PKG_VERSION").to_string(),
        scenario: req.scenario.display().to_string(),
        scenario_hash: text_hash(text.as_bytes()),
        name: String::new(),
        sets: req.sets.to_vec(),
        engines: req.engines.to_vec(),
        varies: req.varies.to_vec(),
        seeds: req.seeds,
        base_seeds: Vec::new(),
        metric: req.metric.to_string(),
        shard: req.shard,
    };
    for p in 0..points as usize {
        let over = Overrides {
            sets: manifest.point_sets(p),
            engines: req.engines.to_vec(),
            seed: None,
        };
        let sc = Scenario::from_str(req.scenario, &text, &over, registry).map_err(|e| blame(&manifest, p, e))?;
        if sc.run.seed.checked_add(req.seeds - 1).is_none() {
            return Err(SweepError::SeedRange {
                seeds: req.seeds,
                point: p,
                base: sc.run.seed,
            }
            .into());
        }
        if p == 0 {
            manifest.name = sc.run.name.clone();
        }
        manifest.base_seeds.push(sc.run.seed);
    }
    Ok(Plan {
        manifest,
        path: req.scenario.to_path_buf(),
        text,
    })
}

/// Names the source of a point's load error: the `--vary` whose value it is about, the `--set`
/// (unchanged), or else the point and its values.
fn blame(m: &Manifest, p: usize, e: ScenarioError) -> anyhow::Error {
    let arg = match &e {
        ScenarioError::Set { arg, .. } | ScenarioError::SetField { arg, .. } => Some(arg.clone()),
        _ => None,
    };
    let from_vary = arg.and_then(|arg| {
        let (path, value) = arg.split_once('=')?;
        let v = m.varies.iter().find(|v| v.path == path.trim())?;
        let value = v.values.iter().find(|x| *x == value.trim())?;
        Some((v, value))
    });
    let flag = |origin: &EngineOrigin| *origin == EngineOrigin::Flag;
    match (from_vary, &e) {
        (Some((v, value)), ScenarioError::Set { message, .. }) => SweepError::Vary {
            vary: v.to_string(),
            message: format!("value {value}: {message}"),
        }
        .into(),
        (Some((v, value)), ScenarioError::SetField { field, message, .. }) => SweepError::Vary {
            vary: v.to_string(),
            message: format!("value {value}: {field}: {message}"),
        }
        .into(),
        (None, ScenarioError::Set { .. } | ScenarioError::SetField { .. })
        | (_, ScenarioError::Io { .. } | ScenarioError::Syntax { .. }) => e.into(),
        (_, ScenarioError::UnknownEngine { origin, .. } | ScenarioError::DuplicateEngine { origin, .. })
            if flag(origin) =>
        {
            e.into()
        }
        _ => SweepError::Point {
            point: p,
            values: m.describe(p),
            reason: Box::new(e),
        }
        .into(),
    }
}
