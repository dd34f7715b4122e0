//! Channel handles: the same normalisation wherever a handle appears (writes,
//! lookups, matching), so that every spelling of a number finds one contact.

use super::phone::{self, Phone, PhoneError, MAX_EXTENSION_DIGITS};
use super::Rules;
use crate::error::AppError;

const MAX_SOURCE: usize = 64;
const MAX_HANDLE: usize = 320;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NormalizedHandle {
    pub source: String,
    /// The stored (and matched) form: E.164 for phones, with `;ext=` and the
    /// extension when there is one (RFC 3966), see `Phone::key`.
    pub handle: String,
    /// What `search` matches: digits for phones, the case-folded handle otherwise.
    pub search_key: String,
    /// What it is matched and kept unique by (a phone's national variants
    /// folded together, see `entity::contact_handle::match_key`); None for
    /// a blocked identifier, which matches nobody.
    pub match_key: Option<String>,
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
/// `extension` is the separate `extension` input (phones only); an extension
/// may also be written in the handle (`x201`, `ext. 201`, `;ext=201`).
pub fn normalize_handle(
    rules: &Rules,
    field: &str,
    source: &str,
    handle: &str,
    extension: Option<&str>,
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
    let is_phone = entity::contact_handle::is_phone_source(source);
    let extension_field = extension_path(field);
    if extension.is_some() && !is_phone {
        return Err(AppError::bad_input(
            &extension_field,
            format!("{extension_field}: only phone numbers (phone, sms, whatsapp) have extensions"),
        ));
    }
    let (handle, search_key) = if is_phone {
        let number = phone(rules, field, raw, extension)?;
        let digits = number.e164.chars().filter(char::is_ascii_digit).collect();
        (number.key(), digits)
    } else {
        let handle = match source {
            "email" => email(field, raw)?,
            "twitter" => twitter(field, raw)?,
            _ => raw.to_owned(),
        };
        let search_key = super::text_keys::fold(&handle);
        (handle, search_key)
    };
    let match_key = (!rules.blocked.blocks(source, &handle))
        .then(|| entity::contact_handle::match_key(source, &handle));
    Ok(NormalizedHandle {
        source: source.to_owned(),
        handle,
        search_key,
        match_key,
    })
}

/// `input.via.0.extension` beside `input.via.0.handle`.
fn extension_path(handle_field: &str) -> String {
    match handle_field.strip_suffix("handle") {
        Some(parent) => format!("{parent}extension"),
        None => format!("{handle_field}.extension"),
    }
}

fn phone(
    rules: &Rules,
    field: &str,
    raw: &str,
    extension: Option<&str>,
) -> Result<Phone, AppError> {
    let mut number = phone::parse(rules.default_region, raw).map_err(|e| {
        let why = match e {
            PhoneError::NotANumber => "is not a phone number",
            PhoneError::NotValid => "is not a valid phone number",
        };
        AppError::bad_input(
            field,
            format!(
                "{field}: {raw:?} {why} (write it with its country code, e.g. +49 30 901820, \
                 or in the server's default region {})",
                rules.default_region
            ),
        )
    })?;
    if let Some(given) = extension {
        let ext_field = extension_path(field);
        let given = given.trim();
        // Digits of any script, read as ASCII digits (as in the number).
        let ascii = phone::ascii_digits(given);
        let digits_only = ascii.chars().count() == given.chars().count();
        let given = ascii.as_str();
        if given.is_empty() || given.len() > MAX_EXTENSION_DIGITS || !digits_only {
            return Err(AppError::bad_input(
                &ext_field,
                format!("{ext_field}: 1 to {MAX_EXTENSION_DIGITS} digits 0-9"),
            ));
        }
        match &number.extension {
            Some(written) if written != given => {
                return Err(AppError::bad_input(
                    &ext_field,
                    format!(
                        "{ext_field}: {given:?} differs from the extension {written:?} written in the number"
                    ),
                ))
            }
            _ => number.extension = Some(given.to_owned()),
        }
    }
    Ok(number)
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
        normalize_handle(&Rules::default(), "h", source, handle, None)
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
            default_region: rlibphonenumber::enums::Region::DE,
            ..Rules::default()
        };
        let h = normalize_handle(&rules, "h", "phone", "030 901820", None).unwrap();
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
