//! The load generators: a bulk reader and a short-connection loop with latencies.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Bytes read per second over `duration`, by `connections` readers, in MiB/s.
pub(crate) async fn bulk(proxy: SocketAddr, connections: usize, duration: Duration) -> f64 {
    let deadline = Instant::now() + duration;
    let readers: Vec<_> = (0..connections)
        .map(|_| {
            tokio::spawn(async move {
                let Ok(mut stream) = TcpStream::connect(proxy).await else { return 0u64 };
                let mut buffer = vec![0u8; 64 * 1024];
                let mut total = 0u64;
                while Instant::now() < deadline {
                    match stream.read(&mut buffer).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => total += n as u64,
                    }
                }
                total
            })
        })
        .collect();

    let mut total = 0u64;
    for reader in readers {
        total += reader.await.unwrap_or(0);
    }
    total as f64 / duration.as_secs_f64() / (1024.0 * 1024.0)
}

/// The outcome of a short-connection run.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Rate {
    /// Completed connections per second.
    pub(crate) per_second: f64,
    /// Median connection time (connect to close), milliseconds.
    pub p50_ms: f64,
    /// 99th percentile connection time, milliseconds.
    pub p99_ms: f64,
    /// Connections that did not get the expected reply.
    pub(crate) failed: u64,
    /// Connections completed with the expected reply.
    pub(crate) completed: u64,
}

/// `concurrency` loops each open a connection, send a request, read the reply to EOF, and
/// start again, until `duration` has passed.
pub(crate) async fn short_connections(
    proxy: SocketAddr,
    concurrency: usize,
    duration: Duration,
) -> Rate {
    let started = Instant::now();
    let deadline = started + duration;
    let loops: Vec<_> = (0..concurrency)
        .map(|_| {
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut failed = 0u64;
                while Instant::now() < deadline {
                    let begun = Instant::now();
                    if one_connection(proxy).await {
                        latencies.push(begun.elapsed());
                    } else {
                        failed += 1;
                    }
                }
                (latencies, failed)
            })
        })
        .collect();

    let mut latencies = Vec::new();
    let mut failed = 0;
    for task in loops {
        if let Ok((mut l, f)) = task.await {
            latencies.append(&mut l);
            failed += f;
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort_unstable();
    Rate {
        per_second: latencies.len() as f64 / elapsed,
        p50_ms: percentile(&latencies, 0.50),
        p99_ms: percentile(&latencies, 0.99),
        failed,
        completed: latencies.len() as u64,
    }
}

/// One request/reply exchange; true when the reply was `ok\n`.
async fn one_connection(proxy: SocketAddr) -> bool {
    let Ok(mut stream) = TcpStream::connect(proxy).await else { return false };
    let _ = stream.set_nodelay(true);
    if stream.write_all(b"ping\n").await.is_err() {
        return false;
    }
    let mut reply = Vec::with_capacity(8);
    match tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut reply)).await {
        Ok(Ok(_)) => reply == b"ok\n",
        _ => false,
    }
}

/// The `q` quantile of sorted durations, in milliseconds.
fn percentile(sorted: &[Duration], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let index = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted[index].as_secs_f64() * 1000.0
}
