# Deliberately broken blocks: tests/prove_broken.rs (at the workspace root) checks that each
# fails with a message that names the block and section and shows what was expected and what
# came, on strait and on nginx; tests/prove_cli.rs checks the counts `strait prove` closes
# with. TEST 8 is not broken: an unknown section is ignored, as Test::Nginx ignores it.
use Test::Nginx::Socket::Lua::Stream 'no_plan';
run_tests();

__DATA__

=== TEST 1: wrong expected response
--- stream_server_config
    return "actual\n";
--- stream_response
expected



=== TEST 2: missing log line
--- stream_server_config
    return "x";
--- stream_response chomp
x
--- error_log
this line is never logged



=== TEST 3: server that fails to start
--- stream_server_config
    no_such_directive_here on;
--- stream_response
anything



=== TEST 4: a block that needs http is skipped, not passed
--- config
    location /t { return 200; }
--- request
GET /t
--- response_body
ok



=== TEST 5: a passing block after the broken ones
--- stream_server_config
    return "fine\n";
--- stream_response
fine



=== TEST 6: Perl the runner cannot evaluate fails the block, naming the section
--- stream_server_config
    return "x";
--- stream_request eval
join("", map { chr } 65 .. 70)
--- stream_response chomp
x



=== TEST 7: a block with no stream server fails, not passed
--- stream_response
anything



=== TEST 8: an unknown section is ignored and the block runs
--- stream_server_config
    return "ran\n";
--- frobnicate_section
whatever
--- stream_response
ran
