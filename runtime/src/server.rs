//! The serving process: binding listeners, the pid file, `daemon`, the tokio runtime with
//! `worker_processes` threads, accept loops, and the signals (HUP reload, QUIT drain,
//! TERM/INT stop, USR1 reopen).

use crate::accept::TcpAcceptor;
use crate::conf::ConfigError;
use crate::listen::{self, ListenAddr};
use crate::log::error::errno_suffix;
use crate::log::{ErrorLog, Level};
use crate::plan::{Listener, Plan};
use crate::session::{self, ClientAddr};
use crate::stream::Stream;
use std::collections::HashMap;
use std::io;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use tokio::net::{TcpStream, UnixListener};
use tokio::sync::{oneshot, Notify};
use tokio::task::JoinHandle;

/// Loads and compiles the configuration: parse, check, compile. Called at start and on every
/// reload; the message is nginx's (`MESSAGE in FILE:LINE`).
pub type Loader = Arc<dyn Fn() -> Result<Plan, LoadError> + Send + Sync>;

/// Why a configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The parser or its checks rejected the file.
    #[error("{0}")]
    Parse(String),
    /// Compiling the checked tree failed.
    #[error("{0}")]
    Config(#[from] ConfigError),
}

/// Why serving could not start or went wrong.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The configuration could not be loaded.
    #[error("{0}")]
    Load(#[from] LoadError),
    /// A listening socket could not be opened.
    #[error("bind() to {addr} failed{errno}")]
    Bind {
        /// The address.
        addr: String,
        /// The ` (N: text)` suffix.
        errno: String,
    },
    /// An address stayed in use through every try (each failure is logged as it happens).
    #[error("still could not bind()")]
    StillInUse,
    /// Another system call failed (fork, pid file, runtime).
    #[error("{what} failed{errno}")]
    System {
        /// What was attempted, in nginx's words (`open() "PATH"`).
        what: String,
        /// The ` (N: text)` suffix.
        errno: String,
    },
    /// `-s`: the pid file does not hold a process id.
    #[error("invalid PID number \"{number}\" in \"{path}\"")]
    InvalidPid {
        /// The pid file's text, without its line end.
        number: String,
        /// The pid file.
        path: String,
    },
    /// `-s`: the signal could not be sent (nginx logs this at `alert`).
    #[error("kill({pid}, {signal}) failed{errno}")]
    Kill {
        /// The process id read from the pid file.
        pid: i32,
        /// The signal number.
        signal: i32,
        /// The ` (N: text)` suffix.
        errno: String,
    },
}

impl ServeError {
    fn system(what: impl Into<String>, err: &io::Error) -> ServeError {
        ServeError::System { what: what.into(), errno: errno_suffix(err) }
    }

    /// The error log level nginx reports this fault at.
    pub fn level(&self) -> Level {
        Level::Emerg
    }
}

/// A listening socket, as kept across reloads.
#[derive(Debug)]
enum Socket {
    Tcp(std::net::TcpListener),
    Unix(std::os::unix::net::UnixListener),
}

/// How many times nginx tries to bind an address in use, and the pause between tries.
const BIND_TRIES: usize = 5;
const BIND_PAUSE: std::time::Duration = std::time::Duration::from_millis(500);

/// Opens the listening sockets of `specs` as `ngx_open_listening_sockets` does: an address in
/// use is logged and tried again, 5 times 500 ms apart, the sockets already open kept; any
/// other failure ends it at once (the caller reports that one). At startup the lines also go
/// to stderr. Blocks for the pauses: run it off the event loops.
fn open_listeners(
    specs: &[listen::ListenSpec],
    log: &ErrorLog,
    startup: bool,
) -> Result<HashMap<ListenAddr, Socket>, ServeError> {
    let write = |level, message: &str| match startup {
        true => log.write_startup(level, message),
        false => log.write(level, None, message),
    };
    let mut open = HashMap::new();
    for _ in 0..BIND_TRIES {
        // Every address not open yet, in configuration order.
        let mut in_use = false;
        for spec in specs {
            if open.contains_key(&spec.addr) {
                continue;
            }
            match bind_one(spec) {
                Ok(socket) => {
                    if let ListenAddr::Unix(path) = &spec.addr {
                        // Anyone may connect, as nginx makes its unix sockets (0666); a
                        // failure is logged and the socket kept, as nginx keeps it.
                        use std::os::unix::fs::PermissionsExt;
                        let mode = std::fs::Permissions::from_mode(0o666);
                        if let Err(e) = std::fs::set_permissions(path, mode) {
                            let path = path.display();
                            write(
                                Level::Emerg,
                                &format!("chmod() \"{path}\" failed{}", errno_suffix(&e)),
                            );
                        }
                    }
                    open.insert(spec.addr.clone(), socket);
                }
                Err(e) => {
                    let fault =
                        ServeError::Bind { addr: spec.addr.to_string(), errno: errno_suffix(&e) };
                    if e.raw_os_error() != Some(libc::EADDRINUSE) {
                        return Err(fault);
                    }
                    write(Level::Emerg, &fault.to_string());
                    in_use = true;
                }
            }
        }

        // All open, or a pause before the next try.
        if !in_use {
            return Ok(open);
        }
        write(Level::Notice, "try again to bind() after 500ms");
        std::thread::sleep(BIND_PAUSE);
    }
    Err(ServeError::StillInUse)
}

/// `nginx -t`'s last step: binds every listening socket of `plan` and closes it again; the
/// first that cannot be bound (other than an address in use) is `bind() to ADDR failed`.
pub fn test_bind(plan: &Plan) -> Result<(), ConfigError> {
    for listener in &plan.listeners {
        if let Err(e) = listen::test_bind(&listener.spec) {
            let message = format!("bind() to {} failed{}", listener.spec.addr, errno_suffix(&e));
            return Err(ConfigError::cycle(strait_parser::check::CycleStep::Listening, message));
        }
    }
    Ok(())
}

/// Opens one listening socket.
fn bind_one(spec: &listen::ListenSpec) -> io::Result<Socket> {
    if let ListenAddr::Unix(path) = &spec.addr {
        // A stale socket file of a previous run would make bind fail.
        if std::os::unix::net::UnixStream::connect(path).is_err() {
            let _ = std::fs::remove_file(path);
        }
    }
    let socket = listen::bind(spec)?;
    Ok(match &spec.addr {
        ListenAddr::Inet(_) => Socket::Tcp(socket.into()),
        ListenAddr::Unix(_) => Socket::Unix(socket.into()),
    })
}

/// Counts live sessions and wakes the drain when the last one ends.
#[derive(Debug, Default)]
struct Sessions {
    live: AtomicUsize,
    idle: Notify,
}

/// Held by a session task; dropping it ends the session's count.
struct SessionGuard(Arc<Sessions>);

impl Drop for SessionGuard {
    fn drop(&mut self) {
        if self.0.live.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.idle.notify_waiters();
        }
    }
}

impl Sessions {
    fn enter(self: &Arc<Self>) -> SessionGuard {
        self.live.fetch_add(1, Ordering::AcqRel);
        SessionGuard(self.clone())
    }

    async fn drained(&self) {
        loop {
            let notified = self.idle.notified();
            if self.live.load(Ordering::Acquire) == 0 {
                return;
            }
            notified.await;
        }
    }
}

/// One accept loop: runs until told to stop, then hands its socket back.
struct AcceptTask {
    addr: ListenAddr,
    stop: oneshot::Sender<()>,
    handle: JoinHandle<Option<Socket>>,
}

/// Everything the running server shares between its accept loops.
#[derive(Clone)]
struct Shared {
    sessions: Arc<Sessions>,
    limit: usize,
    /// The worker event loops; empty when the one worker is the main thread's loop.
    workers: Arc<[tokio::runtime::Handle]>,
    /// The live sessions of each worker, to hand a new one to the least loaded.
    loads: Arc<[AtomicUsize]>,
    /// The workers' thread ids, for `start worker process`.
    worker_ids: Arc<[i64]>,
}

/// The least loaded worker when `worker` is clearly busier than it: at least one session
/// more, and an eighth more once it has many, so that a steady load moves few sessions.
fn less_loaded_than(loads: &[AtomicUsize], worker: usize) -> Option<usize> {
    let load = |index: usize| loads[index].load(Ordering::Relaxed);
    let mine = load(worker);
    let (least, fewest) = (0..loads.len()).map(|i| (i, load(i))).min_by_key(|w| w.1)?;
    (mine >= fewest + 1 + mine / 8).then_some(least)
}

/// Held by a session task on a worker loop; dropping it ends the session on that worker.
struct WorkerLoad {
    loads: Arc<[AtomicUsize]>,
    worker: usize,
}

impl WorkerLoad {
    fn enter(loads: &Arc<[AtomicUsize]>, worker: usize) -> WorkerLoad {
        loads[worker].fetch_add(1, Ordering::Relaxed);
        WorkerLoad { loads: loads.clone(), worker }
    }
}

impl Drop for WorkerLoad {
    fn drop(&mut self) {
        self.loads[self.worker].fetch_sub(1, Ordering::Relaxed);
    }
}

fn spawn_accept(plan: Arc<Plan>, listener: Listener, socket: Socket, shared: Shared) -> AcceptTask {
    let (stop, mut stopped) = oneshot::channel();
    let addr = listener.spec.addr.clone();
    let handle = tokio::spawn(async move {
        match socket {
            Socket::Tcp(std) if !shared.workers.is_empty() => {
                // Every worker accepts on its own copy of the socket in its own event loop, as
                // every nginx worker process does; the original is kept for the next plan.
                let (loops_stop, loops_stopped) = tokio::sync::watch::channel(false);
                let mut loops = Vec::new();
                for (index, worker) in shared.workers.iter().enumerate() {
                    let Ok(copy) = std.try_clone() else { continue };
                    let (plan, shared, listener) = (plan.clone(), shared.clone(), listener.clone());
                    let mut stopped = loops_stopped.clone();
                    loops.push(worker.spawn(async move {
                        let Ok(tcp) = TcpAcceptor::new(copy) else { return };
                        tokio::select! {
                            _ = stopped.wait_for(|stop| *stop) => {}
                            _ = accept_tcp(&tcp, &plan, &shared, &listener, Some(index)) => {}
                        }
                    }));
                }
                let _ = (&mut stopped).await;
                let _ = loops_stop.send(true);
                for accept_loop in loops {
                    let _ = accept_loop.await;
                }
                Some(Socket::Tcp(std))
            }
            Socket::Tcp(std) => {
                let tcp = TcpAcceptor::new(std).ok()?;
                tokio::select! {
                    _ = &mut stopped => {}
                    _ = accept_tcp(&tcp, &plan, &shared, &listener, None) => {}
                }
                Some(Socket::Tcp(tcp.into_std()))
            }
            Socket::Unix(std) => {
                // Unix-domain sessions run on the first worker's loop.
                let worker = shared.workers.first().cloned();
                let accept = accept_unix(std, stopped, plan, listener, shared);
                match worker {
                    Some(worker) => worker.spawn(accept).await.ok().flatten(),
                    None => accept.await,
                }
            }
        }
    });
    AcceptTask { addr, stop, handle }
}

/// Accepts unix-domain connections until told to stop, then hands the socket back.
async fn accept_unix(
    std: std::os::unix::net::UnixListener,
    mut stopped: oneshot::Receiver<()>,
    plan: Arc<Plan>,
    listener: Listener,
    shared: Shared,
) -> Option<Socket> {
    let unix = UnixListener::from_std(std).ok()?;
    loop {
        tokio::select! {
            _ = &mut stopped => return unix.into_std().ok().map(Socket::Unix),
            accepted = unix.accept() => match accepted {
                Ok((stream, _)) => {
                    let (server, text) = listener.server_for(None);
                    let (server, text) = (server.clone(), text.clone());
                    let listening = listener.text();
                    start_session(&plan, &shared, server, Stream::Unix(stream),
                        ClientAddr::Unix, None, (listening, text));
                }
                Err(e) => accept_failed(&plan, &e).await,
            },
        }
    }
}

/// Accepts TCP connections forever, starting a session for each. With several workers,
/// `worker` is this loop's own, and a worker clearly busier than another hands the new
/// session to the least loaded one, as nginx's workers share new connections: the kernel
/// wakes a worker that waits for events (EPOLLEXCLUSIVE), not a busy one. Without it, a
/// burst of connections could all land on the worker that happened to be awake.
async fn accept_tcp(
    tcp: &TcpAcceptor,
    plan: &Arc<Plan>,
    shared: &Shared,
    listener: &Listener,
    worker: Option<usize>,
) {
    loop {
        let (stream, peer) = match tcp.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                accept_failed(plan, &e).await;
                continue;
            }
        };

        let local = local_address(listener, || stream.local_addr());
        let (server, text) = listener.server_for(local);
        let (server, text) = (server.clone(), (listener.text(), text.clone()));
        let Some(guard) = admit(plan, shared) else { continue };
        let client = ClientAddr::Inet(peer);
        let plan = plan.clone();

        // The session runs here, or on a clearly less loaded worker; either way the loop
        // that runs it is the one to register the socket with its epoll.
        let chosen = worker.map(|w| less_loaded_than(&shared.loads, w).unwrap_or(w));
        let load = chosen.map(|c| WorkerLoad::enter(&shared.loads, c));
        let session = async move {
            if let Ok(stream) = TcpStream::from_std(stream) {
                let stream = Stream::Tcp(stream);
                // Boxed: the session's future is large (every phase's state).
                Box::pin(session::run(plan, server, stream, client, local, text.0, text.1)).await;
            }
            drop((load, guard));
        };
        // A task spawned through another loop's handle wakes that loop, even this one's.
        match chosen {
            Some(other) if chosen != worker => shared.workers[other].spawn(session),
            _ => tokio::spawn(session),
        };
    }
}

/// The local address of an accepted connection: a specific listen address is it; only a
/// wildcard socket needs getsockname().
fn local_address(
    listener: &Listener,
    getsockname: impl FnOnce() -> io::Result<std::net::SocketAddr>,
) -> Option<std::net::SocketAddr> {
    match &listener.spec.addr {
        ListenAddr::Inet(a) if !a.ip().is_unspecified() => Some(*a),
        _ => getsockname().ok(),
    }
}

async fn accept_failed(plan: &Plan, err: &io::Error) {
    let (level, rest) = accept_fault(err, plan.main.accept_mutex_delay);
    plan.main.error_log.write(level, None, &format!("accept4() failed{}", errno_suffix(err)));
    if !rest.is_zero() {
        tokio::time::sleep(rest).await;
    }
}

/// How a failed `accept4` is answered, as ngx_event_accept answers it: the level of its line
/// and how long the socket rests before the next accept. A connection the client reset before
/// it was accepted is an error and the next one is taken at once; with no descriptor left,
/// accepting stops for `accept_mutex_delay`. nginx waits for the next event after anything
/// else; an edge-triggered loop would retry at once, so it rests briefly.
fn accept_fault(err: &io::Error, delay: std::time::Duration) -> (Level, std::time::Duration) {
    use std::time::Duration;
    match err.raw_os_error() {
        Some(libc::ECONNABORTED) => (Level::Error, Duration::ZERO),
        Some(libc::EMFILE | libc::ENFILE) => (Level::Crit, delay),
        _ => (Level::Alert, Duration::from_millis(100)),
    }
}

/// Counts a new session in, or refuses it when worker_connections, which caps the
/// connections of all workers together, are all taken.
fn admit(plan: &Plan, shared: &Shared) -> Option<SessionGuard> {
    if shared.sessions.live.load(Ordering::Acquire) >= shared.limit {
        plan.main.error_log.write(
            Level::Alert,
            None,
            &format!("{} worker_connections are not enough", plan.main.worker_connections),
        );
        return None;
    }
    Some(shared.sessions.enter())
}

fn start_session(
    plan: &Arc<Plan>,
    shared: &Shared,
    server: Arc<crate::plan::ServerConf>,
    stream: Stream,
    client: ClientAddr,
    local: Option<std::net::SocketAddr>,
    text: (Arc<str>, Arc<str>),
) {
    let Some(guard) = admit(plan, shared) else { return };
    let plan = plan.clone();
    // The session's future is large (every phase's state); boxed, the task moves a pointer
    // instead of copying it at every stage change.
    let session = Box::pin(session::run(plan, server, stream, client, local, text.0, text.1));
    tokio::spawn(async move {
        session.await;
        drop(guard);
    });
}

/// The generation currently serving: its plan and accept loops.
struct Generation {
    plan: Arc<Plan>,
    tasks: Vec<AcceptTask>,
}

impl Generation {
    /// Stops the accept loops and collects their sockets for reuse.
    async fn stop(self) -> HashMap<ListenAddr, Socket> {
        let mut sockets = HashMap::new();
        for task in self.tasks {
            let _ = task.stop.send(());
            if let Ok(Some(socket)) = task.handle.await {
                sockets.insert(task.addr, socket);
            }
        }
        sockets
    }
}

/// Serves `plan` until QUIT, TERM or INT. `daemon on` forks before anything else runs;
/// the pid file is written once every listener is bound.
pub fn serve(plan: Plan, loader: Loader) -> Result<(), ServeError> {
    // Bind every listener first, as nginx's master does before it daemonizes.
    let specs: Vec<_> = plan.listeners.iter().map(|l| l.spec.clone()).collect();
    let mut open = open_listeners(&specs, &plan.main.error_log, true)?;
    let mut sockets: Vec<(Listener, Socket)> = plan
        .listeners
        .iter()
        .filter_map(|l| open.remove(&l.spec.addr).map(|socket| (l.clone(), socket)))
        .collect();

    // nginx's notices once the sockets are open: the event method, then ngx_os_status.
    announce_start(&plan.main.error_log);

    // daemon on: the parent exits, the child carries on without a terminal.
    if plan.main.daemon {
        match crate::sys::fork().map_err(|e| ServeError::system("fork()", &e))? {
            crate::sys::Forked::Parent(_) => std::process::exit(0),
            crate::sys::Forked::Child => {
                crate::sys::setsid().map_err(|e| ServeError::system("setsid()", &e))?;
                let _ = crate::sys::detach_stdio(plan.main.error_log.writes_stderr());
            }
        }
    }

    // worker_rlimit_nofile and worker_rlimit_core, as nginx's workers set them.
    let limits = [
        (crate::sys::Limit::OpenFiles, "RLIMIT_NOFILE", plan.main.rlimit_nofile),
        (crate::sys::Limit::CoreSize, "RLIMIT_CORE", plan.main.rlimit_core),
    ];
    for (which, name, limit) in limits {
        let Some(limit) = limit else { continue };
        if let Err(e) = crate::sys::set_limit(which, limit) {
            plan.main.error_log.write(
                Level::Alert,
                None,
                &format!("setrlimit({name}, {limit}) failed{}", errno_suffix(&e)),
            );
        }
    }

    // working_directory, as nginx's workers change to it.
    if let Some(dir) = &plan.main.working_directory {
        if let Err(e) = std::env::set_current_dir(dir) {
            let message = format!("chdir(\"{}\") failed{}", dir.display(), errno_suffix(&e));
            plan.main.error_log.write(Level::Alert, None, &message);
        }
    }

    // env: workers see only TZ and the listed variables.
    apply_env(&plan.main.env);

    // The event loops. Each worker is one loop on one thread, as an nginx worker is: no work
    // stealing, no cross-thread wakeups. A single worker is the main thread's loop, which
    // also handles signals; with more, the main loop only handles signals and reloads.
    let count = plan.main.worker_processes.max(1);
    let new_loop = || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| ServeError::system("runtime", &e))
    };
    let runtime = new_loop()?;
    let (workers, stops) = if count > 1 {
        spawn_workers(count, new_loop)?
    } else {
        let main = Workers { loops: Arc::new([]), ids: Arc::new([crate::sys::thread_id()]) };
        (main, Vec::new())
    };
    let result = runtime.block_on(run(plan, &mut sockets, loader, workers));
    drop(stops);
    runtime.shutdown_background();
    result
}

/// The worker event loops and the thread ids their log lines carry.
struct Workers {
    /// The loops; empty when the one worker is the main thread's loop.
    loops: Arc<[tokio::runtime::Handle]>,
    /// The kernel thread id of each worker (nginx's worker pid in `start worker process`).
    ids: Arc<[i64]>,
}

/// The worker threads: one event loop each, running until its stop channel closes.
fn spawn_workers(
    count: usize,
    new_loop: impl Fn() -> Result<tokio::runtime::Runtime, ServeError>,
) -> Result<(Workers, Vec<oneshot::Sender<()>>), ServeError> {
    let mut handles = Vec::new();
    let mut stops = Vec::new();
    let (ids_tx, ids_rx) = std::sync::mpsc::channel();
    for _ in 0..count {
        let worker = new_loop()?;
        let (stop, stopped) = oneshot::channel::<()>();
        handles.push(worker.handle().clone());
        stops.push(stop);
        let ids_tx = ids_tx.clone();
        std::thread::Builder::new()
            .name("strait-worker".to_string())
            .spawn(move || {
                let _ = ids_tx.send(crate::sys::thread_id());
                worker.block_on(async {
                    tokio::select! {
                        _ = stopped => {}
                        _ = keep_a_timer_armed() => {}
                    }
                });
                worker.shutdown_background();
            })
            .map_err(|e| ServeError::system("pthread_create()", &e))?;
    }
    drop(ids_tx);
    let ids = ids_rx.iter().take(count).collect();
    Ok((Workers { loops: handles.into(), ids }, stops))
}

/// Keeps a timer of the worker's loop armed. When a loop has no timer, the first one a
/// session sets (its connect timeout) wakes the loop through its eventfd, once per
/// connection; a timer later than one already armed does not.
async fn keep_a_timer_armed() {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
    loop {
        tick.tick().await;
    }
}

/// nginx's notices at start, in its order: the event method (tokio's loops run on epoll),
/// then `ngx_os_status`: the version and build, the system, the open-files limit.
fn announce_start(log: &ErrorLog) {
    log.write(Level::Notice, None, "using the \"epoll\" event method");
    log.write(Level::Notice, None, &version_build());
    log.write(Level::Notice, None, &built_by());
    if let Ok((system, release)) = crate::sys::os_release() {
        log.write(Level::Notice, None, &format!("OS: {system} {release}"));
    }
    if let Ok((soft, hard)) = crate::sys::nofile_limit() {
        let line = format!("getrlimit(RLIMIT_NOFILE): {soft}:{hard}");
        log.write(Level::Notice, None, &line);
    }
}

/// nginx's lines once the workers serve a configuration, at start and after a reload (strait
/// keeps its worker threads across reloads: the same ids are named again).
fn announce_workers(log: &ErrorLog, ids: &[i64]) {
    log.write(Level::Notice, None, "start worker processes");
    for id in ids {
        log.write(Level::Notice, None, &format!("start worker process {id}"));
    }
}

/// nginx's `NGINX_VER_BUILD` as strait says it (`-v` too): the version it claims, then its own.
pub fn version_build() -> String {
    format!("nginx/{} (strait {})", crate::variables::NGINX_VERSION, env!("CARGO_PKG_VERSION"))
}

/// The `built by` line of `-V` and of the start notices.
pub fn built_by() -> String {
    format!(
        "built by strait {} (a Rust drop-in for nginx's stream module)",
        env!("CARGO_PKG_VERSION")
    )
}

fn apply_env(env: &[(String, Option<String>)]) {
    let keep: Vec<&str> = env.iter().map(|(name, _)| name.as_str()).collect();
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy().into_owned();
        if name != "TZ" && !keep.contains(&name.as_str()) {
            std::env::remove_var(&name);
        }
    }
    for (name, value) in env {
        if let Some(value) = value {
            std::env::set_var(name, value);
        }
    }
}

async fn run(
    plan: Plan,
    sockets: &mut Vec<(Listener, Socket)>,
    loader: Loader,
    workers: Workers,
) -> Result<(), ServeError> {
    use tokio::signal::unix::{signal, SignalKind};
    let sig = |kind| signal(kind).map_err(|e| ServeError::system("sigaction()", &e));
    let mut hup = sig(SignalKind::hangup())?;
    let mut quit = sig(SignalKind::quit())?;
    let mut term = sig(SignalKind::terminate())?;
    let mut int = sig(SignalKind::interrupt())?;
    let mut usr1 = sig(SignalKind::user_defined1())?;
    // Who sent each signal, for nginx's `signal N (NAME) received from PID` line.
    let sender = |signal| {
        crate::sys::record_signal_sender(signal).map_err(|e| ServeError::system("sigaction()", &e))
    };
    let senders = Senders {
        hup: sender(libc::SIGHUP)?,
        quit: sender(libc::SIGQUIT)?,
        term: sender(libc::SIGTERM)?,
        int: sender(libc::SIGINT)?,
        usr1: sender(libc::SIGUSR1)?,
    };

    // With one worker, this loop runs the sessions: it keeps a timer armed as worker loops do.
    if workers.loops.is_empty() {
        tokio::spawn(keep_a_timer_armed());
    }

    // Start the accept loops.
    let plan = Arc::new(plan);
    let shared = Shared {
        sessions: Arc::new(Sessions::default()),
        limit: plan.main.worker_connections * plan.main.worker_processes.max(1),
        loads: workers.loops.iter().map(|_| AtomicUsize::new(0)).collect(),
        workers: workers.loops,
        worker_ids: workers.ids,
    };
    let mut generation = Generation { plan: plan.clone(), tasks: Vec::new() };
    for (listener, socket) in sockets.drain(..) {
        generation.tasks.push(spawn_accept(plan.clone(), listener, socket, shared.clone()));
    }
    let flusher = tokio::spawn(flush_access_logs(Arc::downgrade(&plan)));
    let mut flushers = vec![flusher];

    // The pid file, only now that every listener is bound; then the workers are announced.
    let pid_path = plan.main.pid.clone();
    write_pid(&pid_path)?;
    announce_workers(&plan.main.error_log, &shared.worker_ids);
    let unix_paths = unix_paths(&plan);

    loop {
        let log = generation.plan.main.error_log.clone();
        tokio::select! {
            _ = hup.recv() => {
                received(&log, "signal 1 (SIGHUP)", &senders.hup, "reconfiguring");
                log.write(Level::Notice, None, "reconfiguring");
                generation = reload(generation, &loader, &shared, &mut flushers).await;
            }
            _ = usr1.recv() => {
                received(&log, "signal 10 (SIGUSR1)", &senders.usr1, "reopening logs");
                log.write(Level::Notice, None, "reopening logs");
                for (path, e) in generation.plan.log_files.reopen_all() {
                    log.write(Level::Alert, None,
                        &format!("open() \"{}\" failed{}", path.display(), errno_suffix(&e)));
                }
            }
            _ = quit.recv() => {
                received(&log, "signal 3 (SIGQUIT)", &senders.quit, "shutting down");
                log.write(Level::Notice, None, "gracefully shutting down");
                let plan = generation.plan.clone();
                drop(generation.stop().await);
                match plan.main.shutdown_timeout {
                    None => shared.sessions.drained().await,
                    // worker_shutdown_timeout: sessions still open then are closed.
                    Some(limit) => {
                        let _ = tokio::time::timeout(limit, shared.sessions.drained()).await;
                    }
                }
                finish(&plan, &pid_path, &unix_paths, &log);
                return Ok(());
            }
            _ = term.recv() => {
                received(&log, "signal 15 (SIGTERM)", &senders.term, "exiting");
                finish(&generation.plan, &pid_path, &unix_paths, &log);
                return Ok(());
            }
            _ = int.recv() => {
                received(&log, "signal 2 (SIGINT)", &senders.int, "exiting");
                finish(&generation.plan, &pid_path, &unix_paths, &log);
                return Ok(());
            }
        }
    }
}

/// The recorded senders of the signals the server handles.
struct Senders {
    hup: crate::sys::SignalSender,
    quit: crate::sys::SignalSender,
    term: crate::sys::SignalSender,
    int: crate::sys::SignalSender,
    usr1: crate::sys::SignalSender,
}

/// Logs nginx's notice for a received signal: `signal 1 (SIGHUP) received from 123,
/// reconfiguring` (without ` from PID` when the kernel sent it).
fn received(log: &ErrorLog, signal: &str, sender: &crate::sys::SignalSender, action: &str) {
    let line = match sender.take() {
        Some(pid) => format!("{signal} received from {pid}, {action}"),
        None => format!("{signal} received, {action}"),
    };
    log.write(Level::Notice, None, &line);
}

/// HUP: load the configuration again; on failure log it and keep the old one; on success
/// hand unchanged sockets to the new accept loops and let old sessions finish on the old plan.
async fn reload(
    generation: Generation,
    loader: &Loader,
    shared: &Shared,
    flushers: &mut Vec<JoinHandle<()>>,
) -> Generation {
    let log = generation.plan.main.error_log.clone();

    // Parse and compile off the event loop: sessions keep being served meanwhile (with one
    // worker, the loop is this very thread).
    let load = loader.clone();
    let loaded = tokio::task::spawn_blocking(move || load()).await;
    let plan = match loaded {
        Ok(Ok(plan)) => Arc::new(plan),
        Ok(Err(e)) => {
            log.write(Level::Emerg, None, &e.to_string());
            return generation;
        }
        Err(e) => {
            log.write(Level::Emerg, None, &format!("reload failed: {e}"));
            return generation;
        }
    };

    // Open the new addresses before touching the old loops, so a bind failure keeps the old
    // configuration serving; the lines go to the new configuration's log, as nginx's.
    let old_addrs: Vec<ListenAddr> = generation.tasks.iter().map(|t| t.addr.clone()).collect();
    let specs: Vec<_> = plan
        .listeners
        .iter()
        .filter(|l| !old_addrs.contains(&l.spec.addr))
        .map(|l| l.spec.clone())
        .collect();
    let new_log = plan.main.error_log.clone();
    let opened = tokio::task::spawn_blocking(move || open_listeners(&specs, &new_log, false));
    let fresh = match opened.await {
        Ok(Ok(fresh)) => fresh,
        Ok(Err(e)) => {
            plan.main.error_log.write(Level::Emerg, None, &e.to_string());
            return generation;
        }
        Err(e) => {
            log.write(Level::Emerg, None, &format!("reload failed: {e}"));
            return generation;
        }
    };

    // Stop the old loops (their sockets keep queueing connections) and start the new ones.
    let old_plan = generation.plan.clone();
    let mut sockets = generation.stop().await;
    sockets.extend(fresh);
    let mut tasks = Vec::new();
    for listener in &plan.listeners {
        if let Some(socket) = sockets.remove(&listener.spec.addr) {
            tasks.push(spawn_accept(plan.clone(), listener.clone(), socket, shared.clone()));
        }
    }
    for (addr, _) in sockets {
        if let ListenAddr::Unix(path) = addr {
            let _ = std::fs::remove_file(path);
        }
    }
    flushers.retain(|f| !f.is_finished());
    flushers.push(tokio::spawn(flush_access_logs(Arc::downgrade(&plan))));
    // What nginx's master logs for a new configuration: the event method of the new cycle,
    // then its workers.
    plan.main.error_log.write(Level::Notice, None, "using the \"epoll\" event method");
    announce_workers(&plan.main.error_log, &shared.worker_ids);
    drop(old_plan);
    Generation { plan, tasks }
}

/// Flushes buffered access logs on their `flush=` interval while the plan lives; a plan
/// without a buffered log leaves its loop asleep.
async fn flush_access_logs(plan: std::sync::Weak<Plan>) {
    let buffered =
        plan.upgrade().is_some_and(|plan| access_logs(&plan).any(|log| log.is_buffered()));
    if !buffered {
        return;
    }

    let mut tick = tokio::time::interval(std::time::Duration::from_millis(100));
    loop {
        tick.tick().await;
        let Some(plan) = plan.upgrade() else { return };
        for log in access_logs(&plan) {
            log.flush(false);
        }
    }
}

/// Every access log of the plan's servers.
fn access_logs(plan: &Plan) -> impl Iterator<Item = &crate::log::access::AccessLog> {
    let servers = plan.listeners.iter().flat_map(|listener| &listener.servers);
    servers.flat_map(|(_, server, _)| server.access_logs.iter().map(|log| &**log))
}

fn unix_paths(plan: &Plan) -> Vec<PathBuf> {
    plan.listeners
        .iter()
        .filter_map(|l| match &l.spec.addr {
            ListenAddr::Unix(path) => Some(path.clone()),
            ListenAddr::Inet(_) => None,
        })
        .collect()
}

fn finish(plan: &Plan, pid: &std::path::Path, unix: &[PathBuf], log: &ErrorLog) {
    for listener in &plan.listeners {
        for (_, server, _) in &listener.servers {
            for access in &server.access_logs {
                access.flush(true);
            }
        }
    }
    for path in unix {
        let _ = std::fs::remove_file(path);
    }
    let _ = std::fs::remove_file(pid);
    log.write(Level::Notice, None, "exit");
}

fn write_pid(path: &std::path::Path) -> Result<(), ServeError> {
    let content = format!("{}\n", std::process::id());
    std::fs::write(path, content)
        .map_err(|e| ServeError::system(format!("open() \"{}\"", path.display()), &e))
}

/// `-s SIGNAL`: reads the pid file and signals the running instance.
pub fn signal_running(pid_file: &std::path::Path, name: &str) -> Result<(), ServeError> {
    let signal = match name {
        "stop" => libc::SIGTERM,
        "quit" => libc::SIGQUIT,
        "reopen" => libc::SIGUSR1,
        "reload" => libc::SIGHUP,
        _ => {
            return Err(ServeError::System {
                what: format!("invalid option: \"-s {name}\""),
                errno: String::new(),
            })
        }
    };
    let content = std::fs::read(pid_file)
        .map_err(|e| ServeError::system(format!("open() \"{}\"", pid_file.display()), &e))?;
    let trimmed = String::from_utf8_lossy(&content);
    let trimmed = trimmed.trim_end_matches(['\n', '\r']);
    let pid: i32 = trimmed.parse().map_err(|_| ServeError::InvalidPid {
        number: trimmed.to_string(),
        path: pid_file.display().to_string(),
    })?;
    crate::sys::kill(pid, signal).map_err(|e| ServeError::Kill {
        pid,
        signal,
        errno: errno_suffix(&e),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_version_is_the_one_the_parser_follows() {
        let claimed = strait_parser::registry::STRAIT_NGINX_VERSION.to_string();
        assert!(version_build().starts_with(&format!("nginx/{claimed} (strait ")));
    }

    fn loads(counts: &[usize]) -> Vec<AtomicUsize> {
        counts.iter().map(|&n| AtomicUsize::new(n)).collect()
    }

    #[test]
    fn accept_faults_are_answered_as_nginx_answers_them() {
        let delay = std::time::Duration::from_millis(500);
        let fault = |errno| accept_fault(&io::Error::from_raw_os_error(errno), delay);
        assert_eq!(fault(libc::ECONNABORTED), (Level::Error, std::time::Duration::ZERO));
        assert_eq!(fault(libc::EMFILE), (Level::Crit, delay));
        assert_eq!(fault(libc::ENFILE).0, Level::Crit);
        assert_eq!(fault(libc::ENOBUFS).0, Level::Alert);
    }

    #[test]
    fn a_burst_is_shared_between_workers() {
        // Four connections accepted by worker 0 while worker 1 sleeps: two stay, two move.
        let counts = loads(&[0, 0]);
        let mut placed = Vec::new();
        for _ in 0..4 {
            let worker = less_loaded_than(&counts, 0).unwrap_or(0);
            counts[worker].fetch_add(1, Ordering::Relaxed);
            placed.push(worker);
        }
        assert_eq!(placed, [0, 1, 0, 1]);
    }

    #[test]
    fn a_steady_load_stays_where_it_was_accepted() {
        assert_eq!(less_loaded_than(&loads(&[16, 15]), 0), None);
        assert_eq!(less_loaded_than(&loads(&[16, 14]), 0), None);
        assert_eq!(less_loaded_than(&loads(&[16, 13]), 0), Some(1));
        assert_eq!(less_loaded_than(&loads(&[3, 9, 1]), 1), Some(2));
        assert_eq!(less_loaded_than(&loads(&[1, 0]), 1), None);
    }
}
