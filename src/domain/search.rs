//! Turning a free-text search into LIKE patterns that match literally.

/// Escape character used in every LIKE the service builds.
pub const LIKE_ESCAPE: char = '!';

/// `%text%` for a case-insensitive substring match, with the user's `%`, `_`
/// and the escape character itself matched literally.
pub fn like_contains_pattern(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('%');
    for c in text.to_lowercase().chars() {
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
