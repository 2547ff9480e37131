//! Parsing of the human units used in scenario files: durations (`"250ms"`, `"30s"`), bandwidths
//! (`"10Gbit/s"`, `"400MB/s"`) and sizes (`"64KB"`). Each parser returns an error text that says
//! what is allowed, so that the scenario loader can name the field and the rule in one message.

use crate::time::SimDuration;

const DURATION_UNITS: &str = "ns, us, ms, s, m, h";

fn split_number(text: &str) -> Option<(f64, &str)> {
    let t = text.trim();
    let end = t
        .char_indices()
        .find(|(_, c)| !(c.is_ascii_digit() || *c == '.'))
        .map_or(t.len(), |(i, _)| i);
    let num: f64 = t[..end].parse().ok()?;
    Some((num, t[end..].trim()))
}

/// Parses `"250ms"`, `"1.5s"`, `"2m"`: a non-negative number and a unit (ns, us, ms, s, m, h).
pub fn parse_duration(text: &str) -> Result<SimDuration, String> {
    let bad = || {
        format!("\"{text}\" is not a duration: write a number and a unit ({DURATION_UNITS}), e.g. \"250ms\" or \"30s\"")
    };
    let (num, unit) = split_number(text).ok_or_else(bad)?;
    let ns_per = match unit {
        "ns" => 1.0,
        "us" | "µs" => 1e3,
        "ms" => 1e6,
        "s" => 1e9,
        "m" | "min" => 60e9,
        "h" => 3600e9,
        _ => return Err(bad()),
    };
    let ns = num * ns_per;
    if !ns.is_finite() || ns > 1e18 {
        return Err(format!("\"{text}\" is too long a duration (at most about 31 years)"));
    }
    Ok(SimDuration(ns.round() as u64))
}

/// Parses a bandwidth into bytes per second: `"10Gbit/s"`, `"400MB/s"`, `"100Mbit/s"`, `"1GB/s"`.
/// Decimal prefixes (k, M, G, T), `bit` or `B`, then `/s`.
pub fn parse_bandwidth(text: &str) -> Result<f64, String> {
    let bad = || {
        format!(
            "\"{text}\" is not a bandwidth: write a number, a prefix (k, M, G, T), bit or B, then /s, e.g. \"10Gbit/s\" or \"400MB/s\""
        )
    };
    let (num, rest) = split_number(text).ok_or_else(bad)?;
    let rest = rest.strip_suffix("/s").ok_or_else(bad)?;
    let (mult, unit) = prefix(rest);
    let per = match unit {
        "bit" | "b" => 1.0 / 8.0,
        "B" => 1.0,
        _ => return Err(bad()),
    };
    let bps = num * mult * per;
    if bps <= 0.0 || !bps.is_finite() {
        return Err(format!("\"{text}\" must be a positive bandwidth"));
    }
    Ok(bps)
}

/// Parses a size in bytes: `"64KB"`, `"1MB"`, `"100B"` (decimal prefixes).
pub fn parse_bytes(text: &str) -> Result<u64, String> {
    let bad = || format!("\"{text}\" is not a size: write a number, a prefix (k, M, G, T) and B, e.g. \"64KB\"");
    let (num, rest) = split_number(text).ok_or_else(bad)?;
    let (mult, unit) = prefix(rest);
    if unit != "B" {
        return Err(bad());
    }
    Ok((num * mult).round() as u64)
}

fn prefix(s: &str) -> (f64, &str) {
    let mut chars = s.chars();
    let mult = match chars.next() {
        Some('k' | 'K') => 1e3,
        Some('M') => 1e6,
        Some('G') => 1e9,
        Some('T') => 1e12,
        _ => return (1.0, s),
    };
    let rest = chars.as_str();
    if rest.is_empty() { (1.0, s) } else { (mult, rest) }
}

/// A duration in a scenario file is a string with a unit, e.g. `"250ms"`.
impl<'de> serde::Deserialize<'de> for SimDuration {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = SimDuration;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "a duration string such as \"10s\"")
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<SimDuration, E> {
                parse_duration(s).map_err(E::custom)
            }
        }
        d.deserialize_str(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_in_every_unit() {
        assert_eq!(parse_duration("250ms"), Ok(SimDuration::from_millis(250)));
        assert_eq!(parse_duration("30s"), Ok(SimDuration::from_secs(30)));
        assert_eq!(parse_duration("1.5us"), Ok(SimDuration(1_500)));
        assert_eq!(parse_duration("2m"), Ok(SimDuration::from_secs(120)));
        assert!(parse_duration("30").is_err());
        assert!(parse_duration("-3s").is_err());
        assert!(parse_duration("3 parsecs").is_err());
    }

    #[test]
    fn bandwidths_parse_bits_and_bytes() {
        assert_eq!(parse_bandwidth("10Gbit/s"), Ok(1.25e9));
        assert_eq!(parse_bandwidth("400MB/s"), Ok(4e8));
        assert!(parse_bandwidth("10Gbit").is_err());
        assert!(parse_bandwidth("0MB/s").is_err());
    }
}
