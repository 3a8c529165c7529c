//! strait-runtime: runs a checked nginx stream configuration as a TCP/TLS proxy.
#![warn(missing_docs)]
