# CRLF line endings throughout.
__DATA__

=== TEST 1: crlf
--- a
line one
line two

--- b chomp
x
--- c: inline
--- d eval
"y" x 2
