# Upstream balancing: round robin, weights, backup and down servers, hash, and trying the
# next upstream after a failed connect. One worker process, so the balancers' choices are
# deterministic. Run: strait prove t/upstream.t
use Test::Nginx::Socket::Lua::Stream 'no_plan';
run_tests();

__DATA__

=== TEST 1: round robin takes the servers in turn
--- stream_config
    upstream backends {
        server 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        server 127.0.0.1:$TEST_NGINX_RAND_PORT_2;
    }
    server { listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1; return "a\n"; }
    server { listen 127.0.0.1:$TEST_NGINX_RAND_PORT_2; return "b\n"; }
--- stream_server_config
    proxy_pass backends;
--- stream_server_config2
    proxy_pass backends;
--- stream_server_config3
    proxy_pass backends;
--- stream_response
a
b
a
--- no_error_log
[error]



=== TEST 2: weights: smooth weighted round robin
--- stream_config
    upstream backends {
        server 127.0.0.1:$TEST_NGINX_RAND_PORT_1 weight=2;
        server 127.0.0.1:$TEST_NGINX_RAND_PORT_2;
    }
    server { listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1; return "heavy\n"; }
    server { listen 127.0.0.1:$TEST_NGINX_RAND_PORT_2; return "light\n"; }
--- stream_server_config
    proxy_pass backends;
--- stream_server_config2
    proxy_pass backends;
--- stream_server_config3
    proxy_pass backends;
--- stream_response
heavy
light
heavy



=== TEST 3: a down server is never chosen
--- stream_config
    upstream backends {
        server 127.0.0.1:$TEST_NGINX_RAND_PORT_1 down;
        server 127.0.0.1:$TEST_NGINX_RAND_PORT_2;
    }
    server { listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1; return "down\n"; }
    server { listen 127.0.0.1:$TEST_NGINX_RAND_PORT_2; return "up\n"; }
--- stream_server_config
    proxy_pass backends;
--- stream_server_config2
    proxy_pass backends;
--- stream_response
up
up



=== TEST 4: the backup server takes over when the primary refuses
--- stream_config
    upstream backends {
        server 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        server 127.0.0.1:$TEST_NGINX_RAND_PORT_2 backup;
    }
    server { listen 127.0.0.1:$TEST_NGINX_RAND_PORT_2; return "backup\n"; }
--- stream_server_config
    proxy_pass backends;
--- stream_response
backup
--- error_log eval
qr/\[error\] .*connect\(\) failed \(111: Connection refused\) while connecting to upstream/
--- grep_error_log eval
qr/upstream server temporarily disabled/
--- grep_error_log_out
upstream server temporarily disabled



=== TEST 5: proxy_next_upstream tries the next server after a refused connect
--- stream_config
    upstream backends {
        server 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        server 127.0.0.1:$TEST_NGINX_RAND_PORT_2;
    }
    server { listen 127.0.0.1:$TEST_NGINX_RAND_PORT_2; return "second\n"; }
--- stream_server_config
    proxy_pass backends;
--- stream_response
second
--- error_log eval
qr/connect\(\) failed \(111: Connection refused\) while connecting to upstream, client: 127\.0\.0\.1, server: 127\.0\.0\.1:\d+, upstream: "127\.0\.0\.1:\d+"/



=== TEST 6: proxy_next_upstream off gives up after the first server
--- stream_config
    upstream backends {
        server 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        server 127.0.0.1:$TEST_NGINX_RAND_PORT_2;
    }
    server { listen 127.0.0.1:$TEST_NGINX_RAND_PORT_2; return "second\n"; }
--- stream_server_config
    proxy_next_upstream off;
    proxy_pass backends;
--- stream_response
--- error_log
Connection refused



=== TEST 7: hash on the client address keeps one client on one server
--- stream_config
    upstream backends {
        hash $remote_addr;
        server 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        server 127.0.0.1:$TEST_NGINX_RAND_PORT_2;
    }
    server { listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1; return "x\n"; }
    server { listen 127.0.0.1:$TEST_NGINX_RAND_PORT_2; return "y\n"; }
--- stream_server_config
    proxy_pass backends;
--- stream_server_config2
    proxy_pass backends;
--- stream_server_config3
    proxy_pass backends;
--- stream_response eval
qr/\A(?:x\n){3}\z|\A(?:y\n){3}\z/
--- no_error_log
[error]



=== TEST 8: proxy_pass with a variable picks the upstream per session
--- stream_config
    map $server_port $pool {
        default first;
        $TEST_NGINX_STREAM_PORT first;
    }
    upstream first { server 127.0.0.1:$TEST_NGINX_RAND_PORT_1; }
    server { listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1; return "first pool\n"; }
--- stream_server_config
    proxy_pass $pool;
--- stream_response
first pool
