//! Logs: the error log in nginx's line format and the access log with `log_format`, its
//! buffers (`buffer=`, `flush=`, `gzip`), and the other destinations: syslog servers and the
//! error log's memory buffers.

pub mod access;
pub mod buffer;
pub mod error;
pub mod files;
pub mod memory;
pub mod syslog;

pub use error::{ErrorLog, Level};
pub use files::{LogFile, LogFiles};
