//! The command line as a new user meets it: engines listing, validate, run and its files.

use std::process::Command;

fn ftsim(args: &[&str]) -> (i32, String, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_ftsim"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("ftsim runs");
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn engines_lists_each_engine_with_its_promise_per_sink_and_its_parameters() {
    let (code, out, _) = ftsim(&["engines"]);
    assert_eq!(code, 0);
    assert!(out.contains("none"));
    assert!(out.contains("running-count") && out.contains("window-count"));
    assert!(out.contains("at-most-once"));
    assert!(out.contains("poll_interval"));
}

#[test]
fn validate_accepts_every_shipped_scenario() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let mut n = 0;
    for e in std::fs::read_dir(dir).expect("scenarios/") {
        let p = e.expect("entry").path();
        if p.extension().is_some_and(|x| x == "toml") {
            let (code, out, err) = ftsim(&["validate", &p.display().to_string()]);
            assert_eq!(code, 0, "{}: {err}", p.display());
            assert!(out.contains("ok"));
            let text = std::fs::read_to_string(&p).expect("read");
            assert!(
                text.starts_with('#'),
                "{} must open with a comment saying what it shows",
                p.display()
            );
            n += 1;
        }
    }
    assert!(n >= 3);
}

#[test]
fn run_prints_a_summary_and_writes_every_file_of_the_output_contract() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("crash");
    let (code, stdout, err) = ftsim(&[
        "run",
        "scenarios/crash.toml",
        "--engine",
        "none",
        "--set",
        "run.duration=20s",
        "--set",
        "faults.0.at=10s",
        "--set",
        "workload.rate=5000",
        "--out",
        &out.display().to_string(),
        "--quiet",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(stdout.contains("verdict") && stdout.contains("none"), "{stdout}");
    for f in [
        "summary.csv",
        "latency.png",
        "latency.svg",
        "throughput.png",
        "throughput.svg",
        "recovery.png",
        "recovery.svg",
        "report.html",
        "none/timeseries.csv",
        "none/events.csv",
    ] {
        let p = out.join(f);
        assert!(p.exists(), "{f} missing");
        assert!(std::fs::metadata(&p).expect("stat").len() > 100, "{f} is nearly empty");
    }
    let summary = std::fs::read_to_string(out.join("summary.csv")).expect("summary");
    let header: Vec<&str> = summary.lines().next().unwrap_or("").split(',').collect();
    for col in [
        "scenario",
        "engine",
        "seed",
        "sink",
        "promised",
        "verdict",
        "records_in",
        "records_out",
        "lost",
        "duplicated",
        "wrong",
        "throughput_rps",
        "latency_p50_ms",
        "latency_p99_ms",
        "latency_max_ms",
        "failures",
        "detect_s",
        "restore_s",
        "recovery_s",
        "ft_messages",
        "ft_bytes",
        "checkpoint_bytes",
        "node_seconds",
        "busy_core_s",
        "sim_events",
        "wall_s",
    ] {
        assert!(header.contains(&col), "summary.csv lacks {col}");
    }
    let ts = std::fs::read_to_string(out.join("none/timeseries.csv")).expect("timeseries");
    assert!(ts.starts_with("t_s,throughput_rps,latency_p50_ms,latency_p99_ms,latency_max_ms,backlog"));
    let ev = std::fs::read_to_string(out.join("none/events.csv")).expect("events");
    assert!(
        ev.starts_with("t_s,kind,node,detail")
            && ev.contains("crash")
            && ev.contains("detected")
            && ev.contains("restored")
    );
    let png = std::fs::read(out.join("latency.png")).expect("png");
    assert_eq!(&png[..4], b"\x89PNG");
    let svg = std::fs::read_to_string(out.join("latency.svg")).expect("svg");
    assert!(
        svg.contains("<text") && svg.contains("p99 latency"),
        "the SVG carries its labels as text"
    );
}

#[test]
fn rerunning_into_an_earlier_output_directory_replaces_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("o").display().to_string();
    let args = [
        "run",
        "scenarios/steady.toml",
        "--set",
        "run.duration=8s",
        "--set",
        "workload.rate=2000",
        "--out",
        &out,
        "--quiet",
    ];
    assert_eq!(ftsim(&args).0, 0);
    assert_eq!(ftsim(&args).0, 0, "a second run may overwrite its own earlier output");
}
