//! The checkpoint coordinator (JobManager): checkpoint ids, the one checkpoint in flight, the
//! last completed checkpoint, and the statistics table.
//!
//! Invariants: at most one checkpoint is pending (Flink's maxConcurrentCheckpoints = 1); a
//! checkpoint completes once every source and stateful task acknowledged it, and only then
//! becomes the one a restart restores; ids only grow, across restarts too (Flink keeps its
//! checkpoint-id counter in the HA store), so a sink transaction id is never reused.

use ftsim_sim::engine::{Cell, Table, TableChart};
use ftsim_sim::{OperatorState, Record, SimTime};

/// A buffer kept in a checkpoint: `(channel sender partition, records, watermark)`.
pub type Kept = (u32, Vec<Record>, SimTime);

/// A checkpoint being taken.
#[derive(Debug)]
pub struct Pending {
    /// Id.
    pub id: u64,
    /// Trigger time.
    pub start: SimTime,
    /// Source offsets, as each source took its snapshot.
    pub offsets: Vec<Option<u64>>,
    /// Stateful tasks' snapshots.
    pub states: Vec<Option<OperatorState>>,
    /// In-flight buffers each stateful task kept (unaligned), in arrival order.
    pub inflight: Vec<Vec<Kept>>,
    /// Output buffers the sources' barriers overtook, per receiving task.
    pub src_inflight: Vec<Vec<Kept>>,
    /// Who has acknowledged.
    pub acks: usize,
    /// Longest time a task had inputs blocked.
    pub alignment: f64,
    /// Bytes of operator state and offsets.
    pub state_bytes: u64,
    /// Bytes of in-flight buffers.
    pub inflight_bytes: u64,
    /// Triggered once the input was fully processed (the final checkpoint).
    pub last: bool,
}

/// The checkpoint a restart restores.
#[derive(Debug, Clone)]
pub struct Completed {
    /// Id.
    pub id: u64,
    /// Source offsets.
    pub offsets: Vec<u64>,
    /// Stateful tasks' states.
    pub states: Vec<OperatorState>,
    /// In-flight buffers to replay into each task before new input.
    pub inflight: Vec<Vec<Kept>>,
    /// Whether it was the final checkpoint.
    pub last: bool,
}

/// The coordinator.
#[derive(Debug, Default)]
pub struct Coordinator {
    /// Next checkpoint id.
    pub next_id: u64,
    /// The checkpoint in flight.
    pub pending: Option<Pending>,
    /// The last completed checkpoint.
    pub completed: Option<Completed>,
    /// The one before it (kept only to plant a bug that restores from it).
    pub previous: Option<Completed>,
    /// Trigger time of the last checkpoint.
    pub last_start: Option<SimTime>,
    /// Generation of the trigger timer (stale timers are ignored).
    pub generation: u32,
    rows: Vec<Vec<Cell>>,
}

impl Coordinator {
    /// A coordinator whose first checkpoint is id 1.
    pub fn new() -> Coordinator {
        Coordinator {
            next_id: 1,
            ..Coordinator::default()
        }
    }

    /// Starts checkpoint `next_id` for `sources` sources and `tasks` stateful tasks.
    pub fn begin(&mut self, now: SimTime, sources: usize, tasks: usize, last: bool) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        self.last_start = Some(now);
        self.pending = Some(Pending {
            id,
            start: now,
            offsets: vec![None; sources],
            states: vec![None; tasks],
            inflight: vec![Vec::new(); tasks],
            src_inflight: vec![Vec::new(); tasks],
            acks: 0,
            alignment: 0.0,
            state_bytes: 0,
            inflight_bytes: 0,
            last,
        });
        id
    }

    /// The pending checkpoint if its id is `id`.
    pub fn pending_mut(&mut self, id: u64) -> Option<&mut Pending> {
        self.pending.as_mut().filter(|p| p.id == id)
    }

    /// Counts an acknowledgement; returns the checkpoint if it is now complete.
    pub fn ack(&mut self, id: u64, now: SimTime, needed: usize) -> Option<Completed> {
        let p = self.pending_mut(id)?;
        p.acks += 1;
        if p.acks < needed {
            return None;
        }
        let p = self.pending.take()?;
        let done = Completed {
            id: p.id,
            offsets: p.offsets.iter().map(|o| o.unwrap_or(0)).collect(),
            states: p.states.into_iter().flatten().collect(),
            inflight: p
                .inflight
                .into_iter()
                .zip(p.src_inflight)
                .map(|(mut task_side, src_side)| {
                    task_side.extend(src_side);
                    task_side
                })
                .collect(),
            last: p.last,
        };
        self.rows.push(row(
            p.id,
            p.start,
            Some(now),
            p.alignment,
            p.state_bytes,
            p.inflight_bytes,
            "completed",
        ));
        self.previous = self.completed.replace(done.clone());
        Some(done)
    }

    /// Drops the pending checkpoint (a failure); returns its id.
    pub fn abort(&mut self) -> Option<u64> {
        let p = self.pending.take()?;
        self.rows.push(row(
            p.id,
            p.start,
            None,
            p.alignment,
            p.state_bytes,
            p.inflight_bytes,
            "aborted",
        ));
        Some(p.id)
    }

    /// checkpoints.csv with its charts.
    pub fn table(&self) -> Table {
        let chart = |file: &str, title: &str, ys: &[&str], y_label: &str| TableChart {
            file: file.into(),
            title: title.into(),
            x: "start_s".into(),
            ys: ys.iter().map(|s| s.to_string()).collect(),
            y_label: y_label.into(),
        };
        let columns = [
            "id",
            "start_s",
            "end_s",
            "duration_s",
            "alignment_s",
            "state_bytes",
            "inflight_bytes",
            "status",
        ];
        Table {
            rows: self.rows.clone(),
            charts: vec![
                chart(
                    "checkpoint_duration",
                    "checkpoint duration and alignment time",
                    &["duration_s", "alignment_s"],
                    "seconds",
                ),
                chart(
                    "checkpoint_size",
                    "checkpoint size: operator state and in-flight buffers",
                    &["state_bytes", "inflight_bytes"],
                    "bytes",
                ),
            ],
            ..Table::new("checkpoints", &columns)
        }
    }
}

fn row(
    id: u64,
    start: SimTime,
    end: Option<SimTime>,
    alignment: f64,
    state: u64,
    inflight: u64,
    status: &'static str,
) -> Vec<Cell> {
    vec![
        Cell::Int(id),
        Cell::secs(Some(start)),
        Cell::secs(end),
        end.map_or(Cell::Empty, |e| Cell::Num(e.since(start).as_secs_f64())),
        Cell::Num(alignment),
        Cell::Int(state),
        Cell::Int(inflight),
        Cell::Text(status),
    ]
}
