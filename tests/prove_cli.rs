//! `strait prove` as a command: the closing line, the exit status, a bail-out, the ports
//! and the table of differences. Each run gets free stream ports drawn here
//! (`TEST_NGINX_STREAM_PORT`), never Test::Nginx's fixed 1985, as other tests run beside it.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use strait_harness::ports;

/// A port P such that P, P+1 and P+2 are free on loopback, outside the kernel's ephemeral
/// range (so no client connection takes them before the run binds them), never one this
/// process handed out before: see `strait_harness::ports`.
fn free_port_triple() -> u16 {
    ports::free_ports(3, &BTreeSet::new()).unwrap_or_else(|e| panic!("{e}"))
}

/// `strait` with a clean environment for `prove` and stream ports of its own.
fn strait() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_strait"));
    command
        .env_remove("TEST_NGINX_SERVROOT")
        .env_remove("TEST_NGINX_SERVER_PORT")
        .env_remove("TEST_NGINX_PORT")
        .env("TEST_NGINX_STREAM_PORT", free_port_triple().to_string());
    command
}

/// The binaries a prove run is checked on: strait (`None`: the default), and nginx when it
/// is installed (a loud notice when it is not).
fn binaries() -> Vec<Option<PathBuf>> {
    let nginx = std::env::var_os("TEST_NGINX_BINARY")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/sbin/nginx"));
    if nginx.is_file() {
        vec![None, Some(nginx)]
    } else {
        eprintln!(
            "\n*** NOTICE: {} is not installed: the prove command ran against strait only. ***\n",
            nginx.display()
        );
        vec![None]
    }
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
    let broken = workspace().join("harness/tests/broken/broken.t");
    for binary in binaries() {
        // Two jobs for one file: still one worker.
        let mut command = strait();
        command.args(["prove", "-j", "2"]);
        if let Some(binary) = &binary {
            command.arg("--binary").arg(binary);
        }
        let output = command.arg(&broken).output().unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        let who = binary.as_deref().unwrap_or(Path::new("strait")).display().to_string();
        assert_eq!(output.status.code(), Some(1), "{who}: {stdout}");
        let closing = Some("3 passed, 5 failed, 1 skipped");
        assert_eq!(stdout.lines().last(), closing, "{who}: {stdout}");
    }
}

/// `strait help prove` says where the stream ports come from, with and without `-j`.
#[test]
fn help_says_how_stream_ports_are_chosen() {
    let output = strait().args(["help", "prove"]).output().unwrap();
    let help = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{help}");
    assert!(help.contains("TEST_NGINX_STREAM_PORT"), "{help}");
    assert!(help.contains("1985 by default"), "{help}");
    assert!(help.contains("(1986, 1987)"), "{help}");
    assert!(help.contains("With -j N (N > 1) each worker needs ports of its own"), "{help}");
}

/// Without TEST_NGINX_STREAM_PORT the stream server listens on the server port + 1, as
/// Test::Nginx's (1985 by default; here a free port, so that parallel tests do not clash).
#[test]
fn the_stream_port_is_the_server_port_plus_one() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("port.t");
    std::fs::write(
        &file,
        "__DATA__\n=== TEST 1: the port\n--- stream_server_config\n    return \"$server_port\";\n\
         --- stream_response: $TEST_NGINX_STREAM_PORT\n",
    )
    .unwrap();
    let port = free_port_triple();
    let output = strait()
        .env_remove("TEST_NGINX_STREAM_PORT")
        .env("TEST_NGINX_SERVER_PORT", (port - 1).to_string())
        .arg("prove")
        .arg(&file)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}");
    let ports =
        format!("# stream ports {port}-{} (Test::Nginx's default: the server port + 1)", port + 2);
    assert!(stdout.contains(&ports), "{stdout}");
    assert_eq!(stdout.lines().last(), Some("1 passed, 0 failed, 0 skipped"), "{stdout}");
}

/// A file's nearest differences.toml (its directory or a parent's) applies however the file
/// is named on the command line; an entry naming a missing file is warned about.
#[test]
fn differences_apply_however_the_file_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir(root.join("sub")).unwrap();
    std::fs::write(
        root.join("sub/a.t"),
        "__DATA__\n=== TEST 1: differs\n--- stream_server_config\n    return \"strait\";\n\
         --- stream_response: nginx\n",
    )
    .unwrap();
    std::fs::write(
        root.join("differences.toml"),
        "[[difference]]\nfile = \"sub/a.t\"\nblock = \"TEST 1: differs\"\nbinary = \"strait\"\n\
         reason = \"on purpose\"\nskip = true\n\n\
         [[difference]]\nfile = \"missing.t\"\nblock = \"TEST 1\"\nbinary = \"strait\"\n\
         reason = \"gone\"\nskip = true\n",
    )
    .unwrap();
    // Absolute and relative names, from the file's own directory.
    let names = [
        root.to_path_buf(),
        root.join("sub/a.t"),
        PathBuf::from("."),
        PathBuf::from("a.t"),
        PathBuf::from("../sub/a.t"),
    ];
    for name in names {
        let output =
            strait().arg("prove").arg(&name).current_dir(root.join("sub")).output().unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        let at = name.display();
        assert_eq!(output.status.code(), Some(0), "{at}: {stdout}");
        assert!(stdout.contains("# SKIP deliberate difference: on purpose\n"), "{at}: {stdout}");
        assert!(stdout.contains("differences.toml: no file missing.t"), "{at}: {stdout}");
        assert_eq!(stdout.lines().last(), Some("0 passed, 0 failed, 1 skipped"), "{at}: {stdout}");
    }
}
