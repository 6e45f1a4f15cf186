//! The optional TOML configuration file, merged beneath flags and environment variables, and
//! `--print-config`'s account of what is in effect.
//!
//! The file takes the flags' long names as keys (`max-upload-bytes = 1000000`; `_` works as
//! well as `-`). A key is applied only when neither its flag nor its variable is given, by
//! handing its value to clap as if it were a flag, so the file is parsed and checked exactly
//! like the command line.

use std::any::TypeId;
use std::collections::BTreeSet;
use std::ffi::OsString;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use clap::parser::ValueSource;
use clap::{Arg, ArgAction, ArgMatches, CommandFactory, FromArgMatches};

use super::Cli;

/// Arguments that only make sense on the command line.
const COMMAND_LINE_ONLY: &[&str] = &[
    "config",
    "print_config",
    "if_missing",
    "names",
    "help",
    "version",
];

/// Largest configuration file read; a real one is a few hundred bytes.
const MAX_FILE_BYTES: u64 = 1024 * 1024;

/// Shown instead of a secret's value.
const REDACTED: &str = "<redacted>";

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// A bad command line or variable, or `--help`/`--version`: clap prints and exits.
    #[error(transparent)]
    Usage(#[from] clap::Error),
    /// A configuration file that cannot be read or does not fit.
    #[error("config file {}: {message}", path.display())]
    File { path: PathBuf, message: String },
}

/// The parsed command line with the file merged in, and where every value came from.
#[derive(Debug)]
pub struct Loaded {
    pub cli: Cli,
    matches: ArgMatches,
    file: Option<PathBuf>,
    /// Ids of the arguments the file set.
    from_file: BTreeSet<String>,
}

/// Parses the command line (`args` includes the program name), then merges the `--config`
/// file, if any, beneath the flags and environment variables.
pub fn load<I, T>(args: I) -> Result<Loaded, LoadError>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString>,
{
    let mut args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    let command = Cli::command();
    let matches = command.clone().try_get_matches_from(&args)?;
    let Some((name, given)) = matches.subcommand() else {
        return finish(matches, None, BTreeSet::new());
    };
    let Some(path) = given
        .try_get_one::<PathBuf>("config")
        .ok()
        .flatten()
        .cloned()
    else {
        return finish(matches, None, BTreeSet::new());
    };
    let fail = |message: String| LoadError::File {
        path: path.clone(),
        message,
    };
    let table = read_table(&path).map_err(&fail)?;
    let (Some(this), Some(serve)) = (
        command.find_subcommand(name),
        command.find_subcommand("serve"),
    ) else {
        return finish(matches, None, BTreeSet::new());
    };

    let mut from_file = BTreeSet::new();
    for (key, value) in &table {
        let Some(arg) = find_arg(this, key) else {
            // A shared file may hold serve's settings when `pull` or `models` reads it.
            if find_arg(serve, key).is_some() {
                continue;
            }
            return Err(fail(format!(
                "unknown key `{key}`; the keys are: {}",
                file_keys(serve).join(", ")
            )));
        };
        let id = arg.get_id().as_str();
        if matches!(
            given.value_source(id),
            Some(ValueSource::CommandLine | ValueSource::EnvVariable)
        ) {
            continue;
        }
        let flags = as_flags(arg, value).map_err(|message| fail(format!("`{key}`: {message}")))?;
        args.extend(flags.into_iter().map(OsString::from));
        from_file.insert(id.to_string());
    }
    let matches = command
        .try_get_matches_from(&args)
        .map_err(|error| fail(first_line(&error)))?;
    finish(matches, Some(path), from_file)
}

fn finish(
    matches: ArgMatches,
    file: Option<PathBuf>,
    from_file: BTreeSet<String>,
) -> Result<Loaded, LoadError> {
    Ok(Loaded {
        cli: Cli::from_arg_matches(&matches)?,
        matches,
        file,
        from_file,
    })
}

fn read_table(path: &Path) -> Result<toml::Table, String> {
    use std::io::Read;
    let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let mut text = String::new();
    file.take(MAX_FILE_BYTES + 1)
        .read_to_string(&mut text)
        .map_err(|e| e.to_string())?;
    if text.len() as u64 > MAX_FILE_BYTES {
        return Err(format!("larger than {MAX_FILE_BYTES} bytes"));
    }
    text.parse::<toml::Table>()
        .map_err(|e| e.to_string().trim_end().to_string())
}

/// The argument a file key names: its long flag, with `_` taken as `-`, or its id.
fn find_arg<'a>(command: &'a clap::Command, key: &str) -> Option<&'a Arg> {
    let key = key.replace('_', "-");
    command.get_arguments().find(|arg| {
        let id = arg.get_id().as_str();
        !COMMAND_LINE_ONLY.contains(&id)
            && (arg.get_long() == Some(key.as_str()) || id.replace('_', "-") == key)
    })
}

fn file_keys(command: &clap::Command) -> Vec<&str> {
    command
        .get_arguments()
        .filter(|arg| !COMMAND_LINE_ONLY.contains(&arg.get_id().as_str()))
        .filter_map(Arg::get_long)
        .collect()
}

/// The flags that say what `value` says, each checked by the argument's own parser.
fn as_flags(arg: &Arg, value: &toml::Value) -> Result<Vec<String>, String> {
    let long = arg.get_long().ok_or("cannot be set in a file")?;
    if matches!(arg.get_action(), ArgAction::SetTrue) {
        return match value {
            toml::Value::Boolean(true) => Ok(vec![format!("--{long}")]),
            toml::Value::Boolean(false) => Ok(Vec::new()),
            _ => Err("expected true or false".into()),
        };
    }
    let values = match value {
        toml::Value::Array(items) if matches!(arg.get_action(), ArgAction::Append) => items
            .iter()
            .map(scalar_text)
            .collect::<Result<Vec<_>, _>>()?,
        toml::Value::Array(_) => return Err("takes one value, not a list".into()),
        scalar => vec![scalar_text(scalar)?],
    };
    let flags: Vec<String> = values
        .into_iter()
        .map(|text| format!("--{long}={text}"))
        .collect();
    // Checked alone first, so that a bad value is blamed on its key.
    clap::Command::new("hearsay")
        .no_binary_name(true)
        .arg(arg.clone().required(false))
        .try_get_matches_from(&flags)
        .map_err(|error| first_line(&error))?;
    Ok(flags)
}

fn scalar_text(value: &toml::Value) -> Result<String, String> {
    match value {
        toml::Value::String(text) => Ok(text.clone()),
        toml::Value::Integer(number) => Ok(number.to_string()),
        toml::Value::Float(number) => Ok(number.to_string()),
        toml::Value::Boolean(flag) => Ok(flag.to_string()),
        toml::Value::Datetime(_) | toml::Value::Array(_) | toml::Value::Table(_) => {
            Err("expected a string, a number or a boolean".into())
        }
    }
}

/// clap's message without its `error:` prefix and usage footer.
fn first_line(error: &clap::Error) -> String {
    let rendered = error.render().to_string();
    let line = rendered.lines().next().unwrap_or_default();
    line.strip_prefix("error: ").unwrap_or(line).to_string()
}

impl Loaded {
    /// `hearsay serve`'s effective settings as a TOML file (usable as `--config`), each with
    /// where it came from; secrets are redacted. `None` for the other commands.
    pub fn describe_serve(&self) -> Option<String> {
        let Some(("serve", given)) = self.matches.subcommand() else {
            return None;
        };
        let command = Cli::command();
        let serve = command.find_subcommand("serve")?;
        let mut out = String::from(
            "# hearsay serve: effective configuration (flag, then environment, then file, then default).\n",
        );
        match &self.file {
            Some(path) => {
                let _ = writeln!(out, "# config file: {}", path.display());
            }
            None => out.push_str("# config file: none\n"),
        }
        for arg in serve.get_arguments() {
            let id = arg.get_id().as_str();
            let Some(long) = arg.get_long() else { continue };
            if COMMAND_LINE_ONLY.contains(&id) {
                continue;
            }
            let source = match given.value_source(id) {
                Some(ValueSource::CommandLine) if self.from_file.contains(id) => "file".to_string(),
                Some(ValueSource::CommandLine) => "flag".to_string(),
                Some(ValueSource::EnvVariable) => match arg.get_env() {
                    Some(name) => format!("env {}", name.to_string_lossy()),
                    None => "env".to_string(),
                },
                Some(ValueSource::DefaultValue) => "default".to_string(),
                _ => {
                    let _ = writeln!(out, "# {long} is not set");
                    continue;
                }
            };
            let _ = writeln!(out, "{long} = {}  # {source}", toml_value(arg, given));
        }
        Some(out)
    }
}

/// An argument's value as TOML: numbers bare, everything else quoted, lists for repeatable
/// flags, and secrets redacted.
fn toml_value(arg: &Arg, given: &ArgMatches) -> String {
    let id = arg.get_id().as_str();
    if matches!(arg.get_action(), ArgAction::SetTrue) {
        return given.get_flag(id).to_string();
    }
    let numeric = [
        TypeId::of::<u16>(),
        TypeId::of::<u64>(),
        TypeId::of::<usize>(),
        TypeId::of::<f64>(),
    ]
    .iter()
    .any(|type_id| arg.get_value_parser().type_id() == *type_id);
    let values: Vec<String> = given
        .get_raw(id)
        .into_iter()
        .flatten()
        .map(|raw| {
            let text = raw.to_string_lossy();
            if arg.is_hide_env_values_set() {
                toml::Value::String(REDACTED.into()).to_string()
            } else if numeric && text.parse::<f64>().is_ok_and(f64::is_finite) {
                text.into_owned()
            } else {
                toml::Value::String(text.into_owned()).to_string()
            }
        })
        .collect();
    if matches!(arg.get_action(), ArgAction::Append) {
        format!("[{}]", values.join(", "))
    } else {
        values.into_iter().next().unwrap_or_default()
    }
}

#[cfg(test)]
#[path = "file_tests.rs"]
mod tests;
