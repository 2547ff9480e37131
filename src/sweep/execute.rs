//! Runs a sweep's pending runs on a pool of threads, one run per thread at a time (each run's
//! engines one after another), and writes each run's directory as soon as it is done, atomically
//! (a stopped sweep leaves only complete run directories behind). Which thread runs what changes
//! nothing in what is written.

use super::manifest::RunId;
use super::plan::Plan;
use super::point::{POINT_FILE, PointRecord};
use crate::output;
use crate::runner::{self, RunOptions};
use anyhow::{Context, Result};
use ftsim_engines::Registry;
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// Runs every one of `pending` of `plan` on `jobs` threads into `runs_dir/<run>/`; `tick` is
/// called after each. Stops taking new runs at the first error and returns the error of the
/// earliest run that failed.
pub fn run_all(
    plan: &Plan,
    pending: &[RunId],
    runs_dir: &Path,
    registry: &Registry,
    jobs: usize,
    tick: &(dyn Fn() + Sync),
) -> Result<()> {
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let failed: Mutex<Vec<(usize, anyhow::Error)>> = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..jobs.clamp(1, pending.len().max(1)) {
            s.spawn(|| {
                while !stop.load(Ordering::Relaxed) {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(p) = pending.get(i) else { break };
                    match run_one(plan, *p, runs_dir, registry) {
                        Ok(()) => tick(),
                        Err(e) => {
                            stop.store(true, Ordering::Relaxed);
                            if let Ok(mut f) = failed.lock() {
                                f.push((i, e));
                            }
                        }
                    }
                }
            });
        }
    });
    let mut failed = failed.into_inner().unwrap_or_default();
    failed.sort_by_key(|(i, _)| *i);
    match failed.into_iter().next() {
        Some((_, e)) => Err(e),
        None => Ok(()),
    }
}

fn run_one(plan: &Plan, id: RunId, runs_dir: &Path, registry: &Registry) -> Result<()> {
    let opts = RunOptions {
        progress: false,
        threads: Some(1),
    };
    let dir = runs_dir.join(id.dir_name());
    let sc = plan.scenario(id, registry)?;
    let mut record = PointRecord::expected(&plan.manifest, id);
    record.engines = sc.run.engines.clone();
    let results = runner::run_all(&sc, registry, &opts).with_context(|| format!("running {}", dir.display()))?;
    let inv = output::Invocation {
        command: plan.run_command(id, &dir),
        scenario_file: plan.manifest.scenario.clone(),
        scenario_text: plan.text.clone(),
        sets: plan.manifest.point_sets(id.point),
        engines: plan.manifest.engines.clone(),
        seed: Some(id.seed),
    };
    output::write_all_with(&dir, &sc, &results, &inv, &[(POINT_FILE, record.to_toml())])
}
