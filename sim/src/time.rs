//! Simulated time: integer nanoseconds, never floating point, never the wall clock.
//!
//! [`SimTime`] is an instant since the start of the run; [`SimDuration`] is a span. Arithmetic
//! saturates instead of wrapping, so a huge timeout can never make an event run in the past.

use std::fmt;
use std::ops::{Add, AddAssign, Sub};

/// An instant of simulated time, in nanoseconds since the start of the run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SimTime(pub u64);

/// A span of simulated time, in nanoseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SimDuration(pub u64);

impl SimTime {
    /// The start of every run.
    pub const ZERO: SimTime = SimTime(0);
    /// A time later than any run can reach.
    pub const MAX: SimTime = SimTime(u64::MAX);

    /// Seconds since the start, for reports only (never for decisions).
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / 1e9
    }
    /// The span from `earlier` to `self`, zero if `earlier` is later.
    pub fn since(self, earlier: SimTime) -> SimDuration {
        SimDuration(self.0.saturating_sub(earlier.0))
    }
}

impl SimDuration {
    /// No time at all.
    pub const ZERO: SimDuration = SimDuration(0);
    /// One nanosecond.
    pub const fn from_nanos(ns: u64) -> Self {
        SimDuration(ns)
    }
    /// Whole microseconds.
    pub const fn from_micros(us: u64) -> Self {
        SimDuration(us.saturating_mul(1_000))
    }
    /// Whole milliseconds.
    pub const fn from_millis(ms: u64) -> Self {
        SimDuration(ms.saturating_mul(1_000_000))
    }
    /// Whole seconds.
    pub const fn from_secs(s: u64) -> Self {
        SimDuration(s.saturating_mul(1_000_000_000))
    }
    /// Nanoseconds.
    pub const fn as_nanos(self) -> u64 {
        self.0
    }
    /// Seconds, for reports only.
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / 1e9
    }
    /// Milliseconds, for reports only.
    pub fn as_millis_f64(self) -> f64 {
        self.0 as f64 / 1e6
    }
    /// This span multiplied by a whole number, saturating.
    #[allow(clippy::should_implement_trait)] // saturating, unlike `*`; kept as a named method
    pub fn mul(self, k: u64) -> SimDuration {
        SimDuration(self.0.saturating_mul(k))
    }
    /// This span scaled by a positive factor, rounded to the nearest nanosecond.
    pub fn scale(self, f: f64) -> SimDuration {
        SimDuration(round_ns(self.0 as f64 * f))
    }
}

/// `x` nanoseconds rounded to the nearest whole one, half away from zero: exactly
/// `x.round() as u64` (0 for a negative `x` or NaN, saturating above `u64::MAX`), without the
/// library call `f64::round` costs on the baseline x86-64 target (it is on every record's
/// arrival and every transmission). The fraction `x - trunc(x)` of a double is exact, so the
/// comparison with one half decides exactly as rounding does.
#[inline]
pub fn round_ns(x: f64) -> u64 {
    let whole = x as u64;
    if x - whole as f64 >= 0.5 {
        whole.saturating_add(1)
    } else {
        whole
    }
}

impl Add<SimDuration> for SimTime {
    type Output = SimTime;
    fn add(self, d: SimDuration) -> SimTime {
        SimTime(self.0.saturating_add(d.0))
    }
}
impl AddAssign<SimDuration> for SimTime {
    fn add_assign(&mut self, d: SimDuration) {
        *self = *self + d;
    }
}
impl Sub<SimDuration> for SimTime {
    type Output = SimTime;
    fn sub(self, d: SimDuration) -> SimTime {
        SimTime(self.0.saturating_sub(d.0))
    }
}
impl Add for SimDuration {
    type Output = SimDuration;
    fn add(self, d: SimDuration) -> SimDuration {
        SimDuration(self.0.saturating_add(d.0))
    }
}
impl AddAssign for SimDuration {
    fn add_assign(&mut self, d: SimDuration) {
        *self = *self + d;
    }
}

impl fmt::Display for SimTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:.3}s", self.as_secs_f64())
    }
}
impl fmt::Display for SimDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt_duration(*self, f)
    }
}

/// Writes a duration in the unit that reads best ("250ms", "30s", "1.5us").
fn fmt_duration(d: SimDuration, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    let ns = d.0;
    let (div, unit) = if ns == 0 {
        (1, "s")
    } else if ns % 1_000_000_000 == 0 {
        (1_000_000_000, "s")
    } else if ns >= 1_000_000_000 {
        return write!(f, "{}s", ns as f64 / 1e9);
    } else if ns % 1_000_000 == 0 || ns >= 1_000_000 {
        (1_000_000, "ms")
    } else if ns >= 1_000 {
        (1_000, "us")
    } else {
        (1, "ns")
    };
    if ns % div == 0 {
        write!(f, "{}{}", ns / div, unit)
    } else {
        write!(f, "{}{}", ns as f64 / div as f64, unit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_print_back_in_their_unit() {
        assert_eq!(SimDuration::from_millis(250).to_string(), "250ms");
        assert_eq!(SimDuration::from_secs(30).to_string(), "30s");
        assert_eq!(SimDuration(1_500).to_string(), "1.5us");
    }

    #[test]
    fn nanoseconds_round_as_the_library_rounds_them() {
        let mut cases = vec![
            0.0,
            -0.0,
            0.49999999999999994,
            0.5,
            1.5,
            2.5,
            -0.4,
            -0.5,
            -3.7,
            4_503_599_627_370_495.5,
            9_007_199_254_740_993.0,
            1.8e19,
            1.9e19,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
        ];
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..200_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            // Any double (every magnitude and sign), times a run meets, and exact halves.
            cases.push(f64::from_bits(x));
            cases.push(f64::from_bits(x) % 1e13);
            cases.push((x % 1_000_000) as f64 + 0.5);
            cases.push((x % 1_000_000_007) as f64 / 7.0);
        }
        for c in cases {
            assert_eq!(round_ns(c), c.round() as u64, "{c:?}");
        }
    }
}
