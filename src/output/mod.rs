//! Writing a run's output directory: summary.csv, per-engine timeseries/events/tables, charts and
//! report.html, the page that shows them all.
//!
//! The directory is written completely or not at all: everything goes to a temporary sibling
//! directory which is renamed into place at the end. What may be written and replaced is decided
//! in [`safety`]: an existing directory is replaced only if it is an earlier ftsim output, so a
//! mistyped `--out` never wipes files.

pub mod charts;
pub mod console;
pub mod cost_recovery;
pub mod csv;
pub mod report;
pub mod safety;

use crate::runner::EngineResult;
use anyhow::{Context, Result};
use ftsim_sim::Scenario;
pub use report::run::Invocation;
use std::path::Path;

/// Writes every output file of a run into `out`, atomically; `inv` is what report.html tells of
/// how the run was asked for.
pub fn write_all(out: &Path, sc: &Scenario, results: &[EngineResult], inv: &Invocation) -> Result<()> {
    write_all_with(out, sc, results, inv, &[])
}

/// [`write_all`], with `extra` files (name, contents) written beside summary.csv in the same
/// atomic step: a sweep's `point.toml` ([`safety`] lists the names an output may hold).
pub fn write_all_with(
    out: &Path,
    sc: &Scenario,
    results: &[EngineResult],
    inv: &Invocation,
    extra: &[(&str, String)],
) -> Result<()> {
    let parent = out.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    let tmp = safety::free_sibling(out, "tmp")?;
    std::fs::create_dir(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
    let written = write_into(&tmp, sc, results, inv).and_then(|()| {
        for (name, text) in extra {
            let path = tmp.join(name);
            std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
        }
        Ok(())
    });
    if let Err(e) = written {
        let _ = std::fs::remove_dir_all(&tmp);
        return Err(e);
    }
    let replaced = safety::replace(&tmp, out);
    if replaced.is_err() {
        let _ = std::fs::remove_dir_all(&tmp);
    }
    replaced
}

fn write_into(dir: &Path, sc: &Scenario, results: &[EngineResult], inv: &Invocation) -> Result<()> {
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
    cost_recovery::write(dir, sc, results)?;
    report::run::write(dir, sc, results, inv)?;
    Ok(())
}
