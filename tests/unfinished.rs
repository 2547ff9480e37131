//! A run that stops at the drain limit reads as not finished, never as lost data: its verdict is
//! `not-finished`, its promise is judged only on what it repeated, the summary table says why,
//! and `ftsim run` exits with status 3 (1 when a promise is broken).

use std::process::Command;

#[test]
fn a_run_too_slow_for_its_drain_limit_is_not_finished_rather_than_lossy() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("slow");
    let o = Command::new(env!("CARGO_BIN_EXE_ftsim"))
        .args([
            "run",
            "scenarios/steady.toml",
            "--quiet",
            "--engine",
            "flink-abs",
            "--engine",
            "dstream",
        ])
        .args([
            "--set",
            "run.duration=10s",
            "--set",
            "cluster.bandwidth=2Mbit/s",
            "--set",
            "run.drain=5s",
        ])
        .arg("--out")
        .arg(&out)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("runs");
    assert_eq!(o.status.code(), Some(3), "{}", String::from_utf8_lossy(&o.stderr));
    let table = String::from_utf8_lossy(&o.stdout);
    assert!(
        table.contains("not-finished") && table.contains("DID NOT FINISH"),
        "{table}"
    );
    assert!(!table.contains("BROKEN"), "{table}");
    let summary = std::fs::read_to_string(out.join("summary.csv")).expect("summary.csv");
    let header: Vec<&str> = summary.lines().next().expect("header").split(',').collect();
    let col = |n: &str| header.iter().position(|h| *h == n).expect("column");
    for line in summary.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        assert_eq!(f[col("verdict")], "not-finished", "{line}");
        assert_eq!(f[col("promise_kept")], "true", "{line}");
        assert_eq!(f[col("finished")], "false", "{line}");
        assert!(
            f[col("lost")].parse::<u64>().expect("lost") > 0,
            "outputs were still on their way"
        );
    }
}
