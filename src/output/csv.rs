//! The CSV files of the output contract (sim/README.md, "Output contract"). Numbers are written with fixed decimals so
//! that the same run gives the same bytes; only `wall_s` may differ between runs.

use crate::runner::EngineResult;
use anyhow::{Context, Result};
use ftsim_sim::{Cell, RunReport, Scenario, SimDuration, Table};
use std::path::Path;

/// The columns of summary.csv, in order.
pub const SUMMARY_COLUMNS: &[&str] = &[
    "scenario",
    "engine",
    "seed",
    "sink",
    "promised",
    "verdict",
    "promise_kept",
    "records_in",
    "expected_out",
    "records_out",
    "lost",
    "duplicated",
    "wrong",
    "throughput_rps",
    "latency_p50_ms",
    "latency_p99_ms",
    "latency_max_ms",
    "failures",
    "detect_s",
    "restore_s",
    "recovery_s",
    "ft_messages",
    "ft_bytes",
    "checkpoint_bytes",
    "messages",
    "bytes",
    "node_seconds",
    "busy_core_s",
    "sim_events",
    "finished",
    "end_s",
    "wall_s",
];

fn f3(x: f64) -> String {
    format!("{x:.3}")
}

fn opt(x: Option<f64>) -> String {
    x.map(f3).unwrap_or_default()
}

fn secs(d: Option<SimDuration>) -> String {
    d.map(|d| f3(d.as_secs_f64())).unwrap_or_default()
}

fn writer(path: &Path) -> Result<csv::Writer<std::fs::File>> {
    csv::Writer::from_path(path).with_context(|| format!("writing {}", path.display()))
}

/// summary.csv: one row per engine.
pub fn write_summary(path: &Path, sc: &Scenario, results: &[EngineResult]) -> Result<()> {
    let mut w = writer(path)?;
    w.write_record(SUMMARY_COLUMNS)?;
    for r in results {
        w.write_record(summary_row(sc, &r.report, r.wall_s))?;
    }
    w.flush()?;
    Ok(())
}

/// The summary values of one engine, in [`SUMMARY_COLUMNS`] order.
pub fn summary_row(sc: &Scenario, r: &RunReport, wall_s: f64) -> Vec<String> {
    let first = r.first_failure;
    let s = &r.stats;
    vec![
        sc.run.name.clone(),
        r.engine.clone(),
        sc.run.seed.to_string(),
        sc.job.sink.name().to_string(),
        r.promised.name().to_string(),
        r.verdict.name().to_string(),
        r.promise_kept.to_string(),
        r.records_in.to_string(),
        r.check.expected.to_string(),
        r.records_out.to_string(),
        r.check.lost.to_string(),
        r.check.duplicated.to_string(),
        r.check.wrong.to_string(),
        f3(r.throughput_rps),
        opt(r.p50_ms),
        opt(r.p99_ms),
        opt(r.max_ms),
        r.failures.len().to_string(),
        secs(first.and_then(|f| f.detect)),
        secs(first.and_then(|f| f.restore)),
        secs(first.and_then(|f| f.recovery)),
        s.ft_messages.to_string(),
        s.ft_bytes.to_string(),
        s.checkpoint_bytes.to_string(),
        s.messages.to_string(),
        s.bytes.to_string(),
        f3(s.node_seconds),
        f3(s.busy_core_seconds()),
        s.sim_events.to_string(),
        s.finished.to_string(),
        f3(s.end.as_secs_f64()),
        f3(wall_s),
    ]
}

/// timeseries.csv.
pub fn write_timeseries(path: &Path, r: &RunReport) -> Result<()> {
    let mut w = writer(path)?;
    w.write_record([
        "t_s",
        "throughput_rps",
        "latency_p50_ms",
        "latency_p99_ms",
        "latency_max_ms",
        "backlog",
    ])?;
    for row in &r.series {
        w.write_record([
            f3(row.t_s),
            f3(row.throughput_rps),
            opt(row.p50_ms),
            opt(row.p99_ms),
            opt(row.max_ms),
            row.backlog.to_string(),
        ])?;
    }
    w.flush()?;
    Ok(())
}

/// events.csv.
pub fn write_events(path: &Path, r: &RunReport) -> Result<()> {
    let mut w = writer(path)?;
    w.write_record(["t_s", "kind", "node", "detail"])?;
    for e in &r.events {
        w.write_record([
            format!("{:.6}", e.t.as_secs_f64()),
            e.kind.clone(),
            e.node.map(|n| n.to_string()).unwrap_or_default(),
            e.detail.clone(),
        ])?;
    }
    w.flush()?;
    Ok(())
}

/// A table cell as text: whole numbers as they are, real numbers with three decimals.
fn cell(c: &Cell) -> String {
    match c {
        Cell::Int(x) => x.to_string(),
        Cell::Num(x) => f3(*x),
        Cell::Text(s) => (*s).to_string(),
        Cell::Empty => String::new(),
    }
}

/// An engine's own table.
pub fn write_table(path: &Path, t: &Table) -> Result<()> {
    let mut w = writer(path)?;
    w.write_record(&t.columns)?;
    for row in &t.rows {
        w.write_record(row.iter().map(cell))?;
    }
    w.flush()?;
    Ok(())
}
