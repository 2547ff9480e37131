//! Errors of scenario loading. Every variant names where the mistake is (the file, or the flag
//! when the value came from the command line) and, where there is one, the field, and says what is
//! allowed: the CLI prints it as one line and exits with code 2.

use std::path::PathBuf;

/// Why a scenario could not be loaded. All variants are the user's to fix; none is a bug.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    /// The file could not be read.
    #[error("{file}: cannot read the scenario file: {reason}")]
    Io {
        /// The scenario file.
        file: PathBuf,
        /// What the operating system said.
        reason: String,
    },
    /// The file is not valid TOML.
    #[error("{file}: not valid TOML: {message}")]
    Syntax {
        /// The scenario file.
        file: PathBuf,
        /// The parser's message, with line and column.
        message: String,
    },
    /// A field is missing, unknown, of the wrong type or out of range.
    #[error("{file}: {field}: {message}")]
    Field {
        /// The scenario file.
        file: PathBuf,
        /// The dotted path of the field, e.g. `cluster.nodes` or `faults[0].at`.
        field: String,
        /// What is wrong and what is allowed.
        message: String,
    },
    /// A trace (`workload.trace`) that cannot be replayed: a malformed row, a missing header
    /// column, no record, time going backwards.
    #[error("{}", trace_error(file, error))]
    Trace {
        /// The trace file, as opened.
        file: PathBuf,
        /// Where in it and what is wrong.
        error: crate::trace::TraceError,
    },
    /// An engine name that the catalog does not know.
    #[error("{}", unknown_engine(file, name, origin, known))]
    UnknownEngine {
        /// The scenario file.
        file: PathBuf,
        /// The name as given.
        name: String,
        /// Where it was named.
        origin: EngineOrigin,
        /// The known engines, comma-separated.
        known: String,
    },
    /// An engine named twice in the list of engines to run.
    #[error("{}", duplicate_engine(file, name, origin))]
    DuplicateEngine {
        /// The scenario file.
        file: PathBuf,
        /// The name.
        name: String,
        /// Where it was named the second time.
        origin: EngineOrigin,
    },
    /// A `--set path=value` argument is malformed or names no field.
    #[error("--set {arg}: {message}")]
    Set {
        /// The argument as given.
        arg: String,
        /// What is wrong and what is allowed.
        message: String,
    },
    /// A field whose value a `--set path=value` argument wrote is wrong: named by the flag, not
    /// the file.
    #[error("--set {arg}: {field}: {message}")]
    SetField {
        /// The argument as given.
        arg: String,
        /// The dotted path of the field, e.g. `cluster.nodes` or `faults[0].at`.
        field: String,
        /// What is wrong and what is allowed.
        message: String,
    },
}

impl ScenarioError {
    /// The field an error in the scenario's contents is about and what is wrong with it, for the
    /// errors that name a field of the file (`None` for the others).
    pub fn field_and_message(&self) -> Option<(String, String)> {
        match self {
            ScenarioError::Field { field, message, .. } => Some((field.clone(), message.clone())),
            ScenarioError::UnknownEngine {
                name, origin, known, ..
            } => engine_field(name, *origin).map(|f| (f, unknown_message(name, known))),
            ScenarioError::DuplicateEngine { name, origin, .. } => {
                engine_field(name, *origin).map(|f| (f, duplicate_message(name, *origin)))
            }
            _ => None,
        }
    }
}

/// Where an engine was named.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EngineOrigin {
    /// Entry `i` of `run.engines`.
    Listed(usize),
    /// An `[engines.NAME]` table.
    Table,
    /// A `--engine` flag.
    Flag,
}

/// The field naming an engine, `None` for a `--engine` flag.
fn engine_field(name: &str, origin: EngineOrigin) -> Option<String> {
    match origin {
        EngineOrigin::Flag => None,
        EngineOrigin::Listed(i) => Some(format!("run.engines[{i}]")),
        EngineOrigin::Table => Some(format!("engines.{name}")),
    }
}

fn trace_error(file: &std::path::Path, e: &crate::trace::TraceError) -> String {
    format!("trace {}: {e}", file.display())
}

fn unknown_message(name: &str, known: &str) -> String {
    format!("no engine \"{name}\": known engines are {known}")
}

fn duplicate_message(name: &str, origin: EngineOrigin) -> String {
    match origin {
        EngineOrigin::Table => "configured twice".into(),
        _ => format!("\"{name}\" is named twice; name each engine once"),
    }
}

fn unknown_engine(file: &std::path::Path, name: &str, origin: &EngineOrigin, known: &str) -> String {
    match engine_field(name, *origin) {
        None => format!("--engine {name}: no such engine; known engines are {known}"),
        Some(field) => format!("{}: {field}: {}", file.display(), unknown_message(name, known)),
    }
}

fn duplicate_engine(file: &std::path::Path, name: &str, origin: &EngineOrigin) -> String {
    match engine_field(name, *origin) {
        None => format!("--engine {name}: named twice; name each engine once"),
        Some(field) => format!("{}: {field}: {}", file.display(), duplicate_message(name, *origin)),
    }
}

/// A field error without the file, filled in by the loader.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldError {
    /// Dotted path of the field.
    pub field: String,
    /// What is wrong and what is allowed.
    pub message: String,
}

impl FieldError {
    /// A new field error.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError {
            field: field.into(),
            message: message.into(),
        }
    }
}
