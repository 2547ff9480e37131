//! Rounds of bare watermarks: one shared set of marks per round stands for a message per
//! (source, task) pair. On a cluster whose slow NICs keep batches on the wire long after a round
//! arrives, with many tasks and a round every few milliseconds, a task that applied a partition's
//! watermark ahead of an earlier batch of its channel would fire a window without that batch's
//! records, and one that lost a mark it held back (the last one of a partition, behind a backlog)
//! would never fire the last windows: either shows as lost outputs.

use crate::support::{repro, run, slow_wires};
use ftsim_sim::Verdict;

#[test]
fn with_batches_long_on_the_wire_every_window_fires_with_every_record() {
    // At 600 kB/s the NICs fall behind: at the end of the input every channel has a backlog.
    let sc = slow_wires("600kB/s", "");
    let r = run(&sc, "none");
    assert!(r.stats.finished, "{}", repro(&sc));
    assert_eq!(r.check.verdict, Verdict::ExactlyOnce, "{:?} {}", r.check, repro(&sc));
    assert!(r.check.expected > 1000, "{:?}", r.check);
}

#[test]
fn with_batches_long_on_the_wire_a_crash_at_any_instant_leaves_every_replaying_scheme_exact() {
    // Crash instants spread over the run by a fixed linear congruential sequence.
    let mut x: u64 = 0x9e37_79b9;
    for _ in 0..3 {
        x = x
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let ms = 500 + (x >> 33) % 3_500;
        let sc = slow_wires("4MB/s", &format!("[[faults]]\nat = \"{ms}ms\"\ncrash = 1"));
        for e in ["upstream-backup", "passive-standby", "active-standby"] {
            let r = run(&sc, e);
            assert!(r.stats.finished, "{e}, crash at {ms} ms: {}", repro(&sc));
            assert_eq!(
                r.check.verdict,
                Verdict::ExactlyOnce,
                "{e}, crash at {ms} ms: {:?} {}",
                r.check,
                repro(&sc)
            );
        }
    }
}
