//! Broken blocks (harness/tests/broken/broken.t) fail with a message naming the block and
//! section and showing expected and got: run against strait always, and against nginx
//! (`TEST_NGINX_BINARY`, else /usr/sbin/nginx) when it is installed, with a loud notice
//! when it is not.

use std::path::{Path, PathBuf};

use strait_harness::{run, Options, PortChoice, Summary};

/// The binaries to run the file on: strait, and nginx when it is installed.
fn binaries() -> Vec<PathBuf> {
    let mut binaries = vec![PathBuf::from(env!("CARGO_BIN_EXE_strait"))];
    let nginx = std::env::var_os("TEST_NGINX_BINARY")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/sbin/nginx"));
    if nginx.is_file() {
        binaries.push(nginx);
    } else {
        eprintln!(
            "\n*** NOTICE: {} is not installed: the broken-block checks ran against strait \
             only (apt-get install nginx-extras to compare with nginx). ***\n",
            nginx.display()
        );
    }
    binaries
}

/// The TAP line of check `n` (`ok n - ...` or `not ok n - ...`).
fn tap_line(tap: &str, n: usize) -> &str {
    let numbered = |l: &&str| {
        l.strip_prefix("not ok ").or_else(|| l.strip_prefix("ok ")).is_some_and(|rest| {
            rest.split_once(' ').is_some_and(|(number, _)| number == n.to_string())
        })
    };
    tap.lines().find(numbered).unwrap_or_default()
}

/// Runs broken.t on `binary` with free ports (this test runs beside others).
fn run_broken(binary: PathBuf) -> (Summary, String) {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("harness/tests/broken/broken.t");
    let mut options = Options::from_env(binary, 1);
    options.stream_port = PortChoice::Free;
    let mut out = Vec::new();
    let summary = run(&options, &[file], &mut out).unwrap();
    (summary, String::from_utf8(out).unwrap())
}

#[test]
fn broken_blocks_fail_with_block_section_expected_and_got() {
    for binary in binaries() {
        let (summary, tap) = run_broken(binary.clone());
        println!("{tap}");
        let who = binary.display();

        // The wrong response: block, section, expected and got.
        assert!(tap.contains("not ok 1 - "), "{who}: {tap}");
        assert!(tap.contains("#   section:  --- stream_response\n"), "{who}: {tap}");
        assert!(tap.contains("#   expected: \"expected\\n\"\n"), "{who}: {tap}");
        assert!(tap.contains("#   got:      \"actual\\n\"\n"), "{who}: {tap}");
        assert!(
            tap.contains("#   block:    ")
                && tap.contains("TEST 1: wrong expected response (line 10)"),
            "{who}: {tap}"
        );

        // The missing log line.
        assert!(tap.contains("#   section:  --- error_log\n"), "{who}: {tap}");
        let expected = "#   expected: a line matching \"this line is never logged\"\n";
        assert!(tap.contains(expected), "{who}: {tap}");
        assert!(tap.contains("TEST 2: missing log line (line 18)"), "{who}: {tap}");

        // The server that fails to start: the start command's message.
        let start = "TEST 3: server that fails to start - server starts\n";
        assert!(tap.contains(start), "{who}: {tap}");
        assert!(tap.contains("#   section:  (server start)\n"), "{who}: {tap}");
        assert!(tap.contains("unknown directive \"no_such_directive_here\""), "{who}: {tap}");

        // The http block is skipped with its reason; the block after the broken ones passes.
        assert!(tap.contains("# SKIP needs http: --- config"), "{who}: {tap}");
        let passing = tap_line(&tap, 6);
        assert!(passing.starts_with("ok 6 - "), "{who}: {tap}");
        assert!(passing.contains("TEST 5: a passing block"), "{who}: {tap}");

        // Perl beyond the evaluator fails its block, naming the section.
        assert!(
            tap.contains("#   --- stream_request: the eval filter: Perl beyond"),
            "{who}: {tap}"
        );

        // A block with no stream server fails, saying so, instead of printing nothing.
        let no_server = "TEST 7: a block with no stream server fails, not passed - stream \
                         request - a stream server to send it to";
        let line = tap_line(&tap, 8);
        assert!(line.starts_with("not ok 8 - ") && line.ends_with(no_server), "{who}: {tap}");
        let got = "#   got:      no stream server to send the request to";
        assert!(tap.contains(got), "{who}: {tap}");

        // An unknown section is ignored with a note, and its block runs and passes.
        assert!(tap_line(&tap, 9).starts_with("ok 9 - "), "{who}: {tap}");
        let note = "TEST 8: an unknown section is ignored and the block runs: unknown section \
                    --- frobnicate_section ignored\n";
        assert!(tap.contains(note), "{who}: {tap}");

        // One TAP line per check, and the plan says how many.
        let lines = tap.lines().filter(|l| l.starts_with("ok ") || l.starts_with("not ok "));
        assert_eq!(lines.count(), 9, "{who}: {tap}");
        assert!(tap.contains("\n1..9\n"), "{who}: {tap}");
        assert_eq!(summary.closing_line(), "3 passed, 5 failed, 1 skipped", "{who}: {tap}");
    }
}
