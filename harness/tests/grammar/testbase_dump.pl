# Prints what Test::Base makes of a .t file: each block's name and description, then each
# section's value after filters, hex-encoded. harness/tests/grammar.rs compares strait's
# parser with this output (or with the checked-in .expected file it produced).
use strict;
use warnings;
use Test::Base;

sub enc {
    my $v = shift;
    return 'U' unless defined $v;
    return 'L' . join(',', map { enc($_) } @$v) . ';' if ref $v eq 'ARRAY';
    return 'R' . unpack('H*', "$v") if ref $v eq 'Regexp';
    # A string holding a wide character is printed UTF-8 encoded, every character of it.
    my $bytes = $v;
    utf8::encode($bytes) if $bytes =~ /[^\x00-\xff]/;
    return 'S' . unpack('H*', $bytes);
}

no_diag_on_only();
spec_file($ARGV[0]);
for my $block (blocks()) {
    print "B ", unpack('H*', $block->name), " ", unpack('H*', $block->description), "\n";
    for my $s (sort keys %{ $block->{_section_map}[0] }) {
        my @v = $block->$s;
        print "  $s ", enc($v[0]), "\n";
    }
}
Test::More::plan(tests => 1);
Test::More::pass("dumped");
