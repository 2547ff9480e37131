//! Capacity after failures: a spare replaces the node it was asked for, crashed workers come back
//! after `cluster.restart_delay` as a cluster manager would bring them, and an engine whose every
//! worker died runs again on what comes back (the pipelined engines; the micro-batch engines in
//! tests/regressions.rs).

use crate::support::{repro, run, scenario};
use ftsim_sim::Verdict;

fn cluster(nodes: u32, spares: u32, faults: &str) -> String {
    format!(
        "[run]\nname = \"capacity\"\nseed = 4\nduration = \"12s\"\nengines = [\"none\", \"flink-abs\"]\n\
         [cluster]\nnodes = {nodes}\nspares = {spares}\ncores = 2\ndetection_delay = \"500ms\"\nspare_start = \"700ms\"\nrestart_delay = \"1500ms\"\n\
         [workload]\nrate = 2000\nkeys = 40\n[job]\nkind = \"window-count\"\nwindow = \"500ms\"\nsink = \"idempotent\"\n\
         [engines.flink-abs]\ncheckpoint_interval = \"400ms\"\n{faults}"
    )
}

#[test]
fn an_engine_whose_only_worker_died_runs_again_once_the_worker_is_restarted() {
    let sc = scenario(&cluster(1, 0, "[[faults]]\nat = \"4.3217s\"\ncrash = 0\n"));
    for engine in ["none", "flink-abs"] {
        let r = run(&sc, engine);
        assert!(
            r.stats.finished && r.promise_kept,
            "{engine} {}: {:?}",
            repro(&sc),
            r.check
        );
        let f = &r.failures[0];
        let restored = f.restored.expect("restored").since(f.injected).as_secs_f64();
        assert!(
            restored >= 0.5 + 1.5,
            "{engine}: back after detection and restart, not before ({restored})"
        );
        assert!(r.events.iter().any(|e| e.kind == "node-restarted"), "{engine}");
    }
    assert_eq!(run(&sc, "flink-abs").verdict, Verdict::ExactlyOnce);
}

#[test]
fn when_every_worker_dies_the_spare_and_the_restarted_workers_take_the_tasks() {
    let sc = scenario(&cluster(3, 1, "[[faults]]\nat = \"5.017s\"\ncrash = [0, 1, 2]\n"));
    for engine in ["none", "flink-abs"] {
        let r = run(&sc, engine);
        assert!(
            r.stats.finished && r.promise_kept,
            "{engine} {}: {:?}",
            repro(&sc),
            r.check
        );
        assert!(r.failures[0].restored.is_some(), "{engine}");
    }
}

#[test]
fn a_spare_goes_to_the_node_it_was_asked_for_even_when_a_later_request_finds_none_left() {
    // Node 1 fails first and gets the only spare (ready 700 ms later); node 2's request, made
    // meanwhile, is answered at once with no spare: node 2's tasks go to the survivors, and
    // node 1's wait for its spare.
    let faults = "[[faults]]\nat = \"3s\"\ncrash = 1\n[[faults]]\nat = \"3.2s\"\ncrash = 2\n";
    let sc = scenario(&cluster(4, 1, faults));
    let r = run(&sc, "none");
    let restored = |n: u32| {
        r.events
            .iter()
            .find(|e| e.kind == "restored" && e.node.map(|x| x.0) == Some(n))
            .map(|e| e.t.as_secs_f64())
            .expect("restored")
    };
    assert!(
        (restored(1) - (3.0 + 0.5 + 0.7)).abs() < 1e-9,
        "node 1 waits for its spare"
    );
    assert!(
        (restored(2) - (3.2 + 0.5)).abs() < 1e-9,
        "node 2 goes to the survivors at once"
    );
}
