//! The engine registry: names, promises, parameters and how to run each engine. All wiring of
//! engines happens here; engines never refer to each other.

use ftsim_sim::scenario::{JobKind, ParamSpec, Params, SinkMode};
use ftsim_sim::{Engine, Guarantee, Prepared, RunReport, Scenario, ScenarioError, SimTime};

/// Builds one engine from `RunCtx::sc` and `RunCtx::params` and hands it to [`RunCtx::simulate`].
pub type RunFn = fn(RunCtx<'_>) -> RunReport;

/// One run as the registry prepares it: the engine builds itself from the scenario and its
/// checked parameters; name, promise and input are fixed here, in one place.
pub struct RunCtx<'a> {
    /// The scenario.
    pub sc: &'a Scenario,
    /// The engine's checked parameters.
    pub params: &'a Params,
    prepared: &'a Prepared,
    name: &'static str,
    promised: Guarantee,
    progress: &'a mut dyn FnMut(SimTime),
}

impl RunCtx<'_> {
    /// Runs `engine` over the prepared input and reports it under the registry's name and promise.
    pub fn simulate<E: Engine>(self, engine: &mut E) -> RunReport {
        ftsim_sim::simulate(self.sc, self.prepared, self.name, self.promised, engine, self.progress)
    }
}

/// What the CLI needs to know about an engine.
#[derive(Clone)]
pub struct EngineInfo {
    /// Name used in scenario files and `--engine`.
    pub name: &'static str,
    /// One line on the model.
    pub summary: &'static str,
    /// Parameters with defaults.
    pub params: Vec<ParamSpec>,
    /// The guarantee promised for a job kind, sink mode and the engine's parameters.
    pub promise: fn(JobKind, SinkMode, &Params) -> Guarantee,
    /// A choice parameter that changes the promise (`ftsim engines` lists the promise per value).
    pub promise_param: Option<&'static str>,
    /// Builds and runs it (call [`EngineInfo::execute`]).
    pub run: RunFn,
}

impl EngineInfo {
    /// Runs this engine with checked `params` over `prepared`, under its promise for the job.
    pub fn execute(
        &self,
        sc: &Scenario,
        params: &Params,
        prepared: &Prepared,
        progress: &mut dyn FnMut(SimTime),
    ) -> RunReport {
        let promised = (self.promise)(sc.job.kind, sc.job.sink, params);
        (self.run)(RunCtx {
            sc,
            params,
            prepared,
            name: self.name,
            promised,
            progress,
        })
    }
}

/// Every engine, in the order `ftsim engines` lists them.
pub fn all() -> Vec<EngineInfo> {
    vec![
        crate::none::info(),
        crate::flink_abs::info(),
        crate::dstream::info(),
        crate::structured_streaming::info(),
    ]
}

/// The engine called `name`.
pub fn find(name: &str) -> Option<EngineInfo> {
    all().into_iter().find(|e| e.name == name)
}

/// Checks that every engine the scenario runs exists and that every `[engines.NAME]` table holds
/// only that engine's parameters with allowed values.
pub fn check(sc: &Scenario) -> Result<(), ScenarioError> {
    let names: Vec<&str> = all().iter().map(|e| e.name).collect();
    let field = |field: String, message: String| ScenarioError::Field {
        file: sc.file.clone(),
        field,
        message,
    };
    for (i, n) in sc.run.engines.iter().enumerate() {
        if find(n).is_none() {
            return Err(field(
                format!("run.engines[{i}]"),
                format!("no engine \"{n}\": known engines are {}", names.join(", ")),
            ));
        }
    }
    for (name, table) in &sc.engine_params {
        let info = find(name).ok_or_else(|| {
            field(
                format!("engines.{name}"),
                format!("no engine \"{name}\": known engines are {}", names.join(", ")),
            )
        })?;
        Params::parse(&info.params, Some(table)).map_err(|(k, m)| field(format!("engines.{name}.{k}"), m))?;
    }
    Ok(())
}

/// The checked parameters of engine `info` in `sc` (defaults where the scenario gives none).
pub fn params(sc: &Scenario, info: &EngineInfo) -> Result<Params, ScenarioError> {
    Params::parse(&info.params, sc.engine_params.get(info.name)).map_err(|(k, m)| ScenarioError::Field {
        file: sc.file.clone(),
        field: format!("engines.{}.{k}", info.name),
        message: m,
    })
}
