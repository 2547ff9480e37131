//! Text for the terminal: the summary table of `ftsim run` and the listing of `ftsim engines`.

use crate::check::Outcome;
use crate::check::campaign::{CaseRun, tally};
use crate::check::plan::to_toml;
use crate::runner::EngineResult;
use ftsim_engines::Registry;
use ftsim_sim::Scenario;
use std::fmt::Write;

fn cell(x: Option<f64>) -> String {
    x.map_or("-".into(), |v| format!("{v:.1}"))
}

/// The summary table printed by `ftsim run`.
pub fn summary_table(sc: &Scenario, results: &[EngineResult]) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{} — {} on {} nodes × {} cores, {} for {}, sink {}, seed {}",
        sc.run.name,
        sc.job.kind.name(),
        sc.cluster.nodes,
        sc.cluster.cores,
        sc.input_label(),
        sc.run.duration,
        sc.job.sink.name(),
        sc.run.seed
    );
    let _ = writeln!(
        s,
        "{:<22} {:>13} {:>13} {:>9} {:>6} {:>6} {:>10} {:>9} {:>9} {:>9} {:>9} {:>9}",
        "engine",
        "promised",
        "verdict",
        "lost",
        "dup",
        "wrong",
        "out/s",
        "p50 ms",
        "p99 ms",
        "detect s",
        "restore s",
        "recover s"
    );
    for r in results {
        let r = &r.report;
        let f = r.first_failure;
        let secs = |d: Option<ftsim_sim::SimDuration>| d.map_or("-".into(), |d| format!("{:.2}", d.as_secs_f64()));
        let flag = match (&r.unfinished, r.promise_kept) {
            (_, false) => " (BROKEN)".to_string(),
            (Some(why), true) => format!(" (DID NOT FINISH: {why})"),
            (None, true) => String::new(),
        };
        let _ = writeln!(
            s,
            "{:<22} {:>13} {:>13} {:>9} {:>6} {:>6} {:>10.0} {:>9} {:>9} {:>9} {:>9} {:>9}{}",
            r.engine,
            r.promised.name(),
            r.verdict.name(),
            r.check.lost,
            r.check.duplicated,
            r.check.wrong,
            r.throughput_rps,
            cell(r.p50_ms),
            cell(r.p99_ms),
            secs(f.and_then(|f| f.detect)),
            secs(f.and_then(|f| f.restore)),
            secs(f.and_then(|f| f.recovery)),
            flag
        );
    }
    s
}

/// The text of `ftsim engines`: each engine's summary, promises and parameters, all taken from
/// its definition.
pub fn engines_listing(registry: &Registry) -> String {
    let mut s = String::new();
    for e in registry.all() {
        let _ = writeln!(s, "{}\n  {}", e.name(), e.summary());
        for (label, rows) in e.promises() {
            let label = if label.is_empty() {
                label
            } else {
                format!(" with {label}")
            };
            let _ = writeln!(
                s,
                "  promised guarantee{label} (job / sink: append, idempotent, transactional):"
            );
            for (kind, gs) in rows {
                let g: Vec<&str> = gs.iter().map(|g| g.name()).collect();
                let _ = writeln!(s, "    {:<14} {}", kind.name(), g.join(", "));
            }
        }
        let params = e.params();
        if params.is_empty() {
            let _ = writeln!(s, "  parameters: none");
        } else {
            let _ = writeln!(s, "  parameters ([engines.{}]):", e.name());
            for p in &params {
                let _ = writeln!(s, "    {} = {}  ({})\n        {}", p.name, p.default, p.allowed, p.doc);
            }
        }
        s.push('\n');
    }
    s
}

/// What a reproduction command needs: the scenario file and the `--set` arguments given.
pub struct Repro<'a> {
    /// The scenario file as given.
    pub scenario: &'a std::path::Path,
    /// The `--set` arguments as given.
    pub sets: &'a [String],
}

/// The report of `ftsim check`: a table per engine, then every violation with the command that
/// reproduces it.
pub fn check_report(sc: &Scenario, seed: u64, runs: &[CaseRun], repro: &Repro<'_>) -> String {
    let mut s = String::new();
    let cases = runs.iter().map(|r| r.case + 1).max().unwrap_or(0);
    let _ = writeln!(s, "{}: {cases} fault plans from campaign seed {seed}", sc.run.name);
    let _ = writeln!(
        s,
        "{:<22} {:>7} {:>13} {:>13} {:>11}",
        "engine", "cases", "promises met", "not finished", "violations"
    );
    for (engine, t) in tally(sc, runs) {
        let _ = writeln!(
            s,
            "{engine:<22} {:>7} {:>13} {:>13} {:>11}",
            t.cases, t.met, t.not_finished, t.violations
        );
    }
    for r in runs {
        if let Outcome::Violation(found) = &r.outcome {
            let _ = writeln!(
                s,
                "\nviolation: {} in case {} (plan {})",
                r.engine,
                r.case,
                to_toml(&r.faults)
            );
            for f in found {
                let _ = writeln!(s, "  - {f}");
            }
            let sets: String = repro.sets.iter().map(|x| format!(" --set '{x}'")).collect();
            let _ = writeln!(
                s,
                "  reproduce: ftsim run {} --engine {}{sets} --set 'faults={}'",
                repro.scenario.display(),
                r.engine,
                to_toml(&r.faults)
            );
        }
    }
    let mut reasons: Vec<(&str, &str)> = runs
        .iter()
        .filter_map(|r| match &r.outcome {
            Outcome::NotFinished(why) => Some((r.engine.as_str(), why.as_str())),
            _ => None,
        })
        .collect();
    reasons.sort_unstable();
    reasons.dedup();
    for (engine, why) in reasons {
        let _ = writeln!(s, "not finished: {engine}: {why}");
    }
    s
}
