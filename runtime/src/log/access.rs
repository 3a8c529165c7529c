//! `log_format` and `access_log`: compiled formats, the `buffer=`/`flush=`/`gzip` settings
//! (the buffer itself belongs to the file, [`crate::log::buffer`]), the `if=` condition,
//! variable paths, syslog servers ([`crate::log::syslog`]), and the log phase of a session.

use crate::conf::{parse_size, parse_time, text, ConfigError, DirectiveExt};
use crate::log::buffer::BufferSettings;
use crate::log::syslog::SyslogPeer;
use crate::log::{Level, LogFiles};
use crate::log_format::{Escape, Op};
use crate::plan::Paths;
use crate::session::Session;
use crate::variables::{Complex, VarIndex, Variables};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::SystemTime;
use strait_parser::ast::Directive;

/// One piece of a compiled format.
#[derive(Debug)]
enum FormatPart {
    Literal(Vec<u8>),
    Var(VarIndex),
}

/// A compiled `log_format`: the log module's own syntax ([`crate::log_format`]) with the
/// variables bound to the table.
#[derive(Debug)]
pub struct LogFormat {
    escape: Escape,
    parts: Vec<FormatPart>,
}

impl LogFormat {
    /// Compiles `log_format NAME [escape=...] STRING...`.
    pub fn compile(d: &Directive, vars: &mut Variables) -> Result<LogFormat, ConfigError> {
        let values = d.values();
        if values.len() < 2 {
            return Err(d.error("invalid number of arguments in \"log_format\" directive"));
        }
        let format = crate::log_format::LogFormat::compile(values[0], &values[1..])
            .map_err(|e| d.error(e.to_string()))?;
        let mut parts = Vec::new();
        for op in format.ops {
            parts.push(match op {
                Op::Literal(bytes) => FormatPart::Literal(bytes),
                Op::Variable(name) => FormatPart::Var(vars.index(name.as_bytes())?),
            });
        }
        Ok(LogFormat { escape: format.escape, parts })
    }

    /// Renders one line (without the newline) for a session.
    pub fn render(&self, s: &mut Session) -> Vec<u8> {
        let mut out = Vec::with_capacity(128);
        for part in &self.parts {
            match part {
                FormatPart::Literal(bytes) => out.extend_from_slice(bytes),
                FormatPart::Var(index) => {
                    let value = s.variable(*index);
                    self.escape.write(value.as_deref(), &mut out);
                }
            }
        }
        out
    }
}

/// Where an access log writes.
#[derive(Debug)]
enum Destination {
    /// A fixed file.
    File(Arc<crate::log::LogFile>),
    /// A path with variables, opened for each line (prefix-relative).
    Variable(Complex),
    /// `syslog:`: a datagram per line.
    Syslog(Arc<SyslogPeer>),
}

/// One `access_log` directive.
#[derive(Debug)]
pub struct AccessLog {
    destination: Destination,
    format: Arc<LogFormat>,
    condition: Option<Complex>,
    prefix: PathBuf,
}

/// `buffer=` when only `gzip` is given.
const GZIP_BUFFER: usize = 64 * 1024;

impl AccessLog {
    /// Compiles `access_log PATH FORMAT [buffer=SIZE] [flush=TIME] [gzip[=N]] [if=COND]` with
    /// `ngx_stream_log_set_log`'s rules: `gzip` alone buffers 64k at level 1, a buffer needs a
    /// fixed path (not a syslog server), and two buffered logs of one file must agree.
    pub fn compile(
        d: &Directive,
        format: Arc<LogFormat>,
        paths: &Paths,
        files: &LogFiles,
        vars: &mut Variables,
    ) -> Result<AccessLog, ConfigError> {
        // The destination: a syslog server, or a path, fixed or with variables (opened for
        // each line).
        let values = d.values();
        let destination = match values[0].strip_prefix(b"syslog:") {
            Some(parameters) => {
                let resolve = crate::log::syslog::resolve_host;
                let target = strait_parser::check::syslog_target(parameters, &resolve)
                    .map_err(|fault| d.error(fault.to_string()))?;
                Destination::Syslog(files.syslog(target))
            }
            None => {
                let path = Complex::compile(values[0], vars).map_err(|e| d.error(e.message))?;
                match path.as_literal() {
                    Some(literal) => {
                        let path = paths.prefixed(&literal);
                        // A failure to open is reported once the whole configuration was read.
                        Destination::File(files.get(&path))
                    }
                    None => Destination::Variable(path),
                }
            }
        };

        // The parameters, each checked as nginx checks it.
        let mut size = None;
        let mut flush = None;
        let mut gzip = None;
        let mut condition = None;
        for v in &values[2..] {
            if let Some(value) = v.strip_prefix(b"buffer=") {
                let parsed = parse_size(value).filter(|n| *n > 0);
                let fault = || d.error(format!("invalid buffer size \"{}\"", text(value)));
                size = Some(parsed.ok_or_else(fault)?);
            } else if let Some(value) = v.strip_prefix(b"flush=") {
                let parsed = parse_time(value, true).filter(|t| !t.is_zero());
                let fault = || d.error(format!("invalid flush time \"{}\"", text(value)));
                flush = Some(parsed.ok_or_else(fault)?);
            } else if *v == b"gzip" || v.starts_with(b"gzip=") {
                size.get_or_insert(GZIP_BUFFER);
                gzip = Some(match v.strip_prefix(b"gzip=") {
                    None => 1,
                    Some(level) => compression_level(level).ok_or_else(|| {
                        d.error(format!("invalid compression level \"{}\"", text(level)))
                    })?,
                });
            } else if let Some(cond) = v.strip_prefix(b"if=") {
                condition = Some(Complex::compile(cond, vars).map_err(|e| d.error(e.message))?);
            } else {
                return Err(d.error(format!("invalid parameter \"{}\"", text(v))));
            }
        }

        // A buffer: on the file, shared with the other logs of that file.
        if flush.is_some() && size.is_none() {
            return Err(
                d.error(format!("no buffer is defined for access_log \"{}\"", text(values[0])))
            );
        }
        if let Some(size) = size {
            let file = match &destination {
                Destination::File(file) => file,
                Destination::Variable(_) => {
                    return Err(d.error("buffered logs cannot have variables in name"));
                }
                Destination::Syslog(_) => {
                    return Err(d.error("logs to syslog cannot be buffered"));
                }
            };
            file.set_buffer(BufferSettings { size, flush, gzip }).map_err(|_| {
                d.error(format!(
                    "access_log \"{}\" already defined with conflicting parameters",
                    text(values[0])
                ))
            })?;
        }
        Ok(AccessLog { destination, format, condition, prefix: paths.prefix.clone() })
    }

    /// Writes the session's line, honouring `if=` and the file's buffer.
    pub fn write(&self, s: &mut Session) {
        if let Some(condition) = &self.condition {
            let value = s.complex(condition);
            if value.is_empty() || value == b"0" {
                return;
            }
        }
        let mut line = self.format.render(s);

        // A syslog datagram has no newline; a failure is the session's warning.
        if let Destination::Syslog(peer) = &self.destination {
            match peer.write_access(SystemTime::now(), &line) {
                Ok((sent, len)) if sent == len => {}
                Ok((sent, len)) => s.log(
                    Level::Warn,
                    None,
                    &format!("send() to syslog has written only {sent} of {len}"),
                ),
                Err(_) => s.log(Level::Warn, None, "send() to syslog failed"),
            }
            return;
        }

        line.push(b'\n');
        match &self.destination {
            Destination::File(file) => file.write_line(&line),
            Destination::Variable(path) => {
                let path = s.complex(path);
                let path = PathBuf::from(text(&path));
                let path = if path.is_absolute() { path } else { self.prefix.join(path) };
                // As nginx, a file that cannot be opened is the session's critical line.
                match crate::log::LogFile::open(&path) {
                    Ok(file) => file.write(&line),
                    Err(e) => {
                        let errno = crate::log::error::errno_suffix(&e);
                        let message = format!("open() \"{}\" failed{errno}", path.display());
                        s.log(Level::Crit, None, &message);
                    }
                }
            }
            Destination::Syslog(_) => {}
        }
    }

    /// Whether the log writes through a buffer (`buffer=`, `gzip`).
    pub fn is_buffered(&self) -> bool {
        matches!(&self.destination, Destination::File(file) if file.is_buffered())
    }

    /// Writes out buffered lines whose `flush=` time has passed (or all, when `force`).
    pub fn flush(&self, force: bool) {
        if let Destination::File(file) = &self.destination {
            file.flush(force);
        }
    }
}

/// `gzip=LEVEL`: 1 to 9, digits only (`ngx_atoi`).
fn compression_level(value: &[u8]) -> Option<u32> {
    if value.is_empty() || !value.iter().all(u8::is_ascii_digit) {
        return None;
    }
    text(value).parse::<u32>().ok().filter(|level| (1..=9).contains(level))
}

/// The log phase: every access log of the server writes the session's line.
pub fn log_session(s: &mut Session) {
    let server = s.server.clone();
    for log in &server.access_logs {
        log.write(s);
    }
}
