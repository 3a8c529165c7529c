//! strait-runtime: runs a checked nginx stream configuration as a TCP/TLS proxy.
//!
//! The configuration tree is compiled once into a [`plan::Plan`]; the [`server`] module opens
//! its listeners, runs a session per connection ([`session`]) through nginx's phases, and
//! handles signals and reload.
//!
//! # Module map
//!
//! | module | owns |
//! |---|---|
//! | [`plan`] | compiling the tree: main settings, servers, inheritance, listener grouping |
//! | [`address`] | addresses in the configuration: `ngx_parse_url`, names found at load |
//! | [`listen`] | `listen` parameters and socket options |
//! | [`server`] | the process: bind, daemon, pid file, accept loops, HUP/QUIT/TERM/USR1 |
//! | [`session`] | one connection walking the phases; the error log context |
//! | [`socket_error`] | failed reads and writes in a session, worded and levelled as nginx |
//! | [`proxy`] | `proxy_pass`: peers, connect and next upstream, the transfer loop |
//! | [`return_handler`] | `return`: the text, nginx's send timer, write failures |
//! | [`buffer`] | the transfer buffers, reused across sessions on each worker thread |
//! | [`variables`] | the variable table, complex values, per-session evaluation |
//! | [`blocks`] | `map`, `geo`, `split_clients` as variables |
//! | [`upstream`] | upstream groups over the [`upstream::balancer`] |
//! | [`log`] | error_log lines, access_log, log files and reopening |
//! | [`tls`] | termination, upstream TLS, ssl_preread (the TLS seams of [`proxy`], [`session`]) |
//! | [`proxy_protocol`] | PROXY v1/v2 headers read on `listen ... proxy_protocol`, v1 sent upstream |
//! | [`realip`] | `set_real_ip_from`: the post-accept phase |
//! | [`limit_conn`] | `limit_conn_zone`, `limit_conn`: the preaccess check |
//!
//! # Differences from nginx (runtime core)
//!
//! - Processes: one process with `worker_processes` threads, each its own event loop
//!   accepting on a copy of every listening socket (one worker: the main thread), not a
//!   master and worker processes; a reload cannot change the thread count. Without
//!   `EPOLLEXCLUSIVE`, every idle worker wakes for a new connection and one accepts it.
//! - `user` is accepted; the process keeps its identity (it must be able to rebind on reload).
//! - `worker_connections` caps client sessions at `worker_connections` × `worker_processes`;
//!   nginx counts per worker and includes upstream and listening sockets. Over the cap, the
//!   same `[alert] N worker_connections are not enough` line.
//! - `resolver`: answers are not cached (`valid=` and TTLs are read but unused); servers are
//!   asked in order, not round robin.
//! - Signal lines are the master's (`signal 1 (SIGHUP) received from PID, reconfiguring`, then
//!   `reconfiguring`); shutdown logs `gracefully shutting down` and `exit`, without the
//!   worker lines nor `signal 17 (SIGCHLD)`.
//! - Start notices come in nginx's order and levels: `using the "epoll" event method`, the
//!   version (`nginx/1.27.5 (strait 0.1.0)`, as `-v` says it) and `built by strait ...` (as
//!   `-V`), `OS:`, `getrlimit(RLIMIT_NOFILE):`, `start worker processes`, then one
//!   `start worker process N` per worker, N being the worker thread's id (the TID of its log
//!   lines). A reload logs the event method and the workers again, naming the same threads:
//!   nginx starts new worker processes instead, and logs the old ones' exit.
//! - Rejected at startup with a clear message: `listen` parameters `udp`, `setfib=`,
//!   `accept_filter=`, `default_server`; the directives `pass`, `open_log_file_cache` (the
//!   full list: [`unsupported`]).
//! - PROXY protocol: `$proxy_protocol_tlv_*` (nginx >= 1.23.2) are never found (TLVs are
//!   skipped, as 1.22 does); headers are limited to 107 bytes as in 1.22 (later versions take
//!   v2 headers up to 4096). A failed write of the upstream header ends the session with 502.
//! - limit_conn: a zone counts sessions in process memory without its size bound (no
//!   `could not allocate node` refusal); counts carry over a reload for a zone of the same
//!   name and size, as nginx's shared zone does.
//! - An `access_log` path with variables is opened for each line (no file cache).
//! - Event-loop tuning (`use`, `multi_accept`, `accept_mutex`) is accepted and has no effect.
#![warn(missing_docs)]

mod accept;
pub mod address;
pub mod blocks;
pub mod buffer;
pub mod conf;
pub mod geo;
pub mod limit_conn;
pub mod listen;
pub mod log;
pub mod log_format;
pub mod map;
pub mod plan;
pub mod proxy;
pub mod proxy_protocol;
pub mod realip;
pub mod resolver;
pub mod return_handler;
pub mod server;
pub mod session;
pub mod socket_error;

pub mod split_clients;
pub mod stream;
pub mod sys;
pub mod time;
pub mod tls;
pub mod unsupported;
pub mod upstream;
pub mod variables;

pub use conf::ConfigError;
pub use plan::{Paths, Plan};
