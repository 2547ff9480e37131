//! `ftsim sweep`: checks every point, then runs this shard's runs that its directory does not
//! already hold complete, and writes sweep.csv and the chart from all of them.

use super::error::SweepError;
use super::execute;
use super::files::write_atomic;
use super::manifest::RunId;
use super::metric::Metric;
use super::plan::{self, Request};
use super::point::PointRecord;
use super::report;
use super::runs::read_complete;
use super::spec::{Shard, Vary};
use super::table::RunRows;
use crate::output::safety::{self, SWEEP_MANIFEST, SWEEP_RUNS};
use anyhow::{Context, Result};
use ftsim_engines::Registry;
use indicatif::{ProgressBar, ProgressStyle};
use std::collections::BTreeSet;
use std::io::IsTerminal;
use std::path::PathBuf;

/// What `ftsim sweep` was asked.
#[derive(Debug, Clone)]
pub struct SweepArgs {
    /// The scenario file.
    pub scenario: PathBuf,
    /// `--vary`.
    pub varies: Vec<Vary>,
    /// `--seeds`.
    pub seeds: u64,
    /// `--jobs` (default: one per core).
    pub jobs: Option<usize>,
    /// `--engine`.
    pub engines: Vec<String>,
    /// `--set`.
    pub sets: Vec<String>,
    /// `--metric`.
    pub metric: String,
    /// `--shard` (default: the whole sweep).
    pub shard: Shard,
    /// `--out` (default: results/NAME-sweep).
    pub out: Option<PathBuf>,
    /// `--quiet`.
    pub quiet: bool,
}

/// Runs the sweep; returns the exit status.
pub fn sweep(a: &SweepArgs, registry: &Registry) -> Result<u8> {
    let req = Request {
        scenario: &a.scenario,
        varies: &a.varies,
        seeds: a.seeds,
        sets: &a.sets,
        engines: &a.engines,
        metric: &a.metric,
        shard: a.shard,
    };
    let plan = plan::build(&req, registry)?;
    let m = &plan.manifest;
    check_metric(&plan, registry)?;
    let out = a
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("results").join(format!("{}-sweep", m.name)));
    let target = safety::check_sweep_dir(&out).map_err(|e| SweepError::OutDir {
        flag: "--out",
        path: out.clone(),
        reason: e.to_string(),
    })?;

    // Everything is checked: from here on the directory is written.
    std::fs::create_dir_all(&target).with_context(|| format!("creating {}", target.display()))?;
    safety::remove_scratch(&target)?;
    safety::remove_sweep_files(&target, &[])?;
    write_atomic(&target.join(SWEEP_MANIFEST), m.to_toml().as_bytes())?;
    let runs_dir = target.join(SWEEP_RUNS);
    std::fs::create_dir_all(&runs_dir).with_context(|| format!("creating {}", runs_dir.display()))?;
    let mine = m.shard_runs();
    let done = |id: RunId| read_complete(&runs_dir.join(id.dir_name()), &PointRecord::expected(m, id));
    let pending: Vec<RunId> = mine.iter().copied().filter(|&id| done(id).is_err()).collect();

    let bar = (!a.quiet && std::io::stderr().is_terminal()).then(|| progress_bar(&m.name, pending.len()));
    let jobs = a
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let ran = execute::run_all(&plan, &pending, &runs_dir, registry, jobs, &|| {
        if let Some(b) = &bar {
            b.inc(1);
        }
    });
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    ran?;

    let names: BTreeSet<String> = mine.iter().map(RunId::dir_name).collect();
    for entry in std::fs::read_dir(&runs_dir).with_context(|| format!("reading {}", runs_dir.display()))? {
        let entry = entry.with_context(|| format!("reading {}", runs_dir.display()))?;
        if !names.contains(entry.file_name().to_string_lossy().as_ref()) {
            safety::remove_run(&entry.path())?;
        }
    }
    let runs = mine
        .iter()
        .map(|&id| {
            let rows = done(id).map_err(|why| anyhow::anyhow!("{}: {why}", runs_dir.join(id.dir_name()).display()))?;
            Ok(RunRows { id, rows })
        })
        .collect::<Result<Vec<_>>>()?;
    report::write(&target, m, &runs)?;

    let shard = if m.shard == Shard::WHOLE {
        String::new()
    } else {
        format!(" (shard {}: {} of them here)", m.shard, mine.len())
    };
    println!(
        "{}: {} points × {} seed(s) = {} runs{shard}; ran {}, {} already complete",
        m.name,
        m.points(),
        m.seeds,
        m.runs(),
        pending.len(),
        mine.len() - pending.len()
    );
    print!("{}", report::problems(m, &runs));
    println!("wrote {}", out.display());
    Ok(report::status(&runs))
}

/// Refuses a `--metric ENGINE/TABLE.COLUMN` whose engine the sweep does not run or whose table
/// or column that engine does not write (as built for the first point, before anything runs).
fn check_metric(plan: &plan::Plan, registry: &Registry) -> Result<()> {
    let m = &plan.manifest;
    let metric = Metric::parse(&m.metric).map_err(|e| anyhow::anyhow!("--metric {}: {e}", m.metric))?;
    let Metric::Table(t) = &metric else {
        return Ok(());
    };
    let sc = plan.scenario(m.run(0), registry)?;
    let tables = registry.find(&t.engine).map(|e| e.tables(&sc)).unwrap_or_default();
    metric.check(&m.metric, &sc.run.engines, &tables)?;
    Ok(())
}

fn progress_bar(name: &str, runs: usize) -> ProgressBar {
    let b = ProgressBar::new(runs as u64);
    b.set_style(
        ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} runs, {elapsed} elapsed, ETA {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    b.set_prefix(format!("{name} sweep"));
    b.enable_steady_tick(std::time::Duration::from_millis(500));
    b
}
