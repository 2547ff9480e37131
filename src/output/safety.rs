//! What a run may write and remove. `--out DIR` is replaced as a whole, so before anything is
//! simulated [`check_out_dir`] refuses a DIR that is, or contains, the working directory, the
//! temporary directory, the home directory or `/` (compared after resolving `..` and symlinks),
//! a DIR that exists and is not an earlier ftsim output, and a DIR that cannot be created (it
//! tries, and removes what it created). [`replace`] is the only place that replaces a run's
//! directory, and only one that holds nothing but what an ftsim output holds.
//!
//! A sweep's directory ([`check_sweep_dir`]) is written run by run and kept across reruns: it
//! holds `sweep.toml`, `sweep.csv`, the sweep charts and `runs/`, one run output per run. The
//! removals a sweep makes ([`remove_run`], [`remove_scratch`], [`remove_sweep_files`],
//! [`replace_sweep`]) each check first that what they remove is one of these.

use std::fs;
use std::io;
use std::path::{Component, Path, PathBuf};

/// Files an ftsim output directory holds at its top, beside one folder per engine (`point.toml`
/// is the file a sweep keeps beside a run's output to say which point it is; `session.toml` and
/// `trace.csv` are what a live session keeps beside its report to replay it).
const TOP_FILES: [&str; 13] = [
    "summary.csv",
    "report.html",
    "point.toml",
    "session.toml",
    "trace.csv",
    "latency.png",
    "latency.svg",
    "throughput.png",
    "throughput.svg",
    "recovery.png",
    "recovery.svg",
    "cost_recovery.png",
    "cost_recovery.svg",
];

/// Extensions of the files in an engine's folder: its tables and their charts.
const ENGINE_FILES: [&str; 3] = ["csv", "png", "svg"];

/// The file that makes a directory a sweep output: what the sweep is.
pub const SWEEP_MANIFEST: &str = "sweep.toml";
/// The table of a sweep.
pub const SWEEP_TABLE: &str = "sweep.csv";
/// The folder of a sweep's run outputs.
pub const SWEEP_RUNS: &str = "runs";
/// The start of a sweep chart's name: `sweep_METRIC.png` and `.svg`.
pub const SWEEP_CHART_PREFIX: &str = "sweep_";

/// Why `--out` is refused. Displayed after `--out DIR: `.
#[derive(Debug, thiserror::Error)]
pub enum OutDirError {
    /// The path is, or contains, a directory that must never be replaced.
    #[error(
        "{relation} {what} ({}): --out is replaced as a whole, so give it a folder of its own, e.g. results/NAME",
        path.display()
    )]
    Protected {
        /// `is` or `contains`.
        relation: &'static str,
        /// Which directory, in words.
        what: &'static str,
        /// That directory, resolved.
        path: PathBuf,
    },
    /// The path exists and is a file.
    #[error("exists and is not a directory")]
    NotADirectory,
    /// The path is a directory with files but no summary.csv.
    #[error("exists and is not an earlier ftsim output (it has no summary.csv); choose another path")]
    NotAnOutput,
    /// The path is a directory with files but no sweep.toml.
    #[error("exists and is not an earlier ftsim sweep (it has no sweep.toml); choose another path")]
    NotASweep,
    /// The path holds summary.csv and something an ftsim output never holds.
    #[error("holds {0}, which is not part of an ftsim output, so it is not replaced; choose another path")]
    Foreign(String),
    /// A directory on the way exists and is not a directory.
    #[error("{} is not a directory", .0.display())]
    AncestorNotADirectory(PathBuf),
    /// A directory on the way could not be created.
    #[error("cannot create {}: {reason}", path.display())]
    CannotCreate {
        /// The directory.
        path: PathBuf,
        /// What the operating system said.
        reason: io::Error,
    },
    /// The directory that would hold the output cannot be written.
    #[error("cannot write in {}: {reason}", path.display())]
    CannotWrite {
        /// The directory.
        path: PathBuf,
        /// What the operating system said.
        reason: io::Error,
    },
    /// The path could not be looked at.
    #[error("cannot read {}: {reason}", path.display())]
    CannotRead {
        /// The path.
        path: PathBuf,
        /// What the operating system said.
        reason: io::Error,
    },
}

/// Checks, before a run, that `out` may be written and replaced, and returns it resolved (absolute,
/// without `..` or symlinks): the path to write to.
pub fn check_out_dir(out: &Path) -> Result<PathBuf, OutDirError> {
    check_with(out, replaceable)
}

/// Checks, before a sweep, that `out` may be written: as [`check_out_dir`], but an existing
/// directory must be empty or an earlier sweep (its runs are kept where they still belong to
/// the sweep). Returns it resolved.
pub fn check_sweep_dir(out: &Path) -> Result<PathBuf, OutDirError> {
    check_with(out, sweep_replaceable)
}

/// `out` resolved, if it is not protected, is absent or an existing directory that passes
/// `check`, and its parent can be written.
fn check_with(out: &Path, check: fn(&Path) -> Result<(), OutDirError>) -> Result<PathBuf, OutDirError> {
    let target = resolve(out)?;
    protected(&target)?;
    // An existing target is canonical, so a symlink here is one that points nowhere.
    match fs::symlink_metadata(&target) {
        Ok(m) if !m.is_dir() => return Err(OutDirError::NotADirectory),
        Ok(_) => check(&target)?,
        Err(_) => {}
    }
    let parent = target.parent().ok_or(OutDirError::NotADirectory)?;
    probe(parent)?;
    Ok(target)
}

/// `path` made absolute with symlinks and `..` resolved as far as it exists (for comparing
/// directories named on the command line).
pub fn resolved(path: &Path) -> Result<PathBuf, OutDirError> {
    resolve(path)
}

/// An existing directory may be replaced by a sweep if it is empty or an earlier sweep: its
/// manifest, table and charts, `runs/` holding run outputs, and scratch entries an interrupted
/// sweep left (see [`is_scratch`]).
fn sweep_replaceable(dir: &Path) -> Result<(), OutDirError> {
    let entries = list(dir)?;
    if entries.is_empty() {
        return Ok(());
    }
    let manifest = fs::symlink_metadata(dir.join(SWEEP_MANIFEST));
    if !manifest.is_ok_and(|m| m.is_file()) {
        return Err(OutDirError::NotASweep);
    }
    for (name, kind) in entries {
        let ok = if kind.is_file() {
            name == SWEEP_MANIFEST
                || name == SWEEP_TABLE
                || name == "report.html"
                || is_sweep_chart(&name)
                || is_scratch(&name)
        } else if kind.is_dir() && name == SWEEP_RUNS {
            runs_folder(&dir.join(&name)).map_err(|inner| OutDirError::Foreign(format!("{name}/{inner}")))?;
            true
        } else {
            false
        };
        if !ok {
            return Err(OutDirError::Foreign(name));
        }
    }
    Ok(())
}

/// `sweep_METRIC.png` or `.svg`.
fn is_sweep_chart(name: &str) -> bool {
    name.strip_prefix(SWEEP_CHART_PREFIX)
        .and_then(|rest| rest.strip_suffix(".png").or_else(|| rest.strip_suffix(".svg")))
        .is_some_and(|metric| !metric.is_empty() && metric.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
}

/// A name [`free_sibling`] makes, `.NAME.tmp-PID-N` or `.NAME.old-PID-N`: a directory or file
/// being written or replaced, left behind if the process was stopped.
fn is_scratch(name: &str) -> bool {
    let Some(rest) = name.strip_prefix('.') else {
        return false;
    };
    ["tmp", "old"].iter().any(|kind| {
        rest.rsplit_once(&format!(".{kind}-")).is_some_and(|(stem, tail)| {
            !stem.is_empty() && tail.split_once('-').is_some_and(|(pid, n)| digits(pid) && digits(n))
        })
    })
}

fn digits(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_digit())
}

/// A sweep's `runs/` holds run outputs and the scratch directories of interrupted writes (each
/// a run output in the making); the first other entry is returned as the error.
fn runs_folder(dir: &Path) -> Result<(), String> {
    for (name, kind) in list(dir).map_err(|e| e.to_string())? {
        let ok = kind.is_dir() && replaceable(&dir.join(&name)).is_ok();
        if !ok {
            return Err(name);
        }
    }
    Ok(())
}

/// Removes the scratch entries (`.NAME.tmp-PID-N`, `.NAME.old-PID-N`) an interrupted sweep left in
/// `dir` and in its `runs/`, each only if it is a file at the top or a run output in the making.
pub fn remove_scratch(dir: &Path) -> anyhow::Result<()> {
    use anyhow::Context;
    let runs = dir.join(SWEEP_RUNS);
    for (base, dirs) in [(dir, false), (runs.as_path(), true)] {
        if fs::symlink_metadata(base).is_err() {
            continue;
        }
        for (name, kind) in list(base)? {
            let path = base.join(&name);
            if !is_scratch(&name) {
                continue;
            }
            if dirs && kind.is_dir() && replaceable(&path).is_ok() {
                fs::remove_dir_all(&path).with_context(|| format!("removing {}", path.display()))?;
            } else if !dirs && kind.is_file() {
                fs::remove_file(&path).with_context(|| format!("removing {}", path.display()))?;
            }
        }
    }
    Ok(())
}

/// Removes the run output `dir` of a sweep (one that no longer belongs to it), only if it is a
/// run output.
pub fn remove_run(dir: &Path) -> anyhow::Result<()> {
    use anyhow::Context;
    replaceable(dir).with_context(|| format!("not removing {}", dir.display()))?;
    fs::remove_dir_all(dir).with_context(|| format!("removing {}", dir.display()))
}

/// Removes a sweep's table and its charts but `keep` (before a sweep runs, and to drop the chart
/// of a metric no longer asked for).
pub fn remove_sweep_files(dir: &Path, keep: &[&str]) -> anyhow::Result<()> {
    use anyhow::Context;
    for (name, kind) in list(dir)? {
        if kind.is_file() && (name == SWEEP_TABLE || is_sweep_chart(&name)) && !keep.contains(&name.as_str()) {
            let path = dir.join(&name);
            fs::remove_file(&path).with_context(|| format!("removing {}", path.display()))?;
        }
    }
    Ok(())
}

/// Moves `new` into place at `out`. An existing `out` is moved aside and removed only if it is
/// still something [`check_out_dir`] accepted: empty, or an earlier ftsim output.
pub fn replace(new: &Path, out: &Path) -> anyhow::Result<()> {
    replace_checked(new, out, replaceable)
}

/// Moves the sweep directory `new` into place at `out`, as [`replace`] does, replacing an `out`
/// that is still something [`check_sweep_dir`] accepted: empty, or an earlier sweep.
pub fn replace_sweep(new: &Path, out: &Path) -> anyhow::Result<()> {
    replace_checked(new, out, sweep_replaceable)
}

fn replace_checked(new: &Path, out: &Path, check: fn(&Path) -> Result<(), OutDirError>) -> anyhow::Result<()> {
    use anyhow::Context;
    if fs::symlink_metadata(out).is_err() {
        fs::rename(new, out).with_context(|| format!("moving the output into {}", out.display()))?;
        return Ok(());
    }
    check(out).with_context(|| format!("not replacing {}", out.display()))?;
    let old = free_sibling(out, "old")?;
    fs::rename(out, &old).with_context(|| format!("moving the earlier {} aside", out.display()))?;
    if let Err(e) = fs::rename(new, out) {
        let _ = fs::rename(&old, out);
        return Err(e).with_context(|| format!("moving the output into {}", out.display()));
    }
    fs::remove_dir_all(&old).with_context(|| format!("removing the earlier output {}", old.display()))
}

/// A sibling path `.NAME.KIND-PID-N` of `out` that does not exist yet.
pub fn free_sibling(out: &Path, kind: &str) -> anyhow::Result<PathBuf> {
    let parent = out.parent().unwrap_or(Path::new("."));
    let name = out
        .file_name()
        .map_or("out".into(), |n| n.to_string_lossy().into_owned());
    (0..1000)
        .map(|n| parent.join(format!(".{name}.{kind}-{}-{n}", std::process::id())))
        .find(|p| fs::symlink_metadata(p).is_err())
        .ok_or_else(|| anyhow::anyhow!("no free name for a {kind} directory beside {}", out.display()))
}

/// `out` made absolute, its nearest existing ancestor canonicalized (symlinks and `..` resolved by
/// the system) and the rest, which does not exist, resolved by its components.
fn resolve(out: &Path) -> Result<PathBuf, OutDirError> {
    let abs = if out.is_absolute() {
        out.to_path_buf()
    } else {
        let cwd = std::env::current_dir().map_err(|reason| OutDirError::CannotRead {
            path: PathBuf::from("."),
            reason,
        })?;
        cwd.join(out)
    };
    let mut rest = Vec::new();
    let mut base = abs.as_path();
    let mut target = loop {
        if let Ok(c) = fs::canonicalize(base) {
            break c;
        }
        match (base.components().next_back(), base.parent()) {
            (Some(last), Some(parent)) => {
                rest.push(last);
                base = parent;
            }
            _ => break base.to_path_buf(),
        }
    };
    for part in rest.iter().rev() {
        match part {
            Component::ParentDir => {
                target.pop();
            }
            Component::Normal(n) => target.push(n),
            _ => {}
        }
    }
    Ok(target)
}

/// Refuses `/`, the home, temporary and working directories and any directory containing one.
fn protected(target: &Path) -> Result<(), OutDirError> {
    let mut guarded: Vec<(&'static str, PathBuf)> = vec![("the root directory", PathBuf::from("/"))];
    if let Some(home) = std::env::var_os("HOME").filter(|h| !h.is_empty()) {
        guarded.push(("your home directory", PathBuf::from(home)));
    }
    guarded.push(("the temporary directory", std::env::temp_dir()));
    if let Ok(cwd) = std::env::current_dir() {
        guarded.push(("the current directory", cwd));
    }
    let guarded: Vec<(&'static str, PathBuf)> = guarded
        .into_iter()
        .filter_map(|(what, p)| fs::canonicalize(&p).ok().map(|p| (what, p)))
        .collect();
    let hit = |relation: &'static str, test: &dyn Fn(&Path) -> bool| {
        guarded
            .iter()
            .find(|(_, p)| test(p))
            .map(|(what, p)| OutDirError::Protected {
                relation,
                what,
                path: p.clone(),
            })
    };
    match hit("is", &|p| p == target).or_else(|| hit("contains", &|p| p.starts_with(target))) {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// An existing directory may be replaced if it is empty or an earlier ftsim output: summary.csv,
/// the comparison charts and one folder per engine holding only tables and charts.
fn replaceable(dir: &Path) -> Result<(), OutDirError> {
    let entries = list(dir)?;
    if entries.is_empty() {
        return Ok(());
    }
    let summary = fs::symlink_metadata(dir.join("summary.csv"));
    if !summary.is_ok_and(|m| m.is_file()) {
        return Err(OutDirError::NotAnOutput);
    }
    for (name, kind) in entries {
        let ok = if kind.is_file() {
            TOP_FILES.contains(&name.as_str())
        } else if kind.is_dir() {
            engine_folder(&dir.join(&name)).map_err(|inner| OutDirError::Foreign(format!("{name}/{inner}")))?;
            true
        } else {
            false
        };
        if !ok {
            return Err(OutDirError::Foreign(name));
        }
    }
    Ok(())
}

/// An engine's folder holds only regular files with a table's or chart's extension; the first
/// other entry is returned as the error.
fn engine_folder(dir: &Path) -> Result<(), String> {
    for (name, kind) in list(dir).map_err(|e| e.to_string())? {
        let ext = Path::new(&name).extension().and_then(|e| e.to_str()).unwrap_or("");
        if !(kind.is_file() && ENGINE_FILES.contains(&ext)) {
            return Err(name);
        }
    }
    Ok(())
}

/// The entries of `dir` with their types (symlinks not followed).
fn list(dir: &Path) -> Result<Vec<(String, fs::FileType)>, OutDirError> {
    let cannot = |reason| OutDirError::CannotRead {
        path: dir.to_path_buf(),
        reason,
    };
    let mut out = Vec::new();
    for e in fs::read_dir(dir).map_err(cannot)? {
        let e = e.map_err(cannot)?;
        out.push((
            e.file_name().to_string_lossy().into_owned(),
            e.file_type().map_err(cannot)?,
        ));
    }
    Ok(out)
}

/// Creates the missing directories down to `parent` and a file in it, then removes both: the run
/// will be able to write its temporary directory there and rename it into place.
fn probe(parent: &Path) -> Result<(), OutDirError> {
    let mut missing = Vec::new();
    let mut existing = parent;
    while fs::symlink_metadata(existing).is_err()
        && let Some(up) = existing.parent()
    {
        missing.push(existing);
        existing = up;
    }
    if !fs::metadata(existing).is_ok_and(|m| m.is_dir()) {
        return Err(OutDirError::AncestorNotADirectory(existing.to_path_buf()));
    }
    let mut created: Vec<&Path> = Vec::new();
    let result = (|| {
        for dir in missing.iter().rev() {
            fs::create_dir(dir).map_err(|reason| OutDirError::CannotCreate {
                path: dir.to_path_buf(),
                reason,
            })?;
            created.push(dir);
        }
        let file = parent.join(format!(".ftsim-probe-{}", std::process::id()));
        fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&file)
            .map_err(|reason| OutDirError::CannotWrite {
                path: parent.to_path_buf(),
                reason,
            })?;
        let _ = fs::remove_file(&file);
        Ok(())
    })();
    for dir in created.iter().rev() {
        let _ = fs::remove_dir(dir);
    }
    result
}
