//! Reading the configuration tree: blocks with their includes expanded, argument access, and
//! the `ConfigError` every compile step reports (`MESSAGE in FILE:LINE`, as nginx does).

use std::fmt;
use std::time::Duration;
use strait_parser::ast::{Arg, Block, Config, Directive, Location};
use strait_parser::check::CycleStep;

/// A configuration fault found while compiling the tree into a plan.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    /// nginx's message text, without the location.
    pub message: String,
    /// Where the directive was written; `None` for faults nginx reports without one
    /// (`unknown "x" variable`).
    pub location: Option<Location>,
    /// The step after reading the whole configuration that finds this fault (the events
    /// module's checks, opening files): `nginx -t` prints `syntax is ok` before it. `None`:
    /// found while reading.
    pub step: Option<CycleStep>,
}

impl ConfigError {
    /// A fault at `location`.
    pub fn at(location: &Location, message: impl Into<String>) -> ConfigError {
        ConfigError { message: message.into(), location: Some(location.clone()), step: None }
    }

    /// A fault nginx reports without a location.
    pub fn bare(message: impl Into<String>) -> ConfigError {
        ConfigError { message: message.into(), location: None, step: None }
    }

    /// A fault nginx finds in `step`, after reading the configuration, reported without a
    /// location.
    pub fn cycle(step: CycleStep, message: impl Into<String>) -> ConfigError {
        ConfigError { message: message.into(), location: None, step: Some(step) }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        match &self.location {
            Some(Location { file: Some(file), line, .. }) => {
                write!(f, " in {}:{}", file.display(), line)
            }
            Some(Location { file: None, .. }) => f.write_str(" in command line"),
            None => Ok(()),
        }
    }
}

/// The directives of `block` with every `include` replaced by what it read, recursively: the
/// view nginx's modules see.
pub fn expanded<'a>(block: &'a Block, config: &'a Config) -> Vec<&'a Directive> {
    block.expanded(config).collect()
}

/// Convenience accessors on a directive.
pub trait DirectiveExt {
    /// The directive name as text.
    fn name_str(&self) -> String;
    /// Where the directive name was written.
    fn loc(&self) -> &Location;
    /// The argument values.
    fn values(&self) -> Vec<&[u8]>;
    /// A fault at this directive.
    fn error(&self, message: impl Into<String>) -> ConfigError;
    /// `"NAME" directive TEXT`, nginx's form for handler-reported faults.
    fn directive_error(&self, text: &str) -> ConfigError;
    /// `invalid value "V" in "NAME" directive`-style faults for one argument.
    fn invalid_value(&self, arg: &Arg) -> ConfigError;
    /// The single argument, or `invalid number of arguments`.
    fn one_arg(&self) -> Result<&Arg, ConfigError>;
    /// An `on`/`off` flag argument.
    fn flag(&self) -> Result<bool, ConfigError>;
}

impl DirectiveExt for Directive {
    fn name_str(&self) -> String {
        text(&self.name.value)
    }

    fn loc(&self) -> &Location {
        &self.name.location
    }

    fn values(&self) -> Vec<&[u8]> {
        self.args.iter().map(|a| a.value.as_slice()).collect()
    }

    fn error(&self, message: impl Into<String>) -> ConfigError {
        // nginx names the line of the `;` or `{` that ended the directive.
        let location = Location { line: self.end_line, ..self.loc().clone() };
        ConfigError::at(&location, message)
    }

    fn directive_error(&self, text_: &str) -> ConfigError {
        self.error(format!("\"{}\" directive {}", self.name_str(), text_))
    }

    fn invalid_value(&self, arg: &Arg) -> ConfigError {
        self.error(format!(
            "invalid value \"{}\" in \"{}\" directive",
            text(&arg.value),
            self.name_str()
        ))
    }

    fn one_arg(&self) -> Result<&Arg, ConfigError> {
        match self.args.as_slice() {
            [arg] => Ok(arg),
            _ => Err(self.error(format!(
                "invalid number of arguments in \"{}\" directive",
                self.name_str()
            ))),
        }
    }

    fn flag(&self) -> Result<bool, ConfigError> {
        let arg = self.one_arg()?;
        if arg.value.eq_ignore_ascii_case(b"on") {
            Ok(true)
        } else if arg.value.eq_ignore_ascii_case(b"off") {
            Ok(false)
        } else {
            Err(self.error(format!(
                "invalid value \"{}\" in \"{}\" directive, it must be \"on\" or \"off\"",
                text(&arg.value),
                self.name_str()
            )))
        }
    }
}

/// Bytes as text for messages (lossy for non-UTF-8 bytes).
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A time value (`strait_parser::values::parse_time`): milliseconds precision when `allow_ms`
/// (nginx's msec directives), else seconds.
pub fn parse_time(value: &[u8], allow_ms: bool) -> Option<Duration> {
    use strait_parser::values::{parse_time, TimeUnit};
    if allow_ms {
        parse_time(value, TimeUnit::Milliseconds).map(Duration::from_millis)
    } else {
        parse_time(value, TimeUnit::Seconds).map(Duration::from_secs)
    }
}

/// A size value (`ngx_parse_size`).
pub fn parse_size(value: &[u8]) -> Option<usize> {
    strait_parser::values::parse_size(value).and_then(|n| usize::try_from(n).ok())
}

/// A decimal number (`ngx_atoi`).
pub fn parse_number(value: &[u8]) -> Option<usize> {
    strait_parser::values::parse_int(value).and_then(|n| usize::try_from(n).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_follow_nginx() {
        assert_eq!(parse_time(b"10", true), Some(Duration::from_secs(10)));
        assert_eq!(parse_time(b"500ms", true), Some(Duration::from_millis(500)));
        assert_eq!(parse_time(b"500ms", false), None);
        assert_eq!(parse_time(b"1m30s", true), Some(Duration::from_secs(90)));
        assert_eq!(parse_time(b"1h 30m", true), Some(Duration::from_secs(5400)));
        assert_eq!(parse_time(b"x", true), None);
        assert_eq!(parse_time(b"", true), None);
    }

    #[test]
    fn sizes_follow_nginx() {
        assert_eq!(parse_size(b"16k"), Some(16384));
        assert_eq!(parse_size(b"1M"), Some(1 << 20));
        assert_eq!(parse_size(b"100"), Some(100));
        assert_eq!(parse_size(b"k"), None);
    }
}
