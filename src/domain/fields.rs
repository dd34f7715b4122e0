//! Scalar fields: free text, URLs, time zones, locales, identifiers.

use crate::error::AppError;

pub const MAX_TEXT: usize = 1_000;
pub const MAX_DESCRIPTION: usize = 10_000;
pub const MAX_URL: usize = 2_048;
pub const MAX_NAME: usize = 255;

/// Trimmed text, line ends normalised to LF (CRLF from Windows, HTML forms
/// and Excel cells, or a lone CR, each become one `\n`); `None` when empty
/// (the caller turns that into a removal). Other control characters than
/// LF and tab are BAD_USER_INPUT.
pub fn text(field: &str, value: &str, max_chars: usize) -> Result<Option<String>, AppError> {
    let unified;
    let value = if value.contains('\r') {
        unified = value.replace("\r\n", "\n").replace('\r', "\n");
        unified.trim()
    } else {
        value.trim()
    };
    if value.is_empty() {
        return Ok(None);
    }
    if value.chars().count() > max_chars {
        return Err(AppError::bad_input(
            field,
            format!("{field}: longer than {max_chars} characters"),
        ));
    }
    if value
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err(AppError::bad_input(
            field,
            format!("{field}: contains control characters"),
        ));
    }
    Ok(Some(value.to_owned()))
}

/// One line of text (`text` without line ends or tabs): what is looked up or
/// filtered by whole (externalId, group names), since a lookup or filter
/// refuses control characters and could never find such a value.
pub fn line(field: &str, value: &str, max_chars: usize) -> Result<Option<String>, AppError> {
    let value = text(field, value, max_chars)?;
    if value.as_deref().is_some_and(|v| v.contains(['\n', '\t'])) {
        return Err(AppError::bad_input(
            field,
            format!("{field}: must be one line (no line ends or tabs)"),
        ));
    }
    Ok(value)
}

/// An absolute http(s) URL, kept as written (trimmed).
pub fn url(field: &str, value: &str) -> Result<Option<String>, AppError> {
    let Some(value) = text(field, value, MAX_URL)? else {
        return Ok(None);
    };
    match url::Url::parse(&value) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => Ok(Some(value)),
        _ => Err(AppError::bad_input(
            field,
            format!("{field}: {value:?} is not an absolute http(s) URL"),
        )),
    }
}

/// An IANA zone name (Europe/Berlin, UTC) or a UTC offset (+02:00).
pub fn timezone(field: &str, value: &str) -> Result<Option<String>, AppError> {
    let Some(value) = text(field, value, 64)? else {
        return Ok(None);
    };
    if value.parse::<chrono_tz::Tz>().is_ok() || is_utc_offset(&value) {
        return Ok(Some(value));
    }
    Err(AppError::bad_input(
        field,
        format!("{field}: {value:?} is neither an IANA time zone nor a UTC offset like +02:00"),
    ))
}

fn is_utc_offset(value: &str) -> bool {
    let b = value.as_bytes();
    if b.len() != 6 || !matches!(b[0], b'+' | b'-') || b[3] != b':' {
        return false;
    }
    let digits = [b[1], b[2], b[4], b[5]];
    if !digits.iter().all(u8::is_ascii_digit) {
        return false;
    }
    let hours = (b[1] - b'0') * 10 + (b[2] - b'0');
    let minutes = (b[4] - b'0') * 10 + (b[5] - b'0');
    minutes < 60 && (hours < 14 || (hours == 14 && minutes == 0))
}

/// A BCP 47 language tag; the POSIX spelling en_US is accepted and kept.
pub fn locale(field: &str, value: &str) -> Result<Option<String>, AppError> {
    let Some(value) = text(field, value, 64)? else {
        return Ok(None);
    };
    let valid = language_tags::LanguageTag::parse(&value.replace('_', "-"))
        .map(|tag| tag.is_valid())
        .unwrap_or(false);
    if valid {
        Ok(Some(value))
    } else {
        Err(AppError::bad_input(
            field,
            format!("{field}: {value:?} is not a BCP 47 language tag such as en-US"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_ends_become_lf() {
        let t = |v: &str| text("f", v, 100).unwrap();
        assert_eq!(t("a\r\nb").as_deref(), Some("a\nb"));
        assert_eq!(t("a\rb\r\n\r\nc").as_deref(), Some("a\nb\n\nc"));
        assert_eq!(t("\r\n").as_deref(), None);
        assert!(text("f", "a\u{7}b", 100).is_err());
    }

    #[test]
    fn text_trims_and_treats_blank_as_removal() {
        assert_eq!(text("f", "  Ada ", 10).unwrap().as_deref(), Some("Ada"));
        assert_eq!(text("f", "   ", 10).unwrap(), None);
        let err = text("input.title", "x".repeat(11).as_str(), 10).unwrap_err();
        assert_eq!(err.field(), Some("input.title"));
        assert!(text("f", "a\u{0}b", 10).is_err());
    }

    #[test]
    fn urls_must_be_absolute_http() {
        assert!(url("f", "https://example.org/a.jpg").unwrap().is_some());
        assert!(url("f", "ftp://example.org").is_err());
        assert!(url("f", "example.org").is_err());
        assert!(url("f", "javascript:alert(1)").is_err());
    }

    #[test]
    fn timezones_accept_iana_names_and_offsets() {
        for ok in [
            "Europe/Berlin",
            "UTC",
            "America/New_York",
            "+02:00",
            "-05:30",
            "+14:00",
        ] {
            assert!(timezone("f", ok).unwrap().is_some(), "{ok}");
        }
        for bad in ["Mars/Olympus", "+2", "+15:00", "+02:60", "GMT+2x"] {
            assert!(timezone("f", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn locales_accept_both_spellings() {
        for ok in ["en_US", "en-US", "de", "zh-Hant-TW"] {
            assert!(locale("f", ok).unwrap().is_some(), "{ok}");
        }
        for bad in ["english", "en__US", "12"] {
            assert!(locale("f", bad).is_err(), "{bad}");
        }
    }
}
