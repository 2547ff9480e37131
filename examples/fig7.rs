//! D-Streams (SOSP'13) Fig. 7 from `ftsim sweep` results: recovery time against the load before a
//! failure, for upstream backup and parallel recovery on N nodes, the simulated points beside the
//! paper's analytic model. Used by scripts/experiments/fig7.sh.
//!
//! ```text
//! cargo run --release --example fig7 -- --per-node RECORDS_PER_S --out DIR N=SWEEP_DIR...
//! ```
//!
//! Each SWEEP_DIR is an `ftsim sweep --vary workload.rate=...` on N nodes; the load of a run is
//! its rate over N × RECORDS_PER_S (what one node's cores process per second). Writes
//! `DIR/fig7.png`, `DIR/fig7.svg` and `DIR/fig7.csv` (one row per simulated run, with the model's
//! prediction), and prints the table.

use anyhow::{Context, Result, anyhow, bail};
use plotters::prelude::*;
use plotters::style::FontStyle;
use std::path::{Path, PathBuf};

const FONT: &str = "sans-serif";
/// The model's time since the last checkpoint: one minute.
const SPAN_MIN: f64 = 1.0;
/// What scenarios/experiments/fig7-*.toml set, for the model adjusted to them: the time from the
/// checkpoint to the crash, the detection delay and the spare's start (upstream backup), seconds.
const SPAN_S: f64 = 59.99;
const DETECT_S: f64 = 2.0;
const SPARE_S: f64 = 1.0;
/// The y axis (minutes, log scale) and where runs that did not recover are drawn.
const Y_MIN: f64 = 0.02;
const Y_MAX: f64 = 60.0;
const NOT_RECOVERED_AT: f64 = 40.0;

/// Upstream backup: one idle node replays the minute since the checkpoint while new input keeps
/// arriving at load λ.
fn upstream(load: f64) -> Option<f64> {
    (load < 1.0).then(|| SPAN_MIN * load / (1.0 - load))
}

/// Parallel recovery on N nodes, as the paper gives it: (λ/N) / (1 − λ·N/(N − 1)) minutes.
fn parallel(load: f64, n: f64) -> Option<f64> {
    let rest = 1.0 - load * n / (n - 1.0);
    (rest > 0.0).then(|| SPAN_MIN * (load / n) / rest)
}

/// The model with ftsim's delays, in minutes. Upstream backup: the spare starts after detection
/// and its start, and the input of that outage joins the replay. Parallel recovery: until the
/// crash is detected every batch's shuffle waits for the dead node, so the whole cluster's input
/// of those seconds joins the lost work, and the N − 1 survivors drain it at their spare capacity.
fn adjusted(engine: &str, load: f64, n: f64) -> Option<f64> {
    if engine == "upstream-backup" {
        let outage = DETECT_S + SPARE_S;
        (load < 1.0).then(|| (outage + (SPAN_S + outage) * load / (1.0 - load)) / 60.0)
    } else {
        let spare = (n - 1.0) - load * n;
        (spare > 0.0).then(|| (DETECT_S + load * (SPAN_S + n * DETECT_S) / spare) / 60.0)
    }
}

/// One engine's run at one load.
struct Point {
    engine: String,
    nodes: u32,
    rate: f64,
    load: f64,
    recovery_s: Option<f64>,
    restore_s: Option<f64>,
    finished: bool,
    promise_kept: bool,
}

impl Point {
    fn model_min(&self) -> Option<f64> {
        if self.engine == "upstream-backup" {
            upstream(self.load)
        } else {
            parallel(self.load, f64::from(self.nodes))
        }
    }
    fn adjusted_min(&self) -> Option<f64> {
        adjusted(&self.engine, self.load, f64::from(self.nodes))
    }
}

struct Args {
    per_node: f64,
    out: PathBuf,
    sweeps: Vec<(u32, PathBuf)>,
}

fn args() -> Result<Args> {
    let mut per_node = None;
    let mut out = None;
    let mut sweeps = Vec::new();
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--per-node" => per_node = Some(it.next().context("--per-node RECORDS_PER_S")?.parse()?),
            "--out" => out = Some(PathBuf::from(it.next().context("--out DIR")?)),
            _ => {
                let (n, dir) = a
                    .split_once('=')
                    .with_context(|| format!("{a}: expected N=SWEEP_DIR"))?;
                sweeps.push((n.parse().with_context(|| format!("{a}: N"))?, PathBuf::from(dir)));
            }
        }
    }
    match (per_node, out) {
        (Some(per_node), Some(out)) if !sweeps.is_empty() => Ok(Args { per_node, out, sweeps }),
        _ => bail!("usage: fig7 --per-node RECORDS_PER_S --out DIR N=SWEEP_DIR..."),
    }
}

fn read(nodes: u32, dir: &Path, per_node: f64) -> Result<Vec<Point>> {
    let path = dir.join("sweep.csv");
    let mut r = csv::Reader::from_path(&path).with_context(|| format!("reading {}", path.display()))?;
    let header = r.headers()?.clone();
    let col = |name: &str| {
        header
            .iter()
            .position(|c| c == name)
            .ok_or_else(|| anyhow!("{}: no column {name}", path.display()))
    };
    let (rate, engine, recovery, restore, finished, kept) = (
        col("workload.rate")?,
        col("engine")?,
        col("recovery_s")?,
        col("restore_s")?,
        col("finished")?,
        col("promise_kept")?,
    );
    let mut points = Vec::new();
    for rec in r.records() {
        let rec = rec?;
        let number = |i: usize| rec[i].parse::<f64>().ok();
        let rate = number(rate).with_context(|| format!("{}: workload.rate", path.display()))?;
        points.push(Point {
            engine: rec[engine].to_string(),
            nodes,
            rate,
            load: rate / (f64::from(nodes) * per_node),
            recovery_s: number(recovery),
            restore_s: number(restore),
            finished: &rec[finished] == "true",
            promise_kept: &rec[kept] == "true",
        });
    }
    Ok(points)
}

fn fmt(x: Option<f64>, digits: usize) -> String {
    x.map(|v| format!("{v:.digits$}")).unwrap_or_default()
}

fn write_csv(path: &Path, points: &[Point]) -> Result<()> {
    let mut w = csv::Writer::from_path(path).with_context(|| format!("writing {}", path.display()))?;
    w.write_record([
        "engine",
        "nodes",
        "rate",
        "load",
        "restore_s",
        "recovery_s",
        "recovery_min",
        "model_min",
        "adjusted_model_min",
        "finished",
        "promise_kept",
    ])?;
    for p in points {
        w.write_record([
            p.engine.clone(),
            p.nodes.to_string(),
            format!("{}", p.rate),
            format!("{:.3}", p.load),
            fmt(p.restore_s, 3),
            fmt(p.recovery_s, 3),
            fmt(p.recovery_s.map(|s| s / 60.0), 3),
            fmt(p.model_min(), 3),
            fmt(p.adjusted_min(), 3),
            p.finished.to_string(),
            p.promise_kept.to_string(),
        ])?;
    }
    w.flush()?;
    Ok(())
}

const COLORS: [RGBColor; 3] = [RGBColor(31, 119, 180), RGBColor(255, 127, 14), RGBColor(44, 160, 44)];

fn paint<DB: DrawingBackend>(root: &DrawingArea<DB, plotters::coord::Shift>, points: &[Point], ns: &[u32]) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let e = |e: DrawingAreaErrorKind<DB::ErrorType>| anyhow!("drawing fig7: {e}");
    root.fill(&WHITE).map_err(e)?;
    let mut chart = ChartBuilder::on(root)
        .caption(
            "Recovery time against load, checkpoint 1 min old (D-Streams SOSP'13 Fig. 7): model (lines) and ftsim (markers)",
            (FONT, 20),
        )
        .margin(16)
        .x_label_area_size(50)
        .y_label_area_size(70)
        .build_cartesian_2d(0f64..1f64, (Y_MIN..Y_MAX).log_scale())
        .map_err(e)?;
    chart
        .configure_mesh()
        .x_desc("load before the failure λ (fraction of the cluster's CPU)")
        .y_desc("recovery time (min, log scale)")
        .x_label_formatter(&|x| format!("{x:.1}"))
        .y_label_formatter(&|y| format!("{y}"))
        .label_style((FONT, 14))
        .draw()
        .map_err(e)?;
    let grid: Vec<f64> = (0..=1000).map(|i| f64::from(i) / 1000.0).collect();
    let curve = |f: &dyn Fn(f64) -> Option<f64>| -> Vec<(f64, f64)> {
        grid.iter()
            .filter_map(|&l| f(l).map(|y| (l, y)))
            .take_while(|p| p.1 <= Y_MAX)
            .filter(|p| p.1 >= Y_MIN)
            .collect()
    };
    chart
        .draw_series(LineSeries::new(curve(&upstream), BLACK.stroke_width(2)))
        .map_err(e)?
        .label("model, upstream backup: λ/(1−λ)")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLACK.stroke_width(2)));
    for (k, &n) in ns.iter().enumerate() {
        let color = COLORS[k % COLORS.len()];
        let nf = f64::from(n);
        chart
            .draw_series(DashedLineSeries::new(
                curve(&|l| parallel(l, nf)),
                8,
                5,
                color.stroke_width(2),
            ))
            .map_err(e)?
            .label(format!("model, parallel recovery, N = {n}: (λ/N)/(1−λN/(N−1))"))
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2)));
    }
    let minutes = |p: &Point| p.recovery_s.map(|s| (s / 60.0).max(Y_MIN));
    for (k, &n) in ns.iter().enumerate() {
        let color = COLORS[k % COLORS.len()];
        for engine in ["upstream-backup", "dstream"] {
            let mine: Vec<&Point> = points.iter().filter(|p| p.nodes == n && p.engine == engine).collect();
            let at: Vec<(f64, f64)> = mine.iter().filter_map(|p| Some((p.load, minutes(p)?))).collect();
            let label = format!("ftsim {engine}, N = {n}");
            if engine == "upstream-backup" {
                // The three N's points nearly coincide: the larger N, the smaller the dot.
                let r = [8, 6, 4][k % 3];
                chart
                    .draw_series(at.iter().map(|&p| Circle::new(p, r, color.filled())))
                    .map_err(e)?
                    .label(label)
                    .legend(move |(x, y)| Circle::new((x + 10, y), r, color.filled()));
            } else {
                chart
                    .draw_series(at.iter().map(|&p| TriangleMarker::new(p, 7, color.filled())))
                    .map_err(e)?
                    .label(label)
                    .legend(move |(x, y)| TriangleMarker::new((x + 10, y), 7, color.filled()));
            }
            let missing: Vec<(f64, f64)> = mine
                .iter()
                .filter(|p| p.recovery_s.is_none())
                .map(|p| (p.load, NOT_RECOVERED_AT))
                .collect();
            if engine == "upstream-backup" {
                chart
                    .draw_series(missing.iter().map(|&p| Circle::new(p, 6, color.stroke_width(2))))
                    .map_err(e)?;
            } else {
                let outline = vec![(0, -9), (8, 5), (-8, 5), (0, -9)];
                chart
                    .draw_series(
                        missing
                            .iter()
                            .map(|&p| EmptyElement::at(p) + PathElement::new(outline.clone(), color.stroke_width(2))),
                    )
                    .map_err(e)?;
            }
        }
    }
    // One legend entry for every hollow marker: a run that did not recover before it ended.
    chart
        .draw_series(std::iter::empty::<Circle<(f64, f64), i32>>())
        .map_err(e)?
        .label(format!(
            "hollow marker: did not recover within the run (drawn at {NOT_RECOVERED_AT} min)"
        ))
        .legend(|(x, y)| Circle::new((x + 10, y), 6, BLACK.stroke_width(2)));
    let broken: Vec<(f64, f64)> = points
        .iter()
        .filter(|p| !p.promise_kept)
        .map(|p| (p.load, minutes(p).unwrap_or(NOT_RECOVERED_AT)))
        .collect();
    chart
        .draw_series(broken.iter().map(|&p| Cross::new(p, 9, RED.stroke_width(3))))
        .map_err(e)?
        .label(format!("promise broken ({} runs)", broken.len()))
        .legend(|(x, y)| Cross::new((x + 10, y), 6, RED.stroke_width(3)));
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .label_font((FONT, 13))
        .position(SeriesLabelPosition::UpperLeft)
        .draw()
        .map_err(e)?;
    root.present().map_err(e)?;
    Ok(())
}

fn main() -> Result<()> {
    let a = args()?;
    let mut points = Vec::new();
    for (n, dir) in &a.sweeps {
        points.extend(read(*n, dir, a.per_node)?);
    }
    points.sort_by(|x, y| {
        (&x.engine, x.nodes)
            .cmp(&(&y.engine, y.nodes))
            .then(x.load.total_cmp(&y.load))
    });
    std::fs::create_dir_all(&a.out).with_context(|| format!("creating {}", a.out.display()))?;
    write_csv(&a.out.join("fig7.csv"), &points)?;
    let mut ns: Vec<u32> = a.sweeps.iter().map(|s| s.0).collect();
    ns.sort_unstable();
    ns.dedup();
    plotters::style::register_font(FONT, FontStyle::Normal, ttf_noto_sans::REGULAR)
        .map_err(|_| anyhow!("registering the font"))?;
    let png = a.out.join("fig7.png");
    paint(&BitMapBackend::new(&png, (1300, 800)).into_drawing_area(), &points, &ns)?;
    let svg = a.out.join("fig7.svg");
    paint(&SVGBackend::new(&svg, (1300, 800)).into_drawing_area(), &points, &ns)?;

    println!("engine           N   load  model min  ftsim min  ftsim/model  adjusted min  ftsim/adjusted  restore s");
    for p in &points {
        let sim = p.recovery_s.map(|s| s / 60.0);
        let ratio = |model: Option<f64>| match (sim, model) {
            (Some(s), Some(m)) => format!("{:.2}", s / m),
            _ => "-".into(),
        };
        let model = |m: Option<f64>| m.map_or("diverges".into(), |m| format!("{m:.3}"));
        println!(
            "{:<16} {:>2}  {:>5.2}  {:>9}  {:>9}  {:>11}  {:>12}  {:>14}  {:>9}{}",
            p.engine,
            p.nodes,
            p.load,
            model(p.model_min()),
            sim.map_or("none".into(), |s| format!("{s:.3}")),
            ratio(p.model_min()),
            model(p.adjusted_min()),
            ratio(p.adjusted_min()),
            fmt(p.restore_s, 2),
            if p.finished { "" } else { "  (did not finish)" }
        );
    }
    println!("wrote {}", a.out.display());
    Ok(())
}
