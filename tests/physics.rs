//! The cluster model's timing, observed by a probe engine through the public kernel API: a
//! message of B bytes takes latency + B / bandwidth, a NIC serialises sends, cores run work FIFO,
//! a straggler's work takes factor× longer, storage costs latency + B / bandwidth, a crash
//! drops messages and work and is reported after the detection delay, and a run stops at the
//! end of an instant.

use crate::support::scenario;
use ftsim_sim::engine::{Ctx, Engine, Event};
use ftsim_sim::{NodeId, Scenario, SimDuration, SimTime, SourceLog};

/// What the probe does at time zero.
#[derive(Clone, Copy)]
enum Act {
    Send { from: u32, to: u32, bytes: u64 },
    Work { node: u32, ns: u64 },
    WorkAt { node: u32, ns: u64, at: u64 },
    Store { node: u32, bytes: u64 },
    NodeTimer { node: u32, after: u64 },
}

/// Records when each of its actions completed.
#[derive(Default)]
struct Probe {
    acts: Vec<Act>,
    done: Vec<(usize, SimTime)>,
    failed: Vec<(NodeId, SimTime)>,
    /// Finished once the input ended and a failure was reported (else never).
    finish_on_failure: bool,
    input_ended: bool,
}

impl Engine for Probe {
    type Msg = usize;
    type Tag = usize;
    type Scope = ();
    fn start(&mut self, cx: &mut Ctx<'_, usize, usize>) {
        for (i, a) in self.acts.clone().into_iter().enumerate() {
            match a {
                Act::Send { from, to, bytes } => cx.send(NodeId(from), NodeId(to), bytes, i),
                Act::Work { node, ns } => {
                    cx.compute(NodeId(node), SimDuration(ns), i);
                }
                Act::WorkAt { at, .. } => {
                    cx.set_timer_at(SimTime(at), i);
                }
                Act::Store { node, bytes } => cx.storage_write(NodeId(node), bytes, true, i),
                Act::NodeTimer { node, after } => {
                    cx.set_node_timer(NodeId(node), SimDuration(after), i);
                }
            }
        }
    }
    fn handle(&mut self, ev: Event<usize, usize>, cx: &mut Ctx<'_, usize, usize>) {
        match ev {
            Event::Message { msg: i, .. } | Event::WorkDone { tag: i, .. } | Event::StorageDone { tag: i, .. } => {
                self.done.push((i, cx.now()))
            }
            Event::Timer { tag: i, .. } => match self.acts[i] {
                Act::WorkAt { node, ns, .. } => {
                    cx.compute(NodeId(node), SimDuration(ns), i);
                }
                _ => self.done.push((i, cx.now())),
            },
            Event::NodeFailed { node } => self.failed.push((node, cx.now())),
            Event::InputEnded => self.input_ended = true,
            _ => {}
        }
    }
    fn finished(&self) -> bool {
        self.finish_on_failure && self.input_ended && !self.failed.is_empty()
    }
}

const BASE: &str = r#"
[run]
duration = "10s"
[cluster]
nodes = 3
cores = 2
network_latency = "100us"
bandwidth = "10Gbit/s"
storage_latency = "10ms"
storage_bandwidth = "100MB/s"
detection_delay = "2s"
[workload]
rate = 1
[job]
kind = "running-count"
"#;

fn probe(sc: &Scenario, acts: Vec<Act>) -> Probe {
    let log = SourceLog::from_records(vec![Vec::new()], SimDuration::ZERO, 100);
    let mut p = Probe {
        acts,
        ..Probe::default()
    };
    ftsim_sim::kernel::run(sc, &log, "probe", &mut p, &mut |_| {});
    p.done.sort();
    p
}

fn at(p: &Probe, i: usize) -> Option<u64> {
    p.done.iter().find(|d| d.0 == i).map(|d| d.1.0)
}

#[test]
fn a_message_of_b_bytes_takes_latency_plus_b_over_bandwidth() {
    let sc = scenario(BASE);
    // 1.25 MB at 10 Gbit/s = 1 ms on the wire, plus 100 us latency.
    let p = probe(
        &sc,
        vec![Act::Send {
            from: 0,
            to: 1,
            bytes: 1_250_000,
        }],
    );
    assert_eq!(at(&p, 0), Some(1_100_000));
}

#[test]
fn a_sender_nic_serialises_messages_and_channels_stay_fifo() {
    let sc = scenario(BASE);
    let p = probe(
        &sc,
        vec![
            Act::Send {
                from: 0,
                to: 1,
                bytes: 1_250_000,
            },
            Act::Send {
                from: 0,
                to: 2,
                bytes: 1_250,
            },
            Act::Send {
                from: 0,
                to: 1,
                bytes: 1_250,
            },
        ],
    );
    assert_eq!(at(&p, 0), Some(1_100_000));
    assert_eq!(
        at(&p, 1),
        Some(1_101_000),
        "the second message waits for the first to leave the NIC"
    );
    assert_eq!(at(&p, 2), Some(1_102_000));
}

#[test]
fn work_runs_on_the_node_cores_in_fifo_order() {
    let sc = scenario(BASE);
    let p = probe(
        &sc,
        vec![
            Act::Work { node: 0, ns: 1_000 },
            Act::Work { node: 0, ns: 1_000 },
            Act::Work { node: 0, ns: 500 },
        ],
    );
    assert_eq!(at(&p, 0), Some(1_000));
    assert_eq!(at(&p, 1), Some(1_000), "two cores run two tasks at once");
    assert_eq!(at(&p, 2), Some(1_500), "the third waits for a core");
}

#[test]
fn a_stragglers_work_takes_factor_times_longer_only_inside_its_window() {
    let text = format!("{BASE}\n[[faults]]\nat = \"1s\"\nstraggler = 0\nslowdown = 5.0\nfor = \"2s\"\n");
    let sc = scenario(&text);
    let p = probe(
        &sc,
        vec![
            Act::WorkAt {
                node: 0,
                ns: 1_000_000,
                at: 1_500_000_000,
            },
            Act::WorkAt {
                node: 1,
                ns: 1_000_000,
                at: 1_500_000_000,
            },
            Act::WorkAt {
                node: 0,
                ns: 1_000_000,
                at: 4_000_000_000,
            },
        ],
    );
    assert_eq!(
        at(&p, 0),
        Some(1_505_000_000),
        "1 ms of work takes 5 ms on the straggler"
    );
    assert_eq!(at(&p, 1), Some(1_501_000_000), "other nodes are not slowed");
    assert_eq!(
        at(&p, 2),
        Some(4_001_000_000),
        "after the window the node is back to speed"
    );
}

#[test]
fn a_storage_write_takes_latency_plus_bytes_over_bandwidth() {
    let sc = scenario(BASE);
    // 10 MB at 100 MB/s = 100 ms, plus 10 ms latency.
    let p = probe(
        &sc,
        vec![Act::Store {
            node: 0,
            bytes: 10_000_000,
        }],
    );
    assert_eq!(at(&p, 0), Some(110_000_000));
}

#[test]
fn a_crash_drops_messages_and_work_and_is_reported_after_the_detection_delay() {
    let text = format!("{BASE}\n[[faults]]\nat = \"1ms\"\ncrash = 1\n");
    let sc = scenario(&text);
    let p = probe(
        &sc,
        vec![
            Act::Send {
                from: 0,
                to: 1,
                bytes: 12_500_000,
            }, // arrives at 10.1 ms, after the crash
            Act::Work { node: 1, ns: 5_000_000 }, // would finish at 5 ms
            Act::Work { node: 2, ns: 5_000_000 },
        ],
    );
    assert_eq!(at(&p, 0), None, "a message to a dead node vanishes");
    assert_eq!(at(&p, 1), None, "work on a dead node never completes");
    assert_eq!(at(&p, 2), Some(5_000_000));
    assert_eq!(p.failed, vec![(NodeId(1), SimTime(2_001_000_000))]);
}

#[test]
fn a_node_timer_dies_with_its_node_while_a_plain_timer_fires() {
    let text = format!("{BASE}\n[[faults]]\nat = \"1ms\"\ncrash = 1\n");
    let sc = scenario(&text);
    let p = probe(
        &sc,
        vec![
            Act::NodeTimer {
                node: 1,
                after: 5_000_000,
            },
            Act::NodeTimer {
                node: 2,
                after: 5_000_000,
            },
        ],
    );
    assert_eq!(at(&p, 0), None, "the crashed node's timer never fires");
    assert_eq!(at(&p, 1), Some(5_000_000));
}

#[test]
fn a_run_that_finishes_at_the_first_detection_of_a_crash_still_hears_of_every_node_it_killed() {
    // Nodes 1 and 2 die at 9 s and are detected together at 11 s, after the input ended at
    // 10 s; the probe is finished as soon as it hears of one.
    let text = format!("{BASE}\n[[faults]]\nat = \"9s\"\ncrash = [1, 2]\n");
    let sc = scenario(&text);
    let log = SourceLog::from_records(vec![Vec::new()], SimDuration::ZERO, 100);
    let mut p = Probe {
        finish_on_failure: true,
        ..Probe::default()
    };
    let out = ftsim_sim::kernel::run(&sc, &log, "probe", &mut p, &mut |_| {});
    let at = SimTime(11_000_000_000);
    assert_eq!(p.failed, vec![(NodeId(1), at), (NodeId(2), at)]);
    assert!(out.stats.finished, "the probe finished");
    assert_eq!(out.stats.end, at, "the run stops at the end of that instant");
}
