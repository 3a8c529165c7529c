//! Perl's numeric literals (`65`, `0x41`, `0b101`, `017`, `0o17`, `1_000`, `1.5`, `.5`,
//! `1e3`) and the way Perl prints a number (integers in full, floating-point values as
//! `%.15g`, `Inf`, `NaN`).

/// A Perl number: an integer in Perl's IV/UV range, or a floating-point value (NV).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Number {
    /// An integer from `i64::MIN` to `u64::MAX`.
    Int(i128),
    /// Anything else: fractions, exponents, integers beyond 64 bits.
    Float(f64),
}

impl Number {
    /// An integer, held as Perl holds it: beyond 64 bits it becomes an NV.
    fn int(value: i128) -> Number {
        if (i128::from(i64::MIN)..=i128::from(u64::MAX)).contains(&value) {
            Number::Int(value)
        } else {
            Number::Float(value as f64)
        }
    }

    /// Unary minus.
    pub(super) fn negate(self) -> Number {
        match self {
            Number::Int(i) => Number::int(-i),
            Number::Float(f) => Number::Float(-f),
        }
    }

    /// The value as a floating-point number (for arithmetic on repetition counts).
    pub(super) fn to_f64(self) -> f64 {
        match self {
            Number::Int(i) => i as f64,
            Number::Float(f) => f,
        }
    }

    /// The text Perl prints for the number.
    pub(super) fn to_perl_string(self) -> String {
        match self {
            Number::Int(i) => i.to_string(),
            Number::Float(f) => float_string(f),
        }
    }
}

/// How Perl prints an NV: `%.15g`, except that zero of either sign is `0` and the
/// non-finite values are `Inf`, `-Inf` and `NaN`.
fn float_string(value: f64) -> String {
    if value.is_nan() {
        return "NaN".into();
    }
    if value.is_infinite() {
        return if value > 0.0 { "Inf".into() } else { "-Inf".into() };
    }
    if value == 0.0 {
        return "0".into();
    }

    // %g with 15 significant digits: the exponent after rounding picks the notation.
    let scientific = format!("{value:.14e}");
    let (mantissa, exponent) = scientific.split_once('e').unwrap_or((&scientific, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    if (-4..15).contains(&exponent) {
        let decimals = usize::try_from(14 - exponent).unwrap_or(0);
        trim_fraction(&format!("{value:.decimals$}"))
    } else {
        let sign = if exponent < 0 { '-' } else { '+' };
        format!("{}e{sign}{:02}", trim_fraction(mantissa), exponent.abs())
    }
}

/// Drops trailing zeros of a fraction, and the point when nothing is left after it.
fn trim_fraction(text: &str) -> String {
    if !text.contains('.') {
        return text.to_owned();
    }
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// Reads the numeric literal at the start of `src` (a digit, or `.` and a digit): the number
/// and how many bytes it used. Literals Perl refuses at compile time (`08`, `0x` without
/// digits) and forms the evaluator does not implement (hexadecimal floats, version strings
/// such as `1.2.3`) are errors naming the reason.
pub(super) fn literal(src: &[u8]) -> Result<(Number, usize), String> {
    match (src.first(), src.get(1).map(u8::to_ascii_lowercase)) {
        (Some(b'0'), Some(b'x')) => radix_literal(src, 2, 16, "hexadecimal"),
        (Some(b'0'), Some(b'b')) => radix_literal(src, 2, 2, "binary"),
        (Some(b'0'), Some(b'o')) => radix_literal(src, 2, 8, "octal"),
        (Some(b'0'), Some(c)) if c.is_ascii_digit() || c == b'_' => {
            radix_literal(src, 1, 8, "octal")
        }
        _ => decimal_literal(src),
    }
}

/// `0x...`, `0b...`, `0o...` and `0...`: digits of `radix` after a prefix of `skip` bytes.
fn radix_literal(
    src: &[u8],
    skip: usize,
    radix: u32,
    name: &str,
) -> Result<(Number, usize), String> {
    // Digits and underscores; a decimal digit beyond the radix is Perl's compile error.
    let mut pos = skip;
    let mut value: i128 = 0;
    let mut overflow: f64 = 0.0;
    let mut digits = 0;
    while let Some(&c) = src.get(pos) {
        if c == b'_' {
            pos += 1;
            continue;
        }
        let Some(digit) = (c as char).to_digit(16).filter(|_| c.is_ascii_hexdigit()) else {
            break;
        };
        if digit >= radix {
            if radix == 16 || !c.is_ascii_digit() {
                break;
            }
            return Err(format!("Illegal {name} digit '{}'", c as char));
        }
        value = value.saturating_mul(i128::from(radix)).saturating_add(i128::from(digit));
        overflow = overflow * f64::from(radix) + f64::from(digit);
        digits += 1;
        pos += 1;
    }
    if digits == 0 && skip == 2 {
        return Err(format!("No digits found for {name} literal"));
    }

    // `0x1p3` and `0x1.8p1` are hexadecimal floats; `0x10.5` is `0x10 . 5`.
    if radix == 16 {
        let mut end = pos;
        if src.get(end) == Some(&b'.') {
            end += 1;
            while src.get(end).is_some_and(|c| c.is_ascii_hexdigit() || *c == b'_') {
                end += 1;
            }
        }
        if matches!(src.get(end), Some(b'p' | b'P')) {
            return Err("hexadecimal floating-point literals".into());
        }
    }

    // Beyond 64 bits Perl warns and goes on with a floating-point value.
    let number =
        if value > i128::from(u64::MAX) { Number::Float(overflow) } else { Number::Int(value) };
    Ok((number, pos))
}

/// `1_000`, `1.5`, `1.`, `.5`, `1e3`, `1.5E-3`: digits, a fraction, an exponent.
fn decimal_literal(src: &[u8]) -> Result<(Number, usize), String> {
    let digits_at = |mut pos: usize, out: &mut String| {
        while let Some(&c) = src.get(pos) {
            if c.is_ascii_digit() {
                out.push(c as char);
            } else if c != b'_' {
                break;
            }
            pos += 1;
        }
        pos
    };

    // The integer part, then a fraction when the point is not the start of `..`.
    let mut integer = String::new();
    let mut pos = digits_at(0, &mut integer);
    let mut fraction = None;
    if src.get(pos) == Some(&b'.') && src.get(pos + 1) != Some(&b'.') {
        let mut digits = String::new();
        pos = digits_at(pos + 1, &mut digits);
        fraction = Some(digits);
        if src.get(pos) == Some(&b'.') && src.get(pos + 1).is_some_and(u8::is_ascii_digit) {
            return Err("version strings (v-strings)".into());
        }
    }

    // An exponent only when digits follow the `e` (and its sign).
    let mut exponent = None;
    if matches!(src.get(pos), Some(b'e' | b'E')) {
        let sign = matches!(src.get(pos + 1), Some(b'+' | b'-'));
        let first = pos + 1 + usize::from(sign);
        if src.get(first).is_some_and(u8::is_ascii_digit) {
            let mut digits = String::new();
            if src.get(pos + 1) == Some(&b'-') {
                digits.push('-');
            }
            pos = digits_at(first, &mut digits);
            exponent = Some(digits);
        }
    }

    // An integer literal stays an integer; anything with a point or exponent is an NV.
    let number = match (&fraction, &exponent) {
        (None, None) => match integer.parse::<i128>() {
            Ok(value) => Number::int(value),
            Err(_) => Number::Float(integer.parse().unwrap_or(f64::INFINITY)),
        },
        _ => {
            let text = format!(
                "{}.{}e{}",
                if integer.is_empty() { "0" } else { &integer },
                fraction.as_deref().filter(|f| !f.is_empty()).unwrap_or("0"),
                exponent.as_deref().unwrap_or("0")
            );
            Number::Float(text.parse().map_err(|_| format!("bad number {text}"))?)
        }
    };
    Ok((number, pos))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The printed value and the bytes used.
    fn read(src: &str) -> (String, usize) {
        let (number, used) = literal(src.as_bytes()).unwrap();
        (number.to_perl_string(), used)
    }

    #[test]
    fn integers_in_every_radix() {
        assert_eq!(read("0x41"), ("65".into(), 4));
        assert_eq!(read("0X1_F"), ("31".into(), 5));
        assert_eq!(read("0b101"), ("5".into(), 5));
        assert_eq!(read("017"), ("15".into(), 3));
        assert_eq!(read("0o17"), ("15".into(), 4));
        assert_eq!(read("07_7"), ("63".into(), 4));
        assert_eq!(read("1_000"), ("1000".into(), 5));
        assert_eq!(read("0"), ("0".into(), 1));
        assert_eq!(read("0x41x2"), ("65".into(), 4));
        assert_eq!(read("0x10.5"), ("16".into(), 4));
        assert_eq!(read("017.5"), ("15".into(), 3));
    }

    #[test]
    fn integers_beyond_64_bits_become_floats() {
        assert_eq!(read("18446744073709551615").0, "18446744073709551615");
        assert_eq!(read("18446744073709551616").0, "1.84467440737096e+19");
        assert_eq!(read("0xffffffffffffffffff").0, "4.72236648286965e+21");
        let (min, _) = literal(b"9223372036854775808").unwrap();
        assert_eq!(min.negate().to_perl_string(), "-9223372036854775808");
        let (below, _) = literal(b"9223372036854775809").unwrap();
        assert_eq!(below.negate().to_perl_string(), "-9.22337203685478e+18");
    }

    #[test]
    fn floats_print_as_percent_15g() {
        for (src, printed) in [
            ("1.5", "1.5"),
            ("1.50", "1.5"),
            (".5", "0.5"),
            ("1.", "1"),
            ("1.e3", "1000"),
            ("1e3", "1000"),
            ("1E+3", "1000"),
            ("1.5e-5", "1.5e-05"),
            ("0.0001", "0.0001"),
            ("0.00001", "1e-05"),
            ("1e15", "1e+15"),
            ("1e21", "1e+21"),
            ("123456789012345.6", "123456789012346"),
            ("12345678901234.25", "12345678901234.2"),
            ("1.23456789012345678", "1.23456789012346"),
            ("3.14_15", "3.1415"),
            ("1e1_0", "10000000000"),
            ("0.0", "0"),
            ("1e400", "Inf"),
        ] {
            assert_eq!(read(src).0, printed, "{src}");
        }
        assert_eq!(Number::Float(-0.0).to_perl_string(), "0");
        assert_eq!(Number::Float(f64::NEG_INFINITY).to_perl_string(), "-Inf");
    }

    #[test]
    fn ends_where_perl_ends_the_literal() {
        assert_eq!(read("1..5"), ("1".into(), 1));
        assert_eq!(read("1e"), ("1".into(), 1));
        assert_eq!(read("1x3"), ("1".into(), 1));
    }

    #[test]
    fn refuses_what_perl_refuses_or_the_evaluator_lacks() {
        assert_eq!(literal(b"08").unwrap_err(), "Illegal octal digit '8'");
        assert_eq!(literal(b"0b12").unwrap_err(), "Illegal binary digit '2'");
        assert_eq!(literal(b"0x").unwrap_err(), "No digits found for hexadecimal literal");
        assert!(literal(b"0x1p3").is_err());
        assert!(literal(b"0x1.8p1").is_err());
        assert!(literal(b"1.2.3").is_err());
    }
}
