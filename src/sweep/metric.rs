//! What the sweep chart plots: `--metric`, either a numeric summary column or `ENGINE/TABLE.COLUMN`
//! (the per-run mean, or with `:max` the largest value, of a column of one engine's table, read
//! from each run's `ENGINE/TABLE.csv`), against the first varied parameter, read as numbers where
//! its values are numbers or durations.

use super::error::SweepError;
use crate::output::csv::SUMMARY_COLUMNS;
use ftsim_sim::units::parse_duration;
use std::path::Path;

/// The summary columns that are not numbers.
const TEXT_COLUMNS: [&str; 7] = [
    "scenario",
    "engine",
    "sink",
    "promised",
    "verdict",
    "promise_kept",
    "finished",
];

/// The summary columns whose value is the instant a failure reached a stage: empty in a run with
/// a failure means the stage was never reached.
const FAILURE_COLUMNS: [&str; 3] = ["detect_s", "restore_s", "recovery_s"];

/// The summary columns `--metric` may name.
pub fn numeric_columns() -> Vec<&'static str> {
    SUMMARY_COLUMNS
        .iter()
        .copied()
        .filter(|c| !TEXT_COLUMNS.contains(c))
        .collect()
}

/// `--metric`: a numeric summary column, or `ENGINE/TABLE.COLUMN` with an optional `:mean` or
/// `:max` (whether the engine writes that table and column is checked against the sweep).
pub fn parse_metric(s: &str) -> Result<String, String> {
    Metric::parse(s).map(|_| s.to_string())
}

/// How a table metric sums up a run's rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Agg {
    /// The mean of the column's numbers.
    Mean,
    /// The largest of them.
    Max,
}

/// A column of an engine's table, summed up per run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableMetric {
    /// The engine whose table it is.
    pub engine: String,
    /// The table: `DIR/ENGINE/TABLE.csv`.
    pub table: String,
    /// The column.
    pub column: String,
    /// Mean or max over the table's rows.
    pub agg: Agg,
}

/// What `--metric` names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Metric {
    /// A numeric summary.csv column.
    Summary(String),
    /// A column of an engine's table.
    Table(TableMetric),
}

impl Metric {
    /// Parses `--metric`.
    pub fn parse(s: &str) -> Result<Metric, String> {
        if numeric_columns().contains(&s) {
            return Ok(Metric::Summary(s.to_string()));
        }
        let Some((engine, rest)) = s.split_once('/') else {
            return Err(format!(
                "not a numeric column of summary.csv nor ENGINE/TABLE.COLUMN[:max]; allowed: {}",
                numeric_columns().join(", ")
            ));
        };
        let (rest, agg) = match rest.rsplit_once(':') {
            Some((rest, "mean")) => (rest, Agg::Mean),
            Some((rest, "max")) => (rest, Agg::Max),
            Some((_, other)) => return Err(format!("unknown summary :{other}; allowed: :mean (the default), :max")),
            None => (rest, Agg::Mean),
        };
        let name = |x: &str| !x.is_empty() && x.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        match rest.split_once('.') {
            Some((table, column)) if name(engine) && name(table) && name(column) => Ok(Metric::Table(TableMetric {
                engine: engine.to_string(),
                table: table.to_string(),
                column: column.to_string(),
                agg,
            })),
            _ => Err("expected ENGINE/TABLE.COLUMN[:max], e.g. flink-abs/checkpoints.duration_s".into()),
        }
    }

    /// The chart's file stem: `sweep_` and the metric with every character but letters, digits
    /// and `_` turned into `_`.
    pub fn chart_stem(text: &str) -> String {
        let safe: String = text
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '_' })
            .collect();
        format!("sweep_{safe}")
    }

    /// Whether the metric has a value for the engine `engine` (a table metric: its own engine's
    /// rows only).
    pub fn applies(&self, engine: &str) -> bool {
        match self {
            Metric::Summary(_) => true,
            Metric::Table(t) => t.engine == engine,
        }
    }

    /// The metric's value for one engine's summary row `row` of the run in `run_dir`.
    pub fn value(&self, run_dir: &Path, row: &[String]) -> Option<f64> {
        let number = |s: &str| s.trim().parse::<f64>().ok().filter(|v| v.is_finite());
        match self {
            Metric::Summary(column) => number(super::table::cell(row, column)),
            Metric::Table(t) => {
                let path = run_dir.join(&t.engine).join(format!("{}.csv", t.table));
                let mut r = csv::Reader::from_path(path).ok()?;
                let i = r.headers().ok()?.iter().position(|c| c == t.column)?;
                let values: Vec<f64> = r
                    .records()
                    .filter_map(|rec| rec.ok()?.get(i).and_then(number))
                    .collect();
                match t.agg {
                    _ if values.is_empty() => None,
                    Agg::Mean => Some(values.iter().sum::<f64>() / values.len() as f64),
                    Agg::Max => values.into_iter().reduce(f64::max),
                }
            }
        }
    }

    /// What a run without a value means, for the chart's legend, if it is worth marking: a
    /// failure stage never reached, or no value at all.
    pub fn missing_label(&self) -> &'static str {
        match self {
            Metric::Summary(c) if c == "recovery_s" => "not recovered within the run",
            Metric::Summary(c) if c == "restore_s" => "not restored within the run",
            Metric::Summary(c) if c == "detect_s" => "not detected within the run",
            _ => "no value",
        }
    }

    /// Whether a run's summary row without a value is marked on the chart: every such row but,
    /// for a failure stage, those of runs that had no failure.
    pub fn marks_missing(&self, row: &[String]) -> bool {
        match self {
            Metric::Summary(c) if FAILURE_COLUMNS.contains(&c.as_str()) => {
                super::table::cell(row, "failures").parse::<u64>().is_ok_and(|n| n > 0)
            }
            _ => true,
        }
    }

    /// The metric's axis label: what it is and its unit.
    pub fn label(&self) -> String {
        match self {
            Metric::Summary(c) => format!("{c} ({})", unit(c)),
            Metric::Table(t) => {
                let agg = match t.agg {
                    Agg::Mean => "mean",
                    Agg::Max => "max",
                };
                format!(
                    "{}/{}.{} ({}, {agg} over the table's rows per run)",
                    t.engine,
                    t.table,
                    t.column,
                    unit(&t.column)
                )
            }
        }
    }

    /// Checks a table metric against the tables its engine writes (`tables`: name and columns)
    /// and the engines that ran (`engines`); `Ok` for a summary column.
    pub fn check(&self, text: &str, engines: &[String], tables: &[(String, Vec<String>)]) -> Result<(), SweepError> {
        let Metric::Table(t) = self else {
            return Ok(());
        };
        let refuse = |message: String| {
            Err(SweepError::Metric {
                metric: text.to_string(),
                message,
            })
        };
        if !engines.contains(&t.engine) {
            return refuse(format!(
                "{} is not among the sweep's engines ({})",
                t.engine,
                engines.join(", ")
            ));
        }
        let list = |tables: &[(String, Vec<String>)]| {
            if tables.is_empty() {
                "none".to_string()
            } else {
                tables
                    .iter()
                    .map(|(name, columns)| format!("{name} ({})", columns.join(", ")))
                    .collect::<Vec<_>>()
                    .join("; ")
            }
        };
        match tables.iter().find(|(name, _)| *name == t.table) {
            None => refuse(format!(
                "{} writes no table {}; its tables: {}",
                t.engine,
                t.table,
                list(tables)
            )),
            Some((_, columns)) if !columns.contains(&t.column) => refuse(format!(
                "{}'s table {} has no column {}; its columns: {}",
                t.engine,
                t.table,
                t.column,
                columns.join(", ")
            )),
            Some(_) => Ok(()),
        }
    }
}

/// The tables of `engine` in the run output `run_dir`: every `ENGINE/NAME.csv` but the
/// time series and the events, with the columns of its header, by name.
pub fn tables_in(run_dir: &Path, engine: &str) -> Vec<(String, Vec<String>)> {
    let Ok(entries) = std::fs::read_dir(run_dir.join(engine)) else {
        return Vec::new();
    };
    let mut tables: Vec<(String, Vec<String>)> = entries
        .filter_map(|e| {
            let path = e.ok()?.path();
            let name = path.file_name()?.to_str()?.strip_suffix(".csv")?.to_string();
            if name == "timeseries" || name == "events" {
                return None;
            }
            let mut r = csv::Reader::from_path(&path).ok()?;
            let columns = r.headers().ok()?.iter().map(String::from).collect();
            Some((name, columns))
        })
        .collect();
    tables.sort();
    tables
}

/// The unit of a column, from its name.
fn unit(column: &str) -> &'static str {
    if column.ends_with("_ms") {
        "ms"
    } else if column.ends_with("_s") {
        "s"
    } else if column.ends_with("_rps") {
        "outputs / s"
    } else if column.ends_with("bytes") {
        "bytes"
    } else {
        "count"
    }
}

/// The unit of a scenario field that takes plain numbers, from its name (`None` where it has no
/// unit or is not one of the common ones).
pub fn path_unit(path: &str) -> Option<&'static str> {
    let field = path.rsplit('.').next().unwrap_or(path);
    Some(match field {
        "rate" => "records / s",
        "slowdown" => "× slower",
        "nodes" => "nodes",
        "cores" => "cores per node",
        "spares" => "nodes",
        "parallelism" => "tasks",
        "partitions" => "partitions",
        "keys" => "keys",
        "record_bytes" | "buffer_size" | "state_bytes_per_key" => "bytes",
        "checkpoint_every" => "batches",
        _ => return None,
    })
}

/// Where the values of the first varied parameter sit on the x axis.
#[derive(Debug, Clone, PartialEq)]
pub enum XAxis {
    /// Every value is a number; `unit` is `s` when they are durations.
    Numeric {
        /// Each value's position.
        xs: Vec<f64>,
        /// Unit of the axis, if any.
        unit: Option<&'static str>,
    },
    /// Some value is not a number: value i sits at i.
    Categorical,
}

/// Reads `values` as plain numbers, or else as durations in seconds, or else as categories.
pub fn x_axis(values: &[String]) -> XAxis {
    let bare = |v: &String| v.trim().trim_matches(['"', '\'']).to_string();
    let plain: Option<Vec<f64>> = values
        .iter()
        .map(|v| bare(v).parse::<f64>().ok().filter(|x| x.is_finite()))
        .collect();
    if let Some(xs) = plain {
        return XAxis::Numeric { xs, unit: None };
    }
    let durations: Option<Vec<f64>> = values
        .iter()
        .map(|v| parse_duration(&bare(v)).ok().map(|d| d.as_secs_f64()))
        .collect();
    match durations {
        Some(xs) => XAxis::Numeric { xs, unit: Some("s") },
        None => XAxis::Categorical,
    }
}
