//! Loading a scenario: text → TOML → `--set` overrides → typed and checked [`Scenario`], with
//! every engine's table parsed into its typed configuration by a [`Catalog`].
//!
//! An error in a field that a `--set` wrote (or in anything under the table it created) names that
//! `--set` argument rather than the file, since that is where the value came from.
//!
//! The simulator knows no engine: the caller hands over the catalog of engines it may run (the
//! registry), which parses each `[engines.NAME]` table. Every engine of `run.engines` gets a
//! configuration (its defaults where the file has no table), and every table must name a known
//! engine, so a run never meets a raw table or a misspelled parameter.

use super::error::{EngineOrigin, FieldError, ScenarioError};
use super::{Scenario, apply_set, plain, raw, resolve};
use crate::config::{ConfigBox, ParamError};
use std::collections::BTreeMap;
use std::path::Path;
use toml::Spanned;
use toml::de::{DeTable, DeValue, ValueDeserializer};

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
    /// `--seed N`: this seed instead of `run.seed`.
    pub seed: Option<u64>,
}

impl Overrides {
    /// Only `--set` arguments.
    pub fn sets(sets: &[String]) -> Overrides {
        Overrides {
            sets: sets.to_vec(),
            engines: Vec::new(),
            seed: None,
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

    /// Parses, overrides and checks scenario text; `path` names it in messages, and a trace
    /// (`workload.trace`) is found relative to its folder.
    pub fn from_str(
        path: &Path,
        text: &str,
        over: &Overrides,
        catalog: &dyn Catalog,
    ) -> Result<Scenario, ScenarioError> {
        let mut written = Vec::new();
        Self::from_tree(path, text, over, catalog, &mut written).map_err(|e| name_the_set(e, &written))
    }

    /// [`Scenario::from_str`], recording in `written` what each `--set` wrote.
    fn from_tree<'a>(
        path: &Path,
        text: &'a str,
        over: &'a Overrides,
        catalog: &dyn Catalog,
        written: &mut Vec<(Vec<String>, &'a str)>,
    ) -> Result<Scenario, ScenarioError> {
        let file = || path.to_path_buf();
        let table = DeTable::parse(text).map_err(|e| ScenarioError::Syntax {
            file: file(),
            message: e.to_string().trim().replace('\n', " "),
        })?;
        let span = table.span();
        let mut value = DeValue::Table(table.into_inner());
        for s in &over.sets {
            written.push((apply_set(&mut value, s)?, s.as_str()));
        }
        let field_error = |e: FieldError| ScenarioError::Field {
            file: file(),
            field: e.field,
            message: e.message,
        };
        check_seed(&value).map_err(field_error)?;
        let raw: raw::RawScenario =
            serde_path_to_error::deserialize(ValueDeserializer::from(Spanned::new(span, value))).map_err(|e| {
                let field = e.path().to_string();
                ScenarioError::Field {
                    file: file(),
                    field: if field == "." { "(top level)".into() } else { field },
                    message: plain(&e.into_inner().to_string()),
                }
            })?;
        let tables = raw.engines.clone().unwrap_or_default();
        let mut sc = resolve::resolve(raw, path).map_err(|e| match e {
            resolve::Refused::Field(e) => field_error(e),
            resolve::Refused::Trace { file, error } => ScenarioError::Trace { file, error },
        })?;
        if let Some(seed) = over.seed {
            sc.run.seed = seed;
        }
        let from_flag = !over.engines.is_empty();
        if from_flag {
            sc.run.engines = over.engines.clone();
        }
        sc.engines = configs(&sc, tables, from_flag, catalog)?;
        Ok(sc)
    }
}

/// `run.seed` is checked on the tree, where an integer is kept as written: there a seed past the
/// range of every integer type is still reported as out of range with what is allowed.
fn check_seed(tree: &DeValue<'_>) -> Result<(), FieldError> {
    let seed = tree
        .get("run")
        .and_then(|run| run.get_ref().get("seed"))
        .map(Spanned::get_ref);
    match seed {
        Some(DeValue::Integer(i)) if u64::from_str_radix(i.as_str(), i.radix()).is_err() => Err(FieldError::new(
            "run.seed",
            format!("{i} is out of range: allowed 0 to {}", u64::MAX),
        )),
        _ => Ok(()),
    }
}

/// Turns an error in a field that a `--set` wrote into an error naming that `--set`: the one
/// whose written path is the longest prefix of the field's, the last such if several are.
fn name_the_set(e: ScenarioError, written: &[(Vec<String>, &str)]) -> ScenarioError {
    let Some((field, message)) = e.field_and_message() else {
        return e;
    };
    let segments: Vec<String> = field
        .replace('[', ".")
        .replace(']', "")
        .split('.')
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect();
    let by = written
        .iter()
        .enumerate()
        .filter(|(_, (path, _))| segments.starts_with(path))
        .max_by_key(|(i, (path, _))| (path.len(), *i));
    match by {
        Some((_, (_, arg))) => ScenarioError::SetField {
            arg: arg.to_string(),
            field,
            message,
        },
        None => e,
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
