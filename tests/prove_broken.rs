//! Broken blocks fail with a message naming the block and section and showing expected and
//! got; run against nginx (`TEST_NGINX_BINARY`, else /usr/sbin/nginx) when it is installed.

use std::path::{Path, PathBuf};

use strait_harness::{run, Options, PortChoice};

/// The nginx to run, or `None` (with a notice) when there is none.
fn nginx() -> Option<PathBuf> {
    let binary = std::env::var_os("TEST_NGINX_BINARY")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/sbin/nginx"));
    if binary.is_file() {
        Some(binary)
    } else {
        eprintln!(
            "NOTICE: {} is not installed: the broken-block checks did not run \
             (apt-get install nginx-extras)",
            binary.display()
        );
        None
    }
}

#[test]
fn broken_blocks_fail_with_block_section_expected_and_got() {
    let Some(binary) = nginx() else { return };
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/broken/broken.t");
    let mut options = Options::from_env(binary, 1);
    options.stream_port = PortChoice::Free;
    let mut out = Vec::new();
    let summary = run(&options, &[file], &mut out).unwrap();
    let tap = String::from_utf8(out).unwrap();
    println!("{tap}");

    // The wrong response: block, section, expected and got.
    assert!(tap.contains("not ok 1 - "), "{tap}");
    assert!(tap.contains("#   section:  --- stream_response\n"), "{tap}");
    assert!(tap.contains("#   expected: \"expected\\n\"\n"), "{tap}");
    assert!(tap.contains("#   got:      \"actual\\n\"\n"), "{tap}");
    assert!(
        tap.contains("#   block:    ") && tap.contains("TEST 1: wrong expected response (line 8)")
    );

    // The missing log line.
    assert!(tap.contains("#   section:  --- error_log\n"), "{tap}");
    assert!(tap.contains("#   expected: a line matching \"this line is never logged\"\n"), "{tap}");
    assert!(tap.contains("TEST 2: missing log line (line 16)"), "{tap}");

    // The server that fails to start: the start command's message.
    assert!(tap.contains("TEST 3: server that fails to start - server starts\n"), "{tap}");
    assert!(tap.contains("#   section:  (server start)\n"), "{tap}");
    assert!(tap.contains("unknown directive \"no_such_directive_here\""), "{tap}");

    // The http block is skipped with its reason; the last block passes.
    assert!(tap.contains("# SKIP needs http: --- config"), "{tap}");
    assert!(tap.contains("TEST 5: a passing block after the broken ones - stream_response"));
    // Perl beyond the evaluator fails its block, naming the section.
    assert!(tap.contains("#   --- stream_request: the eval filter: Perl beyond"), "{tap}");

    assert_eq!((summary.counts.failed, summary.counts.skipped), (4, 1), "{tap}");
    assert_eq!(summary.counts.passed, 2, "{tap}");
    assert_eq!(summary.closing_line(), "2 passed, 4 failed, 1 skipped");
}
