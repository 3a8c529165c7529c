//! `map`, `set` and core variables through the real binary, compared with nginx.

mod runtime_support;

use runtime_support::*;
use std::collections::HashMap;

#[test]
fn map_and_set_values_match_nginx() {
    let mut runs = Vec::new();
    for flavor in flavors() {
        let mut vars = HashMap::new();
        for key in ["ONE", "TWO", "THREE", "FOUR", "BYNAME", "BYADDR", "BIND", "REMOTE"] {
            vars.insert(key, free_port().to_string());
        }
        let port = |k: &str| vars[k].parse::<u16>().unwrap();
        let server = Instance::start(flavor, &config("variables.conf", &vars));
        let answers: Vec<String> = ["ONE", "TWO", "THREE", "FOUR", "BYNAME", "BYADDR", "BIND"]
            .iter()
            .map(|k| String::from_utf8(read_all(port(k))).unwrap().replace(&vars["FOUR"], "P"))
            .collect();
        // The upstream of BYADDR and BIND logs a variable only other servers `set`.
        let start = std::time::Instant::now();
        while server.read("unset.log").lines().count() < 2 && start.elapsed().as_secs() < 5 {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        assert_eq!(server.read("unset.log"), "[]\n[]\n", "{flavor:?}");
        drop(server);
        runs.push((flavor, answers));
    }
    assert_eq!(
        runs[0].1,
        vec![
            "one upper-exact".to_string(),
            "other b-ravo ravo".to_string(),
            "other c-h".to_string(),
            "none [delta] Px loopback no-address second".to_string(),
            // proxy_pass $target: an upstream name, then an address.
            "one upper-exact".to_string(),
            "from 127.0.0.1".to_string(),
            // proxy_bind: the upstream sees the bound address.
            "from 127.0.0.2".to_string(),
        ]
    );
    for run in &runs[1..] {
        assert_eq!(run.1, runs[0].1, "{:?}", run.0);
    }
}

/// `return "$status"` answers `000`, as nginx: the status is set when the session ends. The
/// access log, written after, has the final `200`. `$bytes_sent` is cacheable, as in nginx:
/// read by `return`, the log has that value.
#[test]
fn status_in_content_phase_is_000() {
    for flavor in flavors() {
        let port = free_port();
        let (sent, unread) = (free_port(), free_port());
        let vars = HashMap::from([
            ("PORT", port.to_string()),
            ("SENT", sent.to_string()),
            ("UNREAD", unread.to_string()),
        ]);
        let server = Instance::start(flavor, &config("status.conf", &vars));
        assert_eq!(read_all(sent), b"[0]", "{flavor:?}");
        assert_eq!(read_all(unread), b"[unread]", "{flavor:?}");
        let start = std::time::Instant::now();
        while server.read("sent.log").lines().count() < 2 && start.elapsed().as_secs() < 5 {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        assert_eq!(server.read("sent.log"), "0 0\n8 0\n", "{flavor:?}");
        assert_eq!(read_all(port), b"000", "{flavor:?}");
        let access = server.dir.path().join("access.log");
        let mut logged = String::new();
        for _ in 0..50 {
            logged = std::fs::read_to_string(&access).unwrap_or_default();
            if !logged.is_empty() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        assert_eq!(logged, "200\n", "{flavor:?}");
    }
}
