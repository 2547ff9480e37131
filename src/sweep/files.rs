//! File operations of a sweep: a file written whole or not at all, and a run directory copied.

use crate::output::safety::free_sibling;
use anyhow::{Context, Result};
use std::fs;
use std::path::Path;

/// Writes `bytes` to `path` through a scratch sibling renamed into place.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = free_sibling(path, "tmp")?;
    let written = fs::write(&tmp, bytes)
        .with_context(|| format!("writing {}", tmp.display()))
        .and_then(|()| fs::rename(&tmp, path).with_context(|| format!("moving {} into place", path.display())));
    if written.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    written
}

/// Copies the directory `from` (regular files and folders) to `to`, which must not exist.
pub fn copy_dir(from: &Path, to: &Path) -> Result<()> {
    fs::create_dir(to).with_context(|| format!("creating {}", to.display()))?;
    let mut entries: Vec<fs::DirEntry> = fs::read_dir(from)
        .with_context(|| format!("reading {}", from.display()))?
        .collect::<Result<_, _>>()
        .with_context(|| format!("reading {}", from.display()))?;
    entries.sort_by_key(fs::DirEntry::file_name);
    for e in entries {
        let kind = e
            .file_type()
            .with_context(|| format!("reading {}", e.path().display()))?;
        let target = to.join(e.file_name());
        if kind.is_dir() {
            copy_dir(&e.path(), &target)?;
        } else if kind.is_file() {
            fs::copy(e.path(), &target).with_context(|| format!("copying {}", e.path().display()))?;
        }
    }
    Ok(())
}
