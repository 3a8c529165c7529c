# Access phase: allow and deny rules on the client address, and the status they leave.
# Run: strait prove t/access.t
use Test::Nginx::Socket::Lua::Stream 'no_plan';
run_tests();

__DATA__

=== TEST 1: an allowed client reaches the content phase
--- stream_server_config
    allow 127.0.0.1;
    deny all;
    return "welcome\n";
--- stream_response
welcome
--- no_error_log
access forbidden



=== TEST 2: a denied client is closed without a byte and logged
--- stream_server_config
    deny 127.0.0.0/8;
    allow all;
    return "never\n";
--- stream_response
--- error_log eval
qr/\[error\] .*access forbidden by rule while initializing session, client: 127\.0\.0\.1, server: 127\.0\.0\.1:\d+$/



=== TEST 3: the first matching rule wins
--- stream_server_config
    allow 127.0.0.1;
    deny 127.0.0.1;
    return "first rule\n";
--- stream_response
first rule



=== TEST 4: a denied session ends with status 403 in the access log
--- stream_config
    log_format st '$status';
--- stream_server_config
    access_log logs/access.log st;
    deny all;
    return "never\n";
--- stream_response
--- access_log eval
qr/^403$/
