//! `map`, `set` and core variables through the real binary, compared with nginx.

mod runtime_support;

use runtime_support::*;
use std::collections::HashMap;

#[test]
fn map_and_set_values_match_nginx() {
    let mut runs = Vec::new();
    for flavor in flavors() {
        let mut vars = HashMap::new();
        for key in ["ONE", "TWO", "THREE", "FOUR"] {
            vars.insert(key, free_port().to_string());
        }
        let port = |k: &str| vars[k].parse::<u16>().unwrap();
        let server = Instance::start(flavor, &config("variables.conf", &vars));
        let answers: Vec<String> = ["ONE", "TWO", "THREE", "FOUR"]
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
        ]
    );
    for run in &runs[1..] {
        assert_eq!(run.1, runs[0].1, "{:?}", run.0);
    }
}
