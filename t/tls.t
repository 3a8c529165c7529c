# TLS to the stream server (APISIX's stream_tls_request, stream_sni, stream_session_reuse):
# server names, session resumption, and ssl_preread. strait's runner connects with TLS to
# the first stream server's port (APISIX's own harness uses its port 2005). Every block
# also checks that no key material reaches the log (the pattern of t/mtls.t).
# Run: strait prove t/tls.t
use Test::Nginx::Socket::Lua::Stream 'no_plan';
run_tests();

__DATA__

=== TEST 1: the server name sent by the client
--- steam_listen_option: ssl
--- stream_server_config
    ssl_certificate $TEST_NGINX_FILE_DIR/../testdata/pki/server.crt;
    ssl_certificate_key $TEST_NGINX_FILE_DIR/../testdata/pki/server.key;
    return "sni=$ssl_server_name\n";
--- stream_tls_request
hello
--- stream_sni: upstream.test
--- response_body
sni=upstream.test
--- no_error_log eval
["[error]", qr#-----BEGIN|PRIVATE KEY|[A-Za-z0-9+/]{64}#]



=== TEST 2: without SNI the server name is empty
--- steam_listen_option: ssl
--- stream_server_config
    ssl_certificate $TEST_NGINX_FILE_DIR/../testdata/pki/server.crt;
    ssl_certificate_key $TEST_NGINX_FILE_DIR/../testdata/pki/server.key;
    return "sni=[$ssl_server_name]\n";
--- stream_tls_request
hello
--- response_body
sni=[]
--- no_error_log eval
qr#-----BEGIN|PRIVATE KEY|[A-Za-z0-9+/]{64}#



=== TEST 3: the second round resumes the first round's session
--- steam_listen_option: ssl
--- stream_server_config
    ssl_certificate $TEST_NGINX_FILE_DIR/../testdata/pki/server.crt;
    ssl_certificate_key $TEST_NGINX_FILE_DIR/../testdata/pki/server.key;
    ssl_session_cache shared:stream_sessions:1m;
    return "reused=$ssl_session_reused\n";
--- stream_tls_request
hello
--- stream_sni: localhost
--- stream_session_reuse
--- response_body
reused=.
reused=r
--- no_error_log eval
qr#-----BEGIN|PRIVATE KEY|[A-Za-z0-9+/]{64}#



=== TEST 4: ssl_preread reads the server name without terminating TLS
--- stream_server_config
    ssl_preread on;
    return "preread=$ssl_preread_server_name\n";
--- stream_tls_request
hello
--- stream_sni: preread.test
--- response_body
failed to do SSL handshake: handshake failed
--- error_log eval
qr/\[info\] .*client 127\.0\.0\.1:\d+ connected/
--- no_error_log eval
qr#-----BEGIN|PRIVATE KEY|[A-Za-z0-9+/]{64}#



=== TEST 5: ssl_preread picks the upstream by server name
--- stream_config
    map $ssl_preread_server_name $tls_backend {
        upstream.test 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        default       127.0.0.1:$TEST_NGINX_RAND_PORT_2;
    }
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1 ssl;
        ssl_certificate $TEST_NGINX_FILE_DIR/../testdata/pki/server.crt;
        ssl_certificate_key $TEST_NGINX_FILE_DIR/../testdata/pki/server.key;
        return "chosen for $ssl_server_name\n";
    }
--- stream_server_config
    ssl_preread on;
    proxy_pass $tls_backend;
--- stream_tls_request
hello
--- stream_sni: upstream.test
--- response_body
chosen for upstream.test
--- no_error_log eval
["[error]", qr#-----BEGIN|PRIVATE KEY|[A-Za-z0-9+/]{64}#]
