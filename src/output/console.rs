//! Text for the terminal: the summary table of `ftsim run` and the listing of `ftsim engines`.

use crate::runner::EngineResult;
use ftsim_sim::Scenario;
use ftsim_sim::scenario::{JobKind, ParamKind, Params, SinkMode};
use std::fmt::Write;

fn cell(x: Option<f64>) -> String {
    x.map_or("-".into(), |v| format!("{v:.1}"))
}

/// The summary table printed by `ftsim run`.
pub fn summary_table(sc: &Scenario, results: &[EngineResult]) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{} — {} on {} nodes × {} cores, {} rec/s for {}, sink {}, seed {}",
        sc.run.name,
        sc.job.kind.name(),
        sc.cluster.nodes,
        sc.cluster.cores,
        sc.workload.rate,
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
        let flag = if r.promised.kept_by(r.check.verdict) {
            ""
        } else {
            " (BROKEN)"
        };
        let _ = writeln!(
            s,
            "{:<22} {:>13} {:>13} {:>9} {:>6} {:>6} {:>10.0} {:>9} {:>9} {:>9} {:>9} {:>9}{}",
            r.engine,
            r.promised.name(),
            r.check.verdict.name(),
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

/// The text of `ftsim engines`.
pub fn engines_listing() -> String {
    let mut s = String::new();
    for e in ftsim_engines::all() {
        let _ = writeln!(s, "{}\n  {}", e.name, e.summary);
        // One promise table per value of the parameter that changes it (or one table).
        let variants: Vec<(String, Params)> = match e
            .promise_param
            .and_then(|name| e.params.iter().find(|p| p.name == name))
        {
            Some(spec) => match &spec.kind {
                ParamKind::Choice(options) => options
                    .iter()
                    .filter_map(|o| {
                        let mut t = toml::Table::new();
                        t.insert(spec.name.to_string(), toml::Value::String((*o).to_string()));
                        Params::parse(&e.params, Some(&t))
                            .ok()
                            .map(|p| (format!(" with {} = \"{o}\"", spec.name), p))
                    })
                    .collect(),
                _ => Vec::new(),
            },
            None => Vec::new(),
        };
        let variants = if variants.is_empty() {
            vec![(String::new(), Params::parse(&e.params, None).unwrap_or_default())]
        } else {
            variants
        };
        for (label, params) in &variants {
            let _ = writeln!(
                s,
                "  promised guarantee{label} (job / sink: append, idempotent, transactional):"
            );
            for kind in JobKind::ALL {
                let g: Vec<&str> = SinkMode::ALL
                    .iter()
                    .map(|m| (e.promise)(kind, *m, params).name())
                    .collect();
                let _ = writeln!(s, "    {:<14} {}", kind.name(), g.join(", "));
            }
        }
        if e.params.is_empty() {
            let _ = writeln!(s, "  parameters: none");
        } else {
            let _ = writeln!(s, "  parameters ([engines.{}]):", e.name);
            for p in &e.params {
                let _ = writeln!(
                    s,
                    "    {:<22} = {:<10} {} ({})",
                    p.name,
                    p.default.to_string(),
                    p.doc,
                    p.kind.describe()
                );
            }
        }
        s.push('\n');
    }
    s
}
