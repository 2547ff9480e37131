//! Every engine end to end, as `ftsim run` runs it (the input log and the oracle's expected output
//! prepared once per scenario, outside the timing; the engine's run, the sink's check and the
//! report inside it):
//! - `reference`: scenarios/reference.toml (20 workers, 30 million records, one crash); criterion's
//!   throughput is simulated records per wall-clock second;
//! - `scaling/ENGINE`: scenarios/scaling.toml (3 million records, no faults) on 20, 200 and 1000
//!   nodes (`cluster.nodes`; partitions and stateful tasks follow), the same records spread over
//!   ten and fifty times as many tasks.
//!
//! A run takes seconds, so each benchmark takes ten single-run samples. Select with criterion's
//! filter: `cargo bench --bench engines -- reference/flink-abs` or `-- 'scaling/dstream/'`.
//! Besides criterion's report, each benchmark prints the run's simulated seconds and kernel events
//! once, so that simulated seconds per wall second can be read beside the time.
#![allow(missing_docs)] // criterion_group! generates undocumented items

use criterion::{BenchmarkId, Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use ftsim_engines::Registry;
use ftsim_sim::scenario::Overrides;
use ftsim_sim::{Prepared, Scenario};
use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

const NODES: [u32; 3] = [20, 200, 1000];

fn load(name: &str, sets: &[String]) -> Scenario {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("scenarios/{name}.toml"));
    Scenario::load(&path, &Overrides::sets(sets), &Registry::builtin()).unwrap_or_else(|e| panic!("{e}"))
}

/// Benchmarks `engine` on `sc` under `id` in group `g`.
fn one(
    g: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    id: BenchmarkId,
    sc: &Scenario,
    prepared: &Prepared,
    engine: &str,
) {
    let registry = Registry::builtin();
    let mut told = false;
    g.bench_function(id, |b| {
        b.iter(|| {
            let r = registry.run(sc, engine, prepared, &mut |_| {}).expect("a known engine");
            if !told {
                told = true;
                eprintln!(
                    "  {engine}: {:.1} simulated s, {} kernel events, verdict {}",
                    r.stats.end.as_secs_f64(),
                    r.stats.sim_events,
                    r.verdict.name()
                );
            }
            black_box(r.stats.sim_events)
        });
    });
}

fn configure(g: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>, records: u64) {
    g.sample_size(10);
    g.sampling_mode(SamplingMode::Flat);
    g.warm_up_time(Duration::from_millis(1));
    g.measurement_time(Duration::from_secs(1));
    g.throughput(Throughput::Elements(records));
}

fn reference(c: &mut Criterion) {
    let sc = load("reference", &[]);
    let prepared = Prepared::new(&sc);
    let mut g = c.benchmark_group("reference");
    configure(&mut g, prepared.log.total());
    for engine in &sc.run.engines {
        one(&mut g, BenchmarkId::from_parameter(engine), &sc, &prepared, engine);
    }
    g.finish();
}

fn scaling(c: &mut Criterion) {
    let engines = load("scaling", &[]).run.engines.clone();
    for engine in &engines {
        let mut g = c.benchmark_group(format!("scaling/{engine}"));
        for n in NODES {
            let sc = load("scaling", &[format!("cluster.nodes={n}")]);
            let prepared = Prepared::new(&sc);
            configure(&mut g, prepared.log.total());
            one(&mut g, BenchmarkId::from_parameter(n), &sc, &prepared, engine);
        }
        g.finish();
    }
}

criterion_group!(benches, reference, scaling);
criterion_main!(benches);
