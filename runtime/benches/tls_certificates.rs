//! What one upstream connection costs strait to get its client certificate and key, by kind
//! of value: a `data:` value found in the content cache, the same value parsed afresh (what
//! nginx 1.22 does per connection), and a file read per connection (cache off).
//!
//!     cargo bench -p strait-runtime --bench tls_certificates

use std::path::{Path, PathBuf};

use criterion::{criterion_group, criterion_main, Criterion};
use strait_runtime::tls::cache::ObjectCache;
use strait_runtime::tls::certificate::{load_certificate, load_key};
use strait_runtime::tls::password::Passwords;

fn pki() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/pki")
}

fn data(file: &str) -> Vec<u8> {
    let mut value = b"data:".to_vec();
    value.extend(std::fs::read(pki().join(file)).unwrap());
    value
}

fn certificates(c: &mut Criterion) {
    let cert = data("client-a.crt");
    let key = data("client-a.key");
    let none = Passwords::none();

    let cache = ObjectCache::new(&pki(), None);
    c.bench_function("data: certificate and key, cached", |b| {
        b.iter(|| {
            cache.certificate(&cert).unwrap();
            cache.key(&key, &none).unwrap();
        })
    });
    c.bench_function("data: certificate and key, parsed each time", |b| {
        b.iter(|| {
            load_certificate(&cert, &pki()).unwrap();
            load_key(&key, &pki(), &none).unwrap();
        })
    });
    c.bench_function("file certificate and key, read each time", |b| {
        b.iter(|| {
            cache.certificate(b"client-a.crt").unwrap();
            cache.key(b"client-a.key", &none).unwrap();
        })
    });
}

criterion_group!(benches, certificates);
criterion_main!(benches);
