//! Engine configuration: one typed struct per engine, parsed once when the scenario loads.
//!
//! An engine declares its `[engines.NAME]` table with [`engine_config!`](crate::engine_config):
//! each field has a type, a doc comment, a default and, after `=>`, an optional range rule. From
//! that one definition come the parser (unknown names refused, wrong types named by serde),
//! the range checks ([`EngineConfig::check`]) and the listing of `ftsim engines`
//! ([`EngineConfig::params`]): there is no second list to keep in sync.
//!
//! ```
//! use ftsim_sim::engine_config;
//! use ftsim_sim::config::{at_least, within};
//! use ftsim_sim::SimDuration;
//!
//! engine_config! {
//!     /// `[engines.example]`.
//!     pub struct ExampleConfig {
//!         /// How often an idle source polls its partition.
//!         pub poll_interval: SimDuration = SimDuration::from_millis(5) => at_least(SimDuration::from_micros(10));
//!         /// Most records read at once.
//!         pub max_batch: u64 = 2_000 => within(1, 1_000_000);
//!         /// Whether to log every poll.
//!         pub verbose: bool = false;
//!     }
//! }
//! ```

use crate::time::SimDuration;
use std::fmt::Display;

/// One parameter as `ftsim engines` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamDoc {
    /// Its name under `[engines.NAME]`.
    pub name: &'static str,
    /// Its doc comment, on one line.
    pub doc: String,
    /// Its default, written as in a scenario file.
    pub default: String,
    /// What it allows (type and range).
    pub allowed: String,
}

/// A parameter value outside its range, or a field error from the parser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamError {
    /// The parameter (a dotted path inside the engine's table).
    pub param: String,
    /// What is wrong and what is allowed.
    pub message: String,
}

impl ParamError {
    /// An error on `param`.
    pub fn new(param: impl Into<String>, message: impl Into<String>) -> ParamError {
        ParamError {
            param: param.into(),
            message: message.into(),
        }
    }
}

/// A typed engine configuration (implemented by [`engine_config!`](crate::engine_config)).
pub trait EngineConfig: Default + Clone + std::fmt::Debug + Send + Sync + 'static {
    /// The parameters in declaration order, with docs, defaults and ranges.
    fn params() -> Vec<ParamDoc>;
    /// Checks every range rule; the error names the parameter.
    fn check(&self) -> Result<(), ParamError>;
    /// Parses an `[engines.NAME]` table (`None`: every default) and checks it.
    fn parse(table: Option<toml::Value>) -> Result<Self, ParamError>
    where
        Self: serde::de::DeserializeOwned,
    {
        let Some(value) = table else {
            return Ok(Self::default());
        };
        let Some(t) = value.as_table() else {
            return Err(ParamError::new("", "expected a table of parameters"));
        };
        let params = Self::params();
        if let Some(key) = t.keys().find(|k| !params.iter().any(|p| p.name == k.as_str())) {
            let names: Vec<&str> = params.iter().map(|p| p.name).collect();
            let allowed = if names.is_empty() {
                "this engine takes no parameters".to_string()
            } else {
                format!("allowed: {}", names.join(", "))
            };
            return Err(ParamError::new(key.clone(), format!("unknown parameter; {allowed}")));
        }
        let culprit = |t: &toml::Table| {
            // A parameter of a flattened group loses its path: find it by parsing alone.
            t.iter()
                .find(|(k, v)| {
                    let mut alone = toml::Table::new();
                    alone.insert((*k).clone(), (*v).clone());
                    serde_path_to_error::deserialize::<_, Self>(toml::Value::Table(alone)).is_err()
                })
                .map(|(k, _)| k.clone())
        };
        let table = t.clone();
        let cfg: Self = serde_path_to_error::deserialize(value).map_err(|e| {
            let path = e.path().to_string();
            let param = if path == "." || path.is_empty() {
                culprit(&table).unwrap_or_default()
            } else {
                path
            };
            ParamError::new(param, crate::scenario::plain(&e.into_inner().to_string()))
        })?;
        cfg.check()?;
        Ok(cfg)
    }
}

/// A parsed engine configuration of any type: each engine downcasts its own
/// ([`AnyConfig::as_any`]).
pub trait AnyConfig: std::fmt::Debug + Send + Sync {
    /// The configuration as `Any`, to downcast to its type.
    fn as_any(&self) -> &dyn std::any::Any;
}

impl<T: EngineConfig> AnyConfig for T {
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

/// A shared, parsed engine configuration.
pub type ConfigBox = std::sync::Arc<dyn AnyConfig>;

/// How a parameter type shows its values and what it allows, for listings.
pub trait ParamValue {
    /// The value as written in a scenario file.
    fn show(&self) -> String;
    /// The values the type allows, before any range rule.
    fn kind() -> String;
}

impl ParamValue for SimDuration {
    fn show(&self) -> String {
        format!("\"{self}\"")
    }
    fn kind() -> String {
        "duration".into()
    }
}
impl ParamValue for bool {
    fn show(&self) -> String {
        self.to_string()
    }
    fn kind() -> String {
        "true|false".into()
    }
}
impl ParamValue for f64 {
    fn show(&self) -> String {
        self.to_string()
    }
    fn kind() -> String {
        "number".into()
    }
}
macro_rules! whole_number {
    ($($t:ty),*) => {$(
        impl ParamValue for $t {
            fn show(&self) -> String {
                self.to_string()
            }
            fn kind() -> String {
                "integer".into()
            }
        }
    )*};
}
whole_number!(u32, u64, usize, i64);

/// A closed set of words (an enum parameter): its variants and their names in scenario files.
/// Implement it and deserialize with [`choice`]; the listing follows.
pub trait Choice: Copy + PartialEq + 'static {
    /// Every variant, in listing order.
    const ALL: &'static [Self];
    /// The name of a variant in scenario files.
    fn name(self) -> &'static str;
}

impl<C: Choice> ParamValue for C {
    fn show(&self) -> String {
        format!("\"{}\"", self.name())
    }
    fn kind() -> String {
        C::ALL.iter().map(|c| c.name()).collect::<Vec<_>>().join("|")
    }
}

/// Deserializes a [`Choice`] from its name, listing the names when it is none of them.
pub fn choice<'de, C: Choice, D: serde::Deserializer<'de>>(d: D) -> Result<C, D::Error> {
    let s = <String as serde::Deserialize>::deserialize(d)?;
    C::ALL.iter().copied().find(|c| c.name() == s).ok_or_else(|| {
        let names: Vec<String> = C::ALL.iter().map(|c| format!("\"{}\"", c.name())).collect();
        serde::de::Error::custom(format!("\"{s}\" is not allowed: use one of {}", names.join(", ")))
    })
}

/// A range rule on a parameter.
pub trait Rule<T> {
    /// Ok if `v` is allowed; else what is wrong and what is allowed.
    fn check(&self, v: &T) -> Result<(), String>;
    /// The range, for listings (e.g. "≥ 10ms", "1 to 1000").
    fn describe(&self) -> String;
}

/// At least this much.
#[derive(Debug, Clone, Copy)]
pub struct AtLeast<T>(pub T);

/// From the first to the second, both included.
#[derive(Debug, Clone, Copy)]
pub struct Within<T>(pub T, pub T);

/// The rule "at least `min`".
pub const fn at_least<T>(min: T) -> AtLeast<T> {
    AtLeast(min)
}

/// The rule "from `lo` to `hi`".
pub const fn within<T>(lo: T, hi: T) -> Within<T> {
    Within(lo, hi)
}

impl Rule<SimDuration> for AtLeast<SimDuration> {
    fn check(&self, v: &SimDuration) -> Result<(), String> {
        if *v < self.0 {
            return Err(format!("{v} is too short: at least {}", self.0));
        }
        Ok(())
    }
    fn describe(&self) -> String {
        format!("≥ {}", self.0)
    }
}

impl<T: PartialOrd + Display> Rule<T> for Within<T> {
    fn check(&self, v: &T) -> Result<(), String> {
        if !(*v >= self.0 && *v <= self.1) {
            return Err(format!("{v} is out of range: allowed {} to {}", self.0, self.1));
        }
        Ok(())
    }
    fn describe(&self) -> String {
        format!("{} to {}", self.0, self.1)
    }
}

/// One line from a field's doc comment lines.
pub fn doc_text(lines: &[&str]) -> String {
    lines
        .iter()
        .map(|l| l.trim())
        .collect::<Vec<_>>()
        .join(" ")
        .trim()
        .to_string()
}

/// What a parameter of type `T` allows, with its rule's range if it has one.
pub fn allowed<T: ParamValue>(range: Option<String>) -> String {
    match range {
        Some(r) => format!("{} {r}", T::kind()),
        None => T::kind(),
    }
}

/// Declares an engine configuration; see the [module doc](crate::config). Fields are written
/// `/// doc` then `pub NAME: TYPE = DEFAULT;` or `pub NAME: TYPE = DEFAULT => RULE;`. After them,
/// `#[flatten] pub NAME: TYPE;` embeds a group of parameters several engines share (itself
/// declared with this macro): its parameters sit in the same table, listed after the others.
/// The struct derives `Deserialize` (the calling crate depends on serde) and takes the default of
/// every field the table leaves out; [`EngineConfig::parse`] refuses names it does not declare.
#[macro_export]
macro_rules! engine_config {
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident {
            $(
                $(#[doc = $doc:literal])*
                $fvis:vis $field:ident : $ty:ty = $default:expr $(=> $rule:expr)? ;
            )*
            $(
                #[flatten]
                $(#[doc = $gdoc:literal])*
                $gvis:vis $group:ident : $gty:ty ;
            )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, serde::Deserialize)]
        #[serde(default)]
        $vis struct $name {
            $( $(#[doc = $doc])* $fvis $field: $ty, )*
            $( $(#[doc = $gdoc])* #[serde(flatten)] $gvis $group: $gty, )*
        }

        impl Default for $name {
            fn default() -> Self {
                $name {
                    $( $field: $default, )*
                    $( $group: <$gty as Default>::default(), )*
                }
            }
        }

        impl $crate::config::EngineConfig for $name {
            fn params() -> Vec<$crate::config::ParamDoc> {
                #[allow(unused_variables)]
                let d = <$name as Default>::default();
                #[allow(unused_mut)]
                let mut v = vec![$(
                    $crate::config::ParamDoc {
                        name: stringify!($field),
                        doc: $crate::config::doc_text(&[$($doc),*]),
                        default: $crate::config::ParamValue::show(&d.$field),
                        allowed: $crate::config::allowed::<$ty>(
                            None $( .or(Some($crate::config::Rule::<$ty>::describe(&$rule))) )?
                        ),
                    },
                )*];
                $( v.extend(<$gty as $crate::config::EngineConfig>::params()); )*
                v
            }

            fn check(&self) -> Result<(), $crate::config::ParamError> {
                $($(
                    $crate::config::Rule::<$ty>::check(&$rule, &self.$field)
                        .map_err(|m| $crate::config::ParamError::new(stringify!($field), m))?;
                )?)*
                $( $crate::config::EngineConfig::check(&self.$group)?; )*
                Ok(())
            }
        }
    };
}
