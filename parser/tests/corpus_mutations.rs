//! Differential test against real `nginx -t`: every directive line of the valid stream corpus
//! is mutated (repeated, last argument replaced by `bogus` or `0`, last argument dropped, an
//! argument added) and strait's first fault must be nginx's, byte for byte, or both must
//! accept. Faults whose text strait cannot produce are skipped by their wording (OpenSSL,
//! hash sizing, system users): they are listed in testdata/corpus/README.md. Runs only where
//! /usr/sbin/nginx exists.

use std::path::{Path, PathBuf};
use std::process::Command;

use strait_parser::check::{check_outcome, CheckOptions};
use strait_parser::{parse_file_partial, ParseOptions};

#[path = "../../testdata/corpus/prefix.rs"]
mod corpus_prefix;

const NGINX: &str = "/usr/sbin/nginx";

/// Wordings of faults that come from libraries strait does not call at check time.
const UNMATCHABLE: &[&str] = &[
    "SSL",
    "cannot load certificate",
    "could not build",
    "getpwnam",
    "getgrnam",
    "are not enough for",
];

/// The corpus files mutated: stream configurations.
fn sources() -> Vec<PathBuf> {
    let valid = Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/corpus/valid");
    let mut out: Vec<PathBuf> = std::fs::read_dir(valid)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| {
            let name = path.file_name().unwrap().to_string_lossy();
            name.starts_with("stream_") && name.ends_with(".conf")
        })
        .collect();
    out.sort();
    out
}

/// The mutations of one line (`None` when the line is not a simple directive).
fn mutations(line: &str) -> Vec<(&'static str, Vec<String>)> {
    let trimmed = line.trim();
    let Some(body) = trimmed.strip_suffix(';') else { return Vec::new() };
    if body.contains(['"', '\'', '#']) || body.starts_with("load_module") {
        return Vec::new();
    }
    let indent = &line[..line.len() - line.trim_start().len()];
    let words: Vec<&str> = body.split_whitespace().collect();
    let with_last = |last: &str| {
        let mut words = words[..words.len() - 1].to_vec();
        words.push(last);
        format!("{indent}{};", words.join(" "))
    };
    let mut out = vec![
        ("repeat", vec![line.to_string(), line.to_string()]),
        ("extra", vec![format!("{indent}{body} x;")]),
    ];
    if words.len() > 1 {
        out.push(("bogus", vec![with_last("bogus")]));
        out.push(("zero", vec![with_last("0")]));
        out.push(("drop", vec![format!("{indent}{};", words[..words.len() - 1].join(" "))]));
    }
    out
}

/// The first `[emerg]` message of nginx's output, or `None` for a pass.
fn nginx_fault(conf: &Path, prefix: &Path) -> Option<String> {
    let output = Command::new(NGINX)
        .arg("-t")
        .arg("-p")
        .arg(corpus_prefix::prefix_arg(prefix))
        .arg("-c")
        .arg(conf)
        .args(["-e", "stderr"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let line = stderr.lines().find(|line| line.contains("[emerg] "))?;
    let message = line.split_once("[emerg] ").unwrap().1;
    Some(
        message
            .split_once("#")
            .map_or(message, |(_, rest)| rest.split_once(": ").unwrap().1)
            .into(),
    )
}

/// strait's first fault message under `prefix`, or `None` for a pass.
fn strait_fault(conf: &Path, prefix: &Path) -> Option<String> {
    let outcome = parse_file_partial(conf, &ParseOptions::default());
    let conf_prefix = conf.parent().unwrap().into();
    let options = CheckOptions { conf_prefix, prefix: prefix.into(), ..Default::default() };
    check_outcome(&outcome, &options).err().map(|error| error.to_string())
}

#[test]
fn mutated_stream_configs_get_nginx_verdicts() {
    if !Path::new(NGINX).exists() {
        eprintln!("NOTICE: {NGINX} is not installed (CI installs nginx-extras); skipped");
        return;
    }

    // Step: a scratch tree where the corpus's relative paths still resolve.
    let scratch = tempfile::tempdir().unwrap();
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata").canonicalize().unwrap();
    let dir = scratch.path().join("corpus/valid");
    std::fs::create_dir_all(&dir).unwrap();
    std::os::unix::fs::symlink(corpus.join("pki"), scratch.path().join("pki")).unwrap();
    std::os::unix::fs::symlink(corpus.join("corpus/valid/includes"), dir.join("includes")).unwrap();
    corpus_prefix::add_modules(scratch.path());

    // Step: every mutation of every line, judged by both.
    let mut compared = 0;
    let mut differences = Vec::new();
    for source in sources() {
        let text = std::fs::read_to_string(&source).unwrap();
        let lines: Vec<&str> = text.split('\n').collect();
        for (index, line) in lines.iter().enumerate() {
            for (kind, replacement) in mutations(line) {
                let mut mutated: Vec<String> =
                    lines[..index].iter().map(|l| l.to_string()).collect();
                mutated.extend(replacement);
                mutated.extend(lines[index + 1..].iter().map(|l| l.to_string()));
                let conf = dir.join("mutated.conf");
                std::fs::write(&conf, mutated.join("\n")).unwrap();

                let nginx = nginx_fault(&conf, scratch.path());
                if nginx.as_deref().is_some_and(|m| UNMATCHABLE.iter().any(|u| m.contains(u))) {
                    continue;
                }
                let strait = strait_fault(&conf, scratch.path());
                compared += 1;
                if strait != nginx {
                    let name = source.file_name().unwrap().to_string_lossy();
                    differences.push(format!(
                        "{name}:{} {kind}\n  nginx  {nginx:?}\n  strait {strait:?}",
                        index + 1
                    ));
                }
            }
        }
    }
    eprintln!("{compared} mutations compared with nginx -t");
    assert!(compared > 300, "only {compared} mutations compared");
    assert!(
        differences.is_empty(),
        "{} differences:\n{}",
        differences.len(),
        differences.join("\n")
    );
}
