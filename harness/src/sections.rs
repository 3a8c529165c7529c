//! What the runner does with each section: which it serves, which make a block skipped
//! (http, Lua, mock servers), the skip and todo specs, timeouts and `user_files`.

use std::time::Duration;

use crate::binary::{num, BinaryInfo};
use crate::check::{Check, Verdict};
use crate::spec::Block;

/// Sections Test::Nginx (or t/APISIX.pm) knows that need its HTTP server: a block with one
/// is skipped.
const HTTP_SECTIONS: &[&str] = &[
    "config",
    "http_config",
    "request",
    "request_eval",
    "request_headers",
    "more_headers",
    "raw_request",
    "raw_request_middle_delay",
    "pipelined_requests",
    "chunked_body",
    "shutdown",
    "response_headers",
    "response_headers_like",
    "raw_response_headers_like",
    "raw_response_headers_unlike",
    "error_code_like",
    "response_body_unlike",
    "response_body_filters",
    "response_body_json_sort",
    "write_resp_body_file",
    "charset",
    "curl",
    "curl_options",
    "curl_error",
    "http09",
    "http2",
    "http3",
    "exec",
    "stdin",
    "max_size",
];

/// Sections Test::Nginx (or t/APISIX.pm) knows that need something else the runner does
/// not provide, with what it is: a block with one is skipped.
const UNSUPPORTED_SECTIONS: &[(&str, &str)] = &[
    ("init", "Perl code"),
    ("post_setup_server_root", "Perl code"),
    ("response_body_eval", "Perl code"),
    ("tcp_listen", "the embedded TCP mock server"),
    ("tcp_reply", "the embedded TCP mock server"),
    ("tcp_reply_delay", "the embedded TCP mock server"),
    ("tcp_query", "the embedded TCP mock server"),
    ("tcp_query_len", "the embedded TCP mock server"),
    ("tcp_no_close", "the embedded TCP mock server"),
    ("tcp_shutdown", "the embedded TCP mock server"),
    ("udp_listen", "the embedded UDP mock server"),
    ("udp_reply", "the embedded UDP mock server"),
    ("udp_reply_delay", "the embedded UDP mock server"),
    ("udp_query", "the embedded UDP mock server"),
    ("stap", "systemtap"),
    ("stap_out", "systemtap"),
    ("stap_out_like", "systemtap"),
    ("stap_out_unlike", "systemtap"),
    ("shutdown_error_log", "checks at server shutdown"),
    ("no_shutdown_error_log", "checks at server shutdown"),
    ("reload_fails", "reloads with HUP"),
    ("log_stream_response", "Lua's print"),
    ("todo_nginx", "todo by version"),
    ("skip_slave", "build slaves"),
    ("stream_upstream_code", "Lua"),
    ("stream_enable", "APISIX's Lua stream setup"),
    ("extra_stream_config", "APISIX's Lua stream setup"),
    ("stream_init_by_lua_block", "APISIX's Lua stream setup"),
    ("stream_extra_init_by_lua", "APISIX's Lua stream setup"),
    ("stream_extra_init_by_lua_start", "APISIX's Lua stream setup"),
    ("stream_extra_init_worker_by_lua", "APISIX's Lua stream setup"),
    ("extra_init_by_lua", "APISIX's Lua setup"),
    ("extra_init_by_lua_start", "APISIX's Lua setup"),
    ("extra_init_worker_by_lua", "APISIX's Lua setup"),
    ("init_by_lua_block", "APISIX's Lua setup"),
    ("lua_deps_path", "APISIX's Lua setup"),
    ("upstream_server_config", "APISIX's Lua setup"),
    ("yaml_config", "APISIX"),
    ("extra_yaml_config", "APISIX"),
    ("apisix_yaml", "APISIX"),
    ("apisix_json", "APISIX"),
    ("debug_config", "APISIX"),
    ("custom_trusted_cert", "APISIX"),
    ("listen_ipv6", "APISIX"),
];

/// Sections the runner honours (or that change nothing for a stream runner, such as
/// `no_check_leak` or `server_name`).
const KNOWN_SECTIONS: &[&str] = &[
    "ONLY",
    "SKIP",
    "LAST",
    "main_config",
    "post_main_config",
    "stream_config",
    "stream_server_config",
    "stream_server_config2",
    "stream_server_config3",
    "steam_listen_option",
    "steam_listen_option2",
    "steam_listen_option3",
    "stream_request",
    "stream_request2",
    "stream_request3",
    "stream_response",
    "stream_response_like",
    "response_body",
    "response_body_like",
    "error_code",
    "error_log",
    "no_error_log",
    "grep_error_log",
    "grep_error_log_out",
    "access_log",
    "no_access_log",
    "timeout",
    "wait",
    "abort",
    "log_level",
    "must_die",
    "user_files",
    "error_log_file",
    "skip_nginx",
    "skip_nginx2",
    "skip_openssl",
    "skip_eval",
    "todo",
    "stream_tls_request",
    "stream_sni",
    "stream_session_reuse",
    "stream_conf_enable",
    "suppress_stderr",
    "no_check_leak",
    "no_mockeagain",
    "ignore_response",
    "ignore_response_body",
    "ignore_error_log",
    "server_name",
    "server_addr_for_client",
    "wait_etcd_sync",
    "no_long_string",
];

/// `skip_nginx`, `skip_nginx2`, `skip_openssl`, `skip_eval`: how many checks to report as
/// skipped and why, when the condition holds.
pub(crate) fn skip_reason(
    block: &Block,
    info: &BinaryInfo,
) -> Result<Option<(usize, String)>, String> {
    let version = info.version.map(|(a, b, c)| (a, b, c, 0));
    if let Some(spec) = block.text("skip_nginx") {
        let re = regex::Regex::new(
            r"^\s*(\d+)\s*:\s*([<>]=?)\s*(\d+)\.(\d+)\.(\d+)(?:\s*:\s*(.*?))?\s*$",
        )
        .map_err(|e| e.to_string())?;
        let c = re.captures(&spec).ok_or_else(|| format!("Invalid --- skip_nginx spec: {spec}"))?;
        let want = (num(&c[3]), num(&c[4]), num(&c[5]), 0);
        if compare(version, &c[2], want) {
            let reason =
                c.get(6).map(|m| m.as_str().to_string()).filter(|r| !r.is_empty()).unwrap_or_else(
                    || format!("nginx version {} {}.{}.{}", &c[2], &c[3], &c[4], &c[5]),
                );
            return Ok(Some((num(&c[1]) as usize, reason)));
        }
    } else if let Some(spec) = block.text("skip_nginx2") {
        let re = regex::Regex::new(concat!(
            r"^\s*(\d+)\s*:\s*([<>]=?)\s*(\d+)\.(\d+)\.(\d+)\s*(or|and)",
            r"\s*([<>]=?)\s*(\d+)\.(\d+)\.(\d+)(?:\s*:\s*(.*?))?\s*$"
        ))
        .map_err(|e| e.to_string())?;
        let c =
            re.captures(&spec).ok_or_else(|| format!("Invalid --- skip_nginx2 spec: {spec}"))?;
        let a = compare(version, &c[2], (num(&c[3]), num(&c[4]), num(&c[5]), 0));
        let b = compare(version, &c[7], (num(&c[8]), num(&c[9]), num(&c[10]), 0));
        let hit = version.is_none() || if &c[6] == "or" { a || b } else { a && b };
        if hit {
            let reason = c
                .get(11)
                .map(|m| m.as_str().to_string())
                .unwrap_or_else(|| "various reasons".into());
            return Ok(Some((num(&c[1]) as usize, reason)));
        }
    }
    if let Some(spec) = block.text("skip_openssl") {
        let re = regex::Regex::new(
            r"^\s*(\d+)\s*:\s*([<>]=?)\s*(\d+)\.(\d+)\.(\d+)([a-z])?(?:\s*:\s*(.*?))?\s*$",
        )
        .map_err(|e| e.to_string())?;
        let c =
            re.captures(&spec).ok_or_else(|| format!("Invalid --- skip_openssl spec: {spec}"))?;
        let letter = c.get(6).map(|m| (m.as_str().as_bytes()[0] - b'a' + 1) as u32).unwrap_or(0);
        let want = (num(&c[3]), num(&c[4]), num(&c[5]), letter);
        if info.openssl.is_none() || compare(info.openssl, &c[2], want) {
            let reason = c.get(7).map(|m| m.as_str().to_string()).unwrap_or_else(|| {
                if info.openssl.is_none() {
                    "Not built with OpenSSL".into()
                } else {
                    format!("OpenSSL version {} {}.{}.{}", &c[2], &c[3], &c[4], &c[5])
                }
            });
            return Ok(Some((num(&c[1]) as usize, reason)));
        }
    }
    if let Some(spec) = block.text("skip_eval") {
        let (count, code) =
            spec.split_once(':').ok_or_else(|| format!("Invalid --- skip_eval spec: {spec}"))?;
        let count: usize =
            count.trim().parse().map_err(|_| format!("Invalid --- skip_eval spec: {spec}"))?;

        // Perl beyond literals cannot be evaluated: the block is skipped, never passed.
        match crate::perl::eval(code.trim().as_bytes()) {
            Ok(Some(value)) if value.is_true() => return Ok(Some((count, "skip_eval".into()))),
            Ok(_) => {}
            Err(e) => return Ok(Some((count, format!("needs Perl: --- skip_eval ({e})")))),
        }
    }
    Ok(None)
}

/// Why a block of an APISIX file (`use t::APISIX`) cannot run: t/APISIX.pm builds the
/// stream config of blocks that send a stream request without their own
/// `stream_server_config` (Lua, etcd, its fake upstream on 1995).
pub(crate) fn apisix_reason(block: &Block) -> Option<String> {
    let sends = ["stream_request", "stream_tls_request", "stream_enable"];
    let sent = sends.iter().find(|s| block.has(s))?;
    if block.has("stream_server_config") {
        return None;
    }
    Some(format!("needs APISIX's Lua stream setup: --- {sent} without a stream_server_config"))
}

/// Stream.pm's preprocessing: `stream_response` becomes `response_body` and
/// `stream_response_like` becomes `response_body_like`; both at once is an error.
pub(crate) fn with_response_checks(block: &Block) -> Result<Block, Check> {
    let mut block = block.clone();
    for (from, to) in
        [("stream_response", "response_body"), ("stream_response_like", "response_body_like")]
    {
        if let Some(value) = block.get(from).cloned() {
            if block.has(to) {
                let message = format!("conflicting {from} and {to} sections");
                return Err(Check::fail("sections", vec![message]));
            }
            block.set(to, value);
        }
    }
    Ok(block)
}

/// `have OP want` for versions; an unknown version satisfies `<` and `<=`.
fn compare(have: Option<(u32, u32, u32, u32)>, op: &str, want: (u32, u32, u32, u32)) -> bool {
    let Some(have) = have else { return op.starts_with('<') };
    match op {
        "<" => have < want,
        "<=" => have <= want,
        ">" => have > want,
        ">=" => have >= want,
        _ => false,
    }
}

/// Why the runner cannot run a block, if it cannot: a section Test::Nginx knows that needs
/// what the runner does not provide. Sections nobody knows do not count (see
/// [`unknown_sections`]).
pub(crate) fn unsupported_reason(block: &Block) -> Option<String> {
    for section in &block.sections {
        let name = section.name.as_str();
        if HTTP_SECTIONS.contains(&name) {
            return Some(format!(
                "needs http: --- {name} (strait's runner talks to stream servers only)"
            ));
        }
        if name == "error_code" && block.text("error_code").is_some_and(|c| c.trim() != "200") {
            return Some("needs http: --- error_code other than 200".into());
        }
        if let Some((_, what)) = UNSUPPORTED_SECTIONS.iter().find(|(n, _)| *n == name) {
            return Some(format!("needs {what}: --- {name}"));
        }
    }
    None
}

/// The block's sections that neither Test::Nginx nor the runner knows, in order: Test::Nginx
/// ignores them and runs the block (Test::Base accepts any section name), and so does the
/// runner, with a note each.
pub(crate) fn unknown_sections(block: &Block) -> Vec<&str> {
    let mut unknown: Vec<&str> = Vec::new();
    let names = block.sections.iter().map(|s| s.name.as_str());
    for name in names.chain(block.undefined.iter().map(String::as_str)) {
        let known = KNOWN_SECTIONS.contains(&name)
            || HTTP_SECTIONS.contains(&name)
            || UNSUPPORTED_SECTIONS.iter().any(|(n, _)| *n == name);
        if !known && !unknown.contains(&name) {
            unknown.push(name);
        }
    }
    unknown
}

/// The block's client timeout: `timeout` (`N`, `Ns`, `Nms`), else the default, else 3s.
///
/// `default` is the file's `timeout(N)`, else `TEST_NGINX_TIMEOUT`.
pub(crate) fn parse_timeout(block: &Block, default: Option<&str>) -> Duration {
    let text = block.text("timeout").or_else(|| default.map(str::to_string)).unwrap_or_default();
    let text = text.trim();
    let seconds = if let Some(ms) = text.strip_suffix("ms") {
        ms.trim().parse::<f64>().map(|v| v / 1000.0).ok()
    } else {
        text.strip_suffix('s').unwrap_or(text).trim().parse::<f64>().ok()
    };
    Duration::from_secs_f64(seconds.filter(|s| *s > 0.0).unwrap_or(3.0).min(600.0))
}

/// One `user_files` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct UserFile {
    /// The path: relative to `html/`, or absolute.
    pub(crate) name: String,
    /// The modification time as `touch -t` takes it (`[[CC]YY]MMDDhhmm[.ss]`, GMT).
    pub(crate) mtime: Option<String>,
    /// The body (env-expanded when written).
    pub(crate) body: String,
}

/// `user_files` entries: a line with `>>> path [mtime]` starts a file (Test::Nginx's
/// unanchored `/>>> (\S+)(?:\s+(.+))?/`); the lines after it are its body.
pub(crate) fn user_files(text: &str) -> Vec<UserFile> {
    let mut files: Vec<UserFile> = Vec::new();
    for line in text.split_inclusive('\n') {
        if let Some(at) = line.find(">>> ") {
            let rest = &line[at + 4..];
            let name: String = rest.chars().take_while(|c| !c.is_whitespace()).collect();
            if !name.is_empty() {
                let mtime = rest[name.len()..].trim();
                let mtime = (!mtime.is_empty()).then(|| mtime.to_string());
                files.push(UserFile { name, mtime, body: String::new() });
                continue;
            }
        }
        if let Some(file) = files.last_mut() {
            file.body.push_str(line);
        }
    }
    files
}

/// Seconds since the epoch for `touch -t`'s `[[CC]YY]MMDDhhmm[.ss]`, read as GMT.
pub(crate) fn touch_time(spec: &str) -> Option<u64> {
    let (digits, seconds) = match spec.split_once('.') {
        Some((d, s)) => (d, s.parse::<u64>().ok()?),
        None => (spec, 0),
    };
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let field = |i: usize| digits[i..i + 2].parse::<u64>().ok();
    let (year, rest) = match digits.len() {
        12 => (digits[..4].parse::<u64>().ok()?, 4),
        10 => {
            // POSIX: YY 69-99 are 1969-1999, 00-68 are 2000-2068.
            let yy = field(0)?;
            (if yy >= 69 { 1900 + yy } else { 2000 + yy }, 2)
        }
        _ => return None,
    };
    let (month, day, hour, minute) =
        (field(rest)?, field(rest + 2)?, field(rest + 4)?, field(rest + 6)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 {
        return None;
    }

    // Days from the civil date (Howard Hinnant's algorithm), then seconds.
    let y = if month <= 2 { year - 1 } else { year };
    let era = y / 400;
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = (era * 146097 + doe).checked_sub(719468)?;
    Some(days * 86400 + hour * 3600 + minute * 60 + seconds)
}

/// `todo: N: reason` marks the block's checks as TODO: failures then do not count.
pub(crate) fn mark_todo(checks: Vec<Check>, todo: Option<&str>) -> Vec<Check> {
    let Some(todo) = todo else { return checks };
    let reason = todo.split_once(':').map(|(_, r)| r.trim()).unwrap_or(todo.trim()).to_string();
    checks
        .into_iter()
        .map(|c| match c.verdict {
            Verdict::Fail(_) => Check::skip(c.description, format!("TODO {reason}")),
            _ => c,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::parse_file;
    use std::path::Path;

    fn block(spec: &str) -> Block {
        parse_file(Path::new("x.t"), &format!("__DATA__\n=== TEST 1\n{spec}"))
            .unwrap()
            .blocks
            .remove(0)
    }

    #[test]
    fn http_blocks_are_skipped_with_the_reason() {
        let reason =
            unsupported_reason(&block("--- config\nlocation /t {}\n--- request\nGET /t\n"));
        assert_eq!(
            reason.unwrap(),
            "needs http: --- config (strait's runner talks to stream servers only)"
        );
        assert!(unsupported_reason(&block(
            "--- stream_server_config\nreturn 1;\n--- error_code: 200\n"
        ))
        .is_none());
        assert!(unsupported_reason(&block("--- tcp_listen: 1\n")).unwrap().contains("mock server"));
        assert!(unsupported_reason(&block("--- stap_out\nx\n")).unwrap().contains("systemtap"));
    }

    /// Test::Nginx ignores sections it does not know and runs the block; so does the runner.
    #[test]
    fn unknown_sections_are_ignored_not_skipped() {
        let b = block(
            "--- stream_server_config\nreturn 1;\n--- foo_bar\nx\n--- stream_response\n1\n\
             --- frobnicate eval\n()\n--- foo_bar\ny\n",
        );
        assert_eq!(unsupported_reason(&b), None);
        assert_eq!(unknown_sections(&b), ["foo_bar", "frobnicate"]);
        let known =
            block("--- stream_server_config\nreturn 1;\n--- config\nx\n--- no_mockeagain\n");
        assert!(unknown_sections(&known).is_empty());
    }

    #[test]
    fn timeouts_parse_like_test_nginx() {
        assert_eq!(parse_timeout(&block("--- timeout: 5\n"), None), Duration::from_secs(5));
        assert_eq!(parse_timeout(&block("--- timeout: 500ms\n"), None), Duration::from_millis(500));
        assert_eq!(parse_timeout(&block("--- timeout: 2s\n"), Some("1")), Duration::from_secs(2));
        assert_eq!(parse_timeout(&block("--- x\n"), None), Duration::from_secs(3));
        assert_eq!(parse_timeout(&block("--- x\n"), Some("7")), Duration::from_secs(7));
    }

    #[test]
    fn user_files_split_on_markers() {
        let files = user_files(">>> a.txt\nhello\n>>> ../conf/b 202001010000\nx\ny\n");
        let a = UserFile { name: "a.txt".into(), mtime: None, body: "hello\n".into() };
        let b = UserFile {
            name: "../conf/b".into(),
            mtime: Some("202001010000".into()),
            body: "x\ny\n".into(),
        };
        assert_eq!(files, [a, b]);
    }

    #[test]
    fn touch_times_are_gmt() {
        assert_eq!(touch_time("197001010000"), Some(0));
        assert_eq!(touch_time("202001010000.30"), Some(1_577_836_830));
        assert_eq!(touch_time("0001010000"), Some(946_684_800));
        assert_eq!(touch_time("2020130100"), None);
    }

    #[test]
    fn version_comparisons() {
        assert!(compare(Some((1, 22, 1, 0)), "<", (1, 23, 0, 0)));
        assert!(!compare(Some((1, 22, 1, 0)), ">=", (1, 23, 0, 0)));
        assert!(compare(None, "<=", (1, 0, 0, 0)));
        assert!(!compare(None, ">", (1, 0, 0, 0)));
    }

    fn nginx_1_22() -> BinaryInfo {
        BinaryInfo {
            path: "/usr/sbin/nginx".into(),
            flavour: crate::differences::Flavour::Nginx,
            version: Some((1, 22, 1)),
            openssl: Some((3, 0, 11, 0)),
            load_modules: Vec::new(),
        }
    }

    #[test]
    fn skip_specs_follow_test_nginx() {
        let info = nginx_1_22();
        let skip = |spec: &str| skip_reason(&block(spec), &info);
        assert_eq!(
            skip("--- skip_nginx: 3: < 1.23.0\n").unwrap(),
            Some((3, "nginx version < 1.23.0".into()))
        );
        assert_eq!(skip("--- skip_nginx: 2: >= 1.23.0\n").unwrap(), None);
        assert_eq!(
            skip("--- skip_nginx: 1: > 1.0.0: too new\n").unwrap(),
            Some((1, "too new".into()))
        );
        assert!(skip("--- skip_nginx: 1: 1.0\n")
            .unwrap_err()
            .starts_with("Invalid --- skip_nginx spec"));
        assert_eq!(
            skip("--- skip_nginx2: 2: < 1.0.0 or > 1.21.0\n").unwrap().map(|s| s.0),
            Some(2)
        );
        assert_eq!(skip("--- skip_openssl: 4: < 3.0.12\n").unwrap().map(|s| s.0), Some(4));
        assert_eq!(skip("--- skip_openssl: 4: < 3.0.11\n").unwrap(), None);
        assert_eq!(skip("--- skip_eval: 2: 1\n").unwrap(), Some((2, "skip_eval".into())));
        assert_eq!(skip("--- skip_eval: 2: \"\"\n").unwrap(), None);
        let perl = skip("--- skip_eval: 1: $ENV{X}\n").unwrap().unwrap();
        assert!(perl.1.starts_with("needs Perl: --- skip_eval"));
    }

    #[test]
    fn apisix_blocks_without_their_own_stream_config_are_skipped() {
        let reason = apisix_reason(&block("--- stream_request\nmmm\n--- stream_response\nx\n"));
        assert!(reason.unwrap().starts_with("needs APISIX's Lua stream setup: --- stream_request"));
        let own = block("--- stream_server_config\nreturn 1;\n--- stream_request\nmmm\n");
        assert!(apisix_reason(&own).is_none());
        assert!(apisix_reason(&block("--- stream_server_config\nreturn 1;\n")).is_none());
    }
}
