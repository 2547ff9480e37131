//! `ftsim sweep` and `ftsim merge` through the binary: shards merged give the unsharded table, a
//! rerun reuses the complete runs, and mistakes are refused before anything is written.

use std::path::Path;
use std::process::Command;

/// A small crash scenario: two nodes, three seconds of input, two engines (each run takes
/// milliseconds).
const TINY: &str = r#"
[run]
name = "tiny"
seed = 3
duration = "3s"
engines = ["none", "dstream"]

[cluster]
nodes = 2
cores = 2

[workload]
rate = 1000
keys = 50

[job]
kind = "window-count"
sink = "idempotent"
window = "500ms"

[[faults]]
at = "1s"
crash = 1
"#;

/// The sweep the tests run: 3 points × 2 seeds = 6 runs.
const VARY: [&str; 4] = ["--vary", "cluster.detection_delay=200ms,1s,2s", "--seeds", "2"];

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

fn ftsim(dir: &Path, args: &[&str]) -> Out {
    let o = Command::new(env!("CARGO_BIN_EXE_ftsim"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("ftsim runs");
    Out {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

/// A temporary directory holding tiny.toml.
fn workdir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("tiny.toml"), TINY).expect("write scenario");
    dir
}

/// `ftsim sweep tiny.toml` with the tests' varies and `extra`, into `out`.
fn sweep(dir: &Path, out: &str, extra: &[&str]) -> Out {
    let mut args = vec!["sweep", "tiny.toml", "--quiet", "--out", out];
    args.extend(VARY);
    args.extend(extra);
    ftsim(dir, &args)
}

/// sweep.csv with its last column, wall_s, cut off every line.
fn table_without_wall(path: &Path) -> String {
    let text = std::fs::read_to_string(path).expect("sweep.csv");
    assert!(text.lines().next().is_some_and(|h| h.ends_with(",wall_s")), "{text}");
    text.lines()
        .map(|l| l.rsplit_once(',').map_or(l, |(head, _)| head))
        .collect::<Vec<_>>()
        .join("\n")
}

fn run_dirs(out: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(out.join("runs"))
        .expect("runs/")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn a_sweep_run_as_three_shards_in_separate_processes_and_merged_gives_the_unsharded_table_byte_for_byte() {
    let dir = workdir();
    let p = dir.path();
    let whole = sweep(p, "whole", &["--jobs", "2"]);
    assert_eq!(whole.code, 0, "{}", whole.stderr);
    assert!(
        whole.stdout.contains("3 points × 2 seed(s) = 6 runs; ran 6"),
        "{}",
        whole.stdout
    );
    for i in 0..3 {
        let shard = format!("{i}/3");
        let out = format!("shard{i}");
        let s = sweep(p, &out, &["--shard", &shard, "--jobs", "1"]);
        assert_eq!(s.code, 0, "{}", s.stderr);
        assert_eq!(
            run_dirs(&p.join(&out)).len(),
            2,
            "shard {shard} holds runs {i} and {}",
            i + 3
        );
    }
    let merged = ftsim(p, &["merge", "shard0", "shard1", "shard2", "--out", "merged"]);
    assert_eq!(merged.code, 0, "{}", merged.stderr);

    let want = table_without_wall(&p.join("whole/sweep.csv"));
    assert_eq!(table_without_wall(&p.join("merged/sweep.csv")), want);
    let lines: Vec<&str> = want.lines().collect();
    assert_eq!(lines.len(), 1 + 6 * 2, "a row per run and engine");
    assert!(lines[0].starts_with("point,cluster.detection_delay,scenario,engine,seed,"));
    assert!(lines[1].starts_with("0,200ms,tiny,none,3,") && lines[2].starts_with("0,200ms,tiny,dstream,3,"));
    assert!(lines[3].starts_with("0,200ms,tiny,none,4,") && lines[12].starts_with("2,2s,tiny,dstream,4,"));
    assert_eq!(run_dirs(&p.join("merged")), run_dirs(&p.join("whole")));
    for out in ["whole", "merged"] {
        let png = std::fs::read(p.join(out).join("sweep_recovery_s.png")).expect("chart");
        assert_eq!(&png[..4], b"\x89PNG");
    }
}

#[test]
fn a_rerun_runs_only_the_runs_whose_directory_is_missing_or_holds_another_point() {
    let dir = workdir();
    let p = dir.path();
    assert_eq!(sweep(p, "out", &[]).code, 0);
    let before = table_without_wall(&p.join("out/sweep.csv"));
    let runs = p.join("out/runs");
    std::fs::remove_dir_all(runs.join("p00001-seed4")).expect("remove a run");
    let point = runs.join("p00002-seed3/point.toml");
    let text = std::fs::read_to_string(&point).expect("point.toml");
    std::fs::write(&point, text.replace("detection_delay=2s", "detection_delay=3s")).expect("tamper");
    let untouched = runs.join("p00000-seed3/summary.csv");
    let stamp = std::fs::metadata(&untouched).and_then(|m| m.modified()).expect("mtime");

    let again = sweep(p, "out", &[]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert!(again.stdout.contains("ran 2, 4 already complete"), "{}", again.stdout);
    assert_eq!(
        std::fs::metadata(&untouched).and_then(|m| m.modified()).expect("mtime"),
        stamp,
        "a complete run is not written again"
    );
    assert!(
        std::fs::read_to_string(&point)
            .expect("point.toml")
            .contains("detection_delay=2s")
    );
    assert_eq!(table_without_wall(&p.join("out/sweep.csv")), before);
    assert_eq!(run_dirs(&p.join("out")).len(), 6);
}

#[test]
fn a_bad_vary_path_value_shard_or_metric_exits_2_with_one_line_and_writes_nothing() {
    let dir = workdir();
    let p = dir.path();
    let cases: [(&[&str], &str); 8] = [
        (
            &["--vary", "cluster.nodez=2,3"],
            "--vary cluster.nodez=2,3: value 2: cluster.nodez: unknown field",
        ),
        (
            &["--vary", "cluster.nodes=2,0"],
            "--vary cluster.nodes=2,0: value 0: cluster.nodes: 0 is out of range",
        ),
        (
            &["--vary", "cluster.nodes=1,2"],
            "point 0 (cluster.nodes=1): tiny.toml: faults[0].crash",
        ),
        (
            &["--vary", "cluster.nodes"],
            "--vary cluster.nodes: expected path=values",
        ),
        (
            &["--vary", "cluster.nodes=2", "--shard", "3/3"],
            "--shard 3/3: shard 3 of 3 does not exist",
        ),
        (&["--vary", "cluster.nodes=2", "--shard", "1-3"], "--shard 1-3: not I/N"),
        (
            &["--vary", "cluster.nodes=2", "--metric", "verdict"],
            "--metric verdict: not a numeric column",
        ),
        (
            &["--vary", "cluster.nodes=2", "--metric", "p99"],
            "allowed: seed, records_in",
        ),
    ];
    for (args, says) in cases {
        let mut all = vec!["sweep", "tiny.toml", "--quiet", "--out", "out"];
        all.extend(args);
        let r = ftsim(p, &all);
        assert_eq!(r.code, 2, "{args:?}: {}", r.stderr);
        assert_eq!(r.stderr.lines().count(), 1, "{args:?}: one line: {}", r.stderr);
        assert!(r.stderr.contains(says), "{args:?}: {}", r.stderr);
        assert!(r.stdout.is_empty(), "{args:?}: {}", r.stdout);
        assert!(!p.join("out").exists(), "{args:?}: nothing written");
    }
    std::fs::create_dir(p.join("mine")).expect("mkdir");
    std::fs::write(p.join("mine/notes.txt"), "keep").expect("write");
    let r = sweep(p, "mine", &[]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("not an earlier ftsim sweep"), "{}", r.stderr);
    assert_eq!(
        std::fs::read_dir(p.join("mine")).expect("dir").count(),
        1,
        "left as it was"
    );
}

#[test]
fn merge_refuses_shards_of_different_sweeps_a_shard_given_twice_and_missing_runs() {
    let dir = workdir();
    let p = dir.path();
    for (out, shard, seeds) in [("a0", "0/2", "2"), ("a1", "1/2", "2"), ("b1", "1/2", "1")] {
        let r = ftsim(
            p,
            &[
                "sweep",
                "tiny.toml",
                "--quiet",
                "--out",
                out,
                "--vary",
                "cluster.detection_delay=200ms,1s,2s",
                "--seeds",
                seeds,
                "--shard",
                shard,
            ],
        );
        assert_eq!(r.code, 0, "{}", r.stderr);
    }
    let refused = |args: &[&str], says: &str| {
        let mut all = vec!["merge"];
        all.extend(args);
        all.extend(["--out", "merged"]);
        let r = ftsim(p, &all);
        assert_eq!(r.code, 2, "{args:?}: {}", r.stderr);
        assert_eq!(r.stderr.lines().count(), 1, "{args:?}: {}", r.stderr);
        assert!(r.stderr.contains(says), "{args:?}: {}", r.stderr);
        assert!(!p.join("merged").exists(), "{args:?}: nothing written");
    };
    refused(
        &["a0", "b1"],
        "a0 and b1 are not shards of the same sweep: their --seeds differ (2 vs 1)",
    );
    refused(&["a0", "a1", "a1"], "a1 (shard 1/2) and a1 (shard 1/2) both hold run 1");
    refused(
        &["a0"],
        "3 run(s) missing: point 0 (cluster.detection_delay=200ms) seed 4 (in shard 1/2, not given)",
    );
    std::fs::remove_dir_all(p.join("a1/runs/p00001-seed4")).expect("remove a run");
    refused(
        &["a0", "a1"],
        "1 run(s) missing: point 1 (cluster.detection_delay=1s) seed 4 (",
    );
    refused(&["a0", "tiny.toml"], "tiny.toml: no readable sweep.toml");
}

#[test]
fn vary_values_split_at_commas_outside_brackets_and_quotes_and_a_shard_is_i_of_n() {
    use ftsim::sweep::spec::{Shard, Vary};
    let v = Vary::parse(r#"faults.0.crash = [1, 2], 3, "a,b""#).expect("parses");
    assert_eq!(v.path, "faults.0.crash");
    assert_eq!(v.values, ["[1, 2]", "3", r#""a,b""#]);
    assert!(
        Vary::parse("faults.0.crash=[1,2").is_err(),
        "an open bracket is refused"
    );
    assert!(Vary::parse("cluster.nodes=2,,4").is_err(), "an empty value is refused");
    let s = Shard::parse("1/3").expect("parses");
    let mine: Vec<usize> = (0..9).filter(|&i| s.holds(i)).collect();
    assert_eq!(mine, [1, 4, 7]);
    for bad in ["3/3", "0/0", "-1/2", "1", "a/b"] {
        assert!(Shard::parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn a_sweep_manifest_reads_back_as_it_was_written_and_names_each_run() {
    use ftsim::sweep::manifest::Manifest;
    use ftsim::sweep::spec::{Shard, Vary};
    let m = Manifest {
        ftsim: "0.1.0".into(),
        scenario: "scenarios/a \"b\".toml".into(),
        scenario_hash: ftsim::sweep::manifest::text_hash(b"[run]"),
        name: "a".into(),
        sets: vec!["faults=[]".into()],
        engines: vec!["none".into()],
        varies: vec![
            Vary::parse("cluster.nodes=2,4").expect("vary"),
            Vary::parse("job.sink=append,idempotent,transactional").expect("vary"),
        ],
        seeds: 2,
        base_seeds: vec![u64::MAX - 1; 6],
        metric: "recovery_s".into(),
        shard: Shard { index: 1, count: 4 },
    };
    assert_eq!(Manifest::parse(&m.to_toml()), Ok(m.clone()));
    assert_eq!(m.runs(), 12);
    assert_eq!(m.values(4), ["4", "idempotent"], "the first --vary varies slowest");
    let r = m.run(9);
    assert_eq!((r.point, r.seed), (4, u64::MAX));
    assert_eq!(r.dir_name(), format!("p00004-seed{}", u64::MAX));
    assert_eq!(m.shard_runs().iter().map(|r| r.index).collect::<Vec<_>>(), [1, 5, 9]);
}

#[test]
fn a_table_metric_charts_the_mean_or_max_of_an_engine_tables_column_per_run() {
    use ftsim::sweep::metric::Metric;
    let dir = workdir();
    let p = dir.path();
    let metric = "dstream/batches.processing_time_s";
    let r = sweep(p, "out", &["--metric", metric]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let png = std::fs::read(p.join("out/sweep_dstream_batches_processing_time_s.png")).expect("chart");
    assert_eq!(&png[..4], b"\x89PNG");
    let header = std::fs::read_to_string(p.join("out/sweep.csv")).expect("sweep.csv");
    assert!(
        header.lines().next().is_some_and(|h| h.ends_with(",end_s,wall_s")),
        "sweep.csv keeps the summary columns only"
    );

    let run = p.join("out/runs/p00000-seed3");
    let mut table = csv::Reader::from_path(run.join("dstream/batches.csv")).expect("batches.csv");
    let times: Vec<f64> = table
        .records()
        .map(|rec| rec.expect("row")[6].parse().expect("number"))
        .collect();
    assert!(times.len() > 3, "{times:?}");
    let mean = times.iter().sum::<f64>() / times.len() as f64;
    let max = times.iter().copied().fold(f64::MIN, f64::max);
    let rows = csv::Reader::from_path(run.join("summary.csv"))
        .expect("summary.csv")
        .records()
        .map(|rec| rec.expect("row").iter().map(String::from).collect::<Vec<_>>())
        .collect::<Vec<_>>();
    let dstream = rows.iter().find(|r| r[1] == "dstream").expect("dstream row");
    let none = rows.iter().find(|r| r[1] == "none").expect("none row");
    let value = |text: &str, row: &[String]| Metric::parse(text).expect("parses").value(&run, row);
    let got = value(metric, dstream).expect("a value");
    assert!((got - mean).abs() < 1e-9, "{got} vs {mean}");
    assert_eq!(value(&format!("{metric}:max"), dstream), Some(max));
    assert!(!Metric::parse(metric).expect("parses").applies("none"));
    assert_eq!(value("records_in", none), none[7].parse().ok());
}

#[test]
fn a_table_metric_the_sweep_cannot_chart_exits_2_naming_what_exists() {
    let dir = workdir();
    let p = dir.path();
    let cases = [
        (
            "dstream/batchez.records",
            "dstream writes no table batchez; its tables: batches (batch, batch_time_s,",
        ),
        (
            "dstream/batches.recordz",
            "dstream's table batches has no column recordz; its columns: batch, batch_time_s,",
        ),
        (
            "flink-abs/checkpoints.duration_s",
            "flink-abs is not among the sweep's engines (none, dstream)",
        ),
        ("dstream/batches", "expected ENGINE/TABLE.COLUMN[:max]"),
        ("dstream/batches.records:min", "unknown summary :min"),
    ];
    for (metric, says) in cases {
        let r = sweep(p, "out", &["--metric", metric]);
        assert_eq!(r.code, 2, "{metric}: {}", r.stderr);
        assert_eq!(r.stderr.lines().count(), 1, "{metric}: one line: {}", r.stderr);
        assert!(r.stderr.contains(says), "{metric}: {}", r.stderr);
        assert!(!p.join("out").exists(), "{metric}: nothing written");
    }
    assert_eq!(sweep(p, "whole", &[]).code, 0);
    let r = ftsim(
        p,
        &[
            "merge",
            "whole",
            "--out",
            "merged",
            "--metric",
            "dstream/batches.recordz",
        ],
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("has no column recordz; its columns: batch,"),
        "{}",
        r.stderr
    );
    assert!(!p.join("merged").exists());
    let r = ftsim(
        p,
        &[
            "merge",
            "whole",
            "--out",
            "merged",
            "--metric",
            "dstream/batches.records:max",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(p.join("merged/sweep_dstream_batches_records_max.svg").exists());
}

#[test]
fn runs_that_crashed_and_did_not_recover_are_marked_above_the_values_of_the_recovery_chart() {
    let dir = workdir();
    let p = dir.path();
    // Three seconds of input: no engine's latency settles for five buckets after the crash.
    assert_eq!(sweep(p, "out", &[]).code, 0);
    let mut table = csv::Reader::from_path(p.join("out/sweep.csv")).expect("sweep.csv");
    let header = table.headers().expect("header").clone();
    let col = |name: &str| header.iter().position(|c| c == name).expect("column");
    let (failures, recovery) = (col("failures"), col("recovery_s"));
    for row in table.records() {
        let row = row.expect("row");
        assert_eq!((&row[failures], &row[recovery]), ("1", ""), "a crash, no recovery");
    }
    let svg = std::fs::read_to_string(p.join("out/sweep_recovery_s.svg")).expect("chart");
    assert!(
        svg.contains("not recovered within the run"),
        "legend of the hollow circles"
    );
    assert!(svg.contains("<circle"), "the hollow circles");
    assert_eq!(sweep(p, "out", &["--metric", "restore_s"]).code, 0);
    let svg = std::fs::read_to_string(p.join("out/sweep_restore_s.svg")).expect("chart");
    assert!(!svg.contains("not restored"), "every run restored: nothing to mark");
}

#[test]
fn a_sweep_directory_holds_a_self_contained_report_with_its_chart_every_run_and_its_command() {
    let dir = workdir();
    let p = dir.path();
    let s = sweep(p, "whole", &[]);
    assert_eq!(s.code, 0, "{}", s.stderr);
    let page = std::fs::read_to_string(p.join("whole/report.html")).expect("report.html");
    let svg = std::fs::read_to_string(p.join("whole/sweep_recovery_s.svg")).expect("chart");
    assert!(page.contains(svg.trim()), "the chart is inlined");
    assert!(
        page.contains("ftsim sweep tiny.toml --vary cluster.detection_delay=200ms,1s,2s --seeds 2"),
        "the command that makes the sweep again"
    );
    for run in run_dirs(&p.join("whole")) {
        assert!(
            p.join("whole/runs").join(&run).join("report.html").is_file(),
            "{run} has its own page"
        );
    }
    // A row per run and engine: point 2's value shows in each of its rows.
    assert_eq!(page.matches(">2s</td>").count(), 2 * 2, "{page}");
    let again = sweep(p, "again", &[]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    let twice = std::fs::read_to_string(p.join("again/report.html")).expect("report.html");
    assert_eq!(page, twice, "the same sweep gives the same page");
}
