//! Every file of the corpus (testdata/corpus/valid/ and invalid/) through the `strait` binary
//! and real `nginx -T`, under the same prefix: the exit code, stdout (the dump of every file
//! read) and every stderr line (`[warn]` lines, `syntax is ok`, the fault, `test failed`)
//! must be the same, error log timestamps and pids aside. strait prints nginx's `nginx: `
//! prefix itself, so the binary's name needs no normalizing. The files listed in
//! [`DIFFERENCES`] differ on purpose; for them strait must print the listed line instead.
//! Without /usr/sbin/nginx this test prints a notice and compares nothing.

use std::path::{Path, PathBuf};
use std::process::Command;

#[path = "../testdata/corpus/prefix.rs"]
mod corpus_prefix;

const NGINX: &str = "/usr/sbin/nginx";

/// Corpus files whose output differs from nginx's: the file, a line strait prints instead
/// (after `nginx: [emerg] `, up to ` in FILE:LINE`), and why. testdata/corpus/README.md
/// lists the kinds of fault that cannot match.
const DIFFERENCES: &[(&str, &str, &str)] = &[(
    "valid/stream_basic.conf",
    "the \"udp\" parameter of the \"listen\" directive is not supported by strait yet",
    "strait does not proxy UDP yet (README, \"Not implemented yet\"); nginx accepts it",
)];

/// testdata/corpus/ in the repository.
fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/corpus").canonicalize().unwrap()
}

/// The `.conf` files of the folders nginx judges, sorted.
fn files() -> Vec<PathBuf> {
    let mut out = Vec::new();
    for folder in ["valid", "invalid"] {
        for entry in std::fs::read_dir(corpus().join(folder)).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|ext| ext == "conf") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// What `binary -T` printed for `conf` under `prefix`: exit code, stdout, and stderr with
/// error log lines (`TIME [level] PID#TID: MESSAGE`) as `nginx: [level] MESSAGE`.
fn output(binary: &str, conf: &Path, prefix: &Path) -> (i32, Vec<u8>, Vec<String>) {
    let output = Command::new(binary)
        .arg("-T")
        .arg("-p")
        .arg(corpus_prefix::prefix_arg(prefix))
        .arg("-c")
        .arg(conf)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).lines().map(normalize).collect();
    (output.status.code().unwrap_or(-1), output.stdout, stderr)
}

/// An error log line without its time and pid; other lines as they are.
fn normalize(line: &str) -> String {
    let Some((time, rest)) = line.split_once(" [") else { return line.to_string() };
    let is_time = time.len() == 19 && time.as_bytes()[4] == b'/' && time.as_bytes()[13] == b':';
    let Some((level, message)) = rest.split_once("] ").filter(|_| is_time) else {
        return line.to_string();
    };
    let message = match message.split_once(": ") {
        Some((pid, message)) if pid.contains('#') => message,
        _ => message,
    };
    format!("nginx: [{level}] {message}")
}

/// The listed difference of `conf`, if any.
fn difference(conf: &Path) -> Option<&'static (&'static str, &'static str, &'static str)> {
    let name = conf.strip_prefix(corpus()).unwrap().to_str().unwrap();
    DIFFERENCES.iter().find(|(file, _, _)| *file == name)
}

#[test]
fn strait_prints_what_nginx_prints_for_every_corpus_file() {
    if !Path::new(NGINX).exists() {
        eprintln!("NOTICE: {NGINX} is not installed (CI installs nginx-extras): the corpus");
        eprintln!("        outputs are not compared with nginx's");
        return;
    }
    let prefix = corpus_prefix::prefix();
    let files = files();
    let mut faults = Vec::new();
    for conf in &files {
        let nginx = output(NGINX, conf, prefix.path());
        let strait = output(env!("CARGO_BIN_EXE_strait"), conf, prefix.path());
        let name = conf.display();
        match difference(conf) {
            // Step: a listed difference must still be there, as listed.
            Some((_, line, _)) => {
                let listed = format!("nginx: [emerg] {line}");
                if nginx == strait || !strait.2.iter().any(|l| l.starts_with(&listed)) {
                    faults.push(format!("{name}: the listed difference is gone: {strait:?}"));
                }
            }
            // Step: anything else is the same, line for line.
            None if nginx != strait => {
                let (code, stdout, lines) = &strait;
                let same_stdout = *stdout == nginx.1;
                faults.push(format!(
                    "{name}:\n  nginx  (exit {}) {:?}\n  strait (exit {code}) {lines:?}{}",
                    nginx.0,
                    nginx.2,
                    if same_stdout { "" } else { "\n  stdout differs" }
                ));
            }
            None => {}
        }
    }
    for (file, _, reason) in DIFFERENCES {
        assert!(!reason.is_empty());
        assert!(corpus().join(file).exists(), "{file} is listed but not in the corpus");
    }
    eprintln!("{} corpus files compared with nginx -T", files.len());
    assert!(files.len() >= 100, "only {} corpus files", files.len());
    assert!(faults.is_empty(), "{}", faults.join("\n"));
}
