//! The benchmark's scenarios: what each row configures, how it is measured, and the table.

use std::fmt;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use crate::backend::{self, Behaviour};
use crate::load;
use crate::proxy::{Program, Proxy};

/// The programs a run compares.
#[derive(Debug)]
pub(crate) struct Programs {
    /// strait, always measured.
    pub(crate) strait: Program,
    /// nginx, when installed.
    pub(crate) nginx: Option<Program>,
}

/// How a row loads the proxy.
#[derive(Debug, Clone, Copy)]
enum Load {
    /// Four connections reading a bulk download through the proxy.
    Bulk,
    /// 32 loops of short connections (request, reply, close).
    Short,
}

/// Where the proxy's client certificate comes from, for mTLS rows.
#[derive(Debug, Clone, Copy)]
enum ClientCertificate {
    /// Plain TCP to the upstream.
    None,
    /// `proxy_ssl_certificate FILE;` loaded at startup.
    Static,
    /// `proxy_ssl_certificate $var;` naming a file.
    VariableFile,
    /// `proxy_ssl_certificate $var;` holding `data:` PEM.
    VariableData,
}

/// One row of the table.
#[derive(Debug)]
pub(crate) struct Spec {
    /// The row's name.
    pub(crate) name: &'static str,
    workers: usize,
    load: Load,
    certificate: ClientCertificate,
    /// `proxy_ssl_certificate_cache max=1000;` (nginx >= 1.27.4; 1.22 rejects it).
    cache: bool,
    /// `proxy_ssl_session_reuse on` (nginx's default) against an upstream that resumes
    /// sessions; otherwise every connection is a full handshake.
    session_reuse: bool,
}

/// Every row, in table order.
pub(crate) fn all() -> Vec<Spec> {
    use ClientCertificate as C;
    let row = |name, workers, load, certificate, cache| Spec {
        name,
        workers,
        load,
        certificate,
        cache,
        session_reuse: false,
    };
    let resumed = |name, certificate| Spec {
        session_reuse: true,
        ..row(name, 1, Load::Short, certificate, false)
    };
    vec![
        row("tcp bulk, 1 worker", 1, Load::Bulk, C::None, false),
        row("tcp bulk, 2 workers", 2, Load::Bulk, C::None, false),
        row("tcp short conns, 1 worker", 1, Load::Short, C::None, false),
        row("tcp short conns, 2 workers", 2, Load::Short, C::None, false),
        row("mtls static cert", 1, Load::Short, C::Static, false),
        row("mtls $var file, cache off", 1, Load::Short, C::VariableFile, false),
        row("mtls $var file, cache on", 1, Load::Short, C::VariableFile, true),
        row("mtls $var data:, cache off", 1, Load::Short, C::VariableData, false),
        row("mtls $var data:, cache on", 1, Load::Short, C::VariableData, true),
        resumed("mtls static cert, reuse", C::Static),
        resumed("mtls $var file, reuse", C::VariableFile),
        resumed("mtls $var data:, reuse", C::VariableData),
    ]
}

/// The measured figures of one program in one row.
#[derive(Debug, Clone, Copy)]
enum Figures {
    /// MiB/s, and the proxy's CPU microseconds per MiB moved.
    Throughput(f64, f64),
    /// Short-connection figures, and the proxy's CPU microseconds per connection.
    Rate(load::Rate, f64),
}

/// A finished row: the spec's name and each program's figures or why there are none.
#[derive(Debug)]
pub(crate) struct Row {
    name: &'static str,
    strait: Result<Figures, String>,
    nginx: Result<Figures, String>,
}

/// Runs one row on strait and, when installed, on nginx, `rounds` times in turn (strait,
/// nginx, strait, ...), so that both meet the same drift of a shared machine; each figure is
/// the median of its rounds.
pub(crate) async fn run(
    spec: &Spec,
    programs: &Programs,
    pki: &Path,
    measure: Duration,
    rounds: usize,
) -> Row {
    let mut strait = Vec::new();
    let mut nginx = Vec::new();
    for _ in 0..rounds.max(1) {
        strait.push(measure_one(spec, &programs.strait, pki, measure).await);
        nginx.push(match &programs.nginx {
            None => Err("not installed".to_string()),
            Some(_) if spec.cache => Err("n/a (1.22 lacks the cache)".to_string()),
            Some(nginx) => measure_one(spec, nginx, pki, measure).await,
        });
    }
    Row { name: spec.name, strait: median(strait), nginx: median(nginx) }
}

/// The median of each figure over the rounds; the first failure when a round failed.
fn median(rounds: Vec<Result<Figures, String>>) -> Result<Figures, String> {
    let figures: Vec<Figures> = rounds.into_iter().collect::<Result<_, _>>()?;
    let middle = |mut values: Vec<f64>| {
        values.sort_by(f64::total_cmp);
        values[values.len() / 2]
    };
    let pick = |get: fn(&Figures) -> f64| middle(figures.iter().map(get).collect());
    Ok(match figures[0] {
        Figures::Throughput(..) => Figures::Throughput(
            pick(|f| if let Figures::Throughput(t, _) = f { *t } else { f64::NAN }),
            pick(|f| if let Figures::Throughput(_, cpu) = f { *cpu } else { f64::NAN }),
        ),
        Figures::Rate(first, _) => Figures::Rate(
            load::Rate {
                per_second: pick(|f| rate(f).per_second),
                p50_ms: pick(|f| rate(f).p50_ms),
                p99_ms: pick(|f| rate(f).p99_ms),
                failed: figures.iter().map(|f| rate(f).failed).sum(),
                completed: first.completed,
            },
            pick(|f| if let Figures::Rate(_, cpu) = f { *cpu } else { f64::NAN }),
        ),
    })
}

/// Starts the upstream and the proxy for `spec`, warms up for half a second, measures.
async fn measure_one(
    spec: &Spec,
    program: &Program,
    pki: &Path,
    measure: Duration,
) -> Result<Figures, String> {
    let upstream = match (spec.certificate, spec.load) {
        (ClientCertificate::None, Load::Bulk) => backend::plain(Behaviour::Source).await,
        (ClientCertificate::None, Load::Short) => backend::plain(Behaviour::Reply).await,
        _ => backend::mutual_tls(pki, spec.session_reuse).await,
    }
    .map_err(|e| format!("upstream: {e:#}"))?;
    let servers = server_block(spec, upstream, pki).map_err(|e| format!("{e:#}"))?;

    // One-worker rows measure the proxy alone: it gets CPU 0, this process (clients and
    // upstreams) the others. Two-worker rows share every CPU.
    let pinned = spec.workers == 1 && cpus() >= 2;
    pin_self(if pinned { "1-63" } else { "0-63" });
    let proxy_cpus = pinned.then_some("0");
    let proxy =
        tokio::task::block_in_place(|| Proxy::start(program, spec.workers, &servers, proxy_cpus))
            .map_err(|e| format!("{e:#}"))?;

    // The proxy's CPU time is read around the measured window only (not the warm-up).
    let figures = match spec.load {
        Load::Bulk => {
            load::bulk(proxy.addr, 4, Duration::from_millis(500)).await;
            let cpu = proxy.cpu_ns();
            let throughput = load::bulk(proxy.addr, 4, measure).await;
            let cpu = (proxy.cpu_ns() - cpu) as f64 / 1000.0;
            Figures::Throughput(throughput, cpu / (throughput * measure.as_secs_f64()))
        }
        Load::Short => {
            load::short_connections(proxy.addr, 32, Duration::from_millis(500)).await;
            let cpu = proxy.cpu_ns();
            let rate = load::short_connections(proxy.addr, 32, measure).await;
            let cpu = (proxy.cpu_ns() - cpu) as f64 / 1000.0;
            if rate.failed > 0 && rate.per_second == 0.0 {
                let log: String = proxy.error_log().lines().take(3).collect::<Vec<_>>().join(" | ");
                return Err(format!("every connection failed: {log}"));
            }
            Figures::Rate(rate, cpu / rate.completed.max(1) as f64)
        }
    };
    tokio::task::block_in_place(|| drop(proxy));
    Ok(figures)
}

/// How many CPUs this machine has.
pub(crate) fn cpus() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
}

/// Moves every thread of this process to `list` (taskset syntax); without taskset, nothing.
fn pin_self(list: &str) {
    let _ = std::process::Command::new("taskset")
        .args(["-a", "-p", "-c", list, &std::process::id().to_string()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status();
}

/// The `server {}` (and `map {}`) text of a row, `{PORT}` standing for the listen port.
fn server_block(spec: &Spec, upstream: SocketAddr, pki: &Path) -> anyhow::Result<String> {
    let pki = pki.display();
    let mut maps = String::new();
    let mut ssl = String::new();
    let (certificate, key) = match spec.certificate {
        ClientCertificate::None => (None, None),
        ClientCertificate::Static => {
            (Some(format!("{pki}/client-a.crt")), Some(format!("{pki}/client-a.key")))
        }
        ClientCertificate::VariableFile => {
            maps.push_str(&format!(
                "map $server_port $client_cert {{ default {pki}/client-a.crt; }}\n\
                 map $server_port $client_key {{ default {pki}/client-a.key; }}\n"
            ));
            (Some("$client_cert".to_string()), Some("$client_key".to_string()))
        }
        ClientCertificate::VariableData => {
            let cert = std::fs::read_to_string(format!("{pki}/client-a.crt"))?;
            let key = std::fs::read_to_string(format!("{pki}/client-a.key"))?;
            maps.push_str(&format!(
                "map $server_port $client_cert {{ default \"data:{cert}\"; }}\n\
                 map $server_port $client_key {{ default \"data:{key}\"; }}\n"
            ));
            (Some("$client_cert".to_string()), Some("$client_key".to_string()))
        }
    };
    if let (Some(certificate), Some(key)) = (certificate, key) {
        let reuse = if spec.session_reuse { "on" } else { "off" };
        ssl = format!(
            "    proxy_ssl on;\n    proxy_ssl_session_reuse {reuse};\n    proxy_ssl_verify on;\n\
             \x20   proxy_ssl_protocols TLSv1.2 TLSv1.3;\n\
             \x20   proxy_ssl_trusted_certificate {pki}/ca.crt;\n    proxy_ssl_name localhost;\n\
             \x20   proxy_ssl_certificate {certificate};\n    proxy_ssl_certificate_key {key};\n"
        );
        if spec.cache {
            ssl.push_str("    proxy_ssl_certificate_cache max=1000;\n");
        }
    }
    Ok(format!(
        "{maps}server {{\n    listen 127.0.0.1:{{PORT}};\n    proxy_pass {upstream};\n{ssl}}}\n"
    ))
}

/// The first line of the report: what machine and which versions.
pub(crate) fn machine(programs: &Programs, rounds: usize) -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split_once(':').map(|(_, v)| v.trim().to_string()).unwrap_or_default())
        })
        .unwrap_or_else(|| "unknown CPU".to_string());
    let cores = cpus();
    let nginx = programs.nginx.as_ref().map(|n| version(&n.binary)).unwrap_or_default();
    format!(
        "machine: {cpu}, {cores} cores; strait: {}; nginx: {}\n\
         1-worker rows: the proxy pinned to CPU 0, clients and upstreams to the other CPUs\n\
         each figure: {}",
        programs.strait.binary.display(),
        if nginx.is_empty() { "not installed".to_string() } else { nginx },
        if rounds > 1 {
            format!("the median of {rounds} rounds, strait and nginx measured in turn")
        } else {
            "one round (--full or --rounds N give medians)".to_string()
        }
    )
}

/// The `nginx version:` line of `BIN -v`.
fn version(binary: &Path) -> String {
    std::process::Command::new(binary)
        .arg("-v")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stderr).trim().to_string())
        .unwrap_or_default()
}

impl Row {
    /// The table's header line.
    pub(crate) fn header() -> String {
        format!(
            "{:<30} {:<10} {:>12} {:>12} {:>14}",
            "scenario", "metric", "strait", "nginx", "strait/nginx"
        )
    }
}

impl fmt::Display for Row {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let metrics: Vec<(&str, Metric)> = match (&self.strait, &self.nginx) {
            (Ok(Figures::Throughput(..)), _) | (_, Ok(Figures::Throughput(..))) => vec![
                ("MiB/s", |f| match f {
                    Figures::Throughput(t, _) => *t,
                    Figures::Rate(..) => f64::NAN,
                }),
                ("cpu us/MiB", |f| match f {
                    Figures::Throughput(_, cpu) => *cpu,
                    Figures::Rate(..) => f64::NAN,
                }),
            ],
            _ => vec![
                ("conn/s", |f| rate(f).per_second),
                ("p50 ms", |f| rate(f).p50_ms),
                ("p99 ms", |f| rate(f).p99_ms),
                ("cpu us/conn", |f| match f {
                    Figures::Rate(_, cpu) => *cpu,
                    Figures::Throughput(..) => f64::NAN,
                }),
            ],
        };
        for (index, (metric, get)) in metrics.iter().enumerate() {
            let name = if index == 0 { self.name } else { "" };
            let strait = self.strait.as_ref().map(get);
            let nginx = self.nginx.as_ref().map(get);
            let ratio = match (&strait, &nginx) {
                (Ok(s), Ok(n)) if *n > 0.0 => format!("{:.2}", s / n),
                _ => "-".to_string(),
            };
            writeln!(
                f,
                "{name:<30} {metric:<10} {:>12} {:>12} {ratio:>14}",
                cell(&strait),
                cell(&nginx)
            )?;
        }
        for (label, outcome) in [("strait", &self.strait), ("nginx", &self.nginx)] {
            if let Err(why) = outcome {
                if why != "not installed" {
                    writeln!(f, "    {label}: {why}")?;
                }
            }
        }
        Ok(())
    }
}

/// Reads one figure out of a program's results.
type Metric = fn(&Figures) -> f64;

/// The short-connection figures of `f` (rows of that kind only have them).
fn rate(f: &Figures) -> load::Rate {
    match f {
        Figures::Rate(rate, _) => *rate,
        Figures::Throughput(..) => load::Rate {
            per_second: f64::NAN,
            p50_ms: f64::NAN,
            p99_ms: f64::NAN,
            failed: 0,
            completed: 0,
        },
    }
}

/// A table cell: the figure, or a short reason.
fn cell(value: &Result<f64, &String>) -> String {
    match value {
        Ok(v) => format!("{v:.1}"),
        Err(why) if why.starts_with("n/a") => "n/a".to_string(),
        Err(why) if why.starts_with("not installed") => "absent".to_string(),
        Err(_) => "failed".to_string(),
    }
}
