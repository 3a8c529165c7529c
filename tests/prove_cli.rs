//! `strait prove` as a command: the closing line, the exit status, and a bail-out.

use std::path::{Path, PathBuf};
use std::process::Command;

fn strait() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_strait"));
    command.env_remove("TEST_NGINX_STREAM_PORT").env_remove("TEST_NGINX_SERVROOT");
    command
}

fn workspace() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Test::Nginx runs TEST 1, then bails out at TEST 2's undefined variable: TEST 1's check is
/// printed and counted, `Bail out!` ends the file's TAP, no later file runs, and prove's
/// `FAILED--Further testing stopped: ...` goes to stderr.
#[test]
fn an_undefined_variable_stops_the_run_with_status_2_after_what_ran() {
    let dir = tempfile::tempdir().unwrap();
    let first = dir.path().join("a.t");
    std::fs::write(
        &first,
        "__DATA__\n=== TEST 1: runs\n--- stream_server_config\n    return \"hi\\n\";\n\
         --- stream_response\nhi\n\n=== TEST 2: undefined\n--- stream_server_config\n    \
         proxy_pass 127.0.0.1:$TEST_NGINX_NOT_DEFINED_ANYWHERE;\n--- stream_response\n",
    )
    .unwrap();
    let second = dir.path().join("b.t");
    std::fs::write(&second, "__DATA__\n=== TEST 1: never\n--- stream_server_config\n").unwrap();
    let output = strait().arg("prove").arg(&first).arg(&second).output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stdout}{stderr}");

    let reason = format!(
        "{}: TEST 2: undefined - No environment TEST_NGINX_NOT_DEFINED_ANYWHERE defined.",
        first.display()
    );
    assert!(stdout.contains("\nok 1 - ") && stdout.contains("TEST 1: runs - stream_response"));
    assert!(stdout.contains(&format!("\nBail out!  {reason}\n")), "{stdout}");
    assert!(!stdout.contains("b.t"), "no file runs after a bail-out: {stdout}");
    assert_eq!(stdout.lines().last(), Some("1 passed, 0 failed, 0 skipped (bailed out)"));
    assert_eq!(stderr.trim_end(), format!("FAILED--Further testing stopped: {reason}"));
}

#[test]
fn failures_give_status_1_and_the_closing_line_ends_the_output() {
    let nginx = std::env::var_os("TEST_NGINX_BINARY")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/sbin/nginx"));
    if !nginx.is_file() {
        eprintln!(
            "NOTICE: {} is not installed: the prove command test did not run",
            nginx.display()
        );
        return;
    }
    // Two jobs for one file: still one worker.
    let broken = workspace().join("harness/tests/broken/broken.t");
    let output =
        strait().args(["prove", "-j", "2", "--binary"]).arg(&nginx).arg(&broken).output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert_eq!(stdout.lines().last(), Some("2 passed, 4 failed, 1 skipped"), "{stdout}");
}
