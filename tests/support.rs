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

/// 12 sources and 24 tasks on 3 workers whose NICs (`bandwidth`) keep batches on the wire far
/// longer than the network latency, with windows of 200 ms and a round every 3 ms; `faults` is
/// appended.
pub fn slow_wires(bandwidth: &str, faults: &str) -> Scenario {
    scenario(&format!(
        r#"
[run]
name = "slow-wires"
seed = 3
duration = "5s"
engines = ["none"]

[cluster]
nodes = 3
cores = 4
spares = 1
bandwidth = "{bandwidth}"
network_latency = "100us"

[workload]
rate = 20000
keys = 500
partitions = 12

[job]
kind = "window-count"
sink = "idempotent"
window = "200ms"
parallelism = 24

{faults}

[engines.none]
watermark_interval = "3ms"
[engines.upstream-backup]
watermark_interval = "3ms"
[engines.passive-standby]
watermark_interval = "3ms"
[engines.active-standby]
watermark_interval = "3ms"
"#
    ))
}
