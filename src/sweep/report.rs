//! The end of a sweep or a merge: sweep.csv and the chart written from the complete runs, the
//! lines printed about broken promises and unfinished runs, and the exit status.

use super::chart::{self, chart_stem};
use super::files::write_atomic;
use super::manifest::Manifest;
use super::table::{RunRows, cell, to_csv};
use crate::cli::{EXIT_BROKEN, EXIT_UNFINISHED};
use crate::output::safety::{SWEEP_RUNS, SWEEP_TABLE, remove_sweep_files};
use anyhow::Result;
use std::fmt::Write;
use std::path::Path;

/// Writes sweep.csv and the chart of `m.metric` into `dir` and removes the charts of other
/// metrics.
pub fn write(dir: &Path, m: &Manifest, runs: &[RunRows]) -> Result<()> {
    write_atomic(&dir.join(SWEEP_TABLE), &to_csv(m, runs)?)?;
    chart::draw(dir, m, &m.metric, runs, &dir.join(SWEEP_RUNS))?;
    super::page::write(dir, m, runs)?;
    let stem = chart_stem(&m.metric);
    let (png, svg) = (format!("{stem}.png"), format!("{stem}.svg"));
    remove_sweep_files(dir, &[SWEEP_TABLE, super::page::PAGE, &png, &svg])
}

/// One line per engine run that broke its promise or did not finish.
pub fn problems(m: &Manifest, runs: &[RunRows]) -> String {
    let mut s = String::new();
    for r in runs {
        for row in &r.rows {
            let what = format!(
                "point {} ({}) seed {}: {}",
                r.id.point,
                m.describe(r.id.point),
                r.id.seed,
                cell(row, "engine")
            );
            if cell(row, "promise_kept") == "false" {
                let _ = writeln!(
                    s,
                    "broken: {what} promised {}, verdict {}",
                    cell(row, "promised"),
                    cell(row, "verdict")
                );
            } else if cell(row, "finished") == "false" {
                let _ = writeln!(s, "not finished: {what} did not finish within run.drain");
            }
        }
    }
    s
}

/// 0 when every engine of every run finished and kept its promise; [`EXIT_BROKEN`] when one
/// broke it; otherwise [`EXIT_UNFINISHED`] when one did not finish.
pub fn status(runs: &[RunRows]) -> u8 {
    let rows = || runs.iter().flat_map(|r| &r.rows);
    if rows().any(|r| cell(r, "promise_kept") == "false") {
        EXIT_BROKEN
    } else if rows().any(|r| cell(r, "finished") == "false") {
        EXIT_UNFINISHED
    } else {
        0
    }
}
