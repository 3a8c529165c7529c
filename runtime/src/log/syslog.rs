//! `syslog:` logs (nginx's `ngx_syslog.c`): one datagram per line to a syslog server, in the
//! BSD format `<PRI>Mmm dd hh:mm:ss HOSTNAME TAG: MESSAGE`, over a socket each directive
//! connects on first use; a failed send is logged to the main error log and never stops the
//! session.

use super::error::{errno_suffix, ErrorLog, Level, WeakErrorLog};
use crate::socket_error::{peer_level, Side};
use chrono::{DateTime, Local};
use socket2::{Domain, SockAddr, Socket, Type};
use std::cell::RefCell;
use std::io;
use std::net::IpAddr;
use std::sync::{Mutex, OnceLock};
use std::time::SystemTime;
use strait_parser::check::{SyslogServer, SyslogTarget};

/// A `server=` host name found as nginx finds it at load (getaddrinfo): its first IPv4
/// address, else its first IPv6 one.
pub fn resolve_host(host: &[u8]) -> Option<IpAddr> {
    crate::address::resolve_host(host).map(|ips| ips[0])
}

/// An access log's severity when `severity=` is not given: `info`.
const DEFAULT_SEVERITY: u8 = 6;

/// Why a datagram was not sent; each is logged as nginx logs it, where it logs one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendFailure {
    /// `socket()`, non-blocking mode or `connect()` failed (an alert on the main log).
    Connect,
    /// `send()` failed (on the main log at the level of `ngx_connection_error`); the socket is
    /// closed and the next line connects again.
    Send,
    /// The socket's buffer is full: the line is dropped, without an error line.
    WouldBlock,
}

/// A syslog server as one `error_log` or `access_log` directive names it (nginx's
/// `ngx_syslog_peer_t`): its parameters and its own socket.
#[derive(Debug)]
pub struct SyslogPeer {
    target: SyslogTarget,
    /// The HOSTNAME field: the host's name, lowercased as nginx keeps it, read at load.
    hostname: String,
    /// Connected on first use; dropped after a failed send.
    socket: Mutex<Option<Socket>>,
    /// The main error log, where failures go; given once the configuration is read.
    main_log: OnceLock<WeakErrorLog>,
}

impl SyslogPeer {
    /// A peer for `target`; nothing is connected yet.
    pub fn new(target: SyslogTarget) -> SyslogPeer {
        let hostname = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|name| name.trim().to_ascii_lowercase())
            .unwrap_or_default();
        SyslogPeer { target, hostname, socket: Mutex::new(None), main_log: OnceLock::new() }
    }

    /// Gives the peer the main error log its failures go to (nginx: the cycle's log).
    pub fn report_to(&self, main_log: &ErrorLog) {
        let _ = self.main_log.set(main_log.downgrade());
    }

    /// Sends an error log line (without its newline) at the line's own level, whatever
    /// `severity=` says. A line logged while this peer is sending on the same thread, such
    /// as its own failure when the main log is this peer, is dropped, as nginx's `busy` flag
    /// drops it.
    pub fn write_error(&self, now: SystemTime, level: Level, line: &[u8]) {
        let Some(_busy) = Busy::enter(self) else { return };
        let mut datagram = self.header(now, level.severity());
        datagram.extend_from_slice(line);
        let _ = self.send(&datagram);
    }

    /// Sends an access log line (without a newline) at `severity=` (`info` by default);
    /// the bytes sent and the datagram's length.
    pub fn write_access(
        &self,
        now: SystemTime,
        line: &[u8],
    ) -> Result<(usize, usize), SendFailure> {
        let severity = self.target.severity.unwrap_or(DEFAULT_SEVERITY);
        let mut datagram = self.header(now, severity);
        datagram.extend_from_slice(line);
        self.send(&datagram).map(|sent| (sent, datagram.len()))
    }

    /// The PRI and HEADER parts and the TAG, with the day padded with a space as nginx
    /// writes it: `<190>Dec  4 07:29:34 host nginx: `.
    fn header(&self, now: SystemTime, severity: u8) -> Vec<u8> {
        let pri = u32::from(self.target.facility) * 8 + u32::from(severity);
        let stamp = DateTime::<Local>::from(now).format("%b %e %H:%M:%S");
        let mut header = format!("<{pri}>{stamp} ").into_bytes();
        if self.target.hostname {
            header.extend_from_slice(self.hostname.as_bytes());
            header.push(b' ');
        }
        header.extend_from_slice(&self.target.tag);
        header.extend_from_slice(b": ");
        header
    }

    /// Sends one datagram as `ngx_syslog_send` does: connects first when there is no socket,
    /// and closes the socket after a failed send.
    fn send(&self, datagram: &[u8]) -> Result<usize, SendFailure> {
        let mut socket = self.socket.lock().unwrap_or_else(|e| e.into_inner());

        // Step: connect on first use (and after a failure).
        if socket.is_none() {
            match self.connect() {
                Ok(connected) => *socket = Some(connected),
                Err((call, err)) => {
                    drop(socket);
                    self.report(Level::Alert, call, &err);
                    return Err(SendFailure::Connect);
                }
            }
        }

        // Step: send, again when interrupted; a full buffer drops the line.
        let result = loop {
            let Some(connected) = socket.as_ref() else { return Err(SendFailure::Connect) };
            match connected.send(datagram) {
                Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                other => break other,
            }
        };
        match result {
            Ok(sent) => Ok(sent),
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => Err(SendFailure::WouldBlock),
            Err(err) => {
                // nginx's peer connection is neither a client nor an upstream one: errors a
                // peer causes (a refusal after an ICMP unreachable) at error, others at alert.
                *socket = None;
                drop(socket);
                self.report(peer_level(Side::Upstream, &err), "send() failed", &err);
                Err(SendFailure::Send)
            }
        }
    }

    /// A non-blocking datagram socket connected to the server, or the call that failed.
    fn connect(&self) -> Result<Socket, (&'static str, io::Error)> {
        let (domain, address) = match &self.target.server {
            SyslogServer::Inet(addr) => (Domain::for_address(*addr), SockAddr::from(*addr)),
            SyslogServer::Unix(path) => {
                let address = SockAddr::unix(path).map_err(|e| ("connect() failed", e))?;
                (Domain::UNIX, address)
            }
        };
        let socket = Socket::new(domain, Type::DGRAM, None).map_err(|e| ("socket() failed", e))?;
        socket.set_nonblocking(true).map_err(|e| ("ioctl(FIONBIO) failed", e))?;
        socket.connect(&address).map_err(|e| ("connect() failed", e))?;
        Ok(socket)
    }

    /// A failure, on the main error log without a connection (as nginx 1.22 logs it).
    fn report(&self, level: Level, call: &str, err: &io::Error) {
        if let Some(log) = self.main_log.get().and_then(WeakErrorLog::upgrade) {
            log.write(level, None, &format!("{call}{}", errno_suffix(err)));
        }
    }
}

thread_local! {
    /// The peers this thread is sending an error log line to (by address).
    static BUSY: RefCell<Vec<usize>> = const { RefCell::new(Vec::new()) };
}

/// A peer marked busy on this thread until dropped.
struct Busy(usize);

impl Busy {
    /// Marks `peer` busy; `None` when it already is.
    fn enter(peer: &SyslogPeer) -> Option<Busy> {
        let id = peer as *const SyslogPeer as usize;
        BUSY.with(|busy| {
            let mut busy = busy.borrow_mut();
            if busy.contains(&id) {
                return None;
            }
            busy.push(id);
            Some(Busy(id))
        })
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        BUSY.with(|busy| busy.borrow_mut().retain(|id| *id != self.0));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::error::{Sink, Target};
    use std::net::UdpSocket;
    use std::sync::Arc;
    use std::time::Duration;
    use strait_parser::check::syslog_target;

    fn peer(parameters: &str) -> SyslogPeer {
        SyslogPeer::new(syslog_target(parameters.as_bytes(), &resolve_host).unwrap())
    }

    fn receiver() -> (UdpSocket, String) {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        socket.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let address = socket.local_addr().unwrap().to_string();
        (socket, address)
    }

    fn receive(socket: &UdpSocket) -> String {
        let mut buf = [0u8; 4096];
        let n = socket.recv(&mut buf).unwrap();
        String::from_utf8(buf[..n].to_vec()).unwrap()
    }

    #[test]
    fn headers_follow_nginx() {
        // 2026-01-04 05:06:07 local time: a one-digit day is padded with a space.
        let local = chrono::NaiveDate::from_ymd_opt(2026, 1, 4)
            .unwrap()
            .and_hms_opt(5, 6, 7)
            .unwrap()
            .and_local_timezone(Local)
            .unwrap();
        let now = SystemTime::from(local);
        let p = peer("server=127.0.0.1");
        let host = p.hostname.clone();
        assert_eq!(p.header(now, 6), format!("<190>Jan  4 05:06:07 {host} nginx: ").into_bytes());
        let p = peer("server=127.0.0.1,facility=user,tag=a_B9,nohostname");
        assert_eq!(p.header(now, 2), b"<10>Jan  4 05:06:07 a_B9: ".to_vec());
    }

    #[test]
    fn lines_go_out_as_single_datagrams() {
        let (socket, address) = receiver();
        let p = peer(&format!("server={address},severity=crit,facility=kern,nohostname,tag=t"));
        let (sent, len) = p.write_access(SystemTime::now(), b"a line").unwrap();
        assert_eq!(sent, len);
        let got = receive(&socket);
        assert!(got.starts_with("<2>") && got.ends_with(" t: a line"), "{got}");
        // An error log line takes its own level, not severity=.
        p.write_error(SystemTime::now(), Level::Notice, b"notice line");
        assert!(receive(&socket).starts_with("<5>"));
    }

    #[test]
    fn a_refused_send_is_logged_and_the_socket_made_again() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("main.log");
        let file = crate::log::LogFile::open(&path).unwrap();
        let main = ErrorLog::new(vec![Target { sink: Sink::File(file), level: Level::Info }]);

        // A port nothing listens on: the first datagram draws an ICMP unreachable, which
        // fails the next send.
        let (socket, address) = receiver();
        drop(socket);
        let p = peer(&format!("server={address}"));
        p.report_to(&main);
        let mut failures = 0;
        for _ in 0..4 {
            if p.write_access(SystemTime::now(), b"x") == Err(SendFailure::Send) {
                failures += 1;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        assert_eq!(failures, 2);
        let log = std::fs::read_to_string(&path).unwrap();
        assert_eq!(log.matches("[error]").count(), 2, "{log}");
        assert!(log.contains("send() failed (111: Connection refused)\n"), "{log}");
    }

    #[test]
    fn a_peer_that_is_its_own_main_log_does_not_loop() {
        let (socket, address) = receiver();
        drop(socket);
        let p = Arc::new(peer(&format!("server={address}")));
        let main =
            ErrorLog::new(vec![Target { sink: Sink::Syslog(p.clone()), level: Level::Info }]);
        p.report_to(&main);
        for _ in 0..4 {
            main.write(Level::Error, None, "line");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    #[test]
    fn a_missing_unix_socket_fails_to_connect() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("main.log");
        let file = crate::log::LogFile::open(&path).unwrap();
        let main = ErrorLog::new(vec![Target { sink: Sink::File(file), level: Level::Error }]);
        let p = peer(&format!("server=unix:{}/none.sock", dir.path().display()));
        p.report_to(&main);
        assert_eq!(p.write_access(SystemTime::now(), b"x"), Err(SendFailure::Connect));
        let log = std::fs::read_to_string(&path).unwrap();
        assert!(log.contains("[alert]") && log.contains("connect() failed (2: No such file"));
    }
}
