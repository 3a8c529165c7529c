//! `strait prove`: runs Test::Nginx-style `.t` suites (default `t/`) against strait, or
//! against any nginx-compatible binary with `--binary`, and prints TAP with a closing count.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use strait_harness::{collect_files, run, Options};

/// What `strait help prove` says after the options: the ports, as Test::Nginx chooses them.
const PORTS_HELP: &str = "\
Stream ports (as Test::Nginx::Socket::Lua::Stream):
  the first stream server listens on TEST_NGINX_STREAM_PORT, else on the HTTP server port
  plus one (TEST_NGINX_SERVER_PORT, else TEST_NGINX_PORT, else 1984): 1985 by default;
  the second and third servers on the next two ports (1986, 1987).
  With -j N (N > 1) each worker needs ports of its own: with TEST_NGINX_STREAM_PORT=P
  worker k (from 0) takes P + 3k; without it each worker draws three free ports.
Free ports (those, and TEST_NGINX_RAND_PORT_N) come from 20000 up, outside the kernel's
  ephemeral range (net.ipv4.ip_local_port_range), so that no client connection takes one
  before its server binds it.
Other TEST_NGINX_* variables come from the environment.";

/// `strait prove [--binary PATH] [-j N] [FILES or DIRS]`.
#[derive(Debug, clap::Args)]
#[command(after_help = PORTS_HELP)]
pub(crate) struct ProveArgs {
    /// The binary under test (default: this strait); e.g. /usr/sbin/nginx.
    #[arg(long, value_name = "PATH")]
    binary: Option<PathBuf>,
    /// How many files run at once, each with its own server root and ports (see below).
    #[arg(short = 'j', long = "jobs", value_name = "N", default_value_t = 1)]
    jobs: usize,
    /// `.t` files or directories searched for them (default: t/).
    #[arg(value_name = "FILES or DIRS")]
    paths: Vec<PathBuf>,
}

/// Runs `strait prove`: exit status 0 when every check passed, 1 on a failed check, 2 when
/// the run could not be done.
pub(crate) fn run_prove(args: ProveArgs) -> ExitCode {
    // The binary: --binary, else this executable.
    let binary = match args.binary.or_else(|| std::env::current_exe().ok()) {
        Some(binary) => binary,
        None => {
            eprintln!("strait prove: cannot find the strait executable; give --binary");
            return ExitCode::from(2);
        }
    };
    let paths = if args.paths.is_empty() { vec![PathBuf::from("t")] } else { args.paths };

    // Run and print the closing count.
    let files = match collect_files(&paths) {
        Ok(files) => files,
        Err(e) => {
            eprintln!("strait prove: {e}");
            return ExitCode::from(2);
        }
    };
    let options = Options::from_env(binary, args.jobs);
    let mut stdout = std::io::stdout();
    match run(&options, &files, &mut stdout) {
        Ok(summary) => {
            let _ = writeln!(stdout, "{}", summary.closing_line());
            if summary.counts.failed > 0 {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            }
        }
        // A bail-out: what ran is counted, then prove's last words.
        Err(stopped) => {
            let _ = writeln!(stdout, "{}", stopped.closing_line());
            let _ = stdout.flush();
            eprintln!("FAILED--Further testing stopped: {}", stopped.reason);
            ExitCode::from(2)
        }
    }
}
