//! The `strait` binary: parses the command line, calls the library crates, maps errors to exit codes.
//!
//! Two command lines share it. A first argument naming a subcommand (`fmt`, `parse`, `prove`) is
//! parsed with clap; anything else is nginx's command line (`-t`, `-c FILE`, `-s reload`...),
//! parsed by hand in [`nginx_cli`] because scripts and test harnesses depend on its exact
//! behaviour and messages.

mod alloc;
mod cmd;
mod nginx_cli;

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// strait's own subcommands.
#[derive(Debug, Parser)]
#[command(
    name = "strait",
    version,
    about = "A drop-in for nginx's stream module",
    after_help = "Without a command, strait takes nginx's command line and serves (or tests, \
                  or signals) a configuration:\n  \
                  strait [-?hvVtTq] [-s signal] [-p prefix] [-e filename] [-c filename] \
                  [-g directives]\n\
                  `strait -h` prints nginx's help for it."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// One subcommand.
#[derive(Debug, Subcommand)]
enum Command {
    /// Print a configuration file canonically indented.
    Fmt {
        /// The configuration file.
        file: PathBuf,
    },
    /// Print the parsed configuration.
    Parse {
        /// The configuration file.
        file: PathBuf,
        /// Print crossplane's JSON payload (the only output format).
        #[arg(long)]
        json: bool,
    },
    /// Start an mTLS upstream and strait in front of it, on loopback, and show what the
    /// upstream sees per connection.
    Demo {
        /// Exit after the first connections instead of serving until Ctrl-C.
        #[arg(long)]
        once: bool,
        /// Listen on ports the system picks instead of 9101 and 9102.
        #[arg(long)]
        free_ports: bool,
        /// Where to write the configuration and logs (default: a new temporary directory).
        #[arg(long)]
        dir: Option<PathBuf>,
    },
    /// Run Test::Nginx-style .t suites against strait or nginx.
    Prove(cmd::prove::ProveArgs),
    /// Render APISIX-style stream routes into an nginx configuration.
    Render(cmd::render::RenderArgs),
    /// Render the routes into a runtime directory and serve them; reload on change.
    Up(cmd::up::UpArgs),
}

/// The names that select the clap command line.
const SUBCOMMANDS: &[&str] = &["fmt", "parse", "prove", "demo", "render", "up", "help"];

fn main() -> ExitCode {
    alloc::route_openssl_allocations();
    let mut args: Vec<OsString> = std::env::args_os().collect();

    // Step: `--help`, which nginx refuses as an invalid option, is clap's `help` here.
    if args.get(1).is_some_and(|first| first == "--help") {
        args[1] = OsString::from("help");
    }

    // Step: strait's subcommands.
    if args.get(1).is_some_and(|first| SUBCOMMANDS.iter().any(|name| first == name)) {
        return match Cli::parse_from(&args).command {
            Command::Fmt { file } => cmd::fmt::run(&file),
            Command::Parse { file, json: _ } => cmd::parse::run(&file),
            Command::Demo { once, free_ports, dir } => cmd::demo::run(once, free_ports, dir),
            Command::Prove(args) => cmd::prove::run_prove(args),
            Command::Render(args) => cmd::render::run(&args),
            Command::Up(args) => cmd::up::run(&args),
        };
    }

    // Step: nginx's command line.
    let nginx = match nginx_cli::parse(&args[1..]) {
        Ok(nginx) => nginx,
        Err(error) => {
            eprintln!("nginx: {error}");
            return ExitCode::FAILURE;
        }
    };
    if nginx.version {
        cmd::serve::version(nginx.configure);
        if nginx.help {
            eprint!("{}", nginx_cli::usage());
        }
        if !nginx.test {
            return ExitCode::SUCCESS;
        }
    }
    if nginx.test {
        return cmd::check::run(&nginx);
    }

    // Step: serving, or a signal to the running master (the runtime's commands).
    let options = cmd::serve::ServeOptions {
        prefix: nginx.prefix(),
        conf: nginx.conf_file(),
        error_log: nginx.error_log.as_ref().map(|path| path.to_string_lossy().into_owned()),
        globals: nginx.globals.clone().unwrap_or_default(),
    };
    match nginx.signal {
        Some(signal) => cmd::signal::run(&options, signal.name()),
        None => cmd::serve::run(&options),
    }
}
