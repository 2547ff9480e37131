//! `ftsim merge`: combines the directories of a sweep's shards into one sweep directory, the one
//! the sweep run whole would have written (its runs copied, sweep.csv and the chart written from
//! them). Refused before anything is written: directories that are not sweeps or belong to
//! different sweeps, a run claimed by two shards, and runs no directory holds complete.

use super::error::SweepError;
use super::files::{copy_dir, write_atomic};
use super::manifest::{Manifest, RunId};
use super::metric::{Metric, tables_in};
use super::point::PointRecord;
use super::report;
use super::runs::read_complete;
use super::spec::Shard;
use super::table::{RunRows, cell};
use crate::output::safety::{self, SWEEP_MANIFEST, SWEEP_RUNS};
use anyhow::{Context, Result};
use std::path::{Path, PathBuf};

/// How many missing runs a refusal lists by name.
const LISTED: usize = 8;

/// Merges the shard directories `dirs` into `out` (default: results/NAME-sweep), charting
/// `metric` (default: the shards'); returns the exit status, as the sweep's.
pub fn merge(dirs: &[PathBuf], out: Option<&Path>, metric: Option<&str>) -> Result<u8> {
    let shards = dirs
        .iter()
        .map(|d| Ok((d.clone(), read_manifest(d)?)))
        .collect::<Result<Vec<_>, SweepError>>()?;
    let Some((first_dir, first)) = shards.first() else {
        anyhow::bail!("no directory to merge");
    };
    for (dir, m) in &shards[1..] {
        if let Some((what, a, b)) = first.difference(m) {
            return Err(SweepError::DifferentSweeps {
                first: first_dir.clone(),
                second: dir.clone(),
                what,
                a,
                b,
            }
            .into());
        }
    }
    let owners = owners(first, &shards)?;
    let mut runs = Vec::new();
    let mut missing = Vec::new();
    for (i, owner) in owners.iter().enumerate() {
        let id = first.run(i);
        let Some(k) = *owner else {
            let n = first.shard.count;
            missing.push((id, format!("in shard {}/{n}, not given", i % n)));
            continue;
        };
        let dir = shards[k].0.join(SWEEP_RUNS).join(id.dir_name());
        match read_complete(&dir, &PointRecord::expected(first, id)) {
            Ok(rows) => runs.push((RunRows { id, rows }, dir)),
            Err(why) => missing.push((id, format!("{}: {why}", dir.display()))),
        }
    }
    if !missing.is_empty() {
        return Err(missing_error(first, &missing).into());
    }

    let mut merged = first.clone();
    merged.shard = Shard::WHOLE;
    if let Some(metric) = metric {
        merged.metric = metric.to_string();
    }
    check_metric(&merged.metric, &runs)?;
    let out = out.map_or_else(
        || PathBuf::from("results").join(format!("{}-sweep", merged.name)),
        Path::to_path_buf,
    );
    let out_error = |reason: String| SweepError::OutDir {
        flag: "--out",
        path: out.clone(),
        reason,
    };
    let target = safety::check_sweep_dir(&out).map_err(|e| out_error(e.to_string()))?;
    for (dir, _) in &shards {
        let dir = safety::resolved(dir).map_err(|e| out_error(e.to_string()))?;
        if target.starts_with(&dir) || dir.starts_with(&target) {
            return Err(out_error(format!(
                "is, holds or lies inside the shard directory {}; give the merged sweep a folder of its own",
                dir.display()
            ))
            .into());
        }
    }

    let parent = target.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    let tmp = safety::free_sibling(&target, "tmp")?;
    let rows: Vec<RunRows> = runs.iter().map(|(r, _)| r.clone()).collect();
    let written = (|| {
        std::fs::create_dir(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
        write_atomic(&tmp.join(SWEEP_MANIFEST), merged.to_toml().as_bytes())?;
        let runs_dir = tmp.join(SWEEP_RUNS);
        std::fs::create_dir(&runs_dir).with_context(|| format!("creating {}", runs_dir.display()))?;
        for (r, from) in &runs {
            copy_dir(from, &runs_dir.join(r.id.dir_name()))?;
        }
        report::write(&tmp, &merged, &rows)?;
        safety::replace_sweep(&tmp, &target)
    })();
    if written.is_err() {
        let _ = std::fs::remove_dir_all(&tmp);
    }
    written?;
    println!(
        "{}: merged {} shard(s): {} points × {} seed(s) = {} runs",
        merged.name,
        shards.len(),
        merged.points(),
        merged.seeds,
        merged.runs()
    );
    print!("{}", report::problems(&merged, &rows));
    println!("wrote {}", out.display());
    Ok(report::status(&rows))
}

/// Refuses a `--metric ENGINE/TABLE.COLUMN` naming an engine the runs do not have, or a table or
/// column the first run's output of that engine does not hold.
fn check_metric(text: &str, runs: &[(RunRows, PathBuf)]) -> Result<()> {
    let metric = Metric::parse(text).map_err(|e| anyhow::anyhow!("--metric {text}: {e}"))?;
    let (Metric::Table(t), Some((first, dir))) = (&metric, runs.first()) else {
        return Ok(());
    };
    let engines: Vec<String> = first.rows.iter().map(|r| cell(r, "engine").to_string()).collect();
    metric.check(text, &engines, &tables_in(dir, &t.engine))?;
    Ok(())
}

fn read_manifest(dir: &Path) -> Result<Manifest, SweepError> {
    let not = |reason: String| SweepError::NotASweep {
        dir: dir.to_path_buf(),
        reason,
    };
    let text = std::fs::read_to_string(dir.join(SWEEP_MANIFEST)).map_err(|_| {
        not(format!(
            "no readable {SWEEP_MANIFEST}: not a directory that ftsim sweep wrote"
        ))
    })?;
    Manifest::parse(&text).map_err(|e| not(format!("{SWEEP_MANIFEST}: {e}")))
}

/// For each run of the sweep, the shard (index into `shards`) that claims it; a run claimed
/// twice is refused.
fn owners(m: &Manifest, shards: &[(PathBuf, Manifest)]) -> Result<Vec<Option<usize>>, SweepError> {
    let mut owner: Vec<Option<usize>> = vec![None; m.runs()];
    for (k, (dir, s)) in shards.iter().enumerate() {
        for (i, slot) in owner.iter_mut().enumerate().filter(|(i, _)| s.shard.holds(*i)) {
            if let Some(j) = *slot {
                let id = m.run(i);
                let named = |d: &Path, m: &Manifest| format!("{} (shard {})", d.display(), m.shard);
                return Err(SweepError::Overlap {
                    first: named(&shards[j].0, &shards[j].1),
                    second: named(dir, s),
                    run: i,
                    what: describe(m, id),
                });
            }
            *slot = Some(k);
        }
    }
    Ok(owner)
}

fn describe(m: &Manifest, id: RunId) -> String {
    format!("point {} ({}) seed {}", id.point, m.describe(id.point), id.seed)
}

fn missing_error(m: &Manifest, missing: &[(RunId, String)]) -> SweepError {
    let mut list: Vec<String> = missing
        .iter()
        .take(LISTED)
        .map(|(id, why)| format!("{} ({why})", describe(m, *id)))
        .collect();
    if missing.len() > LISTED {
        list.push(format!("and {} more", missing.len() - LISTED));
    }
    SweepError::Missing {
        count: missing.len(),
        list: list.join("; "),
    }
}
