# eval literals Test::Base reads and strait's evaluator once refused: q, qq and qr with any
# delimiter, string repetition counts, list repetition, braced escapes that end early,
# and empty eval bodies (undefined sections). Compared with Test::Base 0.89.
use Test::Nginx::Socket::Lua::Stream;
run_tests();

__DATA__

=== TEST 1: quote delimiters
--- qr_hash eval
qr#a/b#
--- qq_hash eval
qq#a\#b#
--- q_hash eval
q#a\#b#
--- qq_parens eval
qq(a(b)c)
--- q_angle eval
q<a<b>c>
--- qr_brackets eval
qr[a[b]c]
--- q_brace_escapes eval
q{a\{b\}c\\d}
--- qq_brace_escape eval
qq{a\}b\{c}
--- qq_pipe eval
qq|a\|b|
--- qr_hash_flags eval
qr#a#i
--- q_spaced eval
q <a>
--- qq_spaced_hash eval
qq
#x
(y)

=== TEST 2: repetition counts and lists
--- str_count eval
"a" x "3"
--- str_count_space eval
"a" x " 3 "
--- str_count_frac eval
"a" x "2.9"
--- str_count_single eval
"a" x '2'
--- str_count_exp eval
"a" x "1e1"
--- str_count_hex eval
"a" x "0x3"
--- str_count_plus eval
"a" x "+2"
--- str_count_concat eval
"a" x "2" . "b"
--- list_first eval
("a", "b") x 2
--- list_join eval join
("a", "b") x 2
--- list_single_join eval join
("a") x 3
--- list_ref eval
[("a", "b") x 2]
--- list_ref_regex eval
[("a", qr/b/) x 2, "c"]
--- list_zero eval join
("a", "b") x 0

=== TEST 3: escapes that end early
--- x_nonhex eval
"\x{zz}a"
--- x_partial eval
"\x{4z}a"
--- x_underscore eval
"\x{4_1}"
--- x_spaces eval
"\x{ 41 }"
--- o_nonoct eval
"\o{18}"

=== TEST 4: empty eval bodies are undefined
--- empty eval
--- empty_list eval
()
--- empty_join eval join
()
--- after
kept
