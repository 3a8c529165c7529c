//! The upstreams the benchmark proxies to, served in-process on 127.0.0.1:0.

use std::net::SocketAddr;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;

use anyhow::Context;
use openssl::ssl::{SslAcceptor, SslFiletype, SslMethod, SslVerifyMode};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What an upstream does with each connection.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Behaviour {
    /// Writes 64 KiB chunks until the client goes away (bulk download).
    Source,
    /// Reads one request, writes a short reply and closes (short connections).
    Reply,
}

/// Binds a plain TCP upstream and serves it on the current runtime.
pub(crate) async fn plain(behaviour: Behaviour) -> anyhow::Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(serve(stream, behaviour));
        }
    });
    Ok(addr)
}

/// Binds a TLS upstream that requires a client certificate signed by the test CA and answers
/// each connection with a short reply; with `resume`, it resumes sessions (TLS 1.3 tickets).
pub(crate) async fn mutual_tls(pki: &Path, resume: bool) -> anyhow::Result<SocketAddr> {
    let acceptor = Arc::new(mtls_acceptor(pki, resume)?);
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(ssl) = openssl::ssl::Ssl::new(acceptor.context()) else { return };
                let Ok(mut tls) = tokio_openssl::SslStream::new(ssl, stream) else { return };
                if Pin::new(&mut tls).accept().await.is_err() {
                    return;
                }
                let mut request = [0u8; 64];
                if tls.read(&mut request).await.unwrap_or(0) == 0 {
                    return;
                }
                let _ = tls.write_all(b"ok\n").await;
                let _ = tls.shutdown().await;
            });
        }
    });
    Ok(addr)
}

/// An acceptor that demands a client certificate. Its own certificate is ECDSA, so that the
/// upstream's share of each handshake stays small beside the proxy's (which signs with the
/// RSA client key): the rows then measure the proxy.
fn mtls_acceptor(pki: &Path, resume: bool) -> anyhow::Result<SslAcceptor> {
    let mut builder = SslAcceptor::mozilla_intermediate_v5(SslMethod::tls())?;
    builder.set_certificate_chain_file(pki.join("server-ecdsa.crt")).context("server-ecdsa.crt")?;
    builder
        .set_private_key_file(pki.join("server-ecdsa.key"), SslFiletype::PEM)
        .context("server-ecdsa.key")?;
    builder.set_ca_file(pki.join("ca.crt")).context("ca.crt")?;
    builder.set_verify(SslVerifyMode::PEER | SslVerifyMode::FAIL_IF_NO_PEER_CERT);
    if resume {
        // A session made with one client certificate resumes with that certificate.
        builder.set_session_id_context(b"strait-bench")?;
    } else {
        // Every connection is a full handshake: the rows measure certificate handling.
        builder.set_session_cache_mode(openssl::ssl::SslSessionCacheMode::OFF);
        builder.set_options(openssl::ssl::SslOptions::NO_TICKET);
    }
    Ok(builder.build())
}

/// Serves one plain connection according to `behaviour`.
async fn serve(mut stream: TcpStream, behaviour: Behaviour) {
    let _ = stream.set_nodelay(true);
    match behaviour {
        Behaviour::Source => {
            let chunk = vec![b'x'; 64 * 1024];
            while stream.write_all(&chunk).await.is_ok() {}
        }
        Behaviour::Reply => {
            let mut request = [0u8; 64];
            if stream.read(&mut request).await.unwrap_or(0) > 0 {
                let _ = stream.write_all(b"ok\n").await;
            }
        }
    }
}
