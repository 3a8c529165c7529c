# With TEST_NGINX_FORCE_RESTART_ON_TEST=0 an unchanged config keeps the running server:
# the second block's log slice has no start-up lines.
use Test::Nginx::Socket::Lua::Stream;
run_tests();

__DATA__

=== TEST 1: the first block starts the server
--- stream_server_config
    return "same\n";
--- stream_response
same
--- error_log
using the "epoll" event method



=== TEST 2: the same config reuses it
--- stream_server_config
    return "same\n";
--- stream_response
same
--- no_error_log
using the "epoll" event method



=== TEST 3: a changed config restarts it
--- stream_server_config
    return "changed\n";
--- stream_response
changed
--- error_log
using the "epoll" event method
