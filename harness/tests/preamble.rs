//! Preamble controls (`repeat_each`, `log_level`, `$ENV{...} ||= "..."`) honoured in a run
//! against nginx (`TEST_NGINX_BINARY`, else /usr/sbin/nginx) when it is installed.

use std::path::{Path, PathBuf};

use strait_harness::{run, Options, PortChoice};

#[test]
fn repeat_each_runs_each_block_twice_with_its_own_log_slice() {
    let binary = std::env::var_os("TEST_NGINX_BINARY")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/sbin/nginx"));
    if !binary.is_file() {
        eprintln!("NOTICE: {} is not installed: the preamble run did not run", binary.display());
        return;
    }
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
