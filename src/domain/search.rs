//! Turning a free-text search into LIKE patterns that match literally.

use crate::error::AppError;

/// Escape character used in every LIKE the service builds.
pub const LIKE_ESCAPE: char = '!';

/// `%text%` for a case-insensitive substring match of folded text
/// (`text_keys::fold`), with the user's `%`, `_` and the escape character
/// itself matched literally.
pub fn like_contains_pattern(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('%');
    for c in entity::text_keys::fold(text).chars() {
        if c == '%' || c == '_' || c == LIKE_ESCAPE {
            out.push(LIKE_ESCAPE);
        }
        out.push(c);
    }
    out.push('%');
    out
}

/// The digits of a search that looks like (part of) a phone number, so that
/// "(617) 253" finds +16172531000. `None` for searches that are not phone-like.
pub fn phone_digits_query(text: &str) -> Option<String> {
    let phone_like = text
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '+' | '-' | '(' | ')' | '.' | '/'));
    let digits: String = text.chars().filter(char::is_ascii_digit).collect();
    (phone_like && !digits.is_empty()).then_some(digits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_are_escaped() {
        assert_eq!(like_contains_pattern("50%_off!"), "%50!%!_off!!%");
        assert_eq!(like_contains_pattern("Ada"), "%ada%");
    }

    #[test]
    fn phone_like_searches_yield_digits() {
        assert_eq!(
            phone_digits_query("(617) 253-1000").as_deref(),
            Some("6172531000")
        );
        assert_eq!(phone_digits_query("+1 617").as_deref(), Some("1617"));
        assert_eq!(phone_digits_query("ada1"), None);
        assert_eq!(phone_digits_query("--"), None);
    }
}

/// Longest search accepted, in characters. A LIKE pattern grows with its
/// text, and SQLite refuses one longer than about 50,000 bytes ("LIKE or GLOB
/// pattern too complex"); nobody types a longer name or address.
pub const MAX_SEARCH_CHARS: usize = 256;

/// Checks a filter's free text: at most `max_chars` characters, no control
/// character (PostgreSQL refuses NUL in text; no stored name, group or type
/// holds one, and the search text separates its fields with one).
/// BAD_USER_INPUT naming `field` otherwise.
pub fn check_filter_text(field: &str, text: &str, max_chars: usize) -> Result<(), AppError> {
    if text.chars().any(char::is_control) {
        return Err(AppError::bad_input(
            field,
            format!("{field} must not contain control characters (NUL, line ends, tabs)"),
        ));
    }
    let chars = text.chars().count();
    if chars > max_chars {
        return Err(AppError::bad_input(
            field,
            format!("{field} is {chars} characters long; at most {max_chars} are accepted"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod filter_text_tests {
    use super::*;

    #[test]
    fn long_or_nul_filter_text_is_refused() {
        assert!(check_filter_text("filter.search", &"é".repeat(256), MAX_SEARCH_CHARS).is_ok());
        let error =
            check_filter_text("filter.search", &"a".repeat(257), MAX_SEARCH_CHARS).unwrap_err();
        assert_eq!(error.field(), Some("filter.search"));
        assert!(check_filter_text("filter.groupName", "a\0b", 1000).is_err());
    }
}
