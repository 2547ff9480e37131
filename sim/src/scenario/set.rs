//! `--set path.to.field=value` overrides, applied to the parsed TOML tree before it is checked,
//! so an override is validated exactly like the same value written in the file. The tree is the
//! parser's own ([`DeValue`]), which keeps integers as written, so a value too large for a TOML
//! integer still reaches the field's range check.

use super::error::ScenarioError;
use std::borrow::Cow;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// Applies one `path=value` override and returns the path of what it wrote, one entry per
/// segment: the field itself, or the first table on the way that the override created (an error
/// anywhere under it comes from this override). The value is read as a TOML value (`5`, `2.5`,
/// `true`, `"30s"`, `[1, 2]`); anything that is not valid TOML is taken as a string, so
/// `run.duration=30s` works unquoted. Array elements are addressed by index: `faults.0.at=20s`.
pub fn apply_set<'a>(root: &mut DeValue<'a>, arg: &'a str) -> Result<Vec<String>, ScenarioError> {
    let err = |message: String| ScenarioError::Set {
        arg: arg.to_string(),
        message,
    };
    let (path, raw) = arg
        .split_once('=')
        .ok_or_else(|| err("expected path=value, e.g. --set cluster.nodes=20".into()))?;
    let path = path.trim();
    if path.is_empty() || path.split('.').any(str::is_empty) {
        return Err(err(
            "the path is empty or has an empty segment; write e.g. workload.rate".into(),
        ));
    }
    let value = parse_value(raw.trim());
    let segments: Vec<&str> = path.split('.').collect();
    let (last, parents) = segments.split_last().ok_or_else(|| err("empty path".into()))?;
    let mut written: Vec<String> = Vec::new();
    let mut created = false;
    let mut cur: &mut DeValue<'a> = root;
    for (i, seg) in parents.iter().enumerate() {
        let here = segments[..=i].join(".");
        cur = match cur {
            DeValue::Table(t) => {
                if !created {
                    written.push(seg.to_string());
                    created = !t.contains_key(*seg);
                }
                t.entry(key(seg))
                    .or_insert_with(|| Spanned::new(0..0, DeValue::Table(DeTable::new())))
                    .get_mut()
            }
            DeValue::Array(a) => {
                let idx = index(seg, a.len()).map_err(|m| err(format!("{here}: {m}")))?;
                if !created {
                    written.push(idx.to_string());
                }
                a.as_mut()[idx].get_mut()
            }
            _ => {
                return Err(err(format!("{} is a value, not a table", segments[..i].join("."))));
            }
        };
    }
    match cur {
        DeValue::Table(t) => {
            if !created {
                written.push(last.to_string());
            }
            t.insert(key(last), value);
        }
        DeValue::Array(a) => {
            let idx = index(last, a.len()).map_err(|m| err(format!("{path}: {m}")))?;
            if !created {
                written.push(idx.to_string());
            }
            a.as_mut()[idx] = value;
        }
        _ => {
            return Err(err(format!("{} is a value, not a table", parents.join("."))));
        }
    }
    Ok(written)
}

fn key<'a>(seg: &str) -> Spanned<Cow<'a, str>> {
    Spanned::new(0..0, Cow::Owned(seg.to_string()))
}

fn index(seg: &str, len: usize) -> Result<usize, String> {
    match seg.parse::<usize>() {
        Ok(i) if i < len => Ok(i),
        Ok(i) => Err(format!("index {i} is out of range: the list has {len} entries")),
        Err(_) => Err(format!("\"{seg}\" is not an index into a list")),
    }
}

fn parse_value(raw: &str) -> Spanned<DeValue<'_>> {
    DeValue::parse(raw).unwrap_or_else(|_| Spanned::new(0..raw.len(), DeValue::String(Cow::Borrowed(raw))))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(text: &'static str) -> DeValue<'static> {
        DeValue::Table(DeTable::parse(text).map(Spanned::into_inner).unwrap_or_default())
    }

    fn text_at(t: &DeValue, path: &[&str]) -> Option<String> {
        let mut v = t;
        for p in path {
            v = match p.parse::<usize>() {
                Ok(i) => v.get(i)?.get_ref(),
                Err(_) => v.get(*p)?.get_ref(),
            };
        }
        match v {
            DeValue::Integer(i) => Some(i.as_str().to_string()),
            DeValue::String(s) => Some(s.to_string()),
            _ => None,
        }
    }

    #[test]
    fn a_set_reaches_nested_fields_and_list_entries() {
        let mut t = tree("[run]\nseed = 1\n[[faults]]\nat = \"5s\"\ncrash = 1\n");
        apply_set(&mut t, "run.seed=9").ok();
        apply_set(&mut t, "faults.0.at=7s").ok();
        apply_set(&mut t, "engines.none.poll_interval=\"2ms\"").ok();
        assert_eq!(text_at(&t, &["run", "seed"]).as_deref(), Some("9"));
        assert_eq!(text_at(&t, &["faults", "0", "at"]).as_deref(), Some("7s"));
        assert_eq!(
            text_at(&t, &["engines", "none", "poll_interval"]).as_deref(),
            Some("2ms")
        );
    }

    #[test]
    fn a_set_keeps_an_integer_too_large_for_toml_as_written() {
        let mut t = tree("[run]\nseed = 1\n");
        apply_set(&mut t, "run.seed=18446744073709551615").ok();
        assert_eq!(text_at(&t, &["run", "seed"]).as_deref(), Some("18446744073709551615"));
        assert!(matches!(
            t.get("run").and_then(|r| r.get_ref().get("seed")).map(Spanned::get_ref),
            Some(DeValue::Integer(_))
        ));
    }

    #[test]
    fn a_set_says_what_it_wrote_down_to_the_first_table_it_created() {
        let mut t = tree("[run]\nseed = 1\n[[faults]]\nat = \"5s\"\ncrash = 1\n");
        let mut w = |arg: &'static str| apply_set(&mut t, arg).unwrap_or_default();
        assert_eq!(w("run.seed=9"), ["run", "seed"]);
        assert_eq!(w("faults.00.at=7s"), ["faults", "0", "at"]);
        assert_eq!(w("engines.none.poll_interval=2ms"), ["engines"]);
        assert_eq!(w("cluster.nodes=3"), ["cluster"]);
        assert_eq!(w("cluster.cores=3"), ["cluster", "cores"]);
    }

    #[test]
    fn a_set_without_equals_or_past_a_list_end_is_refused() {
        let mut t = tree("[[faults]]\nat = \"5s\"\n");
        assert!(apply_set(&mut t, "run.seed").is_err());
        assert!(apply_set(&mut t, "faults.3.at=1s").is_err());
        assert!(apply_set(&mut t, "faults.0.at.x=1s").is_err());
    }
}
