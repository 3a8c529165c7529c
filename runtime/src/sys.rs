//! The few operating system calls std does not wrap: fork for `daemon on`, the thread id for
//! error log lines, and `kill` for `-s` and for signalling ourselves.
//!
//! This is the only module of strait-runtime allowed to use `unsafe`: each call is a plain libc
//! function whose contract is stated next to it.
#![allow(unsafe_code)]

use std::io;

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

/// Sends `signal` to process `pid`.
pub fn kill(pid: i32, signal: i32) -> io::Result<()> {
    // SAFETY: kill takes plain integers and touches no memory of ours.
    if unsafe { libc::kill(pid, signal) } == -1 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Sets the open-files limit (`worker_rlimit_nofile`), soft and hard.
pub fn set_nofile_limit(limit: u64) -> io::Result<()> {
    let rlimit = libc::rlimit { rlim_cur: limit as libc::rlim_t, rlim_max: limit as libc::rlim_t };
    // SAFETY: `rlimit` is a valid, initialised struct that setrlimit only reads.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &rlimit) } == -1 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}
