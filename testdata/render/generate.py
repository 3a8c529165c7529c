#!/usr/bin/env python3
"""Regenerates the translator's fixture inputs from testdata/pki (strait render tests).

    python3 testdata/render/generate.py

Each case folder holds routes.yaml (APISIX standalone layout) and, when the case needs one,
config.yaml. Certificates come from testdata/pki; encrypted keys are made here with the openssl
CLI and the keyring of the case; long_chain gets a 4096-bit client certificate signed by the
test intermediate (long-chain.crt/.key, kept beside it). Invalid cases (invalid/<case>/) also
hold expected.txt, written by hand: the exact error text.
"""
import os
import subprocess

HERE = os.path.dirname(os.path.abspath(__file__))
PKI = os.path.join(HERE, "..", "pki")


def pki(name):
    with open(os.path.join(PKI, name)) as f:
        return f.read()


def encrypt(pem, entry):
    """APISIX's at-rest form: AES-CBC, key = IV = the keyring entry, base64."""
    hexkey = entry.encode().hex()
    cipher = "-aes-128-cbc" if len(entry) == 16 else "-aes-256-cbc"
    out = subprocess.run(
        ["openssl", "enc", cipher, "-K", hexkey, "-iv", hexkey[:32], "-base64", "-A"],
        input=pem.encode(), capture_output=True, check=True)
    return out.stdout.decode().strip()


def block(text, indent):
    pad = " " * indent
    return "|\n" + "".join(pad + line + "\n" for line in text.rstrip("\n").split("\n"))


def write(case, name, text):
    """Writes one input; a YAML routes file ends with APISIX's end flag, as a finished
    standalone file does (without it, `strait up` would not load the file)."""
    if name == "routes.yaml" and not text.rstrip().endswith("#END"):
        text = text.rstrip("\n") + "\n#END\n"
    d = os.path.join(HERE, case)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "w") as f:
        f.write(text)


def long_chain_cert():
    """A client certificate whose chain (leaf, intermediate, root) exceeds nginx's token."""
    d = os.path.join(HERE, "long_chain")
    os.makedirs(d, exist_ok=True)
    key, crt, csr = (os.path.join(d, n) for n in ("long-chain.key", "long-chain.crt", "x.csr"))
    if not os.path.exists(crt):
        subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt",
                        "rsa_keygen_bits:4096", "-out", key], check=True, capture_output=True)
        subprocess.run(["openssl", "req", "-new", "-key", key, "-subj",
                        "/O=strait test/OU=clients with a long chain/CN=client-long", "-out", csr],
                       check=True)
        ext = os.path.join(d, "x.ext")
        with open(ext, "w") as f:
            names = ",".join(f"DNS:client-long-{n}.strait.test" for n in range(24))
            f.write(f"subjectAltName={names}\n")
        subprocess.run(["openssl", "x509", "-req", "-in", csr, "-extfile", ext, "-CA",
                        os.path.join(PKI, "intermediate.crt"), "-CAkey",
                        os.path.join(PKI, "intermediate.key"), "-set_serial", "4242",
                        "-days", "36500", "-out", crt], check=True, capture_output=True)
        os.remove(csr)
        os.remove(ext)
    with open(crt) as f:
        leaf = f.read()
    with open(key) as f:
        return leaf + pki("intermediate.crt") + pki("ca.crt"), f.read()


A_CRT, A_KEY = pki("client-a.crt"), pki("client-a.key")
B_CRT, B_KEY = pki("client-b.crt"), pki("client-b.key")
SRV_CRT, SRV_KEY = pki("server.crt"), pki("server.key")


def main():
    # Inline client certificate on a TLS upstream.
    write("inline_mtls", "routes.yaml", f"""stream_routes:
  - id: 1
    upstream:
      scheme: tls
      nodes:
        "127.0.0.1:1995": 1
      tls:
        client_cert: {block(A_CRT, 10)}        client_key: {block(A_KEY, 10)}#END
""")

    # client_cert_id naming a client ssl object; plus a route without a certificate.
    write("client_cert_id", "routes.yaml", f"""ssls:
  - id: client-b
    type: client
    cert: {block(B_CRT, 6)}    key: {block(B_KEY, 6)}upstreams:
  - id: mtls-b
    scheme: tls
    nodes:
      - host: 127.0.0.1
        port: 1995
        weight: 1
    tls:
      client_cert_id: client-b
  - id: tls-none
    scheme: tls
    nodes:
      - host: 127.0.0.1
        port: 1996
        weight: 1
stream_routes:
  - id: by-id
    server_port: 9100
    upstream_id: mtls-b
  - id: no-cert
    server_port: 9101
    upstream_id: tls-none
""")
    write("client_cert_id", "config.yaml", """apisix:
  stream_proxy:
    tcp:
      - 9100
      - 9101
""")

    # A key encrypted at rest with APISIX's default keyring (first entry).
    write("encrypted_key", "routes.yaml", f"""upstreams:
  - id: 1
    scheme: tls
    nodes:
      "127.0.0.1:1995": 1
    tls:
      client_cert: {block(A_CRT, 8)}      client_key: "{encrypt(A_KEY, "qeddd145sfvddff3")}"
stream_routes:
  - id: 1
    upstream_id: 1
""")

    # Two keyring entries (AES-128 and AES-256): each key decrypts with a different one.
    write("two_keyring_entries", "config.yaml", """apisix:
  data_encryption:
    keyring:
      - 0123456789abcdef
      - 0123456789abcdef0123456789ABCDEF
""")
    write("two_keyring_entries", "routes.yaml", f"""ssls:
  - id: a
    type: client
    cert: {block(A_CRT, 6)}    key: "{encrypt(A_KEY, "0123456789abcdef")}"
  - id: b
    type: client
    cert: {block(B_CRT, 6)}    key: "{encrypt(B_KEY, "0123456789abcdef0123456789ABCDEF")}"
upstreams:
  - id: a
    scheme: tls
    nodes: {{"127.0.0.1:1995": 1}}
    tls: {{client_cert_id: a}}
  - id: b
    scheme: tls
    nodes: {{"127.0.0.1:1995": 1}}
    tls: {{client_cert_id: b}}
stream_routes:
  - {{id: a, remote_addr: 127.0.0.1, upstream_id: a}}
  - {{id: b, upstream_id: b}}
""")

    # SNI: exact, wildcard and no-SNI routes on a TLS listener (APISIX's sni.t sequence).
    write("sni_exact_wildcard", "config.yaml", """apisix:
  stream_proxy:
    tcp:
      - addr: 127.0.0.1:9100
        tls: true
""")
    write("sni_exact_wildcard", "routes.yaml", f"""ssls:
  - id: server
    snis: ["*.test.com", "localhost"]
    cert: {block(SRV_CRT, 6)}    key: {block(SRV_KEY, 6)}stream_routes:
  - id: 1
    sni: a.test.com
    remote_addr: 127.0.0.2
    upstream:
      nodes: {{"127.0.0.1:1995": 1}}
  - id: 2
    sni: "*.test.com"
    upstream:
      nodes: {{"127.0.0.2:1995": 1}}
  - id: 3
    upstream:
      nodes: {{"127.0.0.3:1995": 1}}
  - id: 4
    sni: a.test.com
    remote_addr: 127.0.0.1
    upstream:
      nodes: {{"127.0.0.4:1995": 1}}
""")

    # A star without a dot: `*x.com` matches x.com itself (APISIX's radix tree strips the star
    # and prefix-matches the reversed name, inclusively); `*.test.com` does not match test.com.
    write("sni_star_no_dot", "config.yaml", """apisix:
  stream_proxy:
    tcp:
      - addr: 127.0.0.1:9100
        tls: true
""")
    write("sni_star_no_dot", "routes.yaml", f"""ssls:
  - id: server
    snis: ["*.test.com", "localhost"]
    cert: {block(SRV_CRT, 6)}    key: {block(SRV_KEY, 6)}stream_routes:
  - id: star-x
    sni: "*x.com"
    upstream:
      nodes: {{"127.0.0.1:1995": 1}}
  - id: star-dot
    sni: "*.test.com"
    upstream:
      nodes: {{"127.0.0.2:1995": 1}}
  - id: other
    upstream:
      nodes: {{"127.0.0.3:1995": 1}}
""")

    # Address conditions: CIDR and single addresses, IPv4 and IPv6.
    write("cidr", "config.yaml", """apisix:
  stream_proxy:
    tcp:
      - 127.0.0.1:9100
      - "[::1]:9100"
""")
    write("cidr", "routes.yaml", """upstreams:
  - id: u
    nodes: {"127.0.0.1:1995": 1}
stream_routes:
  - {id: loopback-8, remote_addr: 127.0.0.0/8, server_addr: 127.0.0.1, upstream_id: u}
  - {id: v6, remote_addr: "::1/128", upstream_id: u}
  - {id: ten, remote_addr: 10.0.0.0/8, upstream_id: u}
""")

    # Ports: listener forms and server_port routes.
    write("ports", "config.yaml", """apisix:
  enable_reuseport: false
  stream_proxy:
    tcp:
      - 9100
      - "127.0.0.1:9101-9102"
      - addr: "[::1]:9103"
nginx_config:
  user: root
  worker_processes: 2
  error_log_level: info
  event:
    worker_connections: 1024
  stream:
    enable_access_log: true
""")
    write("ports", "routes.yaml", """upstreams:
  - id: one
    nodes: {"127.0.0.1:2001": 1}
  - id: two
    nodes: {"127.0.0.1:2002": 1}
stream_routes:
  - {id: p9101, server_port: 9101, upstream_id: one}
  - {id: p9102, server_port: 9102, upstream_id: two}
  - {id: rest, upstream_id: one}
""")

    # Plain and TLS upstreams behind one listener: the hop layout.
    write("mixed_plain_tls", "config.yaml", """apisix:
  stream_proxy:
    tcp:
      - addr: 127.0.0.1:9100
        tls: true
""")
    write("mixed_plain_tls", "routes.yaml", f"""ssls:
  - id: server
    snis: [localhost, "*.test.com"]
    cert: {block(SRV_CRT, 6)}    key: {block(SRV_KEY, 6)}upstreams:
  - id: plain
    nodes: {{"127.0.0.1:1980": 1}}
    timeout: {{connect: 1.5, send: 3, read: 3}}
  - id: tls
    scheme: tls
    nodes: {{"127.0.0.1:1995": 1}}
    tls:
      client_cert: {block(A_CRT, 8)}      client_key: {block(A_KEY, 8)}stream_routes:
  - {{id: tls, sni: localhost, upstream_id: tls}}
  - {{id: wild, sni: "*.test.com", upstream_id: tls}}
  - {{id: plain, upstream_id: plain}}
""")

    # fallback_sni names TLS connections without SNI only: a plain connection never goes
    # through SNI dispatch (APISIX's ssl.server_name() fails before reading fallback_sni).
    # Listeners of each kind: specific and wildcard addresses, IPv4 and IPv6, and a plain
    # specific address on the port of a TLS wildcard one.
    write("fallback_plain_tls", "config.yaml", """apisix:
  ssl:
    fallback_sni: A.test.com
  stream_proxy:
    tcp:
      - 127.0.0.1:9100
      - addr: 127.0.0.1:9101
        tls: true
      - addr: 9102
        tls: true
      - 127.0.0.1:9102
      - addr: "[::1]:9103"
        tls: true
      - addr: "[::]:9104"
        tls: true
""")
    write("fallback_plain_tls", "routes.yaml", f"""ssls:
  - id: server
    snis: ["*.test.com"]
    cert: {block(SRV_CRT, 6)}    key: {block(SRV_KEY, 6)}upstreams:
  - id: plain
    nodes: {{"127.0.0.1:1980": 1}}
  - id: tls
    scheme: tls
    nodes: {{"127.0.0.1:1995": 1}}
stream_routes:
  - {{id: a, sni: a.test.com, upstream_id: plain}}
  - {{id: rest, upstream_id: tls}}
""")

    # chash with priorities; least_conn; ewma; timeouts and retries.
    write("chash", "routes.yaml", """upstreams:
  - id: hash
    type: chash
    hash_on: vars
    key: remote_addr
    nodes:
      - {host: 127.0.0.1, port: 2001, weight: 1}
      - {host: 127.0.0.2, port: 2002, weight: 3}
      - {host: "::1", port: 2003, weight: 1, priority: -1}
stream_routes:
  - {id: 1, upstream_id: hash}
""")
    # chash behind the hop layout: the client's address reaches the hops in a PROXY header.
    write("chash_hop", "routes.yaml", """upstreams:
  - id: by-client
    type: chash
    key: remote_addr
    nodes: {"127.0.0.1:2001": 1, "127.0.0.1:2002": 1}
  - id: by-listener
    type: chash
    key: server_addr
    nodes: {"127.0.0.1:2003": 1, "127.0.0.1:2004": 1}
    timeout: {connect: 1, send: 5, read: 5}
stream_routes:
  - {id: client, server_port: 9100, upstream_id: by-client}
  - {id: listener, upstream_id: by-listener}
""")
    write("balancers", "routes.yaml", """upstreams:
  - id: rr
    nodes:
      - {host: 127.0.0.1, port: 2001, weight: 2}
      - {host: 127.0.0.1, port: 2002, weight: 0}
      - {host: 127.0.0.1, port: 2003, weight: 1, priority: -1}
    retries: 2
    retry_timeout: 5
    timeout: {connect: 2, send: 10, read: 20}
stream_routes:
  - id: lc
    remote_addr: 127.0.0.5
    upstream:
      type: least_conn
      nodes: {"127.0.0.1:2001": 1, "127.0.0.1:2002": 1}
  - id: ewma
    server_port: 9100
    remote_addr: 127.0.0.9
    upstream:
      type: ewma
      nodes: {"127.0.0.1:2001": 1}
  - {id: rr, upstream_id: rr}
""")

    # tls.verify with the trusted certificate of the config (relative: the config's directory).
    write("verify", "config.yaml", """apisix:
  ssl:
    ssl_trusted_certificate: ca.crt
""")
    write("verify", "routes.yaml", """upstreams:
  - id: checked
    scheme: tls
    nodes: {"127.0.0.1:1995": 1}
    tls: {verify: true}
stream_routes:
  - {id: checked, upstream_id: checked}
""")

    # No match: the only route needs another client address.
    write("no_match", "routes.yaml", """stream_routes:
  - id: elsewhere
    remote_addr: 192.0.2.0/24
    upstream:
      nodes: {"127.0.0.1:1995": 1}
""")

    # A chain longer than one nginx token: written to a file.
    chain, key = long_chain_cert()
    write("long_chain", "routes.yaml", f"""stream_routes:
  - id: long
    upstream:
      scheme: tls
      nodes: {{"127.0.0.1:1995": 1}}
      tls:
        client_cert: {block(chain, 10)}        client_key: {block(key, 10)}""")

    # No config document and no routes: the defaults.
    write("empty", "routes.yaml", "stream_routes: []\n#END\n")

    # JSON input and $env:// references in a client ssl object.
    write("json_env", "routes.json", """{
  "ssls": [
    {"id": "env", "type": "client",
     "cert": "$env://STRAIT_RENDER_TEST_CERT", "key": "$env://STRAIT_RENDER_TEST_KEY"}
  ],
  "upstreams": [
    {"id": "u", "scheme": "tls", "nodes": {"127.0.0.1:1995": 1},
     "tls": {"client_cert_id": "env"}}
  ],
  "stream_routes": [{"id": "r", "upstream_id": "u"}]
}
""")

    # Invalid inputs (expected.txt is written by hand).
    write("invalid/many_faults", "routes.yaml", f"""ssls:
  - id: srv
    sni: a.test.com
    cert: {block(SRV_CRT, 6)}    key: {block(SRV_KEY, 6)}upstreams:
  - id: u
    nodes: {{"127.0.0.1:99999": 1}}
    type: chash
    key: uri
  - id: v
    nodes: {{"127.0.0.1:80": 1}}
    scheme: tls
    tls:
      client_cert_id: srv
  - id: w
    nodes: {{"127.0.0.1:80": 1}}
    colour: blue
  - id: U
    nodes: {{"127.0.0.1:80": 1}}
stream_routes:
  - id: 1
    server_port: 70000
    remote_addr: 10.0.0.300
    sni: "a b"
    upstream_id: nope
  - id: 2
    upstream:
      nodes: {{"127.0.0.1:80": 1}}
      tls:
        client_cert: {block(A_CRT, 10)}  - id: 3
""")
    # Node keys as APISIX's parse_addr reads them: unbracketed IPv6 has no port.
    write("invalid/bare_ipv6", "routes.yaml", """# An IPv6 node key carries a port only in brackets
# (APISIX core.utils.parse_addr): "::1" and "fe80::1:8080"
# are addresses without a port, as "127.0.0.1" is.
upstreams:
  - id: v6-loopback
    nodes: {"::1": 1}
  - id: v6-port-lookalike
    nodes: {"fe80::1:8080": 1}
  - id: v4
    nodes: {"127.0.0.1": 1}
  - id: v6-bracketed
    nodes: {"[::1]": 1, "[::1]:1995": 1}
stream_routes:
  - id: inline
    upstream:
      nodes: {"::ffff:127.0.0.1": 1}
""")
    write("invalid/bad_key", "config.yaml", """apisix:
  data_encryption:
    keyring: [short, 0123456789abcdef]
  stream_proxy:
    tcp: [9100, "9102-9101", {addr: 9103, tls: true}]
""")
    write("invalid/bad_key", "routes.yaml", f"""upstreams:
  - id: wrong-keyring
    scheme: tls
    nodes: {{"127.0.0.1:1995": 1}}
    tls:
      client_cert: {block(A_CRT, 8)}      client_key: "{encrypt(A_KEY, "qeddd145sfvddff3")}"
  - id: verify-no-ca
    scheme: tls
    nodes: {{"127.0.0.1:1995": 1}}
    tls:
      verify: true
stream_routes:
  - {{id: 1, upstream_id: wrong-keyring}}
  - {{id: 2, upstream_id: verify-no-ca, plugins: {{limit-conn: {{}}}}}}
""")


main()
