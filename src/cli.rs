//! Argument parsing and dispatch. Errors the user can fix (a bad scenario, an unknown engine, a bad
//! flag, an output path that cannot be written or must not be replaced) print one line and exit
//! with code 2, before anything is simulated. Nothing is written unless the whole run succeeded.

mod parse_error;

use crate::output;
use crate::runner::{self, RunOptions};
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
        /// Output directory (default: results/<scenario name>).
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
    let cli = match Cli::try_parse_from(args) {
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
    match dispatch(cli, registry) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let user =
                e.downcast_ref::<UserError>().is_some() || e.downcast_ref::<ftsim_sim::ScenarioError>().is_some();
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

fn dispatch(cli: Cli, registry: &Registry) -> Result<()> {
    match cli.command {
        Command::Run {
            scenario,
            engines,
            seed,
            sets,
            out,
            quiet,
        } => {
            let sc = load(registry, &scenario, &sets, seed, &engines)?;
            let out = out.unwrap_or_else(|| PathBuf::from("results").join(&sc.run.name));
            let target =
                output::safety::check_out_dir(&out).map_err(|e| UserError(format!("--out {}: {e}", out.display())))?;
            let show_progress = !quiet && std::io::stderr().is_terminal();
            let results = runner::run_all(
                &sc,
                registry,
                &RunOptions {
                    progress: show_progress,
                },
            )?;
            output::write_all(&target, &sc, &results)?;
            print!("{}", output::console::summary_table(&sc, &results));
            println!("wrote {}", out.display());
            Ok(())
        }
        Command::Validate { scenario, sets } => {
            let sc = load(registry, &scenario, &sets, None, &[])?;
            println!(
                "{}: ok ({} on {} nodes × {} cores, {} records/s for {}, {} fault(s), engines: {})",
                scenario.display(),
                sc.job.kind.name(),
                sc.cluster.nodes,
                sc.cluster.cores,
                sc.workload.rate,
                sc.run.duration,
                sc.faults.len(),
                sc.run.engines.join(", ")
            );
            Ok(())
        }
        Command::Engines => {
            print!("{}", output::console::engines_listing(registry));
            Ok(())
        }
    }
}
