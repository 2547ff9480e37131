//! `sweep.csv`: one row per run and engine, in sweep order (point, then seed, then the engines
//! in the scenario's order): the point's index, one column per varied path with its value, then
//! the run's summary.csv row.

use super::manifest::{Manifest, RunId};
use crate::output::csv::SUMMARY_COLUMNS;
use anyhow::Result;

/// A complete run and its summary rows (one per engine).
#[derive(Debug, Clone)]
pub struct RunRows {
    /// The run.
    pub id: RunId,
    /// Its summary.csv rows, in [`SUMMARY_COLUMNS`] order.
    pub rows: Vec<Vec<String>>,
}

/// The header of sweep.csv.
pub fn header(m: &Manifest) -> Vec<String> {
    std::iter::once("point".to_string())
        .chain(m.varies.iter().map(|v| v.path.clone()))
        .chain(SUMMARY_COLUMNS.iter().map(|c| c.to_string()))
        .collect()
}

/// sweep.csv's bytes for `runs` (already in sweep order).
pub fn to_csv(m: &Manifest, runs: &[RunRows]) -> Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(header(m))?;
    for r in runs {
        let point = r.id.point.to_string();
        let values = m.values(r.id.point);
        for row in &r.rows {
            let fields = std::iter::once(point.as_str())
                .chain(values.iter().copied())
                .chain(row.iter().map(String::as_str));
            w.write_record(fields)?;
        }
    }
    w.into_inner().map_err(|e| anyhow::anyhow!("writing sweep.csv: {e}"))
}

/// The value of summary column `column` in `row`.
pub fn cell<'a>(row: &'a [String], column: &str) -> &'a str {
    SUMMARY_COLUMNS
        .iter()
        .position(|c| *c == column)
        .and_then(|i| row.get(i))
        .map_or("", String::as_str)
}
