//! What the sweep chart plots: `--metric`, a numeric summary column, against the first varied
//! parameter, read as numbers where its values are numbers or durations.

use crate::output::csv::SUMMARY_COLUMNS;
use ftsim_sim::units::parse_duration;

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

/// The summary columns `--metric` may name.
pub fn numeric_columns() -> Vec<&'static str> {
    SUMMARY_COLUMNS
        .iter()
        .copied()
        .filter(|c| !TEXT_COLUMNS.contains(c))
        .collect()
}

/// `--metric`: a numeric summary column.
pub fn parse_metric(s: &str) -> Result<String, String> {
    let allowed = numeric_columns();
    if allowed.contains(&s) {
        Ok(s.to_string())
    } else {
        Err(format!(
            "not a numeric column of summary.csv; allowed: {}",
            allowed.join(", ")
        ))
    }
}

/// The metric's axis label: the column and its unit.
pub fn metric_label(metric: &str) -> String {
    let unit = if metric.ends_with("_ms") {
        "ms"
    } else if metric.ends_with("_s") {
        "s"
    } else if metric.ends_with("_rps") {
        "outputs / s"
    } else if metric.ends_with("bytes") {
        "bytes"
    } else {
        "count"
    };
    format!("{metric} ({unit})")
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
