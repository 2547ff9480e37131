//! Argument parsing and dispatch. Errors the user can fix (a bad scenario, an unknown engine, a bad
//! flag, an output path that cannot be written or must not be replaced) print one line and exit
//! with code 2, before anything is simulated. Nothing is written unless the whole run succeeded
//! (a sweep writes each of its runs as it completes: see [`crate::sweep`]).

mod parse_error;

use crate::output;
use crate::runner::{self, RunOptions};
use crate::sweep::{self, SweepArgs, spec::Shard, spec::Vary};
use anyhow::Result;
use clap::{CommandFactory, Parser, Subcommand};
use ftsim_engines::Registry;
use ftsim_sim::Scenario;
use ftsim_sim::scenario::Overrides;
use std::ffi::OsString;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

/// Deterministic discrete-event testbed for stream-processing fault-tolerance models.
#[derive(Parser, Debug)]
#[command(name = "ftsim", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run a scenario: print a summary table and write CSV files and charts.
    Run {
        /// The scenario file (TOML).
        scenario: PathBuf,
        /// Run this engine instead of the scenario's list (repeatable).
        #[arg(long = "engine", value_name = "NAME")]
        engines: Vec<String>,
        /// Override run.seed (0 to 18446744073709551615).
        #[arg(long, value_parser = parse_seed, allow_negative_numbers = true)]
        seed: Option<u64>,
        /// Override a scenario field, e.g. --set cluster.nodes=20 (repeatable).
        #[arg(long = "set", value_name = "PATH=VALUE")]
        sets: Vec<String>,
        /// Output directory (default: results/NAME, NAME being the scenario's run.name).
        #[arg(long)]
        out: Option<PathBuf>,
        /// No progress bar.
        #[arg(long, short)]
        quiet: bool,
    },
    /// Check a scenario file without running it.
    Validate {
        /// The scenario file (TOML).
        scenario: PathBuf,
        /// Override a scenario field (repeatable).
        #[arg(long = "set", value_name = "PATH=VALUE")]
        sets: Vec<String>,
    },
    /// List the engines, their promised guarantees per sink mode and their parameters.
    Engines,
    /// Run a fault campaign: many fault plans drawn from a seed, every engine under each, and
    /// check each engine's promise, books and recovery.
    Check {
        /// The scenario file (TOML); its faults are replaced by each case's plan.
        scenario: PathBuf,
        /// How many fault plans to draw.
        #[arg(long, default_value_t = 100)]
        cases: usize,
        /// Threads to run cases on (default: one per core).
        #[arg(long)]
        jobs: Option<usize>,
        /// The campaign seed (the scenario's own seed still drives the workload).
        #[arg(long, default_value_t = 1, value_parser = parse_seed, allow_negative_numbers = true)]
        seed: u64,
        /// Check this engine instead of the scenario's list (repeatable).
        #[arg(long = "engine", value_name = "NAME")]
        engines: Vec<String>,
        /// Override a scenario field (repeatable).
        #[arg(long = "set", value_name = "PATH=VALUE")]
        sets: Vec<String>,
        /// No progress bar.
        #[arg(long, short)]
        quiet: bool,
    },
    /// Run a scenario over a grid of varied values × seeds, many runs at once.
    ///
    /// Writes each run's output under OUT/runs/ (what ftsim run writes, charts included, and
    /// point.toml), then sweep.csv (a row per run and engine) and a chart of --metric in OUT.
    /// The same command into the same OUT again runs only what is missing there.
    Sweep {
        /// The scenario file (TOML).
        scenario: PathBuf,
        /// Vary a field over values, e.g. --vary cluster.nodes=4,8,16 (repeatable; points are
        /// all combinations, the first --vary outermost; values split at commas outside
        /// brackets and quotes). The first is the chart's x axis.
        #[arg(long = "vary", value_name = "PATH=V1,V2,...", required = true, value_parser = Vary::parse)]
        varies: Vec<Vary>,
        /// Seeds per point: run.seed, run.seed + 1, ... (at least 1).
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
        seeds: u64,
        /// Runs at once, each on one thread (default: one per core).
        #[arg(long, value_parser = clap::value_parser!(u64).range(1..=4096))]
        jobs: Option<u64>,
        /// Run this engine instead of the scenario's list (repeatable).
        #[arg(long = "engine", value_name = "NAME")]
        engines: Vec<String>,
        /// Override a scenario field in every run (repeatable; a --vary of the same path wins).
        #[arg(long = "set", value_name = "PATH=VALUE")]
        sets: Vec<String>,
        /// What to chart against the first varied field: a numeric summary.csv column, or
        /// ENGINE/TABLE.COLUMN, the mean of a column of an engine's table over its rows, per run
        /// (ENGINE/TABLE.COLUMN:max: the largest), e.g. flink-abs/checkpoints.duration_s.
        #[arg(long, default_value = "recovery_s", value_parser = sweep::metric::parse_metric)]
        metric: String,
        /// Run only the runs whose index i has i % N = I (0 ≤ I < N); merge the shards with
        /// ftsim merge.
        #[arg(long, value_name = "I/N", value_parser = Shard::parse)]
        shard: Option<Shard>,
        /// Output directory (default: results/NAME-sweep, NAME the scenario's run.name).
        #[arg(long)]
        out: Option<PathBuf>,
        /// No progress bar.
        #[arg(long, short)]
        quiet: bool,
    },
    /// Run a live session: words sent over TCP become the input, shown as they are simulated.
    ///
    /// Listens on --listen; every word of every line a client sends is a record, stamped with
    /// the simulated time of its arrival ((wall clock − start) × --speed). Every run.bucket of
    /// simulated time the session so far is replayed up to now and its latest results printed.
    /// Type on standard input: crash N, straggle N xF DURATION, status, quit. At the end OUT
    /// holds trace.csv, session.toml (ftsim run OUT/session.toml replays the session) and the
    /// full report of that replay.
    Live {
        /// The scenario file (TOML): its workload is replaced by the words received.
        scenario: PathBuf,
        /// Address to listen on, e.g. 127.0.0.1:9999 (port 0: any free port; the first line
        /// printed names the address bound).
        #[arg(long, value_name = "ADDR:PORT", value_parser = parse_listen)]
        listen: std::net::SocketAddr,
        /// Run this engine instead of the scenario's list (the view shows the first).
        #[arg(long = "engine", value_name = "NAME")]
        engine: Option<String>,
        /// Simulated seconds per wall-clock second (0.01 to 1000).
        #[arg(long, default_value_t = 1.0, value_parser = parse_speed)]
        speed: f64,
        /// Output directory (default: results/live-NAME, NAME the scenario's run.name).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Longest line a client may send, in bytes; a longer one disconnects it.
        #[arg(long, default_value_t = 4096, value_parser = clap::value_parser!(u64).range(16..=1_048_576))]
        max_line: u64,
        /// Words per second a client may send (a burst of up to one second's worth); more
        /// disconnects it.
        #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
        client_rate: u32,
        /// Clients connected at once; one more is told so and disconnected.
        #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u64).range(1..=10_000))]
        max_clients: u64,
        /// Words a view lists.
        #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=1000))]
        top: u64,
    },
    /// Combine the directories of a sweep's shards into one sweep directory, as if it ran whole.
    Merge {
        /// The shard directories (each written by ftsim sweep --shard).
        #[arg(required = true)]
        dirs: Vec<PathBuf>,
        /// Output directory (default: results/NAME-sweep, NAME the scenario's run.name).
        #[arg(long)]
        out: Option<PathBuf>,
        /// What to chart, as for sweep --metric (default: the shards' --metric).
        #[arg(long, value_parser = sweep::metric::parse_metric)]
        metric: Option<String>,
    },
}

/// An error the user can fix: exit code 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UserError(pub String);

/// Parses the process arguments and runs the command with the built-in engines.
pub fn main() -> ExitCode {
    main_with(&Registry::builtin(), std::env::args_os())
}

/// Parses `args` (the program name first) and runs the command with the engines of `registry`:
/// the path every engine, built-in or added, is run through.
pub fn main_with<I, T>(registry: &Registry, args: I) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    let cli = match Cli::try_parse_from(&args) {
        Ok(c) => c,
        Err(e) if !e.use_stderr() => {
            // --help and --version: clap prints them as usual.
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            let cmd = Cli::command();
            let commands: Vec<&str> = cmd.get_subcommands().map(|c| c.get_name()).collect();
            eprintln!("error: {}", parse_error::one_line(&e, &commands));
            return ExitCode::from(2);
        }
    };
    match dispatch(cli, registry, &args) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            let user = e.downcast_ref::<UserError>().is_some()
                || e.downcast_ref::<ftsim_sim::ScenarioError>().is_some()
                || e.downcast_ref::<sweep::SweepError>().is_some();
            eprintln!("error: {e:#}");
            ExitCode::from(if user { 2 } else { 1 })
        }
    }
}

fn load(
    registry: &Registry,
    path: &std::path::Path,
    sets: &[String],
    seed: Option<u64>,
    engines: &[String],
) -> Result<Scenario> {
    let over = Overrides {
        sets: sets.to_vec(),
        engines: engines.to_vec(),
        seed,
    };
    Ok(Scenario::load(path, &over, registry)?)
}

/// Exit status of a run in which an engine broke its promise.
pub const EXIT_BROKEN: u8 = 1;
/// Exit status of a run in which every promise was kept but an engine did not finish.
pub const EXIT_UNFINISHED: u8 = 3;

/// `--seed`: a whole number from 0 to `u64::MAX`.
fn parse_seed(s: &str) -> Result<u64, String> {
    let allowed = format!("allowed 0 to {}", u64::MAX);
    let digits = s.strip_prefix(['-', '+']).unwrap_or(s);
    match s.parse::<u64>() {
        Ok(seed) => Ok(seed),
        Err(_) if !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit()) => {
            Err(format!("the seed is out of range: {allowed}"))
        }
        Err(_) => Err(format!("not a whole number: {allowed}")),
    }
}

/// `--listen`: an IP address and a port, as given (no name lookup).
fn parse_listen(s: &str) -> Result<std::net::SocketAddr, String> {
    s.parse().map_err(|_| {
        format!("\"{s}\" is not an address to listen on: write IP:PORT, e.g. 127.0.0.1:9999 or [::1]:9999")
    })
}

/// `--speed`: a number from 0.01 to 1000.
fn parse_speed(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(x) if (0.01..=1000.0).contains(&x) => Ok(x),
        _ => Err(format!(
            "\"{s}\" is not a speed: allowed 0.01 to 1000 (simulated seconds per second)"
        )),
    }
}

/// The command line that reproduces this one: `ftsim` and the arguments as given, shell-quoted.
fn command_line(args: &[OsString]) -> String {
    let words: Vec<String> = std::iter::once("ftsim".to_string())
        .chain(args.iter().skip(1).map(|a| a.to_string_lossy().into_owned()))
        .collect();
    output::report::shell_command(&words)
}

/// Runs the command (`args`: the arguments it was parsed from); returns the exit status.
fn dispatch(cli: Cli, registry: &Registry, args: &[OsString]) -> Result<u8> {
    match cli.command {
        Command::Run {
            scenario,
            engines,
            seed,
            sets,
            out,
            quiet,
        } => {
            // Read once: the text run is the text report.html shows.
            let text = std::fs::read_to_string(&scenario).map_err(|e| ftsim_sim::ScenarioError::Io {
                file: scenario.clone(),
                reason: e.to_string(),
            })?;
            let over = Overrides {
                sets: sets.clone(),
                engines: engines.clone(),
                seed,
            };
            let sc = Scenario::from_str(&scenario, &text, &over, registry)?;
            let out = out.unwrap_or_else(|| PathBuf::from("results").join(&sc.run.name));
            let target =
                output::safety::check_out_dir(&out).map_err(|e| UserError(format!("--out {}: {e}", out.display())))?;
            let show_progress = !quiet && std::io::stderr().is_terminal();
            let results = runner::run_all(
                &sc,
                registry,
                &RunOptions {
                    progress: show_progress,
                    threads: None,
                },
            )?;
            let invocation = output::Invocation {
                command: command_line(args),
                scenario_file: scenario.display().to_string(),
                scenario_text: text,
                sets,
                engines,
                seed,
            };
            output::write_all(&target, &sc, &results, &invocation)?;
            print!("{}", output::console::summary_table(&sc, &results));
            println!("wrote {}", out.display());
            Ok(run_status(&results))
        }
        Command::Validate { scenario, sets } => {
            let sc = load(registry, &scenario, &sets, None, &[])?;
            println!(
                "{}: ok ({} on {} nodes × {} cores, {} for {}, {} fault(s), engines: {})",
                scenario.display(),
                sc.job.kind.name(),
                sc.cluster.nodes,
                sc.cluster.cores,
                sc.input_label(),
                sc.run.duration,
                sc.faults.len(),
                sc.run.engines.join(", ")
            );
            Ok(0)
        }
        Command::Check {
            scenario,
            cases,
            jobs,
            seed,
            engines,
            sets,
            quiet,
        } => {
            // Each case brings its own faults: the scenario's are dropped before it is checked.
            let all: Vec<String> = std::iter::once("faults=[]".to_string())
                .chain(sets.iter().cloned())
                .collect();
            let sc = load(registry, &scenario, &all, None, &engines)?;
            let jobs = jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
            let bar = (!quiet && std::io::stderr().is_terminal()).then(|| indicatif::ProgressBar::new(cases as u64));
            let runs = crate::check::campaign::run(&sc, registry, cases, jobs, seed, &|| {
                if let Some(b) = &bar {
                    b.inc(1);
                }
            });
            if let Some(b) = bar {
                b.finish_and_clear();
            }
            let repro = output::console::Repro {
                scenario: &scenario,
                sets: &sets,
            };
            print!("{}", output::console::check_report(&sc, seed, &runs, &repro));
            let broken = runs.iter().any(|r| r.outcome.is_violation());
            Ok(if broken { EXIT_BROKEN } else { 0 })
        }
        Command::Engines => {
            print!("{}", output::console::engines_listing(registry));
            Ok(0)
        }
        Command::Sweep {
            scenario,
            varies,
            seeds,
            jobs,
            engines,
            sets,
            metric,
            shard,
            out,
            quiet,
        } => sweep::sweep(
            &SweepArgs {
                scenario,
                varies,
                seeds,
                jobs: jobs.map(|j| j as usize),
                engines,
                sets,
                metric,
                shard: shard.unwrap_or(Shard::WHOLE),
                out,
                quiet,
            },
            registry,
        ),
        Command::Live {
            scenario,
            listen,
            engine,
            speed,
            out,
            max_line,
            client_rate,
            max_clients,
            top,
        } => crate::live::live(
            crate::live::LiveArgs {
                scenario,
                listen,
                engine,
                speed,
                out,
                max_line: max_line as usize,
                client_rate,
                max_clients: max_clients as usize,
                top: top as usize,
            },
            registry,
        ),
        Command::Merge { dirs, out, metric } => sweep::merge(&dirs, out.as_deref(), metric.as_deref()),
    }
}

/// 0 when every engine finished and kept its promise; [`EXIT_BROKEN`] when one broke it;
/// otherwise [`EXIT_UNFINISHED`] when one did not finish.
fn run_status(results: &[runner::EngineResult]) -> u8 {
    let reports = || results.iter().map(|r| &r.report);
    if let Some(r) = reports().find(|r| !r.promise_kept) {
        eprintln!(
            "error: {} broke its promise ({}): verdict {}",
            r.engine, r.promised, r.verdict
        );
        EXIT_BROKEN
    } else if let Some(r) = reports().find(|r| r.unfinished.is_some()) {
        eprintln!("warning: {} did not finish within run.drain", r.engine);
        EXIT_UNFINISHED
    } else {
        0
    }
}
