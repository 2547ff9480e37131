//! Ack rounds: the acknowledgements a stateful task sends every source (upstream-backup's fired
//! windows and checkpoints, passive-standby's held checkpoints) travel as one round per instant,
//! each acknowledgement a payload shared by all its receivers, standing for one message per
//! (task, source) pair.
//!
//! A probe engine on the pipelined core acknowledges every few milliseconds from every task,
//! either as one message per pair or through `AckRounds`, and records which (tick, task, source)
//! acknowledgements each source took: with a crash just before a tick (a dead sender), just
//! after one (receivers dead on arrival) and at instants spread over the run, both ways count
//! the same messages and bytes and deliver exactly the same acknowledgements. Its NICs send 64
//! bytes in exactly 64 ns, so the two ways keep every NIC equally busy and the data identical.

use crate::support::{repro, scenario};
use ftsim_engines::pipeline::{
    AckMsg, AckRounds, AckWire, Core, Msg, PCtx, Pipeline, Policy, ReadCfg, Scope, Tag, Takeover,
};
use ftsim_engines::{EngineSpec, Entry, Registry};
use ftsim_sim::config::within;
use ftsim_sim::engine::Scoped;
use ftsim_sim::scenario::{JobKind, SinkMode};
use ftsim_sim::{Cell, Guarantee, NodeId, Prepared, RunReport, Scenario, SimDuration, Table, Verdict, engine_config};

/// How often the probe's tasks acknowledge.
const TICK: SimDuration = SimDuration::from_millis(40);

#[derive(Debug)]
enum ProbeMsg {
    /// One acknowledgement of the modelled system, on its own.
    Pair { tick: u64, group: u32, part: u32 },
    /// A transmission of an ack round.
    Round(AckMsg),
}

impl Scoped<Scope> for ProbeMsg {}

#[derive(Debug)]
enum ProbeTag {
    Tick(u32),
    Reached(u64, NodeId),
    Arrive(u64),
}

impl Scoped<Scope> for ProbeTag {
    fn scope(&self) -> Option<Scope> {
        match self {
            ProbeTag::Tick(g) => Some(Scope::Task(*g)),
            ProbeTag::Reached(..) | ProbeTag::Arrive(_) => None,
        }
    }
}

/// What an acknowledgement says: which task sent it at which tick.
#[derive(Debug)]
struct ProbeAck {
    tick: u64,
    group: u32,
}

const WIRE: AckWire<ProbeMsg, ProbeTag> = AckWire {
    msg: ProbeMsg::Round,
    reached: ProbeTag::Reached,
    arrive: ProbeTag::Arrive,
};

struct Probe {
    rounds: bool,
    acks: AckRounds<ProbeAck>,
    /// (tick in ns, task, source) of every acknowledgement a source took.
    heard: Vec<(u64, u32, u32)>,
}

impl Probe {
    fn tick(&mut self, core: &Core, g: u32, cx: &mut PCtx<'_, Self>) {
        let node = core.tasks[g as usize].node;
        let tick = cx.now().0;
        if self.rounds {
            let ack = ProbeAck { tick, group: g };
            self.acks.send(&core.sources, node, ack, &WIRE, cx);
        } else {
            for (p, s) in core.sources.iter().enumerate().filter(|(_, s)| !s.lost) {
                let part = p as u32;
                let msg = Msg::Policy(ProbeMsg::Pair { tick, group: g, part });
                cx.send_ft(node, s.reader.node, 64, msg);
            }
        }
        cx.set_timer(TICK, Tag::Policy(ProbeTag::Tick(g)));
    }
}

impl Policy for Probe {
    type Msg = ProbeMsg;
    type Tag = ProbeTag;
    const REDEPLOY: &'static str = "lost tasks restart empty";

    fn start(&mut self, core: &mut Core, cx: &mut PCtx<'_, Self>) {
        for g in 0..core.tasks.len() as u32 {
            cx.set_timer(TICK, Tag::Policy(ProbeTag::Tick(g)));
        }
    }

    fn failed(&mut self, _core: &mut Core, _node: NodeId, _cx: &mut PCtx<'_, Self>) -> Takeover {
        self.acks.close();
        Takeover::Spare
    }

    fn placed(
        &mut self,
        _core: &mut Core,
        _failed: NodeId,
        _s: &[u32],
        tasks: &[u32],
        cx: &mut PCtx<'_, Self>,
    ) -> bool {
        self.acks.close();
        for &g in tasks {
            cx.set_timer(TICK, Tag::Policy(ProbeTag::Tick(g)));
        }
        true
    }

    fn message(&mut self, core: &mut Core, _from: NodeId, _to: NodeId, msg: ProbeMsg, _cx: &mut PCtx<'_, Self>) {
        match msg {
            ProbeMsg::Pair { tick, group, part } => {
                if !core.sources[part as usize].lost {
                    self.heard.push((tick, group, part));
                }
            }
            ProbeMsg::Round(m) => {
                if let Some(local) = self.acks.message(m, &core.sources) {
                    for &part in &local.parts {
                        self.heard.push((local.ack.tick, local.ack.group, part));
                    }
                }
            }
        }
    }

    fn tag(&mut self, core: &mut Core, tag: ProbeTag, cx: &mut PCtx<'_, Self>) {
        match tag {
            ProbeTag::Tick(g) => self.tick(core, g, cx),
            ProbeTag::Reached(round, node) => self.acks.reached(round, node),
            ProbeTag::Arrive(round) => {
                let Some(arrived) = self.acks.arrive(round, &core.sources) else {
                    return;
                };
                for (from, ack) in &arrived.acks {
                    for part in (0..core.sources.len() as u32).filter(|p| arrived.hears(*p, *from)) {
                        self.heard.push((ack.tick, ack.group, part));
                    }
                }
            }
        }
    }

    fn tables(&self) -> Vec<Table> {
        let mut heard = self.heard.clone();
        heard.sort_unstable();
        let rows = heard
            .into_iter()
            .map(|(t, g, p)| vec![Cell::Int(t), Cell::Int(u64::from(g)), Cell::Int(u64::from(p))])
            .collect();
        vec![Table {
            rows,
            ..Table::new("heard", &["tick_ns", "task", "source"])
        }]
    }
}

engine_config! {
    /// `[engines.ack-pairs]` and `[engines.ack-rounds]`.
    pub struct ProbeConfig {
        /// Most records a source reads at once.
        pub max_batch: u64 = 500 => within(1, 100_000);
    }
}

fn probe(sc: &Scenario, cfg: &ProbeConfig, rounds: bool) -> Pipeline<Probe> {
    let read = ReadCfg {
        max_batch: cfg.max_batch,
        poll_interval: SimDuration::from_millis(5),
        cost: sc.job.stateless_cost(),
    };
    let policy = Probe {
        rounds,
        acks: AckRounds::new(sc.cluster.network_latency),
        heard: Vec::new(),
    };
    Pipeline::new(sc, read, SimDuration::from_millis(20), policy)
}

/// The probe, acknowledging in rounds (`ROUNDS`) or one message per pair.
struct ProbeSpec<const ROUNDS: bool>;

impl<const ROUNDS: bool> EngineSpec for ProbeSpec<ROUNDS> {
    const NAME: &'static str = if ROUNDS { "ack-rounds" } else { "ack-pairs" };
    const SUMMARY: &'static str = if ROUNDS {
        "acknowledges every source from every task, in ack rounds"
    } else {
        "acknowledges every source from every task, one message per pair"
    };
    type Config = ProbeConfig;
    type Engine = Pipeline<Probe>;
    fn promise(_cfg: &ProbeConfig, _kind: JobKind, _sink: SinkMode) -> Guarantee {
        Guarantee::None
    }
    fn build(sc: &Scenario, cfg: &ProbeConfig) -> Pipeline<Probe> {
        probe(sc, cfg, ROUNDS)
    }
}

static PAIRS: Entry<ProbeSpec<false>> = Entry::new();
static ROUNDS: Entry<ProbeSpec<true>> = Entry::new();

fn run_probe(sc: &Scenario, name: &str) -> RunReport {
    let registry = Registry::builtin().with(&PAIRS).with(&ROUNDS);
    registry
        .run(sc, name, &Prepared::new(sc), &mut |_| {})
        .unwrap_or_else(|| panic!("no engine {name}"))
}

/// 8 sources and 24 tasks on 4 workers (one spare), `faults` appended.
fn many_tasks(faults: &str) -> Scenario {
    scenario(&format!(
        r#"
[run]
name = "ack-rounds"
seed = 9
duration = "3s"
engines = ["none"]

[cluster]
nodes = 4
cores = 4
spares = 1
bandwidth = "8Gbit/s"
network_latency = "100us"
detection_delay = "150ms"
spare_start = "50ms"
restart_delay = "200ms"

[workload]
rate = 4000
keys = 500
partitions = 8

[job]
kind = "window-count"
sink = "idempotent"
window = "200ms"
parallelism = 24

{faults}
"#
    ))
}

fn heard(r: &RunReport) -> &[Vec<Cell>] {
    &r.tables
        .iter()
        .find(|t| t.name == "heard")
        .expect("the heard table")
        .rows
}

#[test]
fn acknowledgements_in_rounds_count_and_reach_exactly_what_one_message_per_pair_would() {
    // A tick falls every 40 ms: crashes 1 µs before one (its tasks send nothing), 50 µs after
    // one (the round arrives at a dead node), and at instants spread by a fixed linear
    // congruential sequence.
    let mut instants = vec![1_199_999_000u64, 1_200_050_000];
    let mut x: u64 = 0x51_7cc1_b727;
    for _ in 0..3 {
        x = x
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        instants.push(300_000_000 + (x >> 33) % 2_400_000_000);
    }
    for at in instants {
        for node in [1, 2] {
            let sc = many_tasks(&format!("[[faults]]\nat = \"{at}ns\"\ncrash = {node}"));
            let pairs = run_probe(&sc, "ack-pairs");
            let rounds = run_probe(&sc, "ack-rounds");
            let what = format!("crash of node {node} at {at} ns, {}", repro(&sc));
            assert!(pairs.stats.finished && rounds.stats.finished, "{what}");
            assert!(heard(&pairs).len() > 10_000, "{what}: {}", heard(&pairs).len());
            assert_eq!(rounds.stats.ft_messages, pairs.stats.ft_messages, "{what}");
            assert_eq!(rounds.stats.ft_bytes, pairs.stats.ft_bytes, "{what}");
            assert_eq!(rounds.stats.end, pairs.stats.end, "{what}");
            let (a, b) = (heard(&pairs), heard(&rounds));
            let first = a.iter().zip(b).position(|(x, y)| x != y);
            assert!(
                a.len() == b.len() && first.is_none(),
                "{what}: {} acknowledgements taken one per pair, {} in rounds, first difference at {first:?}: {:?} / {:?}",
                a.len(),
                b.len(),
                first.and_then(|i| a.get(i)),
                first.and_then(|i| b.get(i)),
            );
        }
    }
}

#[test]
fn without_a_failure_upstream_backup_counts_one_acknowledgement_per_task_source_and_tick() {
    // No checkpoints: acknowledgements of fired windows are the only fault-tolerance messages.
    let sc = many_tasks("[engines.upstream-backup]\ncheckpoint_interval = \"0s\"\nack_interval = \"70ms\"");
    let r = crate::support::run(&sc, "upstream-backup");
    assert!(r.stats.finished, "{}", repro(&sc));
    assert_eq!(r.verdict, Verdict::ExactlyOnce, "{:?}", r.check);
    let ticks = r.stats.end.0 / 70_000_000;
    assert_ne!(r.stats.end.0 % 70_000_000, 0, "the run ends between two ticks");
    let pairs = ticks * 8 * 24;
    assert_eq!(r.stats.ft_messages, pairs, "{ticks} ticks of 24 tasks to 8 sources");
    assert_eq!(r.stats.ft_bytes, 64 * pairs);
    // The acknowledgements reached the sources: the logs hold about a window's records at the
    // end, not the whole input.
    let log = r.tables.iter().find(|t| t.name == "log").expect("log table");
    let last = log.numbers("records").last().copied().flatten().expect("a sample");
    assert!(
        last < 4000.0,
        "{last} records held at the end, not within a second of input"
    );
}

#[test]
fn a_crash_around_an_acknowledgement_leaves_both_replaying_schemes_exact() {
    for at in ["1199999us", "1200050us", "1400030us", "2000001us"] {
        let sc = many_tasks(&format!(
            "[[faults]]\nat = \"{at}\"\ncrash = 1\n[engines.upstream-backup]\nack_interval = \"40ms\"\ncheckpoint_interval = \"300ms\"\n[engines.passive-standby]\ncheckpoint_interval = \"200ms\""
        ));
        for e in ["upstream-backup", "passive-standby"] {
            let r = crate::support::run(&sc, e);
            assert!(r.stats.finished, "{e}, crash at {at}: {}", repro(&sc));
            assert_eq!(r.check.lost, 0, "{e}, crash at {at}: {:?} {}", r.check, repro(&sc));
            assert_eq!(
                r.verdict,
                Verdict::ExactlyOnce,
                "{e}, crash at {at}: {:?} {}",
                r.check,
                repro(&sc)
            );
        }
    }
}
