//! The translator's faults: what is wrong, in which object, in which field.

use std::fmt;
use std::path::PathBuf;

use thiserror::Error;

/// The kind of object a fault is in, named as APISIX names the collections.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ObjectKind {
    /// The config document (`config.yaml`).
    Config,
    /// The routes document itself (its top-level keys).
    Document,
    /// A `stream_routes` entry.
    StreamRoute,
    /// An `upstreams` entry.
    Upstream,
    /// An `ssls` entry.
    Ssl,
}

impl fmt::Display for ObjectKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ObjectKind::Config => "config",
            ObjectKind::Document => "routes document",
            ObjectKind::StreamRoute => "stream_route",
            ObjectKind::Upstream => "upstream",
            ObjectKind::Ssl => "ssl",
        })
    }
}

/// One validation fault: `stream_route "1": upstream.tls.client_key: decrypt ssl key failed`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    /// Which collection.
    pub kind: ObjectKind,
    /// The object's id, or `#N` (its position, from 1) when it has no valid one.
    pub id: String,
    /// The field, as a dotted path (`upstream.nodes[0].port`); empty for the whole object.
    pub field: String,
    /// What is wrong.
    pub message: String,
}

impl Fault {
    /// A fault in `field` of the object `kind`/`id`.
    pub fn new(kind: ObjectKind, id: &str, field: &str, message: impl Into<String>) -> Fault {
        Fault { kind, id: id.to_owned(), field: field.to_owned(), message: message.into() }
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // An id in quotes; a position (`#N`: `#` is never part of an id) without.
        match self.kind {
            ObjectKind::Config | ObjectKind::Document => write!(f, "{}", self.kind)?,
            _ if self.id.starts_with('#') => write!(f, "{} {}", self.kind, self.id)?,
            _ => write!(f, "{} \"{}\"", self.kind, self.id)?,
        }
        if !self.field.is_empty() {
            write!(f, ": {}", self.field)?;
        }
        write!(f, ": {}", self.message)
    }
}

/// The faults of a whole input, all of them, in document order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Faults(pub Vec<Fault>);

impl fmt::Display for Faults {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (n, fault) in self.0.iter().enumerate() {
            if n > 0 {
                writeln!(f)?;
            }
            write!(f, "{fault}")?;
        }
        Ok(())
    }
}

/// Something rendered as APISIX would have it that the user may not expect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Warning {
    /// A YAML routes file without the end flag, which APISIX would not load.
    MissingEndFlag {
        /// The routes file.
        path: PathBuf,
    },
    /// A route whose SNI has upper-case letters: APISIX compares it as written with the
    /// client's lower-cased SNI, so it never matches (rendered as never matching).
    SniNeverMatches {
        /// The route id.
        route: String,
        /// Its SNI as written.
        sni: String,
    },
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Warning::MissingEndFlag { path } => write!(
                f,
                "missing valid end flag in file {}: APISIX would not load it (a YAML routes \
                 file counts once its last 10 bytes hold #END)",
                path.display()
            ),
            Warning::SniNeverMatches { route, sni } => write!(
                f,
                "stream_route \"{route}\": sni: {sni} never matches: APISIX compares a route's \
                 SNI as written with the client's SNI lower-cased (write it in lower case)"
            ),
        }
    }
}

/// Everything that stops a render.
#[derive(Debug, Error)]
pub enum RenderError {
    /// An input file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A YAML routes file has no end flag yet (APISIX's words): it is not loaded.
    #[error(
        "missing valid end flag in file {}: not loaded (a YAML routes file counts once its \
         last 10 bytes hold #END)",
        path.display()
    )]
    MissingEndFlag {
        /// The routes file.
        path: PathBuf,
    },
    /// An input is not YAML or JSON.
    #[error("{what} is not valid {format}: {message}")]
    Syntax {
        /// `routes document` or `config document`, with the file name when there is one.
        what: String,
        /// `YAML` or `JSON`.
        format: &'static str,
        /// The decoder's message.
        message: String,
    },
    /// The objects break APISIX's rules; every fault found is listed.
    #[error("{0}")]
    Invalid(Faults),
    /// A template failed to render (a bug in templates/, not in the input).
    #[error("template {name}: {message}")]
    Template {
        /// The template.
        name: String,
        /// tera's message with its causes.
        message: String,
    },
    /// The rendered configuration fails the parser's checks (a bug in the translator).
    #[error("the rendered configuration fails the checks: {message}")]
    Check {
        /// The check's message, `... in FILE:LINE` as nginx words it.
        message: String,
    },
    /// An output file could not be written.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}
