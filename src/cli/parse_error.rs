//! clap's errors (bad flag, missing argument, bad value) as one line, like every other refusal:
//! what is wrong, clap's suggestion if it has one, and the usage of the command concerned.

use clap::error::{ContextKind, ContextValue, Error, ErrorKind};

/// The line to print after `error: ` for a parse error; `commands` are the subcommand names.
pub(super) fn one_line(e: &Error, commands: &[&str]) -> String {
    let text = |kind: ContextKind| match e.get(kind) {
        Some(ContextValue::String(s)) => s.clone(),
        Some(ContextValue::Strings(v)) => v.join(", "),
        Some(ContextValue::StyledStr(s)) => s.to_string(),
        Some(ContextValue::StyledStrs(v)) => v.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "),
        Some(ContextValue::Number(n)) => n.to_string(),
        Some(ContextValue::Bool(b)) => b.to_string(),
        _ => String::new(),
    };
    let arg = text(ContextKind::InvalidArg);
    let value = text(ContextKind::InvalidValue);
    let commands = commands.join(", ");
    let mut line = match e.kind() {
        ErrorKind::UnknownArgument => format!("unexpected argument '{arg}'"),
        ErrorKind::InvalidSubcommand => format!(
            "unknown command '{}': the commands are {commands}",
            text(ContextKind::InvalidSubcommand)
        ),
        ErrorKind::MissingSubcommand | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            format!("no command given: the commands are {commands} (ftsim --help describes them)")
        }
        ErrorKind::MissingRequiredArgument => format!("missing {arg}"),
        ErrorKind::InvalidValue if value.is_empty() => format!("{} needs a value", flag(&arg)),
        ErrorKind::InvalidValue => format!(
            "{} {value}: not allowed; use one of {}",
            flag(&arg),
            text(ContextKind::ValidValue)
        ),
        ErrorKind::ValueValidation => match std::error::Error::source(e) {
            Some(why) => format!("{} {value}: {why}", flag(&arg)),
            None => format!("{} {value}: not allowed", flag(&arg)),
        },
        _ => first_line(e),
    };
    for kind in [
        ContextKind::SuggestedArg,
        ContextKind::SuggestedSubcommand,
        ContextKind::SuggestedValue,
    ] {
        let s = text(kind);
        if !s.is_empty() {
            line.push_str(&format!(" (did you mean '{s}'?)"));
        }
    }
    let tip = text(ContextKind::Suggested);
    if !tip.is_empty() {
        line.push_str(&format!("; {}", one_spaced(&tip)));
    }
    let usage = text(ContextKind::Usage);
    if let Some(usage) = usage.trim().strip_prefix("Usage:") {
        line.push_str(&format!("; usage: {}", one_spaced(usage)));
    }
    line
}

/// `--seed <SEED>` → `--seed`: the flag as the user typed it.
fn flag(arg: &str) -> &str {
    arg.split_whitespace().next().unwrap_or(arg)
}

/// The first line of clap's own message, without its `error: ` prefix.
fn first_line(e: &Error) -> String {
    let rendered = e.render().to_string();
    let first = rendered.lines().next().unwrap_or("invalid arguments");
    first.strip_prefix("error: ").unwrap_or(first).trim().to_string()
}

fn one_spaced(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}
