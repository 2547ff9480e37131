//! Kernel invariants and record conservation, on runs with crashes at odd instants.

use crate::support::{repro, run, scenario};

fn with_crashes(job: &str, faults: &str) -> String {
    format!(
        "[run]\nname = \"inv\"\nseed = 5\nduration = \"12s\"\n[cluster]\nnodes = 3\ncores = 2\nspares = 1\ndetection_delay = \"700ms\"\nrestart_delay = \"2s\"\n[workload]\nrate = 3000\nkeys = 50\n[job]\n{job}\nwindow = \"1s\"\n[engines.flink-abs]\ncheckpoint_interval = \"900ms\"\n{faults}"
    )
}

#[test]
fn every_record_read_is_filtered_applied_or_dropped_for_a_stated_reason_in_a_finished_run() {
    let faults = "[[faults]]\nat = \"3.217s\"\ncrash = 1\n[[faults]]\nat = \"3.9s\"\ncrash = 2\n";
    for job in [
        "kind = \"window-count\"\nfilter_keep = 0.8",
        "kind = \"running-count\"\nsink = \"idempotent\"",
    ] {
        let sc = scenario(&with_crashes(job, faults));
        for engine in ["none", "flink-abs"] {
            let r = run(&sc, engine);
            let l = &r.stats.ledger;
            assert!(r.stats.finished, "{engine} {}: {:?}", repro(&sc), r.unfinished);
            assert!(l.read > 0 && l.filtered < l.read, "{engine}: {l:?}");
            assert_eq!(l.in_flight(), 0, "{engine} {}: {l:?}", repro(&sc));
            assert!(r.stats.breaches.is_empty(), "{engine}: {:?}", r.stats.breaches);
        }
    }
}
