//! Errors of scenario loading. Every variant names the file and, where there is one, the field, and
//! says what is allowed: the CLI prints it as one line and exits with code 2.

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

fn unknown_engine(file: &std::path::Path, name: &str, origin: &EngineOrigin, known: &str) -> String {
    match origin {
        EngineOrigin::Flag => format!("--engine {name}: no such engine; known engines are {known}"),
        EngineOrigin::Listed(i) => {
            format!(
                "{}: run.engines[{i}]: no engine \"{name}\": known engines are {known}",
                file.display()
            )
        }
        EngineOrigin::Table => {
            format!(
                "{}: engines.{name}: no engine \"{name}\": known engines are {known}",
                file.display()
            )
        }
    }
}

fn duplicate_engine(file: &std::path::Path, name: &str, origin: &EngineOrigin) -> String {
    match origin {
        EngineOrigin::Flag => format!("--engine {name}: named twice; name each engine once"),
        EngineOrigin::Listed(i) => {
            format!(
                "{}: run.engines[{i}]: \"{name}\" is named twice; name each engine once",
                file.display()
            )
        }
        EngineOrigin::Table => format!("{}: engines.{name}: configured twice", file.display()),
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
