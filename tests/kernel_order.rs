//! The kernel's event order: total by (time, sequence), same-time events in insertion order.

use ftsim_sim::SimTime;
use ftsim_sim::queue::EventQueue;
use rand::{RngExt, SeedableRng};

#[test]
fn events_at_the_same_instant_pop_in_the_order_they_were_pushed() {
    let mut q = EventQueue::new();
    for i in 0..100u32 {
        q.push(SimTime(5), i);
    }
    let order: Vec<u32> = std::iter::from_fn(|| q.pop().map(|(_, _, e)| e)).collect();
    assert_eq!(order, (0..100).collect::<Vec<_>>());
}

#[test]
fn events_pop_sorted_by_time_then_sequence_whatever_the_push_order() {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
    let mut q = EventQueue::new();
    let mut pushed = Vec::new();
    for i in 0..5_000u64 {
        let t = SimTime(rng.random_range(0..200));
        let seq = q.push(t, i);
        pushed.push((t, seq, i));
        if i % 7 == 0 {
            // interleave pops with pushes, as a run does
            let _ = q.pop().map(|p| pushed.retain(|x| x.2 != p.2));
        }
    }
    pushed.sort();
    let popped: Vec<(SimTime, u64, u64)> = std::iter::from_fn(|| q.pop()).collect();
    assert_eq!(popped, pushed);
}

#[test]
fn an_interleaved_pop_never_returns_an_event_earlier_than_the_last_one() {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
    let mut q = EventQueue::new();
    let mut now = SimTime(0);
    q.push(now, ());
    let mut popped = 0;
    while let Some((t, _, ())) = q.pop() {
        assert!(t >= now, "time went back from {now:?} to {t:?}");
        now = t;
        popped += 1;
        if popped < 10_000 {
            // hold model: every pop schedules one or two events in the future
            for _ in 0..rng.random_range(1..=2) {
                q.push(SimTime(now.0 + rng.random_range(0..50)), ());
            }
        }
    }
    assert!(popped >= 10_000);
}
