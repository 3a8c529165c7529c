# eval literals, each compared with what Test::Base 0.89 and Perl make of them.
use Test::Nginx::Socket::Lua::Stream;
run_tests();

__DATA__

=== TEST 1: numbers
--- hex eval
0x41
--- hex_upper eval
0X1_F
--- hex_repeated eval
0x41 x 2
--- hex_concat eval
0x10.5
--- octal eval
017
--- octal_o eval
0o17
--- octal_underscore eval
07_7
--- octal_concat eval
017.5
--- binary eval
0b101
--- underscores eval
1_000
--- negative eval
-1
--- negative_spaced eval
- 1
--- negative_paren eval
-(1)
--- negative_zero eval
-0
--- negative_hex eval
-0x10
--- float eval
1.5
--- float_negative eval
-1.5
--- float_trailing_zero eval
1.50
--- float_leading_point eval
.5
--- float_trailing_point eval
1.
--- float_exponent eval
1e3
--- float_small eval
1.5e-5
--- float_tiny eval
0.00001
--- float_big eval
1e21
--- float_rounded eval
1.23456789012345678
--- float_tie eval
12345678901234.25
--- uv_max eval
18446744073709551615
--- beyond_uv eval
18446744073709551616
--- iv_min eval
-9223372036854775808
--- below_iv eval
-9223372036854775809
--- infinite eval
1e400
--- number_repeated eval
1x3
--- negative_repeated eval
-1 x 2
--- count_hex eval
"a" x 0x3
--- count_float eval
"a" x 2.7
--- count_negative eval
"a" x -1
--- count_arithmetic eval
"a" x (5/2*2)
--- in_list eval
[1.5, 0x10, -2]

=== TEST 2: regexes
--- escaped_delimiter eval
qr/a\/b/ix
--- escaped_backslash_and_delimiter eval
qr/a\\\/b/
--- other_delimiter eval
qr!a\!b!
--- bracket_delimiter eval
qr{a\}b}
--- bracket_keeps_other_escapes eval
qr{a\/b}
--- single_quote_delimiter eval
qr'a\'b'
--- metachar_delimiter eval
qr|a\|b|
--- flag_p eval
qr/x/p
--- flag_n eval
qr/(x)/n
--- flags_ordered eval
qr/x/msixpn
--- flag_xx eval
qr/x/xix
--- flags_ascii eval
qr/x/aai
--- flags_all_standard eval
qr/x/msixxna
--- flags_repeated eval
qr/x/ssiio

=== TEST 3: lists through filters
--- lines_first lines
one
two
--- lines_joined lines join
one
two
--- eval_joined eval join
"a", "b", 0x41
--- eval_joined_space eval join=\s
"a", "b"
--- eval_joined_comma eval join=,
"a", "b"
--- lines_chomped_joined lines chomp join=\n
x
y
--- joined_regex eval join=-
qr/a\/b/i, 1.5
--- joined_one eval join=-
"only"
--- joined_escapes eval join=\t\e\q\x\c
1, 2
--- joined_equals eval join=a=b
1, 2
--- joined_backslashes eval join=\\
1, 2
--- joined_then_chomp eval join +chomp
"a\n", "b\n"
