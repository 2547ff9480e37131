//! Helpers shared by the integration tests.

use ftsim_sim::{Prepared, RunReport, Scenario};
use std::path::Path;

/// A scenario from TOML text (panics with the loader's message if it is invalid).
pub fn scenario(text: &str) -> Scenario {
    match Scenario::from_str(Path::new("test.toml"), text, &[]) {
        Ok(s) => s,
        Err(e) => panic!("test scenario is invalid: {e}"),
    }
}

/// Runs engine `name` with the scenario's parameters for it.
pub fn run(sc: &Scenario, name: &str) -> RunReport {
    let info = ftsim_engines::find(name).unwrap_or_else(|| panic!("no engine {name}"));
    let params = ftsim_engines::registry::params(sc, &info).unwrap_or_else(|e| panic!("{e}"));
    let prepared = Prepared::new(sc);
    info.execute(sc, &params, &prepared, &mut |_| {})
}

/// The seed and scenario name, for assertion messages that let a failure be reproduced.
pub fn repro(sc: &Scenario) -> String {
    format!("scenario {} seed {}", sc.run.name, sc.run.seed)
}
