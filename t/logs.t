# Logs: error_log lines and their context, levels, access_log with log_format and escapes,
# and configuration errors reported where nginx reports them. Run: strait prove t/logs.t
use Test::Nginx::Socket::Lua::Stream 'no_plan';
run_tests();

__DATA__

=== TEST 1: a session is logged at info with the client and the listen address
--- stream_server_config
    return "x";
--- stream_response chomp
x
--- error_log eval
qr/\[info\] \d+#\d+: \*\d+ client 127\.0\.0\.1:\d+ connected to 127\.0\.0\.1:\d+/
--- grep_error_log eval
qr/\[info\] \d+#\d+: \*\d+ client [\d.]+:\d+ connected/
--- grep_error_log_out eval
qr/\A\[info\] \d+#\d+: \*\d+ client 127\.0\.0\.1:\d+ connected\n\z/



=== TEST 2: the log level filters lower levels
--- log_level: warn
--- stream_server_config
    return "x";
--- stream_response chomp
x
--- no_error_log
[info]
[debug]
[notice]



=== TEST 3: access_log with a log_format
--- stream_config
    log_format basic '$remote_addr [$protocol] $status $bytes_sent $bytes_received';
--- stream_server_config
    access_log logs/access.log basic;
    return "12345";
--- stream_response chomp
12345
--- access_log eval
qr/^127\.0\.0\.1 \[TCP\] 200 5 0$/



=== TEST 4: access_log escapes variable values (default escaping)
--- stream_config
    log_format quoted '"$value"';
    map $remote_addr $value {
        default "a\"b";
    }
--- stream_server_config
    access_log logs/access.log quoted;
    return "ok";
--- stream_response chomp
ok
--- access_log
"a\x22b"



=== TEST 5: access_log with escape=none writes values as they are
--- stream_config
    log_format raw escape=none '"$value"';
    map $remote_addr $value {
        default "a\"b";
    }
--- stream_server_config
    access_log logs/access.log raw;
    return "ok";
--- stream_response chomp
ok
--- access_log
"a"b"



=== TEST 6: an unknown directive is reported with file and line
--- stream_server_config
    no_such_directive on;
--- must_die
--- error_log eval
qr/\[emerg\] .*unknown directive "no_such_directive" in \S+\/conf\/nginx\.conf:\d+/



=== TEST 7: a directive in the wrong context is refused
--- stream_config
    return "x";
--- stream_server_config
    return "y";
--- must_die
--- error_log eval
qr/\[emerg\] .*"return" directive is not allowed here in \S+\/conf\/nginx\.conf:\d+/



=== TEST 8: the session's status in the access log when the upstream refuses
--- stream_config
    log_format st '$status $upstream_addr';
--- stream_server_config
    access_log logs/access.log st;
    proxy_pass 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
--- stream_response
--- access_log eval
qr/^502 127\.0\.0\.1:\d+$/
