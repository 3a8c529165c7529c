//! `strait demo`: strait doing its main job with nothing prepared. One process starts, on
//! loopback, an upstream that requires a client certificate and strait serving an embedded
//! configuration that picks the client certificate per connection (inline `data:` PEM on one
//! route, a file on the other), sends a few connections through, and prints what the upstream
//! saw for each.

use std::fmt::Write as _;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use openssl::ssl::{Ssl, SslAcceptor, SslMethod, SslVerifyMode};
use openssl::x509::X509;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::cmd::serve::ServeOptions;

/// The demo's test PKI, embedded so that the demo needs no files (testdata/pki/, test
/// material only: never use these keys for anything real).
mod pki {
    pub(super) const CA: &str = include_str!("../../testdata/pki/ca.crt");
    pub(super) const SERVER_CERT: &str = include_str!("../../testdata/pki/server.crt");
    pub(super) const SERVER_KEY: &str = include_str!("../../testdata/pki/server.key");
    pub(super) const CLIENT_A_CERT: &str = include_str!("../../testdata/pki/client-a.crt");
    pub(super) const CLIENT_A_KEY: &str = include_str!("../../testdata/pki/client-a.key");
    pub(super) const CLIENT_B_CERT: &str = include_str!("../../testdata/pki/client-b.crt");
    pub(super) const CLIENT_B_KEY: &str = include_str!("../../testdata/pki/client-b.key");
}

/// The ports the demo prefers, so that the README's lines work; free ones otherwise.
const PREFERRED_PORTS: [u16; 2] = [9101, 9102];

/// Runs the demo; with `once`, exits after printing instead of serving until Ctrl-C; with
/// `free_ports`, listens on ports the system picks instead of 9101 and 9102.
pub(crate) fn run(once: bool, free_ports: bool, dir: Option<PathBuf>) -> ExitCode {
    match demo(once, free_ports, dir) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("strait demo: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn demo(once: bool, free_ports: bool, dir: Option<PathBuf>) -> anyhow::Result<ExitCode> {
    // Step: a directory for the configuration, the file-based certificate and the logs.
    let dir = match dir {
        Some(dir) => dir,
        None => std::env::temp_dir().join(format!("strait-demo-{}", std::process::id())),
    };
    std::fs::create_dir_all(dir.join("conf")).context("creating the demo directory")?;
    std::fs::create_dir_all(dir.join("logs"))?;
    let dir = std::fs::canonicalize(&dir)?;
    write_private(&dir.join("conf/ca.crt"), pki::CA)?;
    write_private(&dir.join("conf/client-b.crt"), pki::CLIENT_B_CERT)?;
    write_private(&dir.join("conf/client-b.key"), pki::CLIENT_B_KEY)?;

    // Step: the upstream, on its own runtime, requiring a client certificate.
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build()?;
    let upstream = runtime.block_on(start_upstream())?;

    // Step: the configuration strait serves, written out for the user to start from.
    let preferred = if free_ports { [0, 0] } else { PREFERRED_PORTS };
    let ports = [listen_port(preferred[0])?, listen_port(preferred[1])?];
    let config = configuration(ports, upstream);
    std::fs::write(dir.join("conf/nginx.conf"), &config)?;
    println!(
        "strait demo: configuration written to {} (kept when the demo ends, to start from)",
        dir.join("conf/nginx.conf").display()
    );
    println!("strait demo: error log at {}", dir.join("logs/error.log").display());
    println!("strait demo: upstream (requires a client certificate) on {upstream}");
    println!();

    // Step: strait itself, serving the configuration on a thread of this process.
    let options = ServeOptions {
        prefix: dir.clone(),
        conf: PathBuf::from("conf/nginx.conf"),
        error_log: Some("logs/error.log".to_string()),
        globals: Vec::new(),
    };
    let server = std::thread::spawn(move || super::serve::run(&options));
    wait_ready(&dir.join("logs/strait.pid"), &server)?;
    println!(
        "strait demo: strait listening on 127.0.0.1:{} (client-a, data: PEM) and \
         127.0.0.1:{} (client-b, a file)",
        ports[0], ports[1]
    );

    // Step: a few connections through each route, and what the upstream saw.
    for (port, route) in [(ports[0], "data: route"), (ports[1], "file route")] {
        for n in 1..=2 {
            let reply = runtime.block_on(exchange(port, &format!("hello {n} via the {route}\n")));
            print!(
                "  -> 127.0.0.1:{port} ({route}): {}",
                reply.unwrap_or_else(|e| format!("{e:#}\n"))
            );
        }
    }
    println!();
    if once {
        return Ok(ExitCode::SUCCESS);
    }

    // Step: keep serving until Ctrl-C (strait's own SIGINT handling stops it).
    println!("strait demo: try it yourself, then press Ctrl-C to stop:");
    println!("  printf 'hi\\n' | nc 127.0.0.1 {}", ports[0]);
    println!("  printf 'hi\\n' | nc 127.0.0.1 {}", ports[1]);
    let code = server.join().unwrap_or(ExitCode::FAILURE);
    Ok(code)
}

/// The embedded configuration: one server, two listeners, the client certificate chosen per
/// connection by `$server_port`.
fn configuration(ports: [u16; 2], upstream: SocketAddr) -> String {
    let mut config = String::new();
    let _ = write!(
        config,
        "# strait demo: upstream mutual TLS with the client certificate chosen per connection.\n\
         daemon off;\nworker_processes 1;\npid logs/strait.pid;\nerror_log logs/error.log info;\n\
         events {{ }}\n\nstream {{\n\
         \x20   # Port {a} presents client-a, inline; port {b} presents client-b, from a file.\n\
         \x20   map $server_port $client_cert {{\n\
         \x20       {a} \"data:{a_cert}\";\n\
         \x20       {b} client-b.crt;\n\
         \x20   }}\n\
         \x20   map $server_port $client_key {{\n\
         \x20       {a} \"data:{a_key}\";\n\
         \x20       {b} client-b.key;\n\
         \x20   }}\n\n\
         \x20   server {{\n\
         \x20       listen 127.0.0.1:{a};\n\
         \x20       listen 127.0.0.1:{b};\n\
         \x20       proxy_pass {upstream};\n\
         \x20       proxy_ssl on;\n\
         \x20       proxy_ssl_verify on;\n\
         \x20       proxy_ssl_trusted_certificate ca.crt;\n\
         \x20       proxy_ssl_name localhost;\n\
         \x20       proxy_ssl_certificate $client_cert;\n\
         \x20       proxy_ssl_certificate_key $client_key;\n\
         \x20   }}\n}}\n",
        a = ports[0],
        b = ports[1],
        a_cert = pki::CLIENT_A_CERT.trim_end(),
        a_key = pki::CLIENT_A_KEY.trim_end(),
    );
    config
}

/// Starts the mTLS upstream: it requires a certificate signed by the demo CA and answers each
/// connection with the subject it saw and the line it was sent.
async fn start_upstream() -> anyhow::Result<SocketAddr> {
    let mut builder = SslAcceptor::mozilla_intermediate_v5(SslMethod::tls())?;
    let certificate = X509::from_pem(pki::SERVER_CERT.as_bytes())?;
    let key = openssl::pkey::PKey::private_key_from_pem(pki::SERVER_KEY.as_bytes())?;
    builder.set_certificate(&certificate)?;
    builder.set_private_key(&key)?;
    builder.cert_store_mut().add_cert(X509::from_pem(pki::CA.as_bytes())?)?;
    builder.set_verify(SslVerifyMode::PEER | SslVerifyMode::FAIL_IF_NO_PEER_CERT);
    // Resumed sessions (strait reuses them per client identity) need a session id context.
    builder.set_session_id_context(b"strait-demo")?;
    let acceptor = Arc::new(builder.build());

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(ssl) = Ssl::new(acceptor.context()) else { return };
                let Ok(mut tls) = tokio_openssl::SslStream::new(ssl, stream) else { return };
                if Pin::new(&mut tls).accept().await.is_err() {
                    return;
                }
                let subject = tls
                    .ssl()
                    .peer_certificate()
                    .map(|cert| subject_line(&cert))
                    .unwrap_or_else(|| "no certificate".to_string());
                let mut line = [0u8; 256];
                let n = tls.read(&mut line).await.unwrap_or(0);
                let sent = String::from_utf8_lossy(&line[..n]).trim_end().to_string();
                let reply = format!("upstream saw client certificate {subject}; got {sent:?}\n");
                let _ = tls.write_all(reply.as_bytes()).await;
                let _ = tls.shutdown().await;
            });
        }
    });
    Ok(addr)
}

/// `CN=client-a, OU=clients, ...` for the peer's subject.
fn subject_line(cert: &X509) -> String {
    let mut parts: Vec<String> = cert
        .subject_name()
        .entries()
        .map(|entry| {
            let key = entry.object().nid().short_name().unwrap_or("?");
            let value = String::from_utf8_lossy(entry.data().as_slice()).into_owned();
            format!("{key}={value}")
        })
        .collect();
    parts.reverse();
    parts.join(", ")
}

/// Sends `line` to strait on `port` and reads the reply to the end.
async fn exchange(port: u16, line: &str) -> anyhow::Result<String> {
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
    stream.write_all(line.as_bytes()).await?;
    let mut reply = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut reply))
        .await
        .context("no reply within 5 s")??;
    if reply.is_empty() {
        anyhow::bail!("the connection closed without a reply (see the error log)");
    }
    Ok(String::from_utf8_lossy(&reply).into_owned())
}

/// `preferred` when it is non-zero and free on 127.0.0.1, else any free port.
fn listen_port(preferred: u16) -> anyhow::Result<u16> {
    if preferred != 0 && TcpListener::bind(("127.0.0.1", preferred)).is_ok() {
        return Ok(preferred);
    }
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Waits for strait's pid file (written once every listener is bound).
fn wait_ready(pid_file: &Path, server: &std::thread::JoinHandle<ExitCode>) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if pid_file.exists() {
            return Ok(());
        }
        if server.is_finished() {
            anyhow::bail!("strait stopped at startup: see the messages above");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    anyhow::bail!("strait did not start within 10 s")
}

/// Writes a file readable by its owner only (it may hold a private key).
fn write_private(path: &Path, content: &str) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("writing {}", path.display()))?;
    file.write_all(content.as_bytes())?;
    Ok(())
}
