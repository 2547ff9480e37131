//! report.html and the cost-versus-recovery chart: what a run's page holds, that it needs nothing
//! from outside, and that the same run gives the same page.

use std::path::{Path, PathBuf};
use std::process::Command;

/// A small scenario with a crash and two engines; its comment carries characters HTML escapes.
const SCENARIO: &str = r#"# report test: <b>bold</b> & "quoted" text must reach the page escaped.
[run]
name = "report-test"
duration = "6s"
engines = ["none", "flink-abs"]

[cluster]
nodes = 2
cores = 2

[workload]
rate = 2000
keys = 50

[job]
kind = "window-count"
window = "1s"

[[faults]]
at = "3s"
crash = 1
"#;

fn ftsim(args: &[&str]) {
    let o = Command::new(env!("CARGO_BIN_EXE_ftsim"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("ftsim runs");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

/// Writes the scenario into `dir`, runs it with `extra` arguments into `dir/out` and returns the
/// output directory and the arguments given.
fn run(dir: &Path, text: &str, extra: &[&str]) -> (PathBuf, Vec<String>) {
    let file = dir.join("report-test.toml");
    std::fs::write(&file, text).expect("write the scenario");
    let out = dir.join("out");
    let mut args: Vec<String> = [
        "run",
        &file.display().to_string(),
        "--quiet",
        "--out",
        &out.display().to_string(),
    ]
    .map(String::from)
    .to_vec();
    args.extend(extra.iter().map(|s| s.to_string()));
    ftsim(&args.iter().map(String::as_str).collect::<Vec<_>>());
    (out, args)
}

fn page(out: &Path) -> String {
    std::fs::read_to_string(out.join("report.html")).expect("report.html is written")
}

fn svg_files(dir: &Path) -> Vec<PathBuf> {
    let mut v = Vec::new();
    for e in std::fs::read_dir(dir).expect("read dir").flatten() {
        let p = e.path();
        if p.is_dir() {
            v.extend(svg_files(&p));
        } else if p.extension().is_some_and(|x| x == "svg") {
            v.push(p);
        }
    }
    v.sort();
    v
}

#[test]
fn a_run_writes_report_html_holding_every_chart_it_wrote_as_inline_svg() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (out, _) = run(dir.path(), SCENARIO, &[]);
    let html = page(&out);
    assert!(html.starts_with("<!DOCTYPE html>"));
    let charts = svg_files(&out);
    // latency, throughput, recovery, cost_recovery and flink-abs's two checkpoint charts.
    assert!(charts.len() >= 6, "{charts:?}");
    for f in &charts {
        let svg = std::fs::read_to_string(f).expect("read svg");
        assert!(html.contains(svg.trim()), "{} is not in the page", f.display());
    }
    assert!(html.contains(&format!("data-charts=\"{}\"", charts.len())));
}

#[test]
fn the_report_shows_the_summary_values_the_command_and_the_scenario_text_escaped() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (out, args) = run(dir.path(), SCENARIO, &["--set", "workload.keys = 40", "--seed", "3"]);
    let html = page(&out);
    let summary = std::fs::read_to_string(out.join("summary.csv")).expect("summary.csv");
    let mut lines = summary.lines();
    let header: Vec<&str> = lines.next().expect("header").split(',').collect();
    for col in header.iter().filter(|c| **c != "wall_s") {
        assert!(html.contains(&format!(">{col}</th>")), "column {col} is missing");
    }
    assert!(
        !html.contains(">wall_s</th>"),
        "wall_s differs from run to run: left out"
    );
    for line in lines {
        for (col, value) in header.iter().zip(line.split(',')) {
            if *col != "wall_s" && !value.is_empty() {
                assert!(html.contains(&format!(">{value}</td>")), "{col} = {value} is missing");
            }
        }
    }
    let command = format!(
        "ftsim run {} --quiet --out {} --set &#39;workload.keys = 40&#39; --seed 3",
        args[1], args[4]
    );
    assert!(html.contains(&command), "the command is missing: {command}");
    assert!(html.contains("&lt;b&gt;bold&lt;/b&gt; &amp; &quot;quoted&quot; text"));
    assert!(!html.contains("<b>bold</b>"), "the scenario's text is not escaped");
    assert!(
        html.contains("keys = 40") && html.contains("seed = 3"),
        "the scenario as run"
    );
    assert!(html.contains(env!("CARGO_PKG_VERSION")));
}

#[test]
fn the_report_needs_nothing_from_outside_the_page() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (out, _) = run(dir.path(), SCENARIO, &[]);
    let html = page(&out).replace("xmlns=\"http://www.w3.org/2000/svg\"", "");
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "an address is left"
    );
    for tag in ["<link", "<img", "<iframe", "<object", "src=", "@import", "url("] {
        assert!(!html.contains(tag), "the page holds {tag}");
    }
}

#[test]
fn two_runs_of_the_same_scenario_write_the_same_report_byte_for_byte() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (out, _) = run(dir.path(), SCENARIO, &[]);
    let first = page(&out);
    let (out, _) = run(dir.path(), SCENARIO, &[]);
    assert!(first == page(&out), "report.html differs between two identical runs");
}

#[test]
fn the_cost_recovery_chart_is_drawn_for_two_engines_or_more_and_says_when_nothing_failed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (out, _) = run(dir.path(), SCENARIO, &[]);
    let svg = std::fs::read_to_string(out.join("cost_recovery.svg")).expect("cost_recovery.svg");
    for text in [
        "recovery time of the first failure",
        "× none",
        "% of none",
        "none",
        "flink-abs",
    ] {
        assert!(svg.contains(text), "the chart lacks {text:?}");
    }
    let (out, _) = run(dir.path(), SCENARIO, &["--set", "faults=[]"]);
    let svg = std::fs::read_to_string(out.join("cost_recovery.svg")).expect("cost_recovery.svg");
    assert!(svg.contains("no failure in this scenario"));
    let (out, _) = run(dir.path(), SCENARIO, &["--engine", "flink-abs"]);
    assert!(
        !out.join("cost_recovery.svg").exists(),
        "one engine: nothing to compare"
    );
    assert!(page(&out).contains("data-charts=\""));
}
