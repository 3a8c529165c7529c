//! Round trip property: for generated configuration trees (any bytes in names and values,
//! every quoting, nested blocks, Lua bodies, non-UTF-8), printing the tree and parsing the
//! output gives the same tree, in values (locations and quoting style may differ).
//! A second property feeds generated near-configuration text to the parser and, when it
//! parses, checks `parse(print(parse(text))) == parse(text)`.

use proptest::prelude::*;
use strait_parser::print::print_block;
use strait_parser::{parse_bytes, Arg, Block, Directive, Location, ParseOptions, Quote};

/// A directive's shape in values only: name, arguments (value, is Lua), block.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Shape {
    name: Vec<u8>,
    args: Vec<(Vec<u8>, bool)>,
    block: Option<Vec<Shape>>,
}

fn shape(block: &Block) -> Vec<Shape> {
    block
        .directives
        .iter()
        .map(|d| Shape {
            name: d.name.value.clone(),
            args: d.args.iter().map(|a| (a.value.clone(), a.quote == Quote::Lua)).collect(),
            block: d.block.as_ref().map(shape),
        })
        .collect()
}

fn parse(text: &[u8]) -> Result<Block, String> {
    parse_bytes(text, "/nonexistent/strait-prop/nginx.conf", &ParseOptions::default())
        .map(|config| config.files[0].block.clone())
        .map_err(|err| err.to_string())
}

fn arg(value: Vec<u8>, quote: Quote) -> Arg {
    Arg { value, quote, location: Location { file: None, line: 1, column: 1 } }
}

/// Bytes with the lexer's special characters well represented.
fn byte() -> impl Strategy<Value = u8> {
    prop_oneof![
        4 => prop::sample::select(b"abcxyz019_-./:".to_vec()),
        4 => prop::sample::select(b"\"'\\;{}#$ \t\r\n()ntr".to_vec()),
        1 => 0x80u8..=0xff,
        1 => any::<u8>(),
    ]
}

fn value(max: usize) -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(byte(), 0..max)
}

fn quote() -> impl Strategy<Value = Quote> {
    prop_oneof![Just(Quote::None), Just(Quote::Single), Just(Quote::Double)]
}

/// A directive name: not empty, never `include` (it would read files) and not a Lua block.
fn name() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(byte(), 1..12).prop_filter("not include or a Lua block", |n| {
        n != b"include" && !n.ends_with(b"_by_lua_block")
    })
}

/// A balanced Lua body built from pieces that hide braces from a naive reader.
fn lua_body() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop::sample::select(vec![
        &b" local t = {a = 1}\n"[..],
        b" ngx.say(\"}\")",
        b" s = '{\\''",
        b" -- } comment\n",
        b" x = [[ } ]]",
        b" --[==[ { ]==]",
        b"\n",
        b" \xe9 ",
    ]);
    prop::collection::vec(piece, 0..6).prop_map(|pieces| pieces.concat())
}

fn directive_leaf() -> impl Strategy<Value = Directive> {
    (name(), prop::collection::vec((value(10), quote()), 0..5)).prop_map(|(name, args)| Directive {
        name: arg(name, Quote::None),
        args: args.into_iter().map(|(v, q)| arg(v, q)).collect(),
        block: None,
        includes: Vec::new(),
        end_line: 1,
        close_line: 0,
    })
}

fn lua_directive() -> impl Strategy<Value = Directive> {
    (prop::bool::ANY, lua_body()).prop_map(|(with_arg, body)| {
        let mut args = Vec::new();
        let name = if with_arg {
            args.push(arg(b"$res".to_vec(), Quote::None));
            b"set_by_lua_block".to_vec()
        } else {
            b"content_by_lua_block".to_vec()
        };
        args.push(arg(body, Quote::Lua));
        Directive {
            name: arg(name, Quote::None),
            args,
            block: None,
            includes: Vec::new(),
            end_line: 1,
            close_line: 0,
        }
    })
}

fn tree() -> impl Strategy<Value = Block> {
    let leaf = prop_oneof![4 => directive_leaf(), 1 => lua_directive()];
    let directive = leaf.prop_recursive(4, 40, 6, |inner| {
        (directive_leaf(), prop::collection::vec(inner, 0..6)).prop_map(|(mut d, children)| {
            d.block = Some(Block { directives: children });
            d
        })
    });
    prop::collection::vec(directive, 0..8).prop_map(|directives| Block { directives })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    /// print then parse gives the tree back.
    #[test]
    fn printed_trees_parse_back(block in tree()) {
        let text = print_block(&block);
        let parsed = parse(&text);
        prop_assert!(parsed.is_ok(), "printed text does not parse: {:?}\n{}",
            parsed, String::from_utf8_lossy(&text));
        prop_assert_eq!(shape(&parsed.unwrap()), shape(&block));
    }

    /// Text that parses prints to text that parses to the same tree; no text panics.
    #[test]
    fn parsed_text_round_trips(text in config_text()) {
        if let Ok(first) = parse(&text) {
            let printed = print_block(&first);
            let again = parse(&printed);
            prop_assert!(again.is_ok(), "reprint does not parse: {:?}", again);
            prop_assert_eq!(shape(&again.unwrap()), shape(&first));
        }
    }
}

/// A bare word from pieces nginx reads specially inside a token.
fn bare_text() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop::sample::select(vec![
        &b"a"[..],
        b"z9",
        b"_",
        b"$x",
        b"${y}",
        b"\\;",
        b"\\ ",
        b"a#b",
        b"a}b",
        b"\\n",
        b"\\\\",
        b"\xe9",
        b"(",
        b")",
        b"'",
        b"\"",
        b"x{",
    ]);
    prop::collection::vec(piece, 1..5)
        .prop_map(|pieces| pieces.concat())
        .prop_filter("a bare word cannot start with a quote", |w| w[0] != b'"' && w[0] != b'\'')
        .prop_map(|w| if w.ends_with(b"{") { [&w[..], b"}"].concat() } else { w })
        .prop_filter("`x{` ends a bare word unless after `$`", |w| {
            w.windows(2).all(|p| p[1] != b'{' || p[0] == b'$')
        })
}

/// A quoted word: any content, with the quote and backslashes escaped.
fn quoted_text() -> impl Strategy<Value = Vec<u8>> {
    (value(12), prop::bool::ANY).prop_map(|(content, double)| {
        let q = if double { b'"' } else { b'\'' };
        let mut out = vec![q];
        for byte in content {
            if byte == q || byte == b'\\' {
                out.push(b'\\');
            }
            out.push(byte);
        }
        out.push(q);
        out
    })
}

/// What separates words: blanks and comments.
fn blank_text() -> impl Strategy<Value = Vec<u8>> {
    prop::sample::select(vec![&b" "[..], b"\n", b"\t", b"\r\n", b" # comment ; { }\n"])
        .prop_map(<[u8]>::to_vec)
}

/// Statements: words, then `;` or a block of statements (nested up to 3 levels).
fn statements(depth: u32) -> BoxedStrategy<Vec<u8>> {
    let word = prop_oneof![3 => bare_text(), 2 => quoted_text()];
    let words = prop::collection::vec((word, blank_text()), 1..4)
        .prop_map(|words| words.into_iter().flat_map(|(w, b)| [w, b]).collect::<Vec<_>>().concat());
    let end = if depth == 0 {
        Just(b";".to_vec()).boxed()
    } else {
        prop_oneof![
            3 => Just(b";".to_vec()),
            1 => statements(depth - 1).prop_map(|inner| [&b"{"[..], &inner, b"}"].concat()),
        ]
        .boxed()
    };
    prop::collection::vec((words, end, blank_text()), 0..5)
        .prop_map(|stmts| {
            stmts.into_iter().flat_map(|(w, e, b)| [w, e, b]).collect::<Vec<_>>().concat()
        })
        .boxed()
}

/// Configuration text, sometimes with one byte damaged.
fn config_text() -> impl Strategy<Value = Vec<u8>> {
    (statements(3), prop::option::weighted(0.2, (any::<prop::sample::Index>(), byte()))).prop_map(
        |(mut text, damage)| {
            if let (Some((at, byte)), false) = (damage, text.is_empty()) {
                let i = at.index(text.len());
                text[i] = byte;
            }
            text
        },
    )
}

/// The fragment generator is useful only if much of its text parses: check it does.
#[test]
fn fragments_often_parse() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let strategy = config_text();
    let total = 500;
    let parsed = (0..total)
        .filter(|_| {
            let text = strategy.new_tree(&mut runner).expect("generates").current();
            parse(&text).is_ok_and(|block| !block.directives.is_empty())
        })
        .count();
    assert!(parsed * 2 >= total, "only {parsed} of {total} generated texts parse");
}
