//! `strait fmt FILE`: the configuration's main file printed canonically (see
//! `strait_parser::print`); includes are not inlined.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use strait_parser::ParseOptions;

/// Prints `file` canonically to stdout; a parse fault is printed as `strait: MESSAGE`, exit 1.
pub(crate) fn run(file: &PathBuf) -> ExitCode {
    match strait_parser::parse_file(file, &ParseOptions::default()) {
        Ok(config) => {
            let _ = std::io::stdout().write_all(&strait_parser::print::print_block(config.main()));
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("strait: {error}");
            ExitCode::FAILURE
        }
    }
}
