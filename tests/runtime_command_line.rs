//! `-g DIRECTIVES` on the command line of a running server, compared with nginx: the
//! directives are applied (daemon off, pid), and a directive given twice is refused with
//! nginx's message and exit code.

mod runtime_support;

use runtime_support::*;
use std::collections::HashMap;
use std::io::Read;
use std::process::{Command, Stdio};
use std::time::Duration;

/// command_line.conf written for `flavor`, not started; the port it listens on.
fn prepared(flavor: Flavor) -> (Instance, u16) {
    let port = free_port();
    let vars = HashMap::from([("PORT", port.to_string())]);
    (Instance::prepare(flavor, &config("command_line.conf", &vars)), port)
}

#[test]
fn dash_g_directives_are_applied_as_nginx() {
    for flavor in flavors() {
        let (server, port) = prepared(flavor);
        let pid_file = server.path().join("nginx.pid");
        let directives = format!("daemon off; pid {};", pid_file.display());
        let mut server = server.launch_with(&["-g", &directives]);

        // The pid -g named, of the process started: it did not detach.
        assert_eq!(server.pid() as u32, server.child.as_ref().unwrap().id(), "{flavor:?}");
        assert_eq!(read_all(port), b"up", "{flavor:?}");
        assert!(server.quit().success(), "{flavor:?}");
    }
}

/// Runs `command` (5 s at most, then kills it): its exit code and stderr.
fn bounded(mut command: Command) -> (Option<i32>, String) {
    let mut child =
        command.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
    let exited = wait_until(Duration::from_secs(5), || child.try_wait().unwrap().is_some());
    if !exited {
        child.kill().unwrap();
    }
    let code = child.wait().unwrap().code();
    let mut stderr = String::new();
    child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    (code.filter(|_| exited), stderr)
}

#[test]
fn dash_g_faults_match_nginx() {
    // Each after `pid DIR/nginx.pid;`, so that no server started by mistake writes elsewhere.
    let cases = [
        // Also in the file.
        "daemon off; worker_processes 2;",
        // Twice on the command line.
        "daemon off; daemon off;",
        // No semicolon.
        "daemon off",
    ];
    let mut runs = Vec::new();
    for flavor in flavors() {
        let mut outputs = Vec::new();
        for directives in cases {
            let (server, port) = prepared(flavor);
            let pid = format!("pid {}/nginx.pid; ", server.path().display());
            let mut command = server.command();
            command.args(["-g", &(pid + directives)]);
            let (code, stderr) = bounded(command);
            let conf = server.path().join("nginx.conf").display().to_string();
            let mut stderr = stderr.replace(&conf, "CONF").replace(&port.to_string(), "PORT");
            // nginx's file has two lines more in front (load_module, user).
            if flavor == Flavor::Nginx {
                for line in 1..=20 {
                    stderr =
                        stderr.replace(&format!("CONF:{}\n", line + 2), &format!("CONF:{line}\n"));
                }
            }
            outputs.push((code, stderr));
        }
        runs.push((flavor, outputs));
    }
    let outputs = &runs[0].1;
    let expected = [
        "nginx: [emerg] \"worker_processes\" directive is duplicate in CONF:3\n",
        "nginx: [emerg] \"daemon\" directive is duplicate in command line\n",
        "nginx: [emerg] unexpected end of parameter, expecting \";\" in command line\n",
    ];
    for (output, expected) in outputs.iter().zip(expected) {
        assert_eq!(*output, (Some(1), expected.to_string()));
    }
    for run in &runs[1..] {
        assert_eq!(run.1, *outputs, "{:?}", run.0);
    }
}
