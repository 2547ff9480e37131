//! The page of an `ftsim run` directory: the command, version and seed, the summary table, the
//! comparison charts, each engine's charts and events, and the scenario as run. The charts are
//! the `.svg` files the run wrote into the directory, read back and inlined.

use super::{Block, Page, Section, Table, shell_quote, toml_text};
use crate::output::cost_recovery;
use crate::output::csv::{SUMMARY_COLUMNS, summary_row};
use crate::runner::EngineResult;
use anyhow::{Context, Result};
use ftsim_sim::Scenario;
use std::path::Path;

/// How the run was asked for: what the page shows besides the results.
#[derive(Debug, Clone, Default)]
pub struct Invocation {
    /// The command line that reproduces the run, shell-quoted.
    pub command: String,
    /// The scenario file as given on the command line.
    pub scenario_file: String,
    /// The scenario file's text, as read for the run.
    pub scenario_text: String,
    /// `--set` arguments, in order.
    pub sets: Vec<String>,
    /// `--engine` arguments.
    pub engines: Vec<String>,
    /// `--seed`.
    pub seed: Option<u64>,
}

/// The summary columns the page leaves out: `wall_s`, so that the same run gives the same page.
const LEFT_OUT: &[&str] = &["wall_s"];

/// The summary columns shown prominently.
const KEY_COLUMNS: &[&str] = &[
    "engine",
    "verdict",
    "promise_kept",
    "lost",
    "duplicated",
    "wrong",
    "throughput_rps",
    "latency_p99_ms",
    "recovery_s",
];

/// Event kinds the kernel logs for faults and their handling: the failure timeline.
const FAULT_EVENTS: &[&str] = &[
    "crash",
    "detected",
    "spare-ready",
    "node-restarted",
    "restored",
    "straggler-start",
    "straggler-end",
];

/// Most rows of an engine's events shown on the page (all of them are in its events.csv).
const MAX_EVENT_ROWS: usize = 1000;

/// Writes `dir/report.html` for the run whose other files `dir` already holds.
pub fn write(dir: &Path, sc: &Scenario, results: &[EngineResult], inv: &Invocation) -> Result<()> {
    let page = page(dir, sc, results, inv)?;
    let path = dir.join("report.html");
    std::fs::write(&path, page.render()).with_context(|| format!("writing {}", path.display()))
}

fn svg(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
}

/// The page of the run in `dir`.
pub fn page(dir: &Path, sc: &Scenario, results: &[EngineResult], inv: &Invocation) -> Result<Page> {
    let faults = sc.faults.len();
    let subtitle = format!(
        "{} on {} nodes × {} cores, {} for {}, sink {}, {} fault{}",
        sc.job.kind.name(),
        sc.cluster.nodes,
        sc.cluster.cores,
        sc.input_label(),
        sc.run.duration,
        sc.job.sink.name(),
        faults,
        if faults == 1 { "" } else { "s" }
    );
    let engines: Vec<&str> = results.iter().map(|r| r.report.engine.as_str()).collect();
    let mut sections = vec![summary(sc, results)];
    sections.push(comparison(dir, results)?);
    sections.push(fault_events(results));
    for r in results {
        sections.push(engine(dir, r)?);
    }
    sections.push(scenario(inv));
    Ok(Page {
        title: format!("ftsim run: {}", sc.run.name),
        subtitle: Some(subtitle),
        facts: vec![
            ("ftsim version".into(), env!("CARGO_PKG_VERSION").into()),
            ("seed".into(), sc.run.seed.to_string()),
            ("scenario file".into(), inv.scenario_file.clone()),
            ("engines".into(), engines.join(", ")),
        ],
        command: Some(inv.command.clone()),
        sections,
    })
}

fn summary(sc: &Scenario, results: &[EngineResult]) -> Section {
    let keep: Vec<usize> = (0..SUMMARY_COLUMNS.len())
        .filter(|&i| !LEFT_OUT.contains(&SUMMARY_COLUMNS[i]))
        .collect();
    let header: Vec<String> = keep.iter().map(|&i| SUMMARY_COLUMNS[i].to_string()).collect();
    let key_columns = header
        .iter()
        .enumerate()
        .filter(|(_, h)| KEY_COLUMNS.contains(&h.as_str()))
        .map(|(i, _)| i)
        .collect();
    let rows = results
        .iter()
        .map(|r| {
            let row = summary_row(sc, &r.report, r.wall_s);
            keep.iter().map(|&i| row[i].clone()).collect()
        })
        .collect();
    let flagged_rows = results
        .iter()
        .enumerate()
        .filter(|(_, r)| !r.report.promise_kept)
        .map(|(i, _)| i)
        .collect();
    let mut blocks = vec![
        Block::Table(Table {
            header,
            rows,
            key_columns,
            flagged_rows,
        }),
        Block::Text(
            "The values of summary.csv (its columns are described in the README, \"What a run writes\"), \
             without wall_s, the only one that differs between two runs of the same scenario and seed. \
             A row in red broke its promise."
                .into(),
        ),
    ];
    for r in results {
        let r = &r.report;
        if !r.promise_kept {
            blocks.push(Block::Text(format!(
                "{} broke its promise: it promised {}, the verdict is {}.",
                r.engine,
                r.promised.name(),
                r.verdict.name()
            )));
        }
        if let Some(why) = &r.unfinished {
            blocks.push(Block::Text(format!("{} did not finish: {why}", r.engine)));
        }
    }
    Section {
        id: "summary".into(),
        heading: "Summary".into(),
        blocks,
    }
}

fn comparison(dir: &Path, results: &[EngineResult]) -> Result<Section> {
    let mut blocks = Vec::new();
    let cost = dir.join("cost_recovery.svg");
    if cost.exists() {
        let d = cost_recovery::data(results);
        let x = if d.failure {
            "x: time from the first crash until the sink's latency was back to normal (recovery_s); \
             engines that never got there sit in the grey band on the right"
        } else {
            "no crash in this scenario, so no recovery time: one column per engine"
        };
        blocks.push(Block::Chart {
            caption: format!(
                "cost_recovery.svg: what each engine costs against how fast it recovers. {x}. Top: {}; bottom: {}. \
                 Marker: the guarantee the verdict met.",
                d.cost_label(),
                d.traffic_label()
            ),
            svg: svg(&cost)?,
        });
        let rows = d
            .points
            .iter()
            .map(|p| {
                vec![
                    p.engine.clone(),
                    p.met.label().to_string(),
                    p.recovery_s.map(|s| format!("{s:.3}")).unwrap_or_default(),
                    format!("{:.3}", p.busy_s),
                    d.cost_text(p.cost),
                    format!("{:.3}", p.node_s),
                    p.nodes.map(|n| format!("{n:.2}×")).unwrap_or_default(),
                    p.ft_bytes.to_string(),
                    d.traffic_text(p.traffic),
                ]
            })
            .collect();
        blocks.push(Block::Table(Table {
            header: vec![
                "engine".into(),
                "guarantee met".into(),
                "recovery_s".into(),
                "busy core-seconds".into(),
                d.cost_label().into(),
                "node_seconds".into(),
                "mean nodes up (× none's)".into(),
                "ft_bytes".into(),
                d.traffic_label().into(),
            ],
            rows,
            key_columns: vec![0],
            flagged_rows: Vec::new(),
        }));
    }
    let charts = [
        (
            "latency",
            "latency.svg: p99 (top) and p50 (bottom) sink latency per bucket, every engine, log scale; \
             a red line marks a crash, an orange band a straggler",
        ),
        (
            "throughput",
            "throughput.svg: outputs made visible per second (top) and the source backlog (bottom)",
        ),
        (
            "recovery",
            "recovery.svg: per engine, time from the first crash to detection, to restore and to recovery",
        ),
    ];
    for (file, caption) in charts {
        blocks.push(Block::Chart {
            caption: caption.into(),
            svg: svg(&dir.join(file).with_extension("svg"))?,
        });
    }
    Ok(Section {
        id: "charts".into(),
        heading: "Comparison charts".into(),
        blocks,
    })
}

fn event_row(engine: Option<&str>, e: &ftsim_sim::outcome::EventRow) -> Vec<String> {
    let mut row: Vec<String> = engine.map(str::to_string).into_iter().collect();
    row.extend([
        format!("{:.6}", e.t.as_secs_f64()),
        e.kind.clone(),
        e.node.map(|n| n.to_string()).unwrap_or_default(),
        e.detail.clone(),
    ]);
    row
}

fn fault_events(results: &[EngineResult]) -> Section {
    let rows: Vec<Vec<String>> = results
        .iter()
        .flat_map(|r| {
            r.report
                .events
                .iter()
                .filter(|e| FAULT_EVENTS.contains(&e.kind.as_str()))
                .map(|e| event_row(Some(&r.report.engine), e))
        })
        .collect();
    let blocks = if rows.is_empty() {
        vec![Block::Text("No fault in this run.".into())]
    } else {
        vec![
            Block::Text(format!(
                "The rows of each engine's events.csv that record a fault and its handling ({}). \
                 Each engine's other events are in its section.",
                FAULT_EVENTS.join(", ")
            )),
            Block::Table(Table {
                header: ["engine", "t_s", "kind", "node", "detail"].map(String::from).to_vec(),
                rows,
                key_columns: vec![2],
                flagged_rows: Vec::new(),
            }),
        ]
    };
    Section {
        id: "events".into(),
        heading: "Failure events".into(),
        blocks,
    }
}

fn engine(dir: &Path, r: &EngineResult) -> Result<Section> {
    let rep = &r.report;
    let edir = dir.join(&rep.engine);
    let mut blocks = Vec::new();
    for t in &rep.tables {
        for c in &t.charts {
            blocks.push(Block::Chart {
                caption: format!("{}/{}.svg: {} (from {}.csv)", rep.engine, c.file, c.title, t.name),
                svg: svg(&edir.join(&c.file).with_extension("svg"))?,
            });
        }
    }
    let mut files = vec!["timeseries.csv".to_string(), "events.csv".to_string()];
    files.extend(rep.tables.iter().map(|t| format!("{}.csv", t.name)));
    blocks.push(Block::Text(format!("Tables in {}/: {}.", rep.engine, files.join(", "))));
    let n = rep.events.len();
    let shown = n.min(MAX_EVENT_ROWS);
    let summary = if shown < n {
        format!(
            "events: the first {shown} of {n} rows (all in {}/events.csv)",
            rep.engine
        )
    } else {
        format!("events: {n} rows ({}/events.csv)", rep.engine)
    };
    blocks.push(Block::Folded {
        summary,
        table: Table {
            header: ["t_s", "kind", "node", "detail"].map(String::from).to_vec(),
            rows: rep.events.iter().take(shown).map(|e| event_row(None, e)).collect(),
            key_columns: vec![1],
            flagged_rows: Vec::new(),
        },
    });
    Ok(Section {
        id: format!("engine-{}", rep.engine),
        heading: rep.engine.clone(),
        blocks,
    })
}

fn scenario(inv: &Invocation) -> Section {
    let mut blocks = vec![Block::Pre {
        caption: format!("{}, as read for this run:", inv.scenario_file),
        text: inv.scenario_text.clone(),
    }];
    let mut given: Vec<String> = inv.sets.iter().map(|s| format!("--set {}", shell_quote(s))).collect();
    given.extend(inv.engines.iter().map(|e| format!("--engine {}", shell_quote(e))));
    given.extend(inv.seed.map(|s| format!("--seed {s}")));
    if !given.is_empty() {
        blocks.push(Block::Pre {
            caption: "Changed by the command line, in this order (engines and seed after every --set):".into(),
            text: given.join("\n"),
        });
        if let Some(text) = toml_text::as_run(&inv.scenario_text, &inv.sets, &inv.engines, inv.seed) {
            blocks.push(Block::Pre {
                caption: "The scenario as run: the file with those changes applied (comments left out, \
                          defaults not filled in):"
                    .into(),
                text,
            });
        }
    }
    Section {
        id: "scenario".into(),
        heading: "Scenario".into(),
        blocks,
    }
}
