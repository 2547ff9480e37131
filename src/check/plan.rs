//! Fault plans drawn from a seed, swarm-testing style: the seed chooses which kinds of fault a case
//! may use, how many faults it has (0 to 4) and when they strike, at any nanosecond. Faults come
//! in the first three quarters of the run, so that a quiet phase follows the last one in which the
//! engine must converge; a following fault often strikes soon after the one before (before it is
//! detected, or while the engine restores or replays), and a crash often hits the node the last
//! one hit, several nodes at once, or the master.

use ftsim_sim::rng::stream;
use ftsim_sim::scenario::{Fault, FaultTarget};
use ftsim_sim::{NodeId, Scenario, SimDuration, SimTime};
use rand::RngExt;

/// The fault plan of case `seed` for `sc`'s cluster and timing.
pub fn draw(sc: &Scenario, seed: u64) -> Vec<Fault> {
    let mut rng = stream(seed, "check/plan");
    let workers = sc.cluster.nodes;
    // Swarm: each case enables its own subset of fault kinds.
    let crash_master = rng.random_bool(0.3);
    let crash_many = workers > 1 && rng.random_bool(0.3);
    let stragglers = rng.random_bool(0.4);
    let count = rng.random_range(0..=4u32);
    let start = sc.run.warmup.as_nanos();
    let end = (sc.run.duration.as_nanos() / 4 * 3).max(start + 1);
    let settle = sc.cluster.detection_delay + sc.cluster.spare_start.max(sc.cluster.restart_delay);
    let mut faults: Vec<Fault> = Vec::new();
    let mut last: Option<(SimTime, NodeId)> = None;
    for _ in 0..count {
        let at = match last {
            Some((t, _)) if rng.random_bool(0.4) => t + span(&mut rng, sc.cluster.detection_delay),
            Some((t, _)) if rng.random_bool(0.3) => t + sc.cluster.detection_delay + span(&mut rng, settle),
            _ => SimTime(rng.random_range(start..end)),
        };
        if at.0 >= sc.run.duration.as_nanos() {
            continue;
        }
        if stragglers && rng.random_bool(0.3) {
            let node = NodeId(rng.random_range(0..workers));
            let duration = SimDuration::from_millis(rng.random_range(300..5_000));
            let overlaps = faults.iter().any(|f| {
                matches!(f, Fault::Straggler { at: a, node: n, duration: d, .. }
                    if *n == node && *a < at + duration && at < *a + *d)
            });
            if !overlaps {
                let factor = f64::from(rng.random_range(20..200u32)) / 10.0;
                faults.push(Fault::Straggler {
                    at,
                    node,
                    factor,
                    duration,
                });
            }
            continue;
        }
        let targets = if crash_master && rng.random_bool(0.3) {
            vec![FaultTarget::Master]
        } else if crash_many && rng.random_bool(0.3) {
            let k = rng.random_range(2..=workers);
            let first = rng.random_range(0..workers);
            (0..k)
                .map(|i| FaultTarget::Worker(NodeId((first + i) % workers)))
                .collect()
        } else {
            let node = match last {
                Some((_, n)) if rng.random_bool(0.25) => n,
                _ => NodeId(rng.random_range(0..workers)),
            };
            vec![FaultTarget::Worker(node)]
        };
        let first = match targets[0] {
            FaultTarget::Worker(n) => n,
            FaultTarget::Master => sc.cluster.master(),
        };
        last = Some((at, first));
        faults.push(Fault::Crash { at, targets });
    }
    faults.sort_by_key(Fault::at);
    faults
}

fn span(rng: &mut ftsim_sim::rng::SimRng, up_to: SimDuration) -> SimDuration {
    SimDuration(rng.random_range(0..=up_to.as_nanos().max(1)))
}

/// The plan as the value of `--set faults=...`, exact to the nanosecond.
pub fn to_toml(faults: &[Fault]) -> String {
    let one = |f: &Fault| match f {
        Fault::Crash { at, targets } => {
            let t: Vec<String> = targets
                .iter()
                .map(|t| match t {
                    FaultTarget::Worker(n) => n.0.to_string(),
                    FaultTarget::Master => "\"master\"".into(),
                })
                .collect();
            let crash = if t.len() == 1 {
                t[0].clone()
            } else {
                format!("[{}]", t.join(", "))
            };
            format!("{{ at = \"{}ns\", crash = {crash} }}", at.0)
        }
        Fault::Straggler {
            at,
            node,
            factor,
            duration,
        } => format!(
            "{{ at = \"{}ns\", straggler = {}, slowdown = {factor:?}, for = \"{}ns\" }}",
            at.0,
            node.0,
            duration.as_nanos()
        ),
    };
    format!("[{}]", faults.iter().map(one).collect::<Vec<_>>().join(", "))
}
