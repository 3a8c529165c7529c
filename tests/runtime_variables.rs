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
