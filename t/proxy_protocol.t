# PROXY protocol, realip and limit_conn: a frontend sends a v1 header (proxy_protocol on) to a
# backend listening with proxy_protocol. Run: strait prove t/proxy_protocol.t
use Test::Nginx::Socket::Lua::Stream 'no_plan';
run_tests();

__DATA__

=== TEST 1: the backend reads the header the frontend sends
--- stream_config
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1 proxy_protocol;
        return "pp=$proxy_protocol_addr to=$proxy_protocol_server_addr remote=$remote_addr\n";
    }
--- stream_server_config
    proxy_protocol on;
    proxy_pass 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
--- stream_response
pp=127.0.0.1 to=127.0.0.1 remote=127.0.0.1
--- no_error_log
[error]



=== TEST 2: realip makes the header's source the client
--- stream_config
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1 proxy_protocol;
        set_real_ip_from 127.0.0.1;
        return "remote=$remote_addr:$remote_port realip=$realip_remote_addr\n";
    }
--- stream_server_config
    proxy_pass 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
--- stream_request eval
"PROXY TCP4 192.0.2.1 192.0.2.2 4321 80\r\n"
--- stream_response
remote=192.0.2.1:4321 realip=127.0.0.1
--- no_error_log
[error]



=== TEST 3: a broken header ends the session with 400
--- stream_config
    log_format st '$status';
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1 proxy_protocol;
        access_log logs/access.log st;
        return "never\n";
    }
--- stream_server_config
    proxy_pass 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
--- stream_request eval
"HELLO\r\n"
--- stream_response
--- access_log
400
--- error_log
broken header: "HELLO
while reading PROXY protocol



=== TEST 4: limit_conn keyed by a variable set to nothing lets the session through
--- stream_config
    limit_conn_zone $key zone=z:1m;
--- stream_server_config
    set $key "";
    limit_conn z 1;
    return "[$limit_conn_status]\n";
--- stream_response
[]
--- no_error_log
[error]
