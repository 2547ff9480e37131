//! Regressions of the micro-batch engines: each defect found, with the smallest fault plan that
//! showed it. Every run must keep its promise, finish and restore every failure it was told of.

use crate::support::{repro, run, scenario, shipped};
use ftsim_sim::{NodeId, RunReport, Scenario, SimTime, Verdict};

const ENGINES: [&str; 2] = ["dstream", "structured-streaming"];

/// A small running-count scenario for `engine` on `nodes` workers with `spares` spares, under
/// `faults` (`[[faults]]` tables): detection after 0.5 s, a spare ready 0.5 s after it is asked
/// for, a restarted node back after 2 s, a failed query restarted after 1 s.
fn small(engine: &str, nodes: u32, spares: u32, faults: &str) -> Scenario {
    let query = if engine == "structured-streaming" {
        "restart_delay = \"1s\"\n"
    } else {
        ""
    };
    scenario(&format!(
        "[run]\nname = \"regression\"\nduration = \"6s\"\nengines = [\"{engine}\"]\n\
         [cluster]\nnodes = {nodes}\nspares = {spares}\ncores = 2\ndetection_delay = \"500ms\"\n\
         spare_start = \"500ms\"\nrestart_delay = \"2s\"\n\
         [workload]\nrate = 2000\nkeys = 50\n\
         [job]\nkind = \"running-count\"\nsink = \"transactional\"\n\
         [engines.{engine}]\n{query}{faults}"
    ))
}

/// The run kept its promise exactly once, finished, and restored every failure.
fn recovers(sc: &Scenario, r: &RunReport) {
    assert_eq!(r.check.verdict, Verdict::ExactlyOnce, "{}: {:?}", repro(sc), r.check);
    assert!(r.promise_kept, "{}", repro(sc));
    assert!(r.stats.finished, "{}: {:?}", repro(sc), r.stats.unfinished);
    for f in &r.failures {
        assert!(
            f.restored.is_some(),
            "{}: the crash of {:?} is restored",
            repro(sc),
            f.nodes
        );
    }
}

/// Runs `engine` on [`small`] and checks that it recovers; returns the run.
fn small_recovers(engine: &str, nodes: u32, spares: u32, faults: &str) -> RunReport {
    let sc = small(engine, nodes, spares, faults);
    let r = run(&sc, engine);
    recovers(&sc, &r);
    r
}

/// When the first worker joined the pool (a spare or a restarted node).
fn first_join(r: &RunReport) -> Option<SimTime> {
    r.events.iter().find(|e| e.kind == "worker-joined").map(|e| e.t)
}

#[test]
fn dstream_drains_when_a_second_worker_dies_before_the_first_death_is_detected() {
    let sc = shipped(
        "crash.toml",
        "dstream",
        &[
            "run.duration=\"30s\"",
            "faults=[{at=\"10s\", crash=4},{at=\"10.5s\", crash=3}]",
        ],
    );
    recovers(&sc, &run(&sc, "dstream"));
}

#[test]
fn both_engines_come_back_on_the_restarted_node_when_their_only_worker_dies() {
    for engine in ENGINES {
        let r = small_recovers(engine, 1, 0, "[[faults]]\nat = \"3s\"\ncrash = 0\n");
        let joined = first_join(&r).expect("the restarted node joins");
        assert!(
            r.failures[0].restored >= Some(joined),
            "{engine}: restored on the restarted node"
        );
    }
}

#[test]
fn both_engines_come_back_when_every_worker_dies_with_or_without_a_spare() {
    for engine in ENGINES {
        for spares in [0, 1] {
            let r = small_recovers(engine, 3, spares, "[[faults]]\nat = \"3s\"\ncrash = [0, 1, 2]\n");
            let spare_used = r
                .events
                .iter()
                .any(|e| e.kind == "worker-joined" && e.node == Some(NodeId(3)));
            assert_eq!(spare_used, spares == 1, "{engine}: the spare joins the pool");
        }
    }
}

#[test]
fn structured_streaming_is_restored_only_once_the_query_runs_on_a_live_worker() {
    let plans = [
        "[[faults]]\nat = \"3s\"\ncrash = 0\n",
        "[[faults]]\nat = \"2s\"\ncrash = \"master\"\n[[faults]]\nat = \"2.5s\"\ncrash = 0\n",
    ];
    for faults in plans {
        let r = small_recovers("structured-streaming", 1, 0, faults);
        let joined = first_join(&r).expect("the restarted worker joins");
        for f in &r.failures {
            assert!(
                f.restored >= Some(joined),
                "{faults}: restored before any worker was back"
            );
        }
    }
}

#[test]
fn structured_streaming_restores_a_worker_whose_failure_is_detected_while_the_driver_is_down() {
    small_recovers(
        "structured-streaming",
        2,
        0,
        "[[faults]]\nat = \"2s\"\ncrash = \"master\"\n[[faults]]\nat = \"2.2s\"\ncrash = 1\n",
    );
}

#[test]
fn a_node_that_fails_again_as_it_comes_back_is_restored_for_both_failures() {
    small_recovers(
        "dstream",
        1,
        0,
        // Detected at 2.5 s, back at 4.5 s: the second crash strikes as it comes back.
        "[[faults]]\nat = \"2s\"\ncrash = 0\n[[faults]]\nat = \"4500000001ns\"\ncrash = 0\n",
    );
}

#[test]
fn a_copy_launched_just_before_its_input_state_is_lost_fails_and_its_task_runs_again() {
    // The master speculates a reduce whose first attempt sits on the dead worker, which still
    // holds the input state in the master's view; when the copy starts the state is gone.
    let sc = scenario(
        "[run]\nname = \"regression\"\nseed = 6303903934135501\nduration = \"4883ms\"\n\
         engines = [\"dstream\"]\n\
         [cluster]\nnodes = 3\nspares = 0\ncores = 3\ndetection_delay = \"522ms\"\n\
         restart_delay = \"300ms\"\n\
         [workload]\nrate = 7742\nkeys = 44\n\
         [job]\nkind = \"running-count\"\nsink = \"append\"\nparallelism = 7\nstate_cost = \"370us\"\n\
         [engines.dstream]\nbatch_interval = \"967ms\"\n\
         [[faults]]\nat = \"3278081138ns\"\ncrash = 2\n",
    );
    let r = run(&sc, "dstream");
    assert!(r.events.iter().any(|e| e.kind == "speculate"), "{}", repro(&sc));
    recovers(&sc, &r);
}

#[test]
fn dstream_counts_a_reduce_whose_partition_reached_a_checkpoint_while_the_master_was_down_as_done() {
    // Batch 2's checkpoint completes while the master is down; every worker dies as it reads its
    // metadata back, so the reduce that wrote it must not run again from lost lineage.
    let sc = scenario(
        "[run]\nname = \"regression\"\nduration = \"7627ms\"\nengines = [\"dstream\"]\n\
         [cluster]\nnodes = 4\nspares = 0\ncores = 2\ndetection_delay = \"100ms\"\n\
         restart_delay = \"1990ms\"\nstorage_latency = \"290ms\"\n\
         [workload]\nrate = 15600\nkeys = 144\n\
         [job]\nkind = \"running-count\"\nsink = \"transactional\"\nparallelism = 5\n\
         state_cost = \"210us\"\nparse_cost = \"111us\"\n\
         [engines.dstream]\nblock_replication = 3\ncheckpoint_every = 2\n\
         speculation_multiplier = 1.0\nspeculation_quantile = 0.2\nspeculation_interval = \"10ms\"\n\
         batch_interval = \"786ms\"\n\
         [[faults]]\nat = \"817187869ns\"\ncrash = 0\n\
         [[faults]]\nat = \"2767090110ns\"\ncrash = \"master\"\n\
         [[faults]]\nat = \"5047095549ns\"\ncrash = [0, 1, 2, 3]\n",
    );
    recovers(&sc, &run(&sc, "dstream"));
}

#[test]
fn a_restarted_driver_takes_no_task_report_before_it_has_read_its_logs() {
    // A reduce reports while the restarted driver reads its logs; completing the batch then
    // would log it done while the restart runs it again, and drop its records.
    let sc = scenario(
        "[run]\nname = \"regression\"\nduration = \"5101ms\"\nengines = [\"structured-streaming\"]\n\
         [cluster]\nnodes = 2\nspares = 0\ncores = 3\ndetection_delay = \"233ms\"\n\
         restart_delay = \"300ms\"\nstorage_latency = \"178ms\"\n\
         [workload]\nrate = 1857\nkeys = 94\n\
         [job]\nkind = \"running-count\"\nsink = \"transactional\"\nparallelism = 1\n\
         filter_keep = 0.5988053651856481\nstate_cost = \"261us\"\nparse_cost = \"59us\"\n\
         [engines.structured-streaming]\nmin_partitions = 7\nrestart_delay = \"300ms\"\n\
         trigger_interval = \"345ms\"\n\
         [[faults]]\nat = \"3197982247ns\"\ncrash = 0\n\
         [[faults]]\nat = \"5064665098ns\"\ncrash = \"master\"\n",
    );
    recovers(&sc, &run(&sc, "structured-streaming"));
}
