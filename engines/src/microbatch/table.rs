//! `batches.csv`: one row per batch with Spark's per-batch figures, and its chart.
//!
//! scheduling delay = first task launch − batch time (includes logging the allocation);
//! processing time = last reduce done − first task launch.

use super::{MicroBatch, Policy};
use ftsim_sim::{Cell, Table, TableChart};

impl<P: Policy> MicroBatch<P> {
    /// The per-batch table.
    pub(crate) fn batch_table(&self) -> Vec<Table> {
        let rows = self
            .batches
            .values()
            .filter_map(|b| {
                let (sub, start, done) = (b.submitted?, b.started?, b.done?);
                Some(vec![
                    Cell::Int(b.n),
                    Cell::secs(Some(b.time)),
                    Cell::secs(Some(sub)),
                    Cell::secs(Some(start)),
                    Cell::secs(Some(done)),
                    Cell::Num(start.since(b.time).as_secs_f64()),
                    Cell::Num(done.since(start).as_secs_f64()),
                    Cell::Int(b.records),
                ])
            })
            .collect();
        let columns = [
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
            rows,
            charts: vec![TableChart {
                file: "batches".into(),
                title: "Per-batch scheduling delay and processing time".into(),
                x: "batch_time_s".into(),
                ys: vec!["scheduling_delay_s".into(), "processing_time_s".into()],
                y_label: "seconds".into(),
            }],
            ..Table::new("batches", &columns)
        }]
    }
}
