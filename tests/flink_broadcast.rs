//! `flink-abs`'s broadcasts: a source's bare watermarks and barriers on its remote idle
//! channels travel as one transmission that counts one message per channel, and the tasks
//! take a batch of watermarks with one scan; the promises hold with many channels per node
//! pair, blocked inputs, busy tasks and recorded channel state.

use crate::support::{repro, run, scenario};
use ftsim_sim::{OperatorState, Record, Semantics, SimTime, Verdict};

/// `nodes` workers, `tasks` sources and stateful tasks, `rate` records/s, window count.
fn many_channels(nodes: u32, tasks: u32, rate: u32, mode: &str, faults: &str) -> String {
    format!(
        r#"
[run]
name = "flink-broadcast"
seed = 3
duration = "12s"
engines = ["flink-abs"]
[cluster]
nodes = {nodes}
cores = 2
spares = 1
detection_delay = "1s"
spare_start = "500ms"
restart_delay = "1s"
[workload]
rate = {rate}
keys = 300
partitions = {tasks}
[job]
kind = "window-count"
sink = "transactional"
window = "1s"
parallelism = {tasks}
[engines.flink-abs]
mode = "{mode}"
checkpoint_interval = "2s"
{faults}
"#
    )
}

#[test]
fn bare_watermarks_and_barriers_cost_one_transmission_per_source_yet_count_every_channel() {
    // 32 × 32 channels on 16 nodes and few records: most messages are bare watermarks (and
    // their credits) and barriers. One by one, each would cost a kernel event at least; those
    // within a node still do.
    let sc = scenario(&many_channels(16, 32, 200, "aligned", ""));
    let r = run(&sc, "flink-abs");
    assert!(r.stats.finished && r.promise_kept, "{}: {:?}", repro(&sc), r.check);
    let (messages, events) = (r.stats.messages, r.stats.sim_events);
    assert!(
        messages > 20 * r.records_in,
        "bare watermarks dominate: {messages} messages for {} records",
        r.records_in
    );
    assert!(events * 3 < messages, "{events} kernel events for {messages} messages");
    let checkpoints = r.events.iter().filter(|e| e.kind == "checkpoint-complete").count() as u64;
    assert!(
        r.stats.ft_messages >= checkpoints * 32 * 32,
        "every channel's barrier counts: {} fault-tolerance messages for {checkpoints} checkpoints",
        r.stats.ft_messages
    );
}

#[test]
fn window_counts_stay_exactly_once_when_broadcasts_meet_blocked_busy_and_recording_tasks() {
    // Worker 1 is 30× slower from 3 s to 9 s (queues build, aligned inputs block for long,
    // unaligned checkpoints record channel state) and worker 2 dies at 7.5 s: broadcasts reach
    // tasks in every state, and a restart drops the ones in flight.
    let faults = "[[faults]]\nat = \"3s\"\nstraggler = 1\nslowdown = 30.0\nfor = \"6s\"\n\
                  [[faults]]\nat = \"7.5s\"\ncrash = 2\n";
    for mode in ["aligned", "unaligned"] {
        let sc = scenario(&many_channels(4, 16, 3000, mode, faults));
        let r = run(&sc, "flink-abs");
        assert!(r.stats.finished, "{mode}: {}", repro(&sc));
        assert_eq!(r.verdict, Verdict::ExactlyOnce, "{mode}: {}: {:?}", repro(&sc), r.check);
        assert!(r.check.lost == 0 && r.check.wrong == 0, "{mode}: {:?}", r.check);
    }
}

#[test]
fn raising_many_watermarks_at_once_emits_what_raising_them_one_by_one_does() {
    let sc = scenario(&many_channels(4, 8, 100, "aligned", ""));
    let sem = Semantics::new(&sc.job, 8);
    let s = |ms: u64| SimTime(ms * 1_000_000);
    let mut one = sem.new_state();
    let mut out = Vec::new();
    for (i, et) in [100u64, 900, 1500, 2300, 2900, 4100].into_iter().enumerate() {
        let r = Record {
            part: i as u32 % 8,
            offset: i as u32,
            key: i as u32 % 3,
            value: 0,
            event_time: s(et),
            arrival: s(et),
            wm_before: SimTime::ZERO,
        };
        one.apply(&sem, &r, &mut out);
    }
    let mut batch: OperatorState = one.clone();
    // Rounds of raises: partition 3 is the last at the minimum several times over, ties, a
    // raise below the current value, and partitions left behind.
    let rounds: [&[(u32, u64)]; 4] = [
        &[
            (0, 1200),
            (1, 1100),
            (2, 1300),
            (3, 1000),
            (4, 1000),
            (5, 1400),
            (6, 1500),
            (7, 1000),
        ],
        &[
            (7, 2100),
            (4, 2200),
            (3, 2500),
            (0, 900),
            (1, 2600),
            (2, 2700),
            (5, 2800),
            (6, 2900),
        ],
        &[(3, 3100), (0, 3200), (1, 3300), (2, 3400)],
        &[
            (4, 5000),
            (5, 5000),
            (6, 5000),
            (7, 5000),
            (0, 5000),
            (1, 5000),
            (2, 5000),
            (3, 5000),
        ],
    ];
    for raises in rounds {
        let raises: Vec<(u32, SimTime)> = raises.iter().map(|(p, ms)| (*p, s(*ms))).collect();
        let (mut a, mut b) = (Vec::new(), Vec::new());
        for (p, wm) in &raises {
            one.advance(&sem, *p, *wm, &mut a);
        }
        batch.advance_many(&sem, raises.iter().copied(), &mut b);
        assert_eq!(a, b, "the same emissions, in the same order");
        assert_eq!(one, batch, "the same state");
        assert_eq!(one.watermark(), batch.watermark());
    }
    assert!(one.entries() == 0 && one.watermark() == s(5000), "every window fired");
}
