//! A live session's state: the words received with their simulated stamps, the faults typed, the
//! trace file they are written to as they come, and the scenario text that replays them.

use super::input::Command;
use anyhow::{Context, Result, anyhow};
use ftsim_engines::Registry;
use ftsim_sim::scenario::{JobKind, Overrides};
use ftsim_sim::units::parse_duration;
use ftsim_sim::{Prepared, RunReport, Scenario, SimDuration, SimTime};
use std::collections::HashMap;
use std::fmt::Write as _;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// The trace file's name, beside the session's scenario.
pub const TRACE_FILE: &str = "trace.csv";
/// The session's scenario file's name.
pub const SESSION_FILE: &str = "session.toml";

/// The generator's `[workload]` fields, which a replayed trace refuses beside it.
const GENERATOR_FIELDS: [&str; 11] = [
    "rate",
    "profile",
    "burst_period",
    "burst_peak",
    "burst_duty",
    "keys",
    "key_dist",
    "zipf_exponent",
    "out_of_order",
    "out_of_order_max",
    "trace_speed",
];

/// What the session's scenario is made from: the original scenario, parsed and loaded.
#[derive(Debug, Clone)]
pub struct Template {
    /// The original text, parsed; its generator fields and faults removed.
    table: toml::Table,
    /// The original's own faults, with their instants: a session keeps those that fall inside it.
    scheduled: Vec<(SimTime, toml::Value)>,
    /// The original, loaded (with `--engine` applied).
    pub sc: Scenario,
}

impl Template {
    /// Parses `text` (the scenario `sc` was loaded from).
    pub fn new(text: &str, sc: Scenario) -> Result<Template> {
        let mut table: toml::Table = text.parse().context("parsing the scenario")?;
        if let Some(toml::Value::Table(w)) = table.get_mut("workload") {
            for f in GENERATOR_FIELDS {
                w.remove(f);
            }
        }
        let mut scheduled = Vec::new();
        if let Some(toml::Value::Array(fs)) = table.remove("faults") {
            for f in fs {
                let at = f
                    .get("at")
                    .and_then(toml::Value::as_str)
                    .and_then(|s| parse_duration(s).ok())
                    .ok_or_else(|| anyhow!("a fault of the scenario has no readable `at`"))?;
                scheduled.push((SimTime(at.as_nanos()), f));
            }
        }
        let run = table
            .entry("run")
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        if let toml::Value::Table(run) = run {
            run.insert(
                "engines".into(),
                toml::Value::Array(sc.run.engines.iter().map(|e| toml::Value::String(e.clone())).collect()),
            );
            run.insert("name".into(), toml::Value::String(sc.run.name.clone()));
        }
        Ok(Template { table, scheduled, sc })
    }
}

/// A fault typed during the session, at the simulated instant it was typed (whole milliseconds).
#[derive(Debug, Clone)]
pub struct Typed {
    /// When.
    pub at: SimTime,
    /// What (a crash or a straggle).
    pub what: Command,
}

/// The session so far.
#[derive(Debug)]
pub struct Session {
    start: Instant,
    speed: f64,
    partitions: u32,
    /// Each word id's text, in the order of first appearance (the trace's key ids).
    pub words: Vec<String>,
    ids: HashMap<String, u32>,
    /// Every record: its stamp (ns of simulated time, whole microseconds) and word id.
    pub records: Vec<(u64, u32)>,
    /// Typed faults.
    pub typed: Vec<Typed>,
    trace: BufWriter<File>,
    trace_path: PathBuf,
    /// Records already in the trace file.
    written: usize,
}

impl Session {
    /// A session starting now, writing its trace into `dir`.
    pub fn new(dir: &Path, speed: f64, partitions: u32) -> Result<Session> {
        let trace_path = dir.join(TRACE_FILE);
        let file = File::create(&trace_path).with_context(|| format!("creating {}", trace_path.display()))?;
        let mut trace = BufWriter::new(file);
        writeln!(trace, "time_s,key,partition")?;
        Ok(Session {
            start: Instant::now(),
            speed,
            partitions,
            words: Vec::new(),
            ids: HashMap::new(),
            records: Vec::new(),
            typed: Vec::new(),
            trace,
            trace_path,
            written: 0,
        })
    }

    /// The simulated time now: the wall-clock time since the start × the speed, in whole
    /// microseconds.
    pub fn now(&self) -> SimTime {
        let ns = self.start.elapsed().as_secs_f64() * self.speed * 1e9;
        SimTime((ns as u64) / 1_000 * 1_000)
    }

    /// Appends `words`, stamped now; returns the stamp. They reach the trace file at the next
    /// [`Session::write_pending`].
    pub fn push(&mut self, words: Vec<String>) -> SimTime {
        let now = self.now();
        for w in words {
            let next = self.words.len() as u32;
            let id = *self.ids.entry(w).or_insert_with_key(|w| {
                self.words.push(w.clone());
                next
            });
            self.records.push((now.0, id));
        }
        now
    }

    /// Appends the records not yet in the trace file to it and flushes it. The file changes
    /// only here, so a run that reads it never meets a half-written row while nothing else calls
    /// this (the views run one at a time, and the last one is waited for).
    pub fn write_pending(&mut self) -> Result<()> {
        for (i, &(t, id)) in self.records.iter().enumerate().skip(self.written) {
            let us = t / 1_000;
            let partition = i as u64 % u64::from(self.partitions);
            writeln!(
                self.trace,
                "{}.{:06},\"{}\",{partition}",
                us / 1_000_000,
                us % 1_000_000,
                self.words[id as usize].replace('"', "\"\"")
            )?;
        }
        self.written = self.records.len();
        self.trace.flush().context("writing the trace")
    }

    /// The trace file.
    pub fn trace_path(&self) -> &Path {
        &self.trace_path
    }

    /// Checks a fault typed at `at` against the session's scenario: a straggle may not overlap
    /// another one on the same worker.
    pub fn check_fault(&self, tmpl: &Template, at: SimTime, what: &Command) -> Result<(), String> {
        let Command::Straggle { node, length, .. } = what else {
            return Ok(());
        };
        let mine = (at.0, at.0 + length.as_nanos());
        let typed = self.typed.iter().filter_map(|t| match t.what {
            Command::Straggle { node: n, length, .. } => Some((n, t.at.0, t.at.0 + length.as_nanos())),
            _ => None,
        });
        let scheduled = tmpl.sc.faults.iter().filter_map(|f| match f {
            ftsim_sim::scenario::Fault::Straggler { at, node, duration, .. } => {
                Some((node.0, at.0, at.0 + duration.as_nanos()))
            }
            ftsim_sim::scenario::Fault::Crash { .. } => None,
        });
        for (n, a, b) in typed.chain(scheduled) {
            if n == *node && mine.0 < b && a < mine.1 {
                return Err(format!(
                    "worker {node} already straggles from {} to {}: one slowdown at a time per worker",
                    SimTime(a),
                    SimTime(b)
                ));
            }
        }
        Ok(())
    }

    /// The scenario text of the session up to `end` (exclusive): the original with the trace in
    /// place of the generator, `run.duration = end` and the faults before `end`. `live`: the text
    /// of a live view, which stops at `end` (no drain) and runs `engine` only.
    pub fn scenario_text(&self, tmpl: &Template, end: SimDuration, live: Option<&str>) -> String {
        let mut t = tmpl.table.clone();
        let sc = &tmpl.sc;
        let sub = |t: &mut toml::Table, name: &str| -> toml::Table {
            match t.remove(name) {
                Some(toml::Value::Table(x)) => x,
                _ => toml::Table::new(),
            }
        };
        let mut run = sub(&mut t, "run");
        run.insert("duration".into(), toml::Value::String(duration_text(end)));
        if sc.run.warmup >= end {
            run.insert("warmup".into(), toml::Value::String("0s".into()));
        }
        if sc.run.bucket > end {
            run.insert("bucket".into(), toml::Value::String(duration_text(end)));
        }
        if let Some(engine) = live {
            run.insert("drain".into(), toml::Value::String("1ns".into()));
            run.insert(
                "engines".into(),
                toml::Value::Array(vec![toml::Value::String(engine.into())]),
            );
        }
        t.insert("run".into(), toml::Value::Table(run));
        let mut workload = sub(&mut t, "workload");
        workload.insert("trace".into(), toml::Value::String(TRACE_FILE.into()));
        let inside = self.records.partition_point(|r| r.0 < end.as_nanos()) as u64;
        if sc.job.kind == JobKind::WindowCount && inside < u64::from(self.partitions) {
            // Until every partition has a word its watermark cannot move: fewer partitions.
            workload.insert("partitions".into(), toml::Value::Integer(inside.max(1) as i64));
        }
        t.insert("workload".into(), toml::Value::Table(workload));
        let mut faults: Vec<(SimTime, toml::Value)> = tmpl
            .scheduled
            .iter()
            .filter(|(at, _)| at.0 < end.as_nanos())
            .cloned()
            .collect();
        for f in self.typed.iter().filter(|f| f.at.0 < end.as_nanos()) {
            faults.push((f.at, fault_table(f)));
        }
        faults.sort_by_key(|f| f.0);
        if !faults.is_empty() {
            t.insert(
                "faults".into(),
                toml::Value::Array(faults.into_iter().map(|f| f.1).collect()),
            );
        }
        toml::to_string(&t).unwrap_or_default()
    }

    /// The session's length: the simulated time now, and at least past every record and fault,
    /// rounded up to a whole millisecond (and at least one bucket long).
    pub fn length(&self, bucket: SimDuration) -> SimDuration {
        let last_record = self.records.last().map_or(0, |r| r.0 + 1);
        let last_fault = self.typed.iter().map(|f| f.at.0 + 1).max().unwrap_or(0);
        let end = self.now().0.max(last_record).max(last_fault);
        SimDuration(end.div_ceil(1_000_000) * 1_000_000).max(bucket)
    }

    /// The words sent, with how many times each was, most first (then alphabetically).
    pub fn tally(&self) -> Vec<(String, u64)> {
        let mut n = vec![0u64; self.words.len()];
        for r in &self.records {
            n[r.1 as usize] += 1;
        }
        let mut out: Vec<(String, u64)> = self.words.iter().cloned().zip(n).collect();
        out.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        out
    }
}

/// A duration as scenario text, in whole milliseconds.
fn duration_text(d: SimDuration) -> String {
    format!("{}ms", d.as_nanos() / 1_000_000)
}

/// A typed fault as a `[[faults]]` table.
fn fault_table(f: &Typed) -> toml::Value {
    let mut t = toml::Table::new();
    t.insert("at".into(), toml::Value::String(duration_text(SimDuration(f.at.0))));
    match &f.what {
        Command::Crash(n) => {
            t.insert("crash".into(), toml::Value::Integer(i64::from(*n)));
        }
        Command::Straggle { node, factor, length } => {
            t.insert("straggler".into(), toml::Value::Integer(i64::from(*node)));
            t.insert("slowdown".into(), toml::Value::Float(*factor));
            t.insert("for".into(), toml::Value::String(format!("{length}")));
        }
        Command::Status | Command::Quit => {}
    }
    toml::Value::Table(t)
}

/// Loads scenario `text` as if it were the file `path` (its trace found beside it) and runs
/// `engine` over it.
pub fn run_view(path: &Path, text: &str, registry: &Registry, engine: &str) -> Result<RunReport> {
    let sc = Scenario::from_str(path, text, &Overrides::default(), registry)?;
    let prepared = Prepared::new(&sc);
    let engine = registry
        .find(engine)
        .ok_or_else(|| anyhow!("engine {engine} is not in the registry"))?;
    Ok(engine.run(&sc, &prepared, &mut |_| {}))
}

/// The view of a run: its engine's figures, its faults so far and its latest results, the
/// words being the session's (`words[id]`).
/// `window` is the job's window length.
pub fn view(
    r: &RunReport,
    at: SimDuration,
    words: &[String],
    took: Option<f64>,
    top: usize,
    window: SimDuration,
) -> String {
    let mut s = String::new();
    let ms = |x: Option<f64>| x.map_or("-".into(), |v| format!("{v:.1} ms"));
    let _ = write!(
        s,
        "[{}] {}: records in {}, outputs {}, latency p50 {} p99 {}, verdict {} ({} {}",
        SimTime(at.0),
        r.engine,
        r.records_in,
        r.records_out,
        ms(r.p50_ms),
        ms(r.p99_ms),
        r.verdict,
        r.promised,
        if r.promise_kept { "kept" } else { "BROKEN" }
    );
    if r.unfinished.is_some() {
        let _ = write!(s, " so far; {} lost or still in flight", r.check.lost);
    }
    s.push(')');
    if let Some(t) = took {
        let _ = write!(s, ", re-run {:.0} ms", t * 1000.0);
    }
    s.push('\n');
    for f in &r.failures {
        let since =
            |t: Option<SimTime>| t.map_or("-".into(), |t| format!("+{:.3}s", t.since(f.injected).as_secs_f64()));
        let nodes: Vec<String> = f.nodes.iter().map(|n| n.0.to_string()).collect();
        let _ = writeln!(
            s,
            "  crash of {} at {}: detected {}, restored {}, recovered {}",
            nodes.join(","),
            f.injected,
            since(f.detected),
            since(f.restored),
            since(f.caught_up)
        );
    }
    let mut counts = r.latest.counts.clone();
    counts.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let shown: Vec<String> = counts
        .iter()
        .take(top)
        .map(|(k, c)| format!("{} {c}", words.get(*k as usize).map_or("?", String::as_str)))
        .collect();
    let what = match r.latest.window {
        Some(w) => format!("latest window [{w}, {})", w + window),
        None if counts.is_empty() => "no result shown yet".into(),
        None => "counts so far".into(),
    };
    let _ = writeln!(
        s,
        "  {what}{}{}",
        if shown.is_empty() { "" } else { ": " },
        shown.join(", ")
    );
    s
}
