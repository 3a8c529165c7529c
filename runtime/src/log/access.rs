//! `log_format` and `access_log`: compiled formats, buffered writers with `flush=`, the
//! `if=` condition, variable paths, and the log phase of a session.

use crate::conf::{parse_size, parse_time, text, ConfigError, DirectiveExt};
use crate::log::LogFiles;
use crate::log_format::{Escape, Op};
use crate::plan::Paths;
use crate::session::Session;
use crate::variables::{Complex, VarIndex, Variables};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
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
}

/// One `access_log` directive.
#[derive(Debug)]
pub struct AccessLog {
    destination: Destination,
    format: Arc<LogFormat>,
    condition: Option<Complex>,
    buffer: Option<Buffer>,
    prefix: PathBuf,
}

/// `buffer=` / `flush=` state.
#[derive(Debug)]
struct Buffer {
    size: usize,
    flush: Option<Duration>,
    pending: Mutex<(Vec<u8>, Instant)>,
}

impl AccessLog {
    /// Compiles `access_log PATH FORMAT [buffer=SIZE] [flush=TIME] [gzip[=N]] [if=COND]`.
    pub fn compile(
        d: &Directive,
        format: Arc<LogFormat>,
        paths: &Paths,
        files: &LogFiles,
        vars: &mut Variables,
    ) -> Result<AccessLog, ConfigError> {
        let values = d.values();
        let path = Complex::compile(values[0], vars).map_err(|e| d.error(e.message))?;
        let destination = match path.as_literal() {
            Some(literal) => {
                let path = paths.prefixed(&literal);
                // A failure to open is reported once the whole configuration was read.
                Destination::File(files.get(&path))
            }
            None => Destination::Variable(path),
        };
        let mut buffer_size = None;
        let mut flush = None;
        let mut condition = None;
        for v in &values[2..] {
            if let Some(size) = v.strip_prefix(b"buffer=") {
                buffer_size =
                    Some(parse_size(size).ok_or_else(|| {
                        d.error(format!("invalid buffer size \"{}\"", text(size)))
                    })?);
            } else if let Some(time) = v.strip_prefix(b"flush=") {
                flush =
                    Some(parse_time(time, true).ok_or_else(|| {
                        d.error(format!("invalid flush time \"{}\"", text(time)))
                    })?);
            } else if let Some(cond) = v.strip_prefix(b"if=") {
                condition = Some(Complex::compile(cond, vars).map_err(|e| d.error(e.message))?);
            } else if v.starts_with(b"gzip") {
                return Err(
                    d.error("the \"gzip\" parameter of \"access_log\" is not supported by strait")
                );
            } else {
                return Err(d.error(format!("invalid parameter \"{}\"", text(v))));
            }
        }
        if flush.is_some() && buffer_size.is_none() {
            return Err(d.error(
                "no buffer is defined for access_log \"".to_string() + &text(values[0]) + "\"",
            ));
        }
        let buffer = match (&destination, buffer_size) {
            (Destination::File(_), Some(size)) => {
                Some(Buffer { size, flush, pending: Mutex::new((Vec::new(), Instant::now())) })
            }
            _ => None,
        };
        Ok(AccessLog { destination, format, condition, buffer, prefix: paths.prefix.clone() })
    }

    /// Writes the session's line, honouring `if=` and the buffer.
    pub fn write(&self, s: &mut Session) {
        if let Some(condition) = &self.condition {
            let value = s.complex(condition);
            if value.is_empty() || value == b"0" {
                return;
            }
        }
        let mut line = self.format.render(s);
        line.push(b'\n');
        match &self.destination {
            Destination::File(file) => match &self.buffer {
                None => file.write(&line),
                Some(buffer) => {
                    let mut pending = buffer.pending.lock().unwrap_or_else(|e| e.into_inner());
                    if pending.0.len() + line.len() > buffer.size {
                        file.write(&pending.0);
                        pending.0.clear();
                    }
                    if pending.0.is_empty() {
                        pending.1 = Instant::now();
                    }
                    pending.0.extend_from_slice(&line);
                    if pending.0.len() >= buffer.size {
                        file.write(&pending.0);
                        pending.0.clear();
                    }
                }
            },
            Destination::Variable(path) => {
                let path = s.complex(path);
                let path = PathBuf::from(text(&path));
                let path = if path.is_absolute() { path } else { self.prefix.join(path) };
                if let Ok(file) = crate::log::LogFile::open(&path) {
                    file.write(&line);
                }
            }
        }
    }

    /// Writes out buffered lines whose `flush=` time has passed (or all, when `force`).
    pub fn flush(&self, force: bool) {
        let (Destination::File(file), Some(buffer)) = (&self.destination, &self.buffer) else {
            return;
        };
        let mut pending = buffer.pending.lock().unwrap_or_else(|e| e.into_inner());
        if pending.0.is_empty() {
            return;
        }
        let due = buffer.flush.is_some_and(|flush| pending.1.elapsed() >= flush);
        if force || due {
            file.write(&pending.0);
            pending.0.clear();
        }
    }

    /// The `flush=` interval, when buffered.
    pub fn flush_interval(&self) -> Option<Duration> {
        self.buffer.as_ref().and_then(|b| b.flush)
    }
}

impl Drop for AccessLog {
    /// Buffered lines are written when the configuration that owns them goes away.
    fn drop(&mut self) {
        self.flush(true);
    }
}

/// The log phase: every access log of the server writes the session's line.
pub fn log_session(s: &mut Session) {
    let server = s.server.clone();
    for log in &server.access_logs {
        log.write(s);
    }
}
