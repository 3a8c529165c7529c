//! The proxy content handler (`proxy_pass`): choosing a peer, connecting with next-upstream
//! retries, the upstream TLS step, and moving bytes both ways with nginx's idle timeout,
//! rate limits and half-close rules.

use crate::log::Level;
use crate::plan::{ProxyBind, ProxyConf, ProxyPass};
use crate::session::{status, Session, UpstreamInfo, UpstreamState};
use crate::socket_error::{self, Side};
use crate::stream::Stream;
use crate::upstream::{Outcome, PeerAddr, PeerHandle, Tried, UpstreamGroup};
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use strait_parser::values::{self, Url, UrlOptions, UrlTarget};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Sleep;

/// Why the upstream TLS step failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpstreamTlsError {
    /// Handshake, verification or name failure: nginx tries the next upstream.
    NextUpstream,
    /// Setup failure, e.g. the client certificate could not be loaded: `$status` 500 and no
    /// next upstream (reference §8.4). The TLS layer has logged the reason.
    Fatal,
}

/// The future an upstream TLS step returns.
pub type TlsConnect<'a> =
    Pin<Box<dyn Future<Output = Result<Stream, UpstreamTlsError>> + Send + 'a>>;

/// The upstream TLS step (`proxy_ssl on`), provided by the TLS module: wraps a connected
/// upstream stream, evaluating per-connection settings (SNI, client certificate) from the
/// session's variables. `peer` is the peer name (`host:port` as `$upstream_addr` shows it).
pub trait UpstreamTls: Send + Sync + std::fmt::Debug {
    /// Runs the handshake over `stream`.
    fn connect<'a>(
        &'a self,
        session: &'a mut Session,
        stream: Stream,
        peer: &'a str,
    ) -> TlsConnect<'a>;
}

/// Runs `proxy_pass` for a session; returns its `$status`.
pub async fn run(s: &mut Session, client: Stream, proxy: &ProxyConf) -> u16 {
    // Until the connect starts, nginx's proxy handler names no action.
    s.action = "";
    s.upstream = Some(UpstreamInfo::default());

    // Find the upstream group: fixed at load, or from the evaluated value.
    let group = match &proxy.pass {
        ProxyPass::Group(group) => group.clone(),
        ProxyPass::Value(value) => {
            let value = s.complex(value);
            match resolve_target(s, &value, proxy).await {
                Ok(group) => group,
                Err(status) => return status,
            }
        }
    };

    // Rates and proxy_bind may hold variables; they are evaluated once, when the proxy
    // starts (ngx_stream_proxy_handler).
    let upload_rate = rate(s, proxy.upload_rate.as_ref());
    let download_rate = rate(s, proxy.download_rate.as_ref());
    let local = local_address(s, &proxy.bind);

    // Connect, trying further peers on failure as proxy_next_upstream allows.
    let hash_key = group.hash_key.as_ref().map(|key| s.complex(key));
    let mut tried = group.balancer.session(hash_key.as_deref());
    let (upstream, peer) = match connect(s, proxy, local.as_ref(), &group, &mut tried).await {
        Connected::Stream(stream, peer) => (stream, peer),
        Connected::Failed(status) => return status,
    };

    // Proxy until one side closes or the idle timeout fires.
    s.action = "proxying connection";
    let started = Instant::now();
    let mut transfer = Transfer::new(s, client, upstream, proxy, upload_rate, download_rate);
    let result = (&mut transfer).await;
    let (client, upstream) = (transfer.client, transfer.upstream);
    crate::tls::shutdown::close(s, upstream, crate::tls::shutdown::Side::Upstream).await;
    // The log context counts bytes sent on an open upstream connection: 0 once it is closed
    // (later lines, such as a failed TLS shutdown towards the client, say so as nginx does).
    if let Some(u) = s.upstream.as_mut() {
        u.sent = 0;
    }
    s.close_after_log(client);
    if let Some(state) = s.upstream.as_mut().and_then(|u| u.states.last_mut()) {
        state.session_time = Some(state.connect_time.unwrap_or_default() + started.elapsed());
    }
    group.balancer.free(&mut tried, peer, Outcome::Succeeded);
    result
}

/// The address `proxy_bind` gives the upstream socket (`ngx_stream_proxy_set_local`).
#[derive(Debug)]
struct LocalAddress {
    addr: SocketAddr,
    /// The value as written, for nginx's `bind(NAME) failed`.
    name: String,
    transparent: bool,
}

impl LocalAddress {
    /// nginx's message when the socket cannot be bound to it.
    fn bind_failed(&self) -> String {
        format!("bind({}) failed", self.name)
    }
}

/// Evaluates `proxy_bind`: none when it is off or empty; a value that is no address is
/// logged and ignored, as nginx does (`invalid local address "V"`, then no bind).
fn local_address(s: &mut Session, bind: &ProxyBind) -> Option<LocalAddress> {
    let ProxyBind::Addr { value, transparent } = bind else { return None };
    let value = s.complex(value);
    if value.is_empty() {
        return None;
    }
    let name = String::from_utf8_lossy(&value).into_owned();
    match strait_parser::values::parse_addr_port(&value) {
        Some(addr) => Some(LocalAddress { addr, name, transparent: *transparent }),
        None => {
            s.log(Level::Error, None, &format!("invalid local address \"{name}\""));
            None
        }
    }
}

fn rate(s: &mut Session, value: Option<&crate::variables::Complex>) -> usize {
    match value {
        Some(value) => {
            let v = s.complex(value);
            crate::conf::parse_size(&v).unwrap_or(0)
        }
        None => 0,
    }
}

/// Where an evaluated `proxy_pass` value points, when it names no upstream block.
#[derive(Debug, PartialEq, Eq)]
enum Target<'a> {
    /// An address that needs no resolving (a unix socket, an IP address with a port), with
    /// nginx's name for it (the value as written, [`values::sock_ntop`]).
    Peer(PeerAddr, String),
    /// A host name to resolve, and the port.
    Name(&'a [u8], u16),
}

/// The proxy handler's reading of an address value that names no upstream block
/// (`ngx_stream_proxy_handler`): a port is required, but for a unix socket. The error is
/// nginx's message.
fn target<'a>(url: &Url<'a>, value: &str) -> Result<Target<'a>, String> {
    match url.target {
        UrlTarget::Unix => {
            Ok(Target::Peer(PeerAddr::Unix(crate::address::unix_path(url)), value.to_string()))
        }
        _ if url.port == 0 => {
            Err(format!("no port in upstream \"{}\"", String::from_utf8_lossy(url.host)))
        }
        UrlTarget::Addr(ip) => {
            let addr = SocketAddr::new(ip, url.port);
            Ok(Target::Peer(PeerAddr::Inet(addr), values::sock_ntop(&addr)))
        }
        UrlTarget::Name => Ok(Target::Name(url.host, url.port)),
    }
}

/// Resolves an evaluated `proxy_pass` value: an upstream name, `unix:path`, or `host:port`.
async fn resolve_target(
    s: &mut Session,
    value: &[u8],
    proxy: &ProxyConf,
) -> Result<Arc<UpstreamGroup>, u16> {
    // The value is read as a URL first (`ngx_parse_url` without resolving); a malformed one
    // names its fault.
    let text = String::from_utf8_lossy(value).into_owned();
    let url = match values::parse_url(value, UrlOptions::default()) {
        Ok(url) => url,
        Err(fault) => {
            s.log(Level::Error, None, &format!("{fault} in upstream \"{text}\""));
            return Err(status::INTERNAL_SERVER_ERROR);
        }
    };

    // An upstream block of that name.
    if let Some(group) = s.plan.upstream(&text) {
        return Ok(group);
    }

    // unix:PATH and IP addresses need no resolving; anything else needs a port.
    let (host, port) = match target(&url, &text) {
        Ok(Target::Peer(addr, name)) => {
            return Ok(Arc::new(UpstreamGroup::implicit(&text, vec![(addr, name)])));
        }
        Ok(Target::Name(host, port)) => (String::from_utf8_lossy(host).into_owned(), port),
        Err(fault) => {
            s.log(Level::Error, None, &fault);
            return Err(status::INTERNAL_SERVER_ERROR);
        }
    };

    // A name: the resolver.
    let Some(resolver) = &proxy.resolver else {
        s.log(Level::Error, None, &format!("no resolver defined to resolve {host}"));
        return Err(status::INTERNAL_SERVER_ERROR);
    };
    let addrs = match resolver.resolve(&host, proxy.resolver_timeout).await {
        Ok(addrs) => addrs,
        Err(e) => {
            s.log(Level::Error, None, &format!("{host} could not be resolved ({e})"));
            return Err(status::INTERNAL_SERVER_ERROR);
        }
    };
    let peers = addrs
        .iter()
        .map(|ip| {
            let addr = SocketAddr::new(*ip, port);
            (PeerAddr::Inet(addr), values::sock_ntop(&addr))
        })
        .collect();
    Ok(Arc::new(UpstreamGroup::implicit(&text, peers)))
}

/// How the connect loop ended.
enum Connected {
    /// A usable upstream stream and the peer it goes to.
    Stream(Stream, PeerHandle),
    /// No upstream: the session ends with this status (already logged).
    Failed(u16),
}

/// The connect loop (`ngx_stream_proxy_connect` and `_next_upstream`).
async fn connect(
    s: &mut Session,
    proxy: &ProxyConf,
    local: Option<&LocalAddress>,
    group: &Arc<UpstreamGroup>,
    tried: &mut Tried,
) -> Connected {
    let start = Instant::now();
    let mut attempt_start = start;
    let mut tries = tried.tries_left();
    if proxy.next_upstream_tries > 0 {
        tries = tries.min(proxy.next_upstream_tries);
    }
    loop {
        s.action = "connecting to upstream";

        // A new attempt closes the previous attempt's timing.
        close_attempt(s, attempt_start);
        attempt_start = Instant::now();
        let upstream = s.upstream.as_mut().expect("proxy state");

        // Pick a peer.
        let peer = match group.balancer.get(tried) {
            Ok(peer) => peer,
            Err(no_live) => {
                upstream.peer = Some(no_live.upstream.clone());
                upstream.states.push(UpstreamState {
                    peer: no_live.upstream.clone(),
                    ..UpstreamState::default()
                });
                s.log(Level::Error, None, "no live upstreams");
                close_attempt(s, attempt_start);
                return Connected::Failed(status::BAD_GATEWAY);
            }
        };
        upstream.peer = Some(peer.name.clone());
        upstream.received = 0;
        upstream.sent = 0;
        upstream.states.push(UpstreamState { peer: peer.name.clone(), ..Default::default() });
        tracing::Span::current().record("upstream.peer", peer.name.as_str());
        crate::session::next_connection_number();

        // TCP (or unix) connect under proxy_connect_timeout.
        let connecting = connect_peer(s, &peer.addr, proxy, local);
        let connected = tokio::time::timeout(proxy.connect_timeout, connecting).await;
        let timed_out = match connected {
            Ok(Ok(stream)) => {
                // Without TLS the upstream counts as connected now; with TLS, once the
                // handshake is done (ngx_stream_proxy_init_upstream runs after it). The local
                // address (a getsockname()) is read only for the info line that shows it.
                let info = s.error_log.enabled(Level::Info);
                let local = if info { local_text(&stream) } else { String::new() };
                if proxy.tls.is_none() {
                    upstream_connected(s, &local, &peer.name, attempt_start);
                }

                // The PROXY protocol header, before TLS (crate::proxy_protocol).
                let mut stream = stream;
                if proxy.proxy_protocol {
                    if let Err(err) = crate::proxy_protocol::send(s, &mut stream).await {
                        s.log(Level::Error, Some(&err), "send() failed");
                        if let Some(event) = group.balancer.free(tried, peer, Outcome::Failed) {
                            s.log(Level::Warn, None, &event.to_string());
                        }
                        close_attempt(s, attempt_start);
                        return Connected::Failed(status::BAD_GATEWAY);
                    }
                }

                // The upstream TLS step, when proxy_ssl is on.
                let Some(tls) = &proxy.tls else {
                    return Connected::Stream(stream, peer);
                };
                s.action = "SSL handshaking to upstream";
                let name = peer.name.clone();
                let handshake =
                    tokio::time::timeout(proxy.connect_timeout, tls.connect(s, stream, &name))
                        .await;
                match handshake {
                    Ok(Ok(stream)) => {
                        upstream_connected(s, &local, &peer.name, attempt_start);
                        return Connected::Stream(stream, peer);
                    }
                    Ok(Err(UpstreamTlsError::Fatal)) => {
                        group.balancer.free(tried, peer, Outcome::Succeeded);
                        close_attempt(s, attempt_start);
                        return Connected::Failed(status::INTERNAL_SERVER_ERROR);
                    }
                    Ok(Err(UpstreamTlsError::NextUpstream)) => false,
                    // A handshake that times out is not logged: nginx 1.22's handshake
                    // handler hands the timeout to ngx_stream_proxy_ssl_handshake, which
                    // goes to the next upstream without a line.
                    Err(_) => false,
                }
            }
            Ok(Err(ConnectFault::Setup { level, message, err })) => {
                // The socket could not be made (socket(), IP_TRANSPARENT, bind()): nginx's
                // NGX_ERROR, the session ends with 500 and the attempt names no peer.
                s.log(level, Some(&err), &message);
                group.balancer.free(tried, peer, Outcome::Succeeded);
                let upstream = s.upstream.as_mut().expect("proxy state");
                if let Some(state) = upstream.states.last_mut() {
                    state.peer.clear();
                }
                close_attempt(s, attempt_start);
                return Connected::Failed(status::INTERNAL_SERVER_ERROR);
            }
            Ok(Err(fault)) => {
                let (level, message, err) = fault.report(&peer.name);
                s.log(level, Some(err), &message);
                false
            }
            Err(_) => true,
        };
        if timed_out {
            let err = io::Error::from_raw_os_error(libc::ETIMEDOUT);
            s.log(Level::Error, Some(&err), "upstream timed out");
        }

        // Next upstream, while tries, time and proxy_next_upstream allow.
        if let Some(event) = group.balancer.free(tried, peer, Outcome::Failed) {
            s.log(Level::Warn, None, &event.to_string());
        }
        tries = tries.saturating_sub(1).min(tried.tries_left());
        let out_of_time = proxy.next_upstream_timeout.is_some_and(|limit| start.elapsed() >= limit);
        if tries == 0 || !proxy.next_upstream || out_of_time {
            close_attempt(s, attempt_start);
            return Connected::Failed(status::BAD_GATEWAY);
        }
    }
}

/// The upstream connection is ready: nginx's `proxy LOCAL connected to PEER` line, and
/// `$upstream_connect_time` (which covers the upstream TLS handshake).
fn upstream_connected(s: &mut Session, local: &str, peer: &str, attempt_start: Instant) {
    let upstream = s.upstream.as_mut().expect("proxy state");
    let state = upstream.states.last_mut().expect("state");
    state.connect_time = Some(attempt_start.elapsed());
    if s.error_log.enabled(Level::Info) {
        s.log_bare(Level::Info, &format!("proxy {local} connected to {peer}"));
    }
}

/// Ends the timing of the current attempt (`$upstream_session_time`), once.
fn close_attempt(s: &mut Session, attempt_start: Instant) {
    let upstream = s.upstream.as_mut().expect("proxy state");
    if let Some(state) = upstream.states.last_mut() {
        state.session_time.get_or_insert(attempt_start.elapsed());
    }
}

fn local_text(stream: &Stream) -> String {
    match stream {
        Stream::Tcp(tcp) => tcp.local_addr().map(|a| values::sock_ntop(&a)).unwrap_or_default(),
        Stream::Unix(_) => "unix:".to_string(),
        Stream::Tls(_) => String::new(),
    }
}

/// Why the connection to a peer failed, as `ngx_event_connect_peer` and
/// `ngx_stream_proxy_test_connect` tell the two apart.
#[derive(Debug)]
enum ConnectFault {
    /// `connect()` itself failed (unix sockets, an unreachable network): nginx names the
    /// peer, `connect() to PEER failed`.
    Immediate(io::Error),
    /// The connection was started and failed later (a refusal over TCP): `connect() failed`.
    Later(io::Error),
    /// The socket could not be made ready to connect: no next upstream.
    Setup {
        /// nginx's level for it.
        level: Level,
        /// nginx's text: `socket() failed`, `bind(ADDR) failed`...
        message: String,
        /// The system's error.
        err: io::Error,
    },
}

/// A [`ConnectFault::Setup`].
fn setup_fault(level: Level, message: String, err: io::Error) -> ConnectFault {
    ConnectFault::Setup { level, message, err }
}

impl ConnectFault {
    /// The level, message and errno nginx logs the fault with.
    fn report(&self, peer: &str) -> (Level, String, &io::Error) {
        match self {
            ConnectFault::Immediate(err) => {
                let message = format!("connect() to {peer} failed");
                (socket_error::connect_level(err), message, err)
            }
            ConnectFault::Later(err) => {
                let level = socket_error::peer_level(Side::Upstream, err);
                (level, "connect() failed".to_string(), err)
            }
            ConnectFault::Setup { level, message, err } => (*level, message.clone(), err),
        }
    }
}

/// Opens the connection to one peer with the proxy's socket options.
async fn connect_peer(
    s: &mut Session,
    addr: &PeerAddr,
    proxy: &ProxyConf,
    local: Option<&LocalAddress>,
) -> Result<Stream, ConnectFault> {
    // A unix-domain connect completes or fails at once. nginx binds its socket to the
    // proxy_bind address all the same, which the kernel refuses for a unix socket.
    let addr = match addr {
        PeerAddr::Unix(path) => {
            if let Some(local) = local {
                let socket =
                    socket2::Socket::new(socket2::Domain::UNIX, socket2::Type::STREAM, None)
                        .map_err(|err| setup_fault(Level::Alert, "socket() failed".into(), err))?;
                socket
                    .bind(&local.addr.into())
                    .map_err(|err| setup_fault(Level::Crit, local.bind_failed(), err))?;
            }
            let unix = tokio::net::UnixStream::connect(path).await;
            return unix.map(Stream::Unix).map_err(ConnectFault::Immediate);
        }
        PeerAddr::Inet(addr) => *addr,
    };

    // The socket, its options and proxy_bind.
    let socket = tcp_socket(s, addr, proxy, local)?;

    // connect(): EINPROGRESS is the usual answer; anything else failed at once.
    match socket.connect(&addr.into()) {
        Ok(()) => {}
        Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {}
        Err(e) => return Err(ConnectFault::Immediate(e)),
    }

    // The outcome arrives as writability; the socket's error says whether it failed.
    let std_stream: std::net::TcpStream = socket.into();
    let tcp = tokio::net::TcpStream::from_std(std_stream).map_err(ConnectFault::Later)?;
    tcp.writable().await.map_err(ConnectFault::Later)?;
    if let Some(e) = tcp.take_error().map_err(ConnectFault::Later)? {
        return Err(ConnectFault::Later(e));
    }
    if s.server.tcp_nodelay {
        tcp.set_nodelay(true).map_err(ConnectFault::Later)?;
    }
    Ok(Stream::Tcp(tcp))
}

/// A non-blocking TCP socket for `addr` with proxy_socket_keepalive and proxy_bind applied,
/// as `ngx_event_connect_peer` makes it, with its messages and levels.
fn tcp_socket(
    s: &mut Session,
    addr: SocketAddr,
    conf: &ProxyConf,
    local: Option<&LocalAddress>,
) -> Result<socket2::Socket, ConnectFault> {
    let setup = |level, message: String| move |err| setup_fault(level, message, err);

    // The socket itself.
    let socket = socket2::Socket::new(
        socket2::Domain::for_address(addr),
        socket2::Type::STREAM.nonblocking().cloexec(),
        None,
    )
    .map_err(setup(Level::Alert, "socket() failed".into()))?;

    // proxy_socket_keepalive: a failure is logged and ignored, as nginx does.
    if conf.socket_keepalive {
        if let Err(err) = socket.set_keepalive(true) {
            s.log(Level::Alert, Some(&err), "setsockopt(SO_KEEPALIVE) failed, ignored");
        }
    }

    // proxy_bind: transparent first, the kernel picks the port at connect() when none is
    // given (IP_BIND_ADDRESS_NO_PORT), then bind().
    if let Some(local) = local {
        if local.transparent {
            socket
                .set_ip_transparent(true)
                .map_err(setup(Level::Alert, "setsockopt(IP_TRANSPARENT) failed".into()))?;
        }
        if local.addr.port() == 0 {
            use std::os::fd::AsFd;
            match crate::sys::set_bind_address_no_port(socket.as_fd()) {
                Err(err)
                    if !matches!(
                        err.raw_os_error(),
                        Some(libc::EOPNOTSUPP | libc::ENOPROTOOPT)
                    ) =>
                {
                    let message = "setsockopt(IP_BIND_ADDRESS_NO_PORT) failed, ignored";
                    s.log(Level::Alert, Some(&err), message);
                }
                _ => {}
            }
        }
        socket.bind(&local.addr.into()).map_err(setup(Level::Crit, local.bind_failed()))?;
    }
    Ok(socket)
}

/// One direction of the transfer.
struct Direction {
    buf: crate::buffer::Buffer,
    start: usize,
    end: usize,
    eof: bool,
    shut: bool,
    rate: usize,
    received: u64,
    delay: Option<Pin<Box<Sleep>>>,
}

impl Direction {
    fn new(size: usize, rate: usize) -> Direction {
        Direction {
            buf: crate::buffer::Buffer::take(size),
            start: 0,
            end: 0,
            eof: false,
            shut: false,
            rate,
            received: 0,
            delay: None,
        }
    }

    fn buffered(&self) -> bool {
        self.start < self.end
    }
}

/// What one pass over a direction did.
enum Step {
    Idle,
    Active,
    Failed,
}

/// The bidirectional copy (`ngx_stream_proxy_process`).
struct Transfer<'a> {
    s: &'a mut Session,
    client: Stream,
    upstream: Stream,
    up: Direction,
    down: Direction,
    half_close: bool,
    timeout: Duration,
    idle: Pin<Box<Sleep>>,
    deadline: tokio::time::Instant,
    started: Instant,
    first_byte: bool,
}

impl<'a> Transfer<'a> {
    fn new(
        s: &'a mut Session,
        client: Stream,
        upstream: Stream,
        proxy: &ProxyConf,
        upload_rate: usize,
        download_rate: usize,
    ) -> Transfer<'a> {
        let mut up = Direction::new(proxy.buffer_size, upload_rate);
        let preread = std::mem::take(&mut s.preread);
        if !preread.is_empty() {
            let n = preread.len().min(up.buf.len());
            up.buf[..n].copy_from_slice(&preread[..n]);
            up.end = n;
        }
        Transfer {
            s,
            client,
            upstream,
            up,
            down: Direction::new(proxy.buffer_size, download_rate),
            half_close: proxy.half_close,
            timeout: proxy.timeout,
            idle: Box::pin(tokio::time::sleep(proxy.timeout)),
            deadline: tokio::time::Instant::now() + proxy.timeout,
            started: Instant::now(),
            first_byte: false,
        }
    }

    /// Moves bytes in one direction until it would block.
    fn pump(&mut self, cx: &mut Context<'_>, from_upstream: bool) -> Step {
        let Transfer { s, client, upstream, up, down, half_close, started, first_byte, .. } = self;
        let (src, dst, dir) = if from_upstream {
            (&mut *upstream, &mut *client, &mut *down)
        } else {
            (&mut *client, &mut *upstream, &mut *up)
        };
        let mut step = Step::Idle;
        loop {
            // Write what is buffered; a failed write ends the session at once, without the
            // `disconnected` line (ngx_stream_proxy_process finalizes it).
            while dir.buffered() {
                match Pin::new(&mut *dst).poll_write(cx, &dir.buf[dir.start..dir.end]) {
                    Poll::Ready(Ok(0)) => return Step::Failed,
                    Poll::Ready(Err(e)) => {
                        let side = if from_upstream { Side::Client } else { Side::Upstream };
                        let fault = socket_error::write_failed(dst, side, &e);
                        s.action = if from_upstream {
                            "proxying and sending to client"
                        } else {
                            "proxying and sending to upstream"
                        };
                        s.log(fault.level, fault.errno.as_ref(), &fault.message);
                        return Step::Failed;
                    }
                    Poll::Ready(Ok(n)) => {
                        dir.start += n;
                        step = Step::Active;
                        let u = s.upstream.as_mut().expect("proxy state");
                        if from_upstream {
                            s.sent += n as u64;
                        } else {
                            u.sent += n as u64;
                            if let Some(state) = u.states.last_mut() {
                                state.bytes_sent += n as u64;
                            }
                        }
                    }
                    Poll::Pending => break,
                }
            }
            if !dir.buffered() {
                dir.start = 0;
                dir.end = 0;
            }

            // Half close: pass the EOF on once everything is written.
            if *half_close && dir.eof && !dir.buffered() && !dir.shut {
                match Pin::new(&mut *dst).poll_shutdown(cx) {
                    Poll::Ready(_) => dir.shut = true,
                    Poll::Pending => {}
                }
            }

            // Read while there is room, unless the rate limit delays reading.
            if dir.eof || dir.end == dir.buf.len() {
                break;
            }
            if let Some(delay) = dir.delay.as_mut() {
                if delay.as_mut().poll(cx).is_pending() {
                    break;
                }
                dir.delay = None;
            }
            let mut size = dir.buf.len() - dir.end;
            if dir.rate > 0 {
                let elapsed = started.elapsed().as_secs() + 1;
                let limit = (dir.rate as i64) * (elapsed as i64) - dir.received as i64;
                if limit <= 0 {
                    let ms = (-limit) as u64 * 1000 / dir.rate as u64 + 1;
                    dir.delay = Some(Box::pin(tokio::time::sleep(Duration::from_millis(ms))));
                    continue;
                }
                size = size.min(limit as usize);
            }
            let mut read_buf = ReadBuf::new(&mut dir.buf[dir.end..dir.end + size]);
            match Pin::new(&mut *src).poll_read(cx, &mut read_buf) {
                Poll::Pending => break,
                Poll::Ready(result) => {
                    // A failed read is logged and taken as the end of that side's stream.
                    let n = match result {
                        Ok(()) => read_buf.filled().len(),
                        Err(e) => {
                            let side = if from_upstream { Side::Upstream } else { Side::Client };
                            if let Some(fault) = socket_error::read_failed(src, side, &e) {
                                s.action = if from_upstream {
                                    "proxying and reading from upstream"
                                } else {
                                    "proxying and reading from client"
                                };
                                s.log(fault.level, fault.errno.as_ref(), &fault.message);
                                s.action = "proxying connection";
                            }
                            0
                        }
                    };
                    step = Step::Active;
                    if n == 0 {
                        dir.eof = true;
                        continue;
                    }
                    dir.end += n;
                    dir.received += n as u64;
                    let u = s.upstream.as_mut().expect("proxy state");
                    if from_upstream {
                        u.received += n as u64;
                        if let Some(state) = u.states.last_mut() {
                            state.bytes_received += n as u64;
                            if !*first_byte {
                                *first_byte = true;
                                state.first_byte_time = Some(
                                    state.connect_time.unwrap_or_default() + started.elapsed(),
                                );
                            }
                        }
                    } else {
                        s.received += n as u64;
                    }
                    if dir.rate > 0 {
                        let ms = n as u64 * 1000 / dir.rate as u64;
                        if ms > 0 {
                            dir.delay =
                                Some(Box::pin(tokio::time::sleep(Duration::from_millis(ms))));
                        }
                    }
                }
            }
        }
        step
    }

    /// `ngx_stream_proxy_test_finalize`: whether the session is over.
    // The condition is kept in nginx's own form, clause for clause.
    #[allow(clippy::nonminimal_bool)]
    fn finished(&self) -> bool {
        let (c_eof, u_eof) = (self.up.eof, self.down.eof);
        let client_buffered = self.down.buffered();
        let upstream_buffered = self.up.buffered();
        if (!c_eof && !u_eof) || (!c_eof && client_buffered) || (!u_eof && upstream_buffered) {
            return false;
        }
        if self.half_close {
            return c_eof && u_eof && !client_buffered && !upstream_buffered;
        }
        true
    }

    fn disconnected(&mut self, from_upstream: bool) {
        let s = &*self.s;
        if s.error_log.enabled(Level::Info) {
            let u = s.upstream.as_ref().expect("proxy state");
            s.log_bare(
                Level::Info,
                &format!(
                    "{} disconnected, bytes from/to client:{}/{}, bytes from/to upstream:{}/{}",
                    if from_upstream { "upstream" } else { "client" },
                    s.received,
                    s.sent,
                    u.received,
                    u.sent
                ),
            );
        }
    }
}

impl Future for Transfer<'_> {
    type Output = u16;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<u16> {
        let this = self.get_mut();
        let mut active = false;
        for from_upstream in [false, true] {
            match this.pump(cx, from_upstream) {
                Step::Failed => {
                    this.s.action = "proxying connection";
                    return Poll::Ready(status::OK);
                }
                Step::Active => active = true,
                Step::Idle => {}
            }
            if this.finished() {
                this.s.action = "proxying connection";
                this.disconnected(from_upstream);
                return Poll::Ready(status::OK);
            }
        }

        // proxy_timeout: idle time between transfers, suspended while a rate limit delays.
        // Activity only moves a deadline; the timer is re-armed when it fires early, so
        // busy sessions do not touch the timer wheel for every chunk.
        let delayed = this.up.delay.is_some() || this.down.delay.is_some();
        if active || delayed {
            this.deadline = tokio::time::Instant::now() + this.timeout;
        }
        while !delayed && this.idle.as_mut().poll(cx).is_ready() {
            if tokio::time::Instant::now() < this.deadline {
                let deadline = this.deadline;
                this.idle.as_mut().reset(deadline);
                continue;
            }
            let err = io::Error::from_raw_os_error(libc::ETIMEDOUT);
            this.s.log(Level::Info, Some(&err), "connection timed out");
            return Poll::Ready(status::OK);
        }
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target_of(value: &str) -> Result<Target<'_>, String> {
        let url = values::parse_url(value.as_bytes(), UrlOptions::default()).unwrap();
        target(&url, value)
    }

    #[test]
    fn targets_read_as_nginx_reads_them() {
        let peer = |addr: &str, name: &str| {
            Ok(Target::Peer(PeerAddr::Inet(addr.parse().unwrap()), name.to_string()))
        };
        assert_eq!(target_of("127.0.0.1:80"), peer("127.0.0.1:80", "127.0.0.1:80"));
        assert_eq!(target_of("127..0.1:80"), peer("127.0.0.1:80", "127.0.0.1:80"));
        assert_eq!(target_of("[::0.0.1.2]:80"), peer("[::102]:80", "[::0.0.1.2]:80"));
        assert_eq!(target_of("grp:81"), Ok(Target::Name(b"grp", 81)));
        let unix = Target::Peer(PeerAddr::Unix("/run/a.sock".into()), "UNIX:/run/a.sock".into());
        assert_eq!(target_of("UNIX:/run/a.sock"), Ok(unix));
    }

    #[test]
    fn targets_without_a_port_name_the_host() {
        assert_eq!(target_of("grp"), Err("no port in upstream \"grp\"".into()));
        assert_eq!(target_of("[::1]"), Err("no port in upstream \"[::1]\"".into()));
        assert_eq!(target_of("127..0.1"), Err("no port in upstream \"127..0.1\"".into()));
    }
}
