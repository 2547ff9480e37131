//! The sweep's own flags: `--vary path=v1,v2,...` and `--shard I/N`, parsed on the command line
//! (a malformed one is refused there with what is allowed).

use std::fmt;

/// One `--vary path=v1,v2,...`: a scenario field and the values it takes, in the order given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vary {
    /// The field, as `--set` addresses it (`cluster.nodes`, `faults.0.at`).
    pub path: String,
    /// Its values, as `--set` reads them (`4`, `10s`, `[1, 2]`).
    pub values: Vec<String>,
}

impl Vary {
    /// Parses `path=v1,v2,...`. Values are split at commas outside brackets, braces and quotes,
    /// so `faults.0.crash=[1,2],3` has the values `[1,2]` and `3`.
    pub fn parse(arg: &str) -> Result<Vary, String> {
        let usage = "write path=v1,v2,..., e.g. --vary cluster.nodes=4,8,16";
        let (path, values) = arg
            .split_once('=')
            .ok_or_else(|| format!("expected path=values: {usage}"))?;
        let path = path.trim();
        if path.is_empty() {
            return Err(format!("the path is empty: {usage}"));
        }
        let values = split_values(values).ok_or_else(|| "a bracket or quote is not closed".to_string())?;
        let mut seen: Vec<&str> = Vec::new();
        for (i, v) in values.iter().enumerate() {
            if v.is_empty() {
                return Err(format!("value {} is empty: {usage}", i + 1));
            }
            if seen.contains(&v.as_str()) {
                return Err(format!("the value {v} is given twice; give each value once"));
            }
            seen.push(v);
        }
        Ok(Vary {
            path: path.to_string(),
            values,
        })
    }

    /// The `--set` argument that gives the field its value number `i`.
    pub fn set(&self, i: usize) -> String {
        format!("{}={}", self.path, self.values[i])
    }
}

impl fmt::Display for Vary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}", self.path, self.values.join(","))
    }
}

/// Splits at commas outside `[]`, `{}` and quotes, trimming each part; `None` if a bracket or
/// quote is left open.
fn split_values(s: &str) -> Option<Vec<String>> {
    let mut parts = Vec::new();
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    let mut cur = String::new();
    for c in s.chars() {
        match (quote, c) {
            (Some(q), _) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '[' | '{') => depth += 1,
            (None, ']' | '}') => depth = depth.checked_sub(1)?,
            (None, ',') if depth == 0 => {
                parts.push(cur.trim().to_string());
                cur.clear();
                continue;
            }
            _ => {}
        }
        cur.push(c);
    }
    if depth != 0 || quote.is_some() {
        return None;
    }
    parts.push(cur.trim().to_string());
    Some(parts)
}

/// `--shard I/N`: the runs whose index i has i % N = I.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// I, from 0 to N − 1.
    pub index: usize,
    /// N, at least 1.
    pub count: usize,
}

impl Shard {
    /// The whole sweep: shard 0 of 1.
    pub const WHOLE: Shard = Shard { index: 0, count: 1 };

    /// Parses `I/N` with 0 ≤ I < N.
    pub fn parse(s: &str) -> Result<Shard, String> {
        let usage = "write I/N with 0 ≤ I < N, e.g. 0/4 for the first of four shards";
        let (i, n) = s.split_once('/').ok_or_else(|| format!("not I/N: {usage}"))?;
        let num = |x: &str| x.trim().parse::<usize>().ok();
        let (Some(index), Some(count)) = (num(i), num(n)) else {
            return Err(format!("not two whole numbers: {usage}"));
        };
        if count == 0 || index >= count {
            return Err(format!("shard {index} of {count} does not exist: {usage}"));
        }
        Ok(Shard { index, count })
    }

    /// Whether run `i` is this shard's.
    pub fn holds(&self, i: usize) -> bool {
        i % self.count == self.index
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}
