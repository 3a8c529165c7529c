//! Lexer and tree-builder rules, each case checked against real `nginx -t`.
//!
//! Every case states what nginx 1.22.1 answers (observed while writing it). The test parses
//! the case with strait and compares; when `/usr/sbin/nginx` is installed (CI installs it)
//! it also runs `nginx -t` on the same files and compares nginx's answer with the same
//! expectation, so an expectation can never drift from nginx unnoticed.

use std::path::{Path, PathBuf};
use std::process::Command;

use strait_parser::{parse_file, ParseOptions};

const NGINX: &str = "/usr/sbin/nginx";
const LUA_MODULES: &str = "load_module /usr/lib/nginx/modules/ndk_http_module.so;\n\
                           load_module /usr/lib/nginx/modules/ngx_http_lua_module.so;\n";

/// One configuration and nginx's verdict on it.
struct Case {
    name: &'static str,
    /// The main file (`nginx.conf`).
    main: Vec<u8>,
    /// Other files, relative to the main file's directory.
    others: Vec<(&'static str, Vec<u8>)>,
    /// The `-g` string.
    globals: &'static str,
    /// `None`: syntax ok; `Some(msg)`: the `[emerg]` text, `DIR` standing for the directory.
    expect: Option<String>,
    /// Whether nginx needs the Lua module for this case.
    lua: bool,
}

fn case(name: &'static str, main: impl Into<Vec<u8>>, expect: Option<&str>) -> Case {
    Case {
        name,
        main: main.into(),
        others: Vec::new(),
        globals: "",
        expect: expect.map(str::to_string),
        lua: false,
    }
}

/// Writes the case's files into a fresh directory and returns it.
fn materialize(case: &Case) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("nginx.conf"), &case.main).expect("write main");
    for (name, content) in &case.others {
        let path = dir.path().join(name);
        std::fs::create_dir_all(path.parent().expect("has parent")).expect("mkdir");
        std::fs::write(path, content).expect("write include");
    }
    dir
}

/// strait's verdict: `None` when the parse succeeds, else the message.
fn strait_verdict(main: &Path, globals: &str) -> Option<String> {
    let options = ParseOptions { globals: globals.as_bytes().to_vec() };
    parse_file(main, &options).err().map(|err| err.to_string())
}

/// nginx's verdict, when nginx is installed.
fn nginx_verdict(dir: &Path, main: &Path, globals: &str) -> Option<Option<String>> {
    if !Path::new(NGINX).exists() {
        return None;
    }
    let mut command = Command::new(NGINX);
    command.arg("-t").arg("-c").arg(main).arg("-p").arg(format!("{}/", dir.display()));
    if !globals.is_empty() {
        command.arg("-g").arg(globals);
    }
    let output = command.output().expect("run nginx");
    let stderr = String::from_utf8_lossy(&output.stderr);
    if output.status.success() {
        return Some(None);
    }
    let line = stderr.lines().find(|line| line.contains("[emerg] "))?;
    let message = line.split("[emerg] ").nth(1).expect("has message");
    // Lines written through the error log carry `PID#TID: ` before the message.
    let message = match message.split_once(": ") {
        Some((pid, rest)) if pid.contains('#') => rest,
        _ => message,
    };
    Some(Some(message.to_string()))
}

fn run(cases: Vec<Case>) {
    let mut compared = 0;
    for case in cases {
        let dir = materialize(&case);
        let main: PathBuf = dir.path().join("nginx.conf");
        let shown = dir.path().display().to_string();
        let expect = case.expect.as_ref().map(|m| m.replace("DIR", &shown));

        assert_eq!(strait_verdict(&main, case.globals), expect, "strait, case {}", case.name);

        let lua_ok =
            !case.lua || Path::new("/usr/lib/nginx/modules/ngx_http_lua_module.so").exists();
        if lua_ok {
            if let Some(nginx) = nginx_verdict(dir.path(), &main, case.globals) {
                assert_eq!(
                    nginx, expect,
                    "nginx disagrees with the expectation, case {}",
                    case.name
                );
                compared += 1;
            }
        }
    }
    if !Path::new(NGINX).exists() {
        eprintln!("!!! {NGINX} is not installed: expectations were NOT compared with nginx !!!");
    } else {
        eprintln!("compared {compared} cases with nginx");
    }
}

fn x(n: usize) -> String {
    "x".repeat(n)
}

#[test]
fn token_rules_match_nginx() {
    let e = "events {}\n";
    run(vec![
        case(
            "eof_in_directive",
            format!("{e}env a"),
            Some("unexpected end of file, expecting \";\" or \"}\" in DIR/nginx.conf:2"),
        ),
        case(
            "eof_after_quote",
            format!("{e}env \"a\""),
            Some("unexpected end of file, expecting \";\" or \"}\" in DIR/nginx.conf:2"),
        ),
        case(
            "eof_in_block",
            "events {\n",
            Some("unexpected end of file, expecting \"}\" in DIR/nginx.conf:2"),
        ),
        case("stray_close", format!("{e}}}"), Some("unexpected \"}\" in DIR/nginx.conf:2")),
        case(
            "close_with_args",
            format!("{e}env a }}"),
            Some("unexpected \"}\" in DIR/nginx.conf:2"),
        ),
        case(
            "junk_after_quote",
            format!("{e}env \"a\"x;"),
            Some("unexpected \"x\" in DIR/nginx.conf:2"),
        ),
        case(
            "sharp_after_quote",
            format!("{e}env \"a\"#;"),
            Some("unexpected \"#\" in DIR/nginx.conf:2"),
        ),
        case("lone_semicolon", format!("{e};"), Some("unexpected \";\" in DIR/nginx.conf:2")),
        case("lone_brace", format!("{e}{{"), Some("unexpected \"{\" in DIR/nginx.conf:2")),
        case(
            "paren_after_quote",
            format!("{e}env \"a\")"),
            Some("unexpected end of file, expecting \";\" or \"}\" in DIR/nginx.conf:2"),
        ),
        case("sharp_inside_token", format!("{e}env a#b;"), None),
        case("close_inside_token", format!("{e}env a}}b;"), None),
        case("dollar_brace_in_token", format!("{e}env a${{b}}c;"), None),
        case("quote_inside_token", format!("{e}env a\"b\"c;"), None),
        case("escaped_semicolon", format!("{e}env a\\;b;"), None),
        case("escaped_quote_in_single", format!("{e}env 'a\\'b' ;"), None),
        case("multiline_quoted", format!("{e}env \"a\nb\n\";"), None),
        case(
            "crlf_lines",
            "events {}\r\nenv a;\r\nenv b\r\n",
            Some("unexpected end of file, expecting \";\" or \"}\" in DIR/nginx.conf:4"),
        ),
        case("comment_then_eof", format!("{e}# only a comment"), None),
        case(
            "comment_then_tokens_eof",
            format!("{e}env a # c"),
            Some("unexpected end of file, expecting \";\" or \"}\" in DIR/nginx.conf:2"),
        ),
        case(
            "line_of_terminator",
            format!("{e}env a\n\n\"b\"\n"),
            Some("unexpected end of file, expecting \";\" or \"}\" in DIR/nginx.conf:5"),
        ),
        case("non_utf8_token", b"events {}\nenv caf\xe9;\n".to_vec(), None),
    ]);
}

#[test]
fn token_buffer_matches_nginx() {
    let e = "events {}\n";
    let long = "too long parameter \"xxxxxxxxxx...\" started in DIR/nginx.conf:2";
    run(vec![
        case("bare_4095_semicolon", format!("{e}env {};\n", x(4095)), None),
        case("bare_4096_semicolon", format!("{e}env {};\n", x(4096)), Some(long)),
        case("bare_4094_blank", format!("{e}env {} ;\n", x(4094)), None),
        case("bare_4095_blank", format!("{e}env {} ;\n", x(4095)), Some(long)),
        case("quoted_4094_semicolon", format!("{e}env \"{}\";\n", x(4094)), None),
        case("quoted_4095_semicolon", format!("{e}env \"{}\";\n", x(4095)), Some(long)),
        case("quoted_4093_blank", format!("{e}env \"{}\" ;\n", x(4093)), None),
        case("quoted_4094_blank", format!("{e}env \"{}\" ;\n", x(4094)), Some(long)),
        case("comment_4095", format!("{e}#{}\nenv a;\n", x(4094)), None),
        case(
            "comment_4096",
            format!("{e}#{}\nenv a;\n", x(4095)),
            Some("too long parameter \"#xxxxxxxxx...\" started in DIR/nginx.conf:2"),
        ),
        case(
            "unterminated_quote_names_start_line",
            format!("{e}env \"a\n\nb{}\";\n", x(4095)),
            Some(
                "too long parameter, probably missing terminating \"\"\" character \
                 in DIR/nginx.conf:2",
            ),
        ),
        case(
            "unterminated_single_quote",
            format!("{e}env '{}\n", x(5000)),
            Some(
                "too long parameter, probably missing terminating \"'\" character \
                 in DIR/nginx.conf:2",
            ),
        ),
        case("long_token_at_end_of_file", format!("{e}env {}", x(4097)), Some(long)),
        case(
            "token_of_4096_at_end_of_file",
            format!("{e}env {}", x(4096)),
            Some("unexpected end of file, expecting \";\" or \"}\" in DIR/nginx.conf:2"),
        ),
    ]);
}

#[test]
fn includes_match_nginx() {
    let e = "events {}\n";
    let mut cases = vec![
        case(
            "missing_include",
            format!("{e}include conf.d/missing.conf;\n"),
            Some(
                "open() \"DIR/conf.d/missing.conf\" failed (2: No such file or directory) \
                 in DIR/nginx.conf:2",
            ),
        ),
        case("glob_matching_nothing", format!("{e}include conf.d/*.none;\n"), None),
    ];
    let mut fault_inside = case(
        "fault_inside_include",
        format!("{e}include conf.d/*.conf;\n"),
        Some("unexpected \"}\" in DIR/conf.d/b.conf:3"),
    );
    fault_inside.others =
        vec![("conf.d/a.conf", b"env a;\n".to_vec()), ("conf.d/b.conf", b"env b;\n\n}\n".to_vec())];
    cases.push(fault_inside);
    let mut eof_inside = case(
        "block_cannot_span_files",
        format!("{e}include inc.conf;\n"),
        Some("unexpected end of file, expecting \"}\" in DIR/inc.conf:2"),
    );
    eof_inside.others = vec![("inc.conf", b"http {\n".to_vec())];
    cases.push(eof_inside);
    cases.push(case(
        "include_place_is_its_terminator",
        format!("{e}include\n  missing.conf\n;\n"),
        Some(
            "open() \"DIR/missing.conf\" failed (2: No such file or directory) in DIR/nginx.conf:4",
        ),
    ));
    let mut in_map = case(
        "include_inside_a_block",
        format!("{e}http {{\n map $a $b {{\n  include m.conf;\n }}\n include bad.conf;\n}}\n"),
        Some("unexpected \";\" in DIR/bad.conf:2"),
    );
    in_map.others = vec![("m.conf", b"k v;\n".to_vec()), ("bad.conf", b"\n;\n".to_vec())];
    cases.push(in_map);
    let mut from_globals =
        case("include_from_command_line", e, Some("unexpected \"}\" in DIR/g.conf:1"));
    from_globals.globals = "include g.conf;";
    from_globals.others = vec![("g.conf", b"}\n".to_vec())];
    cases.push(from_globals);
    let mut cycle = case(
        "self_include",
        "include nginx.conf;\n",
        Some("open() \"DIR/nginx.conf\" failed (24: Too many open files) in DIR/nginx.conf:1"),
    );
    cycle.others = vec![];
    cases.push(cycle);
    run(cases);
}

#[test]
fn command_line_directives_match_nginx() {
    let ok = "events {}\n";
    let mut cases = Vec::new();
    for (name, globals, expect) in [
        ("g_ok", "env a; env b;", None),
        ("g_eof", "env a", Some("unexpected end of parameter, expecting \";\" in command line")),
        (
            "g_block",
            "events {}",
            Some("block directives are not supported in -g option in command line"),
        ),
        ("g_close", "}", Some("unexpected \"}\" in command line")),
    ] {
        let mut c = case(name, ok, expect);
        c.globals = globals;
        cases.push(c);
    }
    run(cases);
}

#[test]
fn lua_blocks_match_nginx_lua() {
    let head = format!("{LUA_MODULES}events {{}}\n");
    let mut cases = vec![
        case(
            "lua_body_with_braces_in_strings_and_comments",
            format!(
                "{head}http {{ server {{ location / {{ content_by_lua_block {{\n\
                 ngx.say(\"}}\") -- }}\n local t = {{a=[[}}]]}} --[==[ }} ]==]\n\
                 ngx.say('\\'}}')\n}}\n }} }} }}\n"
            ),
            None,
        ),
        case(
            "lua_unterminated_string_is_plain",
            format!("{head}http {{ init_by_lua_block {{ a = \"x}}\n}}\n"),
            None,
        ),
        case(
            "lua_string_ends_at_line_end",
            format!("{head}http {{ init_by_lua_block {{ a = 'x\n}}' }}\n}}\n"),
            Some("unexpected end of file, expecting \";\" or \"}\" in DIR/nginx.conf:7"),
        ),
        case(
            "lua_escaped_line_end_ends_string",
            format!("{head}http {{ init_by_lua_block {{ a = 'x\\\n}}' }}\n}}\n"),
            Some("unexpected end of file, expecting \";\" or \"}\" in DIR/nginx.conf:7"),
        ),
        case(
            "lua_escaped_quote_in_string",
            format!("{head}http {{ init_by_lua_block {{ a = \"x\\\"}}\" }}\n}}\n"),
            None,
        ),
        case(
            "lua_eof_names_last_open_brace",
            format!("{head}http {{ init_by_lua_block {{ a = {{\n{{\n}}\n"),
            Some(
                "unexpected end of file, expecting terminating characters for lua code block \
                 in DIR/nginx.conf:5",
            ),
        ),
        case(
            "lua_unclosed_block",
            format!("{head}http {{ server {{ location / {{ content_by_lua_block {{ ngx.say(1)\n\n"),
            Some(
                "unexpected end of file, expecting terminating characters for lua code block \
                 in DIR/nginx.conf:4",
            ),
        ),
        case(
            "lua_unclosed_long_bracket",
            format!(
                "{head}http {{ server {{ location / {{ content_by_lua_block {{\n\
                 local s = [=[ x\n}} }} }} }}\n"
            ),
            Some(
                "Lua code block missing the closing long bracket \"]=]\", \
                 the inlined Lua code may be too long in DIR/nginx.conf:5",
            ),
        ),
        case(
            "lua_then_unknown_directive_line",
            format!("{head}http {{ init_by_lua_block {{\n local a = 1\n}}\n bogus_directive; }}\n"),
            Some("unknown directive \"bogus_directive\" in DIR/nginx.conf:7"),
        ),
    ];
    for c in &mut cases {
        c.lua = true;
    }
    // The last case's fault is a check, not a lexical fault: compare nginx only.
    let last = cases.pop().expect("has cases");
    run(cases);
    if let Some(Some(message)) = {
        let dir = materialize(&last);
        let main = dir.path().join("nginx.conf");
        let verdict = if Path::new("/usr/lib/nginx/modules/ngx_http_lua_module.so").exists() {
            nginx_verdict(dir.path(), &main, "")
        } else {
            None
        };
        let config = parse_file(&main, &ParseOptions::default()).expect("parses");
        let http = &config.files[0].block.directives[3];
        let block = http.block.as_ref().expect("http block");
        assert_eq!(block.directives[1].name.value, b"bogus_directive");
        assert_eq!(block.directives[1].end_line, 7);
        verdict.map(|v| v.map(|m| m.replace(&dir.path().display().to_string(), "DIR")))
    } {
        assert_eq!(Some(message.as_str()), last.expect.as_deref());
    }
}

/// Values as nginx stores them (from `ngx_conf_read_token`'s copy loop).
#[test]
fn values_quotes_and_places() {
    let src = b"env a\\\"b\\'c\\\\d\\ne\\rf\\tg\\;h\\$i;\n\
                env \"x y\" 'p\\'q' \"caf\xe9\";\n\
                map $a $b {\n    \\default 1;\n    default 2;\n}\n\
                stream {\n  server { listen 1; }\n}\n";
    let config = strait_parser::parse_bytes(src, "/etc/nginx/nginx.conf", &ParseOptions::default())
        .expect("parses");
    let top = &config.files[0].block.directives;
    let values = |d: &strait_parser::Directive| -> Vec<Vec<u8>> {
        d.args.iter().map(|a| a.value.clone()).collect()
    };
    assert_eq!(values(&top[0]), vec![b"a\"b'c\\d\ne\rf\tg\\;h\\$i".to_vec()]);
    assert_eq!(values(&top[1]), vec![b"x y".to_vec(), b"p'q".to_vec(), b"caf\xe9".to_vec()]);
    let quotes: Vec<_> = top[1].args.iter().map(|a| a.quote).collect();
    use strait_parser::Quote;
    assert_eq!(quotes, vec![Quote::Double, Quote::Single, Quote::Double]);

    // A map entry keeps its leading backslash; the map semantics strip it later.
    let map = top[2].block.as_ref().expect("map block");
    assert_eq!(map.directives[0].name.value, b"\\default");
    assert_eq!(map.directives[1].name.value, b"default");

    // Places: the token's first byte (line, byte column) and the terminator's line.
    let listen =
        &top[3].block.as_ref().unwrap().directives[0].block.as_ref().unwrap().directives[0];
    assert_eq!((listen.name.location.line, listen.name.location.column), (8, 12));
    assert_eq!(listen.end_line, 8);
    assert_eq!(top[1].args[1].location.column, 11);
    assert_eq!(listen.name.location.file.as_deref(), Some(Path::new("/etc/nginx/nginx.conf")));
}

/// `include` stays in the tree, points at the files it read, and `expanded` replaces it.
/// Relative names are taken from the main file's directory, even inside an included file,
/// and kept as written (not normalized), as nginx names them.
#[test]
fn includes_are_recorded_and_expanded() {
    let dir = tempfile::tempdir().expect("temp dir");
    let conf_d = dir.path().join("conf.d");
    std::fs::create_dir(&conf_d).expect("mkdir");
    std::fs::write(conf_d.join("b.conf"), "env b;\ninclude conf.d/../inner.conf;\n")
        .expect("write");
    std::fs::write(conf_d.join("a.conf"), "env a;\n").expect("write");
    std::fs::write(conf_d.join(".hidden.conf"), "env hidden;\n").expect("write");
    std::fs::write(dir.path().join("inner.conf"), "env inner;\n").expect("write");
    let main = dir.path().join("nginx.conf");
    std::fs::write(&main, "env first;\ninclude conf.d/*.conf;\ninclude inner.conf;\nenv last;\n")
        .expect("write");

    let config = parse_file(&main, &ParseOptions::default()).expect("parses");
    let names: Vec<_> = config.files.iter().map(|f| f.path.clone()).collect();
    assert_eq!(
        names,
        vec![
            main.clone(),
            conf_d.join("a.conf"),
            conf_d.join("b.conf"),
            dir.path().join("conf.d/../inner.conf"),
            dir.path().join("inner.conf"),
        ]
    );
    let top = &config.files[0].block.directives;
    assert_eq!(top[1].name.value, b"include");
    assert_eq!(top[1].includes, vec![1, 2]);
    assert_eq!(top[2].includes, vec![4]);

    let expanded: Vec<_> = config.files[0]
        .block
        .expanded(&config)
        .map(|d| String::from_utf8(d.args[0].value.clone()).unwrap())
        .collect();
    assert_eq!(expanded, vec!["first", "a", "b", "inner", "inner", "last"]);
    let with_includes = config.files[0].block.expanded_with_includes(&config).count();
    assert_eq!(with_includes, 6 + 3);

    // Places inside an included file name that file.
    let b = &config.files[2].block.directives[0];
    assert_eq!(b.name.location.file.as_deref(), Some(conf_d.join("b.conf").as_path()));
}

/// The tree read before a fault is kept, for checks that must report earlier faults first.
#[test]
fn partial_tree_on_fault() {
    let src = b"events {}\nstream {\n    server {\n        listen 1;\n        proxy_pass \"a\"b;\n";
    let outcome =
        strait_parser::parse_bytes_partial(src, "/x/nginx.conf", &ParseOptions::default());
    let err = outcome.error.expect("fails");
    assert_eq!(err.to_string(), "unexpected \"b\" in /x/nginx.conf:5");
    let top = &outcome.config.files[0].block.directives;
    assert_eq!(top.len(), 2);
    let server = &top[1].block.as_ref().unwrap().directives[0];
    let inner: Vec<_> =
        server.block.as_ref().unwrap().directives.iter().map(|d| &d.name.value).collect();
    assert_eq!(inner, vec![b"listen"]);
}

/// `*_by_lua_block` bodies are one verbatim argument, also with an argument before them.
#[test]
fn lua_bodies_are_verbatim() {
    let src = b"http { server { location / {\n\
                set_by_lua_block $res { return \"}\" }\n\
                content_by_lua_block {\n  ngx.say('{') -- }\n}\n} } }\n";
    let config =
        strait_parser::parse_bytes(src, "/x/nginx.conf", &ParseOptions::default()).expect("parses");
    let http = &config.files[0].block.directives[0];
    let location =
        &http.block.as_ref().unwrap().directives[0].block.as_ref().unwrap().directives[0];
    let directives = &location.block.as_ref().unwrap().directives;
    assert_eq!(directives[0].args[0].value, b"$res");
    assert_eq!(directives[0].args[1].value, b" return \"}\" ");
    assert_eq!(directives[0].args[1].quote, strait_parser::Quote::Lua);
    assert_eq!(directives[1].args[0].value, b"\n  ngx.say('{') -- }\n");
    assert!(directives[1].block.is_none());
}

/// Glob includes read files in glibc's order (bytes of the whole path, C locale) and skip
/// dot files; compared with the file order of `nginx -T` when nginx is installed.
#[test]
fn glob_order_matches_nginx() {
    let dir = tempfile::tempdir().expect("temp dir");
    for (name, body) in [
        ("gl/a/x.conf", "env a;\n"),
        ("gl/a-b/x.conf", "env ab;\n"),
        ("gl/B/x.conf", "env B;\n"),
        ("gl/.h.conf", "env hidden;\n"),
        ("gl/.hd/x.conf", "env hd;\n"),
    ] {
        let path = dir.path().join(name);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, body).expect("write");
    }
    let main = dir.path().join("nginx.conf");
    std::fs::write(&main, "events {}\ninclude gl/*/x.conf;\ninclude gl/*.conf;\n").expect("write");

    let config = parse_file(&main, &ParseOptions::default()).expect("parses");
    let order: Vec<String> = config.files.iter().map(|f| f.path.display().to_string()).collect();
    let d = dir.path().display();
    let expected = vec![
        format!("{d}/nginx.conf"),
        format!("{d}/gl/B/x.conf"),
        format!("{d}/gl/a-b/x.conf"),
        format!("{d}/gl/a/x.conf"),
    ];
    assert_eq!(order, expected);

    if Path::new(NGINX).exists() {
        let output = Command::new(NGINX)
            .arg("-T")
            .arg("-c")
            .arg(&main)
            .arg("-p")
            .arg(format!("{d}/"))
            .output()
            .expect("run nginx -T");
        let dumped: Vec<String> = String::from_utf8_lossy(&output.stdout)
            .lines()
            .filter_map(|l| l.strip_prefix("# configuration file "))
            .map(|l| l.trim_end_matches(':').to_string())
            .collect();
        assert_eq!(dumped, expected, "nginx -T reads another order");
    }
}
