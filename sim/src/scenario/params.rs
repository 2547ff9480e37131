//! Engine parameters: each engine declares a list of [`ParamSpec`]s (name, kind, default, doc);
//! [`Params::parse`] checks an `[engines.NAME]` table against it (unknown names and wrong types
//! refused) and hands back typed values. `ftsim engines` prints the same specs.

use crate::time::SimDuration;
use crate::units::parse_duration;
use std::collections::BTreeMap;

/// The type of a parameter and what it allows.
#[derive(Debug, Clone, PartialEq)]
pub enum ParamKind {
    /// A duration such as `"10s"`; `min` is the smallest allowed.
    Duration {
        /// Smallest allowed value.
        min: SimDuration,
    },
    /// A whole number in `min..=max`.
    Int {
        /// Smallest allowed.
        min: i64,
        /// Largest allowed.
        max: i64,
    },
    /// A number in `min..=max`.
    Float {
        /// Smallest allowed.
        min: f64,
        /// Largest allowed.
        max: f64,
    },
    /// `true` or `false`.
    Bool,
    /// One of a fixed set of words.
    Choice(&'static [&'static str]),
}

/// A typed parameter value.
#[derive(Debug, Clone, PartialEq)]
pub enum ParamValue {
    /// A duration.
    Duration(SimDuration),
    /// A whole number.
    Int(i64),
    /// A number.
    Float(f64),
    /// A switch.
    Bool(bool),
    /// A word from a choice.
    Choice(&'static str),
}

impl std::fmt::Display for ParamValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ParamValue::Duration(d) => write!(f, "\"{d}\""),
            ParamValue::Int(x) => write!(f, "{x}"),
            ParamValue::Float(x) => write!(f, "{x}"),
            ParamValue::Bool(x) => write!(f, "{x}"),
            ParamValue::Choice(x) => write!(f, "\"{x}\""),
        }
    }
}

/// One parameter an engine accepts.
#[derive(Debug, Clone)]
pub struct ParamSpec {
    /// Its name under `[engines.NAME]`.
    pub name: &'static str,
    /// Its type and range.
    pub kind: ParamKind,
    /// Its value when the scenario gives none.
    pub default: ParamValue,
    /// One line on what it does.
    pub doc: &'static str,
}

/// Checked parameter values of one engine, with defaults filled in.
#[derive(Debug, Clone, Default)]
pub struct Params {
    values: BTreeMap<&'static str, ParamValue>,
}

impl Params {
    /// Checks `table` against `specs`. The error names the parameter and what is allowed; the
    /// caller adds the file and the `engines.NAME.` prefix.
    pub fn parse(specs: &[ParamSpec], table: Option<&toml::Table>) -> Result<Params, (String, String)> {
        let mut values: BTreeMap<&'static str, ParamValue> =
            specs.iter().map(|s| (s.name, s.default.clone())).collect();
        if let Some(table) = table {
            for (key, v) in table {
                let spec = specs.iter().find(|s| s.name == key).ok_or_else(|| {
                    let names: Vec<&str> = specs.iter().map(|s| s.name).collect();
                    let allowed = if names.is_empty() {
                        "this engine takes no parameters".to_string()
                    } else {
                        format!("allowed: {}", names.join(", "))
                    };
                    (key.clone(), format!("unknown parameter; {allowed}"))
                })?;
                let value = check(spec, v).map_err(|m| (key.clone(), m))?;
                values.insert(spec.name, value);
            }
        }
        Ok(Params { values })
    }

    fn get(&self, name: &str) -> Option<&ParamValue> {
        self.values.get(name)
    }
    /// A duration parameter (its default if the engine forgot to declare it: zero).
    pub fn duration(&self, name: &str) -> SimDuration {
        match self.get(name) {
            Some(ParamValue::Duration(d)) => *d,
            _ => SimDuration::ZERO,
        }
    }
    /// A whole-number parameter.
    pub fn int(&self, name: &str) -> i64 {
        match self.get(name) {
            Some(ParamValue::Int(x)) => *x,
            _ => 0,
        }
    }
    /// A number parameter.
    pub fn float(&self, name: &str) -> f64 {
        match self.get(name) {
            Some(ParamValue::Float(x)) => *x,
            Some(ParamValue::Int(x)) => *x as f64,
            _ => 0.0,
        }
    }
    /// A switch.
    pub fn bool(&self, name: &str) -> bool {
        matches!(self.get(name), Some(ParamValue::Bool(true)))
    }
    /// A choice.
    pub fn choice(&self, name: &str) -> &'static str {
        match self.get(name) {
            Some(ParamValue::Choice(c)) => c,
            _ => "",
        }
    }
    /// All values, by name, for reports.
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, &ParamValue)> {
        self.values.iter().map(|(k, v)| (*k, v))
    }
}

fn check(spec: &ParamSpec, v: &toml::Value) -> Result<ParamValue, String> {
    match &spec.kind {
        ParamKind::Duration { min } => {
            let s = v.as_str().ok_or("expected a duration string such as \"10s\"")?;
            let d = parse_duration(s)?;
            if d < *min {
                return Err(format!("{d} is too short: at least {min}"));
            }
            Ok(ParamValue::Duration(d))
        }
        ParamKind::Int { min, max } => {
            let x = v
                .as_integer()
                .ok_or_else(|| format!("expected a whole number from {min} to {max}"))?;
            if x < *min || x > *max {
                return Err(format!("{x} is out of range: allowed {min} to {max}"));
            }
            Ok(ParamValue::Int(x))
        }
        ParamKind::Float { min, max } => {
            let x = v
                .as_float()
                .or_else(|| v.as_integer().map(|i| i as f64))
                .ok_or_else(|| format!("expected a number from {min} to {max}"))?;
            if !(x >= *min && x <= *max) {
                return Err(format!("{x} is out of range: allowed {min} to {max}"));
            }
            Ok(ParamValue::Float(x))
        }
        ParamKind::Bool => v
            .as_bool()
            .map(ParamValue::Bool)
            .ok_or_else(|| "expected true or false".to_string()),
        ParamKind::Choice(options) => {
            let s = v.as_str().unwrap_or("");
            options
                .iter()
                .find(|o| **o == s)
                .map(|o| ParamValue::Choice(o))
                .ok_or_else(|| {
                    format!(
                        "expected one of {}",
                        options
                            .iter()
                            .map(|o| format!("\"{o}\""))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                })
        }
    }
}

impl ParamKind {
    /// What the kind allows, for `ftsim engines`.
    pub fn describe(&self) -> String {
        match self {
            ParamKind::Duration { min } => format!("duration ≥ {min}"),
            ParamKind::Int { min, max } => format!("integer {min}..{max}"),
            ParamKind::Float { min, max } => format!("number {min}..{max}"),
            ParamKind::Bool => "true|false".into(),
            ParamKind::Choice(o) => o.join("|"),
        }
    }
}
