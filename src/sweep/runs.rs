//! A run's directory under `runs/`: whether it is complete and holds the expected run, and its
//! summary rows.

use super::point::{POINT_FILE, PointRecord};
use crate::output::csv::SUMMARY_COLUMNS;
use std::path::Path;

/// The summary rows of a complete run directory holding the run `expected` describes (and, if
/// `expected.engines` is not empty, those engines); otherwise why not.
pub fn read_complete(dir: &Path, expected: &PointRecord) -> Result<Vec<Vec<String>>, String> {
    if std::fs::symlink_metadata(dir).is_err() {
        return Err("not there".into());
    }
    let text = std::fs::read_to_string(dir.join(POINT_FILE)).map_err(|_| format!("no readable {POINT_FILE}"))?;
    let record = PointRecord::parse(&text).map_err(|e| format!("{POINT_FILE}: {e}"))?;
    if !record.same_run(expected) || (!expected.engines.is_empty() && record.engines != expected.engines) {
        return Err(format!("{POINT_FILE} names another run"));
    }
    let rows = summary_rows(&dir.join("summary.csv")).ok_or("no readable summary.csv")?;
    let engine = SUMMARY_COLUMNS.iter().position(|c| *c == "engine").unwrap_or(1);
    let engines: Vec<&str> = rows.iter().map(|r| r[engine].as_str()).collect();
    if engines != record.engines {
        return Err("summary.csv does not hold one row per engine".into());
    }
    Ok(rows)
}

/// The rows of a summary.csv whose header is [`SUMMARY_COLUMNS`].
fn summary_rows(path: &Path) -> Option<Vec<Vec<String>>> {
    let mut r = csv::ReaderBuilder::new().has_headers(false).from_path(path).ok()?;
    let mut records = r.records();
    let header = records.next()?.ok()?;
    if !header.iter().eq(SUMMARY_COLUMNS.iter().copied()) {
        return None;
    }
    records
        .map(|rec| {
            let rec = rec.ok()?;
            (rec.len() == SUMMARY_COLUMNS.len()).then(|| rec.iter().map(String::from).collect())
        })
        .collect()
}
