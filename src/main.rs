//! The `ftsim` command line: see `ftsim --help`.

use std::process::ExitCode;

fn main() -> ExitCode {
    ftsim::cli::main()
}
