//! `strait-bench`: runs strait and nginx side by side on the same configurations on loopback
//! and prints one table of figures and strait/nginx ratios.
//!
//! Every scenario is bounded in time; the short mode finishes in under two minutes.

mod backend;
mod load;
mod proxy;
mod scenario;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;

/// Benchmark strait against nginx on loopback.
#[derive(Debug, Parser)]
#[command(name = "strait-bench")]
struct Args {
    /// Five rounds of 5 s per row instead of one round of 2 s.
    #[arg(long)]
    full: bool,
    /// How many rounds (strait, then nginx) each row runs; each figure is their median.
    #[arg(long)]
    rounds: Option<usize>,
    /// The strait binary (default: `strait` beside this program).
    #[arg(long)]
    strait: Option<PathBuf>,
    /// The nginx binary; the nginx column is left empty when it is absent.
    #[arg(long, default_value = "/usr/sbin/nginx")]
    nginx: PathBuf,
    /// Run only the rows whose name contains this text.
    #[arg(long)]
    only: Option<String>,
    /// The test PKI directory.
    #[arg(long, default_value = "testdata/pki")]
    pki: PathBuf,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let strait = match args.strait {
        Some(path) => path,
        None => std::env::current_exe()?.with_file_name("strait"),
    };
    let nginx = args.nginx.exists().then(|| proxy::nginx(&args.nginx));
    if nginx.is_none() {
        eprintln!(
            "NOTE: nginx not found at {}: printing strait's figures alone \
             (apt-get install nginx-extras)",
            args.nginx.display()
        );
    }
    let programs = scenario::Programs {
        strait: proxy::Program { binary: strait, preamble: String::new() },
        nginx,
    };
    let pki = std::fs::canonicalize(&args.pki).with_context(|| {
        format!("no test PKI at {} (run from the repository root)", args.pki.display())
    })?;
    let measure = Duration::from_secs(if args.full { 5 } else { 2 });
    let rounds = args.rounds.unwrap_or(if args.full { 5 } else { 1 });

    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    println!("{}", scenario::machine(&programs, rounds));
    println!("{}", scenario::Row::header());
    for spec in scenario::all() {
        if args.only.as_ref().is_some_and(|only| !spec.name.contains(only.as_str())) {
            continue;
        }
        let row = runtime.block_on(scenario::run(&spec, &programs, &pki, measure, rounds));
        print!("{row}");
    }
    Ok(())
}
