//! Runs every engine of a scenario over one shared input. Runs are independent, so they go on
//! separate threads (parallelism across runs, never inside one); results are returned in the
//! scenario's engine order whatever the thread timing.

use anyhow::Result;
use ftsim_engines::Registry;
use ftsim_sim::{Prepared, RunReport, Scenario, SimTime};
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use std::time::Instant;

/// How to run.
#[derive(Debug, Clone, Copy, Default)]
pub struct RunOptions {
    /// Show progress bars on stderr.
    pub progress: bool,
    /// Engines run at once (`None`: one per core). A sweep, which runs many scenarios in
    /// parallel, runs each one's engines one after another with `Some(1)`.
    pub threads: Option<usize>,
}

/// One engine's result and how long it took on the wall clock (reported as wall_s only).
pub struct EngineResult {
    /// The report.
    pub report: RunReport,
    /// Wall-clock seconds.
    pub wall_s: f64,
}

/// Runs every engine of `sc` (each one the registry knows: the scenario was loaded with it).
pub fn run_all(sc: &Scenario, registry: &Registry, opts: &RunOptions) -> Result<Vec<EngineResult>> {
    let prepared = Prepared::new(sc);
    let multi = MultiProgress::new();
    let total = (sc.run.duration + sc.run.drain).as_nanos() / 1_000_000;
    let threads = opts
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1);
    let mut jobs = Vec::new();
    for name in &sc.run.engines {
        let engine = registry
            .find(name)
            .ok_or_else(|| anyhow::anyhow!("engine {name} is not in the registry the scenario was loaded with"))?;
        jobs.push(engine);
    }
    let mut results: Vec<Option<EngineResult>> = (0..jobs.len()).map(|_| None).collect();
    for chunk in jobs.chunks(threads).zip(results.chunks_mut(threads)) {
        let (jobs, slots) = chunk;
        std::thread::scope(|s| {
            for (engine, slot) in jobs.iter().zip(slots.iter_mut()) {
                let bar = if opts.progress {
                    let b = multi.add(ProgressBar::new(total));
                    b.set_style(
                        ProgressStyle::with_template("{prefix:>22} [{bar:30}] {pos}/{len} sim-ms {elapsed}")
                            .unwrap_or_else(|_| ProgressStyle::default_bar()),
                    );
                    b.set_prefix(engine.name());
                    Some(b)
                } else {
                    None
                };
                let prepared = &prepared;
                s.spawn(move || {
                    let start = Instant::now();
                    let mut tick = |t: SimTime| {
                        if let Some(b) = &bar {
                            b.set_position(t.0 / 1_000_000);
                        }
                    };
                    let report = engine.run(sc, prepared, &mut tick);
                    if let Some(b) = &bar {
                        b.finish_and_clear();
                    }
                    *slot = Some(EngineResult {
                        report,
                        wall_s: start.elapsed().as_secs_f64(),
                    });
                });
            }
        });
    }
    Ok(results.into_iter().flatten().collect())
}
