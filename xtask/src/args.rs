//! A tiny hand-written option parser (`--name value`, `--name=value`, `--flag`).

use crate::error::{Error, Result};

/// Parsed command-line options of one subcommand.
#[derive(Debug, Default)]
pub(crate) struct Args {
    /// `(name, value)` in command-line order; flags have `None`.
    options: Vec<(String, Option<String>)>,
    /// Arguments that are not options, in order.
    pub(crate) positional: Vec<String>,
    /// Everything after a bare `--`.
    pub(crate) rest: Vec<String>,
}

impl Args {
    /// Parses `args`. `with_value` names the options that take a value, `flags` those that don't.
    pub(crate) fn parse(args: &[String], with_value: &[&str], flags: &[&str]) -> Result<Self> {
        let mut out = Args::default();
        let mut iter = args.iter();
        while let Some(arg) = iter.next() {
            if arg == "--" {
                out.rest = iter.by_ref().cloned().collect();
                break;
            }
            let Some(name) = arg.strip_prefix("--") else {
                out.positional.push(arg.clone());
                continue;
            };
            let (name, inline) = match name.split_once('=') {
                Some((n, v)) => (n, Some(v.to_string())),
                None => (name, None),
            };
            if with_value.contains(&name) {
                let value = match inline {
                    Some(v) => v,
                    None => iter
                        .next()
                        .cloned()
                        .ok_or_else(|| Error::usage(format!("option --{name} needs a value")))?,
                };
                out.options.push((name.to_string(), Some(value)));
            } else if flags.contains(&name) {
                if inline.is_some() {
                    return Err(Error::usage(format!("option --{name} takes no value")));
                }
                out.options.push((name.to_string(), None));
            } else {
                return Err(Error::usage(format!("unknown option --{name}")));
            }
        }
        Ok(out)
    }

    /// The last value given for `--name`.
    pub(crate) fn value(&self, name: &str) -> Option<&str> {
        self.options
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .and_then(|(_, v)| v.as_deref())
    }

    pub(crate) fn flag(&self, name: &str) -> bool {
        self.options.iter().any(|(n, _)| n == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn parses_values_flags_and_rest() {
        let a = Args::parse(
            &strings(&[
                "start",
                "--from=x",
                "--user",
                "u",
                "--check",
                "--",
                "--nocapture",
            ]),
            &["from", "user"],
            &["check"],
        )
        .unwrap();
        assert_eq!(a.positional, ["start"]);
        assert_eq!(a.value("from"), Some("x"));
        assert_eq!(a.value("user"), Some("u"));
        assert!(a.flag("check"));
        assert_eq!(a.rest, ["--nocapture"]);
    }

    #[test]
    fn rejects_unknown_and_missing_values() {
        assert!(Args::parse(&strings(&["--nope"]), &[], &[])
            .unwrap_err()
            .is_usage());
        assert!(Args::parse(&strings(&["--from"]), &["from"], &[])
            .unwrap_err()
            .is_usage());
    }
}
