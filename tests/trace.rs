//! Trace replay: a CSV file of records replaces the generator, is streamed from an index rather
//! than held, and every malformed trace is refused with its line before anything runs.

use crate::support::{repro, run, shipped};
use ftsim_engines::Registry;
use ftsim_sim::scenario::Overrides;
use ftsim_sim::trace::kafka_partition;
use ftsim_sim::workload::CHUNK;
use ftsim_sim::{PartitionId, Record, Scenario, ScenarioError, SimTime, SourceLog, Verdict};
use std::fmt::Write;
use std::path::Path;
use std::process::Command;

/// Writes `csv` as `t.csv` and `toml` as `s.toml` into `dir` and loads the scenario.
fn load_in(dir: &Path, csv: &str, toml: &str) -> Result<Scenario, ScenarioError> {
    std::fs::write(dir.join("t.csv"), csv).expect("write trace");
    std::fs::write(dir.join("s.toml"), toml).expect("write scenario");
    Scenario::load(&dir.join("s.toml"), &Overrides::default(), &Registry::builtin())
}

/// [`load_in`] in a fresh directory, which the caller keeps alive.
fn load(csv: &str, toml: &str) -> (tempfile::TempDir, Scenario) {
    let dir = tempfile::tempdir().expect("tempdir");
    let sc = load_in(dir.path(), csv, toml).unwrap_or_else(|e| panic!("{e}"));
    (dir, sc)
}

/// A running count over `t.csv`, with `extra` TOML lines in `[workload]`.
fn scenario_text(extra: &str) -> String {
    format!("[workload]\ntrace = \"t.csv\"\n{extra}\n[job]\nkind = \"running-count\"\nsink = \"idempotent\"\n")
}

/// Every record of the log in file order, as the oracle's pass hands them over.
fn records(sc: &Scenario) -> (SourceLog, Vec<Record>) {
    let mut all = Vec::new();
    let log = SourceLog::generate_with(sc, |r| all.push(*r));
    (log, all)
}

/// `n` rows over `secs` seconds on a few skewed string keys, with values and some late events.
fn clicks(n: u64, secs: f64) -> String {
    let pages = ["/home", "/cart", "/p/1", "/p/2", "/p/3", "/search", "/p/4"];
    trace_of(n, secs, |i| {
        pages[((i * i + 3 * i) % 11 % pages.len() as u64) as usize].to_string()
    })
}

/// `n` rows over `secs` seconds with the keys `key(i)`, values, and some late events.
fn trace_of(n: u64, secs: f64, key: impl Fn(u64) -> String) -> String {
    let mut s = String::from("time_s,key,value,event_time_s\n");
    for i in 0..n {
        let t = secs * i as f64 / n as f64;
        let page = key(i);
        let late = if i % 17 == 5 {
            format!("{:.6}", (t - 0.3).max(0.0))
        } else {
            String::new()
        };
        let _ = writeln!(s, "{t:.6},{page},{i},{late}");
    }
    s
}

#[test]
fn a_replayed_trace_is_the_log_engines_read_and_the_oracle_expects() {
    let csv = clicks(2_000, 9.5);
    let toml = format!(
        "[run]\nengines = [\"none\", \"flink-abs\"]\n{}[[faults]]\nat = \"4s\"\ncrash = 1\n",
        scenario_text("")
    );
    let (_dir, sc) = load(&csv, &toml);
    assert_eq!(
        sc.run.duration.as_nanos(),
        10_000_000_000,
        "the trace's length, to the next second"
    );
    let (log, recs) = records(&sc);
    assert_eq!(log.total(), 2_000);
    // The records are the rows: arrival, value, event time, and one id per distinct key.
    for (i, r) in recs.iter().enumerate() {
        let t = (9.5 * i as f64 / 2_000.0 * 1e6).round() as u64 * 1_000;
        assert_eq!(r.arrival, SimTime(t), "row {i}");
        assert_eq!(r.value, i as u32);
        assert!(r.event_time <= r.arrival);
        assert_eq!(r.event_time < r.arrival, i % 17 == 5, "row {i}");
    }
    // Ids are dense: 0 to keys − 1.
    let ids: std::collections::BTreeSet<u32> = recs.iter().map(|r| r.key).collect();
    assert_eq!(ids, (0..sc.workload.keys as u32).collect());
    let reader = log.reader();
    let read: u64 = (0..log.partitions())
        .map(|p| reader.slice(PartitionId(p), 0, u64::MAX).len() as u64)
        .sum();
    assert_eq!(read, 2_000);
    // Through the engines: every row in, every count out once, with and without a crash.
    let none = run(&sc, "none");
    assert_eq!(none.records_in, 2_000, "{}", repro(&sc));
    assert_eq!(none.check.expected, 2_000);
    let flink = run(&sc, "flink-abs");
    assert_eq!(flink.records_in, 2_000);
    assert_eq!(flink.verdict, Verdict::ExactlyOnce, "{}", repro(&sc));
    assert!(!flink.failures.is_empty(), "the crash happened");
}

#[test]
fn replaying_the_same_trace_twice_gives_the_same_run() {
    let (_dir, sc) = load(&clicks(1_500, 6.0), &scenario_text("partitions = 3"));
    let a = run(&sc, "none");
    let b = run(&sc, "none");
    assert_eq!(a.stats.trace_hash, b.stats.trace_hash);
    assert_eq!(format!("{:?}", a.series), format!("{:?}", b.series));
    assert_eq!(a.check, b.check);
}

#[test]
fn string_keys_take_ids_in_the_order_they_first_appear() {
    let csv = "time_s,key\n0.1,beta\n0.2,alpha\n0.3,beta\n0.4,7\n0.5,\"gamma, delta\"\n0.6, alpha \n";
    let (_d1, a) = load(csv, &scenario_text(""));
    let (_d2, b) = load(csv, &scenario_text("partitions = 1"));
    for sc in [&a, &b] {
        let t = sc.workload.trace.as_ref().expect("a trace");
        assert_eq!(t.key_id("beta"), Some(0));
        assert_eq!(t.key_id("alpha"), Some(1), "spaces around a field are not part of it");
        assert_eq!(t.key_id("7"), Some(2), "a number is a key's text like any other");
        assert_eq!(t.key_id("gamma, delta"), Some(3));
        assert_eq!(t.keys(), 4);
        let keys: Vec<u32> = records(sc).1.iter().map(|r| r.key).collect();
        assert_eq!(keys, vec![0, 1, 0, 2, 3, 1]);
    }
    // The ids follow the file: rows of other keys in another order give other ids, and the
    // same records per key text.
    let swapped = "time_s,key\n0.1,alpha\n0.2,beta\n0.3,beta\n0.4,7\n0.5,\"gamma, delta\"\n0.6,alpha\n";
    let (_d3, c) = load(swapped, &scenario_text(""));
    let t = c.workload.trace.as_ref().expect("a trace");
    assert_eq!((t.key_id("alpha"), t.key_id("beta")), (Some(0), Some(1)));
    let per_key = |sc: &Scenario, key: &str| {
        let id = sc.workload.trace.as_ref().and_then(|t| t.key_id(key));
        records(sc).1.iter().filter(|r| Some(r.key) == id).count()
    };
    for key in ["alpha", "beta", "7", "gamma, delta"] {
        assert_eq!(per_key(&a, key), per_key(&c, key), "{key}");
    }
}

#[test]
fn a_trace_replayed_twice_as_fast_arrives_in_half_the_time() {
    let csv = clicks(1_000, 19.0);
    let (_d1, normal) = load(&csv, &scenario_text(""));
    let (_d2, fast) = load(&csv, &scenario_text("trace_speed = 2.0"));
    // The last row is at 18.981 s: 19 s at speed 1, 10 s at speed 2 (to the next second).
    assert_eq!(normal.run.duration.as_nanos(), 19_000_000_000);
    assert_eq!(fast.run.duration.as_nanos(), 10_000_000_000);
    let (_, a) = records(&normal);
    let (_, b) = records(&fast);
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(&b) {
        assert!(x.arrival.0.abs_diff(y.arrival.0 * 2) <= 1, "{x:?} {y:?}");
        assert!(x.event_time.0.abs_diff(y.event_time.0 * 2) <= 1);
        assert_eq!((x.key, x.value, x.part, x.offset), (y.key, y.value, y.part, y.offset));
    }
    let span = |v: &[Record]| v.last().map_or(0, |r| r.arrival.0) - v[0].arrival.0;
    assert!(span(&a).abs_diff(2 * span(&b)) <= 1);
}

#[test]
fn records_arriving_after_the_run_are_not_read_nor_checked() {
    // Row 4 is malformed, but arrives at 5 s, after a run of 3 s: it is never read.
    let csv = "time_s,key\n0.5,a\n1.5,b\n2.999999999,c\n5,\n";
    let (_dir, sc) = load(csv, &format!("[run]\nduration = \"3s\"\n{}", scenario_text("")));
    let (log, recs) = records(&sc);
    assert_eq!(log.total(), 3);
    assert_eq!(recs.last().map(|r| r.arrival), Some(SimTime(2_999_999_999)));
    assert_eq!(sc.workload.keys, 3);
}

#[test]
fn records_go_to_the_partition_a_kafka_producer_would_choose() {
    let mut csv = String::from("time_s,key,partition\n");
    for i in 0..300 {
        let given = if i % 3 == 0 { (i % 4).to_string() } else { String::new() };
        let _ = writeln!(csv, "{},user-{},{given}", i as f64 / 100.0, i % 37);
    }
    let (_dir, sc) = load(&csv, &scenario_text("partitions = 4"));
    let (log, recs) = records(&sc);
    let trace = sc.workload.trace.as_ref().expect("a trace");
    let mut next = [0u32; 4];
    for (i, r) in recs.iter().enumerate() {
        let key = format!("user-{}", i % 37);
        let want = if i % 3 == 0 {
            (i % 4) as u32
        } else {
            kafka_partition(key.as_bytes(), 4)
        };
        assert_eq!(r.part, want, "row {i}");
        assert_eq!(Some(r.key), trace.key_id(&key));
        // Offsets are dense per partition, in file order.
        assert_eq!(r.offset, next[r.part as usize]);
        next[r.part as usize] += 1;
    }
    assert_eq!((0..4).map(|p| log.len(PartitionId(p))).sum::<u64>(), 300);
}

#[test]
fn a_bytes_column_sets_the_mean_record_size() {
    let csv = "time_s,key,bytes\n0.1,a,100\n0.2,b,\n0.3,c,400\n";
    let (_dir, sc) = load(csv, &scenario_text("record_bytes = 40"));
    // 100, 40 (the default for the empty field) and 400: a mean of 180.
    assert_eq!(sc.workload.record_bytes, 180);
    let (_d2, plain) = load("time_s,key\n0.1,a\n", &scenario_text("record_bytes = 40"));
    assert_eq!(plain.workload.record_bytes, 40);
}

#[test]
fn a_trace_is_streamed_from_an_index_of_one_entry_per_chunk_and_read_again_in_any_order() {
    use rand::{RngExt, SeedableRng};
    let rows = 12_000;
    let (_dir, sc) = load(
        &trace_of(rows, 40.0, |i| format!("user-{}", i * 7_919 % 997)),
        &format!("[run]\nduration = \"41s\"\n{}\n", scenario_text("partitions = 3")),
    );
    let mut first: Vec<Vec<Record>> = vec![Vec::new(); 3];
    let log = SourceLog::generate_with(&sc, |r| first[r.part as usize].push(*r));
    assert_eq!(log.total(), rows);
    // The index: one entry per CHUNK records of each partition, nothing per record.
    let chunks: u64 = first.iter().map(|p| (p.len() as u64).div_ceil(CHUNK)).sum();
    assert_eq!(log.index_len(), chunks);
    assert!(chunks < rows / 100);
    // Reads at random places, across chunk edges, in any order, through one reader.
    let reader = log.reader();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
    for _ in 0..500 {
        let p = rng.random_range(0..3u32);
        let recs = &first[p as usize];
        let from = rng.random_range(0..recs.len() as u64);
        let to = (from + rng.random_range(0..1_200)).min(recs.len() as u64 + 5);
        let part = PartitionId(p);
        assert_eq!(
            reader.slice(part, from, to),
            recs[from as usize..(to as usize).min(recs.len())]
        );
        assert_eq!(reader.record(part, from), Some(recs[from as usize]));
        let now = SimTime(rng.random_range(0..41_000_000_000));
        let avail = recs.iter().filter(|r| r.arrival <= now).count() as u64;
        assert_eq!(reader.available(part, now), avail, "partition {p} at {now}");
        let last = recs[from as usize];
        assert_eq!(
            reader.watermark_at(part, from + 1),
            last.wm_before.max(last.event_time - sc.job.max_out_of_orderness)
        );
    }
}

#[test]
fn the_shipped_trace_scenario_replays_its_bursts() {
    let sc = shipped("trace.toml", "none", &[]);
    let (log, recs) = records(&sc);
    assert_eq!(log.total(), recs.len() as u64);
    assert_eq!(sc.run.duration.as_nanos(), 60_000_000_000);
    let per_second = |s: u64| recs.iter().filter(|r| r.arrival.0 / 1_000_000_000 == s).count();
    // Each burst carries more than twice a quiet second's records.
    for (burst, quiet) in [(9, 5), (21, 16), (38, 44), (50, 56)] {
        assert!(
            per_second(burst) > 2 * per_second(quiet),
            "second {burst}: {}, second {quiet}: {}",
            per_second(burst),
            per_second(quiet)
        );
    }
}

/// Writes `csv` and a scenario replaying it into a fresh directory, runs `ftsim run` on it,
/// and asserts that it is refused: exit code 2, one line naming every `needles`, no output.
fn refused(csv: &str, workload: &str, needles: &[&str]) {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("t.csv"), csv).expect("write trace");
    let toml = format!("[workload]\ntrace = \"t.csv\"\npartitions = 4\n{workload}\n[job]\nkind = \"running-count\"\n");
    let file = dir.path().join("s.toml");
    std::fs::write(&file, toml).expect("write scenario");
    let out = dir.path().join("out");
    let o = Command::new(env!("CARGO_BIN_EXE_ftsim"))
        .args([
            "run",
            &file.display().to_string(),
            "--quiet",
            "--out",
            &out.display().to_string(),
        ])
        .output()
        .expect("ftsim runs");
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{needles:?}: {stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");
    assert!(
        stderr.starts_with("error: ") && !stderr.contains("panicked"),
        "{stderr}"
    );
    for n in needles {
        assert!(stderr.contains(n), "stderr should mention {n:?}: {stderr}");
    }
    assert!(!out.exists(), "no output on error: {stderr}");
}

#[test]
fn a_malformed_trace_is_refused_with_its_file_line_and_column() {
    let t = "t.csv";
    let cases: &[(&str, &[&str])] = &[
        (
            "time_s,key\n0.1,a\nabc,b\n",
            &[t, "line 3", "time_s", "\"abc\" is not a time", "decimal"],
        ),
        ("time_s,key\n0.1,a\n-1.5,b\n", &[t, "line 3", "time_s", "negative"]),
        ("time_s,key\n0.1,a\n1e3,b\n", &[t, "line 3", "time_s", "not a time"]),
        ("time_s,key\n0.1000000001,a\n", &[t, "line 2", "time_s", "9 decimals"]),
        (
            "time_s,key\n0.5,a\n# a comment\n\n0.4,b\n",
            &[t, "line 5", "time_s", "before 0.5 on line 2", "non-decreasing"],
        ),
        ("time_s,key\n0.5,\n", &[t, "line 2", "key", "empty"]),
        (
            "time_s,key,value\n0.5,a,-3\n",
            &[t, "line 2", "value", "0 to 4294967295"],
        ),
        (
            "time_s,key,value\n0.5,a,4294967296\n",
            &[t, "line 2", "value", "out of range"],
        ),
        (
            "time_s,key,bytes\n0.5,a,0\n",
            &[t, "line 2", "bytes", "allowed 1 to 1048576"],
        ),
        (
            "time_s,key,bytes\n0.5,a,2000000\n",
            &[t, "line 2", "bytes", "out of range"],
        ),
        (
            "time_s,key,partition\n0.5,a,4\n",
            &[t, "line 2", "partition", "allowed 0 to 3"],
        ),
        (
            "time_s,key,event_time_s\n0.5,a,0.6\n",
            &[t, "line 2", "event_time_s", "after the row's time_s"],
        ),
        ("time_s,key\n0.5,a,b\n", &[t, "line 2", "3 fields", "2 columns"]),
        ("time_s,key\n0.5,\"a\n", &[t, "line 2", "quote"]),
        (
            "time_s,kee\n0.5,a\n",
            &[t, "line 1", "\"kee\" is not a column", "allowed time_s, key"],
        ),
        ("key,value\na,1\n", &[t, "line 1", "no time_s column"]),
        ("time_s,key,key\n0.5,a,b\n", &[t, "line 1", "key is named twice"]),
        ("time_s,key\n", &[t, "no record"]),
        ("", &[t, "empty", "header"]),
        (
            "time_s,key\n4000,a\n",
            &[t, "line 2", "past the longest run", "run.duration"],
        ),
    ];
    for (csv, needles) in cases {
        refused(csv, "", needles);
    }
}

#[test]
fn a_scenario_that_replays_a_trace_is_refused_when_it_also_configures_the_generator() {
    let csv = "time_s,key\n0.5,a\n";
    refused(
        csv,
        "rate = 1000",
        &["s.toml", "workload.rate", "not used with workload.trace"],
    );
    refused(csv, "keys = 10", &["workload.keys", "not used with workload.trace"]);
    refused(csv, "profile = \"bursty\"", &["workload.profile", "not used"]);
    refused(csv, "out_of_order = 0.1", &["workload.out_of_order", "event_time_s"]);
    refused(
        csv,
        "trace_speed = 0",
        &["workload.trace_speed", "allowed 0.001 to 1000"],
    );
    refused(csv, "trace_speed = 5000", &["workload.trace_speed", "out of range"]);
    // The file must be there, and a file.
    let dir = tempfile::tempdir().expect("tempdir");
    let err = load_in(dir.path(), csv, &scenario_text("").replace("t.csv", "missing.csv")).map(|_| ());
    let msg = err.expect_err("refused").to_string();
    assert!(msg.contains("workload.trace") && msg.contains("missing.csv"), "{msg}");
    // trace_speed means nothing without a trace.
    let generated =
        "[run]\nduration = \"5s\"\n[workload]\nrate = 10\ntrace_speed = 2.0\n[job]\nkind = \"running-count\"\n";
    let err = Scenario::from_str(
        Path::new("g.toml"),
        generated,
        &Overrides::default(),
        &Registry::builtin(),
    );
    let msg = err.map(|_| ()).expect_err("refused").to_string();
    assert!(msg.contains("workload.trace_speed"), "{msg}");
    // A window count over a partition that gets no record would never fire a window.
    let window = "[workload]\ntrace = \"t.csv\"\npartitions = 2\n[job]\nkind = \"window-count\"\n";
    let one_partition = "time_s,key,partition\n0.5,a,0\n1.5,b,0\n";
    let err = load_in(dir.path(), one_partition, window).map(|_| ());
    let msg = err.expect_err("refused").to_string();
    assert!(
        msg.contains("workload.partitions") && msg.contains("partition 1 of 2"),
        "{msg}"
    );
    // A run shorter than the first arrival reads nothing.
    let err = load_in(
        dir.path(),
        "time_s,key\n5,a\n",
        &format!("[run]\nduration = \"2s\"\n{}", scenario_text("")),
    );
    let msg = err.map(|_| ()).expect_err("refused").to_string();
    assert!(msg.contains("no record arrives before run.duration"), "{msg}");
}
