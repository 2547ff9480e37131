//! `cost_recovery.png/.svg`: what each engine costs against how fast it recovers, one point per
//! engine, written when a run has two or more engines.
//!
//! - x: `recovery_s` of the first failure; an engine that never caught up sits in a grey band at
//!   the right edge, "not recovered". A scenario without a crash has no recovery time: the chart
//!   then shows the cost per engine (one column each) and says so in its title.
//! - y, top panel: busy core-seconds of the whole run (work the nodes' cores completed, every
//!   node: workers, spares, master), as a multiple of `none`'s. Node-seconds (nodes up × time)
//!   are the same for most engines, which keep the same nodes up for the same time, so they
//!   would hide the extra work that the busy time shows: replicas, acks, replays, checkpoints.
//!   Where an engine keeps 5 % more or fewer nodes up than `none` on average (node-seconds over
//!   the run's simulated length, so that a run that drains later does not count as more nodes),
//!   as active-standby does with a standby node per worker, its label says so:
//!   `active-standby 1.40× (nodes 1.83×)`.
//! - y, bottom panel: `ft_bytes` (bytes sent only for fault tolerance) as a percentage of
//!   `none`'s `bytes` (its whole traffic, which is the data traffic alone).
//!
//! Without `none` among the engines both panels show absolute values (core-seconds, MB), and
//! their axis labels say so.
//!
//! Marker shape: the guarantee the run's verdict met (filled circle exactly-once, triangle
//! at-least-once, square at-most-once, hollow circle none at all where none was promised, hollow
//! diamond for a run that did not finish); a red cross for a broken promise. Colour: the engine,
//! as on the other charts. Each point is labelled with the engine and its value.

use super::charts::{FONT, PALETTE, err, num, png_and_svg};
use crate::runner::EngineResult;
use anyhow::Result;
use ftsim_sim::{Scenario, Verdict};
use plotters::coord::Shift;
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::path::Path;

/// Width and height of the chart: two panels stacked, a legend on the right.
const SIZE: (u32, u32) = (1200, 1000);
/// Width of the legend column.
const LEGEND_W: u32 = 250;

/// The guarantee a run met, as its marker shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Met {
    /// Verdict exactly-once.
    ExactlyOnce,
    /// Verdict at-least-once.
    AtLeastOnce,
    /// Verdict at-most-once.
    AtMostOnce,
    /// Verdict violated, where the engine promised nothing.
    Nothing,
    /// The run did not finish (its promise judged on repeats alone, and kept).
    NotFinished,
    /// The engine broke its promise.
    Broken,
}

impl Met {
    fn of(verdict: Verdict, promise_kept: bool) -> Met {
        if !promise_kept {
            return Met::Broken;
        }
        match verdict {
            Verdict::ExactlyOnce => Met::ExactlyOnce,
            Verdict::AtLeastOnce => Met::AtLeastOnce,
            Verdict::AtMostOnce => Met::AtMostOnce,
            Verdict::Violated => Met::Nothing,
            Verdict::NotFinished => Met::NotFinished,
        }
    }

    /// The legend's words for this marker.
    pub fn label(self) -> &'static str {
        match self {
            Met::ExactlyOnce => "exactly-once",
            Met::AtLeastOnce => "at-least-once",
            Met::AtMostOnce => "at-most-once",
            Met::Nothing => "no guarantee (none promised)",
            Met::NotFinished => "did not finish",
            Met::Broken => "promise broken",
        }
    }
}

/// One engine's point.
#[derive(Debug, Clone)]
pub struct CostPoint {
    /// The engine.
    pub engine: String,
    /// What its marker shows.
    pub met: Met,
    /// Crash to caught up, first failure; `None` if it never caught up (or there was no failure).
    pub recovery_s: Option<f64>,
    /// Busy core-seconds of every node over the whole run.
    pub busy_s: f64,
    /// Node-seconds (`node_seconds` of summary.csv).
    pub node_s: f64,
    /// The mean number of nodes up (`node_s` over the run's simulated length) over `none`'s, when
    /// the values are relative.
    pub nodes: Option<f64>,
    /// Bytes sent only for fault tolerance.
    pub ft_bytes: u64,
    /// Top panel's value: `busy_s` over `none`'s, or `busy_s` itself without `none`.
    pub cost: f64,
    /// Bottom panel's value: `ft_bytes` in % of `none`'s `bytes`, or in MB without `none`.
    pub traffic: f64,
}

/// The chart's data.
#[derive(Debug, Clone)]
pub struct CostRecovery {
    /// One point per engine, in the run's engine order.
    pub points: Vec<CostPoint>,
    /// Whether the values are relative to the `none` engine's.
    pub relative: bool,
    /// Whether the scenario crashed anything (otherwise no point has a recovery time).
    pub failure: bool,
}

impl CostRecovery {
    /// The top panel's axis label.
    pub fn cost_label(&self) -> &'static str {
        if self.relative {
            "busy core-seconds, whole run (× none's)"
        } else {
            "busy core-seconds, whole run (core·s)"
        }
    }

    /// The bottom panel's axis label.
    pub fn traffic_label(&self) -> &'static str {
        if self.relative {
            "fault-tolerance bytes (% of none's bytes)"
        } else {
            "fault-tolerance bytes (MB)"
        }
    }

    /// A top-panel value as text: `1.25×` or `840.2`.
    pub fn cost_text(&self, v: f64) -> String {
        if self.relative {
            format!("{v:.2}×")
        } else {
            format!("{v:.1}")
        }
    }

    /// The top panel's label of point `p`: its cost, and its node-seconds relative to `none`'s
    /// where they differ by 5 % or more.
    pub fn cost_label_of(&self, p: &CostPoint) -> String {
        match p.nodes {
            Some(n) if (n - 1.0).abs() >= 0.05 => format!("{} (nodes {n:.2}×)", self.cost_text(p.cost)),
            _ => self.cost_text(p.cost),
        }
    }

    /// A bottom-panel value as text: `3.1 %` or `12.5 MB`.
    pub fn traffic_text(&self, v: f64) -> String {
        let digits = if v == 0.0 {
            0
        } else if v >= 10.0 {
            1
        } else if v >= 0.1 {
            2
        } else {
            4
        };
        if self.relative {
            format!("{v:.digits$} %")
        } else {
            format!("{v:.digits$} MB")
        }
    }
}

/// The chart's data for `results`.
pub fn data(results: &[EngineResult]) -> CostRecovery {
    let busy = |r: &EngineResult| r.report.stats.busy_core_seconds();
    let none = results.iter().find(|r| r.report.engine == "none");
    let base = none.map(|n| (busy(n), n.report.stats.bytes as f64));
    let relative = base.is_some_and(|(b, bytes)| b > 0.0 && bytes > 0.0);
    let mean_nodes = |r: &EngineResult| {
        let end = r.report.stats.end.as_secs_f64();
        if end > 0.0 {
            r.report.stats.node_seconds / end
        } else {
            0.0
        }
    };
    let none_nodes = none.map(mean_nodes).filter(|&n| relative && n > 0.0);
    let failure = results.iter().any(|r| !r.report.failures.is_empty());
    let points = results
        .iter()
        .map(|r| {
            let rep = &r.report;
            let busy_s = busy(r);
            let node_s = rep.stats.node_seconds;
            let ft_bytes = rep.stats.ft_bytes;
            let (cost, traffic) = match base {
                Some((b, bytes)) if relative => (busy_s / b, ft_bytes as f64 / bytes * 100.0),
                _ => (busy_s, ft_bytes as f64 / 1e6),
            };
            CostPoint {
                engine: rep.engine.clone(),
                met: Met::of(rep.verdict, rep.promise_kept),
                recovery_s: rep.first_failure.and_then(|f| f.recovery).map(|d| d.as_secs_f64()),
                busy_s,
                node_s,
                nodes: none_nodes.map(|n| mean_nodes(r) / n),
                ft_bytes,
                cost,
                traffic,
            }
        })
        .collect();
    CostRecovery {
        points,
        relative,
        failure,
    }
}

/// Writes `cost_recovery.png` and `.svg` into `dir` when the run has two or more engines.
pub fn write(dir: &Path, sc: &Scenario, results: &[EngineResult]) -> Result<()> {
    if results.len() < 2 {
        return Ok(());
    }
    let d = data(results);
    let title = &sc.run.name;
    png_and_svg!(&dir.join("cost_recovery"), SIZE, |root| draw(root, title, &d))
}

fn draw<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, title: &str, d: &CostRecovery) -> Result<()> {
    let caption = if d.failure {
        format!("{title}: what each engine costs against how fast it recovers from the first failure")
    } else {
        format!("{title}: what each engine costs (no failure in this scenario, so no recovery time)")
    };
    let body = root.titled(&caption, (FONT, 22)).map_err(err)?;
    let (plots, legend_area) = body.split_horizontally(body.dim_in_pixel().0 - LEGEND_W);
    let (top, bottom) = plots.split_vertically(plots.dim_in_pixel().1 / 2);
    let costs: Vec<f64> = d.points.iter().map(|p| p.cost).collect();
    let traffic: Vec<f64> = d.points.iter().map(|p| p.traffic).collect();
    let cost_title = if d.relative {
        "CPU: busy core-seconds over the whole run, relative to none"
    } else {
        "CPU: busy core-seconds over the whole run (no none engine in this run: absolute)"
    };
    let traffic_title = if d.relative {
        "network: bytes sent for fault tolerance, as a share of none's traffic"
    } else {
        "network: bytes sent for fault tolerance (no none engine in this run: absolute)"
    };
    let cost_texts: Vec<String> = d.points.iter().map(|p| d.cost_label_of(p)).collect();
    let traffic_texts: Vec<String> = d.points.iter().map(|p| d.traffic_text(p.traffic)).collect();
    let mut placed = Vec::new();
    let top_panel = PanelSpec {
        title: cost_title,
        y_label: d.cost_label(),
        values: &costs,
        texts: &cost_texts,
        baseline: d.relative.then_some(1.0),
    };
    let bottom_panel = PanelSpec {
        title: traffic_title,
        y_label: d.traffic_label(),
        values: &traffic,
        texts: &traffic_texts,
        baseline: None,
    };
    for (area, spec) in [(&top, top_panel), (&bottom, bottom_panel)] {
        if d.failure {
            scatter(root, area, &spec, d, &mut placed)?;
        } else {
            columns(root, area, &spec, d, &mut placed)?;
        }
    }
    legend(&legend_area, d)
}

/// What one panel plots.
struct PanelSpec<'a> {
    title: &'a str,
    y_label: &'a str,
    /// One value per point.
    values: &'a [f64],
    /// Each value as its label shows it.
    texts: &'a [String],
    /// A dashed horizontal line here (`none`'s level).
    baseline: Option<f64>,
}

fn y_range(values: &[f64]) -> f64 {
    let hi = values.iter().copied().fold(0.0, f64::max);
    if hi > 0.0 { hi * 1.2 } else { 1.0 }
}

/// The x layout of the failure chart: `[0, sep]` for recovered engines, then a band up to `hi`
/// where the engines that never recovered sit, at `nr`.
struct XLayout {
    sep: f64,
    nr: f64,
    hi: f64,
    band: bool,
}

fn x_layout(d: &CostRecovery) -> XLayout {
    let max = d.points.iter().filter_map(|p| p.recovery_s).fold(0.0, f64::max);
    let sep = if max > 0.0 { max * 1.15 } else { 1.0 };
    let band = d.points.iter().any(|p| p.recovery_s.is_none());
    if band {
        XLayout {
            sep,
            nr: sep * 1.15,
            hi: sep * 1.3,
            band,
        }
    } else {
        XLayout {
            sep,
            nr: sep,
            hi: sep,
            band,
        }
    }
}

fn scatter<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    area: &DrawingArea<DB, Shift>,
    spec: &PanelSpec<'_>,
    d: &CostRecovery,
    placed: &mut Vec<Rect>,
) -> Result<()> {
    let x = x_layout(d);
    let y_hi = y_range(spec.values);
    let mut chart = ChartBuilder::on(area)
        .caption(spec.title, (FONT, 18))
        .margin(12)
        .x_label_area_size(45)
        .y_label_area_size(80)
        .build_cartesian_2d(0f64..x.hi, 0f64..y_hi)
        .map_err(err)?;
    let sep = x.sep;
    chart
        .configure_mesh()
        .x_desc("recovery time of the first failure (s from the crash until caught up)")
        .y_desc(spec.y_label)
        .x_label_formatter(&|v| if *v <= sep * 1.0001 { num(*v) } else { String::new() })
        .y_label_formatter(&|v| num(*v))
        .label_style((FONT, 14))
        .draw()
        .map_err(err)?;
    if x.band {
        chart
            .draw_series(std::iter::once(Rectangle::new(
                [(x.sep, 0.0), (x.hi, y_hi)],
                RGBColor(128, 128, 128).mix(0.15).filled(),
            )))
            .map_err(err)?;
        let (px, py) = chart.backend_coord(&(x.nr, y_hi));
        let style = TextStyle::from((FONT, 14).into_font())
            .color(&RGBColor(80, 80, 80))
            .pos(Pos::new(HPos::Center, VPos::Top));
        root.draw(&Text::new("not recovered", (px, py + 4), style))
            .map_err(err)?;
    }
    if let Some(b) = spec.baseline {
        let line = [chart.backend_coord(&(0.0, b)), chart.backend_coord(&(x.hi, b))];
        root.draw(&DashedPathElement::new(
            line,
            6,
            4,
            RGBColor(90, 90, 90).stroke_width(1),
        ))
        .map_err(err)?;
    }
    let bounds = plot_bounds(&chart, x.hi, y_hi);
    let at: Vec<(i32, i32)> = d
        .points
        .iter()
        .zip(spec.values)
        .map(|(p, &v)| chart.backend_coord(&(p.recovery_s.unwrap_or(x.nr), v)))
        .collect();
    let labels: Vec<String> = d
        .points
        .iter()
        .zip(spec.texts)
        .map(|(p, t)| format!("{} {t}", p.engine))
        .collect();
    points_and_labels(root, &at, d, &labels, bounds, placed, Side::Beside)
}

fn columns<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    area: &DrawingArea<DB, Shift>,
    spec: &PanelSpec<'_>,
    d: &CostRecovery,
    placed: &mut Vec<Rect>,
) -> Result<()> {
    let n = d.points.len().max(1);
    let y_hi = y_range(spec.values);
    let mut chart = ChartBuilder::on(area)
        .caption(spec.title, (FONT, 18))
        .margin(12)
        .x_label_area_size(45)
        .y_label_area_size(80)
        .build_cartesian_2d(0f64..n as f64, 0f64..y_hi)
        .map_err(err)?;
    let names: Vec<&str> = d.points.iter().map(|p| p.engine.as_str()).collect();
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(n * 2 + 1)
        .x_label_formatter(&|x| {
            let i = x.floor() as usize;
            if (x - i as f64 - 0.5).abs() < 0.26 {
                names.get(i).map(|s| s.to_string()).unwrap_or_default()
            } else {
                String::new()
            }
        })
        .x_desc("engine")
        .y_desc(spec.y_label)
        .y_label_formatter(&|v| num(*v))
        .label_style((FONT, 14))
        .draw()
        .map_err(err)?;
    if let Some(b) = spec.baseline {
        let line = [chart.backend_coord(&(0.0, b)), chart.backend_coord(&(n as f64, b))];
        root.draw(&DashedPathElement::new(
            line,
            6,
            4,
            RGBColor(90, 90, 90).stroke_width(1),
        ))
        .map_err(err)?;
    }
    for (i, &v) in spec.values.iter().enumerate() {
        let color = PALETTE[i % PALETTE.len()];
        let x = i as f64 + 0.5;
        chart
            .draw_series(std::iter::once(PathElement::new(
                vec![(x, 0.0), (x, v)],
                color.stroke_width(3),
            )))
            .map_err(err)?;
    }
    let bounds = plot_bounds(&chart, n as f64, y_hi);
    let at: Vec<(i32, i32)> = spec
        .values
        .iter()
        .enumerate()
        .map(|(i, &v)| chart.backend_coord(&(i as f64 + 0.5, v)))
        .collect();
    let labels = spec.texts.to_vec();
    points_and_labels(root, &at, d, &labels, bounds, placed, Side::Above)
}

/// A rectangle in backend pixels: left, top, right, bottom.
type Rect = (i32, i32, i32, i32);

fn overlaps(a: Rect, b: Rect) -> bool {
    a.0 < b.2 && b.0 < a.2 && a.1 < b.3 && b.1 < a.3
}

fn plot_bounds<DB: DrawingBackend>(
    chart: &ChartContext<
        '_,
        DB,
        Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>,
    >,
    x_hi: f64,
    y_hi: f64,
) -> Rect {
    let (l, b) = chart.backend_coord(&(0.0, 0.0));
    let (r, t) = chart.backend_coord(&(x_hi, y_hi));
    (l, t, r, b)
}

/// Where labels go: beside the point (scatter) or above it first (columns).
#[derive(Clone, Copy)]
enum Side {
    Beside,
    Above,
}

/// Markers closer than this (pixels, on both axes) would hide each other.
const CLOSE: i32 = 14;

/// `at` with markers that would hide each other spread sideways, `CLOSE + 2` pixels apart, around
/// their group's mean x (a group: points each within [`CLOSE`] of another of the group).
fn dodge(at: &[(i32, i32)]) -> Vec<(i32, i32)> {
    let n = at.len();
    let mut group: Vec<usize> = (0..n).collect();
    for i in 0..n {
        for j in 0..i {
            let near = (at[i].0 - at[j].0).abs() < CLOSE && (at[i].1 - at[j].1).abs() < CLOSE;
            let (gi, gj) = (group[i], group[j]);
            if near && gi != gj {
                for g in group.iter_mut() {
                    if *g == gi {
                        *g = gj;
                    }
                }
            }
        }
    }
    let mut out = at.to_vec();
    for g in 0..n {
        let members: Vec<usize> = (0..n).filter(|&i| group[i] == g).collect();
        let k = members.len() as i32;
        if k < 2 {
            continue;
        }
        let mean = members.iter().map(|&i| at[i].0).sum::<i32>() / k;
        for (j, &i) in members.iter().enumerate() {
            out[i].0 = mean + (2 * j as i32 - (k - 1)) * (CLOSE + 2) / 2;
        }
    }
    out
}

/// Draws every marker (spread sideways where they would hide each other) and every label at the
/// first place around its marker that stays inside `bounds` and clears the markers and the labels
/// placed before it; a label that ends up away from its marker gets a thin line to it.
fn points_and_labels<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    at: &[(i32, i32)],
    d: &CostRecovery,
    labels: &[String],
    bounds: Rect,
    placed: &mut Vec<Rect>,
    side: Side,
) -> Result<()> {
    let at = dodge(at);
    let markers: Vec<Rect> = at.iter().map(|&(x, y)| (x - 9, y - 9, x + 9, y + 9)).collect();
    let style = TextStyle::from((FONT, 14).into_font()).color(&BLACK);
    let mut spots = Vec::new();
    for (i, (&(x, y), label)) in at.iter().zip(labels).enumerate() {
        let (w, h) = root.estimate_text_size(label, &style).map_err(err)?;
        let (w, h) = (w as i32, h as i32);
        let right = (x + 12, y - h / 2);
        let left = (x - 12 - w, y - h / 2);
        let above = (x - w / 2, y - 12 - h);
        let below = (x - w / 2, y + 12);
        let step = h + 4;
        let mut candidates = match side {
            Side::Beside => vec![right, left, above, below],
            Side::Above => vec![above, right, left, below],
        };
        for k in 1..=5 {
            candidates.extend([
                (right.0, right.1 - k * step),
                (right.0, right.1 + k * step),
                (left.0, left.1 - k * step),
                (left.0, left.1 + k * step),
                (above.0, above.1 - k * step),
            ]);
        }
        let rect = |(l, t): (i32, i32)| (l, t, l + w, t + h);
        let inside = |r: Rect| r.0 >= bounds.0 && r.2 <= bounds.2 && r.1 >= bounds.1 && r.3 <= bounds.3;
        let clear = |r: Rect| !placed.iter().chain(&markers).any(|&q| overlaps(r, q));
        let pos = candidates
            .iter()
            .copied()
            .find(|&c| inside(rect(c)) && clear(rect(c)))
            .or_else(|| candidates.iter().copied().find(|&c| inside(rect(c))))
            .unwrap_or(right);
        let r = rect(pos);
        placed.push(r);
        let nearest = (x.clamp(r.0, r.2), y.clamp(r.1, r.3));
        let far = (nearest.0 - x).pow(2) + (nearest.1 - y).pow(2) > 16 * 16;
        spots.push((i, pos, far.then_some(nearest)));
    }
    for &(i, _, leader) in &spots {
        if let Some(end) = leader {
            root.draw(&PathElement::new(
                vec![at[i], end],
                RGBColor(120, 120, 120).stroke_width(1),
            ))
            .map_err(err)?;
        }
    }
    for (i, (p, &xy)) in d.points.iter().zip(&at).enumerate() {
        marker(root, xy, p.met, PALETTE[i % PALETTE.len()])?;
    }
    for (i, pos, _) in spots {
        root.draw(&Text::new(labels[i].clone(), pos, style.clone()))
            .map_err(err)?;
    }
    Ok(())
}

/// Draws the marker of `met` centred on `at` (backend pixels).
fn marker<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, at: (i32, i32), met: Met, color: RGBColor) -> Result<()> {
    let (x, y) = at;
    let outline = BLACK.stroke_width(1);
    match met {
        Met::ExactlyOnce => {
            area.draw(&Circle::new(at, 7, color.filled())).map_err(err)?;
            area.draw(&Circle::new(at, 7, outline)).map_err(err)?;
        }
        Met::AtLeastOnce => {
            let tri = vec![(x, y - 9), (x - 8, y + 6), (x + 8, y + 6)];
            area.draw(&Polygon::new(tri.clone(), color.filled())).map_err(err)?;
            let mut closed = tri;
            closed.push((x, y - 9));
            area.draw(&PathElement::new(closed, outline)).map_err(err)?;
        }
        Met::AtMostOnce => {
            area.draw(&Rectangle::new([(x - 6, y - 6), (x + 6, y + 6)], color.filled()))
                .map_err(err)?;
            area.draw(&Rectangle::new([(x - 6, y - 6), (x + 6, y + 6)], outline))
                .map_err(err)?;
        }
        Met::Nothing => {
            area.draw(&Circle::new(at, 7, color.stroke_width(3))).map_err(err)?;
        }
        Met::NotFinished => {
            let diamond = vec![(x, y - 9), (x + 9, y), (x, y + 9), (x - 9, y), (x, y - 9)];
            area.draw(&PathElement::new(diamond, color.stroke_width(3)))
                .map_err(err)?;
        }
        Met::Broken => {
            let red = RED.stroke_width(4);
            area.draw(&PathElement::new(vec![(x - 8, y - 8), (x + 8, y + 8)], red))
                .map_err(err)?;
            area.draw(&PathElement::new(vec![(x - 8, y + 8), (x + 8, y - 8)], red))
                .map_err(err)?;
        }
    }
    Ok(())
}

/// The legend column: what each marker shape means (the shapes this run shows), and that the
/// colour and the label name the engine.
fn legend<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, d: &CostRecovery) -> Result<()> {
    let mut kinds: Vec<Met> = d.points.iter().map(|p| p.met).collect();
    kinds.sort_unstable();
    kinds.dedup();
    let head = TextStyle::from((FONT, 15).into_font()).color(&BLACK);
    let style = TextStyle::from((FONT, 14).into_font()).color(&BLACK);
    let (x0, mut y) = (16, 70);
    area.draw(&Text::new("marker: guarantee met", (x0, y), head.clone()))
        .map_err(err)?;
    y += 30;
    let grey = RGBColor(110, 110, 110);
    for k in kinds {
        marker(area, (x0 + 10, y + 8), k, grey)?;
        area.draw(&Text::new(k.label(), (x0 + 28, y), style.clone()))
            .map_err(err)?;
        y += 28;
    }
    y += 12;
    area.draw(&Text::new("colour and label: engine", (x0, y), head))
        .map_err(err)?;
    y += 26;
    let note = TextStyle::from((FONT, 13).into_font()).color(&RGBColor(70, 70, 70));
    let lines: &[&str] = if d.failure {
        &[
            "lower left is better: cheap",
            "while running, quick to recover",
            "markers that would hide each",
            "other are spread sideways",
        ]
    } else {
        &["lower is better"]
    };
    let nodes: &[&str] = if d.points.iter().any(|p| d.cost_label_of(p) != d.cost_text(p.cost)) {
        &["(nodes k×): k × as many nodes", "up as none, on average"]
    } else {
        &[]
    };
    for line in lines.iter().chain(nodes) {
        area.draw(&Text::new(*line, (x0, y), note.clone())).map_err(err)?;
        y += 20;
    }
    Ok(())
}
