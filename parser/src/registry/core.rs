//! Main and events directives strait runs or checks as nginx's handlers do (not only their
//! argument counts), written by hand with their value syntax; they shadow the probed rows of
//! `nginx.rs` for the same contexts.

use super::consts::*;
use super::{Args, Contexts, Spec, Value, Version};

/// A slot-read directive: repeats are `is duplicate`.
const fn d(name: &'static str, contexts: Contexts, args: Args, value: Value) -> Spec {
    Spec { name, contexts, args, value, variables: false, once: true, since: Version(0, 0, 0) }
}

/// Main context, as nginx builds it (`NGX_MAIN_CONF|NGX_DIRECT_CONF`).
const M: Contexts = MAIN;

/// The table.
pub(super) const SPECS: &[Spec] = &[
    d("daemon", M, FLAG, Value::Flag),
    d("master_process", M, FLAG, Value::Flag),
    d("pcre_jit", M, FLAG, Value::Flag),
    d("worker_processes", M, TAKE1, Value::Custom),
    d("worker_rlimit_nofile", M, TAKE1, Value::Number),
    d("worker_rlimit_core", M, TAKE1, Value::Offset),
    d("timer_resolution", M, TAKE1, Value::Milliseconds),
    d("worker_shutdown_timeout", M, TAKE1, Value::Milliseconds),
    d("pid", M, TAKE1, Value::String),
    d("lock_file", M, TAKE1, Value::String),
    d("working_directory", M, TAKE1, Value::String),
    d("error_log", M, ONE_MORE, Value::Custom).many(),
    d("worker_connections", EVENTS, TAKE1, Value::Custom),
    d("use", EVENTS, TAKE1, Value::Custom),
    d("multi_accept", EVENTS, FLAG, Value::Flag),
    d("accept_mutex", EVENTS, FLAG, Value::Flag),
    d("accept_mutex_delay", EVENTS, TAKE1, Value::Milliseconds),
    d("worker_aio_requests", EVENTS, TAKE1, Value::Number),
    d("epoll_events", EVENTS, TAKE1, Value::Number),
    d("debug_connection", EVENTS, TAKE1, Value::Custom).many(),
    d("debug_points", M, TAKE1, Value::Enum(&["stop", "abort"])),
    d("thread_pool", M, Args(TAKE2.0 | TAKE3.0), Value::Custom).many(),
];
