# ONLY wins over SKIP and LAST, wherever it is.
__DATA__
=== TEST 1: dropped by ONLY
--- x
one
=== TEST 2: skipped
--- SKIP
--- x
two
=== TEST 3: the only one
--- ONLY
--- LAST
--- x chomp
three
=== TEST 4: after ONLY
--- x
four
