//! The `strait` binary: parses the command line, calls the library crates, maps errors to exit codes.

fn main() {
    println!("strait");
}
