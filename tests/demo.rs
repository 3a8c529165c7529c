//! `strait demo --once`: the README's first command shows each route's client certificate
//! reaching the mTLS upstream.

use std::process::Command;

#[test]
fn demo_once_shows_the_certificate_of_each_route() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let output = Command::new(env!("CARGO_BIN_EXE_strait"))
        .args(["demo", "--once", "--free-ports", "--dir"])
        .arg(dir.path())
        .output()
        .expect("strait runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "demo failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );

    let saw = |name: &str| stdout.matches(&format!("client certificate CN={name},")).count();
    assert_eq!(saw("client-a"), 2, "{stdout}");
    assert_eq!(saw("client-b"), 2, "{stdout}");

    // The configuration is left for the user to start from, and parses as nginx reads it.
    let config = std::fs::read_to_string(dir.path().join("conf/nginx.conf")).expect("config");
    assert!(config.contains("proxy_ssl_certificate $client_cert;"));
    let check = Command::new(env!("CARGO_BIN_EXE_strait"))
        .args(["-t", "-q", "-p"])
        .arg(dir.path())
        .args(["-c", "conf/nginx.conf"])
        .output()
        .expect("strait -t runs");
    assert!(check.status.success(), "{}", String::from_utf8_lossy(&check.stderr));
}
