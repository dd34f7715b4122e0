//! Numbers kept exactly, or refused. JSON and GraphQL numbers become 64-bit
//! integers or doubles when parsed (serde_json, async-graphql), so a number
//! with more digits than those hold (`123456789012345678901234567890`,
//! `3.14159265358979323846`) would silently come back rounded. The
//! transports look at the text before it is parsed: a number that would not
//! come back as written is replaced by a string carrying INEXACT_MARKER,
//! which no client can send (NUL is refused everywhere), and validation
//! refuses it naming the field (`metadata::validate_metadata`).
//!
//! A number comes back as written when it is an integer of at most 64 bits,
//! or when its decimal value is that of the double nearest to it (every
//! double's shortest form, as JavaScript, Python and Rust print them,
//! qualifies: `0.30000000000000004`, `1e20`, `12.50`).

/// Starts the string that stands for an inexact number; the number's text follows.
pub const INEXACT_MARKER: &str = "\u{0}inexact-number:";

/// The JSON text with every inexact number replaced by a marker string, or
/// None when every number is exact (the usual case: nothing is copied).
pub fn mark_inexact_json(text: &str) -> Option<String> {
    mark(text, Syntax::Json)
}

/// The same for a GraphQL document (inline literals).
pub fn mark_inexact_graphql(text: &str) -> Option<String> {
    mark(text, Syntax::GraphQl)
}

#[derive(Clone, Copy, PartialEq)]
enum Syntax {
    Json,
    GraphQl,
}

fn mark(text: &str, syntax: Syntax) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out: Option<String> = None;
    let mut copied = 0;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' if syntax == Syntax::GraphQl && bytes[i..].starts_with(b"\"\"\"") => {
                i = skip_block_string(bytes, i + 3);
            }
            b'"' => i = skip_string(bytes, i + 1),
            b'#' if syntax == Syntax::GraphQl => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            b'-' | b'0'..=b'9' => {
                let end = number_end(bytes, i);
                let token = &text[i..end];
                if end > i && !is_exact(token) {
                    let out = out.get_or_insert_with(|| String::with_capacity(text.len() + 32));
                    out.push_str(&text[copied..i]);
                    out.push('"');
                    out.push_str("\\u0000");
                    out.push_str(&INEXACT_MARKER[1..]);
                    out.push_str(token);
                    out.push('"');
                    copied = end;
                }
                i = end.max(i + 1);
            }
            // A name (GraphQL) or a literal (JSON): its digits are no number.
            b'_' | b'a'..=b'z' | b'A'..=b'Z' => {
                while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                    i += 1;
                }
            }
            _ => i += 1,
        }
    }
    out.map(|mut out| {
        out.push_str(&text[copied..]);
        out
    })
}

/// Index after a string's closing quote (`i` is just after the opening one).
fn skip_string(bytes: &[u8], mut i: usize) -> usize {
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return i + 1,
            _ => i += 1,
        }
    }
    i
}

fn skip_block_string(bytes: &[u8], mut i: usize) -> usize {
    while i < bytes.len() {
        if bytes[i..].starts_with(b"\\\"\"\"") {
            i += 4;
        } else if bytes[i..].starts_with(b"\"\"\"") {
            return i + 3;
        } else {
            i += 1;
        }
    }
    i
}

/// End of the number starting at `i`: -?digits(.digits)?([eE][+-]?digits)?
fn number_end(bytes: &[u8], start: usize) -> usize {
    let digits = |mut i: usize| {
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
        i
    };
    let mut i = start;
    if bytes.get(i) == Some(&b'-') {
        i += 1;
    }
    let int_end = digits(i);
    if int_end == i {
        return start;
    }
    i = int_end;
    if bytes.get(i) == Some(&b'.') {
        let frac_end = digits(i + 1);
        if frac_end > i + 1 {
            i = frac_end;
        }
    }
    if matches!(bytes.get(i), Some(b'e' | b'E')) {
        let mut j = i + 1;
        if matches!(bytes.get(j), Some(b'+' | b'-')) {
            j += 1;
        }
        let exp_end = digits(j);
        if exp_end > j {
            i = exp_end;
        }
    }
    i
}

/// Whether the number `token` is kept as written: a 64-bit integer, or a
/// decimal (an integer beyond 64 bits included: JavaScript prints 2^64 as
/// 18446744073709552000) equal to its nearest double's shortest form.
pub fn is_exact(token: &str) -> bool {
    let is_integer = !token.contains(['.', 'e', 'E']);
    if is_integer && (token.parse::<i64>().is_ok() || token.parse::<u64>().is_ok()) {
        return true;
    }
    let Ok(value) = token.parse::<f64>() else {
        return false;
    };
    if !value.is_finite() {
        return false;
    }
    // `{:e}` prints the double's shortest form, exactly its value.
    decimal(token) == decimal(&format!("{value:e}"))
}

/// (negative, significant digits, exponent of the first digit): one form for
/// every spelling of a decimal value ("12.50", "1.25e1", "0.125e2").
fn decimal(text: &str) -> (bool, String, i64) {
    let (negative, text) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (mantissa, exponent) = match text.find(['e', 'E']) {
        Some(at) => (&text[..at], text[at + 1..].parse::<i64>().unwrap_or(0)),
        None => (text, 0),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let all = format!("{int}{frac}");
    let leading = all.bytes().take_while(|b| *b == b'0').count();
    let digits = all[leading..].trim_end_matches('0').to_owned();
    if digits.is_empty() {
        return (false, String::new(), 0);
    }
    let point = int.len() as i64 - leading as i64 + exponent;
    (negative, digits, point)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_numbers_pass_untouched() {
        for t in [
            "0",
            "-0",
            "7",
            "12.50",
            "0.1",
            "0.30000000000000004",
            "3.141592653589793",
            "1e20",
            // What JavaScript's JSON.stringify prints for 1e20 and 2^64.
            "100000000000000000000",
            "18446744073709552000",
            "1.5e-300",
            "18446744073709551615",
            "-9223372036854775808",
            "0.000",
        ] {
            assert!(is_exact(t), "{t}");
        }
        let body = r#"{"query":"{ a(x: 123456789012345678901234567890) }","variables":{"n":1.5,"s":"99999999999999999999"}}"#;
        assert_eq!(
            mark_inexact_json(body),
            None,
            "numbers inside strings are text"
        );
    }

    #[test]
    fn inexact_numbers_become_marked_strings() {
        for t in [
            "123456789012345678901234567890",
            "3.14159265358979323846",
            "0.10000000000000000001",
            "18446744073709551616",
            "100000000000000000001",
            "1e400",
        ] {
            assert!(!is_exact(t), "{t}");
        }
        let marked = mark_inexact_json(r#"{"a":[1, 3.14159265358979323846],"b":2}"#).unwrap();
        assert_eq!(
            marked,
            r#"{"a":[1, "\u0000inexact-number:3.14159265358979323846"],"b":2}"#
        );
        let value: serde_json::Value = serde_json::from_str(&marked).unwrap();
        assert_eq!(
            value["a"][1],
            format!("{INEXACT_MARKER}3.14159265358979323846")
        );
    }

    #[test]
    fn graphql_documents_are_marked_outside_strings_names_and_comments() {
        let doc =
            "query q1 { a(x: 123456789012345678901234567890, s: \"\"\"1e999\"\"\") # 1e999\n }";
        let marked = mark_inexact_graphql(doc).unwrap();
        assert_eq!(
            marked,
            "query q1 { a(x: \"\\u0000inexact-number:123456789012345678901234567890\", s: \"\"\"1e999\"\"\") # 1e999\n }"
        );
        assert_eq!(mark_inexact_graphql("{ a(first: 10) { b2 } }"), None);
    }
}
