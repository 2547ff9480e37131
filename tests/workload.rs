//! The workload generator: rates, profiles, key skew and event-time disorder as configured.

use crate::support::scenario;
use ftsim_sim::{PartitionId, SourceLog};

fn log(workload: &str) -> SourceLog {
    let sc = scenario(&format!(
        "[run]\nduration = \"20s\"\nseed = 4\n[cluster]\nnodes = 4\n[workload]\n{workload}\n[job]\nkind = \"running-count\"\n"
    ));
    SourceLog::generate(&sc)
}

fn all(l: &SourceLog) -> Vec<ftsim_sim::Record> {
    let r = l.reader();
    (0..l.partitions())
        .flat_map(|p| r.slice(PartitionId(p), 0, u64::MAX))
        .collect()
}

#[test]
fn every_profile_delivers_the_configured_mean_rate() {
    for profile in ["constant", "poisson", "bursty"] {
        let l = log(&format!("rate = 5000\nprofile = \"{profile}\""));
        let n = l.total() as f64;
        assert!(
            (n - 100_000.0).abs() < 4_000.0,
            "{profile}: {n} records in 20 s at 5000/s"
        );
    }
}

#[test]
fn a_bursty_profile_concentrates_arrivals_in_the_peak_of_each_period() {
    let l = log("rate = 5000\nprofile = \"bursty\"\nburst_period = \"10s\"\nburst_peak = 4.0\nburst_duty = 0.2");
    let recs = all(&l);
    let in_peak = recs
        .iter()
        .filter(|r| (r.arrival.0 % 10_000_000_000) < 2_000_000_000)
        .count() as f64;
    // base b with 0.2·4b + 0.8·b = rate: the peak fifth of the time carries 0.8/1.6 = half the records.
    let share = in_peak / recs.len() as f64;
    assert!((0.45..0.55).contains(&share), "peak share {share:.3}");
}

#[test]
fn zipf_keys_make_the_first_key_the_hottest() {
    let l = log("rate = 5000\nkeys = 1000\nkey_dist = \"zipf\"\nzipf_exponent = 1.2");
    let recs = all(&l);
    let hot = recs.iter().filter(|r| r.key == 0).count();
    let cold = recs.iter().filter(|r| r.key == 500).count();
    assert!(hot > 50 * cold.max(1), "key 0: {hot}, key 500: {cold}");
    let u = log("rate = 5000\nkeys = 1000");
    let urecs = all(&u);
    let uhot = urecs.iter().filter(|r| r.key == 0).count();
    assert!(uhot < 200, "uniform key 0 drawn {uhot} times of {}", urecs.len());
}

#[test]
fn out_of_order_records_lag_their_arrival_by_at_most_the_configured_bound() {
    let l = log("rate = 5000\nout_of_order = 0.3\nout_of_order_max = \"800ms\"");
    let recs = all(&l);
    let lagging = recs.iter().filter(|r| r.event_time < r.arrival).count() as f64 / recs.len() as f64;
    assert!((0.27..0.33).contains(&lagging), "lagging share {lagging:.3}");
    assert!(recs.iter().all(|r| r.arrival.0 - r.event_time.0 <= 800_000_000));
}

#[test]
fn arrivals_are_ordered_within_a_partition_and_offsets_are_dense() {
    let l = log("rate = 5000\nprofile = \"poisson\"");
    let reader = l.reader();
    for p in 0..l.partitions() {
        let recs = reader.slice(PartitionId(p), 0, u64::MAX);
        assert!(recs.windows(2).all(|w| w[0].arrival <= w[1].arrival));
        assert!(
            recs.iter()
                .enumerate()
                .all(|(i, r)| r.offset as usize == i && r.part == p)
        );
        assert_eq!(
            reader.available(PartitionId(p), ftsim_sim::SimTime(u64::MAX)),
            recs.len() as u64
        );
    }
}

#[test]
fn the_same_seed_generates_the_same_log() {
    let a = all(&log("rate = 2000\nprofile = \"poisson\"\nkey_dist = \"zipf\""));
    let b = all(&log("rate = 2000\nprofile = \"poisson\"\nkey_dist = \"zipf\""));
    assert!(a == b);
}

#[test]
fn records_generated_again_on_demand_are_the_ones_the_first_pass_generated() {
    use ftsim_sim::{Record, SimTime};
    use rand::{RngExt, SeedableRng};
    let sc = scenario(
        "[run]\nduration = \"20s\"\nseed = 9\n[cluster]\nnodes = 3\n[workload]\nrate = 3000\nprofile = \"bursty\"\nkey_dist = \"zipf\"\nout_of_order = 0.2\n[job]\nkind = \"window-count\"\n",
    );
    let mut first: Vec<Vec<Record>> = vec![Vec::new(); 3];
    let l = SourceLog::generate_with(&sc, |r| first[r.part as usize].push(*r));
    assert_eq!(l.total(), first.iter().map(|p| p.len() as u64).sum::<u64>());
    // Reads at random places, across chunk edges, in any order, through one reader.
    let reader = l.reader();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
    for _ in 0..2_000 {
        let p = rng.random_range(0..3u32);
        let recs = &first[p as usize];
        let from = rng.random_range(0..recs.len() as u64);
        let to = (from + rng.random_range(0..700)).min(recs.len() as u64 + 5);
        let part = PartitionId(p);
        assert_eq!(
            reader.slice(part, from, to),
            recs[from as usize..(to as usize).min(recs.len())]
        );
        assert_eq!(reader.record(part, from), Some(recs[from as usize]));
        let now = SimTime(rng.random_range(0..21_000_000_000));
        let avail = recs.iter().filter(|r| r.arrival <= now).count() as u64;
        assert_eq!(reader.available(part, now), avail, "partition {p} at {now}");
        let wm = reader.watermark_at(part, from + 1);
        let last = recs[from as usize];
        assert_eq!(wm, last.wm_before.max(last.event_time - sc.job.max_out_of_orderness));
    }
}

#[test]
fn how_many_records_have_arrived_is_right_at_any_instant_asked_in_any_order() {
    use ftsim_sim::SimTime;
    use rand::{RngExt, SeedableRng};
    let l = log("rate = 3000\nprofile = \"bursty\"");
    let recs = all(&l);
    let reader = l.reader();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(9);
    let mut t = 0u64;
    for step in 0..4000 {
        // Mostly forward in small steps (some repeating an instant or landing on an arrival),
        // sometimes backward.
        t = match step % 7 {
            0 => rng.random_range(0..21_000_000_000),
            1 => t,
            2 => recs[rng.random_range(0..recs.len())].arrival.0,
            _ => t + rng.random_range(0..3_000_000),
        };
        let p = rng.random_range(0..l.partitions());
        let expected = recs.iter().filter(|r| r.part == p && r.arrival.0 <= t).count() as u64;
        assert_eq!(
            reader.available(PartitionId(p), SimTime(t)),
            expected,
            "partition {p} at {t} ns"
        );
    }
}
