//! libFuzzer target: any bytes, parsed as a configuration file and as a `-g` string and
//! judged by the checks `strait -t` runs (`check::review`, isolated: no host name is
//! resolved, no file opened), must not panic; what parses must print and parse back to the
//! same values.
#![no_main]

use libfuzzer_sys::fuzz_target;
use strait_parser::check::{review, CheckOptions};
use strait_parser::print::print_block;
use strait_parser::{parse_bytes_partial, Block, ParseOptions, Template};

const PATH: &str = "/nonexistent/strait-fuzz/nginx.conf";

/// Values only (names, arguments, nested blocks), for comparing trees.
fn values(block: &Block) -> String {
    let mut out = String::new();
    for d in &block.directives {
        out.push_str(&format!(
            "{:?}{:?}",
            d.name.value,
            d.args.iter().map(|a| &a.value).collect::<Vec<_>>()
        ));
        if let Some(inner) = &d.block {
            out.push_str(&format!("{{{}}}", values(inner)));
        }
    }
    out
}

fuzz_target!(|data: &[u8]| {
    // `include` would read files (an absolute glob could reach /dev/zero) and a
    // `syslog:server=NAME` log target is resolved: both have their own tests.
    if mentions(data, b"include") || mentions(data, b"syslog") {
        return;
    }
    let outcome = parse_bytes_partial(data, PATH, &ParseOptions::default());
    let globals = parse_bytes_partial(b"", PATH, &ParseOptions { globals: data.to_vec() });

    // The checks of `strait -t`, as the binary calls them.
    let check = CheckOptions { isolated: true, ..CheckOptions::default() };
    let _ = review(&outcome, &check);
    let _ = review(&globals, &check);
    if outcome.error.is_none() {
        let block = &outcome.config.files[0].block;
        for d in &block.directives {
            for a in &d.args {
                let _ = Template::parse(&a.value);
            }
        }
        let again = parse_bytes_partial(&print_block(block), PATH, &ParseOptions::default());
        assert!(again.error.is_none(), "reprint fails: {:?}", again.error);
        assert_eq!(values(&again.config.files[0].block), values(block));
    }
});

/// Whether the input mentions `word`.
fn mentions(data: &[u8], word: &[u8]) -> bool {
    data.windows(word.len()).any(|w| w == word)
}
