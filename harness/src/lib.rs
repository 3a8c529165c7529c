//! strait-harness: runs Test::Nginx-style `.t` suites against strait or nginx.
#![warn(missing_docs)]
