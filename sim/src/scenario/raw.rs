//! The scenario file exactly as written: every field optional, unknown fields refused. The loader
//! ([`super::resolve`]) turns it into the typed [`super::Scenario`], filling in documented defaults
//! and checking every range, so nothing downstream sees a raw string or a missing value.

use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawScenario {
    pub run: Option<RawRun>,
    pub cluster: Option<RawCluster>,
    pub workload: Option<RawWorkload>,
    pub job: Option<RawJob>,
    pub engines: Option<BTreeMap<String, toml::Table>>,
    pub faults: Option<Vec<RawFault>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRun {
    pub name: Option<String>,
    pub seed: Option<u64>,
    pub duration: Option<String>,
    pub warmup: Option<String>,
    pub bucket: Option<String>,
    pub drain: Option<String>,
    pub engines: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawCluster {
    pub nodes: Option<i64>,
    pub cores: Option<i64>,
    pub spares: Option<i64>,
    pub network_latency: Option<String>,
    pub bandwidth: Option<String>,
    pub storage_latency: Option<String>,
    pub storage_bandwidth: Option<String>,
    pub detection_delay: Option<String>,
    pub spare_start: Option<String>,
    pub restart_delay: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawWorkload {
    pub rate: Option<f64>,
    pub partitions: Option<i64>,
    pub profile: Option<String>,
    pub burst_period: Option<String>,
    pub burst_peak: Option<f64>,
    pub burst_duty: Option<f64>,
    pub keys: Option<i64>,
    pub key_dist: Option<String>,
    pub zipf_exponent: Option<f64>,
    pub record_bytes: Option<i64>,
    pub out_of_order: Option<f64>,
    pub out_of_order_max: Option<String>,
    pub trace: Option<String>,
    pub trace_speed: Option<f64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawJob {
    pub kind: Option<String>,
    pub sink: Option<String>,
    pub parse_cost: Option<String>,
    pub map_cost: Option<String>,
    pub filter_keep: Option<f64>,
    pub state_cost: Option<String>,
    pub state_bytes_per_key: Option<i64>,
    pub parallelism: Option<i64>,
    pub window: Option<String>,
    pub slide: Option<String>,
    pub allowed_lateness: Option<String>,
    pub max_out_of_orderness: Option<String>,
}

/// A node named in a fault: a worker id, a list of them, or `"master"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub(crate) enum RawTarget {
    One(i64),
    Many(Vec<i64>),
    Name(String),
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawFault {
    pub at: Option<String>,
    pub crash: Option<RawTarget>,
    pub straggler: Option<i64>,
    pub slowdown: Option<f64>,
    #[serde(rename = "for")]
    pub for_: Option<String>,
}
