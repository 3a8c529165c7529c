//! map hostnames (exact, head and tail wildcards, regex, default; case and a trailing dot)
//! and map volatile through the real binary, compared with nginx.

mod runtime_support;

use runtime_support::*;
use std::collections::HashMap;
use std::net::Ipv4Addr;

#[test]
fn map_hostnames_and_volatile_match_nginx() {
    let mut runs = Vec::new();
    for flavor in flavors() {
        let vars: HashMap<&str, String> =
            ["HOSTS", "VOLATILE"].iter().map(|&k| (k, free_port().to_string())).collect();
        let port = |k: &str| vars[k].parse::<u16>().unwrap();
        let mut server = Instance::start(flavor, &config("map_hostnames.conf", &vars));
        let mut replies: Vec<String> = (2..=18)
            .map(|i| {
                let reply = read_all_from(Ipv4Addr::new(127, 0, 0, i), port("HOSTS"));
                String::from_utf8(reply).unwrap()
            })
            .collect();
        replies.push(String::from_utf8(read_all(port("VOLATILE"))).unwrap());
        server.quit();
        runs.push((flavor, replies));
    }

    // nginx 1.22's answers: an exact name first, then the longest head wildcard, then the
    // tail wildcard, then regexes; names are lower-cased and one trailing dot dropped.
    let expected = [
        "example.com exact",
        "www.example.com star-head",
        "a.b.example.com longer-head",
        "example.org dot-head",
        "x.example.org dot-head",
        "www.example.net star-tail",
        "www.example.co.uk star-tail",
        "WWW.EXAMPLE.COM. star-head",
        "mail.example.net regex",
        "www.example.org dot-head",
        "other.test none",
        "example.com. exact",
        "b.example.com star-head",
        "x.b.example.com longer-head",
        "www.example none",
        "deep.x.example.org dot-head",
        "mail.example.com star-head",
        // $cached keeps the value of its first use; volatile $fresh follows $src.
        "A A A B",
    ];
    for run in &runs {
        assert_eq!(run.1, expected, "{:?}", run.0);
    }
}
