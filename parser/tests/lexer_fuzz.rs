//! A bounded byte-level fuzzer for the parser, runnable on stable Rust in `cargo test`
//! (the libFuzzer target in `fuzz/` needs nightly; this one runs everywhere).
//!
//! Seeds (configuration snippets covering every lexer rule, and the corpus files in
//! `testdata/corpus/` when present) are mutated byte-wise: flips, inserts of the lexer's
//! special bytes, deletions, duplications, splices and truncations. Every input is parsed
//! as a file and as a `-g` string, and both are judged by the checks `strait -t` runs
//! (`check::review`, isolated: no host name is resolved, no file opened); nothing may
//! panic, every argument compiles as a template or fails with an error, and what parses
//! must print and parse back to the same values. The run is bounded in count
//! (`STRAIT_FUZZ_INPUTS`, default 20 000) and in time (60 s); `STRAIT_FUZZ_SEED` picks
//! another sequence of mutations.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::time::{Duration, Instant};

use strait_parser::check::{review, CheckOptions};
use strait_parser::print::print_block;
use strait_parser::{parse_bytes_partial, Block, ParseOptions, Template};

/// A small deterministic generator (xorshift64*), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const SPECIAL: &[u8] = b"\"'\\;{}#$ \t\r\n()[]=-ntr\xe9\x00";

const SEEDS: &[&[u8]] = &[
    b"events {}\nenv a\\\"b 'c d' \"e\\nf\" a#b a}b a${b}c;\n",
    b"stream {\n  map $ssl_preread_server_name $cert {\n    hostnames;\n    \
      \\default \"data:-----BEGIN\nX\n-----END\";\n  }\n  \
      server { listen 127.0.0.1:9000 ssl; proxy_pass $u; }\n}\n",
    b"http { server { location ~* \"\\.(png|jpg)$\" { if ($a = \"x\") { return 200 'ok'; } } } }\n",
    b"http { server { location / { content_by_lua_block { ngx.say(\"}\") -- }\n \
      local t = {[[}]], '{'} --[==[ } ]==]\n } } } }\n",
    b"http { init_by_lua_block { x = [=[ ]] ]=] } set_by_lua_block $r { return 1 } }\n",
    b"# comment ; { }\nworker_processes 1; # trailing\r\nenv \"multi\nline\";\n",
    b"env x\\",
    b"env \"unterminated;\n",
    b"a \"b\"c;\n",
    b"}\n",
];

/// Loads the corpus files of testdata/ as extra seeds.
fn corpus_seeds() -> Vec<Vec<u8>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/corpus");
    let mut seeds = Vec::new();
    let mut dirs = vec![root];
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "conf") {
                if let Ok(bytes) = std::fs::read(&path) {
                    seeds.push(bytes);
                }
            }
        }
    }
    seeds.sort();
    seeds
}

/// One mutation of `input`, with `other` available for splicing.
fn mutate(rng: &mut Rng, input: &mut Vec<u8>, other: &[u8]) {
    let len = input.len();
    match rng.below(7) {
        0 if len > 0 => {
            let at = rng.below(len);
            input[at] = rng.next() as u8;
        }
        1 => {
            let at = rng.below(len + 1);
            input.insert(at, SPECIAL[rng.below(SPECIAL.len())]);
        }
        2 if len > 0 => {
            let at = rng.below(len);
            let end = (at + 1 + rng.below(16)).min(len);
            input.drain(at..end);
        }
        3 if len > 0 => {
            let at = rng.below(len);
            let end = (at + 1 + rng.below(64)).min(len);
            let copy = input[at..end].to_vec();
            let to = rng.below(len + 1);
            input.splice(to..to, copy);
        }
        4 if !other.is_empty() => {
            let at = rng.below(len + 1);
            let from = rng.below(other.len());
            let end = (from + 1 + rng.below(256)).min(other.len());
            input.splice(at..at, other[from..end].iter().copied());
        }
        5 if len > 0 => input.truncate(rng.below(len)),
        _ => {
            // A long run, to reach the 4096-byte token buffer.
            let at = rng.below(len + 1);
            let byte = if rng.below(2) == 0 { b'x' } else { SPECIAL[rng.below(SPECIAL.len())] };
            input.splice(at..at, std::iter::repeat_n(byte, 4000 + rng.below(200)));
        }
    }
}

/// Keeps the fuzzer from reading files and from the network: `include` of an absolute glob
/// could reach `/dev/zero`, and a `syslog:server=NAME` log target is resolved. Both have
/// their own tests.
fn defuse_includes(input: &mut [u8]) {
    for word in [&b"include"[..], b"syslog"] {
        let hits: Vec<usize> = memchr::memmem::find_iter(input, word).collect();
        for at in hits {
            input[at] = input[at].to_ascii_uppercase();
        }
    }
}

/// A directive in values only: name, arguments, its block's values (as debug text).
type Values = (Vec<u8>, Vec<Vec<u8>>, Option<Vec<u8>>);

/// Values only, for comparing trees.
fn values(block: &Block) -> Vec<Values> {
    block
        .directives
        .iter()
        .map(|d| {
            let args = d.args.iter().map(|a| a.value.clone()).collect();
            let inner = d.block.as_ref().map(|b| format!("{:?}", values(b)).into_bytes());
            (d.name.value.clone(), args, inner)
        })
        .collect()
}

/// Everything the parser offers, on one input; panics on a broken invariant.
fn exercise(input: &[u8]) {
    let path = "/nonexistent/strait-fuzz/nginx.conf";
    let outcome = parse_bytes_partial(input, path, &ParseOptions::default());
    let options = ParseOptions { globals: input.to_vec() };
    let globals = parse_bytes_partial(b"", path, &options);

    // Step: the checks of `strait -t`, as the binary calls them.
    let check = CheckOptions { isolated: true, ..CheckOptions::default() };
    let _ = review(&outcome, &check);
    let _ = review(&globals, &check);

    for file in &outcome.config.files {
        let mut stack = vec![&file.block];
        while let Some(block) = stack.pop() {
            for d in &block.directives {
                for arg in &d.args {
                    let _ = Template::parse(&arg.value);
                }
                stack.extend(d.block.as_ref());
            }
        }
    }

    if outcome.error.is_none() {
        let block = &outcome.config.files[0].block;
        let printed = print_block(block);
        let again = parse_bytes_partial(&printed, path, &ParseOptions::default());
        assert!(again.error.is_none(), "reprint fails: {:?}", again.error);
        assert_eq!(values(&again.config.files[0].block), values(block));
    }
}

#[test]
fn mutated_inputs_never_panic() {
    let limit: usize =
        std::env::var("STRAIT_FUZZ_INPUTS").ok().and_then(|n| n.parse().ok()).unwrap_or(20_000);
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut seeds: Vec<Vec<u8>> = SEEDS.iter().map(|s| s.to_vec()).collect();
    seeds.extend(corpus_seeds());

    let seed = std::env::var("STRAIT_FUZZ_SEED").ok().and_then(|n| n.parse::<u64>().ok());
    let mixed = seed.map(|seed| seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    let mut rng = Rng(mixed.unwrap_or(0x0005_eed0_f574_2a17));
    let mut ran = 0;
    let mut parsed = 0;
    while ran < limit && Instant::now() < deadline {
        // Step: pick a seed and stack a few mutations on it.
        let mut input = seeds[rng.below(seeds.len())].clone();
        let other = seeds[rng.below(seeds.len())].clone();
        for _ in 0..1 + rng.below(8) {
            mutate(&mut rng, &mut input, &other);
        }
        defuse_includes(&mut input);

        // Step: run it; a panic is reported with the input that caused it.
        let result = catch_unwind(AssertUnwindSafe(|| exercise(&input)));
        if let Err(panic) = result {
            let text = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            let saved = std::env::temp_dir().join("strait-fuzz-failure.conf");
            let _ = std::fs::write(&saved, &input);
            panic!(
                "input #{ran} failed: {text}\ninput (saved to {}): {:?}",
                saved.display(),
                String::from_utf8_lossy(&input)
            );
        }
        if parse_bytes_partial(&input, "/x/nginx.conf", &ParseOptions::default()).error.is_none() {
            parsed += 1;
        }
        ran += 1;
    }
    eprintln!("fuzzed {ran} inputs ({parsed} parsed without error); nothing panicked");
    assert!(ran >= 1000, "too few inputs ran in time: {ran}");
}
