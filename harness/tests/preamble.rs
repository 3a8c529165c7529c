//! Preamble controls (`repeat_each`, `log_level`, `$ENV{...} ||= "..."`) and
//! `TEST_NGINX_FORCE_RESTART_ON_TEST` honoured in runs against nginx (`TEST_NGINX_BINARY`,
//! else /usr/sbin/nginx) when it is installed.

use std::path::{Path, PathBuf};

use strait_harness::{run, Options, PortChoice};

/// The nginx to run, or `None` (with a notice) when there is none.
fn nginx() -> Option<PathBuf> {
    let binary = std::env::var_os("TEST_NGINX_BINARY")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/sbin/nginx"));
    if binary.is_file() {
        return Some(binary);
    }
    eprintln!("NOTICE: {} is not installed: this run did not run", binary.display());
    None
}

#[test]
fn repeat_each_runs_each_block_twice_with_its_own_log_slice() {
    let Some(binary) = nginx() else { return };
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/preamble/controls.t");
    let mut options = Options::from_env(binary, 1);
    options.stream_port = PortChoice::Free;
    options.env.remove("TEST_NGINX_GREETING");
    let mut out = Vec::new();
    let summary = run(&options, &[file], &mut out).unwrap();
    let tap = String::from_utf8(out).unwrap();
    println!("{tap}");

    // Three checks a round, two rounds; the second round's grep sees one line only.
    assert_eq!(summary.closing_line(), "6 passed, 0 failed, 0 skipped", "{tap}");
    assert!(tap.contains("stream_response - response is expected (repeated req 1)"), "{tap}");
    assert!(tap.contains("grep_error_log matches (repeated req 1)"), "{tap}");
}

#[test]
fn an_unchanged_config_keeps_the_server_without_forced_restarts() {
    let Some(binary) = nginx() else { return };
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/preamble/reuse.t");
    let mut options = Options::from_env(binary, 1);
    options.stream_port = PortChoice::Free;
    options.env.insert("TEST_NGINX_FORCE_RESTART_ON_TEST".into(), "0".into());
    let mut out = Vec::new();
    let summary = run(&options, &[file], &mut out).unwrap();
    let tap = String::from_utf8(out).unwrap();
    assert_eq!(summary.closing_line(), "6 passed, 0 failed, 0 skipped", "{tap}");
}
