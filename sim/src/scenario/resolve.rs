//! Raw scenario → typed [`Scenario`]: defaults, units and ranges. Each check names its field and
//! the allowed values; the first failing check is reported.

use super::error::FieldError;
use super::raw::{RawCluster, RawFault, RawScenario, RawTarget, RawWorkload};
use super::{
    ClusterSpec, Fault, FaultTarget, JobKind, JobSpec, KeyDist, Profile, RunSpec, Scenario, SinkMode, WindowSpec,
    WorkloadSpec, limits,
};
use crate::ids::NodeId;
use crate::time::{SimDuration, SimTime};
use crate::trace::{MAX_RECORD_BYTES, Trace, TraceError};
use crate::units::{parse_bandwidth, parse_duration};
use std::path::{Path, PathBuf};
use std::sync::Arc;

type R<T> = Result<T, FieldError>;

/// Why a scenario was refused: a field, or a row of the trace it replays.
#[derive(Debug)]
pub(crate) enum Refused {
    /// A field of the scenario.
    Field(FieldError),
    /// The trace (`workload.trace`) at `file`.
    Trace { file: PathBuf, error: TraceError },
}

impl From<FieldError> for Refused {
    fn from(e: FieldError) -> Refused {
        Refused::Field(e)
    }
}

fn dur(field: &str, v: Option<&String>, default: &str) -> R<SimDuration> {
    let text = v.map_or(default, String::as_str);
    parse_duration(text).map_err(|m| FieldError::new(field, m))
}

fn pos_dur(field: &str, v: Option<&String>, default: &str) -> R<SimDuration> {
    let d = dur(field, v, default)?;
    if d == SimDuration::ZERO {
        return Err(FieldError::new(field, "must be longer than zero"));
    }
    Ok(d)
}

fn bw(field: &str, v: Option<&String>, default: &str) -> R<f64> {
    parse_bandwidth(v.map_or(default, String::as_str)).map_err(|m| FieldError::new(field, m))
}

fn int_in(field: &str, v: Option<i64>, default: i64, lo: i64, hi: i64) -> R<i64> {
    let x = v.unwrap_or(default);
    if x < lo || x > hi {
        return Err(FieldError::new(
            field,
            format!("{x} is out of range: allowed {lo} to {hi}"),
        ));
    }
    Ok(x)
}

fn float_in(field: &str, v: Option<f64>, default: f64, lo: f64, hi: f64) -> R<f64> {
    let x = v.unwrap_or(default);
    if !(x.is_finite() && x >= lo && x <= hi) {
        return Err(FieldError::new(
            field,
            format!("{x} is out of range: allowed {lo} to {hi}"),
        ));
    }
    Ok(x)
}

fn choice<'a>(field: &str, v: Option<&'a String>, default: &'a str, allowed: &[&str]) -> R<&'a str> {
    let x = v.map_or(default, String::as_str);
    if allowed.contains(&x) {
        Ok(x)
    } else {
        Err(FieldError::new(
            field,
            format!("\"{x}\" is not allowed: use one of {}", allowed.join(", ")),
        ))
    }
}

/// Longest `run.name`.
const MAX_NAME_LEN: usize = 100;

/// A name that is safe as one folder name: ASCII letters, digits, `-`, `_` and `.`, not starting
/// with `.` (so neither `.` nor `..`), 1 to 100 characters. `run.name` names the default output
/// folder, `results/<run.name>`, so anything else could point outside `results/`.
fn plain_name(field: &str, name: String) -> R<String> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
    if name.is_empty() || name.len() > MAX_NAME_LEN || name.starts_with('.') || !name.chars().all(allowed) {
        return Err(FieldError::new(
            field,
            format!(
                "{name:?} is not a plain name: use 1 to {MAX_NAME_LEN} letters (A-Z, a-z), digits, '-', '_' or '.', not starting with '.'"
            ),
        ));
    }
    Ok(name)
}

pub(crate) fn resolve(raw: RawScenario, path: &Path) -> Result<Scenario, Refused> {
    let r = raw.run.unwrap_or_default();
    let c = raw.cluster.unwrap_or_default();
    let w = raw.workload.unwrap_or_default();
    let j = raw.job.unwrap_or_default();

    let default_name = path
        .file_stem()
        .map_or("scenario".into(), |s| s.to_string_lossy().into_owned());
    let given = match &r.duration {
        Some(d) => {
            let d = pos_dur("run.duration", Some(d), "")?;
            if d > SimDuration::from_secs(limits::MAX_DURATION_S) {
                return Err(FieldError::new(
                    "run.duration",
                    format!("{d} is past the limit of {}s", limits::MAX_DURATION_S),
                )
                .into());
            }
            Some(d)
        }
        None => None,
    };
    let trace = match &w.trace {
        Some(file) => Some(Arc::new(trace(path, file, &w, &c, given)?)),
        None => {
            if w.trace_speed.is_some() {
                return Err(FieldError::new(
                    "workload.trace_speed",
                    "only applies to a replayed trace: set workload.trace too, or remove it",
                )
                .into());
            }
            None
        }
    };
    let duration = match (given, &trace) {
        (Some(d), _) => d,
        // The next whole second after the trace's last arrival: every record is read.
        (None, Some(t)) => SimDuration::from_secs(t.last_arrival().0 / 1_000_000_000 + 1),
        (None, None) => {
            return Err(FieldError::new("run.duration", "is required, e.g. duration = \"60s\"").into());
        }
    };
    // How messages name the run's length: a trace's own length if the file gives none.
    let run_length = if given.is_some() {
        format!("run.duration ({duration})")
    } else {
        format!("run.duration ({duration}, the trace's length)")
    };
    let warmup = dur("run.warmup", r.warmup.as_ref(), "0s")?;
    if warmup >= duration {
        return Err(FieldError::new("run.warmup", format!("{warmup} must be shorter than {run_length}")).into());
    }
    let bucket = pos_dur("run.bucket", r.bucket.as_ref(), "1s")?;
    if bucket.as_nanos() < 1_000_000 || bucket > duration {
        return Err(FieldError::new(
            "run.bucket",
            format!("{bucket} is out of range: allowed 1ms to {run_length}"),
        )
        .into());
    }
    let engines = r.engines.unwrap_or_else(|| vec!["none".into()]);
    if engines.is_empty() {
        return Err(FieldError::new("run.engines", "names no engine; list at least one, e.g. [\"none\"]").into());
    }
    let run = RunSpec {
        name: match r.name {
            Some(name) => plain_name("run.name", name)?,
            None => default_name,
        },
        seed: r.seed.unwrap_or(1),
        duration,
        warmup,
        bucket,
        drain: pos_dur("run.drain", r.drain.as_ref(), "60s")?,
        engines,
    };

    let nodes = int_in("cluster.nodes", c.nodes, 4, 1, i64::from(limits::MAX_NODES))? as u32;
    let cluster = ClusterSpec {
        nodes,
        cores: int_in("cluster.cores", c.cores, 4, 1, i64::from(limits::MAX_CORES))? as u32,
        spares: int_in("cluster.spares", c.spares, 1, 0, i64::from(limits::MAX_SPARES))? as u32,
        network_latency: dur("cluster.network_latency", c.network_latency.as_ref(), "100us")?,
        bandwidth: bw("cluster.bandwidth", c.bandwidth.as_ref(), "10Gbit/s")?,
        storage_latency: dur("cluster.storage_latency", c.storage_latency.as_ref(), "10ms")?,
        storage_bandwidth: bw("cluster.storage_bandwidth", c.storage_bandwidth.as_ref(), "200MB/s")?,
        detection_delay: dur("cluster.detection_delay", c.detection_delay.as_ref(), "2s")?,
        spare_start: dur("cluster.spare_start", c.spare_start.as_ref(), "1s")?,
        restart_delay: dur("cluster.restart_delay", c.restart_delay.as_ref(), "10s")?,
    };

    let workload = match trace {
        Some(t) => traced_workload(&w, t, duration)?,
        None => generated_workload(&w, duration, nodes)?,
    };

    let kind_text = j
        .kind
        .as_ref()
        .ok_or_else(|| FieldError::new("job.kind", "is required: \"running-count\" or \"window-count\""))?;
    let kind = match choice("job.kind", Some(kind_text), "", &["running-count", "window-count"])? {
        "running-count" => JobKind::RunningCount,
        _ => JobKind::WindowCount,
    };
    let sink = match choice(
        "job.sink",
        j.sink.as_ref(),
        "append",
        &["append", "idempotent", "transactional"],
    )? {
        "append" => SinkMode::Append,
        "idempotent" => SinkMode::Idempotent,
        _ => SinkMode::Transactional,
    };
    let length = pos_dur("job.window", j.window.as_ref(), "10s")?;
    let slide = match &j.slide {
        Some(s) => pos_dur("job.slide", Some(s), "")?,
        None => length,
    };
    if slide > length || length.as_nanos() % slide.as_nanos() != 0 {
        return Err(FieldError::new(
            "job.slide",
            format!("{slide} must divide job.window ({length}) and be no longer than it"),
        )
        .into());
    }
    if length.as_nanos() / slide.as_nanos() > 100 {
        return Err(FieldError::new(
            "job.slide",
            "a record may fall in at most 100 windows: make the slide longer",
        )
        .into());
    }
    let job = JobSpec {
        kind,
        sink,
        parse_cost: dur("job.parse_cost", j.parse_cost.as_ref(), "2us")?,
        map_cost: dur("job.map_cost", j.map_cost.as_ref(), "1us")?,
        filter_keep: float_in("job.filter_keep", j.filter_keep, 1.0, 0.0, 1.0)?,
        state_cost: dur("job.state_cost", j.state_cost.as_ref(), "2us")?,
        state_bytes_per_key: int_in("job.state_bytes_per_key", j.state_bytes_per_key, 64, 0, 1 << 30)? as u64,
        parallelism: int_in(
            "job.parallelism",
            j.parallelism,
            i64::from(nodes),
            1,
            i64::from(limits::MAX_PARALLELISM),
        )? as u32,
        window: WindowSpec {
            length,
            slide,
            allowed_lateness: dur("job.allowed_lateness", j.allowed_lateness.as_ref(), "0s")?,
        },
        max_out_of_orderness: dur("job.max_out_of_orderness", j.max_out_of_orderness.as_ref(), "500ms")?,
    };

    if let Some(t) = &workload.trace
        && job.kind == JobKind::WindowCount
        && let Some(p) = (0..t.partitions()).find(|&p| t.len(p) == 0)
    {
        return Err(FieldError::new(
            "workload.partitions",
            format!(
                "partition {p} of {} gets no record of the trace (its keys go to the others), so its watermark would never move and no window would fire: use fewer partitions, or give the trace a partition column",
                t.partitions()
            ),
        )
        .into());
    }

    let channels = u64::from(workload.partitions) * u64::from(job.parallelism);
    if channels > limits::MAX_CHANNELS {
        return Err(FieldError::new(
            "job.parallelism",
            format!(
                "workload.partitions × job.parallelism = {} × {} = {channels} channels is past the limit of {}; lower either",
                workload.partitions,
                job.parallelism,
                limits::MAX_CHANNELS
            ),
        )
        .into());
    }

    let mut faults = Vec::new();
    for (i, f) in raw.faults.unwrap_or_default().iter().enumerate() {
        faults.push(fault(i, f, &cluster, duration, &run_length)?);
    }
    check_straggler_overlap(&faults)?;
    faults.sort_by_key(Fault::at);

    Ok(Scenario {
        file: path.to_path_buf(),
        run,
        cluster,
        workload,
        job,
        engines: Default::default(),
        planted: Default::default(),
        faults,
    })
}

/// `[workload]` for the generator.
fn generated_workload(w: &RawWorkload, duration: SimDuration, nodes: u32) -> R<WorkloadSpec> {
    let rate = w
        .rate
        .ok_or_else(|| FieldError::new("workload.rate", "is required: records per second, e.g. rate = 50000"))?;
    let rate = float_in("workload.rate", Some(rate), 0.0, 0.001, limits::MAX_RATE)?;
    if rate * duration.as_secs_f64() > limits::MAX_RECORDS {
        return Err(FieldError::new(
            "workload.rate",
            format!(
                "rate × run.duration = {:.0} records is past the limit of {:.0}; lower the rate or the duration",
                rate * duration.as_secs_f64(),
                limits::MAX_RECORDS
            ),
        ));
    }
    let profile = match choice(
        "workload.profile",
        w.profile.as_ref(),
        "constant",
        &["constant", "poisson", "bursty"],
    )? {
        "constant" => Profile::Constant,
        "poisson" => Profile::Poisson,
        _ => Profile::Bursty {
            period: pos_dur("workload.burst_period", w.burst_period.as_ref(), "10s")?,
            peak: float_in("workload.burst_peak", w.burst_peak, 3.0, 1.0, 1000.0)?,
            duty: float_in("workload.burst_duty", w.burst_duty, 0.2, 0.01, 1.0)?,
        },
    };
    let key_dist = match choice(
        "workload.key_dist",
        w.key_dist.as_ref(),
        "uniform",
        &["uniform", "zipf"],
    )? {
        "uniform" => KeyDist::Uniform,
        _ => KeyDist::Zipf(float_in("workload.zipf_exponent", w.zipf_exponent, 1.0, 0.01, 10.0)?),
    };
    let workload = WorkloadSpec {
        rate,
        partitions: int_in(
            "workload.partitions",
            w.partitions,
            i64::from(nodes),
            1,
            i64::from(limits::MAX_PARTITIONS),
        )? as u32,
        profile,
        keys: int_in("workload.keys", w.keys, 1000, 1, limits::MAX_KEYS as i64)? as u64,
        key_dist,
        record_bytes: int_in("workload.record_bytes", w.record_bytes, 100, 1, 1 << 20)? as u64,
        out_of_order: float_in("workload.out_of_order", w.out_of_order, 0.0, 0.0, 1.0)?,
        out_of_order_max: dur("workload.out_of_order_max", w.out_of_order_max.as_ref(), "500ms")?,
        trace: None,
    };
    let per_partition = rate * duration.as_secs_f64() / f64::from(workload.partitions);
    if per_partition > limits::MAX_PARTITION_RECORDS {
        return Err(FieldError::new(
            "workload.partitions",
            format!(
                "{} partitions would take {per_partition:.0} records each, past the limit of {:.0} per partition; use more partitions",
                workload.partitions,
                limits::MAX_PARTITION_RECORDS
            ),
        ));
    }
    Ok(workload)
}

/// Scans the trace `file` names (relative to the scenario file's folder) with the scenario's
/// replay settings: `given` is `run.duration` if the file gives it.
fn trace(
    path: &Path,
    file: &str,
    w: &RawWorkload,
    c: &RawCluster,
    given: Option<SimDuration>,
) -> Result<Trace, Refused> {
    let unused: [(&str, bool, &str); 10] = [
        ("rate", w.rate.is_some(), "the trace gives every record's arrival"),
        ("profile", w.profile.is_some(), "the trace gives every record's arrival"),
        (
            "burst_period",
            w.burst_period.is_some(),
            "the trace gives every record's arrival",
        ),
        (
            "burst_peak",
            w.burst_peak.is_some(),
            "the trace gives every record's arrival",
        ),
        (
            "burst_duty",
            w.burst_duty.is_some(),
            "the trace gives every record's arrival",
        ),
        ("keys", w.keys.is_some(), "the trace gives every record's key"),
        ("key_dist", w.key_dist.is_some(), "the trace gives every record's key"),
        (
            "zipf_exponent",
            w.zipf_exponent.is_some(),
            "the trace gives every record's key",
        ),
        (
            "out_of_order",
            w.out_of_order.is_some(),
            "the trace gives event times (its event_time_s column)",
        ),
        (
            "out_of_order_max",
            w.out_of_order_max.is_some(),
            "the trace gives event times (its event_time_s column)",
        ),
    ];
    if let Some((name, _, why)) = unused.iter().find(|u| u.1) {
        return Err(FieldError::new(
            format!("workload.{name}"),
            format!("is not used with workload.trace ({why}): remove it"),
        )
        .into());
    }
    if file.is_empty() {
        return Err(FieldError::new(
            "workload.trace",
            "is empty: name a CSV file, e.g. trace = \"traces/clicks.csv\"",
        )
        .into());
    }
    let (slow, fast) = limits::TRACE_SPEED;
    let speed = float_in("workload.trace_speed", w.trace_speed, 1.0, slow, fast)?;
    let nodes = int_in("cluster.nodes", c.nodes, 4, 1, i64::from(limits::MAX_NODES))?;
    let partitions = int_in(
        "workload.partitions",
        w.partitions,
        nodes,
        1,
        i64::from(limits::MAX_PARTITIONS),
    )? as u32;
    let bytes = record_bytes(w)?;
    let full = path.parent().unwrap_or(Path::new("")).join(file);
    match std::fs::metadata(&full) {
        Ok(m) if m.is_file() => {}
        Ok(_) => {
            return Err(FieldError::new("workload.trace", format!("{} is not a file", full.display())).into());
        }
        Err(e) => {
            return Err(FieldError::new("workload.trace", format!("cannot read {}: {e}", full.display())).into());
        }
    }
    let until = given.map(|d| SimTime(d.as_nanos()));
    let limit = SimTime(SimDuration::from_secs(limits::MAX_DURATION_S).as_nanos());
    Trace::scan(&full, speed, partitions, bytes, until, limit).map_err(|error| Refused::Trace { file: full, error })
}

/// `workload.record_bytes`.
fn record_bytes(w: &RawWorkload) -> R<u64> {
    Ok(int_in("workload.record_bytes", w.record_bytes, 100, 1, MAX_RECORD_BYTES as i64)? as u64)
}

/// `[workload]` for a replayed trace: what the generator's parameters would say, from the trace.
fn traced_workload(w: &RawWorkload, trace: Arc<Trace>, duration: SimDuration) -> R<WorkloadSpec> {
    let record_bytes = if trace.has_bytes() {
        trace.mean_bytes()
    } else {
        record_bytes(w)?
    };
    Ok(WorkloadSpec {
        // Rounded for reports: to the thousandth of a record per second.
        rate: ((trace.rows() as f64 / duration.as_secs_f64()) * 1000.0).round() / 1000.0,
        partitions: trace.partitions(),
        profile: Profile::Constant,
        keys: trace.keys(),
        key_dist: KeyDist::Uniform,
        record_bytes,
        out_of_order: 0.0,
        out_of_order_max: SimDuration::ZERO,
        trace: Some(trace),
    })
}

fn worker(field: &str, id: i64, cluster: &ClusterSpec) -> R<NodeId> {
    if id < 0 || id >= i64::from(cluster.nodes) {
        return Err(FieldError::new(
            field,
            format!(
                "node {id} does not exist: workers are 0 to {} (cluster.nodes = {}), or \"master\"",
                cluster.nodes - 1,
                cluster.nodes
            ),
        ));
    }
    Ok(NodeId(id as u32))
}

fn fault(i: usize, f: &RawFault, cluster: &ClusterSpec, duration: SimDuration, run_length: &str) -> R<Fault> {
    let p = |name: &str| format!("faults[{i}].{name}");
    let at_text =
        f.at.as_ref()
            .ok_or_else(|| FieldError::new(p("at"), "is required: when the fault happens, e.g. at = \"30s\""))?;
    let at = dur(&p("at"), Some(at_text), "")?;
    if at >= duration {
        return Err(FieldError::new(
            p("at"),
            format!("{at} is not inside the run: it must be before {run_length}"),
        ));
    }
    let at = SimTime(at.as_nanos());
    match (&f.crash, f.straggler) {
        (Some(target), None) => {
            if f.slowdown.is_some() || f.for_.is_some() {
                return Err(FieldError::new(
                    p("crash"),
                    "a crash takes no slowdown or for; those belong to a straggler",
                ));
            }
            let targets = match target {
                RawTarget::One(n) => vec![FaultTarget::Worker(worker(&p("crash"), *n, cluster)?)],
                RawTarget::Many(ns) if !ns.is_empty() => ns
                    .iter()
                    .map(|n| worker(&p("crash"), *n, cluster).map(FaultTarget::Worker))
                    .collect::<R<Vec<_>>>()?,
                RawTarget::Name(s) if s == "master" => vec![FaultTarget::Master],
                _ => {
                    return Err(FieldError::new(
                        p("crash"),
                        "must be a worker id, a list of worker ids, or \"master\"",
                    ));
                }
            };
            Ok(Fault::Crash { at, targets })
        }
        (None, Some(n)) => {
            let node = worker(&p("straggler"), n, cluster)?;
            let slowdown = f.slowdown.ok_or_else(|| {
                FieldError::new(
                    p("slowdown"),
                    "is required for a straggler: a factor from 1 to 1000000 (5.0 = five times slower)",
                )
            })?;
            let factor = float_in(&p("slowdown"), Some(slowdown), 0.0, 1.0, 1e6)?;
            let len = f.for_.as_ref().ok_or_else(|| {
                FieldError::new(
                    p("for"),
                    "is required for a straggler: how long it lasts, e.g. for = \"20s\"",
                )
            })?;
            let duration = pos_dur(&p("for"), Some(len), "")?;
            Ok(Fault::Straggler {
                at,
                node,
                factor,
                duration,
            })
        }
        _ => Err(FieldError::new(
            format!("faults[{i}]"),
            "must have exactly one of crash = NODE or straggler = NODE",
        )),
    }
}

/// Two straggler windows on one node may not overlap: the slowdown of a moment must be one factor.
fn check_straggler_overlap(faults: &[Fault]) -> R<()> {
    for (i, a) in faults.iter().enumerate() {
        for (j, b) in faults.iter().enumerate().skip(i + 1) {
            if let (
                Fault::Straggler {
                    at: a0,
                    node: na,
                    duration: da,
                    ..
                },
                Fault::Straggler {
                    at: b0,
                    node: nb,
                    duration: db,
                    ..
                },
            ) = (a, b)
                && na == nb
                && *a0 < *b0 + *db
                && *b0 < *a0 + *da
            {
                return Err(FieldError::new(
                    format!("faults[{j}]"),
                    format!(
                        "overlaps the straggler faults[{i}] on node {na}: one node may have one slowdown at a time"
                    ),
                ));
            }
        }
    }
    Ok(())
}
