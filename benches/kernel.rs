//! The kernel alone, in the classic hold model: N events pending; each pop schedules one new
//! event at an exponential delay, so the queue stays at N. Side by side, in one run:
//! - `binaryheap`, `quadheap`, `radix`: bare queues of `(time, seq)` pairs (benches/bare), the
//!   floors: std's `BinaryHeap`, a 4-ary heap and a radix heap;
//! - `event_queue`: ftsim's `EventQueue` (a radix heap over 6-bit digits of the times, ties in
//!   push order; its 4-byte payloads move with their times, as every event of at most 32 bytes
//!   does);
//! - `kernel_run`: the whole kernel (`kernel::run`) driving an engine whose only work is timers:
//!   the stale, owner and cancelled-timer checks, the trace hash, the engine call and its `Ctx`
//!   included (its unscoped timers go straight into the queue, skipping the command buffer); its
//!   time runs from the first timer's firing to the last one's (building the kernel and
//!   scheduling the N initial timers are left out, as the bare queues' filling is).
//!
//! Delays are drawn up front from one ChaCha stream so that every variant does the same work.
#![allow(missing_docs)] // criterion_group! generates undocumented items

mod bare;

use bare::{Bare, QuadHeap, Radix, StdHeap};
use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use ftsim_sim::engine::{Ctx, Engine, Event};
use ftsim_sim::queue::EventQueue;
use ftsim_sim::scenario::Overrides;
use ftsim_sim::{Scenario, SimDuration, SimTime, SourceLog};
use rand::SeedableRng;
use rand_distr::{Distribution, Exp};
use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

const OPS: u64 = 1 << 20;
const SIZES: [usize; 3] = [1_000, 100_000, 1_000_000];

fn delays() -> Vec<u64> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(42);
    let exp = Exp::new(1.0 / 1_000_000.0).expect("positive rate");
    (0..(1 << 16)).map(|_| exp.sample(&mut rng) as u64 + 1).collect()
}

/// The hold model on a bare queue `Q` with `n` pending.
fn hold_bare<Q: Bare>(g: &mut BenchmarkGroup<'_, WallTime>, name: &str, n: usize, d: &[u64]) {
    g.bench_with_input(BenchmarkId::new(name, n), &n, |b, &n| {
        let mut q = Q::with_capacity(n);
        for i in 0..n as u64 {
            q.push(d[i as usize % d.len()], i);
        }
        let mut seq = n as u64;
        let mut k = 0usize;
        b.iter(|| {
            for _ in 0..OPS {
                let (t, _) = q.pop().expect("never empty");
                q.push(t + d[k & 0xffff], seq);
                seq += 1;
                k += 1;
            }
            black_box(q.len())
        });
    });
}

fn bench_heap(c: &mut Criterion) {
    let d = delays();
    let mut g = c.benchmark_group("hold");
    g.throughput(Throughput::Elements(OPS));
    g.sample_size(10);
    for n in SIZES {
        hold_bare::<StdHeap>(&mut g, "binaryheap", n, &d);
        hold_bare::<QuadHeap>(&mut g, "quadheap", n, &d);
        hold_bare::<Radix>(&mut g, "radix", n, &d);
        g.bench_with_input(BenchmarkId::new("event_queue", n), &n, |b, &n| {
            let mut q: EventQueue<u32> = EventQueue::with_capacity(n);
            for i in 0..n {
                q.push(SimTime(d[i % d.len()]), i as u32);
            }
            let mut k = 0usize;
            b.iter(|| {
                for _ in 0..OPS {
                    let (t, e) = q.pop().expect("never empty");
                    q.push(SimTime(t.0 + d[k & 0xffff]), e);
                    k += 1;
                }
                black_box(q.len())
            });
        });
        g.bench_with_input(BenchmarkId::new("kernel_run", n), &n, |b, &n| {
            let sc = Scenario::from_str(
                Path::new("bench.toml"),
                "[run]\nduration = \"1ms\"\nbucket = \"1ms\"\ndrain = \"1h\"\n[cluster]\nnodes = 1\n[workload]\nrate = 1000\n[job]\nkind = \"running-count\"\n",
                &Overrides::default(),
                &ftsim_engines::Registry::builtin(),
            )
            .expect("bench scenario is valid");
            let log = SourceLog::from_records(vec![Vec::new()], SimDuration::ZERO, 100);
            b.iter_custom(|iters| {
                let mut spent = Duration::ZERO;
                for _ in 0..iters {
                    let mut e = Hold {
                        delays: &d,
                        pending: n,
                        left: OPS,
                        k: 0,
                        first: None,
                        last: None,
                    };
                    let out = ftsim_sim::kernel::run(&sc, &log, "hold", &mut e, &mut |_| {});
                    black_box(out.stats.sim_events);
                    if let (Some(a), Some(b)) = (e.first, e.last) {
                        spent += b - a;
                    }
                }
                spent
            });
        });
    }
    g.finish();
}

/// An engine that keeps `pending` timers alive until `left` have fired.
struct Hold<'a> {
    delays: &'a [u64],
    pending: usize,
    left: u64,
    k: usize,
    /// When the first timer fired and when the last did: the measured span, which leaves out
    /// building the kernel and scheduling the `pending` initial timers.
    first: Option<Instant>,
    last: Option<Instant>,
}

impl Engine for Hold<'_> {
    type Msg = ();
    type Tag = ();
    type Scope = ();
    fn start(&mut self, cx: &mut Ctx<'_, (), ()>) {
        for i in 0..self.pending {
            cx.set_timer(SimDuration(self.delays[i % self.delays.len()]), ());
        }
    }
    fn handle(&mut self, ev: Event<(), ()>, cx: &mut Ctx<'_, (), ()>) {
        if let Event::Timer { .. } = ev {
            if self.first.is_none() {
                self.first = Some(Instant::now());
            }
            self.left = self.left.saturating_sub(1);
            if self.left > 0 {
                cx.set_timer(SimDuration(self.delays[self.k & 0xffff]), ());
                self.k += 1;
            } else {
                self.last = Some(Instant::now());
            }
        }
    }
    fn finished(&self) -> bool {
        self.left == 0
    }
}

criterion_group!(benches, bench_heap);
criterion_main!(benches);
