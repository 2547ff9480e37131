//! Charts, PNG and SVG, drawn with plotters and an embedded font (no system font needed).
//!
//! - `latency`: p99 and p50 latency over time, every engine on one chart (log scale);
//! - `throughput`: outputs per second and source backlog over time, every engine on one chart;
//! - `recovery`: detection, restore and recovery time of the first failure per engine;
//! - `cost_recovery` (in [`super::cost_recovery`]): each engine's cost against its recovery time;
//! - per engine, any chart its tables ask for (batches, checkpoints, ...).
//!
//! Crashes are marked by red vertical lines, stragglers by shaded spans.

use crate::runner::EngineResult;
use anyhow::{Result, anyhow};
use ftsim_sim::Table;
use ftsim_sim::scenario::Fault;
use ftsim_sim::{RunReport, Scenario};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::FontStyle;
use std::path::Path;
use std::sync::Once;

pub(crate) const FONT: &str = "sans-serif";
/// Width and height of a chart, in pixels.
pub(crate) const SIZE: (u32, u32) = (1200, 700);
/// The colours of the engines, in the scenario's engine order (wrapping).
pub(crate) const PALETTE: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(23, 190, 207),
];

static FONT_INIT: Once = Once::new();

fn init_font() {
    FONT_INIT.call_once(|| {
        let _ = plotters::style::register_font(FONT, FontStyle::Normal, ttf_noto_sans::REGULAR);
    });
}

pub(crate) fn err<E: std::fmt::Display>(e: E) -> anyhow::Error {
    anyhow!("drawing a chart: {e}")
}

/// One named line.
struct Line {
    name: String,
    points: Vec<(f64, f64)>,
}

/// Faults to mark on time axes.
struct Marks {
    crashes: Vec<f64>,
    stragglers: Vec<(f64, f64)>,
}

fn marks(sc: &Scenario) -> Marks {
    let mut m = Marks {
        crashes: Vec::new(),
        stragglers: Vec::new(),
    };
    for f in &sc.faults {
        match f {
            Fault::Crash { at, .. } => m.crashes.push(at.as_secs_f64()),
            Fault::Straggler { at, duration, .. } => m
                .stragglers
                .push((at.as_secs_f64(), at.as_secs_f64() + duration.as_secs_f64())),
        }
    }
    m
}

/// Draws one picture, written once, into `base.png` and `base.svg` (the backends' types differ,
/// so the closure is instantiated twice), at [`SIZE`] or at the size given.
macro_rules! png_and_svg {
    ($base:expr, |$root:ident| $body:expr) => {
        $crate::output::charts::both($base, $crate::output::charts::SIZE, &|$root| $body, &|$root| $body)
    };
    ($base:expr, $size:expr, |$root:ident| $body:expr) => {
        $crate::output::charts::both($base, $size, &|$root| $body, &|$root| $body)
    };
}
pub(crate) use png_and_svg;

/// Draws `draw` into `base.png` and `draw_svg` into `base.svg`, both `size` pixels.
pub(crate) fn both(
    base: &Path,
    size: (u32, u32),
    draw: &dyn Fn(&DrawingArea<BitMapBackend<'_>, Shift>) -> Result<()>,
    draw_svg: &dyn Fn(&DrawingArea<SVGBackend<'_>, Shift>) -> Result<()>,
) -> Result<()> {
    init_font();
    let png = base.with_extension("png");
    {
        let root = BitMapBackend::new(&png, size).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        draw(&root)?;
        root.present().map_err(err)?;
    }
    let svg = base.with_extension("svg");
    {
        let root = SVGBackend::new(&svg, size).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        draw_svg(&root)?;
        root.present().map_err(err)?;
    }
    Ok(())
}

fn time_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    title: &str,
    y_label: &str,
    lines: &[Line],
    m: &Marks,
    log_y: bool,
    x_max: f64,
) -> Result<()> {
    let ys = lines.iter().flat_map(|l| l.points.iter().map(|p| p.1));
    let (mut lo, mut hi) = ys.fold((f64::MAX, f64::MIN), |(a, b), y| (a.min(y), b.max(y)));
    if lo > hi {
        (lo, hi) = (0.0, 1.0);
    }
    let x_max = x_max.max(1e-3);
    let panel = Panel {
        title,
        y_label,
        lines,
        marks: m,
        x_max,
    };
    if log_y {
        // Whole decades, so the log axis always shows labelled ticks at both ends.
        let lo = 10f64.powf(lo.max(1e-3).log10().floor());
        let hi = 10f64.powf((hi * 1.2).max(lo * 10.0).log10().ceil());
        panel.draw(area, (lo..hi).log_scale(), lo, hi)
    } else {
        let hi = if hi <= 0.0 { 1.0 } else { hi * 1.1 };
        let lo = lo.min(0.0);
        panel.draw(area, lo..hi, lo, hi)
    }
}

/// What one time panel shows, drawn on any y-axis kind (linear or logarithmic).
struct Panel<'a> {
    title: &'a str,
    y_label: &'a str,
    lines: &'a [Line],
    marks: &'a Marks,
    x_max: f64,
}

impl Panel<'_> {
    fn draw<DB, YS>(&self, area: &DrawingArea<DB, Shift>, y_spec: YS, lo: f64, hi: f64) -> Result<()>
    where
        DB: DrawingBackend,
        YS: plotters::coord::ranged1d::AsRangedCoord<Value = f64>,
        YS::CoordDescType: Ranged<ValueType = f64> + plotters::coord::ranged1d::ValueFormatter<f64>,
    {
        let mut chart = ChartBuilder::on(area)
            .caption(self.title, (FONT, 22).into_font())
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(70)
            .build_cartesian_2d(0f64..self.x_max, y_spec)
            .map_err(err)?;
        chart
            .configure_mesh()
            .x_desc("time (s)")
            .y_desc(self.y_label)
            .y_labels(12)
            .x_label_formatter(&|x| num(*x))
            .y_label_formatter(&|y| num(*y))
            .label_style((FONT, 14))
            .draw()
            .map_err(err)?;
        draw_marks(&mut chart, self.marks, lo, hi)?;
        draw_lines(&mut chart, self.lines)?;
        legend(&mut chart)
    }
}

/// A tick label without needless decimals: 0.005, 0.5, 3, 250, 12k, 1.5M.
pub(crate) fn num(v: f64) -> String {
    let a = v.abs();
    let s = if a >= 1e6 {
        format!("{:.1}M", v / 1e6)
    } else if a >= 1e4 {
        format!("{:.0}k", v / 1e3)
    } else if a >= 100.0 || a == 0.0 {
        format!("{v:.0}")
    } else if a >= 1.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.3}")
    };
    if s.contains('.') && !s.ends_with(['k', 'M']) {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

fn legend<'a, DB, Y>(
    chart: &mut ChartContext<'a, DB, Cartesian2d<plotters::coord::types::RangedCoordf64, Y>>,
) -> Result<()>
where
    DB: DrawingBackend + 'a,
    Y: Ranged<ValueType = f64>,
{
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font((FONT, 14))
        .position(SeriesLabelPosition::UpperLeft)
        .draw()
        .map_err(err)
}

fn draw_marks<DB, Y>(
    chart: &mut ChartContext<'_, DB, Cartesian2d<plotters::coord::types::RangedCoordf64, Y>>,
    m: &Marks,
    lo: f64,
    hi: f64,
) -> Result<()>
where
    DB: DrawingBackend,
    Y: Ranged<ValueType = f64>,
{
    for &(a, b) in &m.stragglers {
        chart
            .draw_series(std::iter::once(Rectangle::new(
                [(a, lo), (b, hi)],
                RGBColor(255, 200, 120).mix(0.35).filled(),
            )))
            .map_err(err)?;
    }
    for &x in &m.crashes {
        chart
            .draw_series(std::iter::once(PathElement::new(
                vec![(x, lo), (x, hi)],
                RED.stroke_width(2),
            )))
            .map_err(err)?;
    }
    Ok(())
}

fn draw_lines<DB, Y>(
    chart: &mut ChartContext<'_, DB, Cartesian2d<plotters::coord::types::RangedCoordf64, Y>>,
    lines: &[Line],
) -> Result<()>
where
    DB: DrawingBackend,
    Y: Ranged<ValueType = f64>,
{
    for (i, l) in lines.iter().enumerate() {
        let color = PALETTE[i % PALETTE.len()];
        chart
            .draw_series(LineSeries::new(l.points.iter().copied(), color.stroke_width(2)))
            .map_err(err)?
            .label(l.name.clone())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(3)));
    }
    Ok(())
}

fn x_max(results: &[EngineResult]) -> f64 {
    results
        .iter()
        .flat_map(|r| r.report.series.last())
        .map(|s| s.t_s + 1.0)
        .fold(1.0, f64::max)
}

fn series_lines(results: &[EngineResult], pick: fn(&ftsim_sim::report::SeriesRow) -> Option<f64>) -> Vec<Line> {
    results
        .iter()
        .map(|r| Line {
            name: r.report.engine.clone(),
            points: r
                .report
                .series
                .iter()
                .filter_map(|s| pick(s).map(|y| (s.t_s, y)))
                .collect(),
        })
        .collect()
}

/// The charts that compare all engines of a run.
pub fn comparison_charts(dir: &Path, sc: &Scenario, results: &[EngineResult]) -> Result<()> {
    let m = marks(sc);
    let xm = x_max(results);
    let p99 = series_lines(results, |s| s.p99_ms);
    let p50 = series_lines(results, |s| s.p50_ms);
    let tput = series_lines(results, |s| Some(s.throughput_rps));
    let backlog = series_lines(results, |s| Some(s.backlog as f64));
    let title = &sc.run.name;
    png_and_svg!(&dir.join("latency"), |root| latency(root, title, &p99, &p50, &m, xm))?;
    png_and_svg!(&dir.join("throughput"), |root| throughput(
        root, title, &tput, &backlog, &m, xm
    ))?;
    let bars: Vec<(String, [Option<f64>; 3])> = results
        .iter()
        .map(|r| {
            let f = r.report.first_failure;
            let s = |d: Option<ftsim_sim::SimDuration>| d.map(|d| d.as_secs_f64());
            (
                r.report.engine.clone(),
                [
                    s(f.and_then(|f| f.detect)),
                    s(f.and_then(|f| f.restore)),
                    s(f.and_then(|f| f.recovery)),
                ],
            )
        })
        .collect();
    png_and_svg!(&dir.join("recovery"), |root| recovery(root, title, &bars))
}

fn latency<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    p99: &[Line],
    p50: &[Line],
    m: &Marks,
    xm: f64,
) -> Result<()> {
    let (top, bottom) = root.split_vertically(SIZE.1 / 2);
    time_panel(
        &top,
        &format!("{title}: p99 latency per bucket"),
        "p99 latency (ms)",
        p99,
        m,
        true,
        xm,
    )?;
    time_panel(
        &bottom,
        &format!("{title}: p50 latency per bucket"),
        "p50 latency (ms)",
        p50,
        m,
        true,
        xm,
    )
}

fn throughput<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    tput: &[Line],
    backlog: &[Line],
    m: &Marks,
    xm: f64,
) -> Result<()> {
    let (top, bottom) = root.split_vertically(SIZE.1 * 3 / 5);
    time_panel(
        &top,
        &format!("{title}: sink throughput"),
        "outputs / s",
        tput,
        m,
        false,
        xm,
    )?;
    time_panel(
        &bottom,
        &format!("{title}: source backlog"),
        "records not yet read",
        backlog,
        m,
        false,
        xm,
    )
}

fn recovery<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    bars: &[(String, [Option<f64>; 3])],
) -> Result<()> {
    let hi = bars
        .iter()
        .flat_map(|b| b.1.iter().flatten().copied())
        .fold(0.0, f64::max)
        .max(1.0)
        * 1.15;
    let n = bars.len().max(1);
    let any = bars.iter().any(|b| b.1.iter().any(Option::is_some));
    let caption = if any {
        format!("{title}: time from crash to detection, restore and recovery (first failure)")
    } else {
        format!("{title}: no failure in this run")
    };
    let mut chart = ChartBuilder::on(root)
        .caption(caption, (FONT, 22))
        .margin(12)
        .x_label_area_size(50)
        .y_label_area_size(70)
        .build_cartesian_2d(0f64..n as f64, 0f64..hi)
        .map_err(err)?;
    let names: Vec<String> = bars.iter().map(|b| b.0.clone()).collect();
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(n * 2 + 1)
        .x_label_formatter(&|x| {
            let i = x.floor() as usize;
            if (x - i as f64 - 0.5).abs() < 0.26 {
                names.get(i).cloned().unwrap_or_default()
            } else {
                String::new()
            }
        })
        .y_desc("seconds after the crash")
        .label_style((FONT, 14))
        .draw()
        .map_err(err)?;
    let labels = ["detected", "restored", "recovered (caught up)"];
    let colors = [PALETTE[0], PALETTE[1], PALETTE[2]];
    for k in 0..3 {
        let color = colors[k];
        chart
            .draw_series(bars.iter().enumerate().filter_map(|(i, b)| {
                b.1[k].map(|v| {
                    let x0 = i as f64 + 0.15 + k as f64 * 0.24;
                    Rectangle::new([(x0, 0.0), (x0 + 0.22, v)], color.filled())
                })
            }))
            .map_err(err)?
            .label(labels[k])
            .legend(move |(x, y)| Rectangle::new([(x, y - 6), (x + 16, y + 6)], color.filled()));
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font((FONT, 14))
        .position(SeriesLabelPosition::UpperRight)
        .draw()
        .map_err(err)?;
    Ok(())
}

/// The charts an engine's tables ask for.
pub fn engine_charts(dir: &Path, sc: &Scenario, r: &RunReport) -> Result<()> {
    let m = marks(sc);
    for t in &r.tables {
        for c in &t.charts {
            let lines = table_lines(t, &c.x, &c.ys);
            let xm = lines
                .iter()
                .flat_map(|l| l.points.iter().map(|p| p.0))
                .fold(1.0, f64::max)
                * 1.02;
            let title = format!("{} / {}: {}", sc.run.name, r.engine, c.title);
            png_and_svg!(&dir.join(&c.file), |root| time_panel(
                root, &title, &c.y_label, &lines, &m, false, xm
            ))?;
        }
    }
    Ok(())
}

fn table_lines(t: &Table, x: &str, ys: &[String]) -> Vec<Line> {
    let xs = t.numbers(x);
    ys.iter()
        .filter_map(|y| {
            t.column(y)?;
            let points = xs
                .iter()
                .zip(t.numbers(y))
                .filter_map(|(x, y)| Some(((*x)?, y?)))
                .collect();
            Some(Line {
                name: y.clone(),
                points,
            })
        })
        .collect()
}
