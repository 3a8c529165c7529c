//! The Test::Base grammar checked against Test::Base itself: `tests/grammar/*.t` parsed by
//! strait's runner must give what Test::Base 0.89 gives. With Perl's Test::Base installed
//! (`apt-get install libtest-base-perl`) the comparison is live; without it the checked-in
//! `.expected` file (produced by `testbase_dump.pl`) stands in, and a notice says so.
//! Regenerate an expected file with
//! `perl testbase_dump.pl NAME.t | grep -v "^1\.\.1\|^ok 1" > NAME.expected`.

use std::path::{Path, PathBuf};
use std::process::Command;

use strait_harness::{read_spec, Value};

fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/grammar")
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The eval counter and input handle in Perl's error texts vary; fold them.
fn normalize_eval_error(bytes: &[u8]) -> Vec<u8> {
    let re = regex::bytes::Regex::new(r"\(eval \d+\) line 1(?:, <DATA> line \d+)?\.").unwrap();
    re.replace_all(bytes, &b"(eval N) line 1."[..]).into_owned()
}

fn encode(value: &Value) -> String {
    match value {
        Value::Str(bytes) => format!("S{}", hex(&normalize_eval_error(bytes))),
        Value::List(items) => {
            format!("L{};", items.iter().map(encode).collect::<Vec<_>>().join(","))
        }
        Value::Regex(re) => format!("R{}", hex(re.to_string().as_bytes())),
    }
}

/// strait's reading of a fixture, in testbase_dump.pl's format.
fn strait_dump(path: &Path) -> String {
    let spec = read_spec(path).unwrap();
    let mut out = String::new();
    for block in &spec.blocks {
        out.push_str(&format!(
            "B {} {}\n",
            hex(block.name.as_bytes()),
            hex(block.description.as_bytes())
        ));
        // Sections with a value, and those Test::Base leaves undefined (`U`).
        let mut names: Vec<&str> = block.sections.iter().map(|s| s.name.as_str()).collect();
        names.extend(block.undefined.iter().map(String::as_str));
        names.sort_unstable();
        names.dedup();
        for name in names {
            let value = block.get(name).map(encode).unwrap_or_else(|| "U".into());
            out.push_str(&format!("  {name} {value}\n"));
        }
    }
    out
}

/// Test::Base's reading, normalized like strait's; `None` without Perl's Test::Base.
fn test_base_dump(path: &Path) -> Option<String> {
    let available = Command::new("perl").args(["-MTest::Base", "-e", "1"]).output().ok()?;
    if !available.status.success() {
        return None;
    }
    let output =
        Command::new("perl").arg(fixture_dir().join("testbase_dump.pl")).arg(path).output().ok()?;
    Some(normalize_dump(&String::from_utf8(output.stdout).unwrap()))
}

/// A dump's block and section lines, with Perl's eval error texts folded.
fn normalize_dump(text: &str) -> String {
    let mut out = String::new();
    for line in text.lines().filter(|l| l.starts_with('B') || l.starts_with("  ")) {
        // Re-encode string values with the eval error folded.
        let folded = line
            .split(' ')
            .map(|word| match word.strip_prefix('S') {
                Some(h) if h.len() % 2 == 0 && h.bytes().all(|b| b.is_ascii_hexdigit()) => {
                    let bytes: Vec<u8> = (0..h.len())
                        .step_by(2)
                        .map(|i| u8::from_str_radix(&h[i..i + 2], 16).unwrap())
                        .collect();
                    format!("S{}", hex(&normalize_eval_error(&bytes)))
                }
                _ => word.to_string(),
            })
            .collect::<Vec<_>>()
            .join(" ");
        out.push_str(&folded);
        out.push('\n');
    }
    out
}

/// Compares strait's reading of `tests/grammar/NAME.t` with Test::Base's.
fn check_fixture(name: &str) {
    let fixture = fixture_dir().join(format!("{name}.t"));
    let expected_file = fixture_dir().join(format!("{name}.expected"));
    let checked_in = normalize_dump(&std::fs::read_to_string(&expected_file).unwrap());
    let ours = strait_dump(&fixture);

    match test_base_dump(&fixture) {
        Some(live) => {
            assert_eq!(live, checked_in, "{name}.expected is stale: regenerate it");
            assert_eq!(ours, live, "strait's reading of {name}.t differs from Test::Base's");
        }
        None => {
            eprintln!(
                "NOTICE: Perl's Test::Base is not installed; comparing with the checked-in \
                 {} instead of a live run",
                expected_file.display()
            );
            assert_eq!(ours, checked_in, "strait's reading of {name}.t differs from Test::Base's");
        }
    }
}

/// Trailing newlines, inline values, filters (`chomp`, `chop`, `-trim`, `+name`), repeated
/// sections, eval literals and the strict bareword, SKIP and LAST.
#[test]
fn edge_cases_read_as_test_base_reads_them() {
    check_fixture("edge-cases");
}

/// ONLY wins over SKIP and LAST wherever it is.
#[test]
fn only_reads_as_test_base_reads_it() {
    check_fixture("only");
}

/// CRLF line endings: names and filters keep a CR, `norm` turns bodies into LF.
#[test]
fn crlf_reads_as_test_base_reads_it() {
    check_fixture("crlf");
}

/// eval literals beyond strings: numbers in every literal form (hex, octal, binary,
/// underscores, negative, floats printed as Perl prints them) and as repetition counts;
/// regexes with escaped delimiters and every flag, stringified as Perl does; lists through
/// `lines` and `join`.
#[test]
fn eval_literals_read_as_test_base_reads_them() {
    check_fixture("eval-literals");
}

/// eval literals the evaluator once refused: `q`/`qq`/`qr` with any delimiter (`#`,
/// nesting brackets), string repetition counts, `(LIST) x N`, braced escapes that end at a
/// non-digit, and empty eval bodies, which leave the section undefined.
#[test]
fn eval_quoting_reads_as_test_base_reads_it() {
    check_fixture("eval-quoting");
}
