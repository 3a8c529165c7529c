//! The checks of a block: response body (exact or regex) and the error-log sections
//! (`error_log`, `no_error_log`, `grep_error_log`/`grep_error_log_out`), each producing
//! TAP results with Test::Nginx's pass rules.

use crate::value::{PerlRegex, Value};

/// The verdict of one check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The check passed.
    Pass,
    /// The check failed; the lines explain (section, expected, got).
    Fail(Vec<String>),
    /// The check was not run, with the reason.
    Skip(String),
}

/// One TAP line's worth: a description and a verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// What was checked (`stream_response`, `pattern "[error]" ...`).
    pub description: String,
    /// The outcome.
    pub verdict: Verdict,
}

impl Check {
    /// A passing or failing check.
    pub fn new(description: impl Into<String>, ok: bool, detail: Vec<String>) -> Check {
        let verdict = if ok { Verdict::Pass } else { Verdict::Fail(detail) };
        Check { description: description.into(), verdict }
    }

    /// A failed check.
    pub fn fail(description: impl Into<String>, detail: Vec<String>) -> Check {
        Check { description: description.into(), verdict: Verdict::Fail(detail) }
    }

    /// A skipped check.
    pub fn skip(description: impl Into<String>, reason: impl Into<String>) -> Check {
        Check { description: description.into(), verdict: Verdict::Skip(reason.into()) }
    }
}

/// Bytes as a quoted, escaped string for failure messages.
pub fn show(bytes: &[u8]) -> String {
    format!("\"{}\"", bytes.escape_ascii())
}

/// Compares the response with the expected `response_body` value: exact bytes for a
/// string, a match for a regex, the first element for a list (one request per block).
pub fn response_body(section: &str, expected: &Value, got: &[u8]) -> Check {
    let description = format!("{section} - response is expected");
    match expected {
        Value::Str(want) => Check::new(
            description,
            want.as_slice() == got,
            vec![
                format!("section:  --- {section}"),
                format!("expected: {}", show(want)),
                format!("got:      {}", show(got)),
            ],
        ),
        Value::Regex(re) => Check::new(
            description,
            re.is_match(got),
            vec![
                format!("section:  --- {section}"),
                format!("expected: like {re:?}"),
                format!("got:      {}", show(got)),
            ],
        ),
        Value::List(items) => match items.first() {
            Some(first) => response_body(section, first, got),
            None => Check::fail(description, vec!["an empty list expects nothing".into()]),
        },
    }
}

/// `response_body_like`: the value is a pattern matched as `qr/VALUE/s`.
pub fn response_body_like(section: &str, pattern: &Value, got: &[u8]) -> Check {
    let description = format!("{section} - response matches");
    let re = match pattern {
        Value::Regex(re) => Ok(re.clone()),
        Value::Str(text) => PerlRegex::new(&String::from_utf8_lossy(text), "s"),
        Value::List(_) => Err("a list is not a pattern".to_string()),
    };
    match re {
        Ok(re) => Check::new(
            description,
            re.is_match(got),
            vec![
                format!("section:  --- {section}"),
                format!("expected: like {re:?}"),
                format!("got:      {}", show(got)),
            ],
        ),
        Err(e) => Check::fail(description, vec![format!("section:  --- {section}"), e]),
    }
}

/// One error-log pattern: a literal substring or a regex.
#[derive(Debug, Clone)]
pub enum Pattern {
    /// Matches a line containing these bytes.
    Literal(Vec<u8>),
    /// Matches a line the regex matches.
    Regex(PerlRegex),
}

impl Pattern {
    fn find<'l>(&self, line: &'l [u8]) -> Option<&'l [u8]> {
        match self {
            Pattern::Literal(needle) => {
                if needle.is_empty() {
                    return Some(&line[..0]);
                }
                line.windows(needle.len())
                    .position(|w| w == needle.as_slice())
                    .map(|at| &line[at..at + needle.len()])
            }
            Pattern::Regex(re) => re.find(line),
        }
    }

    fn describe(&self) -> String {
        match self {
            Pattern::Literal(text) => show(text),
            Pattern::Regex(re) => format!("{re:?}"),
        }
    }
}

/// The patterns of an `error_log`/`no_error_log` value: a string is chomped and split on
/// runs of newlines (each line a literal); a regex is one pattern; a list mixes both.
pub fn log_patterns(value: &Value) -> Vec<Pattern> {
    match value {
        Value::Str(text) => {
            let text = text.strip_suffix(b"\n").unwrap_or(text);
            text.split(|b| *b == b'\n')
                .filter(|line| !line.is_empty())
                .map(|line| Pattern::Literal(line.to_vec()))
                .collect()
        }
        Value::Regex(re) => vec![Pattern::Regex(re.clone())],
        Value::List(items) => items
            .iter()
            .filter_map(|item| match item {
                Value::Str(text) => Some(Pattern::Literal(text.clone())),
                Value::Regex(re) => Some(Pattern::Regex(re.clone())),
                Value::List(_) => None,
            })
            .collect(),
    }
}

/// Splits log text into lines that keep their `\n`.
pub fn log_lines(log: &[u8]) -> Vec<&[u8]> {
    log.split_inclusive(|b| *b == b'\n').collect()
}

/// `error_log` (or `access_log`): every pattern must match at least one line. A failure
/// shows the log's error-level lines (or its last lines) to compare with.
pub fn log_has(section: &str, log_name: &str, value: &Value, lines: &[&[u8]]) -> Vec<Check> {
    log_patterns(value)
        .into_iter()
        .map(|pattern| {
            let description = format!(
                "{section} - pattern {} should match a line in {log_name}",
                pattern.describe()
            );
            if lines.iter().any(|line| pattern.find(line).is_some()) {
                return Check::new(description, true, Vec::new());
            }
            let mut detail = vec![
                format!("section:  --- {section}"),
                format!("expected: a line matching {}", pattern.describe()),
                format!("got:      no such line among {} lines of {log_name}", lines.len()),
            ];
            detail
                .extend(nearby_lines(lines).into_iter().map(|l| format!("log:      {}", show(l))));
            Check::fail(description, detail)
        })
        .collect()
}

/// Up to five lines at warn level or above, or else the last three lines.
fn nearby_lines<'l>(lines: &[&'l [u8]]) -> Vec<&'l [u8]> {
    let severe: Vec<&[u8]> = lines
        .iter()
        .copied()
        .filter(|line| {
            ["[warn]", "[error]", "[crit]", "[alert]", "[emerg]"]
                .iter()
                .any(|tag| line.windows(tag.len()).any(|w| w == tag.as_bytes()))
        })
        .take(5)
        .collect();
    if !severe.is_empty() {
        return severe;
    }
    lines[lines.len().saturating_sub(3)..].to_vec()
}

/// `no_error_log` (or `no_access_log`): no line may match any pattern; one failure per
/// matching line, one pass per pattern that matched nothing.
pub fn log_lacks(section: &str, log_name: &str, value: &Value, lines: &[&[u8]]) -> Vec<Check> {
    let mut checks = Vec::new();
    for pattern in log_patterns(value) {
        let description = format!(
            "{section} - pattern {} should not match any line in {log_name}",
            pattern.describe()
        );
        let matching: Vec<&&[u8]> = lines.iter().filter(|l| pattern.find(l).is_some()).collect();
        if matching.is_empty() {
            checks.push(Check::new(description.clone(), true, Vec::new()));
        }
        for line in matching {
            checks.push(Check::fail(
                description.clone(),
                vec![
                    format!("section:  --- {section}"),
                    format!("expected: no line matching {}", pattern.describe()),
                    format!("got:      {}", show(line)),
                ],
            ));
        }
    }
    checks
}

/// `grep_error_log`: the whole match of each matching line, unless it holds a newline,
/// each followed by `\n`.
pub fn grep_log(pattern: &Value, lines: &[&[u8]]) -> Result<Vec<u8>, String> {
    let pattern = match pattern {
        Value::Str(text) => Pattern::Literal(text.clone()),
        Value::Regex(re) => Pattern::Regex(re.clone()),
        Value::List(items) => match items.first() {
            Some(Value::Str(text)) => Pattern::Literal(text.clone()),
            Some(Value::Regex(re)) => Pattern::Regex(re.clone()),
            _ => return Err("grep_error_log: an empty or nested list".into()),
        },
    };
    let mut out = Vec::new();
    for line in lines {
        if let Some(found) = pattern.find(line) {
            if !found.contains(&b'\n') {
                out.extend_from_slice(found);
                out.push(b'\n');
            }
        }
    }
    Ok(out)
}

/// Warnings Test::Nginx prints for `[alert]`, `[crit]` and `[emerg]` lines that no pattern
/// of the block mentions (`mentioned` is the text of the block's log patterns).
pub fn severe_line_warnings(lines: &[&[u8]], mentioned: &str) -> Vec<String> {
    let mut warnings = Vec::new();
    for tag in ["[alert]", "[crit]", "[emerg]"] {
        // A pattern mentions the level by its word (a regex writes `\[emerg\]`).
        if mentioned.contains(&tag[1..tag.len() - 1]) {
            continue;
        }
        for line in lines {
            if line.windows(tag.len()).any(|w| w == tag.as_bytes()) {
                warnings.push(format!("WARNING: the error log has a {tag} line: {}", show(line)));
            }
        }
    }
    warnings
}

/// Lines reporting a failed assertion (Test::Nginx fails the block on these).
pub fn assertion_failures<'l>(lines: &[&'l [u8]]) -> Vec<&'l [u8]> {
    let re = PerlRegex::new(r"Assertion .*? failed", "").expect("a valid regex");
    lines.iter().copied().filter(|line| re.is_match(line)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(text: &str) -> Value {
        Value::Str(text.as_bytes().to_vec())
    }

    const LOG: &[u8] =
        b"2026/01/01 [notice] 1#1: start\n2026/01/01 [error] 1#1: *1 boom, client: 1\n";

    #[test]
    fn exact_and_regex_bodies() {
        assert_eq!(response_body("stream_response", &s("hi\n"), b"hi\n").verdict, Verdict::Pass);
        let check = response_body("stream_response", &s("hi\n"), b"ho\n");
        let Verdict::Fail(detail) = check.verdict else { panic!("should fail") };
        assert_eq!(
            detail,
            ["section:  --- stream_response", "expected: \"hi\\n\"", "got:      \"ho\\n\""]
        );
        let re = Value::Regex(PerlRegex::new("^h.$", "").unwrap());
        assert_eq!(response_body("x", &re, b"hi\n").verdict, Verdict::Pass);
        assert_eq!(response_body_like("x", &s("a.b\n"), b"xa\nb\n").verdict, Verdict::Pass);
        assert!(matches!(response_body_like("x", &s("a.b\n"), b"a\nb").verdict, Verdict::Fail(_)));
    }

    #[test]
    fn error_log_patterns_are_literal_lines() {
        let lines = log_lines(LOG);
        let checks = log_has("error_log", "error.log", &s("boom, client\n[notice]\n"), &lines);
        assert_eq!(checks.len(), 2);
        assert!(checks.iter().all(|c| c.verdict == Verdict::Pass));
        let checks = log_has("error_log", "error.log", &s("b.om\n"), &lines);
        assert!(matches!(checks[0].verdict, Verdict::Fail(_)));
    }

    #[test]
    fn no_error_log_fails_once_per_matching_line() {
        let lines = log_lines(LOG);
        let checks = log_lacks("no_error_log", "error.log", &s("2026\n[alert]\n"), &lines);
        let fails = checks.iter().filter(|c| matches!(c.verdict, Verdict::Fail(_))).count();
        assert_eq!((checks.len(), fails), (3, 2));
    }

    #[test]
    fn grep_collects_whole_matches_without_newlines() {
        let lines = log_lines(LOG);
        let re = Value::Regex(PerlRegex::new(r"\[\w+\]", "").unwrap());
        assert_eq!(grep_log(&re, &lines).unwrap(), b"[notice]\n[error]\n");
        // A plain body keeps its newline, so its match holds one and is never collected.
        assert_eq!(grep_log(&s("client: 1\n"), &lines).unwrap(), b"");
        assert_eq!(grep_log(&s("client: 1"), &lines).unwrap(), b"client: 1\n");
    }

    #[test]
    fn severe_lines_warn_unless_mentioned() {
        let lines = log_lines(b"x [alert] y\n");
        assert_eq!(severe_line_warnings(&lines, "").len(), 1);
        assert!(severe_line_warnings(&lines, "[alert]").is_empty());
        assert_eq!(assertion_failures(&log_lines(b"Assertion `x' failed.\n")).len(), 1);
    }
}
