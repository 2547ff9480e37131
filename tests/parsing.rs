//! Scenario parsing never panics: arbitrary TOML documents built from the real field names and
//! arbitrary values, arbitrary text, and arbitrary `--set` arguments are accepted or refused with
//! a message (which the CLI prints as one line with exit code 2).

use crate::properties::runner;
use ftsim_engines::Registry;
use ftsim_sim::Scenario;
use ftsim_sim::scenario::Overrides;
use proptest::prelude::*;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;

const TABLES: &[(&str, &[&str])] = &[
    (
        "run",
        &["name", "seed", "duration", "warmup", "bucket", "drain", "engines"],
    ),
    (
        "cluster",
        &[
            "nodes",
            "cores",
            "spares",
            "network_latency",
            "bandwidth",
            "detection_delay",
            "restart_delay",
        ],
    ),
    (
        "workload",
        &[
            "rate",
            "partitions",
            "profile",
            "burst_peak",
            "keys",
            "key_dist",
            "out_of_order",
        ],
    ),
    (
        "job",
        &[
            "kind",
            "sink",
            "parse_cost",
            "filter_keep",
            "parallelism",
            "window",
            "slide",
        ],
    ),
    (
        "engines.flink-abs",
        &["mode", "checkpoint_interval", "credits", "buffer_size", "failover"],
    ),
    (
        "engines.dstream",
        &[
            "batch_interval",
            "block_replication",
            "speculation",
            "speculation_quantile",
        ],
    ),
    ("engines.none", &["poll_interval", "max_batch"]),
    ("engines.nonexistent", &["x"]),
];

fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<i64>().prop_map(|x| x.to_string()),
        (0..100_000i64).prop_map(|x| x.to_string()),
        any::<f64>().prop_map(|x| format!("{x:?}")),
        Just("inf".to_string()),
        Just("nan".to_string()),
        any::<bool>().prop_map(|b| b.to_string()),
        (
            0..1_000_000u64,
            prop_oneof![Just("ns"), Just("ms"), Just("s"), Just("h"), Just("x"), Just("")]
        )
            .prop_map(|(n, u)| format!("\"{n}{u}\"")),
        "[a-z0-9./ -]{0,12}".prop_map(|s| format!("\"{s}\"")),
        Just("\"window-count\"".to_string()),
        Just("\"10Gbit/s\"".to_string()),
        Just("[\"none\", \"flink-abs\"]".to_string()),
        Just("[1, 2, \"master\"]".to_string()),
        Just("{ a = 1 }".to_string()),
        Just("1979-05-27".to_string()),
    ]
}

fn table() -> impl Strategy<Value = String> {
    (0..TABLES.len(), prop::collection::vec((0..8usize, value()), 0..6)).prop_map(|(t, kvs)| {
        let (name, keys) = TABLES[t];
        let body: String = kvs
            .iter()
            .map(|(k, v)| format!("{} = {v}\n", keys.get(*k).copied().unwrap_or("unknown_key")))
            .collect();
        format!("[{name}]\n{body}")
    })
}

fn fault() -> impl Strategy<Value = String> {
    (
        value(),
        prop_oneof![Just("crash"), Just("straggler"), Just("slowdown"), Just("for")],
        value(),
    )
        .prop_map(|(at, k, v)| format!("[[faults]]\nat = {at}\n{k} = {v}\n"))
}

/// A document that is often nearly valid: the required fields, then arbitrary tables and faults.
fn document() -> impl Strategy<Value = String> {
    (
        any::<bool>(),
        prop::collection::vec(table(), 0..6),
        prop::collection::vec(fault(), 0..3),
    )
        .prop_map(|(base, tables, faults)| {
            let base = if base {
                "[run]\nduration = \"2s\"\n[workload]\nrate = 100\n[job]\nkind = \"running-count\"\n"
            } else {
                ""
            };
            format!("{base}{}{}", tables.concat(), faults.concat())
        })
}

fn set() -> impl Strategy<Value = String> {
    let path = prop_oneof![
        (0..TABLES.len(), 0..8usize).prop_map(|(t, k)| {
            let (name, keys) = TABLES[t];
            format!("{name}.{}", keys.get(k).copied().unwrap_or("nope"))
        }),
        "[a-z.0-9]{0,16}",
        Just("faults.0.at".to_string()),
        Just("faults".to_string()),
    ];
    (path, prop_oneof![value(), "[^\n]{0,10}"]).prop_map(|(p, v)| format!("{p}={v}"))
}

fn loads_without_panicking(text: &str, sets: &[String]) -> Result<(), TestCaseError> {
    let over = Overrides::sets(sets);
    let loaded = catch_unwind(AssertUnwindSafe(|| {
        Scenario::from_str(Path::new("fuzz.toml"), text, &over, &Registry::builtin())
    }));
    match loaded {
        Err(_) => Err(TestCaseError::fail(format!("panicked on:\n{text}\nsets: {sets:?}"))),
        Ok(Err(e)) if e.to_string().trim().lines().count() != 1 => {
            Err(TestCaseError::fail(format!("a message on several lines: {e}")))
        }
        Ok(_) => Ok(()),
    }
}

#[test]
fn arbitrary_scenario_documents_and_sets_load_or_are_refused_never_panic() {
    let strategy = (document(), prop::collection::vec(set(), 0..3));
    if let Err(e) = runner(1_500).run(&strategy, |(text, sets)| loads_without_panicking(&text, &sets)) {
        panic!("{e}");
    }
}

#[test]
fn arbitrary_text_is_refused_with_a_message_never_a_panic() {
    if let Err(e) = runner(1_000).run(&"\\PC{0,200}", |text| loads_without_panicking(&text, &[])) {
        panic!("{e}");
    }
}
