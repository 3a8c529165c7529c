//! strait-harness: runs Test::Nginx-style `.t` suites against strait or nginx.
//!
//! A `.t` file is read with Test::Base's grammar ([`spec`]), `eval` sections through a small
//! Perl-literal evaluator ([`perl`]); each block becomes an `nginx.conf` the way
//! Test::Nginx's stream support writes it ([`conf`]), the binary is started like
//! Test::Nginx starts nginx ([`server`]), the stream servers are spoken to directly
//! ([`client`]), and the response and error log are checked ([`check`]). [`run()`] drives it
//! all and prints TAP ([`report`]); [`differences`] is the table of deliberate strait/nginx
//! differences; [`preamble`] reads the few controls of the Perl before `__DATA__`;
//! [`binary`] probes the binary under test; [`ports`] picks free loopback ports outside the
//! kernel's ephemeral range (the workspace's tests use it too). README.md lists where the
//! runner differs from Test::Nginx, and why.
#![warn(missing_docs)]

pub mod binary;
pub mod check;
pub mod client;
pub mod conf;
pub mod differences;
pub mod env;
pub mod error;
pub mod perl;
pub mod ports;
pub mod preamble;
pub mod report;
pub mod run;
mod sections;
pub mod server;
pub mod spec;
mod sys;
pub mod value;
mod worker;

pub use binary::BinaryInfo;
pub use error::{BailOut, SpecError, Stopped};
pub use report::{Counts, FileReport, Summary};
pub use run::{collect_files, run, Options, PortChoice};
pub use spec::{parse_file, read_spec, Block, Section, Spec};
pub use value::{PerlRegex, Value};
