//! The experiments' scenarios (scenarios/experiments/, run by scripts/experiments/) all load:
//! `ftsim validate` accepts each of them.

use std::path::Path;
use std::process::Command;

#[test]
fn every_scenario_of_the_experiments_passes_ftsim_validate() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/experiments");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("scenarios/experiments/")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no scenario in {}", dir.display());
    for f in files {
        let out = Command::new(env!("CARGO_BIN_EXE_ftsim"))
            .arg("validate")
            .arg(&f)
            .output()
            .expect("ftsim runs");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && stdout.contains(": ok ("),
            "{}: {stdout}{}",
            f.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
