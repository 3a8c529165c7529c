//! strait-runtime: runs a checked nginx stream configuration as a TCP/TLS proxy.
//!
//! The configuration tree is compiled once into a [`plan::Plan`]; the [`server`] module opens
//! its listeners, runs a session per connection ([`session`]) through nginx's phases, and
//! handles signals and reload.
#![warn(missing_docs)]

pub mod blocks;
pub mod conf;
pub mod geo;
pub mod listen;
pub mod log;
pub mod log_format;
pub mod map;
pub mod plan;
pub mod proxy;
pub mod server;
pub mod session;
pub mod split_clients;
pub mod stream;
pub mod sys;
pub mod time;
pub mod tls;
pub mod upstream;
pub mod variables;

pub use conf::ConfigError;
pub use plan::{Paths, Plan};
