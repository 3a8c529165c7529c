//! error_log: several logs per context with their levels, and a server's own log; the files
//! nginx and strait write for the same sessions are compared.

mod runtime_support;

use runtime_support::*;
use std::collections::HashMap;

#[test]
fn error_logs_and_levels_match_nginx() {
    let mut runs = Vec::new();
    for flavor in flavors() {
        let mut vars = HashMap::new();
        for key in ["INHERITS", "OWN", "REFUSED"] {
            vars.insert(key, free_port().to_string());
        }
        let port = |k: &str| vars[k].parse::<u16>().unwrap();
        let mut server = Instance::start(flavor, &config("error_logs.conf", &vars));
        read_all(port("INHERITS"));
        read_all(port("OWN"));
        server.quit();
        let mut files = Vec::new();
        for name in ["stream-warn.log", "stream-info.log", "own.log"] {
            let mut text = server.read(name);
            for (key, value) in &vars {
                text = text.replace(&format!(":{value}"), &format!(":{key}"));
            }
            files.push(session_lines(&text));
        }
        let main = server.read("main.log");
        runs.push((flavor, files, main));
    }

    let (_, files, main) = &runs[0];
    // warn: the refused connect only; info: the accept line too; own.log: its server only.
    assert_eq!(files[0].len(), 1, "{:#?}", files[0]);
    assert!(files[0][0].contains("server: 127.0.0.1:INHERITS"), "{:#?}", files[0]);
    assert_eq!(files[1].len(), 2, "{:#?}", files[1]);
    assert!(files[1][0].contains("client 127.0.0.1:EPH connected to 127.0.0.1:INHERITS"));
    assert_eq!(files[2].len(), 1, "{:#?}", files[2]);
    assert!(files[2][0].contains("server: 127.0.0.1:OWN"), "{:#?}", files[2]);
    assert!(!main.contains("connect()"), "{main}");
    for run in &runs[1..] {
        assert_eq!(&run.1, files, "{:?}", run.0);
    }
}
