//! The few operating system calls std does not wrap: fork for `daemon on`, the thread id for
//! error log lines, the system name and open-files limit of the start notices, `kill` for
//! `-s` and for signalling ourselves, the sender of a signal (`siginfo.si_pid`, for nginx's
//! `signal 1 (SIGHUP) received from PID` line), and the parent-death signal that ties
//! `strait up`'s server to it, and the registration of a listening socket with an event
//! loop (`accept`).
//!
//! This is the only module of strait-runtime allowed to use `unsafe`: each call is a plain libc
//! function whose contract is stated next to it.
#![allow(unsafe_code)]

use std::io;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::Arc;

/// What `fork` left us as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Forked {
    /// The original process; the child has this pid.
    Parent(i32),
    /// The new process.
    Child,
}

/// Forks the process. Must be called while the process has a single thread (before any
/// runtime starts), as nginx does for `daemon on`.
pub fn fork() -> io::Result<Forked> {
    // SAFETY: fork has no preconditions of its own; the caller runs it single-threaded, so the
    // child does not inherit locks held by other threads.
    let pid = unsafe { libc::fork() };
    match pid {
        -1 => Err(io::Error::last_os_error()),
        0 => Ok(Forked::Child),
        pid => Ok(Forked::Parent(pid)),
    }
}

/// Starts a new session so the daemon has no controlling terminal.
pub fn setsid() -> io::Result<()> {
    // SAFETY: setsid takes no arguments and only changes process attributes.
    if unsafe { libc::setsid() } == -1 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Points stdin, stdout and stderr at /dev/null, as nginx's `ngx_daemon` does (stderr is kept
/// when it is the error log).
pub fn detach_stdio(keep_stderr: bool) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    let null = std::fs::OpenOptions::new().read(true).write(true).open("/dev/null")?;
    let fd = null.as_raw_fd();
    let targets: &[i32] = if keep_stderr { &[0, 1] } else { &[0, 1, 2] };
    for &target in targets {
        // SAFETY: both descriptors are valid: `fd` is open for the duration of this call and
        // `target` is one of the three standard descriptors; dup2 replaces it atomically.
        if unsafe { libc::dup2(fd, target) } == -1 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// The kernel thread id of the calling thread (nginx's `TID` in error log lines).
pub fn thread_id() -> i64 {
    // SAFETY: gettid takes no arguments, cannot fail and touches no memory.
    unsafe { libc::gettid() as i64 }
}

/// The system's name and release (`uname`: `Linux`, `6.1.0-18-amd64`), for nginx's `OS:`
/// notice.
pub fn os_release() -> io::Result<(String, String)> {
    // SAFETY: utsname is plain old data; all-zero bytes are a valid value of it.
    let mut names: libc::utsname = unsafe { std::mem::zeroed() };
    // SAFETY: `names` is a valid, writable utsname for the whole call.
    if unsafe { libc::uname(&mut names) } == -1 {
        return Err(io::Error::last_os_error());
    }
    let text = |field: &[libc::c_char]| {
        let bytes: Vec<u8> = field.iter().take_while(|c| **c != 0).map(|c| *c as u8).collect();
        String::from_utf8_lossy(&bytes).into_owned()
    };
    Ok((text(&names.sysname), text(&names.release)))
}

/// The open-files limit, soft and hard, as nginx prints `rlim_t` (signed: unlimited is -1).
pub fn nofile_limit() -> io::Result<(i64, i64)> {
    let mut rlimit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: `rlimit` is a valid, writable struct for the whole call.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut rlimit) } == -1 {
        return Err(io::Error::last_os_error());
    }
    Ok((rlimit.rlim_cur as i64, rlimit.rlim_max as i64))
}

/// Sends `signal` to process `pid`.
pub fn kill(pid: i32, signal: i32) -> io::Result<()> {
    // SAFETY: kill takes plain integers and touches no memory of ours.
    if unsafe { libc::kill(pid, signal) } == -1 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// A resource limit nginx's workers set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// Open files (`worker_rlimit_nofile`): `RLIMIT_NOFILE`.
    OpenFiles,
    /// The size of a core file (`worker_rlimit_core`): `RLIMIT_CORE`.
    CoreSize,
}

/// Sets a resource limit, soft and hard, as nginx's workers do.
pub fn set_limit(which: Limit, limit: u64) -> io::Result<()> {
    let resource = match which {
        Limit::OpenFiles => libc::RLIMIT_NOFILE,
        Limit::CoreSize => libc::RLIMIT_CORE,
    };
    let rlimit = libc::rlimit { rlim_cur: limit as libc::rlim_t, rlim_max: limit as libc::rlim_t };
    // SAFETY: `rlimit` is a valid, initialised struct that setrlimit only reads.
    if unsafe { libc::setrlimit(resource, &rlimit) } == -1 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Makes the child that `command` starts receive `signal` when the thread that spawned it
/// ends (`prctl(PR_SET_PDEATHSIG)`), so a server started by `strait up` does not outlive it
/// even when `strait up` is killed with SIGKILL. A parent already gone by the time the child
/// runs (the race prctl leaves open) makes the child exit at once.
pub fn die_with_parent(command: &mut std::process::Command, signal: i32) {
    use std::os::unix::process::CommandExt;
    // SAFETY: getpid takes no arguments and cannot fail.
    let parent = unsafe { libc::getpid() };
    let hook = move || {
        // SAFETY: prctl(PR_SET_PDEATHSIG) takes plain integers; getppid takes none. Both are
        // async-signal-safe, which is all the child may call between fork and exec.
        unsafe {
            if libc::prctl(libc::PR_SET_PDEATHSIG, signal as libc::c_ulong, 0, 0, 0) == -1 {
                return Err(io::Error::last_os_error());
            }
            if libc::getppid() != parent {
                libc::_exit(1);
            }
        }
        Ok(())
    };
    // SAFETY: the hook runs in the forked child before exec and only makes the
    // async-signal-safe calls above; it allocates nothing and takes no locks.
    unsafe {
        command.pre_exec(hook);
    }
}

/// Reads the bytes waiting on socket `fd` into `buf` without consuming them
/// (`recv(MSG_PEEK)`, as nginx peeks at a PROXY protocol header). Non-blocking sockets give
/// `WouldBlock` when nothing is there yet.
pub fn peek(fd: std::os::fd::BorrowedFd<'_>, buf: &mut [u8]) -> io::Result<usize> {
    use std::os::fd::AsRawFd;
    // SAFETY: `buf` is a valid writable region of `buf.len()` bytes for the whole call, and
    // `fd` is an open descriptor borrowed for the call.
    let n =
        unsafe { libc::recv(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), libc::MSG_PEEK) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(n as usize)
}

/// Sets `TCP_FASTOPEN` on a listening socket (`listen ... fastopen=N`): the queue length of
/// connections whose data arrived with the SYN.
pub fn set_tcp_fastopen(fd: std::os::fd::BorrowedFd<'_>, queue: i32) -> io::Result<()> {
    set_int_option(fd, libc::IPPROTO_TCP, libc::TCP_FASTOPEN, queue)
}

/// Sets `TCP_DEFER_ACCEPT` on a listening socket (`listen ... deferred`): a connection is
/// accepted once data arrived, or after `seconds` without any (nginx gives 1).
pub fn set_tcp_defer_accept(fd: std::os::fd::BorrowedFd<'_>, seconds: i32) -> io::Result<()> {
    set_int_option(fd, libc::IPPROTO_TCP, libc::TCP_DEFER_ACCEPT, seconds)
}

/// Sets `IP_BIND_ADDRESS_NO_PORT` on an upstream socket bound to an address without a port
/// (`proxy_bind`), so that the port is chosen at `connect()` as nginx has the kernel do.
pub fn set_bind_address_no_port(fd: std::os::fd::BorrowedFd<'_>) -> io::Result<()> {
    set_int_option(fd, libc::IPPROTO_IP, libc::IP_BIND_ADDRESS_NO_PORT, 1)
}

/// `setsockopt()` of an `int` option that socket2 does not offer.
fn set_int_option(
    fd: std::os::fd::BorrowedFd<'_>,
    level: libc::c_int,
    name: libc::c_int,
    value: libc::c_int,
) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    // SAFETY: the option value is a live `c_int` whose size is passed with it; `fd` is an open
    // descriptor borrowed for the call.
    let rc = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            level,
            name,
            (&value as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc == -1 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// The process that sent the latest delivery of one signal, as a signal handler recorded it.
#[derive(Debug, Clone)]
pub struct SignalSender(Arc<AtomicI32>);

impl SignalSender {
    /// The sender's pid, once: `None` when the kernel sent it (a terminal's ^C) or when no
    /// delivery was recorded since the last call.
    pub fn take(&self) -> Option<i32> {
        let pid = self.0.swap(0, Ordering::AcqRel);
        (pid > 0).then_some(pid)
    }
}

/// Records the sender of each delivery of `signal` (`siginfo.si_pid`), beside tokio's own
/// handler for it (both are registered with signal-hook-registry, which runs every action).
pub fn record_signal_sender(signal: i32) -> io::Result<SignalSender> {
    let sender = SignalSender(Arc::new(AtomicI32::new(0)));
    let slot = sender.0.clone();
    let action = move |info: &libc::siginfo_t| {
        // SAFETY: the kernel filled `info` for this delivery; si_pid reads a plain integer.
        let pid = unsafe { info.si_pid() };
        slot.store(pid, Ordering::Release);
    };
    // SAFETY: the action runs inside a signal handler and only stores into an atomic: no
    // allocation, no lock, no call that is not async-signal-safe, no panic.
    unsafe { signal_hook_registry::register_sigaction(signal, action)? };
    Ok(sender)
}

/// Registers `listener` with the current event loop for reading; the returned `AsyncFd`
/// owns it until `into_inner` or drop deregisters it.
pub(crate) fn register_listener(
    listener: mio::net::TcpListener,
) -> io::Result<tokio::io::unix::AsyncFd<mio::net::TcpListener>> {
    use tokio::io::{unix::AsyncFd, Interest};
    // SAFETY: the AsyncFd takes the listener and with it the only owner of its descriptor, so
    // the descriptor stays open and names the same socket until the AsyncFd deregisters it;
    // strait never swaps the socket through get_mut.
    unsafe { AsyncFd::register_with_interest(listener, Interest::READABLE) }.map_err(Into::into)
}
