//! Channel handles: the same normalisation wherever a handle appears (writes,
//! lookups, matching), so that every spelling of a number finds one contact.

use phonenumber::Mode;

use super::Rules;
use crate::error::AppError;

const MAX_SOURCE: usize = 64;
const MAX_HANDLE: usize = 320;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NormalizedHandle {
    pub source: String,
    pub handle: String,
    /// What `search` matches: digits for phones, the lower-cased handle otherwise.
    pub search_key: String,
}

/// A source is lower-case `[a-z0-9_.-]+`; input is trimmed and lower-cased first.
pub fn normalize_source(field: &str, source: &str) -> Result<String, AppError> {
    let source = source.trim().to_ascii_lowercase();
    let valid = !source.is_empty()
        && source.len() <= MAX_SOURCE
        && source.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'_' | b'.' | b'-')
        });
    if valid {
        Ok(source)
    } else {
        Err(AppError::bad_input(
            field,
            format!("{field}: source must match [a-z0-9_.-]+ (at most {MAX_SOURCE} characters)"),
        ))
    }
}

/// Validates and normalises one handle. `field` is the path of the handle
/// itself (e.g. input.via.0.handle); `source` must already be normalised.
pub fn normalize_handle(
    rules: &Rules,
    field: &str,
    source: &str,
    handle: &str,
) -> Result<NormalizedHandle, AppError> {
    let raw = handle.trim();
    if raw.is_empty() {
        return Err(AppError::bad_input(
            field,
            format!("{field}: must not be empty"),
        ));
    }
    if raw.chars().count() > MAX_HANDLE || raw.chars().any(char::is_control) {
        return Err(AppError::bad_input(
            field,
            format!("{field}: at most {MAX_HANDLE} printable characters"),
        ));
    }
    let handle = match source {
        "phone" | "sms" | "whatsapp" => phone(rules, field, raw)?,
        "email" => email(field, raw)?,
        "twitter" => twitter(field, raw)?,
        _ => raw.to_owned(),
    };
    let search_key = if handle.starts_with('+') && source != "twitter" && is_e164(&handle) {
        handle.chars().filter(char::is_ascii_digit).collect()
    } else {
        handle.to_lowercase()
    };
    Ok(NormalizedHandle {
        source: source.to_owned(),
        handle,
        search_key,
    })
}

fn is_e164(s: &str) -> bool {
    s.len() > 1 && s[1..].bytes().all(|b| b.is_ascii_digit())
}

fn phone(rules: &Rules, field: &str, raw: &str) -> Result<String, AppError> {
    let invalid = || {
        AppError::bad_input(
            field,
            format!(
                "{field}: {raw:?} is not a valid phone number (write it in E.164, e.g. +12345678900, \
                 or in the server's default region {:?})",
                rules.default_region
            ),
        )
    };
    let number = phonenumber::parse(Some(rules.default_region), raw).map_err(|_| invalid())?;
    if !phonenumber::is_valid(&number) {
        return Err(invalid());
    }
    Ok(number.format().mode(Mode::E164).to_string())
}

fn email(field: &str, raw: &str) -> Result<String, AppError> {
    let lowered = raw.to_lowercase();
    if email_address::EmailAddress::is_valid(&lowered) {
        Ok(lowered)
    } else {
        Err(AppError::bad_input(
            field,
            format!("{field}: {raw:?} is not an email address"),
        ))
    }
}

fn twitter(field: &str, raw: &str) -> Result<String, AppError> {
    let name = raw.strip_prefix('@').unwrap_or(raw);
    let valid = !name.is_empty()
        && name.len() <= 15
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if valid {
        // Twitter names are case-insensitive: one spelling per account.
        Ok(format!("@{}", name.to_ascii_lowercase()))
    } else {
        Err(AppError::bad_input(
            field,
            format!(
                "{field}: {raw:?} is not a Twitter handle (@name, up to 15 letters, digits or _)"
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(source: &str, handle: &str) -> Result<NormalizedHandle, AppError> {
        normalize_handle(&Rules::default(), "h", source, handle)
    }

    #[test]
    fn phones_become_e164_whatever_the_formatting() {
        for spelling in [
            "+1 (617) 253-1000",
            "+16172531000",
            "617-253-1000",
            "(617) 253 1000",
        ] {
            let h = norm("phone", spelling).unwrap();
            assert_eq!(h.handle, "+16172531000", "{spelling}");
            assert_eq!(h.search_key, "16172531000");
        }
        assert_eq!(
            norm("phone", "+49 30 901820").unwrap().handle,
            "+4930901820"
        );
        assert!(norm("phone", "12").is_err());
        assert!(norm("phone", "not a number").is_err());
    }

    #[test]
    fn default_region_applies_to_numbers_without_plus() {
        let rules = Rules {
            default_region: phonenumber::country::Id::DE,
            ..Rules::default()
        };
        let h = normalize_handle(&rules, "h", "phone", "030 901820").unwrap();
        assert_eq!(h.handle, "+4930901820");
    }

    #[test]
    fn emails_are_trimmed_and_lower_cased() {
        assert_eq!(
            norm("email", "  B.Liskov@MIT.org ").unwrap().handle,
            "b.liskov@mit.org"
        );
        assert!(norm("email", "not-an-email").is_err());
    }

    #[test]
    fn twitter_gets_a_leading_at() {
        assert_eq!(norm("twitter", "BarbaraL").unwrap().handle, "@barbaral");
        assert_eq!(norm("twitter", "@barbaral").unwrap().handle, "@barbaral");
        assert!(norm("twitter", "has space").is_err());
    }

    #[test]
    fn other_sources_are_kept_trimmed() {
        let h = norm("facebook", " 1234567890 ").unwrap();
        assert_eq!(h.handle, "1234567890");
        assert!(norm("custom", "  ").is_err());
    }

    #[test]
    fn sources_are_checked() {
        assert_eq!(normalize_source("s", " Front_Chat ").unwrap(), "front_chat");
        assert_eq!(normalize_source("s", "twilio.sms").unwrap(), "twilio.sms");
        let err = normalize_source("input.via.0.source", "a b").unwrap_err();
        assert_eq!(err.field(), Some("input.via.0.source"));
    }
}
