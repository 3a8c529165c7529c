//! `strait parse FILE --json`: the tree in crossplane's payload shape (see
//! `strait_parser::json`). A parse fault is part of the payload (status "failed"), exit 1.

use std::path::PathBuf;
use std::process::ExitCode;

use strait_parser::ParseOptions;

/// Prints the payload of `file` to stdout.
pub(crate) fn run(file: &PathBuf) -> ExitCode {
    let outcome = strait_parser::parse_file_partial(file, &ParseOptions::default());
    let payload = strait_parser::json::payload(&outcome.config, outcome.error.as_ref());
    println!("{payload}");
    if outcome.error.is_some() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
