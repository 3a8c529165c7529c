//! End-to-end checks of the TLS pieces over loopback: strait's acceptor as an mTLS upstream,
//! strait's connector as the client, with per-connection certificates and session reuse.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::acceptor::{ServerTls, ServerTlsError, ServerTlsSettings, SessionCache, VerifyClient};
use super::cache::ObjectCache;
use super::connector::{
    ClientCertificate, NoCertificate, UpstreamHandshake, UpstreamTls, UpstreamTlsError,
    UpstreamTlsSettings,
};
use super::variables;

fn pki() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/pki")
}

/// An mTLS upstream answering `$ssl_client_s_dn|$ssl_server_name|$ssl_session_reused` or the
/// failure text, for `n` connections.
async fn upstream(server_cert: &str, n: usize) -> (String, tokio::task::JoinHandle<Vec<String>>) {
    let settings = ServerTlsSettings {
        certificates: vec![(
            format!("{server_cert}.crt").into_bytes(),
            format!("{server_cert}.key").into_bytes(),
        )],
        verify_client: VerifyClient::Optional,
        client_certificate: Some(pki().join("ca.crt")),
        verify_depth: 2,
        session_cache: SessionCache::Sessions(100),
        ..Default::default()
    };
    let server = ServerTls::build(&settings, &pki()).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let objects = Arc::new(ObjectCache::new(&pki(), None));
    let task = tokio::spawn(async move {
        let mut seen = Vec::new();
        for _ in 0..n {
            let (tcp, _) = listener.accept().await.unwrap();
            match server.accept(tcp, None, &objects).await {
                Ok(mut tls) => {
                    let get = |name| {
                        let value = variables::value(tls.ssl(), name).unwrap_or_default();
                        String::from_utf8(value).unwrap()
                    };
                    let answer = format!(
                        "{}|{}|{}",
                        get("ssl_client_s_dn"),
                        get("ssl_server_name"),
                        get("ssl_session_reused")
                    );
                    tls.write_all(answer.as_bytes()).await.unwrap();
                    tls.shutdown().await.ok();
                    seen.push(answer);
                }
                Err(e) => seen.push(format!("error: {e}")),
            }
        }
        seen
    });
    (addr, task)
}

async fn exchange(
    connector: &UpstreamTls,
    addr: &str,
    name: &[u8],
    certificate: ClientCertificate<'_>,
    objects: &ObjectCache,
) -> Result<String, UpstreamTlsError> {
    let tcp = TcpStream::connect(addr).await.unwrap();
    let hs = UpstreamHandshake { peer: addr, name, server_name: true, certificate };
    let mut tls = connector.connect(tcp, &hs, objects).await?;
    let mut answer = String::new();
    tls.read_to_string(&mut answer).await.ok();
    Ok(answer)
}

fn data(file: &str) -> Vec<u8> {
    let mut v = b"data:".to_vec();
    v.extend(std::fs::read(pki().join(file)).unwrap());
    v
}

#[tokio::test]
async fn per_connection_certificates_never_share_sessions() {
    let (addr, task) = upstream("server", 5).await;
    let connector = UpstreamTls::build(&UpstreamTlsSettings::default(), &pki()).unwrap();
    let objects = ObjectCache::new(&pki(), None);
    let a = ClientCertificate::Evaluated { certificate: b"client-a.crt", key: b"client-a.key" };
    let b_cert = data("client-b.crt");
    let b_key = data("client-b.key");
    let b = ClientCertificate::Evaluated { certificate: &b_cert, key: &b_key };
    let none = ClientCertificate::None(NoCertificate::EmptyValue);

    let first = exchange(&connector, &addr, b"upstream.test:443", a, &objects).await.unwrap();
    let second = exchange(&connector, &addr, b"upstream.test", b, &objects).await.unwrap();
    let third = exchange(&connector, &addr, b"upstream.test", none, &objects).await.unwrap();
    let again = exchange(&connector, &addr, b"upstream.test", a, &objects).await.unwrap();
    let ip = exchange(&connector, &addr, b"127.0.0.1", none, &objects).await.unwrap();
    task.await.unwrap();

    assert_eq!(first, "CN=client-a,OU=clients,O=strait test,C=US|upstream.test|.");
    assert_eq!(second, "CN=client-b,OU=clients,O=strait test,C=US|upstream.test|.");
    assert_eq!(third, "|upstream.test|.");
    // The same identity, peer and name again: the session of the first connection resumes.
    assert_eq!(again, "CN=client-a,OU=clients,O=strait test,C=US|upstream.test|r");
    // Never an IP literal as SNI.
    assert_eq!(ip, "||.");
}

#[tokio::test]
async fn load_failures_are_not_next_upstream() {
    let connector = UpstreamTls::build(&UpstreamTlsSettings::default(), &pki()).unwrap();
    let objects = ObjectCache::new(&pki(), None);
    let hs = UpstreamHandshake {
        peer: "127.0.0.1:1",
        name: b"x",
        server_name: false,
        certificate: ClientCertificate::Evaluated { certificate: b"data:junk", key: b"data:junk" },
    };
    let err = connector.prepare(&hs, &objects).unwrap_err();
    assert!(!err.is_next_upstream());
    assert_eq!(err.status(), 500);
    assert!(err.to_string().starts_with("cannot load certificate \"data:sha256:"), "{err}");

    let missing = UpstreamHandshake {
        certificate: ClientCertificate::Evaluated {
            certificate: b"missing.crt",
            key: b"client-a.key",
        },
        ..hs
    };
    let err = connector.prepare(&missing, &objects).unwrap_err();
    assert_eq!(err.action(), "connecting to upstream");
    assert!(err.to_string().contains("missing.crt\": BIO_new_file() failed"), "{err}");
}

#[tokio::test]
async fn verification_failures_read_like_nginx() {
    let verify = |trusted: &str| UpstreamTlsSettings {
        verify: true,
        verify_depth: 2,
        trusted_certificate: Some(pki().join(trusted)),
        ..Default::default()
    };
    let objects = ObjectCache::new(&pki(), None);
    let none = ClientCertificate::None(NoCertificate::NotConfigured);

    // Wrong CA.
    let (addr, task) = upstream("server", 1).await;
    let connector = UpstreamTls::build(&verify("ca2.crt"), &pki()).unwrap();
    let err = exchange(&connector, &addr, b"upstream.test", none, &objects).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "upstream SSL certificate verify error: (21:unable to verify the first certificate)"
    );
    assert!(err.is_next_upstream());
    task.abort();

    // Name mismatch.
    let (addr, task) = upstream("mismatch", 1).await;
    let connector = UpstreamTls::build(&verify("ca.crt"), &pki()).unwrap();
    let err = exchange(&connector, &addr, b"upstream.test:9000", none, &objects).await.unwrap_err();
    assert_eq!(err.to_string(), "upstream SSL certificate does not match \"upstream.test\"");
    task.abort();

    // The right CA and name.
    let (addr, task) = upstream("server", 1).await;
    let answer = exchange(&connector, &addr, b"upstream.test", none, &objects).await.unwrap();
    assert_eq!(answer, "|upstream.test|.");
    task.await.unwrap();
}

#[tokio::test]
async fn encrypted_key_with_password_file_and_static_certificate() {
    let (addr, task) = upstream("server", 2).await;
    let objects = ObjectCache::new(&pki(), None);
    let settings =
        UpstreamTlsSettings { password_file: Some(pki().join("password")), ..Default::default() };
    let connector = UpstreamTls::build(&settings, &pki()).unwrap();
    let enc =
        ClientCertificate::Evaluated { certificate: b"client-enc.crt", key: b"client-enc.key" };
    let answer = exchange(&connector, &addr, b"upstream.test", enc, &objects).await.unwrap();
    assert!(answer.starts_with("CN=client-enc,O=strait test|"), "{answer}");

    let settings = UpstreamTlsSettings {
        static_certificate: Some((b"client-c-chain.crt".to_vec(), b"client-c.key".to_vec())),
        ..Default::default()
    };
    let connector = UpstreamTls::build(&settings, &pki()).unwrap();
    let answer = exchange(&connector, &addr, b"upstream.test", ClientCertificate::Static, &objects)
        .await
        .unwrap();
    // client-c is issued by the intermediate; the chain lets the upstream verify it.
    assert!(answer.starts_with("CN=client-c,O=strait test|"), "{answer}");
    task.await.unwrap();
}

#[tokio::test]
async fn required_client_certificate() {
    let settings = ServerTlsSettings {
        certificates: vec![(b"server.crt".to_vec(), b"server.key".to_vec())],
        verify_client: VerifyClient::On,
        client_certificate: Some(pki().join("ca.crt")),
        ..Default::default()
    };
    let server = ServerTls::build(&settings, &pki()).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let objects = Arc::new(ObjectCache::new(&pki(), None));
    let task = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        server.accept(tcp, None, &objects).await.map(|_| ()).unwrap_err()
    });
    let connector = UpstreamTls::build(&UpstreamTlsSettings::default(), &pki()).unwrap();
    let none = ClientCertificate::None(NoCertificate::EmptyValue);
    let _ = exchange(&connector, &addr, b"localhost", none, &ObjectCache::new(&pki(), None)).await;
    let err = task.await.unwrap();
    assert!(matches!(err, ServerTlsError::NoClientCertificate));
    assert_eq!(err.to_string(), "client sent no required SSL certificate");
    assert_eq!(err.status(), 500);
}
