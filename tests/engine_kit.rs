//! A new engine is one folder and one registry line: here one is defined on the pipelined core,
//! outside the engines crate, and run through the same CLI path as the built-in engines.

use ftsim::cli::main_with;
use ftsim::output::console::engines_listing;
use ftsim_engines::pipeline::{Core, Nothing, PCtx, Pipeline, Policy, ReadCfg};
use ftsim_engines::{EngineSpec, Entry, Registry};
use ftsim_sim::config::within;
use ftsim_sim::scenario::{JobKind, SinkMode};
use ftsim_sim::{Guarantee, Scenario, SimDuration, engine_config};
use std::process::ExitCode;

engine_config! {
    /// `[engines.gapless]`.
    pub struct GaplessConfig {
        /// Most records a source reads at once.
        pub max_batch: u64 = 500 => within(1, 100_000);
    }
}

/// `gapless`: no fault tolerance, but a restarted source resumes where it stopped reading
/// instead of at the log's head, so only the lost tasks' state is lost, never input.
struct Gapless;

impl Policy for Gapless {
    type Msg = Nothing;
    type Tag = Nothing;
    const REDEPLOY: &'static str = "restart lost tasks empty; sources resume where they stopped";

    fn resume_at(&mut self, core: &Core, part: u32, _cx: &mut PCtx<'_, Self>) -> u64 {
        core.sources[part as usize].reader.next
    }
}

impl EngineSpec for Gapless {
    const NAME: &'static str = "gapless";
    const SUMMARY: &'static str = "lost tasks restart empty, sources resume where they stopped";
    type Config = GaplessConfig;
    type Engine = Pipeline<Gapless>;

    fn promise(_cfg: &GaplessConfig, kind: JobKind, sink: SinkMode) -> Guarantee {
        let restart_repeats_counts = kind == JobKind::RunningCount && sink != SinkMode::Idempotent;
        if restart_repeats_counts {
            Guarantee::None
        } else {
            Guarantee::AtMostOnce
        }
    }

    fn build(sc: &Scenario, cfg: &GaplessConfig) -> Pipeline<Gapless> {
        pipeline(sc, cfg.max_batch, Gapless)
    }
}

fn pipeline<P: Policy>(sc: &Scenario, max_batch: u64, policy: P) -> Pipeline<P> {
    let read = ReadCfg {
        max_batch,
        poll_interval: SimDuration::from_millis(5),
        cost: sc.job.stateless_cost(),
    };
    Pipeline::new(sc, read, SimDuration::from_millis(200), policy)
}

static GAPLESS: Entry<Gapless> = Entry::new();

/// `boastful`: no fault tolerance at all, yet it promises exactly-once.
struct Boastful;

impl Policy for Boastful {
    type Msg = Nothing;
    type Tag = Nothing;
    const REDEPLOY: &'static str = "restart lost tasks empty";
}

impl EngineSpec for Boastful {
    const NAME: &'static str = "boastful";
    const SUMMARY: &'static str = "promises exactly-once and keeps nothing";
    type Config = GaplessConfig;
    type Engine = Pipeline<Boastful>;

    fn promise(_cfg: &GaplessConfig, _kind: JobKind, _sink: SinkMode) -> Guarantee {
        Guarantee::ExactlyOnce
    }

    fn build(sc: &Scenario, cfg: &GaplessConfig) -> Pipeline<Boastful> {
        pipeline(sc, cfg.max_batch, Boastful)
    }
}

static BOASTFUL: Entry<Boastful> = Entry::new();

fn cli(registry: &Registry, out: &std::path::Path, extra: &[&str]) -> ExitCode {
    let root = env!("CARGO_MANIFEST_DIR");
    let scenario = format!("{root}/scenarios/crash.toml");
    let out = out.display().to_string();
    let mut args = vec!["ftsim", "run", &scenario, "--quiet", "--out", &out];
    args.extend_from_slice(&["--set", "run.duration=20s", "--set", "faults.0.at=9.37s"]);
    args.extend_from_slice(extra);
    main_with(registry, args)
}

/// `lost` of each engine in summary.csv.
fn lost(dir: &std::path::Path) -> Vec<(String, u64)> {
    let text = std::fs::read_to_string(dir.join("summary.csv")).expect("summary.csv");
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().expect("header").split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).expect("column");
    let (engine, lost) = (col("engine"), col("lost"));
    lines
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f[engine].to_string(), f[lost].parse().expect("a count"))
        })
        .collect()
}

#[test]
fn an_engine_defined_outside_the_engines_crate_runs_through_the_cli_like_a_built_in_one() {
    let registry = Registry::builtin().with(&GAPLESS);
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("kit");
    let engines = [
        "--engine",
        "none",
        "--engine",
        "gapless",
        "--set",
        "engines.gapless.max_batch=300",
    ];
    assert_eq!(cli(&registry, &out, &engines), ExitCode::SUCCESS);
    assert!(out.join("gapless").join("timeseries.csv").exists());
    let lost = lost(&out);
    assert_eq!(lost.len(), 2, "{lost:?}");
    assert!(lost[0].1 > 0, "none skips the crashed source's input: {lost:?}");
    assert!(
        lost[1].1 < lost[0].1,
        "gapless loses only the lost task's state, not the source's input: {lost:?}"
    );
    let listing = engines_listing(&registry);
    assert!(listing.contains("gapless") && listing.contains("Most records a source reads at once."));
}

#[test]
fn the_added_engine_checks_its_parameters_like_a_built_in_one() {
    let registry = Registry::builtin().with(&GAPLESS);
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("kit");
    for bad in [
        "engines.gapless.max_batchh=3",
        "engines.gapless.max_batch=0",
        "engines.gapless.max_batch=\"x\"",
    ] {
        let code = cli(&registry, &out, &["--engine", "gapless", "--set", bad]);
        assert_eq!(code, ExitCode::from(2), "{bad}");
        assert!(!out.exists(), "nothing written for {bad}");
    }
    let unknown = cli(&Registry::builtin(), &out, &["--engine", "gapless"]);
    assert_eq!(unknown, ExitCode::from(2), "the built-in registry does not know it");
}

#[test]
fn an_engine_that_breaks_its_promise_makes_ftsim_run_exit_with_status_1() {
    let registry = Registry::builtin().with(&BOASTFUL);
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("kit");
    assert_eq!(cli(&registry, &out, &["--engine", "boastful"]), ExitCode::from(1));
    let summary = std::fs::read_to_string(out.join("summary.csv")).expect("the output is written");
    assert!(summary.contains(",false,"), "promise_kept is false: {summary}");
    let none = cli(&registry, &dir.path().join("none"), &["--engine", "none"]);
    assert_eq!(none, ExitCode::SUCCESS, "none keeps its at-most-once promise");
}
