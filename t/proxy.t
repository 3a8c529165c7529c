# Proxying: return, proxy_pass to a backend, the request reaching the upstream, several
# stream servers, and connection failures. Run: strait prove t/proxy.t
use Test::Nginx::Socket::Lua::Stream 'no_plan';
run_tests();

__DATA__

=== TEST 1: return sends a string and closes
--- stream_server_config
    return "hello, stream\n";
--- stream_response
hello, stream
--- no_error_log
[error]



=== TEST 2: proxy_pass relays the backend's response
--- stream_config
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        return "from backend\n";
    }
--- stream_server_config
    proxy_pass 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
--- stream_response
from backend
--- error_log eval
qr/\[info\] .*proxy 127\.0\.0\.1:\d+ connected to 127\.0\.0\.1:\d+/
--- no_error_log
[error]



=== TEST 3: the request bytes reach the upstream
The backend waits for the rest of a TLS record header that never comes, so the frontend's
access log shows what it sent upstream.
--- stream_config
    log_format bytes '$upstream_addr sent $upstream_bytes_sent, client sent $bytes_received';
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        ssl_preread on;
        preread_timeout 300ms;
        return "never\n";
    }
--- stream_server_config
    access_log logs/access.log bytes;
    proxy_pass 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
--- stream_request eval
"\x16\x03\x01\x00" . "ping\r\n" x 2
--- stream_response
--- access_log eval
qr/^127\.0\.0\.1:\d+ sent 16, client sent 16$/
--- no_error_log
[error]



=== TEST 4: three stream servers answer in order
--- stream_server_config
    return "one\n";
--- stream_server_config2
    return "two\n";
--- stream_server_config3
    return "three\n";
--- stream_response
one
two
three



=== TEST 5: an unreachable upstream closes the client connection and logs the error
--- stream_server_config
    proxy_connect_timeout 1s;
    proxy_pass 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
--- stream_response
--- error_log eval
qr/\[error\] .*connect\(\) failed \(111: Connection refused\) while connecting to upstream, client: 127\.0\.0\.1, server: 127\.0\.0\.1:\d+, upstream: "127\.0\.0\.1:\d+"/



=== TEST 6: a binary response compared byte for byte
--- stream_server_config
    return "\x00\x01";
--- stream_response eval
"\\x00\\x01"



=== TEST 7: a response checked with a regex
--- stream_server_config
    return "port $server_port from $remote_addr\n";
--- stream_response_like
^port \d+ from 127\.0\.0\.1$



=== TEST 8: with abort, a server that does not close gives the bridge's timeout text
--- stream_config
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        ssl_preread on;
        preread_timeout 5s;
        return "too late\n";
    }
--- stream_server_config
    proxy_pass 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
--- stream_request eval
"\x16\x03\x01\x00"
--- timeout: 500ms
--- abort
--- stream_response
receive stream response error: timeout
