#!/bin/sh
# Counts the instructions strait and nginx spend on one upstream mTLS connection, under
# valgrind's callgrind: a count, not a time, so it repeats on a busy or virtual machine where
# strait-bench's rates drift. Needs valgrind and nginx (the mTLS upstream, and the program
# compared); run from the repository root after `cargo build --release`.
#
#   bench/instructions.sh [STRAIT] [NGINX]
#
# For each proxy and each client certificate (static file, `$var` naming a file, `$var`
# holding `data:` PEM), with session reuse off (a full handshake each time) and on, the proxy
# serves 10 and then 110 connections in turn, and the difference of the two totals over 100
# is printed: the cost of one connection, start-up excluded.
set -eu

STRAIT=${1:-target/release/strait}
NGINX=${2:-/usr/sbin/nginx}
PKI=$(cd testdata/pki && pwd)
MODULE=/usr/lib/nginx/modules/ngx_stream_module.so
for tool in valgrind python3 "$NGINX" "$STRAIT"; do
    command -v "$tool" >/dev/null || { echo "instructions.sh: $tool not found" >&2; exit 2; }
done
STRAIT=$(command -v "$STRAIT")
WORK=$(mktemp -d /tmp/strait-instructions-XXXXXX)
trap '[ -f "$WORK/up/logs/nginx.pid" ] && kill "$(cat "$WORK/up/logs/nginx.pid")"; rm -rf "$WORK"' EXIT
mkdir -p "$WORK/up/logs" "$WORK/proxy/logs"
PORTS=$(python3 -c 'import socket
s=[socket.socket() for _ in range(2)]
[x.bind(("127.0.0.1",0)) for x in s]
print(" ".join(str(x.getsockname()[1]) for x in s))')
PROXY_PORT=${PORTS% *}
UP_PORT=${PORTS#* }
LOAD_MODULE=""
[ -f "$MODULE" ] && LOAD_MODULE="load_module $MODULE;"

# The upstream: nginx, requiring a client certificate, resuming sessions (TLS 1.3 tickets).
cat >"$WORK/up/nginx.conf" <<EOF
$LOAD_MODULE
user root; daemon on; worker_processes 1; error_log logs/error.log; pid logs/nginx.pid;
events {}
stream { server {
    listen 127.0.0.1:$UP_PORT ssl;
    ssl_certificate $PKI/server-ecdsa.crt; ssl_certificate_key $PKI/server-ecdsa.key;
    ssl_verify_client on; ssl_client_certificate $PKI/ca.crt;
    ssl_protocols TLSv1.2 TLSv1.3; ssl_session_cache shared:S:1m; ssl_session_tickets on;
    return "ok \$ssl_session_reused\n";
} }
EOF
"$NGINX" -p "$WORK/up/" -c nginx.conf

# A proxy configuration: $1 the certificate (static, var, data), $2 session reuse (on, off).
proxy_conf() {
    case $1 in
    static) maps=""; cert="$PKI/client-a.crt"; key="$PKI/client-a.key" ;;
    var) maps="map \$server_port \$cert { default $PKI/client-a.crt; }
               map \$server_port \$key { default $PKI/client-a.key; }"
         cert='$cert'; key='$key' ;;
    data) maps="map \$server_port \$cert { default \"data:$(cat "$PKI/client-a.crt")\"; }
                map \$server_port \$key { default \"data:$(cat "$PKI/client-a.key")\"; }"
          cert='$cert'; key='$key' ;;
    esac
    cat <<EOF
$LOAD_MODULE
user root; daemon off; master_process off; worker_processes 1;
error_log logs/error.log; pid logs/proxy.pid;
events {}
stream {
$maps
server {
    listen 127.0.0.1:$PROXY_PORT;
    proxy_pass 127.0.0.1:$UP_PORT;
    proxy_ssl on; proxy_ssl_session_reuse $2; proxy_ssl_verify on;
    proxy_ssl_protocols TLSv1.2 TLSv1.3; proxy_ssl_trusted_certificate $PKI/ca.crt;
    proxy_ssl_name localhost;
    proxy_ssl_certificate $cert; proxy_ssl_certificate_key $key;
} }
EOF
}

# The total instructions of $1 serving $2 sequential connections with proxy.conf.
total() {
    rm -f "$WORK/proxy/logs/proxy.pid" "$WORK/callgrind.out"
    valgrind --tool=callgrind --callgrind-out-file="$WORK/callgrind.out" \
        "$1" -p "$WORK/proxy/" -c proxy.conf 2>"$WORK/valgrind.log" &
    pid=$!
    tries=0
    until [ -s "$WORK/proxy/logs/proxy.pid" ] || [ $tries -ge 200 ]; do
        sleep 0.1; tries=$((tries + 1))
    done
    sleep 0.5
    python3 - "$PROXY_PORT" "$2" <<'EOF'
import socket, sys
port, count = int(sys.argv[1]), int(sys.argv[2])
for _ in range(count):
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        reply = b""
        while chunk := s.recv(4096):
            reply += chunk
    if not reply.startswith(b"ok "):
        sys.exit(f"a connection through the proxy failed: {reply!r}")
EOF
    kill -QUIT $pid
    wait $pid || true
    awk '/^(summary|totals):/ { print $2; exit }' "$WORK/callgrind.out"
}

printf '%-8s %-12s %-6s %14s\n' proxy certificate reuse instructions/conn
for reuse in off on; do
    for certificate in static var data; do
        proxy_conf $certificate $reuse >"$WORK/proxy/proxy.conf"
        for proxy in "$STRAIT" "$NGINX"; do
            few=$(total "$proxy" 10)
            many=$(total "$proxy" 110)
            name=strait
            [ "$proxy" = "$NGINX" ] && name=nginx
            printf '%-8s %-12s %-6s %14d\n' $name $certificate $reuse $(((many - few) / 100))
        done
    done
done
