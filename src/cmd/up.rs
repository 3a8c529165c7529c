//! `strait up`: renders the routes into a runtime directory, serves it with strait, and
//! renders and reloads again whenever the routes or config file changes.
//!
//! The server is this binary run as a child (`strait -p DIR -c DIR/nginx.conf -g "daemon
//! off;"`), so `strait up` sees exactly what `strait -c` would. A change is rendered first;
//! a document that fails validation, or a YAML routes file without APISIX's end flag
//! (`#END` in its last 10 bytes), is reported and the running routes stay. A good one is
//! written and the child gets SIGHUP, nginx's reload: it checks the new configuration and
//! keeps the old one if that fails.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode};
use std::time::Duration;

use strait_render::{EndFlag, RenderOptions, Rendered};

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

/// The inputs as last read, to notice a change.
#[derive(PartialEq, Eq)]
struct Inputs(Vec<Option<Vec<u8>>>);

impl Inputs {
    fn read(args: &UpArgs) -> Inputs {
        let paths = std::iter::once(&args.routes).chain(args.config.as_ref());
        Inputs(paths.map(|p| std::fs::read(p).ok()).collect())
    }
}

/// Runs `strait up` until the server exits or a stop signal arrives.
pub(crate) fn run(args: &UpArgs) -> ExitCode {
    // Step: the runtime directory.
    let dir = match absolute(&args.dir) {
        Ok(dir) => dir,
        Err(e) => {
            report(&e);
            return ExitCode::FAILURE;
        }
    };
    if let Err(e) = std::fs::create_dir_all(dir.join("logs")) {
        eprintln!("strait up: cannot create {}: {e}", dir.join("logs").display());
        return ExitCode::FAILURE;
    }
    let conf = dir.join("nginx.conf");

    // Step: the first render; without it there is nothing to serve.
    let mut seen = Inputs::read(args);
    let mut current = match render(args, &dir, &conf) {
        Ok(rendered) => rendered,
        Err(()) => return ExitCode::FAILURE,
    };

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

            // A change: render, and reload only on success.
            let now = Inputs::read(args);
            if now == seen {
                continue;
            }
            seen = now;
            let Ok(rendered) = render(args, &dir, &conf) else {
                eprintln!("strait up: keeping the running routes");
                continue;
            };
            if rendered.config == current.config && rendered.files == current.files {
                continue;
            }
            current = rendered;
            match signal_child(&child, libc::SIGHUP) {
                Ok(()) => eprintln!("strait up: routes changed, reloading"),
                Err(e) => eprintln!("strait up: cannot signal the server: {e}"),
            }
        }
    })
}

/// Renders the inputs into the runtime directory; faults and warnings are printed. A YAML
/// routes file without APISIX's end flag is not loaded, as in APISIX's standalone mode: a
/// file caught while being written is never served.
fn render(args: &UpArgs, dir: &Path, conf: &Path) -> Result<Rendered, ()> {
    let options = RenderOptions::new(dir);
    let config = args.config.as_deref();
    let rendered = strait_render::render_paths(&args.routes, config, EndFlag::Required, &options)
        .and_then(|rendered| rendered.write(conf, dir).map(|()| rendered));
    let rendered = rendered.map_err(|e| report(&e))?;
    warn(&rendered);
    Ok(rendered)
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
