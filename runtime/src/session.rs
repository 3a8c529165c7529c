//! A session: one accepted connection walking nginx's phases in order (post-accept,
//! preaccess, access, ssl, preread, content, log), with its error log context.

use crate::log::error::errno_suffix;
use crate::log::{ErrorLog, Level};
use crate::plan::{Content, Plan, ServerConf};
use crate::stream::Stream;
use crate::variables::{TlsVariables, VarState};
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Instant, SystemTime};
use tracing::Instrument;

/// nginx's connection counter: sessions and upstream connections share it, so consecutive
/// proxied sessions are numbered `*1`, `*3`, `*5`.
static CONNECTIONS: AtomicU64 = AtomicU64::new(1);

/// Takes the next connection number.
pub fn next_connection_number() -> u64 {
    CONNECTIONS.fetch_add(1, Ordering::Relaxed)
}

/// `$status` values (reference §6).
#[allow(missing_docs)]
pub mod status {
    pub const OK: u16 = 200;
    pub const BAD_REQUEST: u16 = 400;
    pub const FORBIDDEN: u16 = 403;
    pub const INTERNAL_SERVER_ERROR: u16 = 500;
    pub const BAD_GATEWAY: u16 = 502;
    pub const SERVICE_UNAVAILABLE: u16 = 503;
}

/// The client's address as the session sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientAddr {
    /// An IP client.
    Inet(SocketAddr),
    /// A client on a unix-domain listener (nginx shows it as `unix:`).
    Unix,
}

/// One upstream attempt, as `$upstream_*` variables report it.
#[derive(Debug, Clone, Default)]
pub struct UpstreamState {
    /// The peer name (`$upstream_addr`).
    pub peer: String,
    /// Time to connect, when the connection was established.
    pub connect_time: Option<std::time::Duration>,
    /// Time to the first byte from the upstream.
    pub first_byte_time: Option<std::time::Duration>,
    /// Time the attempt lasted, once it ended.
    pub session_time: Option<std::time::Duration>,
    /// Bytes sent to this peer.
    pub bytes_sent: u64,
    /// Bytes received from this peer.
    pub bytes_received: u64,
}

/// The proxy's part of a session: what the error log context and variables show.
#[derive(Debug, Default)]
pub struct UpstreamInfo {
    /// The peer of the current attempt (`upstream: "..."` in the log context).
    pub peer: Option<String>,
    /// Every attempt so far.
    pub states: Vec<UpstreamState>,
    /// Bytes received from the current upstream connection.
    pub received: u64,
    /// Bytes sent on the current upstream connection.
    pub sent: u64,
}

/// One session.
#[derive(Debug)]
pub struct Session {
    /// The configuration the session was accepted under (kept across reloads).
    pub plan: Arc<Plan>,
    /// The server block handling it.
    pub server: Arc<ServerConf>,
    /// The connection number (`*N`, `$connection`).
    pub number: u64,
    /// The client address.
    pub client: ClientAddr,
    /// The local address the client connected to (`$server_addr`), or the unix path.
    pub local: Option<SocketAddr>,
    /// The listening socket's address text (`server: ...` in log lines).
    pub listen_text: Arc<str>,
    /// The server's own address text (`connected to ...`): differs from `listen_text` when a
    /// wildcard socket serves a specific address.
    pub addr_text: Arc<str>,
    /// When the session started.
    pub start: Instant,
    /// The wall clock at start.
    pub start_wall: SystemTime,
    /// Bytes received from the client by the proxy (`$bytes_received`); bytes read before
    /// the content phase (ssl_preread) are not counted, as in nginx.
    pub received: u64,
    /// Bytes sent to the client (`$bytes_sent`).
    pub sent: u64,
    /// `$status`, set when the session is finalized.
    pub status: u16,
    /// The proxy state, when the content handler is `proxy_pass`.
    pub upstream: Option<UpstreamInfo>,
    /// Variable values and captures.
    pub vars: VarState,
    /// TLS state of the client connection (`ssl_*` variables), after the ssl phase.
    pub ssl: Option<Box<dyn TlsVariables>>,
    /// What the ssl_preread phase found (`ssl_preread_*` variables).
    pub ssl_preread: Option<Box<dyn TlsVariables>>,
    /// Client bytes read before the content phase (preread); sent upstream first.
    pub preread: Vec<u8>,
    /// What the session is doing, for ` while ...` in log lines (empty: nothing said).
    pub action: &'static str,
    /// The error log of the server block.
    pub error_log: ErrorLog,
    /// The addresses of the PROXY protocol header (crate::proxy_protocol).
    pub proxy_protocol: Option<Box<crate::proxy_protocol::ProxyAddrs>>,
    /// The connection's own client address when realip replaced it (crate::realip).
    pub realip: Option<ClientAddr>,
    /// `$limit_conn_status` (crate::limit_conn).
    pub limit_conn_status: Option<crate::limit_conn::LimitConnStatus>,
    /// A TLS client stream kept open past the log phase (crate::tls::shutdown).
    pub closing: Option<Stream>,
}

impl Session {
    /// `client: ADDR` text: the address without port, `unix:` for unix clients.
    pub fn client_text(&self) -> String {
        match &self.client {
            ClientAddr::Inet(a) => strait_parser::values::inet_ntop(&a.ip()),
            ClientAddr::Unix => "unix:".to_string(),
        }
    }

    /// Writes an error log line with the session context, as `ngx_stream_log_error` does.
    pub fn log(&self, level: Level, err: Option<&io::Error>, message: &str) {
        if !self.error_log.enabled(level) {
            return;
        }
        let mut line = String::from(message);
        if let Some(err) = err {
            line.push_str(&errno_suffix(err));
        }
        if !self.action.is_empty() {
            line.push_str(" while ");
            line.push_str(self.action);
        }
        line.push_str(&format!(", client: {}, server: {}", self.client_text(), self.listen_text));
        if let Some(u) = &self.upstream {
            if let Some(peer) = &u.peer {
                line.push_str(&format!(", upstream: \"{peer}\""));
            }
            line.push_str(&format!(
                ", bytes from/to client:{}/{}, bytes from/to upstream:{}/{}",
                self.received, self.sent, u.received, u.sent
            ));
        }
        self.error_log.write(level, Some(self.number), &line);
    }

    /// Keeps a TLS client stream to close after the log phase: nginx logs the session, then
    /// shuts TLS down, which may wait for the client (`ngx_stream_finalize_session`). Other
    /// streams are closed now.
    pub fn close_after_log(&mut self, stream: Stream) {
        if let Stream::Tls(_) = stream {
            self.closing = Some(stream);
        }
    }

    /// Writes an error log line without the context (nginx clears the handler for these).
    pub fn log_bare(&self, level: Level, message: &str) {
        self.error_log.write(level, Some(self.number), message);
    }
}

/// Runs a session from accept to close.
pub async fn run(
    plan: Arc<Plan>,
    server: Arc<ServerConf>,
    stream: Stream,
    client: ClientAddr,
    local: Option<SocketAddr>,
    listen_text: Arc<str>,
    addr_text: Arc<str>,
) {
    let number = next_connection_number();
    let span = tracing::info_span!(
        "session",
        connection = number,
        client.addr = ?client,
        upstream.peer = tracing::field::Empty
    );
    let vars = VarState::new(plan.variables.len());
    let error_log = server.error_log.clone();
    let mut session = Session {
        plan,
        server,
        number,
        client,
        local,
        listen_text,
        addr_text,
        start: Instant::now(),
        start_wall: SystemTime::now(),
        received: 0,
        sent: 0,
        // nginx's `s->status` is 0 until the session is finalized: `$status` is `000` in
        // the content phase (`return "$status"`), the final code in the log phase.
        status: 0,
        upstream: None,
        vars,
        ssl: None,
        ssl_preread: None,
        preread: Vec::new(),
        action: "initializing connection",
        error_log,
        proxy_protocol: None,
        realip: None,
        limit_conn_status: None,
        closing: None,
    };
    async move {
        let status = session.phases(stream).await;
        session.status = status;
        // log phase
        crate::log::access::log_session(&mut session);
        if let Some(stream) = session.closing.take() {
            crate::tls::shutdown::close(&session, stream, crate::tls::shutdown::Side::Client).await;
        }
    }
    .instrument(span)
    .await
}

impl Session {
    /// Walks the phases; returns the `$status` the session ends with.
    async fn phases(&mut self, mut stream: Stream) -> u16 {
        // post-accept: nginx logs the new connection before anything else.
        if self.error_log.enabled(Level::Info) {
            let peer = match &self.client {
                ClientAddr::Inet(a) => strait_parser::values::sock_ntop(a),
                ClientAddr::Unix => "unix:".to_string(),
            };
            self.log_bare(Level::Info, &format!("client {} connected to {}", peer, self.addr_text));
        }

        // The PROXY protocol header, before the phases (crate::proxy_protocol).
        if crate::proxy_protocol::enabled(self) {
            if let Err(status) = crate::proxy_protocol::read(self, &mut stream).await {
                return status;
            }
        }
        self.action = "initializing session";

        // post-accept: realip (crate::realip).
        crate::realip::post_accept(self);

        // preaccess: `set` assignments, in configuration order, then limit_conn.
        let server = self.server.clone();
        for (index, value) in &server.sets {
            let value = self.complex(value);
            self.vars.assign(*index, value);
        }
        let _held = match crate::limit_conn::preaccess(self) {
            Ok(held) => held,
            Err(status) => return status,
        };

        // access: allow/deny, first matching rule wins.
        if let Some(rule) = server.access.iter().find(|r| r.matches(&self.client)) {
            if !rule.allow {
                self.log(Level::Error, None, "access forbidden by rule");
                return status::FORBIDDEN;
            }
        }

        // tcp_nodelay on the client connection, as ngx_stream_init_session_handler does.
        if server.tcp_nodelay {
            if let Stream::Tcp(tcp) = &stream {
                let _ = tcp.set_nodelay(true);
            }
        }

        // ssl and preread: TLS termination and ssl_preread (crate::tls::phase).
        let mut stream = match crate::tls::phase::ssl(self, stream).await {
            Ok(stream) => stream,
            Err(status) => return status,
        };
        if let Err(status) = crate::tls::phase::preread(self, &mut stream).await {
            return status;
        }

        // content
        self.action = "handling client connection";
        match &server.content {
            Content::Return(value) => {
                let value = self.complex(value);
                let code = crate::return_handler::run(self, &mut stream, &value).await;
                self.close_after_log(stream);
                code
            }
            Content::Proxy(proxy) => crate::proxy::run(self, stream, proxy).await,
        }
    }
}
