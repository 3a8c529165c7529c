//! `log_format`: the compiled format of access_log lines and the escaping of variable values
//! (`escape=default|json|none`), byte for byte as nginx's `ngx_stream_log_module`.
//!
//! A format is literal text and variables (`$name`, `${name}`; names of letters, digits and
//! `_`), parsed by the log module's own rules, not as a complex value. Rendering asks the
//! caller for each variable's value (`None` when the variable is "not found"):
//! - `escape=default` (the default): a missing value is `-`; `"`, `\`, bytes below 0x20 and
//!   bytes 0x7f and above become `\xHH` (uppercase hex);
//! - `escape=json`: a missing value is empty; `"` and `\` get a backslash, `\n \r \t \b \f`
//!   their short forms, other bytes below 0x20 `\u00HH` (uppercase hex); bytes 0x7f and
//!   above are copied;
//! - `escape=none`: a missing value is empty; bytes are copied.
//!
//! Literal text is never escaped. Each line ends with `\n`.

/// A fault in a `log_format` directive; messages are nginx's (the caller adds
/// ` in FILE:LINE`).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LogFormatError {
    /// `escape=` with something other than `default`, `json`, `none`.
    #[error("unknown log format escaping \"{0}\"")]
    UnknownEscape(String),
    /// A `$` with no name after it (`$`, `${`, `$-`): the rest of the argument is shown.
    #[error("invalid parameter \"{0}\"")]
    InvalidParameter(String),
    /// `${name` without the closing bracket.
    #[error("the closing bracket in \"{0}\" variable is missing")]
    MissingBracket(String),
}

/// How variable values are escaped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Escape {
    /// `escape=default`.
    #[default]
    Default,
    /// `escape=json`.
    Json,
    /// `escape=none`.
    None,
}

impl Escape {
    /// Appends `value` (`None`: the variable was not found) escaped this way.
    pub fn write(self, value: Option<&[u8]>, out: &mut Vec<u8>) {
        match (self, value) {
            (Escape::Default, None) => out.push(b'-'),
            (_, None) => {}
            (Escape::Default, Some(bytes)) => escape_default(bytes, out),
            (Escape::Json, Some(bytes)) => escape_json(bytes, out),
            (Escape::None, Some(bytes)) => out.extend_from_slice(bytes),
        }
    }
}

const UPPER_HEX: &[u8; 16] = b"0123456789ABCDEF";

/// nginx's `ngx_stream_log_escape`: `"`, `\`, bytes < 0x20 and >= 0x7f as `\xHH`.
pub fn escape_default(value: &[u8], out: &mut Vec<u8>) {
    for &byte in value {
        if !(0x20..0x7f).contains(&byte) || byte == b'"' || byte == b'\\' {
            out.extend_from_slice(&[
                b'\\',
                b'x',
                UPPER_HEX[usize::from(byte >> 4)],
                UPPER_HEX[usize::from(byte & 0xf)],
            ]);
        } else {
            out.push(byte);
        }
    }
}

/// nginx's `ngx_escape_json`.
pub fn escape_json(value: &[u8], out: &mut Vec<u8>) {
    for &byte in value {
        match byte {
            b'"' | b'\\' => out.extend_from_slice(&[b'\\', byte]),
            0x20.. => out.push(byte),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x0c => out.extend_from_slice(b"\\f"),
            _ => out.extend_from_slice(&[
                b'\\',
                b'u',
                b'0',
                b'0',
                UPPER_HEX[usize::from(byte >> 4)],
                UPPER_HEX[usize::from(byte & 0xf)],
            ]),
        }
    }
}

/// One piece of a format.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Op {
    /// Text copied as is.
    Literal(Vec<u8>),
    /// A variable, by name as written (nginx resolves names case-insensitively).
    Variable(String),
}

/// A compiled `log_format`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogFormat {
    /// The format's name (`access_log` finds it case-insensitively).
    pub name: String,
    /// The escaping of variable values.
    pub escape: Escape,
    /// The pieces in order; the arguments are concatenated without separators.
    pub ops: Vec<Op>,
}

impl LogFormat {
    /// Compiles `log_format NAME [escape=...] STRING...` from the arguments after the name.
    pub fn compile(name: &[u8], args: &[&[u8]]) -> Result<LogFormat, LogFormatError> {
        // `escape=` is recognised as the first string only.
        let mut escape = Escape::Default;
        let mut strings = args;
        if let Some(mode) = args.first().and_then(|a| a.strip_prefix(b"escape=")) {
            escape = match mode {
                b"default" => Escape::Default,
                b"json" => Escape::Json,
                b"none" => Escape::None,
                _ => return Err(LogFormatError::UnknownEscape(display(mode))),
            };
            strings = &args[1..];
        }

        // Each string is split into literal runs and `$name` / `${name}` variables.
        let mut ops = Vec::new();
        for string in strings {
            let mut i = 0;
            while i < string.len() {
                if string[i] == b'$' {
                    let (name, next) = variable(string, i)?;
                    ops.push(Op::Variable(name));
                    i = next;
                } else {
                    let end = string[i + 1..]
                        .iter()
                        .position(|&c| c == b'$')
                        .map_or(string.len(), |p| i + 1 + p);
                    ops.push(Op::Literal(string[i..end].to_vec()));
                    i = end;
                }
            }
        }
        Ok(LogFormat { name: display(name), escape, ops })
    }

    /// The variable names the format uses, in order (duplicates kept).
    pub fn variables(&self) -> impl Iterator<Item = &str> {
        self.ops.iter().filter_map(|op| match op {
            Op::Variable(name) => Some(name.as_str()),
            Op::Literal(_) => None,
        })
    }

    /// Renders one access_log line (with its `\n`); `value` gives a variable's value or
    /// `None` when it is not found.
    pub fn line<'v>(&self, mut value: impl FnMut(&str) -> Option<&'v [u8]>) -> Vec<u8> {
        let mut out = Vec::with_capacity(128);
        for op in &self.ops {
            match op {
                Op::Literal(text) => out.extend_from_slice(text),
                Op::Variable(name) => self.escape.write(value(name), &mut out),
            }
        }
        out.push(b'\n');
        out
    }
}

/// Parses the variable starting at `string[start] == b'$'`; returns its name and the index
/// after it.
fn variable(string: &[u8], start: usize) -> Result<(String, usize), LogFormatError> {
    let invalid = || LogFormatError::InvalidParameter(display(&string[start..]));
    let mut i = start + 1;
    if i == string.len() {
        return Err(invalid());
    }

    // `${` opens a bracketed name.
    let mut bracket = false;
    if string[i] == b'{' {
        bracket = true;
        i += 1;
        if i == string.len() {
            return Err(invalid());
        }
    }

    // The name: letters, digits, `_`; a bracketed name must close with `}`.
    let name_start = i;
    while i < string.len() && (string[i].is_ascii_alphanumeric() || string[i] == b'_') {
        i += 1;
    }
    let name = &string[name_start..i];
    if bracket {
        if i < string.len() && string[i] == b'}' {
            i += 1;
        } else {
            return Err(LogFormatError::MissingBracket(display(name)));
        }
    }
    if name.is_empty() {
        return Err(invalid());
    }
    Ok((display(name), i))
}

fn display(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The value real nginx 1.22.1 logged: `set $k "a\"b\\c\td\ne\rf<01 08 0c 1f 7f 80 c3 a9
    /// ff> 'q' /x?&=%"`.
    const VALUE: &[u8] = b"a\"b\\c\td\ne\rf\x01\x08\x0c\x1f\x7f\x80\xc3\xa9\xff 'q' /x?&=%";

    /// `$binary_remote_addr` of 127.0.0.1.
    const BINARY: &[u8] = b"\x7f\x00\x00\x01";

    fn compile(name: &str, args: &[&str]) -> Result<LogFormat, LogFormatError> {
        let args: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
        LogFormat::compile(name.as_bytes(), &args)
    }

    /// Values as in the real-nginx run: `$k` as above, `$m` a map giving "", `$upstream_addr`
    /// not found (a `return` server), `$binary_remote_addr`, `$status` 200.
    fn lookup(name: &str) -> Option<&'static [u8]> {
        match name {
            "k" => Some(VALUE),
            "m" => Some(b""),
            "upstream_addr" => None,
            "binary_remote_addr" => Some(BINARY),
            "status" => Some(b"200"),
            _ => panic!("unexpected variable {name}"),
        }
    }

    /// Real nginx 1.22.1: `log_format d '[$k] [$m] [$upstream_addr] [$binary_remote_addr]
    /// [${k}x] [$status]';` and the json and none formats below (the json one written as one
    /// string there: strings are concatenated), one session, the log files read back.
    #[test]
    fn lines_match_nginx() {
        let default =
            compile("d", &["[$k] [$m] [$upstream_addr] [$binary_remote_addr] [${k}x] [$status]"])
                .unwrap();
        let escaped =
            b"a\\x22b\\x5Cc\\x09d\\x0Ae\\x0Df\\x01\\x08\\x0C\\x1F\\x7F\\x80\\xC3\\xA9\\xFF \
                        'q' /x?&=%";
        let mut want = Vec::new();
        for piece in
            [b"[".as_slice(), escaped, b"] [] [-] [\\x7F\\x00\\x00\\x01] [", escaped, b"x] [200]\n"]
        {
            want.extend_from_slice(piece);
        }
        assert_eq!(default.line(lookup), want);

        let json = compile(
            "j",
            &[
                "escape=json",
                "{\"k\":\"$k\",\"m\":\"$m\",",
                "\"u\":\"$upstream_addr\",\"b\":\"$binary_remote_addr\"}",
            ],
        )
        .unwrap();
        assert_eq!(
            json.line(lookup),
            b"{\"k\":\"a\\\"b\\\\c\\td\\ne\\rf\\u0001\\b\\f\\u001F\x7f\x80\xc3\xa9\xff 'q' \
              /x?&=%\",\"m\":\"\",\"u\":\"\",\"b\":\"\x7f\\u0000\\u0000\\u0001\"}\n"
        );

        let none = compile("n", &["escape=none", "[$k] [$m] [$upstream_addr]"]).unwrap();
        let mut want = b"[".to_vec();
        want.extend_from_slice(VALUE);
        want.extend_from_slice(b"] [] []\n");
        assert_eq!(none.line(lookup), want);

        let explicit_default = compile("dd", &["escape=default", "$k"]).unwrap();
        assert_eq!(explicit_default.escape, Escape::Default);
        assert_eq!(explicit_default.line(lookup), [escaped.as_slice(), b"\n"].concat());
    }

    #[test]
    fn strings_are_concatenated_and_parsed_per_string() {
        let format = compile("x", &["$status ", "$k", "-${status}"]).unwrap();
        assert_eq!(
            format.ops,
            [
                Op::Variable("status".into()),
                Op::Literal(b" ".to_vec()),
                Op::Variable("k".into()),
                Op::Literal(b"-".to_vec()),
                Op::Variable("status".into()),
            ]
        );
        assert_eq!(format.variables().collect::<Vec<_>>(), ["status", "k", "status"]);
        // `escape=` later than first is literal text.
        let late = compile("x", &["a", "escape=json"]).unwrap();
        assert_eq!(late.escape, Escape::Default);
        assert_eq!(late.ops[1], Op::Literal(b"escape=json".to_vec()));
        // A name stops at the first other byte.
        let stop = compile("x", &["$status.$k"]).unwrap();
        assert_eq!(stop.ops[1], Op::Literal(b".".to_vec()));
    }

    /// Messages of real nginx 1.22.1 `nginx -t` (before ` in FILE:LINE`).
    #[test]
    fn config_errors_match_nginx() {
        let cases: &[(&[&str], &str)] = &[
            (&["escape=foo", "$a"], "unknown log format escaping \"foo\""),
            (&["$"], "invalid parameter \"$\""),
            (&["${"], "invalid parameter \"${\""),
            (&["${abc def"], "the closing bracket in \"abc\" variable is missing"),
            (&["a$-b"], "invalid parameter \"$-b\""),
        ];
        for (args, message) in cases {
            assert_eq!(compile("x", args).unwrap_err().to_string(), *message, "{args:?}");
        }
        assert!(compile("x", &["escape=json"]).unwrap().ops.is_empty());
    }

    #[test]
    fn escapes_every_byte_as_nginx_tables_say() {
        for byte in 0u8..=255 {
            let mut out = Vec::new();
            escape_default(&[byte], &mut out);
            let escaped = !(b' '..=b'~').contains(&byte) || byte == b'"' || byte == b'\\';
            if escaped {
                assert_eq!(out, format!("\\x{byte:02X}").into_bytes());
            } else {
                assert_eq!(out, [byte]);
            }

            let mut json = Vec::new();
            escape_json(&[byte], &mut json);
            let want = match byte {
                b'"' => b"\\\"".to_vec(),
                b'\\' => b"\\\\".to_vec(),
                b'\n' => b"\\n".to_vec(),
                b'\r' => b"\\r".to_vec(),
                b'\t' => b"\\t".to_vec(),
                0x08 => b"\\b".to_vec(),
                0x0c => b"\\f".to_vec(),
                0..=0x1f => format!("\\u{byte:04X}").into_bytes(),
                _ => vec![byte],
            };
            assert_eq!(json, want, "json {byte:#x}");
        }
    }
}
