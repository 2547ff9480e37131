//! `--set path.to.field=value` overrides, applied to the parsed TOML tree before it is checked,
//! so an override is validated exactly like the same value written in the file.

use super::error::ScenarioError;
use toml::{Table, Value};

/// Applies one `path=value` override. The value is read as a TOML value (`5`, `2.5`, `true`,
/// `"30s"`, `[1, 2]`); anything that is not valid TOML is taken as a string, so `run.duration=30s`
/// works unquoted. Array elements are addressed by index: `faults.0.at=20s`.
pub fn apply_set(root: &mut Value, arg: &str) -> Result<(), ScenarioError> {
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
    let mut cur: &mut Value = root;
    for (i, seg) in parents.iter().enumerate() {
        let here = segments[..=i].join(".");
        cur = match cur {
            Value::Table(t) => t.entry(seg.to_string()).or_insert_with(|| Value::Table(Table::new())),
            Value::Array(a) => {
                let idx = index(seg, a.len()).map_err(|m| err(format!("{here}: {m}")))?;
                &mut a[idx]
            }
            _ => {
                return Err(err(format!("{} is a value, not a table", segments[..i].join("."))));
            }
        };
    }
    match cur {
        Value::Table(t) => {
            t.insert(last.to_string(), value);
        }
        Value::Array(a) => {
            let idx = index(last, a.len()).map_err(|m| err(format!("{path}: {m}")))?;
            a[idx] = value;
        }
        _ => {
            return Err(err(format!("{} is a value, not a table", parents.join("."))));
        }
    }
    Ok(())
}

fn index(seg: &str, len: usize) -> Result<usize, String> {
    match seg.parse::<usize>() {
        Ok(i) if i < len => Ok(i),
        Ok(i) => Err(format!("index {i} is out of range: the list has {len} entries")),
        Err(_) => Err(format!("\"{seg}\" is not an index into a list")),
    }
}

fn parse_value(raw: &str) -> Value {
    let doc = format!("v = {raw}");
    match doc.parse::<Table>() {
        Ok(mut t) => t.remove("v").unwrap_or_else(|| Value::String(raw.to_string())),
        Err(_) => Value::String(raw.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_set_reaches_nested_fields_and_list_entries() {
        let mut t = Value::Table(
            "[run]\nseed = 1\n[[faults]]\nat = \"5s\"\ncrash = 1\n"
                .parse::<Table>()
                .unwrap_or_default(),
        );
        apply_set(&mut t, "run.seed=9").ok();
        apply_set(&mut t, "faults.0.at=7s").ok();
        apply_set(&mut t, "engines.none.poll_interval=\"2ms\"").ok();
        assert_eq!(t["run"]["seed"].as_integer(), Some(9));
        assert_eq!(t["faults"][0]["at"].as_str(), Some("7s"));
        assert_eq!(t["engines"]["none"]["poll_interval"].as_str(), Some("2ms"));
    }

    #[test]
    fn a_set_without_equals_or_past_a_list_end_is_refused() {
        let mut t = Value::Table("[[faults]]\nat = \"5s\"\n".parse::<Table>().unwrap_or_default());
        assert!(apply_set(&mut t, "run.seed").is_err());
        assert!(apply_set(&mut t, "faults.3.at=1s").is_err());
        assert!(apply_set(&mut t, "faults.0.at.x=1s").is_err());
    }
}
