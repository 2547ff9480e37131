//! Timers through the kernel: whichever way the kernel queues a timer (straight from the `Ctx`
//! or as a command after the handler), what an engine observes is the same: same-instant events
//! in the order issued, and a timer stamped with its scope's incarnation as the handler left it.

use crate::support::scenario;
use ftsim_sim::engine::{Ctx, Engine, Event, Scoped};
use ftsim_sim::{NodeId, SimDuration, SimTime, SourceLog};

const BASE: &str = r#"
[run]
duration = "1s"
[cluster]
nodes = 2
[workload]
rate = 1
[job]
kind = "running-count"
"#;

/// What to issue at time zero, all for the same instant.
#[derive(Clone, Copy)]
enum Set {
    /// A plain timer (no owner, no scope).
    Plain(&'static str),
    /// A timer node 0 owns.
    Owned(&'static str),
}

/// Issues its timers at start and records the order they fire in.
struct Issuer {
    sets: Vec<Set>,
    fired: Vec<&'static str>,
}

impl Engine for Issuer {
    type Msg = ();
    type Tag = &'static str;
    type Scope = ();
    fn start(&mut self, cx: &mut Ctx<'_, (), &'static str>) {
        let at = SimTime(5_000_000);
        for s in &self.sets {
            match *s {
                Set::Plain(name) => cx.set_timer_at(at, name),
                Set::Owned(name) => cx.set_node_timer_at(NodeId(0), at, name),
            };
        }
    }
    fn handle(&mut self, ev: Event<(), &'static str>, _: &mut Ctx<'_, (), &'static str>) {
        if let Event::Timer { tag, .. } = ev {
            self.fired.push(tag);
        }
    }
}

fn fired(sets: Vec<Set>) -> Vec<&'static str> {
    let sc = scenario(BASE);
    let log = SourceLog::from_records(vec![Vec::new()], SimDuration::ZERO, 100);
    let mut e = Issuer {
        sets,
        fired: Vec::new(),
    };
    ftsim_sim::kernel::run(&sc, &log, "issuer", &mut e, &mut |_| {});
    e.fired
}

#[test]
fn timers_set_for_one_instant_fire_in_the_order_issued_whoever_owns_them() {
    use Set::{Owned, Plain};
    assert_eq!(fired(vec![Plain("a"), Owned("b"), Plain("c")]), ["a", "b", "c"]);
    assert_eq!(
        fired(vec![Owned("a"), Plain("b"), Plain("c"), Owned("d")]),
        ["a", "b", "c", "d"]
    );
}

/// The job, the one scope of [`Restarter`].
#[derive(Clone, Copy)]
struct Job;

/// A tag in the job's scope or in none.
struct Tag {
    name: &'static str,
    scoped: bool,
}

impl Scoped<Job> for Tag {
    fn scope(&self) -> Option<Job> {
        self.scoped.then_some(Job)
    }
}

impl Scoped<Job> for () {}

/// Sets its timers, then starts a new incarnation of the job in the same handler.
#[derive(Default)]
struct Restarter {
    incarnation: u32,
    fired: Vec<&'static str>,
}

impl Engine for Restarter {
    type Msg = ();
    type Tag = Tag;
    type Scope = Job;
    fn incarnation(&self, _: Job) -> u32 {
        self.incarnation
    }
    fn start(&mut self, cx: &mut Ctx<'_, (), Tag>) {
        cx.set_timer(
            SimDuration(1_000),
            Tag {
                name: "scoped",
                scoped: true,
            },
        );
        cx.set_timer(
            SimDuration(2_000),
            Tag {
                name: "unscoped",
                scoped: false,
            },
        );
        self.incarnation += 1;
    }
    fn handle(&mut self, ev: Event<(), Tag>, _: &mut Ctx<'_, (), Tag>) {
        if let Event::Timer { tag, .. } = ev {
            self.fired.push(tag.name);
        }
    }
}

#[test]
fn a_timer_belongs_to_the_incarnation_its_handler_leaves_even_when_set_first() {
    let sc = scenario(BASE);
    let log = SourceLog::from_records(vec![Vec::new()], SimDuration::ZERO, 100);
    let mut e = Restarter::default();
    let out = ftsim_sim::kernel::run(&sc, &log, "restarter", &mut e, &mut |_| {});
    assert_eq!(e.fired, ["scoped", "unscoped"]);
    assert_eq!(out.stats.stale_dropped, 0);
}
