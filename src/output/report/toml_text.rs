//! The scenario as run: the file's TOML tree with the command line's `--set`, `--engine` and
//! `--seed` applied (as the loader applies them), written back as TOML. Comments are not kept;
//! keys keep the file's order, keys a `--set` added come after them.

use ftsim_sim::scenario::apply_set;
use std::fmt::Write;
use toml::Spanned;
use toml::de::{DeString, DeTable, DeValue};

/// `text` with the overrides applied, as TOML; `None` if the text or an override does not parse
/// (the loader would then have refused the run).
pub fn as_run(text: &str, sets: &[String], engines: &[String], seed: Option<u64>) -> Option<String> {
    let mut extra = Vec::new();
    if !engines.is_empty() {
        let names: Vec<String> = engines.iter().map(|e| string(e)).collect();
        extra.push(format!("run.engines=[{}]", names.join(", ")));
    }
    if let Some(seed) = seed {
        extra.push(format!("run.seed={seed}"));
    }
    let table = DeTable::parse(text).ok()?;
    let mut root = DeValue::Table(table.into_inner());
    for s in sets.iter().chain(&extra) {
        apply_set(&mut root, s).ok()?;
    }
    let DeValue::Table(t) = &root else { return None };
    let mut out = String::new();
    write_table(&mut out, &[], t);
    Some(out.trim_start().to_string())
}

/// A TOML basic string.
fn string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn key(k: &str) -> String {
    if !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
        k.to_string()
    } else {
        string(k)
    }
}

fn is_section(v: &DeValue<'_>) -> bool {
    match v {
        DeValue::Table(_) => true,
        DeValue::Array(a) => !a.is_empty() && a.iter().all(|e| matches!(e.get_ref(), DeValue::Table(_))),
        _ => false,
    }
}

/// The entries of `t` in the file's order; those an override added (no place in the file) last.
fn ordered<'t, 'i>(t: &'t DeTable<'i>) -> Vec<(&'t DeString<'i>, &'t DeValue<'i>)> {
    let mut v: Vec<(&Spanned<DeString<'i>>, &Spanned<DeValue<'i>>)> = t.iter().collect();
    v.sort_by_key(|(k, _)| {
        let span = k.span();
        (span.end == 0, span.start)
    });
    v.into_iter().map(|(k, v)| (k.get_ref(), v.get_ref())).collect()
}

fn write_table(out: &mut String, path: &[String], t: &DeTable<'_>) {
    for (k, v) in ordered(t).into_iter().filter(|(_, v)| !is_section(v)) {
        let _ = writeln!(out, "{} = {}", key(k), inline(v));
    }
    for (k, v) in ordered(t).into_iter().filter(|(_, v)| is_section(v)) {
        let mut sub = path.to_vec();
        sub.push(key(k));
        let name = sub.join(".");
        match v {
            DeValue::Table(inner) => {
                let plain = inner.iter().any(|(_, v)| !is_section(v.get_ref()));
                if plain || inner.is_empty() {
                    let _ = write!(out, "\n[{name}]\n");
                }
                write_table(out, &sub, inner);
            }
            DeValue::Array(items) => {
                for item in items.iter() {
                    if let DeValue::Table(inner) = item.get_ref() {
                        let _ = write!(out, "\n[[{name}]]\n");
                        write_table(out, &sub, inner);
                    }
                }
            }
            _ => {}
        }
    }
}

fn inline(v: &DeValue<'_>) -> String {
    match v {
        DeValue::String(s) => string(s),
        DeValue::Integer(i) => i.to_string(),
        DeValue::Float(f) => f.to_string(),
        DeValue::Boolean(b) => b.to_string(),
        DeValue::Datetime(d) => d.to_string(),
        DeValue::Array(a) => {
            let items: Vec<String> = a.iter().map(|e| inline(e.get_ref())).collect();
            format!("[{}]", items.join(", "))
        }
        DeValue::Table(t) => {
            let items: Vec<String> = ordered(t)
                .into_iter()
                .map(|(k, v)| format!("{} = {}", key(k), inline(v)))
                .collect();
            if items.is_empty() {
                "{}".to_string()
            } else {
                format!("{{ {} }}", items.join(", "))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_land_in_the_text_in_the_files_order() {
        let text = "# a comment\n[run]\nduration = \"30s\"\nseed = 1\n\n[workload]\nrate = 50\n\n\
                    [[faults]]\nat = \"5s\"\ncrash = 1\n";
        let sets = vec![
            "workload.rate=7".to_string(),
            "faults.0.at=9s".to_string(),
            "cluster.nodes=3".to_string(),
        ];
        let got = as_run(text, &sets, &["none".to_string()], Some(18446744073709551615));
        let want = "[run]\nduration = \"30s\"\nseed = 18446744073709551615\nengines = [\"none\"]\n\n\
                    [workload]\nrate = 7\n\n[[faults]]\nat = \"9s\"\ncrash = 1\n\n[cluster]\nnodes = 3\n";
        assert_eq!(got.as_deref(), Some(want));
    }

    #[test]
    fn a_list_of_faults_given_inline_becomes_fault_tables() {
        let got = as_run(
            "[run]\nduration = \"1s\"\n",
            &["faults=[{at = \"1s\", crash = [1, 2]}, {at = \"2s\", crash = \"master\"}]".to_string()],
            &[],
            None,
        );
        let want = "[run]\nduration = \"1s\"\n\n[[faults]]\nat = \"1s\"\ncrash = [1, 2]\n\n\
                    [[faults]]\nat = \"2s\"\ncrash = \"master\"\n";
        assert_eq!(got.as_deref(), Some(want));
    }
}
