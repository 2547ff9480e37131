//! Helpers shared by the integration tests.

use ftsim_engines::Registry;
use ftsim_sim::scenario::Overrides;
use ftsim_sim::{Prepared, RunReport, Scenario};
use std::path::Path;

/// A scenario from TOML text (panics with the loader's message if it is invalid).
pub fn scenario(text: &str) -> Scenario {
    match Scenario::from_str(
        Path::new("test.toml"),
        text,
        &Overrides::default(),
        &Registry::builtin(),
    ) {
        Ok(s) => s,
        Err(e) => panic!("test scenario is invalid: {e}"),
    }
}

/// Runs engine `name` under its configuration in the scenario.
pub fn run(sc: &Scenario, name: &str) -> RunReport {
    let prepared = Prepared::new(sc);
    Registry::builtin()
        .run(sc, name, &prepared, &mut |_| {})
        .unwrap_or_else(|| panic!("no engine {name}"))
}

/// The seed and scenario name, for assertion messages that let a failure be reproduced.
pub fn repro(sc: &Scenario) -> String {
    format!("scenario {} seed {}", sc.run.name, sc.run.seed)
}

/// A shipped scenario with `--set` overrides, running only `engine`.
pub fn shipped(file: &str, engine: &str, sets: &[&str]) -> Scenario {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios").join(file);
    let mut all: Vec<String> = vec![format!("run.engines=[\"{engine}\"]")];
    all.extend(sets.iter().map(|s| s.to_string()));
    Scenario::load(&path, &Overrides::sets(&all), &Registry::builtin()).unwrap_or_else(|e| panic!("{e}"))
}
