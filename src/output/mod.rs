//! Writing a run's output directory: summary.csv, per-engine timeseries/events/tables, charts.
//!
//! The directory is written completely or not at all: everything goes to a temporary sibling
//! directory which is renamed into place at the end. An existing directory is replaced only if it
//! is an earlier ftsim output (it holds a summary.csv), so a mistyped `--out` never wipes files.

pub mod charts;
pub mod console;
pub mod csv;

use crate::runner::EngineResult;
use anyhow::{Context, Result};
use ftsim_sim::Scenario;
use std::path::{Path, PathBuf};

/// Checks up front that `out` can be written, so that no run is wasted on a bad path.
pub fn check_out_dir(out: &Path) -> Result<(), String> {
    if out.exists() {
        if !out.is_dir() {
            return Err("exists and is not a directory".into());
        }
        let empty = std::fs::read_dir(out).map(|mut d| d.next().is_none()).unwrap_or(false);
        if !empty && !out.join("summary.csv").exists() {
            return Err("exists and is not an ftsim output directory (no summary.csv): choose another path".into());
        }
    }
    let parent = parent_of(out);
    if parent.exists() && !parent.is_dir() {
        return Err(format!("{} is not a directory", parent.display()));
    }
    Ok(())
}

fn parent_of(out: &Path) -> PathBuf {
    match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Writes every output file of a run into `out`, atomically.
pub fn write_all(out: &Path, sc: &Scenario, results: &[EngineResult]) -> Result<()> {
    let parent = parent_of(out);
    std::fs::create_dir_all(&parent).with_context(|| format!("creating {}", parent.display()))?;
    let name = out
        .file_name()
        .map_or("out".into(), |n| n.to_string_lossy().into_owned());
    let tmp = parent.join(format!(".{name}.tmp-{}", std::process::id()));
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp).with_context(|| format!("removing {}", tmp.display()))?;
    }
    let written = write_into(&tmp, sc, results);
    if let Err(e) = written {
        let _ = std::fs::remove_dir_all(&tmp);
        return Err(e);
    }
    if out.exists() {
        std::fs::remove_dir_all(out).with_context(|| format!("replacing {}", out.display()))?;
    }
    std::fs::rename(&tmp, out).with_context(|| format!("moving output into {}", out.display()))?;
    Ok(())
}

fn write_into(dir: &Path, sc: &Scenario, results: &[EngineResult]) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    csv::write_summary(&dir.join("summary.csv"), sc, results)?;
    for r in results {
        let edir = dir.join(&r.report.engine);
        std::fs::create_dir_all(&edir).with_context(|| format!("creating {}", edir.display()))?;
        csv::write_timeseries(&edir.join("timeseries.csv"), &r.report)?;
        csv::write_events(&edir.join("events.csv"), &r.report)?;
        for t in &r.report.tables {
            csv::write_table(&edir.join(format!("{}.csv", t.name)), t)?;
        }
        charts::engine_charts(&edir, sc, &r.report)?;
    }
    charts::comparison_charts(dir, sc, results)?;
    Ok(())
}
