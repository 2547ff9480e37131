//! Bad input: every mistake gets one clear line naming the file, the field and what is allowed,
//! exit code 2, no panic, and no output directory.

use std::path::{Path, PathBuf};
use std::process::Command;

const GOOD: &str = r#"
[run]
duration = "10s"
[cluster]
nodes = 4
[workload]
rate = 1000
[job]
kind = "running-count"
"#;

struct Outcome {
    code: Option<i32>,
    stderr: String,
    out_exists: bool,
}

fn ftsim(args: &[&str], dir: &Path) -> Outcome {
    let out = dir.join("out");
    let mut full: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    if args.first() == Some(&"run") {
        full.extend(["--out".into(), out.display().to_string(), "--quiet".into()]);
    }
    let o = Command::new(env!("CARGO_BIN_EXE_ftsim"))
        .args(&full)
        .output()
        .expect("ftsim runs");
    Outcome {
        code: o.status.code(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        out_exists: out.exists(),
    }
}

fn write(dir: &Path, text: &str) -> PathBuf {
    let p = dir.join("s.toml");
    std::fs::write(&p, text).expect("write scenario");
    p
}

/// Runs `ftsim run` on `text` with extra args; asserts exit 2, one line mentioning every `needles`,
/// and returns that line.
fn refused(text: &str, extra: &[&str], needles: &[&str]) -> String {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = write(dir.path(), text);
    let f = file.display().to_string();
    let mut args = vec!["run", f.as_str()];
    args.extend_from_slice(extra);
    let o = ftsim(&args, dir.path());
    assert_one_line_refusal(o.code, &o.stderr, needles);
    assert!(!o.out_exists, "no output directory on error");
    o.stderr
}

/// Exit code 2 and one line on stderr mentioning every `needles`, no panic.
fn assert_one_line_refusal(code: Option<i32>, stderr: &str, needles: &[&str]) {
    assert_eq!(code, Some(2), "exit code for {needles:?}; stderr: {stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");
    assert!(stderr.starts_with("error: "), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    for n in needles {
        assert!(stderr.contains(n), "stderr should mention {n:?}: {stderr}");
    }
}

/// Runs ftsim with exactly `args` in the working directory `cwd`: (exit code, stdout, stderr).
fn ftsim_in(cwd: &Path, args: &[&str]) -> (Option<i32>, String, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_ftsim"))
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("ftsim runs");
    (
        o.status.code(),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// Every file under `dir` with its bytes, in path order: to show that nothing was touched.
fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).expect("read_dir") {
            let p = e.expect("entry").path();
            if p.is_dir() {
                todo.push(p);
            } else {
                let bytes = std::fs::read(&p).expect("read");
                out.push((p, bytes));
            }
        }
    }
    out.sort();
    out
}

/// A scenario file and an earlier ftsim output written from it, both in `dir`.
fn earlier_output(dir: &Path) -> (PathBuf, PathBuf) {
    let file = write(dir, GOOD);
    let earlier = dir.join("earlier");
    let (code, _, err) = ftsim_in(
        dir,
        &[
            "run",
            &file.display().to_string(),
            "--quiet",
            "--out",
            &earlier.display().to_string(),
        ],
    );
    assert_eq!(code, Some(0), "{err}");
    assert!(earlier.join("summary.csv").exists());
    (file, earlier)
}

#[test]
fn a_good_scenario_runs_which_makes_the_refusals_below_meaningful() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = write(dir.path(), GOOD);
    let o = ftsim(&["run", &file.display().to_string()], dir.path());
    assert_eq!(o.code, Some(0), "{}", o.stderr);
    assert!(o.out_exists);
}

#[test]
fn a_missing_file_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let o = ftsim(&["run", "/nonexistent/x.toml"], dir.path());
    assert_eq!(o.code, Some(2));
    assert!(o.stderr.contains("/nonexistent/x.toml"), "{}", o.stderr);
    assert!(!o.out_exists);
}

#[test]
fn a_toml_syntax_error_is_refused_with_its_line() {
    refused("[run\nduration = 3", &[], &["s.toml", "not valid TOML", "line"]);
}

#[test]
fn an_unknown_field_is_refused_with_the_allowed_names() {
    refused(
        &GOOD.replace("nodes = 4", "nodez = 4"),
        &[],
        &["s.toml", "cluster", "nodez", "nodes"],
    );
}

#[test]
fn a_wrong_type_is_refused() {
    refused(&GOOD.replace("nodes = 4", "nodes = \"four\""), &[], &["cluster.nodes"]);
}

#[test]
fn a_zero_or_negative_duration_is_refused() {
    refused(
        &GOOD.replace("\"10s\"", "\"0s\""),
        &[],
        &["run.duration", "longer than zero"],
    );
    refused(&GOOD.replace("\"10s\"", "\"-5s\""), &[], &["run.duration", "unit"]);
}

#[test]
fn a_fault_on_a_node_that_does_not_exist_is_refused() {
    refused(
        &format!("{GOOD}\n[[faults]]\nat = \"5s\"\ncrash = 9\n"),
        &[],
        &["faults[0].crash", "0 to 3"],
    );
}

#[test]
fn a_fault_after_the_end_of_the_run_is_refused() {
    refused(
        &format!("{GOOD}\n[[faults]]\nat = \"50s\"\ncrash = 1\n"),
        &[],
        &["faults[0].at", "before run.duration"],
    );
}

#[test]
fn a_rate_or_a_cluster_past_the_limits_is_refused() {
    refused(
        &GOOD.replace("rate = 1000", "rate = 99000000"),
        &[],
        &["workload.rate", "allowed"],
    );
    refused(
        &GOOD.replace("nodes = 4", "nodes = 5000"),
        &[],
        &["cluster.nodes", "1 to 1000"],
    );
    refused(
        &GOOD
            .replace("rate = 1000", "rate = 4000000")
            .replace("\"10s\"", "\"3000s\""),
        &[],
        &["workload.rate", "limit"],
    );
    refused(
        &GOOD.replace(
            "kind = \"running-count\"",
            "kind = \"running-count\"\nparallelism = 16384",
        ),
        &["--set", "workload.partitions=1024"],
        &["job.parallelism", "1024 × 16384", "limit of 4194304"],
    );
}

#[test]
fn a_set_path_that_does_not_exist_is_refused() {
    refused(GOOD, &["--set", "cluster.nodez=3"], &["cluster", "nodez"]);
    refused(GOOD, &["--set", "nonsense"], &["--set nonsense", "path=value"]);
}

#[test]
fn an_unknown_engine_or_engine_parameter_is_refused() {
    refused(
        GOOD,
        &["--engine", "spark"],
        &["--engine spark", "known engines", "none"],
    );
    refused(
        &format!("{GOOD}\n[engines.none]\npoll_intervall = \"1ms\"\n"),
        &[],
        &["engines.none.poll_intervall", "allowed"],
    );
    refused(
        &format!("{GOOD}\n[engines.none]\npoll_interval = 5\n"),
        &[],
        &["engines.none.poll_interval", "duration"],
    );
}

#[test]
fn a_misspelled_mistyped_or_out_of_range_engine_parameter_is_refused_with_the_field_named() {
    let run = |set: &str, needles: &[&str]| {
        refused(GOOD, &["--engine", "flink-abs", "--set", set], needles);
    };
    run(
        "engines.flink-abs.checkpoint_intervl=5s",
        &[
            "engines.flink-abs.checkpoint_intervl",
            "unknown parameter",
            "checkpoint_interval",
        ],
    );
    run(
        "engines.flink-abs.checkpoint_interval=5",
        &["engines.flink-abs.checkpoint_interval", "duration"],
    );
    run(
        "engines.flink-abs.checkpoint_interval=5ms",
        &["engines.flink-abs.checkpoint_interval", "at least 10ms"],
    );
    run(
        "engines.flink-abs.mode=alined",
        &["engines.flink-abs.mode", "\"unaligned\""],
    );
    run(
        "engines.flink-abs.credits=0",
        &["engines.flink-abs.credits", "out of range"],
    );
    run(
        "engines.flink-abs.credits=-2",
        &["engines.flink-abs.credits", "whole number"],
    );
}

#[test]
fn an_engine_named_twice_is_refused() {
    refused(
        GOOD,
        &["--engine", "none", "--engine", "none"],
        &["--engine none", "twice"],
    );
    refused(
        GOOD,
        &["--set", "run.engines=[\"dstream\", \"dstream\"]"],
        &["run.engines[1]", "twice"],
    );
}

#[test]
fn a_missing_required_field_is_refused() {
    refused(
        &GOOD.replace("kind = \"running-count\"", ""),
        &[],
        &["job.kind", "required"],
    );
    refused(
        &GOOD.replace("kind = \"running-count\"", "kind = \"word-count\""),
        &[],
        &["job.kind", "window-count"],
    );
}

#[test]
fn a_bad_flag_is_refused_by_the_argument_parser_with_code_2() {
    let dir = tempfile::tempdir().expect("tempdir");
    let o = ftsim(&["run", "x.toml", "--sed", "3"], dir.path());
    assert_eq!(o.code, Some(2));
    let o = ftsim(&["run", "x.toml", "--seed", "three"], dir.path());
    assert_eq!(o.code, Some(2));
}

#[test]
fn an_output_path_that_is_not_an_ftsim_directory_is_never_overwritten() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = write(dir.path(), GOOD);
    let precious = dir.path().join("precious");
    std::fs::create_dir(&precious).expect("mkdir");
    std::fs::write(precious.join("thesis.tex"), "keep me").expect("write");
    let o = Command::new(env!("CARGO_BIN_EXE_ftsim"))
        .args([
            "run",
            &file.display().to_string(),
            "--quiet",
            "--out",
            &precious.display().to_string(),
        ])
        .output()
        .expect("runs");
    assert_eq!(o.status.code(), Some(2));
    assert!(precious.join("thesis.tex").exists());
}

#[test]
fn overlapping_stragglers_on_one_node_are_refused() {
    let two = "[[faults]]\nat = \"2s\"\nstraggler = 1\nslowdown = 3.0\nfor = \"4s\"\n[[faults]]\nat = \"5s\"\nstraggler = 1\nslowdown = 2.0\nfor = \"1s\"\n";
    refused(&format!("{GOOD}\n{two}"), &[], &["faults[1]", "overlaps"]);
}

#[test]
fn out_dot_inside_an_earlier_output_is_refused_and_the_output_and_the_working_directory_survive() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (file, earlier) = earlier_output(dir.path());
    let before = snapshot(&earlier);
    let f = file.display().to_string();
    let (code, out, err) = ftsim_in(&earlier, &["run", &f, "--quiet", "--out", "."]);
    assert_one_line_refusal(code, &err, &["--out .", "is the current directory"]);
    assert!(out.is_empty(), "refused before the run: {out}");
    assert_eq!(snapshot(&earlier), before, "the earlier output is untouched");
    let (code, _, err) = ftsim_in(&earlier.join("none"), &["run", &f, "--quiet", "--out", ".."]);
    assert_one_line_refusal(code, &err, &["--out ..", "contains the current directory"]);
    assert_eq!(snapshot(&earlier), before, "the earlier output is untouched");
}

#[test]
fn out_that_is_the_temporary_directory_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = write(dir.path(), GOOD);
    let tmp = std::env::temp_dir().display().to_string();
    let (code, out, err) = ftsim_in(
        dir.path(),
        &["run", &file.display().to_string(), "--quiet", "--out", &tmp],
    );
    assert_one_line_refusal(code, &err, &["is the temporary directory"]);
    assert!(out.is_empty());
    assert!(file.exists(), "nothing in the temporary directory was removed");
}

#[test]
fn out_that_contains_the_working_directory_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = write(dir.path(), GOOD);
    let cwd = dir.path().join("work").join("deep");
    std::fs::create_dir_all(&cwd).expect("mkdir");
    let (code, _, err) = ftsim_in(
        &cwd,
        &["run", &file.display().to_string(), "--quiet", "--out", "../../work"],
    );
    assert_one_line_refusal(code, &err, &["contains the current directory"]);
    assert!(cwd.exists());
}

#[test]
fn out_under_a_regular_file_is_refused_before_the_run() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = write(dir.path(), GOOD);
    let blocker = dir.path().join("notes.txt");
    std::fs::write(&blocker, "keep me").expect("write");
    for out in [blocker.join("out"), blocker.join("sub").join("out")] {
        let (code, stdout, err) = ftsim_in(
            dir.path(),
            &[
                "run",
                &file.display().to_string(),
                "--quiet",
                "--out",
                &out.display().to_string(),
            ],
        );
        assert_one_line_refusal(code, &err, &["notes.txt is not a directory"]);
        assert!(stdout.is_empty(), "refused before the run: {stdout}");
    }
    assert_eq!(std::fs::read_to_string(&blocker).expect("read"), "keep me");
}

#[test]
fn out_in_a_read_only_directory_is_refused_before_the_run() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("tempdir");
    let file = write(dir.path(), GOOD);
    let ro = dir.path().join("ro");
    std::fs::create_dir(&ro).expect("mkdir");
    std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o555)).expect("chmod");
    let writable = std::fs::write(ro.join("probe"), "x").is_ok();
    if writable {
        eprintln!("skipped: this user (root?) can write into a read-only directory");
    } else {
        let out = ro.join("sub").join("out");
        let (code, stdout, err) = ftsim_in(
            dir.path(),
            &[
                "run",
                &file.display().to_string(),
                "--quiet",
                "--out",
                &out.display().to_string(),
            ],
        );
        assert_one_line_refusal(code, &err, &["cannot create", "ro/sub", "ermission denied"]);
        assert!(stdout.is_empty(), "refused before the run: {stdout}");
        assert!(!ro.join("sub").exists());
    }
    std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o755)).expect("chmod back");
}

#[test]
fn out_that_even_root_cannot_create_is_refused_before_the_run() {
    let proc_dir = Path::new("/proc");
    if !proc_dir.join("self").exists() {
        eprintln!("skipped: no /proc on this system");
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let file = write(dir.path(), GOOD);
    let (code, stdout, err) = ftsim_in(
        dir.path(),
        &[
            "run",
            &file.display().to_string(),
            "--quiet",
            "--out",
            "/proc/ftsim-none/out",
        ],
    );
    assert_one_line_refusal(code, &err, &["cannot create /proc/ftsim-none"]);
    assert!(stdout.is_empty(), "refused before the run: {stdout}");
}

#[test]
fn an_earlier_output_holding_anything_else_is_not_replaced() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (file, earlier) = earlier_output(dir.path());
    let f = file.display().to_string();
    let e = earlier.display().to_string();
    for extra in [earlier.join("notes.txt"), earlier.join("none").join("thesis.tex")] {
        std::fs::write(&extra, "keep me").expect("write");
        let before = snapshot(&earlier);
        let (code, _, err) = ftsim_in(dir.path(), &["run", &f, "--quiet", "--out", &e]);
        let name = extra.file_name().and_then(|n| n.to_str()).unwrap_or("");
        assert_one_line_refusal(code, &err, &[name, "not part of an ftsim output"]);
        assert_eq!(snapshot(&earlier), before, "nothing was touched");
        std::fs::remove_file(&extra).expect("rm");
    }
    let (code, _, err) = ftsim_in(dir.path(), &["run", &f, "--quiet", "--out", &e]);
    assert_eq!(code, Some(0), "a clean earlier output is replaced: {err}");
}

#[test]
fn a_run_name_that_is_not_a_plain_name_is_refused_by_run_and_validate() {
    for name in ["../x", "/abs", ".hidden", "a b", &"n".repeat(101)] {
        let text = GOOD.replace("[run]", &format!("[run]\nname = \"{name}\""));
        refused(&text, &[], &["s.toml", "run.name", name, "letters", "digits"]);
        let dir = tempfile::tempdir().expect("tempdir");
        let file = write(dir.path(), &text);
        let (code, _, err) = ftsim_in(dir.path(), &["validate", &file.display().to_string()]);
        assert_one_line_refusal(code, &err, &["run.name", name]);
    }
    refused(GOOD, &["--set", "run.name=../x"], &["--set run.name=../x: run.name"]);
}

#[test]
fn a_set_error_names_the_flag_not_the_file() {
    let err = refused(
        GOOD,
        &["--set", "cluster.nodes=0"],
        &["--set cluster.nodes=0: cluster.nodes: 0 is out of range: allowed 1 to 1000"],
    );
    assert!(!err.contains("s.toml"), "{err}");
    let err = refused(
        GOOD,
        &["--set", "faults=[{at=\"1s\", crash=7}]"],
        &["--set faults=", "faults[0].crash", "0 to 3"],
    );
    assert!(!err.contains("s.toml"), "{err}");
    let err = refused(
        GOOD,
        &["--set", "engines.sparkk.x=1"],
        &["--set engines.sparkk.x=1: engines.sparkk", "known engines"],
    );
    assert!(!err.contains("s.toml"), "{err}");
    refused(
        &GOOD.replace("nodes = 4", "nodes = 0"),
        &["--set", "cluster.cores=2"],
        &["s.toml: cluster.nodes"],
    );
}

#[test]
fn a_seed_out_of_range_says_so_and_what_is_allowed() {
    let allowed = "out of range: allowed 0 to 18446744073709551615";
    refused(
        GOOD,
        &["--seed", "99999999999999999999999"],
        &["--seed 99999999999999999999999", allowed],
    );
    refused(GOOD, &["--seed", "-1"], &["--seed -1", allowed]);
    refused(
        GOOD,
        &["--set", "run.seed=-1"],
        &["--set run.seed=-1: run.seed", allowed],
    );
    for seed in ["99999999999999999999", "-1"] {
        let text = GOOD.replace("[run]", &format!("[run]\nseed = {seed}"));
        refused(&text, &[], &["s.toml: run.seed", seed, allowed]);
    }
}

#[test]
fn the_largest_seed_is_accepted_by_flag_by_set_and_in_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = write(dir.path(), GOOD).display().to_string();
    let max = "18446744073709551615";
    let (code, _, err) = ftsim_in(dir.path(), &["run", &file, "--quiet", "--seed", max]);
    assert_eq!(code, Some(0), "{err}");
    let (code, _, err) = ftsim_in(dir.path(), &["validate", &file, "--set", &format!("run.seed={max}")]);
    assert_eq!(code, Some(0), "{err}");
    let text = GOOD.replace("[run]", &format!("[run]\nseed = {max}"));
    let file = write(dir.path(), &text).display().to_string();
    let (code, _, err) = ftsim_in(dir.path(), &["validate", &file]);
    assert_eq!(code, Some(0), "{err}");
}

#[test]
fn a_straggler_slowdown_out_of_range_says_out_of_range_and_a_missing_one_says_required() {
    let fault = "[[faults]]\nat = \"2s\"\nstraggler = 1\nfor = \"1s\"\n";
    refused(
        &format!("{GOOD}\n{fault}slowdown = 0.5\n"),
        &[],
        &["faults[0].slowdown", "0.5 is out of range", "1 to 1000000"],
    );
    refused(&format!("{GOOD}\n{fault}"), &[], &["faults[0].slowdown", "is required"]);
}

#[test]
fn argument_parser_errors_are_one_line_and_help_and_version_still_print() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cases: [(&[&str], &[&str]); 6] = [
        (&["run", "x.toml", "--sed", "3"], &["'--sed'", "'--seed'"]),
        (
            &["run", "x.toml", "--seed", "three"],
            &["--seed three", "not a whole number"],
        ),
        (&["run"], &["missing", "<SCENARIO>"]),
        (&["frob"], &["'frob'", "run, validate, engines"]),
        (&[], &["no command", "run, validate, engines"]),
        (&["run", "x.toml", "--out"], &["--out needs a value"]),
    ];
    for (args, needles) in cases {
        let (code, out, err) = ftsim_in(dir.path(), args);
        assert_one_line_refusal(code, &err, needles);
        assert!(out.is_empty());
    }
    let (code, out, _) = ftsim_in(dir.path(), &["run", "--help"]);
    assert_eq!(code, Some(0));
    assert!(out.lines().count() > 5 && out.contains("--seed"), "{out}");
    let (code, out, _) = ftsim_in(dir.path(), &["--version"]);
    assert_eq!(code, Some(0));
    assert!(out.starts_with("ftsim "), "{out}");
}
