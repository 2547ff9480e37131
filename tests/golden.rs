//! Golden verdicts: every shipped scenario, run as `ftsim run` runs it, gives each of its engines
//! the verdict written here, finishes, and keeps every promise. A scenario added to scenarios/
//! must be added here too. The performance scenarios (`reference`, `paper-scale`, `scaling`: 30,
//! 240 and 3 million records) run here at a lower rate (`SCALED`), the rest as shipped; their
//! full-size verdicts are in results/.

use ftsim_engines::Registry;
use ftsim_sim::scenario::Overrides;
use ftsim_sim::{Prepared, Scenario};
use std::path::Path;

/// Scenarios the suite runs at a lower rate, with the `--set`s that lower it.
const SCALED: &[(&str, &[&str])] = &[
    ("reference", &["workload.rate=25000"]),
    ("paper-scale", &["workload.rate=50000"]),
    ("scaling", &["workload.rate=20000"]),
];

const ALL: [(&str, &str); 8] = [
    ("none", "at-most-once"),
    ("upstream-backup", "exactly-once"),
    ("passive-standby", "exactly-once"),
    ("active-standby", "exactly-once"),
    ("storm-acking", "at-least-once"),
    ("flink-abs", "exactly-once"),
    ("dstream", "exactly-once"),
    ("structured-streaming", "exactly-once"),
];

const FAULTLESS: [(&str, &str); 8] = [
    ("none", "exactly-once"),
    ("upstream-backup", "exactly-once"),
    ("passive-standby", "exactly-once"),
    ("active-standby", "exactly-once"),
    ("storm-acking", "exactly-once"),
    ("flink-abs", "exactly-once"),
    ("dstream", "exactly-once"),
    ("structured-streaming", "exactly-once"),
];

/// Scenario → (engine, verdict) for each of its engines, in its order.
const GOLDEN: &[(&str, &[(&str, &str)])] = &[
    (
        "active-standby",
        &[
            ("none", "at-most-once"),
            ("upstream-backup", "exactly-once"),
            ("flink-abs", "exactly-once"),
            ("active-standby", "exactly-once"),
        ],
    ),
    (
        "crash",
        &[
            ("none", "at-most-once"),
            ("flink-abs", "exactly-once"),
            ("dstream", "exactly-once"),
            ("structured-streaming", "exactly-once"),
        ],
    ),
    (
        "dstream-failure",
        &[("dstream", "exactly-once"), ("structured-streaming", "exactly-once")],
    ),
    (
        "dstream-master",
        &[("dstream", "exactly-once"), ("structured-streaming", "exactly-once")],
    ),
    (
        "dstream-straggler",
        &[("dstream", "exactly-once"), ("structured-streaming", "exactly-once")],
    ),
    (
        "flink-aligned",
        &[("flink-abs", "exactly-once"), ("none", "at-most-once")],
    ),
    ("flink-at-least-once", &[("flink-abs", "at-least-once")]),
    ("flink-backpressure", &[("flink-abs", "exactly-once")]),
    ("flink-coordinator", &[("flink-abs", "exactly-once")]),
    ("flink-unaligned", &[("flink-abs", "exactly-once")]),
    ("paper-scale", &ALL),
    ("live", &[("flink-abs", "exactly-once"), ("none", "exactly-once")]),
    (
        "passive-standby",
        &[("upstream-backup", "exactly-once"), ("passive-standby", "exactly-once")],
    ),
    ("reference", &ALL),
    ("scaling", &FAULTLESS),
    (
        "steady",
        &[
            ("none", "exactly-once"),
            ("flink-abs", "exactly-once"),
            ("dstream", "exactly-once"),
            ("structured-streaming", "exactly-once"),
        ],
    ),
    (
        "storm-acking",
        &[("none", "at-most-once"), ("storm-acking", "at-least-once")],
    ),
    (
        "storm-trident",
        &[("storm-acking", "exactly-once"), ("flink-abs", "exactly-once")],
    ),
    (
        "straggler",
        &[
            ("none", "exactly-once"),
            ("flink-abs", "exactly-once"),
            ("dstream", "exactly-once"),
            ("structured-streaming", "exactly-once"),
        ],
    ),
    (
        "trace",
        &[
            ("none", "at-most-once"),
            ("flink-abs", "exactly-once"),
            ("storm-acking", "at-least-once"),
        ],
    ),
    (
        "upstream-backup",
        &[("none", "at-most-once"), ("upstream-backup", "exactly-once")],
    ),
];

fn scenarios_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios")
}

#[test]
fn every_shipped_scenario_has_golden_verdicts() {
    let mut shipped: Vec<String> = std::fs::read_dir(scenarios_dir())
        .expect("scenarios/")
        .filter_map(|e| {
            let p = e.ok()?.path();
            let stem = p.file_stem()?.to_string_lossy().into_owned();
            (p.extension()? == "toml").then_some(stem)
        })
        .collect();
    shipped.sort();
    let mut golden: Vec<String> = GOLDEN.iter().map(|(s, _)| s.to_string()).collect();
    golden.sort();
    assert_eq!(shipped, golden, "every scenario in scenarios/ has its verdicts here");
}

#[test]
fn every_shipped_scenario_gives_its_golden_verdicts_and_keeps_every_promise() {
    let registry = Registry::builtin();
    for (name, engines) in GOLDEN {
        let path = scenarios_dir().join(format!("{name}.toml"));
        let sets: Vec<String> = SCALED
            .iter()
            .filter(|(s, _)| s == name)
            .flat_map(|(_, sets)| sets.iter().map(|s| s.to_string()))
            .collect();
        let sc = Scenario::load(&path, &Overrides::sets(&sets), &registry).unwrap_or_else(|e| panic!("{e}"));
        let listed: Vec<&str> = engines.iter().map(|(e, _)| *e).collect();
        assert_eq!(sc.run.engines, listed, "{name}: the engines it runs");
        let prepared = Prepared::new(&sc);
        for (engine, verdict) in *engines {
            let r = registry
                .run(&sc, engine, &prepared, &mut |_| {})
                .expect("a known engine");
            assert_eq!(r.verdict.name(), *verdict, "{name} / {engine}: {:?}", r.check);
            assert!(r.promise_kept && r.stats.finished, "{name} / {engine}");
            assert!(r.stats.breaches.is_empty(), "{name} / {engine}: {:?}", r.stats.breaches);
        }
    }
}
