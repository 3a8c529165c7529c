# Preamble controls the runner honours: two rounds per block, info-level logging, a
# variable set by a literal $ENV assignment.
use Test::Nginx::Socket::Lua::Stream;

repeat_each(2);
log_level('info');
$ENV{TEST_NGINX_GREETING} ||= "hello from the preamble";

run_tests();

__DATA__

=== TEST 1: each round is a new session, and each round reads only its own log lines
--- stream_server_config
    return "$TEST_NGINX_GREETING\n";
--- stream_response
hello from the preamble
--- grep_error_log eval
qr/client 127\.0\.0\.1:\d+ connected/
--- grep_error_log_out eval
qr/\Aclient 127\.0\.0\.1:\d+ connected\n\z/
--- no_error_log
[debug]
