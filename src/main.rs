//! The `strait` binary: parses the command line, calls the library crates, maps errors to exit codes.

mod cmd;

fn main() -> std::process::ExitCode {
    cmd::serve::main_from_args(std::env::args_os())
}
