//! `sweep_METRIC.png` and `.svg`: the metric against the first varied parameter, one line per
//! engine (and per combination of the other varied values) through the mean over seeds, a bar
//! from the smallest to the largest value over seeds, a red cross on every run in which the
//! engine broke its promise (at the bottom of the chart when the run has no value), and a hollow
//! circle above the values for every run that has none (for `recovery_s`: a failure from which
//! the engine did not recover within the run).

use super::manifest::Manifest;
use super::metric::{Metric, XAxis, path_unit, x_axis};
use super::table::{RunRows, cell};
use crate::output::charts::{FONT, PALETTE, err, num, png_and_svg};
use anyhow::Result;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;

/// The chart's file name without extension.
pub fn chart_stem(metric: &str) -> String {
    Metric::chart_stem(metric)
}

/// One line: an engine under one combination of the other varied values.
struct Group {
    label: String,
    /// Per value of the first varied parameter: the metric's values over seeds.
    values: Vec<Vec<f64>>,
    /// Per value of the first varied parameter: one entry per broken run, its value if any.
    broken: Vec<Vec<Option<f64>>>,
    /// Per value of the first varied parameter: the runs without a value that are marked.
    missing: Vec<usize>,
}

/// Everything drawn, worked out before drawing.
struct Picture {
    title: String,
    x_label: String,
    y_label: String,
    /// x position of each value of the first varied parameter.
    xs: Vec<f64>,
    /// Category names when the axis is categorical.
    categories: Option<Vec<String>>,
    groups: Vec<Group>,
    x_range: (f64, f64),
    y_range: (f64, f64),
    /// Horizontal distance between neighbouring lines at one x.
    dodge: f64,
    /// Height of the hollow circles of runs without a value, and what they mean.
    missing_at: f64,
    missing_label: &'static str,
}

/// Draws the chart of `metric` (checked by [`Metric::parse`]) for `runs`, whose outputs are in
/// `runs_dir`, into `dir`.
pub fn draw(dir: &Path, m: &Manifest, metric: &str, runs: &[RunRows], runs_dir: &Path) -> Result<()> {
    let parsed = Metric::parse(metric).map_err(|e| anyhow::anyhow!("--metric {metric}: {e}"))?;
    let pic = picture(m, metric, &parsed, runs, runs_dir);
    png_and_svg!(&dir.join(chart_stem(metric)), |root| paint(root, &pic))
}

fn picture(m: &Manifest, text: &str, metric: &Metric, runs: &[RunRows], runs_dir: &Path) -> Picture {
    let first = &m.varies[0];
    let n = first.values.len();
    let axis = x_axis(&first.values);
    let (xs, categories, unit) = match axis {
        XAxis::Numeric { xs, unit } => (xs, None, unit.or_else(|| path_unit(&first.path))),
        XAxis::Categorical => ((0..n).map(|i| i as f64).collect(), Some(first.values.clone()), None),
    };
    let mut groups: Vec<Group> = Vec::new();
    for r in runs {
        let values = m.values(r.id.point);
        let j = first.values.iter().position(|v| v == values[0]).unwrap_or(0);
        let others: Vec<String> = m.varies[1..]
            .iter()
            .zip(&values[1..])
            .map(|(v, x)| format!("{}={x}", v.path))
            .collect();
        let run_dir = runs_dir.join(r.id.dir_name());
        for row in r.rows.iter().filter(|row| metric.applies(cell(row, "engine"))) {
            let engine = cell(row, "engine");
            let label = if others.is_empty() {
                engine.to_string()
            } else {
                format!("{engine}, {}", others.join(", "))
            };
            let g = match groups.iter().position(|g| g.label == label) {
                Some(i) => &mut groups[i],
                None => {
                    groups.push(Group {
                        label,
                        values: vec![Vec::new(); n],
                        broken: vec![Vec::new(); n],
                        missing: vec![0; n],
                    });
                    let last = groups.len() - 1;
                    &mut groups[last]
                }
            };
            let value = metric.value(&run_dir, row);
            match value {
                Some(v) => g.values[j].push(v),
                None if metric.marks_missing(row) => g.missing[j] += 1,
                None => {}
            }
            if cell(row, "promise_kept") == "false" {
                g.broken[j].push(value);
            }
        }
    }
    let all = groups.iter().flat_map(|g| g.values.iter().flatten().copied());
    let (lo, hi) = all.fold((0f64, f64::MIN), |(a, b), v| (a.min(v), b.max(v)));
    let hi = if hi <= lo { lo + 1.0 } else { hi };
    // Runs without a value sit a little above the largest value.
    let any_missing = groups.iter().any(|g| g.missing.iter().any(|&k| k > 0));
    let missing_at = hi + (hi - lo) * 0.06;
    let top = if any_missing { missing_at } else { hi };
    // Room above the data for the legend (a row per line, one for the crosses, one for the
    // hollow circles, of the about 590 pixels of plotting height).
    let rows = groups.len()
        + usize::from(groups.iter().any(|g| g.broken.iter().any(|b| !b.is_empty())))
        + usize::from(any_missing);
    let legend = ((rows * 19 + 16) as f64 / 590.0).min(0.6);
    let y_range = (lo, lo + (top - lo) / (1.0 - legend - 0.05));
    let (x_range, span) = match &categories {
        Some(_) => ((-0.5, n as f64 - 0.5), 1.0),
        None => {
            let (a, b) = xs.iter().fold((f64::MAX, f64::MIN), |(a, b), &x| (a.min(x), b.max(x)));
            let pad = if b > a { (b - a) * 0.05 } else { a.abs().max(1.0) * 0.5 };
            ((a - pad, b + pad), (b - a + 2.0 * pad) / 4.0)
        }
    };
    // Lines side by side around each x (at most a twelfth of a category or of a quarter of the
    // axis in all), so that equal values stay visible.
    let dodge = if groups.len() > 1 {
        span / 12.0 / (groups.len() - 1) as f64
    } else {
        0.0
    };
    let seeds = if m.seeds == 1 {
        "1 seed".to_string()
    } else {
        format!("mean of {} seeds, bars from min to max", m.seeds)
    };
    Picture {
        title: format!("{}: {text} against {} ({seeds})", m.name, first.path),
        x_label: match unit {
            Some(u) => format!("{} ({u})", first.path),
            None => first.path.clone(),
        },
        y_label: metric.label(),
        xs,
        categories,
        groups,
        x_range,
        y_range,
        dodge,
        missing_at,
        missing_label: metric.missing_label(),
    }
}

fn paint<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, pic: &Picture) -> Result<()> {
    let (x0, x1) = pic.x_range;
    let (y0, y1) = pic.y_range;
    let mut chart = ChartBuilder::on(root)
        .caption(&pic.title, (FONT, 22))
        .margin(16)
        .x_label_area_size(50)
        .y_label_area_size(80)
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(err)?;
    let category = |x: &f64| {
        let i = x.round();
        match &pic.categories {
            Some(names) if (x - i).abs() < 1e-6 && i >= 0.0 => names.get(i as usize).cloned().unwrap_or_default(),
            Some(_) => String::new(),
            None => num(*x),
        }
    };
    let mut mesh = chart.configure_mesh();
    mesh.x_desc(&pic.x_label)
        .y_desc(&pic.y_label)
        .x_label_formatter(&category)
        .y_label_formatter(&|y| num(*y))
        .label_style((FONT, 14));
    if let Some(names) = &pic.categories {
        mesh.disable_x_mesh().x_labels(names.len() * 2 + 1);
    }
    mesh.draw().map_err(err)?;
    let shift = |k: usize| (k as f64 - (pic.groups.len() - 1) as f64 / 2.0) * pic.dodge;
    for (k, g) in pic.groups.iter().enumerate() {
        let color = PALETTE[k % PALETTE.len()];
        let mut stats: Vec<(f64, f64, f64, f64)> = g
            .values
            .iter()
            .zip(&pic.xs)
            .filter(|(v, _)| !v.is_empty())
            .map(|(v, &x)| {
                let x = x + shift(k);
                let mean = v.iter().sum::<f64>() / v.len() as f64;
                let (lo, hi) = v.iter().fold((f64::MAX, f64::MIN), |(a, b), &y| (a.min(y), b.max(y)));
                (x, lo, mean, hi)
            })
            .collect();
        stats.sort_by(|a, b| a.0.total_cmp(&b.0));
        let label = if stats.is_empty() {
            format!("{} (no value)", g.label)
        } else {
            g.label.clone()
        };
        chart
            .draw_series(LineSeries::new(stats.iter().map(|s| (s.0, s.2)), color.stroke_width(2)))
            .map_err(err)?
            .label(label)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(3)));
        chart
            .draw_series(
                stats.iter().map(|&(x, lo, mean, hi)| {
                    ErrorBar::new_vertical(x, lo, mean, hi, color.filled().stroke_width(2), 10)
                }),
            )
            .map_err(err)?;
    }
    let hollow: Vec<(f64, RGBColor)> = pic
        .groups
        .iter()
        .enumerate()
        .flat_map(|(k, g)| {
            let color = PALETTE[k % PALETTE.len()];
            g.missing
                .iter()
                .zip(&pic.xs)
                .filter(|(n, _)| **n > 0)
                .map(move |(_, &x)| (x + shift(k), color))
        })
        .collect();
    if !hollow.is_empty() {
        let at = pic.missing_at;
        chart
            .draw_series(
                hollow
                    .iter()
                    .map(|&(x, color)| Circle::new((x, at), 7, color.stroke_width(2))),
            )
            .map_err(err)?
            .label(pic.missing_label)
            .legend(|(x, y)| Circle::new((x + 10, y), 6, BLACK.stroke_width(2)));
    }
    let crosses: Vec<(f64, f64)> = pic
        .groups
        .iter()
        .enumerate()
        .flat_map(|(k, g)| {
            g.broken
                .iter()
                .zip(&pic.xs)
                .flat_map(move |(b, &x)| b.iter().map(move |v| (x + shift(k), v.unwrap_or(y0))))
        })
        .collect();
    if !crosses.is_empty() {
        chart
            .draw_series(crosses.iter().map(|&p| Cross::new(p, 8, RED.stroke_width(3))))
            .map_err(err)?
            .label("promise broken")
            .legend(|(x, y)| Cross::new((x + 10, y), 6, RED.stroke_width(3)));
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font((FONT, 14))
        .position(SeriesLabelPosition::UpperLeft)
        .draw()
        .map_err(err)?;
    Ok(())
}
