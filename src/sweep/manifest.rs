//! `sweep.toml`: what a sweep is (the scenario's text hash, `--set`, `--engine`, the varied
//! values and the number of seeds), which shard of it a directory holds, and what follows from
//! them: the points, each point's seeds and the name of each run's directory. A merge accepts
//! directories whose manifests agree on everything but the shard.

use super::spec::{Shard, Vary};
use std::fmt::Write;

/// The most runs (points × seeds) a sweep may have.
pub const MAX_RUNS: usize = 1_000_000;

/// A sweep and the shard of it that a directory holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    /// The ftsim version that ran it.
    pub ftsim: String,
    /// The scenario file as given (for people; the hash is what is compared).
    pub scenario: String,
    /// [`text_hash`] of the scenario file.
    pub scenario_hash: String,
    /// The scenario's run.name (of the first point), for default directory names.
    pub name: String,
    /// `--set` arguments, in order.
    pub sets: Vec<String>,
    /// `--engine` arguments (empty: the scenario's engines).
    pub engines: Vec<String>,
    /// `--vary` arguments, the first outermost.
    pub varies: Vec<Vary>,
    /// `--seeds`: seeds per point.
    pub seeds: u64,
    /// Each point's run.seed: its runs use that seed and the next `seeds − 1`.
    pub base_seeds: Vec<u64>,
    /// What is charted (`--metric`).
    pub metric: String,
    /// The runs this directory holds.
    pub shard: Shard,
}

/// One run of a sweep: point `point` with seed `seed`, number `index` in sweep order (point
/// order, then seed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunId {
    /// Index in the sweep.
    pub index: usize,
    /// The point's index.
    pub point: usize,
    /// The seed.
    pub seed: u64,
}

impl RunId {
    /// The run's directory under `runs/`.
    pub fn dir_name(&self) -> String {
        format!("p{:05}-seed{}", self.point, self.seed)
    }
}

impl Manifest {
    /// Points: the product of the numbers of varied values.
    pub fn points(&self) -> usize {
        self.varies.iter().map(|v| v.values.len()).product()
    }

    /// Runs: points × seeds.
    pub fn runs(&self) -> usize {
        self.points() * self.seeds as usize
    }

    /// Run `i` of the sweep.
    pub fn run(&self, index: usize) -> RunId {
        let per = self.seeds as usize;
        let point = index / per;
        RunId {
            index,
            point,
            seed: self.base_seeds[point] + (index % per) as u64,
        }
    }

    /// The runs this directory's shard holds, in sweep order.
    pub fn shard_runs(&self) -> Vec<RunId> {
        (0..self.runs())
            .filter(|&i| self.shard.holds(i))
            .map(|i| self.run(i))
            .collect()
    }

    /// The values of point `p`, one per `--vary` (the first varies slowest).
    pub fn values(&self, p: usize) -> Vec<&str> {
        let mut rest = p;
        let mut out: Vec<&str> = self
            .varies
            .iter()
            .rev()
            .map(|v| {
                let i = rest % v.values.len();
                rest /= v.values.len();
                v.values[i].as_str()
            })
            .collect();
        out.reverse();
        out
    }

    /// The `--set` arguments that make point `p`: the sweep's own, then one per varied path.
    pub fn point_sets(&self, p: usize) -> Vec<String> {
        let mut sets = self.sets.clone();
        for (v, value) in self.varies.iter().zip(self.values(p)) {
            sets.push(format!("{}={value}", v.path));
        }
        sets
    }

    /// `path=value, ...` of point `p`, for messages.
    pub fn describe(&self, p: usize) -> String {
        self.varies
            .iter()
            .zip(self.values(p))
            .map(|(v, value)| format!("{}={value}", v.path))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The first thing that makes `other` a different sweep (the shard, the metric and what
    /// follows from the compared fields aside): its name and both values.
    pub fn difference(&self, other: &Manifest) -> Option<(&'static str, String, String)> {
        let show = |v: &[Vary]| v.iter().map(ToString::to_string).collect::<Vec<_>>().join(" ");
        let scenario = |m: &Manifest| format!("{} {}", m.scenario, m.scenario_hash);
        let fields = [
            (
                "ftsim versions",
                self.ftsim != other.ftsim,
                self.ftsim.clone(),
                other.ftsim.clone(),
            ),
            (
                "scenario texts",
                self.scenario_hash != other.scenario_hash,
                scenario(self),
                scenario(other),
            ),
            (
                "--set arguments",
                self.sets != other.sets,
                self.sets.join(" "),
                other.sets.join(" "),
            ),
            (
                "--engine arguments",
                self.engines != other.engines,
                self.engines.join(" "),
                other.engines.join(" "),
            ),
            (
                "--vary arguments",
                self.varies != other.varies,
                show(&self.varies),
                show(&other.varies),
            ),
            (
                "--seeds",
                self.seeds != other.seeds,
                self.seeds.to_string(),
                other.seeds.to_string(),
            ),
        ];
        fields.into_iter().find(|f| f.1).map(|(what, _, a, b)| (what, a, b))
    }

    /// The manifest as TOML.
    pub fn to_toml(&self) -> String {
        let mut s = String::from("# An ftsim sweep: what it runs and which of its runs this directory holds.\n");
        let _ = writeln!(s, "ftsim = {}", string(&self.ftsim));
        let _ = writeln!(s, "scenario = {}", string(&self.scenario));
        let _ = writeln!(s, "scenario_hash = {}", string(&self.scenario_hash));
        let _ = writeln!(s, "name = {}", string(&self.name));
        let _ = writeln!(s, "sets = {}", strings(&self.sets));
        let _ = writeln!(s, "engines = {}", strings(&self.engines));
        let _ = writeln!(s, "seeds = {}", self.seeds);
        let seeds: Vec<String> = self.base_seeds.iter().map(|x| string(&x.to_string())).collect();
        let _ = writeln!(s, "base_seeds = [{}]", seeds.join(", "));
        let _ = writeln!(s, "metric = {}", string(&self.metric));
        let _ = writeln!(s, "shard = {}", string(&self.shard.to_string()));
        for v in &self.varies {
            let _ = writeln!(
                s,
                "\n[[vary]]\npath = {}\nvalues = {}",
                string(&v.path),
                strings(&v.values)
            );
        }
        s
    }

    /// Reads a manifest written by [`Manifest::to_toml`]; the error says what is wrong.
    pub fn parse(text: &str) -> Result<Manifest, String> {
        let t: toml::Table = toml::from_str(text).map_err(|e| format!("not valid TOML: {}", e.message()))?;
        let varies = match t.get("vary") {
            Some(toml::Value::Array(a)) => a
                .iter()
                .map(|v| {
                    let v = v.as_table().ok_or("vary: not a table")?;
                    Ok(Vary {
                        path: text_field(v, "path")?,
                        values: list_field(v, "values")?,
                    })
                })
                .collect::<Result<Vec<_>, String>>()?,
            _ => return Err("vary: missing".into()),
        };
        let m = Manifest {
            ftsim: text_field(&t, "ftsim")?,
            scenario: text_field(&t, "scenario")?,
            scenario_hash: text_field(&t, "scenario_hash")?,
            name: text_field(&t, "name")?,
            sets: list_field(&t, "sets")?,
            engines: list_field(&t, "engines")?,
            varies,
            seeds: number_field(&t, "seeds")?,
            base_seeds: list_field(&t, "base_seeds")?
                .iter()
                .map(|s| {
                    s.parse::<u64>()
                        .map_err(|_| "base_seeds: not whole numbers".to_string())
                })
                .collect::<Result<_, _>>()?,
            metric: text_field(&t, "metric")?,
            shard: Shard::parse(&text_field(&t, "shard")?).map_err(|e| format!("shard: {e}"))?,
        };
        let points = m
            .varies
            .iter()
            .try_fold(1usize, |n, v| n.checked_mul(v.values.len()))
            .filter(|&n| n > 0)
            .ok_or("vary: no values")?;
        let runs = points.saturating_mul(m.seeds as usize);
        if m.seeds == 0 || runs > MAX_RUNS {
            return Err(format!(
                "seeds: {} with {points} points is not a sweep ftsim runs",
                m.seeds
            ));
        }
        if m.base_seeds.len() != points {
            return Err(format!("base_seeds: {} given for {points} points", m.base_seeds.len()));
        }
        if m.base_seeds.iter().any(|b| b.checked_add(m.seeds - 1).is_none()) {
            return Err("base_seeds: a point's seeds pass the largest seed".into());
        }
        Ok(m)
    }
}

/// A TOML string.
pub(super) fn string(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

/// A TOML array of strings.
pub(super) fn strings(xs: &[String]) -> String {
    let parts: Vec<String> = xs.iter().map(|x| string(x)).collect();
    format!("[{}]", parts.join(", "))
}

/// String field `key` of `t`.
pub(super) fn text_field(t: &toml::Table, key: &str) -> Result<String, String> {
    t.get(key)
        .and_then(toml::Value::as_str)
        .map(String::from)
        .ok_or_else(|| format!("{key}: missing or not a string"))
}

/// Integer field `key` of `t`.
pub(super) fn number_field(t: &toml::Table, key: &str) -> Result<u64, String> {
    t.get(key)
        .and_then(toml::Value::as_integer)
        .and_then(|n| u64::try_from(n).ok())
        .ok_or_else(|| format!("{key}: missing or not a whole number"))
}

/// Array-of-strings field `key` of `t`.
pub(super) fn list_field(t: &toml::Table, key: &str) -> Result<Vec<String>, String> {
    let bad = || format!("{key}: missing or not a list of strings");
    t.get(key)
        .and_then(toml::Value::as_array)
        .ok_or_else(bad)?
        .iter()
        .map(|v| v.as_str().map(String::from).ok_or_else(bad))
        .collect()
}

/// The FNV-1a 64-bit hash of a scenario file's bytes, as `fnv1a64:` and 16 hex digits: enough
/// to tell whether two shards ran the same text (not a defence against forgery).
pub fn text_hash(bytes: &[u8]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("fnv1a64:{h:016x}")
}
