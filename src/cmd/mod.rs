//! The commands of the binary, one module each; `main.rs` only dispatches to them.

pub(crate) mod check;
pub(crate) mod demo;
pub(crate) mod fmt;
pub(crate) mod parse;
pub(crate) mod prove;
pub(crate) mod render;
pub(crate) mod serve;
pub(crate) mod signal;
pub(crate) mod up;
