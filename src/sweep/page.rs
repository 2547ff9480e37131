//! report.html of a sweep directory: the chart, the table of every run and how to make the sweep
//! again, on one self-contained page (the same page builder as a run's report). Each run's own
//! report.html, under `runs/`, shows that run in full.

use super::chart::chart_stem;
use super::manifest::Manifest;
use super::table::{RunRows, cell, header};
use crate::output::report::{Block, Page, Section, Table, shell_command};
use anyhow::{Context, Result};
use std::path::Path;

/// The file's name in a sweep directory.
pub const PAGE: &str = "report.html";

/// Writes `dir/report.html` for the sweep `m` of `runs`, whose chart is already drawn.
pub fn write(dir: &Path, m: &Manifest, runs: &[RunRows]) -> Result<()> {
    let svg_path = dir.join(format!("{}.svg", chart_stem(&m.metric)));
    let svg = std::fs::read_to_string(&svg_path).with_context(|| format!("reading {}", svg_path.display()))?;
    let path = dir.join(PAGE);
    std::fs::write(&path, page(m, runs, svg).render()).with_context(|| format!("writing {}", path.display()))
}

/// The `ftsim sweep` command that makes this sweep (this shard of it) again.
fn command(m: &Manifest) -> String {
    let mut args = vec!["ftsim".to_string(), "sweep".into(), m.scenario.clone()];
    for v in &m.varies {
        args.extend(["--vary".into(), v.to_string()]);
    }
    args.extend(["--seeds".into(), m.seeds.to_string()]);
    for s in &m.sets {
        args.extend(["--set".into(), s.clone()]);
    }
    for e in &m.engines {
        args.extend(["--engine".into(), e.clone()]);
    }
    args.extend(["--metric".into(), m.metric.clone()]);
    if m.shard.count > 1 {
        args.extend(["--shard".into(), m.shard.to_string()]);
    }
    shell_command(&args)
}

fn page(m: &Manifest, runs: &[RunRows], svg: String) -> Page {
    let head = header(m);
    let wall = head.iter().position(|h| h == "wall_s");
    let mut table = Table {
        header: head.iter().filter(|h| *h != "wall_s").cloned().collect(),
        ..Table::default()
    };
    let varied = m.varies.len();
    // point, the varied values, then the summary's engine, verdict and promise_kept.
    let wanted = ["engine", "verdict", "promise_kept", m.metric.as_str()];
    table.key_columns = (0..=varied)
        .chain(
            table
                .header
                .iter()
                .enumerate()
                .filter(|(_, h)| wanted.contains(&h.as_str()))
                .map(|(i, _)| i),
        )
        .collect();
    for r in runs {
        let values = m.values(r.id.point);
        for row in &r.rows {
            if cell(row, "promise_kept") == "false" {
                table.flagged_rows.push(table.rows.len());
            }
            let mut line: Vec<String> = std::iter::once(r.id.point.to_string())
                .chain(values.iter().map(|v| v.to_string()))
                .chain(row.iter().cloned())
                .collect();
            if let Some(w) = wall {
                line.remove(w);
            }
            table.rows.push(line);
        }
    }
    let points = m.varies.iter().map(|v| v.values.len()).product::<usize>();
    Page {
        title: format!("ftsim sweep: {}", m.name),
        subtitle: Some(format!(
            "{points} points × {} seed(s); {} runs here{}",
            m.seeds,
            runs.len(),
            if m.shard.count > 1 {
                format!(" (shard {})", m.shard)
            } else {
                String::new()
            }
        )),
        facts: vec![
            ("ftsim version".into(), m.ftsim.clone()),
            ("scenario file".into(), m.scenario.clone()),
            (
                "varied".into(),
                m.varies.iter().map(|v| v.to_string()).collect::<Vec<_>>().join("; "),
            ),
            ("metric".into(), m.metric.clone()),
        ],
        command: Some(command(m)),
        sections: vec![
            Section {
                id: "chart".into(),
                heading: "Chart".into(),
                blocks: vec![Block::Chart {
                    caption: format!("{}.svg", chart_stem(&m.metric)),
                    svg,
                }],
            },
            Section {
                id: "runs".into(),
                heading: "Every run".into(),
                blocks: vec![
                    Block::Text(
                        "sweep.csv without wall_s (the only column that differs between two sweeps of the same \
                         command). A row in red broke its promise."
                            .into(),
                    ),
                    Block::Table(table),
                    Block::Text(
                        "Each run's own page, with its charts, tables and scenario, is \
                         runs/pPPPPP-seedS/report.html (P the point, S the seed)."
                            .into(),
                    ),
                ],
            },
        ],
    }
}
