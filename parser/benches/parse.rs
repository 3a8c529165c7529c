//! Parser throughput: a generated ~10 MB stream configuration (upstreams, maps with inline
//! `data:` PEM values, servers with `proxy_ssl` certificates chosen through variables),
//! parsed from memory on one thread.
//!
//! `STRAIT_BENCH_CONFIG_OUT=/tmp/bench.conf cargo bench -p strait-parser --bench parse` also
//! writes the configuration there, so `nginx -t` and `crossplane parse` can time the same
//! bytes (it loads nginx's stream module and opens no other file).

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use strait_parser::{parse_bytes, ParseOptions};

/// Bytes to generate, about.
const TARGET_SIZE: usize = 10 * 1024 * 1024;

/// A PEM-looking body of `lines` 64-column lines (content does not matter to the parser).
fn pem_lines(seed: usize, lines: usize) -> String {
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for line in 0..lines {
        for col in 0..64 {
            let at = (seed * 31 + line * 7 + col * 13) % alphabet.len();
            out.push(alphabet[at] as char);
        }
        out.push('\n');
    }
    out
}

/// One route: an upstream, a certificate map entry set and a server.
fn route(i: usize) -> String {
    let (a, b) = (i / 250 % 250 + 1, i % 250 + 1);
    let port = 10000 + i % 50000;
    let pem = pem_lines(i, 12);
    format!(
        "    # route {i}\n\
         \x20   upstream backend_{i} {{\n\
         \x20       hash $remote_addr consistent;\n\
         \x20       server 10.{a}.{b}.1:{port} weight=3 max_fails=2 fail_timeout=5s;\n\
         \x20       server 10.{a}.{b}.2:{port} max_fails=1;\n\
         \x20       server unix:/run/backend_{i}.sock down;\n\
         \x20   }}\n\
         \x20   map $ssl_preread_server_name $client_cert_{i} {{\n\
         \x20       hostnames;\n\
         \x20       default \"\";\n\
         \x20       \\default \"data:-----BEGIN CERTIFICATE-----\n{pem}\
         -----END CERTIFICATE-----\n\";\n\
         \x20       *.route{i}.example.com \
         'data:-----BEGIN CERTIFICATE-----\\n{i}\\n-----END CERTIFICATE-----';\n\
         \x20       route{i}.example.com /etc/strait/certs/route_{i}.pem;\n\
         \x20   }}\n\
         \x20   server {{\n\
         \x20       listen 127.{a}.{b}.1:{port} so_keepalive=on;\n\
         \x20       ssl_preread on;\n\
         \x20       proxy_pass backend_{i};\n\
         \x20       proxy_connect_timeout 5s;\n\
         \x20       proxy_ssl on;\n\
         \x20       proxy_ssl_server_name on;\n\
         \x20       proxy_ssl_name ${{ssl_preread_server_name}};\n\
         \x20       proxy_ssl_certificate $client_cert_{i};\n\
         \x20       proxy_ssl_certificate_key $client_cert_{i};\n\
         \x20       set $route_{i} \"r{i}\";\n\
         \x20   }}\n"
    )
}

/// The whole configuration, about [`TARGET_SIZE`] bytes.
fn generate() -> Vec<u8> {
    let mut out = String::from(
        "load_module /usr/lib/nginx/modules/ngx_stream_module.so;\n\
         worker_processes auto;\nevents {\n    worker_connections 65536;\n}\n\
         stream {\n    variables_hash_max_size 65536;\n    variables_hash_bucket_size 128;\n\
         \x20   log_format basic '$remote_addr [$time_local] $protocol $status';\n",
    );
    let mut i = 0;
    while out.len() < TARGET_SIZE {
        out.push_str(&route(i));
        i += 1;
    }
    out.push_str("}\n");
    out.into_bytes()
}

fn parse_10mb(c: &mut Criterion) {
    let config = generate();
    if let Ok(path) = std::env::var("STRAIT_BENCH_CONFIG_OUT") {
        std::fs::write(&path, &config).expect("write the generated configuration");
    }
    let options = ParseOptions::default();
    let tree = parse_bytes(&config, "/tmp/strait-bench/nginx.conf", &options).expect("parses");
    assert!(!tree.files[0].block.directives.is_empty());

    let mut group = c.benchmark_group("parse");
    group.throughput(Throughput::Bytes(config.len() as u64));
    group.sample_size(10);
    // Parsing: the tree is built and kept (freeing it is measured apart, below).
    group.bench_function("stream_10mb", |b| {
        b.iter_with_large_drop(|| {
            parse_bytes(&config, "/tmp/strait-bench/nginx.conf", &options).expect("parses")
        })
    });
    // Parsing and freeing the tree, as one reload that discards the old tree costs.
    group.bench_function("stream_10mb_and_drop", |b| {
        b.iter(|| parse_bytes(&config, "/tmp/strait-bench/nginx.conf", &options).expect("parses"))
    });
    group.finish();
}

criterion_group!(benches, parse_10mb);
criterion_main!(benches);
