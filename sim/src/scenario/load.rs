//! Loading a scenario: text → TOML → `--set` overrides → typed and checked [`Scenario`], with
//! every engine's table parsed into its typed configuration by a [`Catalog`].
//!
//! The simulator knows no engine: the caller hands over the catalog of engines it may run (the
//! registry), which parses each `[engines.NAME]` table. Every engine of `run.engines` gets a
//! configuration (its defaults where the file has no table), and every table must name a known
//! engine, so a run never meets a raw table or a misspelled parameter.

use super::error::{EngineOrigin, ScenarioError};
use super::{Scenario, apply_set, plain, raw, resolve};
use crate::config::{ConfigBox, ParamError};
use std::collections::BTreeMap;
use std::path::Path;

/// The engines a scenario may name.
pub trait Catalog {
    /// Every engine name, for messages.
    fn names(&self) -> Vec<&'static str>;
    /// Parses engine `name`'s table (`None`: every default), or `None` if there is no such engine.
    fn parse(&self, name: &str, table: Option<toml::Value>) -> Option<Result<ConfigBox, ParamError>>;
}

/// What the command line changes in a scenario before it is checked.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// `--set path=value` arguments, applied in order.
    pub sets: Vec<String>,
    /// `--engine NAME` arguments: these engines instead of `run.engines` (empty: the file's).
    pub engines: Vec<String>,
}

impl Overrides {
    /// Only `--set` arguments.
    pub fn sets(sets: &[String]) -> Overrides {
        Overrides {
            sets: sets.to_vec(),
            engines: Vec::new(),
        }
    }
}

impl Scenario {
    /// Loads, overrides and checks a scenario file.
    pub fn load(path: &Path, over: &Overrides, catalog: &dyn Catalog) -> Result<Scenario, ScenarioError> {
        let text = std::fs::read_to_string(path).map_err(|e| ScenarioError::Io {
            file: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        Self::from_str(path, &text, over, catalog)
    }

    /// Parses, overrides and checks scenario text; `path` is used in messages only.
    pub fn from_str(
        path: &Path,
        text: &str,
        over: &Overrides,
        catalog: &dyn Catalog,
    ) -> Result<Scenario, ScenarioError> {
        let file = || path.to_path_buf();
        let table: toml::Table = text.parse().map_err(|e: toml::de::Error| ScenarioError::Syntax {
            file: file(),
            message: e.to_string().trim().replace('\n', " "),
        })?;
        let mut value = toml::Value::Table(table);
        for s in &over.sets {
            apply_set(&mut value, s)?;
        }
        let raw: raw::RawScenario = serde_path_to_error::deserialize(value).map_err(|e| {
            let field = e.path().to_string();
            ScenarioError::Field {
                file: file(),
                field: if field == "." { "(top level)".into() } else { field },
                message: plain(&e.into_inner().to_string()),
            }
        })?;
        let tables = raw.engines.clone().unwrap_or_default();
        let mut sc = resolve::resolve(raw, path).map_err(|e| ScenarioError::Field {
            file: file(),
            field: e.field,
            message: e.message,
        })?;
        let from_flag = !over.engines.is_empty();
        if from_flag {
            sc.run.engines = over.engines.clone();
        }
        sc.engines = configs(&sc, tables, from_flag, catalog)?;
        Ok(sc)
    }
}

/// Parses the configuration of every engine the scenario runs or configures.
fn configs(
    sc: &Scenario,
    mut tables: BTreeMap<String, toml::Table>,
    from_flag: bool,
    catalog: &dyn Catalog,
) -> Result<BTreeMap<String, ConfigBox>, ScenarioError> {
    let unknown = |name: &str, origin: EngineOrigin| ScenarioError::UnknownEngine {
        file: sc.file.clone(),
        name: name.to_string(),
        origin,
        known: catalog.names().join(", "),
    };
    let mut out = BTreeMap::new();
    for (i, name) in sc.run.engines.iter().enumerate() {
        let origin = if from_flag {
            EngineOrigin::Flag
        } else {
            EngineOrigin::Listed(i)
        };
        if out.contains_key(name) {
            return Err(ScenarioError::DuplicateEngine {
                file: sc.file.clone(),
                name: name.clone(),
                origin,
            });
        }
        let table = tables.remove(name).map(toml::Value::Table);
        let cfg = parse(sc, catalog, name, table).ok_or_else(|| unknown(name, origin))??;
        out.insert(name.clone(), cfg);
    }
    for (name, table) in tables {
        let cfg = parse(sc, catalog, &name, Some(toml::Value::Table(table)))
            .ok_or_else(|| unknown(&name, EngineOrigin::Table))??;
        out.insert(name, cfg);
    }
    Ok(out)
}

fn parse(
    sc: &Scenario,
    catalog: &dyn Catalog,
    name: &str,
    table: Option<toml::Value>,
) -> Option<Result<ConfigBox, ScenarioError>> {
    let parsed = catalog.parse(name, table)?;
    Some(parsed.map_err(|e| ScenarioError::Field {
        file: sc.file.clone(),
        field: if e.param.is_empty() {
            format!("engines.{name}")
        } else {
            format!("engines.{name}.{}", e.param)
        },
        message: e.message,
    }))
}
