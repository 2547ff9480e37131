//! Same scenario and seed, same bytes out (only wall_s may differ); another seed, other results.

use std::path::Path;
use std::process::Command;

fn run(out: &Path, extra: &[&str]) {
    let mut args = vec!["run", "scenarios/crash.toml", "--quiet", "--out"];
    let o = out.display().to_string();
    args.push(&o);
    args.extend_from_slice(extra);
    let st = Command::new(env!("CARGO_BIN_EXE_ftsim"))
        .args(&args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("runs");
    assert!(st.status.success(), "{}", String::from_utf8_lossy(&st.stderr));
}

fn without_wall_s(csv: &str) -> String {
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap_or("").split(',').collect();
    let wall = header.iter().position(|h| *h == "wall_s");
    csv.lines()
        .map(|l| {
            l.split(',')
                .enumerate()
                .filter(|(i, _)| Some(*i) != wall)
                .map(|(_, c)| c)
                .collect::<Vec<_>>()
                .join(",")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn csv_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut v = Vec::new();
    for e in walk(dir) {
        if e.extension().is_some_and(|x| x == "csv") {
            v.push(e.strip_prefix(dir).map(Path::to_path_buf).unwrap_or(e));
        }
    }
    v.sort();
    v
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() { out.extend(walk(&p)) } else { out.push(p) }
    }
    out
}

#[test]
fn two_runs_of_crash_toml_give_byte_identical_csv_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    run(&a, &[]);
    run(&b, &[]);
    let files = csv_files(&a);
    assert_eq!(files, csv_files(&b));
    assert!(files.len() >= 3);
    for f in files {
        let x = std::fs::read_to_string(a.join(&f)).expect("read");
        let y = std::fs::read_to_string(b.join(&f)).expect("read");
        if f.ends_with("summary.csv") {
            assert_eq!(
                without_wall_s(&x),
                without_wall_s(&y),
                "summary.csv differs beyond wall_s"
            );
        } else {
            assert!(x == y, "{} differs between two identical runs", f.display());
        }
    }
}

#[test]
fn another_seed_gives_another_workload() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    let short = ["--set", "run.duration=20s", "--set", "faults.0.at=10s"];
    run(&a, &short);
    let mut other = short.to_vec();
    other.extend(["--seed", "8"]);
    run(&b, &other);
    let x = std::fs::read_to_string(a.join("none/timeseries.csv")).expect("read");
    let y = std::fs::read_to_string(b.join("none/timeseries.csv")).expect("read");
    assert_ne!(x, y);
}

#[test]
fn the_same_run_on_two_threads_at_once_gives_identical_reports() {
    let text = r#"
[run]
duration = "15s"
seed = 5
[cluster]
nodes = 4
[workload]
rate = 3000
profile = "poisson"
key_dist = "zipf"
out_of_order = 0.2
[job]
kind = "window-count"
window = "2s"
[[faults]]
at = "6s"
crash = 2
[[faults]]
at = "3s"
straggler = 1
slowdown = 4.0
for = "5s"
"#;
    let sc = crate::support::scenario(text);
    let (a, b) = std::thread::scope(|s| {
        let h1 = s.spawn(|| crate::support::run(&sc, "none"));
        let h2 = s.spawn(|| crate::support::run(&sc, "none"));
        (h1.join().expect("thread"), h2.join().expect("thread"))
    });
    assert_eq!(a.series, b.series, "{}", crate::support::repro(&sc));
    assert_eq!(a.events, b.events);
    assert_eq!(a.check, b.check);
    assert_eq!(a.stats.sim_events, b.stats.sim_events);
}
