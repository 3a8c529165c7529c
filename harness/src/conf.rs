//! Assembly of `nginx.conf` for a block, the way Test::Nginx's stream support writes it:
//! main-context lines, `main_config` with the `stream {}` block, `post_main_config`, and
//! `events {}`. No `http {}` block: the runner is its own stream client.

use std::path::Path;

use crate::spec::Block;

/// What the generated configuration depends on besides the block.
#[derive(Debug, Clone)]
pub struct ConfParams<'a> {
    /// The server root (prefix), absolute.
    pub root: &'a Path,
    /// The error log file nginx writes.
    pub error_log: &'a Path,
    /// The error log level (`debug` unless the block or `TEST_NGINX_LOG_LEVEL` says).
    pub log_level: &'a str,
    /// `load_module` paths, written first.
    pub load_modules: &'a [String],
    /// `master_process` value (`off` unless `TEST_NGINX_MASTER_PROCESS`).
    pub master_process: &'a str,
    /// `use` method for `events {}` (`TEST_NGINX_EVENT_TYPE`).
    pub event_type: Option<&'a str>,
    /// `user` line: Test::Nginx writes `user root;` when run as root.
    pub user: Option<&'a str>,
}

/// The `stream {}` text Test::Nginx appends to `main_config` for a block that has
/// `stream_config` or `stream_server_config`; `None` for a block without either.
///
/// Servers listen on 127.0.0.1 rather than on every address (Test::Nginx writes
/// `listen PORT`): the runner's tests stay on loopback.
pub fn stream_block(block: &Block, port: u16) -> Option<String> {
    if !block.has("stream_config") && !block.has("stream_server_config") {
        return None;
    }
    let stream_config = block.text("stream_config").unwrap_or_default();
    let mut out = format!("stream {{\n{stream_config}\n");
    let servers = [
        ("stream_server_config", "steam_listen_option"),
        ("stream_server_config2", "steam_listen_option2"),
        ("stream_server_config3", "steam_listen_option3"),
    ];
    for (i, (config, option)) in servers.iter().enumerate() {
        if i > 0 && !block.has(config) {
            continue;
        }
        let body = block.text(config).unwrap_or_default();
        let option = block
            .text(option)
            .map(|o| o.strip_suffix('\n').unwrap_or(&o).to_string())
            .filter(|o| !o.is_empty())
            .map(|o| format!(" {o}"))
            .unwrap_or_default();
        let server_port = port + i as u16;
        out.push_str(&format!(
            "    server {{\n        listen 127.0.0.1:{server_port}{option};\n\n{body}\n    }}\n"
        ));
    }
    out.push_str("}\n");
    Some(out)
}

/// The whole `nginx.conf`, given the block's expanded `main_config` (with the stream block
/// already appended) and `post_main_config`.
pub fn nginx_conf(params: &ConfParams<'_>, main_config: &str, post_main_config: &str) -> String {
    let root = params.root.display();
    let mut out = String::new();

    // Dynamic modules first, so that `stream {}` below is known.
    for module in params.load_modules {
        out.push_str(&format!("load_module {module};\n"));
    }

    // The main-context lines Test::Nginx writes.
    out.push_str(&format!(
        "worker_processes  1;\ndaemon on;\nmaster_process {};\nerror_log {} {};\n\
         pid       {root}/logs/nginx.pid;\n",
        params.master_process,
        params.error_log.display(),
        params.log_level,
    ));
    for name in [
        "MOCKEAGAIN_VERBOSE",
        "MOCKEAGAIN",
        "MOCKEAGAIN_WRITE_TIMEOUT_PATTERN",
        "LD_PRELOAD",
        "LD_LIBRARY_PATH",
        "DYLD_INSERT_LIBRARIES",
        "DYLD_FORCE_FLAT_NAMESPACE",
    ] {
        out.push_str(&format!("env {name};\n"));
    }

    // The block's own main-context text, then events {}.
    out.push_str(&format!("\n{main_config}\n\n{post_main_config}\n\n"));
    out.push_str("events {\n    accept_mutex off;\n\n    worker_connections  64;\n");
    if let Some(event_type) = params.event_type {
        out.push_str(&format!("    use {event_type};\n"));
    }
    out.push_str("}\n");
    if let Some(user) = params.user {
        out.push_str(&format!("user {user};\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::parse_file;

    fn block(spec: &str) -> Block {
        let text = format!("__DATA__\n=== TEST 1\n{spec}");
        parse_file(Path::new("x.t"), &text).unwrap().blocks.remove(0)
    }

    #[test]
    fn renders_servers_like_stream_pm() {
        let b = block(
            "--- stream_config\nmap $x $y { default 1; }\n--- stream_server_config\n    \
             return hi;\n--- stream_server_config3\n    return 3;\n--- steam_listen_option3: udp\n",
        );
        let text = stream_block(&b, 4000).unwrap();
        assert_eq!(
            text,
            "stream {\nmap $x $y { default 1; }\n\n    server {\n        \
             listen 127.0.0.1:4000;\n\n    return hi;\n\n    }\n    server {\n        \
             listen 127.0.0.1:4002 udp;\n\n    return 3;\n\n    }\n}\n"
        );
    }

    #[test]
    fn no_stream_sections_no_stream_block() {
        assert!(stream_block(&block("--- main_config\nworker_rlimit_nofile 10;\n"), 1).is_none());
    }

    #[test]
    fn conf_has_modules_first_and_events_last() {
        let root = Path::new("/srv/t");
        let log = root.join("logs/error.log");
        let params = ConfParams {
            root,
            error_log: &log,
            log_level: "info",
            load_modules: &["/m/ngx_stream_module.so".to_string()],
            master_process: "off",
            event_type: None,
            user: Some("root"),
        };
        let conf = nginx_conf(&params, "stream {\n}\n", "");
        assert!(conf.starts_with("load_module /m/ngx_stream_module.so;\nworker_processes  1;\n"));
        assert!(conf.contains("error_log /srv/t/logs/error.log info;\n"));
        assert!(conf.contains("pid       /srv/t/logs/nginx.pid;\n"));
        assert!(conf.ends_with("worker_connections  64;\n}\nuser root;\n"));
    }
}
