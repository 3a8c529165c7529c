//! Running `.t` files against a binary: the options, the files, and the workers that run
//! them (one file at a time each, in parallel with `-j`), with TAP printed in file order.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fs;
use std::io::Write;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc, Mutex};
use std::thread;

use crate::binary::BinaryInfo;
use crate::check::Check;
use crate::differences::{self, Differences};
use crate::error::{BailOut, Stopped};
use crate::ports;
use crate::report::{FileReport, Summary, Tap};
use crate::spec::read_spec;
use crate::worker::Worker;

/// How the first stream server's port is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PortChoice {
    /// A fixed port P (servers on P, P+1, P+2); worker k of a parallel run adds 3k.
    Fixed(u16),
    /// Free ports drawn for each worker, so that parallel runs do not clash.
    Free,
}

/// What a run needs.
#[derive(Debug, Clone)]
pub struct Options {
    /// The binary under test.
    pub binary: PathBuf,
    /// Files run at once.
    pub jobs: usize,
    /// The stream port.
    pub stream_port: PortChoice,
    /// `TEST_NGINX_*` variables (the process environment's, usually).
    pub env: BTreeMap<String, String>,
    /// Deliberate differences given by the caller; each file's nearest `differences.toml`
    /// is added to it.
    pub differences: Differences,
}

impl Options {
    /// Options from the process environment's `TEST_NGINX_*` variables: see
    /// [`Options::from_vars`].
    pub fn from_env(binary: PathBuf, jobs: usize) -> Options {
        let env = std::env::vars().filter(|(k, _)| k.starts_with("TEST_NGINX_")).collect();
        Options::from_vars(binary, jobs, env)
    }

    /// Options from `TEST_NGINX_*` variables. The stream port is Test::Nginx's:
    /// `TEST_NGINX_STREAM_PORT`, else the HTTP server port plus one (1985 by default; the
    /// second and third stream servers on the next two). Parallel workers (`jobs` > 1)
    /// need ports of their own: with `TEST_NGINX_STREAM_PORT` = P worker k takes P + 3k;
    /// without it each worker draws three free consecutive ports.
    pub fn from_vars(binary: PathBuf, jobs: usize, env: BTreeMap<String, String>) -> Options {
        let jobs = jobs.max(1);
        let given = env
            .get("TEST_NGINX_STREAM_PORT")
            .and_then(|p| p.trim().parse::<u16>().ok())
            .filter(|&p| p > 0 && p < u16::MAX - 2);
        let stream_port = match given {
            Some(port) => PortChoice::Fixed(port),
            None if jobs > 1 => PortChoice::Free,
            None => match server_port(&env).checked_add(1).filter(|&p| p < u16::MAX - 2) {
                Some(port) => PortChoice::Fixed(port),
                None => PortChoice::Free,
            },
        };
        Options { binary, jobs, stream_port, env, differences: Differences::default() }
    }
}

/// Test::Nginx's HTTP server port: `TEST_NGINX_SERVER_PORT`, else `TEST_NGINX_PORT`, else
/// 1984 (no http server runs; the port sets the stream port's default and is expanded).
pub fn server_port(env: &BTreeMap<String, String>) -> u16 {
    ["TEST_NGINX_SERVER_PORT", "TEST_NGINX_PORT"]
        .iter()
        .filter_map(|name| env.get(*name))
        .find(|value| !value.is_empty())
        .and_then(|value| value.trim().parse().ok())
        .unwrap_or(1984)
}

/// The `.t` files under `paths`: files as given, directories searched recursively, sorted;
/// none at all is an error.
pub fn collect_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, BailOut> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut found = Vec::new();
            walk(path, &mut found)?;
            found.sort();
            files.extend(found);
        } else if path.is_file() {
            files.push(path.clone());
        } else {
            return Err(BailOut::NotATestPath { path: path.clone() });
        }
    }
    if files.is_empty() {
        let paths: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
        return Err(BailOut::NoFiles(paths.join(" ")));
    }
    Ok(files)
}

fn walk(dir: &Path, found: &mut Vec<PathBuf>) -> Result<(), BailOut> {
    let entries = fs::read_dir(dir).map_err(|source| BailOut::Io {
        what: "cannot read directory",
        path: dir.into(),
        source,
    })?;
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir()
            && !path.file_name().is_some_and(|n| n.to_string_lossy().starts_with("servroot"))
        {
            walk(&path, found)?;
        } else if path.extension().is_some_and(|e| e == "t") {
            found.push(path);
        }
    }
    Ok(())
}

/// Runs `files` and writes TAP to `out`, each file's text once the file is done, in order.
///
/// A bail-out (Test::Nginx's: an undefined variable, a binary that cannot run) stops the run
/// as Test::Nginx and prove stop it: the files and blocks before it have run, their TAP is
/// written, the bailing file ends with `Bail out!` and no file starts after it; the error
/// carries the summary of what ran.
pub fn run(
    options: &Options,
    files: &[PathBuf],
    out: &mut dyn Write,
) -> Result<Summary, Box<Stopped>> {
    let info = Arc::new(BinaryInfo::probe(&options.binary, &options.env)?);
    let _ = writeln!(
        out,
        "# binary {} ({}){}",
        info.path.display(),
        info.flavour.name(),
        if info.load_modules.is_empty() {
            String::new()
        } else {
            format!(", load_module {}", info.load_modules.join(" "))
        }
    );

    // The table of differences: the given one plus each file's nearest differences.toml
    // (in its directory or the closest parent that has one), so that a block's entry applies
    // however the file is named; entries that apply to nothing are warned about.
    let mut differences = options.differences.clone();
    let tables: BTreeSet<PathBuf> =
        files.iter().filter_map(|f| differences::nearest_table(f)).collect();
    for table in &tables {
        differences.extend(Differences::load(table)?);
    }
    for warning in differences.warnings() {
        let _ = writeln!(out, "# WARNING: {warning}");
    }
    let differences = Arc::new(differences);

    // Workers take files from a queue; reports come back tagged with the file's index.
    let queue: Arc<Mutex<VecDeque<(usize, PathBuf)>>> =
        Arc::new(Mutex::new(files.iter().cloned().enumerate().collect()));
    let (sender, receiver) = mpsc::channel::<(usize, FileReport, Option<BailOut>)>();
    // Each worker's three stream ports, all known before any starts, so that no block
    // draws another worker's port as a random one.
    let mut used_ports = BTreeSet::new();
    let mut ports = Vec::new();
    for k in 0..options.jobs.min(files.len()).max(1) {
        let port = match options.stream_port {
            PortChoice::Fixed(port) => port.saturating_add(3 * k as u16),
            PortChoice::Free => ports::free_ports(3, &used_ports).map_err(BailOut::from)?,
        };
        used_ports.extend([port, port + 1, port + 2]);
        ports.push(port);
    }
    let _ = writeln!(out, "# {}", describe_ports(options.stream_port, &ports, &options.env));
    let mut handles = Vec::new();
    for (k, port) in ports.into_iter().enumerate() {
        let mut worker =
            Worker::new(options, Arc::clone(&info), Arc::clone(&differences), port, k)?;
        worker.reserve_ports(&used_ports);
        let queue = Arc::clone(&queue);
        let sender = sender.clone();
        handles.push(thread::spawn(move || {
            loop {
                let next = queue.lock().map(|mut q| q.pop_front()).unwrap_or(None);
                let Some((index, path)) = next else { break };
                // A panic in the runner fails the file instead of losing its report.
                let run = panic::catch_unwind(AssertUnwindSafe(|| worker.run_file(&path)));
                let (report, bail_out) = match run {
                    Ok(run) => run,
                    Err(payload) => (panicked_report(&path, payload.as_ref()), None),
                };
                let stop = bail_out.is_some();
                if sender.send((index, report, bail_out)).is_err() || stop {
                    break;
                }
            }
            worker.finish();
        }));
    }
    drop(sender);

    // Print in file order as reports arrive. After a bail-out no file starts; the ones
    // already running finish and are printed too, in order.
    let mut pending: BTreeMap<usize, FileReport> = BTreeMap::new();
    let mut next = 0;
    let mut summary = Summary::default();
    let mut bail = None;
    for (index, report, bail_out) in receiver {
        if let Some(reason) = bail_out {
            if let Ok(mut q) = queue.lock() {
                q.clear();
            }
            bail.get_or_insert(reason);
        }
        pending.insert(index, report);
        while let Some(report) = pending.remove(&next) {
            write_report(out, &mut summary, report);
            next += 1;
        }
    }
    for handle in handles {
        let _ = handle.join();
    }
    for (_, report) in std::mem::take(&mut pending) {
        write_report(out, &mut summary, report);
    }
    if let Some(reason) = bail {
        return Err(Box::new(Stopped { ran: summary, reason }));
    }

    // Entries of the table that matched no block of the files run are stale.
    for (file, entry) in differences.entries() {
        if entry.binary != info.flavour || !files.iter().any(|f| differences::canonical(f) == file)
        {
            continue;
        }
        let found = read_spec(file)
            .map(|s| s.blocks.iter().any(|b| b.name.trim_end() == entry.block.trim_end()))
            .unwrap_or(false);
        if !found {
            let _ = writeln!(
                out,
                "# WARNING: {}: no block {:?} in {}",
                entry.table.display(),
                entry.block,
                entry.file
            );
        }
    }
    Ok(summary)
}

/// The TAP comment naming the stream ports of each worker and where they come from.
fn describe_ports(choice: PortChoice, ports: &[u16], env: &BTreeMap<String, String>) -> String {
    let triple = |p: u16| format!("{p}-{}", p.saturating_add(2));
    let given = env.contains_key("TEST_NGINX_STREAM_PORT");
    let source = match choice {
        PortChoice::Fixed(_) if ports.len() > 1 => "the first, then 3 more per worker",
        PortChoice::Fixed(p) if given && env["TEST_NGINX_STREAM_PORT"].trim() == p.to_string() => {
            "TEST_NGINX_STREAM_PORT"
        }
        PortChoice::Fixed(_) => "Test::Nginx's default: the server port + 1",
        PortChoice::Free => "free ports, drawn per worker",
    };
    match ports {
        [port] => format!("stream ports {} ({source})", triple(*port)),
        _ => {
            let each: Vec<String> = ports
                .iter()
                .enumerate()
                .map(|(k, p)| format!("worker {}: {}", k + 1, triple(*p)))
                .collect();
            format!("stream ports {} ({source})", each.join(", "))
        }
    }
}

/// Writes one file's TAP and adds it to the summary.
fn write_report(out: &mut dyn Write, summary: &mut Summary, report: FileReport) {
    let _ = out.write_all(report.text.as_bytes());
    let _ = out.flush();
    summary.counts.add(report.counts);
    summary.files.push(report);
}

/// The report of a file whose run panicked: one failed check with the panic message.
fn panicked_report(path: &Path, payload: &(dyn std::any::Any + Send)) -> FileReport {
    let message = payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "a panic without a message".into());
    let display = path.display().to_string();
    let mut tap = Tap::new(&display);
    tap.push(&display, &Check::fail("runner", vec![format!("the runner panicked: {message}")]));
    tap.finish(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn port(jobs: usize, pairs: &[(&str, &str)]) -> PortChoice {
        Options::from_vars("nginx".into(), jobs, vars(pairs)).stream_port
    }

    /// Stream.pm: TEST_NGINX_STREAM_PORT, else the server port + 1 (1984 + 1 by default).
    #[test]
    fn the_stream_port_defaults_as_in_test_nginx() {
        assert_eq!(port(1, &[]), PortChoice::Fixed(1985));
        assert_eq!(port(1, &[("TEST_NGINX_SERVER_PORT", "2000")]), PortChoice::Fixed(2001));
        assert_eq!(port(1, &[("TEST_NGINX_PORT", "3000")]), PortChoice::Fixed(3001));
        let both = [("TEST_NGINX_SERVER_PORT", "2000"), ("TEST_NGINX_PORT", "3000")];
        assert_eq!(port(1, &both), PortChoice::Fixed(2001));
        let given = [("TEST_NGINX_STREAM_PORT", "4000"), ("TEST_NGINX_SERVER_PORT", "2000")];
        assert_eq!(port(1, &given), PortChoice::Fixed(4000));
        assert_eq!(port(1, &[("TEST_NGINX_STREAM_PORT", "x")]), PortChoice::Fixed(1985));
    }

    /// Parallel workers need ports of their own.
    #[test]
    fn parallel_workers_get_ports_of_their_own() {
        assert_eq!(port(2, &[]), PortChoice::Free);
        assert_eq!(port(4, &[("TEST_NGINX_STREAM_PORT", "4000")]), PortChoice::Fixed(4000));
        let given = vars(&[("TEST_NGINX_STREAM_PORT", "4000")]);
        assert_eq!(
            describe_ports(PortChoice::Fixed(4000), &[4000, 4003], &given),
            "stream ports worker 1: 4000-4002, worker 2: 4003-4005 \
             (the first, then 3 more per worker)"
        );
        assert_eq!(
            describe_ports(PortChoice::Fixed(4000), &[4000], &given),
            "stream ports 4000-4002 (TEST_NGINX_STREAM_PORT)"
        );
        assert_eq!(
            describe_ports(PortChoice::Fixed(1985), &[1985], &vars(&[])),
            "stream ports 1985-1987 (Test::Nginx's default: the server port + 1)"
        );
    }
}
