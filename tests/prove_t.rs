//! `cargo test` runs the project's own `.t` suites (t/) through strait's runner: against
//! strait, and against nginx when it is installed (a notice says so when it is not). Each
//! run uses free loopback ports and its own server root, so both can run at once.

use std::path::{Path, PathBuf};

use strait_harness::{collect_files, run, Options, PortChoice, Summary};

/// Runs t/ against `binary`; returns the summary and the TAP text.
fn prove_t(binary: PathBuf) -> (Summary, String) {
    let t = Path::new(env!("CARGO_MANIFEST_DIR")).join("t");
    let files = collect_files(&[t]).expect("t/ holds .t files");
    assert!(!files.is_empty(), "no .t files under t/");
    let mut options = Options::from_env(binary, 2);
    options.stream_port = PortChoice::Free;
    let mut out = Vec::new();
    let summary = run(&options, &files, &mut out).expect("the run completes");
    (summary, String::from_utf8_lossy(&out).into_owned())
}

/// The failing checks of a TAP text with their explanation lines.
fn failures(tap: &str) -> String {
    let mut out = String::new();
    let mut in_failure = false;
    for line in tap.lines() {
        if line.starts_with("not ok") {
            in_failure = true;
        } else if !line.starts_with("#   ") {
            in_failure = false;
        }
        if in_failure {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

fn assert_all_pass(who: &str, summary: &Summary, tap: &str) {
    println!("{tap}{}", summary.closing_line());
    assert!(summary.counts.passed > 0, "{who}: no check ran");
    assert_eq!(
        summary.counts.failed,
        0,
        "{who}: t/ has failing checks ({}):\n{}",
        summary.closing_line(),
        failures(tap)
    );
}

#[test]
fn t_suites_pass_on_strait() {
    let (summary, tap) = prove_t(PathBuf::from(env!("CARGO_BIN_EXE_strait")));
    assert_all_pass("strait", &summary, &tap);
}

#[test]
fn t_suites_pass_on_nginx() {
    let binary = std::env::var_os("TEST_NGINX_BINARY")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/sbin/nginx"));
    if !binary.is_file() {
        eprintln!(
            "\n*** NOTICE: {} is not installed, so t/ was NOT run against nginx. ***\n\
             *** Install it (apt-get install nginx-extras) to compare strait with nginx. ***\n",
            binary.display()
        );
        return;
    }
    let (summary, tap) = prove_t(binary);
    assert_all_pass("nginx", &summary, &tap);
}
