//! The Perl preamble of a `.t` file (before `__DATA__`): the few Test::Nginx controls the
//! runner honours, read from their literal calls, and literal `$ENV{TEST_NGINX_*}`
//! defaults. Other Perl there is not run.

use std::collections::BTreeMap;

use regex::Regex;

/// The controls a file's preamble sets.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Controls {
    /// `repeat_each(N)`: each block's requests and checks run N times.
    pub repeat_each: Option<u32>,
    /// `log_level('level')`: the default error log level.
    pub log_level: Option<String>,
    /// `timeout(N)`: the default client timeout, as written (`3`, `500ms`).
    pub timeout: Option<String>,
    /// `check_accum_error_log()`: every log check reads the whole log.
    pub accumulate_error_log: bool,
    /// `$ENV{TEST_NGINX_X} ||= "value"` (or `//=`, `=`): variables for the blocks.
    pub env: BTreeMap<String, EnvDefault>,
    /// `use t::APISIX`: APISIX's defaults apply (log level info, timeout 5, an implicit
    /// `no_error_log: [error]`), and blocks that rely on its Lua stream setup are skipped.
    pub apisix: bool,
}

/// A `$ENV{...}` assignment in the preamble.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvDefault {
    /// The literal value.
    pub value: String,
    /// `=`: replaces a value from the environment; `||=` and `//=` only fill a missing one.
    pub overrides: bool,
}

/// Reads the controls from `preamble`.
pub fn read_controls(preamble: &str) -> Controls {
    // Comments out of the way, so that a commented-out call does not count.
    let code: String = preamble
        .lines()
        .map(|line| if line.trim_start().starts_with('#') { "" } else { line })
        .collect::<Vec<_>>()
        .join("\n");
    let call = |name: &str| {
        Regex::new(&format!(r#"\b{name}\s*\(\s*(?:['"]([^'"]*)['"]|([\w.]*))\s*\)"#))
            .ok()
            .and_then(|re| re.captures(&code))
            .map(|c| c.get(1).or(c.get(2)).map(|m| m.as_str().to_string()).unwrap_or_default())
    };

    // APISIX's t/APISIX.pm sets log_level('info') and a block timeout of 5 seconds.
    let apisix = Regex::new(r"\buse\s+t::APISIX\b").is_ok_and(|re| re.is_match(&code));
    let mut controls = Controls {
        repeat_each: call("repeat_each").and_then(|n| n.parse().ok()),
        log_level: call("log_level")
            .filter(|l| !l.is_empty())
            .or_else(|| apisix.then(|| "info".to_string())),
        timeout: call("timeout")
            .filter(|t| !t.is_empty())
            .or_else(|| apisix.then(|| "5".to_string())),
        accumulate_error_log: call("check_accum_error_log").is_some(),
        env: BTreeMap::new(),
        apisix,
    };

    // $ENV{TEST_NGINX_X} ||= "literal"; with a single- or double-quoted literal.
    let assignment = Regex::new(concat!(
        r#"\$ENV\{\s*['"]?(TEST_NGINX_[A-Z0-9_]+)['"]?\s*\}\s*(\|\|=|//=|=)\s*"#,
        r#"(?:'([^'\\]*)'|"([^"\\$@]*)")\s*;"#
    ))
    .expect("a valid regex");
    for c in assignment.captures_iter(&code) {
        let value = c.get(3).or(c.get(4)).map(|m| m.as_str().to_string()).unwrap_or_default();
        controls.env.insert(c[1].to_string(), EnvDefault { value, overrides: &c[2] == "=" });
    }
    controls
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_literal_controls() {
        let controls = read_controls(
            "use Test::Nginx::Socket::Lua::Stream;\nrepeat_each(2);\nlog_level('info');\n\
             timeout(5);\n# check_accum_error_log();\nno_shuffle();\n\
             $ENV{TEST_NGINX_HTML_DIR} ||= \"/srv/html\";\n$ENV{'TEST_NGINX_X'} = 'x';\n\
             run_tests();\n",
        );
        assert_eq!(controls.repeat_each, Some(2));
        assert_eq!(controls.log_level.as_deref(), Some("info"));
        assert_eq!(controls.timeout.as_deref(), Some("5"));
        assert!(!controls.accumulate_error_log);
        assert_eq!(
            controls.env.get("TEST_NGINX_HTML_DIR"),
            Some(&EnvDefault { value: "/srv/html".into(), overrides: false })
        );
        assert_eq!(controls.env.get("TEST_NGINX_X").map(|d| d.overrides), Some(true));
    }

    #[test]
    fn apisix_defaults() {
        let controls = read_controls("use t::APISIX 'no_plan';\nrun_tests;\n");
        assert!(controls.apisix);
        assert_eq!(controls.log_level.as_deref(), Some("info"));
        assert_eq!(controls.timeout.as_deref(), Some("5"));
        assert!(!read_controls("use Test::Nginx::Socket::Lua::Stream;\n").apisix);
    }

    #[test]
    fn non_literal_assignments_are_not_read() {
        let controls = read_controls("$ENV{TEST_NGINX_HTML_DIR} ||= html_dir();\n");
        assert!(controls.env.is_empty());
        assert_eq!(read_controls("").repeat_each, None);
    }
}
