# Grammar edge cases, each compared with what Test::Base 0.89 produces.
use Test::Nginx::Socket::Lua::Stream;
run_tests();

__DATA__
text before the first block is ignored

=== TEST 1: trailing newlines   
--- multi
hello


--- inner_blank
a

b

--- leading_blank


  indented first line
--- trailing_spaces
line1   
--- empty
--- last_in_block
x

=== TEST 2: inline values
Some description
  over two lines   

--- a: 200
--- b:   spaced   
--- c: a: b
--- d chomp: kept
--- e chop: hello
--- f:
--- g eval: "x" x 3
--- h eval: qr/foo$/s

=== TEST 3: filters
--- chomped chomp
hello
--- chopped chop
hello
--- no_trim -trim


keep surrounding

--- plus_order +chomp chop
ab
--- cr_norm
a
b
--- (paren) chomp
p
--- repeated
first
--- repeated
second

=== TEST 4: eval literals
--- crlf eval
"a\r\n" . "y" x 3
--- binary eval
"\x10\x0f\x00\xff\x{263A}"
--- escapes eval
"tab\there\0nul\\back\"quote\$dollar\@at\e\101"
--- single eval
'single \n \' \\'
--- list eval
["first", qr/second/i, "third\n"]
--- regex eval
qr{^a.b$}m
--- number eval
1024
--- concat eval
"a" .
"b" . 'c'
--- repeat_expr eval
"-" x (2 * 3 + 1)
--- quote_ops eval
qq{a\n{b}} . q!it's!
--- bareword eval
mmm
--- top_list eval
"first", ("second", "third")
--- nested_list eval
[("a", "b"), "c"]

=== TEST 5: skipped
--- SKIP
--- x
never

=== TEST 6: last
--- y chomp
kept
--- LAST

=== TEST 7: after last
--- x
dropped
