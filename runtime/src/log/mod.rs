//! Logs: the error log in nginx's line format and the access log with `log_format`, its
//! buffers (`buffer=`, `flush=`, `gzip`).

pub mod access;
pub mod buffer;
pub mod error;
pub mod files;

pub use error::{ErrorLog, Level};
pub use files::{LogFile, LogFiles};
