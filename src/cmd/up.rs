//! `strait up`: renders the routes into a runtime directory, serves it with strait, and
//! renders and reloads again whenever the routes or config file changes.
//!
//! The server is this binary run as a child (`strait -p DIR -c DIR/nginx.conf -g "daemon
//! off;"`), so `strait up` sees exactly what `strait -c` would. A change is rendered first;
//! a document that fails validation, or a YAML routes file without APISIX's end flag
//! (`#END` in its last 10 bytes), is reported and the running routes stay. A good one is
//! checked as the reload will load it (the checks of `strait -t`, and a bind of each
//! listening address the server does not hold yet: nginx's test passes over an address in
//! use, a reload cannot); one that fails is reported and not written. One that passes is
//! written and the child gets SIGHUP, nginx's reload; `up` reads the reload's outcome in
//! the server's error log and reports it. When the server keeps its old configuration,
//! that one is written back: `DIR/nginx.conf` is always the configuration that serves.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode};
use std::time::{Duration, Instant};

use strait_render::{EndFlag, RenderError, RenderOptions, Rendered};
use strait_runtime::listen::ListenAddr;

use super::render::{absolute, report, warn};

/// `strait up` flags.
#[derive(Debug, clap::Args)]
pub(crate) struct UpArgs {
    /// The routes document: stream_routes, upstreams, ssls (APISIX standalone YAML or JSON).
    #[arg(long, default_value = "conf/apisix.yaml")]
    pub(crate) routes: PathBuf,
    /// The config document (APISIX config.yaml); defaults apply when absent.
    #[arg(long)]
    pub(crate) config: Option<PathBuf>,
    /// The runtime directory: configuration, its files, logs/ and the pid file.
    #[arg(long, default_value = "strait-up")]
    pub(crate) dir: PathBuf,
    /// Milliseconds between looks at the input files.
    #[arg(long, default_value_t = 1000)]
    pub(crate) interval_ms: u64,
}

/// The inputs as last read, to notice a change: the routes file, then the config file.
#[derive(PartialEq, Eq)]
struct Inputs(Vec<Option<Vec<u8>>>);

impl Inputs {
    fn read(args: &UpArgs) -> Inputs {
        let paths = std::iter::once(&args.routes).chain(args.config.as_ref());
        Inputs(paths.map(|p| std::fs::read(p).ok()).collect())
    }

    /// Which input changed since `before`, in the words of the messages.
    fn changed_since(&self, before: &Inputs) -> &'static str {
        let routes = self.0.first() != before.0.first();
        let config = self.0.get(1) != before.0.get(1);
        match (routes, config) {
            (true, true) => "routes and config",
            (false, true) => "config",
            _ => "routes",
        }
    }
}

/// Runs `strait up` until the server exits or a stop signal arrives.
pub(crate) fn run(args: &UpArgs) -> ExitCode {
    // Step: the runtime directory.
    let dir = match absolute(&args.dir) {
        Ok(dir) => dir,
        Err(e) => {
            report("up", &e);
            return ExitCode::FAILURE;
        }
    };
    if let Err(e) = std::fs::create_dir_all(dir.join("logs")) {
        eprintln!("strait up: cannot create {}: {e}", dir.join("logs").display());
        return ExitCode::FAILURE;
    }
    let conf = dir.join("nginx.conf");

    // Step: the first render; without it there is nothing to serve. The addresses it
    // listens on are the server's once it runs (it reports its own faults when it cannot).
    let mut seen = Inputs::read(args);
    let Ok(mut current) = render(args, &dir) else { return ExitCode::FAILURE };
    if let Err(e) = current.write(&conf, &dir) {
        report("up", &e);
        return ExitCode::FAILURE;
    }
    let mut listening = compile(&current.config, &conf, &dir).map(addresses).unwrap_or_default();

    // Step: the server.
    let mut child = match spawn(&dir, &conf) {
        Ok(child) => child,
        Err(e) => {
            eprintln!("strait up: cannot start the server: {e}");
            return ExitCode::FAILURE;
        }
    };
    eprintln!("strait up: serving {} (pid {})", conf.display(), child.id());

    // Step: watch the inputs and the stop signals.
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("strait up: {e}");
            return stop(&mut child, libc::SIGTERM);
        }
    };
    runtime.block_on(async {
        use tokio::signal::unix::{signal, SignalKind};
        let (Ok(mut term), Ok(mut int), Ok(mut quit)) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
            signal(SignalKind::quit()),
        ) else {
            return stop(&mut child, libc::SIGTERM);
        };
        let mut tick = tokio::time::interval(Duration::from_millis(args.interval_ms.max(10)));
        loop {
            tokio::select! {
                _ = term.recv() => return stop(&mut child, libc::SIGTERM),
                _ = int.recv() => return stop(&mut child, libc::SIGTERM),
                _ = quit.recv() => return stop(&mut child, libc::SIGQUIT),
                _ = tick.tick() => {}
            }

            // The server ended by itself: so does `strait up`.
            if let Ok(Some(status)) = child.try_wait() {
                eprintln!("strait up: the server exited ({status})");
                return exit_code(status.code());
            }

            // A change: render it; a fault keeps the running configuration.
            let now = Inputs::read(args);
            if now == seen {
                continue;
            }
            let what = now.changed_since(&seen);
            seen = now;
            let Ok(rendered) = render(args, &dir) else {
                eprintln!("strait up: {what} changed: not loaded, the running routes stay");
                continue;
            };
            if rendered.config == current.config && rendered.files == current.files {
                eprintln!("strait up: {what} changed: the configuration is the same");
                continue;
            }

            // Check it as the reload will load it; only then write it and signal.
            let addrs = match check(&rendered.config, &conf, &dir, &listening) {
                Ok(addrs) => addrs,
                Err(message) => {
                    eprintln!("strait up: {what} changed: the new configuration fails: {message}");
                    eprintln!("strait up: not reloaded; {} still serves", conf.display());
                    continue;
                }
            };
            let logs = [&current, &rendered].map(|r| error_log_file(r, &dir));
            let watch: Vec<(PathBuf, u64)> =
                logs.iter().flatten().map(|path| (path.clone(), file_len(path))).collect();
            if let Err(e) = rendered.write(&conf, &dir) {
                report("up", &e);
                restore(&current, &conf, &dir);
                continue;
            }
            if let Err(e) = signal_child(&child, libc::SIGHUP) {
                eprintln!("strait up: cannot signal the server: {e}");
                restore(&current, &conf, &dir);
                continue;
            }
            eprintln!("strait up: {what} changed, reloading");

            // The outcome, from the server's error log.
            if watch.is_empty() {
                eprintln!("strait up: the server reports the outcome in its error log");
                (current, listening) = (rendered, addrs);
                continue;
            }
            let shown = watch[watch.len() - 1].0.display().to_string();
            match await_reload(&watch, notices_logged(&rendered)).await {
                Outcome::Loaded => {
                    eprintln!("strait up: reloaded");
                    (current, listening) = (rendered, addrs);
                }
                Outcome::Failed(lines) => {
                    eprintln!("strait up: the reload failed; the previous configuration serves:");
                    for line in lines {
                        eprintln!("strait up:   {line}");
                    }
                    restore(&current, &conf, &dir);
                }
                Outcome::Pending { .. } if notices_logged(&rendered) => {
                    eprintln!("strait up: no outcome in {shown} after {}s", WAIT.as_secs());
                    (current, listening) = (rendered, addrs);
                }
                Outcome::Pending { .. } => {
                    eprintln!(
                        "strait up: reloaded (no fault in {shown}; its level, {}, hides the \
                         success line)",
                        rendered.error_log.level
                    );
                    (current, listening) = (rendered, addrs);
                }
            }
        }
    })
}

/// Renders the inputs for the runtime directory (nothing is written); faults and warnings
/// are printed. A YAML routes file without APISIX's end flag is not loaded, as in APISIX's
/// standalone mode: a file caught while being written is never served.
fn render(args: &UpArgs, dir: &Path) -> Result<Rendered, ()> {
    let options = RenderOptions::new(dir);
    let config = args.config.as_deref();
    let rendered = strait_render::render_paths(&args.routes, config, EndFlag::Required, &options);
    let rendered = rendered.map_err(|e| report("up", &e))?;
    warn("up", &rendered);
    Ok(rendered)
}

/// Checks a rendered configuration as the server's reload will load it: [`compile`], then a
/// bind of each inet address that `listening` (the running configuration's) does not have.
/// `nginx -t` passes over an address in use, since the running server may hold it; a reload
/// cannot use one, and would keep the old configuration with only `[emerg]` lines in the
/// error log. The internal unix sockets are `up`'s own files in its directory. Returns the
/// configuration's addresses.
fn check(
    config: &str,
    conf: &Path,
    dir: &Path,
    listening: &[ListenAddr],
) -> Result<Vec<ListenAddr>, String> {
    let plan = compile(config, conf, dir)?;

    // The new addresses, bound and closed again with the options the server binds with.
    for listener in &plan.listeners {
        let spec = &listener.spec;
        if matches!(spec.addr, ListenAddr::Unix(_)) || listening.contains(&spec.addr) {
            continue;
        }
        if let Err(e) = strait_runtime::listen::bind(spec) {
            let errno = strait_runtime::log::error::errno_suffix(&e);
            return Err(format!("bind() to {} failed{errno}", spec.addr));
        }
    }
    Ok(addresses(plan))
}

/// The checks of `strait -t` before its bind step, on a rendered configuration: the
/// parser's, then the runtime plan as the server compiles it.
fn compile(config: &str, conf: &Path, dir: &Path) -> Result<strait_runtime::Plan, String> {
    strait_render::check_config(config, conf).map_err(|e| match e {
        RenderError::Check { message } => message,
        other => other.to_string(),
    })?;
    let parsed = strait_parser::parse_bytes(config.as_bytes(), conf, &Default::default())
        .map_err(|e| e.to_string())?;
    strait_runtime::Plan::compile(&parsed, &paths(dir)).map_err(|e| e.to_string())
}

/// The addresses a plan listens on.
fn addresses(plan: strait_runtime::Plan) -> Vec<ListenAddr> {
    plan.listeners.into_iter().map(|l| l.spec.addr).collect()
}

/// The server's paths: `-p DIR/`, the configuration in it, the error log its own.
fn paths(dir: &Path) -> strait_runtime::Paths {
    strait_runtime::Paths {
        prefix: dir.to_owned(),
        conf_prefix: dir.to_owned(),
        default_error_log: strait_runtime::plan::LogPath::Stderr,
    }
}

/// Writes back the configuration the server still runs.
fn restore(current: &Rendered, conf: &Path, dir: &Path) {
    match current.write(conf, dir) {
        Ok(()) => eprintln!("strait up: {} is the running configuration again", conf.display()),
        Err(e) => report("up", &e),
    }
}

/// The error log file of a configuration; `None` when its lines go elsewhere (stderr, which
/// the server shares with `up`, or a `syslog:`/`memory:` target).
fn error_log_file(rendered: &Rendered, dir: &Path) -> Option<PathBuf> {
    let path = rendered.error_log.path.as_str();
    let special = path == "stderr" || (!path.starts_with('/') && path.contains(':'));
    (!special).then(|| dir.join(path))
}

/// Whether the configuration's error log records notices, among them the reload's success.
fn notices_logged(rendered: &Rendered) -> bool {
    matches!(rendered.error_log.level.as_str(), "debug" | "info" | "notice")
}

fn file_len(path: &Path) -> u64 {
    std::fs::metadata(path).map_or(0, |m| m.len())
}

/// What a file holds from `offset` on (nothing when it cannot be read).
fn read_from(path: &Path, offset: u64) -> String {
    use std::io::{Read, Seek, SeekFrom};
    let mut bytes = Vec::new();
    if let Ok(mut file) = std::fs::File::open(path) {
        if file.seek(SeekFrom::Start(offset)).is_ok() {
            let _ = file.read_to_end(&mut bytes);
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// How long a reload may take before `up` stops waiting for its outcome: nginx's five
/// bind() tries 500 ms apart fit in it.
const WAIT: Duration = Duration::from_secs(10);

/// How long a fault may take to show when the log level hides the success line.
const QUIET: Duration = Duration::from_millis(1500);

/// A reload's outcome, as the server's error log tells it.
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    /// The new configuration serves.
    Loaded,
    /// The server keeps the old configuration: the `[emerg]` lines saying why.
    Failed(Vec<String>),
    /// Nothing final yet; `retrying` once a bind() of an address in use failed (nginx tries
    /// again 500 ms later, five times).
    Pending {
        /// An address in use is being tried again.
        retrying: bool,
    },
}

/// Reads the lines logged since the signal. strait's reload ends with `using the "epoll"
/// event method` (a notice, as nginx's new cycle) when the new configuration serves, and
/// with an `[emerg]` line when it does not: the load's fault, or `still could not bind()`
/// after the tries of an address in use (`bind() to ADDR failed (98: ...)`, each logged).
fn outcome(text: &str) -> Outcome {
    let mut faults = Vec::new();
    for line in text.lines() {
        if line.contains("using the \"epoll\" event method") {
            return Outcome::Loaded;
        }
        if !line.contains(" [emerg] ") {
            continue;
        }
        faults.push(line.to_owned());
        let in_use = line.contains("bind() to ") && line.contains("(98: Address already in use)");
        if !in_use {
            return Outcome::Failed(faults);
        }
    }
    Outcome::Pending { retrying: !faults.is_empty() }
}

/// Waits for the reload's outcome in the error logs `watch` (each from its length before
/// the signal): a failure's lines go to the new configuration's log, or to the old one's
/// when the new one did not load. When the level hides the success line, no fault within
/// [`QUIET`] (and no address being tried again) is taken as success: `Pending`.
async fn await_reload(watch: &[(PathBuf, u64)], notices: bool) -> Outcome {
    let start = Instant::now();
    loop {
        let text: String = watch.iter().map(|(path, from)| read_from(path, *from)).collect();
        let got = outcome(&text);
        let waited = start.elapsed();
        match got {
            Outcome::Pending { retrying } => {
                let quiet_enough = !notices && !retrying && waited >= QUIET;
                if quiet_enough || waited >= WAIT {
                    return got;
                }
            }
            done => return done,
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Starts this binary on the runtime directory, in the foreground. The server gets SIGTERM
/// when `strait up` ends for any reason, SIGKILL included, so its listeners never outlive it.
fn spawn(dir: &Path, conf: &Path) -> std::io::Result<Child> {
    let exe = std::env::current_exe()?;
    let mut prefix = dir.as_os_str().to_owned();
    prefix.push("/");
    let mut command = Command::new(exe);
    command.arg("-p").arg(prefix).arg("-c").arg(conf).arg("-g").arg("daemon off;");
    strait_runtime::sys::die_with_parent(&mut command, libc::SIGTERM);
    command.spawn()
}

fn signal_child(child: &Child, signal: i32) -> std::io::Result<()> {
    let pid = i32::try_from(child.id()).map_err(std::io::Error::other)?;
    strait_runtime::sys::kill(pid, signal)
}

/// Passes a stop signal on and waits for the server.
fn stop(child: &mut Child, signal: i32) -> ExitCode {
    if let Err(e) = signal_child(child, signal) {
        eprintln!("strait up: cannot signal the server: {e}");
    }
    match child.wait() {
        Ok(status) => exit_code(status.code()),
        Err(_) => ExitCode::FAILURE,
    }
}

fn exit_code(code: Option<i32>) -> ExitCode {
    match code {
        Some(0) => ExitCode::SUCCESS,
        Some(code) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
        None => ExitCode::SUCCESS,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: &str = "2026/12/03 18:00:00";

    /// The lines strait's reload logs, read into its outcome.
    #[test]
    fn the_error_log_tells_the_reload_outcome() {
        let loaded = format!(
            "{T} [notice] 7#7: signal 1 (SIGHUP) received from 6, reconfiguring\n\
             {T} [notice] 7#7: reconfiguring\n{T} [notice] 7#7: using the \"epoll\" event method\n"
        );
        assert_eq!(outcome(&loaded), Outcome::Loaded);
        assert_eq!(outcome(""), Outcome::Pending { retrying: false });

        // An address in use: tried again, then given up.
        let errno = "(98: Address already in use)";
        let in_use = format!("{T} [emerg] 7#9: bind() to 127.0.0.1:9 failed {errno}\n");
        assert_eq!(outcome(&in_use), Outcome::Pending { retrying: true });
        let given_up = format!("{in_use}{in_use}{T} [emerg] 7#9: still could not bind()\n");
        let Outcome::Failed(lines) = outcome(&given_up) else { panic!("{given_up}") };
        assert_eq!(lines.len(), 3);
        assert!(lines[2].ends_with("still could not bind()"));

        // A configuration the server cannot load.
        let fault = format!("{T} [emerg] 7#7: unknown directive \"x\" in /run/nginx.conf:3\n");
        assert_eq!(outcome(&fault), Outcome::Failed(vec![fault.trim_end().to_owned()]));
    }
}
