//! `batches.csv`: one row per batch with Spark's per-batch figures, and its chart.
//!
//! scheduling delay = first task launch − batch time (includes logging the allocation);
//! processing time = last reduce done − first task launch.

use super::MicroBatch;
use ftsim_sim::{SimTime, Table, TableChart};

fn s(t: SimTime) -> String {
    format!("{:.3}", t.as_secs_f64())
}

impl MicroBatch {
    /// The per-batch table.
    pub(crate) fn batch_table(&self) -> Vec<Table> {
        let rows = self
            .batches
            .values()
            .filter_map(|b| {
                let (sub, start, done) = (b.submitted?, b.started?, b.done?);
                Some(vec![
                    b.n.to_string(),
                    s(b.time),
                    s(sub),
                    s(start),
                    s(done),
                    format!("{:.3}", start.since(b.time).as_secs_f64()),
                    format!("{:.3}", done.since(start).as_secs_f64()),
                    b.records.to_string(),
                ])
            })
            .collect();
        let header = [
            "batch",
            "batch_time_s",
            "submitted_s",
            "started_s",
            "done_s",
            "scheduling_delay_s",
            "processing_time_s",
            "records",
        ];
        vec![Table {
            name: "batches".into(),
            header: header.iter().map(|h| h.to_string()).collect(),
            rows,
            charts: vec![TableChart {
                file: "batches".into(),
                title: "Per-batch scheduling delay and processing time".into(),
                x: "batch_time_s".into(),
                ys: vec!["scheduling_delay_s".into(), "processing_time_s".into()],
                y_label: "seconds".into(),
            }],
        }]
    }
}
