//! The binary's commands.

pub(crate) mod serve;
pub(crate) mod signal;
