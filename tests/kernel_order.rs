//! The kernel's event order: total by (time, insertion order), same-time events in insertion
//! order, times never going back.

use ftsim_sim::SimTime;
use ftsim_sim::queue::EventQueue;
use rand::{RngExt, SeedableRng};

#[test]
fn events_at_the_same_instant_pop_in_the_order_they_were_pushed() {
    let mut q = EventQueue::new();
    for i in 0..100u32 {
        q.push(SimTime(5), i);
    }
    let order: Vec<u32> = std::iter::from_fn(|| q.pop().map(|(_, e)| e)).collect();
    assert_eq!(order, (0..100).collect::<Vec<_>>());
}

#[test]
fn events_pop_sorted_by_time_then_push_order_whatever_the_push_order() {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
    let mut q = EventQueue::new();
    // What a sorted list of (time, push number) says must come out, against the queue.
    let mut pending: Vec<(SimTime, u64)> = Vec::new();
    let mut popped = Vec::new();
    let mut expected = Vec::new();
    let mut now = 0;
    for i in 0..20_000u64 {
        // Mostly near the present, sometimes far ahead, often at the very instant.
        let ahead = match rng.random_range(0..4) {
            0 => 0,
            1 => rng.random_range(0..4),
            2 => rng.random_range(0..1_000),
            _ => rng.random_range(0..1u64 << 40),
        };
        let t = SimTime(now + ahead);
        q.push(t, i);
        pending.push((t, i));
        if i % 3 == 0 {
            pending.sort();
            let next = pending.remove(0);
            expected.push(next);
            let got = q.pop().expect("not empty");
            now = got.0.0;
            popped.push(got);
        }
    }
    pending.sort();
    expected.extend(pending);
    popped.extend(std::iter::from_fn(|| q.pop()));
    assert_eq!(popped, expected);
    assert!(q.is_empty());
}

#[test]
fn an_interleaved_pop_never_returns_an_event_earlier_than_the_last_one() {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
    let mut q = EventQueue::new();
    let mut now = SimTime(0);
    q.push(now, ());
    let mut popped = 0;
    while let Some((t, ())) = q.pop() {
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

#[test]
fn a_push_into_the_past_is_taken_as_a_push_at_the_last_popped_time() {
    let mut q = EventQueue::new();
    q.push(SimTime(10), 'a');
    q.push(SimTime(20), 'b');
    assert_eq!(q.pop(), Some((SimTime(10), 'a')));
    q.push(SimTime(3), 'c');
    assert_eq!(q.peek_time(), Some(SimTime(10)));
    assert_eq!(q.pop(), Some((SimTime(10), 'c')));
    assert_eq!(q.pop(), Some((SimTime(20), 'b')));
    assert_eq!(q.pop(), None);
}
