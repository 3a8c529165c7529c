//! strait-parser: reads nginx configuration exactly as nginx does.
#![warn(missing_docs)]

pub mod ast;
