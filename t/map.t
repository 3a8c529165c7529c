# map, set, geo and return: variables computed per session and written in responses.
# Run: strait prove t/map.t
use Test::Nginx::Socket::Lua::Stream 'no_plan';
run_tests();

__DATA__

=== TEST 1: return with variables
--- stream_server_config
    return "$remote_addr $protocol $server_addr\n";
--- stream_response
127.0.0.1 TCP 127.0.0.1



=== TEST 2: map on the client address, exact and default
--- stream_config
    map $remote_addr $who {
        127.0.0.1 loopback;
        default   elsewhere;
    }
--- stream_server_config
    return "$who\n";
--- stream_response
loopback



=== TEST 3: map with a regex and its captures
--- stream_config
    map $remote_addr $first_octet {
        ~^(?<octet>\d+)\. "first $octet";
        default none;
    }
--- stream_server_config
    return "$first_octet\n";
--- stream_response
first 127



=== TEST 4: map falls back to default, and default can be a variable
--- stream_config
    map $remote_addr $fallback {
        10.0.0.1 ten;
        default "default for $remote_addr";
    }
--- stream_server_config
    return "$fallback\n";
--- stream_response
default for 127.0.0.1



=== TEST 5: map on the server port tells the stream servers apart
--- stream_config
    map $server_port $role {
        $TEST_NGINX_STREAM_PORT primary;
        default secondary;
    }
--- stream_server_config
    return "$role\n";
--- stream_server_config2
    return "$role\n";
--- stream_response
primary
secondary



=== TEST 6: set assigns a complex value
--- stream_server_config
    set $greeting "hello from $server_addr";
    return "$greeting\n";
--- stream_response
hello from 127.0.0.1



=== TEST 7: geo on the client address
--- stream_config
    geo $net {
        default      outside;
        127.0.0.0/8  loopback;
        10.0.0.0/8   private;
    }
--- stream_server_config
    return "$net\n";
--- stream_response
loopback



=== TEST 8: map with hostnames matches a wildcard
--- stream_config
    map "api.example.com" $site {
        hostnames;
        *.example.com wildcard;
        default       none;
    }
--- stream_server_config
    return "$site\n";
--- stream_response
wildcard



=== TEST 9: an undefined variable stops the configuration
--- stream_server_config
    return "$no_such_variable\n";
--- must_die
--- error_log eval
qr/\[emerg\] .*unknown "no_such_variable" variable/



=== TEST 10: return with an empty value sends nothing
--- stream_config
    map $remote_addr $empty {
        default "";
    }
--- stream_server_config
    return $empty;
--- stream_response



=== TEST 11: map entries from an included file written by user_files
--- user_files
>>> routes.conf 202001010000
127.0.0.1 "from the included file";
--- stream_config
    map $remote_addr $routed {
        include ../html/routes.conf;
        default nowhere;
    }
--- stream_server_config
    return "$routed\n";
--- stream_response
from the included file
