//! The corpus of testdata/corpus/ (conventions in its README.md), judged three ways:
//! strait's checks give each invalid file the line in its `.expected` sidecar and every valid
//! file a pass; real `nginx -t` (when /usr/sbin/nginx exists) gives the same verdicts and
//! lines; and the canonical printer's output parses back to the same tree for every file.

use std::path::{Path, PathBuf};
use std::process::Command;

use strait_parser::check::{check_outcome, CheckOptions};
use strait_parser::{parse_bytes, parse_file, parse_file_partial, Block, ParseOptions};

#[path = "../../testdata/corpus/prefix.rs"]
mod corpus_prefix;

/// The installed nginx the verdicts are compared with.
const NGINX: &str = "/usr/sbin/nginx";

/// testdata/corpus/ in the repository.
fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/corpus").canonicalize().unwrap()
}

/// The `.conf` files of one corpus folder, sorted.
fn files(folder: &str) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(corpus().join(folder))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "conf"))
        .collect();
    out.sort();
    out
}

/// strait's verdict on `conf` under `prefix`: `None` for a pass, else the `nginx: [LEVEL] ...`
/// line with the file's folder replaced by `PREFIX`.
fn strait_verdict(conf: &Path, prefix: &Path) -> Option<String> {
    let outcome = parse_file_partial(conf, &ParseOptions::default());
    let options = CheckOptions {
        conf_prefix: conf.parent().unwrap().to_path_buf(),
        prefix: prefix.to_path_buf(),
        ..Default::default()
    };
    let error = check_outcome(&outcome, &options).err()?;
    let message = String::from_utf8_lossy(&error.to_bytes()).into_owned();
    let line = format!("nginx: [{}] {message}", error.kind.level());
    Some(line.replace(conf.parent().unwrap().to_str().unwrap(), "PREFIX"))
}

/// The levels of the lines that end a test (a configuration fault, a failed read).
const FAULT_LEVELS: [&str; 2] = ["[emerg] ", "[crit] "];

/// nginx's verdict on `conf` under `prefix`, in the same form; `None` when nginx is not
/// installed.
fn nginx_verdict(conf: &Path, prefix: &Path) -> Option<Option<String>> {
    if !Path::new(NGINX).exists() {
        return None;
    }
    let output = Command::new(NGINX)
        .arg("-t")
        .arg("-p")
        .arg(corpus_prefix::prefix_arg(prefix))
        .arg("-c")
        .arg(conf)
        .args(["-e", "stderr"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    let fault = stderr.lines().find_map(|line| {
        FAULT_LEVELS.iter().find(|level| line.contains(*level)).map(|level| (line, *level))
    });
    let Some((line, level)) = fault else { return Some(None) };
    let message = line.split_once(level).unwrap().1;
    // Debian's nginx logs to stderr in the error log format: `TIME [emerg] PID#TID: MESSAGE`.
    let message = match message.split_once(": ") {
        Some((pid, rest)) if pid.contains('#') => rest,
        _ => message,
    };
    let line = format!("nginx: {level}{message}");
    Some(Some(line.replace(conf.parent().unwrap().to_str().unwrap(), "PREFIX")))
}

/// Says loudly that half of the comparison did not run.
fn notice_no_nginx() {
    eprintln!("############################################################");
    eprintln!("# NOTICE: {NGINX} is not installed: the corpus is checked  #");
    eprintln!("# against the .expected files only, not against real nginx #");
    eprintln!("# (CI installs nginx-extras).                              #");
    eprintln!("############################################################");
}

#[test]
fn invalid_files_fail_with_nginx_message() {
    let files = files("invalid");
    assert!(files.len() >= 50, "the invalid corpus needs 50 faults, has {}", files.len());
    let prefix = corpus_prefix::prefix();
    let mut failures = Vec::new();
    let mut nginx_ran = false;
    for conf in &files {
        let expected_path = conf.with_extension("expected");
        let expected = std::fs::read_to_string(&expected_path)
            .unwrap_or_else(|_| panic!("{} has no .expected", conf.display()));
        let expected = expected.trim_end_matches('\n').to_string();
        let strait = strait_verdict(conf, prefix.path());
        if strait.as_deref() != Some(expected.as_str()) {
            failures
                .push(format!("{}:\n  expected {expected}\n  strait   {strait:?}", conf.display()));
        }
        if let Some(nginx) = nginx_verdict(conf, prefix.path()) {
            nginx_ran = true;
            if nginx.as_deref() != Some(expected.as_str()) {
                failures.push(format!(
                    "{}:\n  expected {expected}\n  nginx    {nginx:?}",
                    conf.display()
                ));
            }
        }
    }
    if !nginx_ran {
        notice_no_nginx();
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn invalid_files_cover_fifty_distinct_messages() {
    // The fault is the message without its place (file and line differ per file).
    let faults: std::collections::HashSet<String> = files("invalid")
        .iter()
        .map(|conf| std::fs::read_to_string(conf.with_extension("expected")).unwrap())
        .map(|expected| expected.split(" in PREFIX/").next().unwrap().to_string())
        .collect();
    assert!(faults.len() >= 50, "only {} distinct messages", faults.len());
}

#[test]
fn valid_files_pass() {
    let mut failures = Vec::new();
    let mut nginx_ran = false;
    let prefix = corpus_prefix::prefix();
    for conf in files("valid") {
        if let Some(error) = strait_verdict(&conf, prefix.path()) {
            failures.push(format!("{}: strait says {error}", conf.display()));
        }
        if let Some(nginx) = nginx_verdict(&conf, prefix.path()) {
            nginx_ran = true;
            if let Some(error) = nginx {
                failures.push(format!("{}: nginx says {error}", conf.display()));
            }
        }
    }
    if !nginx_ran {
        notice_no_nginx();
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// One directive's values: name, arguments, and its block's values rendered as bytes.
type Values = (Vec<u8>, Vec<Vec<u8>>, Option<Vec<u8>>);

/// A block's values, without locations: name, arguments, block, recursively.
fn values(block: &Block) -> Vec<Values> {
    block
        .directives
        .iter()
        .map(|d| {
            let args = d.args.iter().map(|a| a.value.clone()).collect();
            let inner = d.block.as_ref().map(|b| format!("{:?}", values(b)).into_bytes());
            (d.name.value.clone(), args, inner)
        })
        .collect()
}

#[test]
fn fmt_output_parses_to_the_same_tree() {
    let mut checked = 0;
    for folder in ["valid", "parse", "invalid"] {
        for conf in files(folder) {
            // Files with a lexer fault have no tree to print.
            let Ok(config) = parse_file(&conf, &ParseOptions::default()) else { continue };
            let printed = strait_parser::print::print_block(config.main());
            let reparsed = parse_bytes(&printed, &conf, &ParseOptions::default())
                .unwrap_or_else(|e| panic!("{}: fmt output does not parse: {e}", conf.display()));
            assert_eq!(
                values(config.main()),
                values(reparsed.main()),
                "{}: fmt changed the tree",
                conf.display()
            );
            // Canonical: printing again changes nothing.
            assert_eq!(printed, strait_parser::print::print_block(reparsed.main()));
            checked += 1;
        }
    }
    assert!(checked >= 60, "only {checked} files round-tripped");
}

#[test]
fn json_payload_has_crossplane_shape() {
    for conf in files("valid").into_iter().chain(files("parse")) {
        let outcome = parse_file_partial(&conf, &ParseOptions::default());
        let payload = strait_parser::json::payload(&outcome.config, outcome.error.as_ref());
        assert_eq!(payload["status"], "ok", "{}", conf.display());
        let files = payload["config"].as_array().unwrap();
        assert_eq!(files.len(), outcome.config.files.len());
        for file in files {
            assert!(file["file"].is_string() && file["parsed"].is_array());
            for directive in file["parsed"].as_array().unwrap() {
                assert!(directive["directive"].is_string());
                assert!(directive["line"].is_u64());
                assert!(directive["args"].is_array());
            }
        }
    }
}
