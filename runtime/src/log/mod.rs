//! Logs: the error log in nginx's line format and the access log with `log_format`.

pub mod access;
pub mod error;
pub mod files;

pub use error::{ErrorLog, Level};
pub use files::{LogFile, LogFiles};
