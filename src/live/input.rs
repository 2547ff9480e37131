//! What a live session reads: the words of a client's line, each client's rate limit, and the
//! commands typed on standard input.

use ftsim_sim::SimDuration;
use ftsim_sim::trace::MAX_KEY_BYTES;
use std::time::Instant;

/// The words of one line: split at whitespace, each lowercased and stripped of the characters
/// that are neither letters nor digits at its two ends (`"Hello,"` → `hello`, `don't` stays
/// `don't`); what is left empty (`"--"`) is no word. A word longer than the trace's longest key
/// ([`MAX_KEY_BYTES`]) is cut at a character boundary to fit.
pub fn words(line: &str) -> Vec<String> {
    line.split_whitespace()
        .filter_map(|w| {
            let w = w.trim_matches(|c: char| !c.is_alphanumeric()).to_lowercase();
            if w.is_empty() {
                return None;
            }
            let mut end = w.len().min(MAX_KEY_BYTES);
            while !w.is_char_boundary(end) {
                end -= 1;
            }
            Some(w[..end].to_string())
        })
        .collect()
}

/// A client's allowance of words: a token bucket holding at most one second's worth, refilled
/// at `rate` words per second of wall-clock time.
#[derive(Debug)]
pub struct Bucket {
    rate: f64,
    tokens: f64,
    last: Instant,
}

impl Bucket {
    /// A full bucket of `rate` words per second.
    pub fn new(rate: u32, now: Instant) -> Bucket {
        Bucket {
            rate: f64::from(rate),
            tokens: f64::from(rate),
            last: now,
        }
    }
    /// Takes `n` words at `now`; false (and nothing taken) if the client is over its rate.
    pub fn take(&mut self, n: usize, now: Instant) -> bool {
        let dt = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + dt * self.rate).min(self.rate);
        if n as f64 > self.tokens {
            return false;
        }
        self.tokens -= n as f64;
        true
    }
}

/// A command typed on standard input.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Crash worker N now.
    Crash(u32),
    /// Slow worker `node` by `factor` for `length`, from now.
    Straggle {
        /// The worker.
        node: u32,
        /// How many times slower (1 to 1,000,000).
        factor: f64,
        /// For how long (simulated time).
        length: SimDuration,
    },
    /// Print the latest view now.
    Status,
    /// End the session.
    Quit,
}

/// What may be typed, for the one line a bad command prints.
pub const ALLOWED: &str = "allowed: crash N | straggle N xF DURATION (e.g. straggle 2 x4 10s) | status | quit";

/// Parses one typed line; `workers` is the cluster's worker count (ids 0 to workers − 1). `None`
/// for a blank line.
pub fn command(line: &str, workers: u32) -> Option<Result<Command, String>> {
    let parts: Vec<&str> = line.split_whitespace().collect();
    let first = parts.first()?;
    let node = |s: &str| -> Result<u32, String> {
        match s.parse::<u32>() {
            Ok(n) if n < workers => Ok(n),
            _ => Err(format!("\"{s}\" is not a worker: the workers are 0 to {}", workers - 1)),
        }
    };
    let parsed = match (first.to_ascii_lowercase().as_str(), &parts[1..]) {
        ("crash", [n]) => node(n).map(Command::Crash),
        ("straggle", [n, f, d]) => (|| {
            let node = node(n)?;
            let factor = f
                .strip_prefix(['x', 'X'])
                .unwrap_or(f)
                .parse::<f64>()
                .ok()
                .filter(|x| (1.0..=1e6).contains(x))
                .ok_or_else(|| format!("\"{f}\" is not a slowdown: write x and a factor from 1 to 1000000, e.g. x4"))?;
            let length = ftsim_sim::units::parse_duration(d)?;
            if length == SimDuration::ZERO {
                return Err(format!("\"{d}\": a straggle must last longer than zero"));
            }
            Ok(Command::Straggle { node, factor, length })
        })(),
        ("status", []) => Ok(Command::Status),
        ("quit" | "exit", []) => Ok(Command::Quit),
        _ => Err(format!("unknown command \"{}\"", line.trim())),
    };
    Some(parsed.map_err(|e| format!("{e}; {ALLOWED}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_lowercased_and_stripped_of_surrounding_punctuation() {
        assert_eq!(
            words("  Hello, World!  don't -- (Rust)\t42\r"),
            ["hello", "world", "don't", "rust", "42"]
        );
    }

    #[test]
    fn a_bucket_refuses_words_past_its_rate_and_refills_with_time() {
        let t0 = Instant::now();
        let mut b = Bucket::new(10, t0);
        assert!(b.take(10, t0));
        assert!(!b.take(1, t0));
        assert!(b.take(5, t0 + std::time::Duration::from_millis(500)));
    }

    #[test]
    fn commands_parse_and_bad_ones_name_what_is_allowed() {
        assert_eq!(command("crash 2", 4), Some(Ok(Command::Crash(2))));
        assert_eq!(
            command("straggle 1 x4 10s", 4),
            Some(Ok(Command::Straggle {
                node: 1,
                factor: 4.0,
                length: SimDuration::from_secs(10)
            }))
        );
        assert_eq!(command("  ", 4), None);
        let bad = command("crash 4", 4).and_then(Result::err).unwrap_or_default();
        assert!(bad.contains("0 to 3") && bad.contains("allowed:"), "{bad}");
        let bad = command("fly", 4).and_then(Result::err).unwrap_or_default();
        assert!(bad.contains("allowed:"), "{bad}");
    }
}
