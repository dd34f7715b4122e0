//! Phone numbers as libphonenumber reads them (through rlibphonenumber, its
//! Rust port): one E.164 number, and an extension when one was written.
//!
//! The rule, checked entry by entry against libphonenumber itself by the
//! golden corpus test below (tests/golden/phones.py writes the corpus):
//! - a number libphonenumber deems valid is kept, as the E.164 it gives;
//! - a number written with its country code (a leading `+` or the default
//!   region's international prefix, such as `011` in the US) that
//!   libphonenumber deems *possible* is kept too: channels still report
//!   numbers the metadata no longer calls valid (Brazilian mobiles without
//!   the ninth digit, as WhatsApp sends them);
//! - anything else is refused.
//!
//! The default region only applies to numbers written without a country
//! code: `+49 1512 3456789` is the German mobile whatever the default region.

use rlibphonenumber::enums::Region;
use rlibphonenumber::{CountryCodeSource, PhoneNumber, PhoneNumberFormat, PHONE_NUMBER_UTIL};

/// Longest extension libphonenumber parses (its `extn_digits` bound), in digits.
pub const MAX_EXTENSION_DIGITS: usize = 20;

/// A phone number as stored: E.164, plus the extension's digits when present.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phone {
    /// `+` and up to 15 digits (ITU-T E.164).
    pub e164: String,
    /// ASCII digits, at most MAX_EXTENSION_DIGITS; `None` when none was written.
    pub extension: Option<String>,
}

impl Phone {
    /// The RFC 3966 form the handle is stored (and matched) under:
    /// `+16172531000`, or `+16172531000;ext=201` with an extension, so that
    /// two extensions of one number are two handles.
    pub fn key(&self) -> String {
        entity::contact_handle::phone_handle(&self.e164, self.extension.as_deref())
    }
}

/// Why a text is not a phone number the service keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PhoneError {
    /// libphonenumber finds no number in the text.
    NotANumber,
    /// A number, but neither valid nor (written with its country code) possible.
    NotValid,
}

/// Reads `text` as libphonenumber does, with `default_region` for numbers
/// written without a country code.
pub fn parse(default_region: Region, text: &str) -> Result<Phone, PhoneError> {
    // The port panics where libphonenumber answers "not a number" on a
    // `;phone-context=` followed by another `tel:` (it slices out of
    // bounds): that input is refused before the parser sees it, and any
    // other panic of the parser is the same answer, never a failed request
    // or a command-line import cut short. The parser holds no state a panic
    // could leave half-changed (its metadata is read-only).
    if tel_after_phone_context(text) {
        return Err(PhoneError::NotANumber);
    }
    let parsed = std::panic::catch_unwind(|| {
        PHONE_NUMBER_UTIL.parse_and_keep_raw_input(text, Some(default_region))
    });
    let number = match parsed {
        Ok(Ok(number)) => number,
        Ok(Err(_)) | Err(_) => return Err(PhoneError::NotANumber),
    };
    // Formatted without the raw input: libphonenumber answers a number
    // whose national digits are all zeros with the text as written
    // ("+1 000 000 0000"), which would be stored as the handle.
    let mut plain = number.clone();
    plain.raw_input = None;
    let e164 = PHONE_NUMBER_UTIL
        .format(&plain, PhoneNumberFormat::E164)
        .into_owned();
    if !is_kept(&number) && !is_variant_of_valid(&number, &e164) {
        return Err(PhoneError::NotValid);
    }
    Ok(Phone {
        e164,
        // In ASCII digits, as the number itself: `x٢٠١` and `x201` are
        // one extension (libphonenumber keeps the digits as written).
        extension: number
            .extension
            .map(|e| ascii_digits(&e))
            .filter(|e| !e.is_empty()),
    })
}

pub use entity::contact_handle::variant_key;

/// The decimal digits of `text` (any script's: Arabic-Indic, fullwidth,
/// Devanagari, ...) as ASCII digits; other characters dropped.
pub fn ascii_digits(text: &str) -> String {
    PHONE_NUMBER_UTIL.normalize_digits_only(text)
}

/// Whether a `tel:` follows `;phone-context=` (what makes the port panic).
fn tel_after_phone_context(text: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    match lower.find(";phone-context=") {
        Some(at) => lower[at..].contains("tel:"),
        None => false,
    }
}

/// Whether a number written with its country code is an older national
/// form (see [`variant_key`]) of a valid number: Mexico's `+52 1 ...`
/// mobiles, which libphonenumber no longer accepts but WhatsApp still
/// reports, are kept in the form given and match the current form.
fn is_variant_of_valid(number: &PhoneNumber, e164: &str) -> bool {
    let written_with_country_code = matches!(
        number.country_code_source(),
        CountryCodeSource::FromNumberWithPlusSign | CountryCodeSource::FromNumberWithIdd
    );
    let folded = variant_key(e164);
    written_with_country_code
        && folded != e164
        && PHONE_NUMBER_UTIL
            .parse(&folded, None)
            .is_ok_and(|n| PHONE_NUMBER_UTIL.is_valid_number(&n))
}

fn is_kept(number: &PhoneNumber) -> bool {
    if PHONE_NUMBER_UTIL.is_valid_number(number) {
        return true;
    }
    let written_with_country_code = matches!(
        number.country_code_source(),
        CountryCodeSource::FromNumberWithPlusSign | CountryCodeSource::FromNumberWithIdd
    );
    written_with_country_code && PHONE_NUMBER_UTIL.is_possible_number(number)
}

/// A region libphonenumber has metadata for, from its ISO 3166-1 alpha-2
/// code (any case); `None` for an unknown code or the non-geographic "001".
pub fn region(code: &str) -> Option<Region> {
    let region: Region = code.trim().parse().ok()?;
    let known = region != Region::World
        && PHONE_NUMBER_UTIL
            .get_country_code_for_region(region)
            .is_some();
    known.then_some(region)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn us(text: &str) -> Result<Phone, PhoneError> {
        parse(Region::US, text)
    }

    #[test]
    fn a_country_code_wins_over_the_default_region() {
        assert_eq!(us("+49 1512 3456789").unwrap().e164, "+4915123456789");
        assert_eq!(us("+86 139 1234 5678").unwrap().e164, "+8613912345678");
        assert_eq!(us("+33123456789").unwrap().e164, "+33123456789");
        let de = parse(Region::DE, "+39 06 6988 1234").unwrap();
        assert_eq!(de.e164, "+390669881234");
    }

    #[test]
    fn the_bracketed_trunk_prefix_is_dropped() {
        assert_eq!(us("+44 (0)20 7946 0958").unwrap().e164, "+442079460958");
        assert_eq!(us("+49 (0)30 901820").unwrap().e164, "+4930901820");
    }

    #[test]
    fn extensions_are_kept_apart() {
        let p = us("+1 617-253-1000 x201").unwrap();
        assert_eq!(p.e164, "+16172531000");
        assert_eq!(p.extension.as_deref(), Some("201"));
        assert_eq!(p.key(), "+16172531000;ext=201");
        assert_eq!(
            us("tel:+1-617-253-1000;ext=305").unwrap().key(),
            "+16172531000;ext=305"
        );
    }

    #[test]
    fn possible_but_outdated_numbers_need_their_country_code() {
        // A Brazilian mobile without the ninth digit, as WhatsApp reports it.
        assert_eq!(
            us("+55 11 1234-5678").map(|p| p.e164),
            Ok("+551112345678".into())
        );
        assert_eq!(us("12"), Err(PhoneError::NotValid));
        assert_eq!(us("x"), Err(PhoneError::NotANumber));
        assert!(us("not a number").is_err());
    }

    #[test]
    fn input_that_panics_the_parser_is_not_a_number() {
        // Found by an outside fuzz run; libphonenumber refuses both.
        for text in [
            "5;phone-context=+44;tel:1",
            "+1 617 253 1000;phone-context=+1;tel:",
        ] {
            assert_eq!(us(text), Err(PhoneError::NotANumber), "{text}");
        }
    }

    #[test]
    fn extensions_in_any_script_are_ascii_digits() {
        for text in [
            "+1 617 253 4444 ext. ٧٧",
            "+1 617 253 4444 ext. ７７",
            "tel:+16172534444;ext=७७",
        ] {
            assert_eq!(us(text).unwrap().key(), "+16172534444;ext=77", "{text}");
        }
    }

    #[test]
    fn national_variants_of_one_line_share_a_key() {
        let same = [
            ("+5511987654321", "+551187654321"),
            ("+5521976543210", "+552176543210"),
            ("+5491123456789", "+541123456789"),
            ("+5215512345678", "+525512345678"),
        ];
        for (long, short) in same {
            assert_eq!(variant_key(long), variant_key(short), "{long} {short}");
            assert_eq!(variant_key(short), short);
        }
        // A Brazilian landline and the mobile that adds a 9 before it are
        // two lines; so are other countries' numbers.
        assert_ne!(variant_key("+5511932345678"), variant_key("+551132345678"));
        for other in [
            "+16172531000",
            "+4915123456789",
            "+551132345678",
            "not e164",
        ] {
            assert_eq!(variant_key(other), other);
        }
        // Each key is itself a variant of the line: folding is idempotent.
        for (long, _) in same {
            assert_eq!(variant_key(&variant_key(long)), variant_key(long));
        }
    }

    #[test]
    fn regions_are_known_codes_only() {
        assert_eq!(region("de"), Some(Region::DE));
        assert_eq!(region("001"), None);
        assert_eq!(region("XX"), None);
        assert_eq!(region("USA"), None);
    }

    /// The differential test: every entry of the golden corpus, written by
    /// libphonenumber (tests/golden/phones.py), read the same way here.
    #[test]
    fn phone_corpus() {
        let corpus = include_str!("../../tests/golden/phones.jsonl");
        let mut lines = corpus.lines();
        let header: serde_json::Value =
            serde_json::from_str(lines.next().unwrap_or_default()).unwrap();
        let mut mismatches = Vec::new();
        let mut entries = 0;
        for line in lines {
            let (text, default, want): (String, String, Option<(String, Option<String>)>) =
                serde_json::from_str(line).unwrap();
            let region = region(&default).unwrap();
            let got = parse(region, &text).ok().map(|p| (p.e164, p.extension));
            if got != want {
                mismatches.push(format!(
                    "{text:?} in {default}: got {got:?}, libphonenumber {want:?}"
                ));
            }
            entries += 1;
        }
        assert_eq!(
            header["entries"], entries,
            "the corpus header counts its entries"
        );
        assert!(
            mismatches.is_empty(),
            "{} of {entries} entries differ from libphonenumber ({}), e.g.\n{}",
            mismatches.len(),
            header["libphonenumber"],
            mismatches[..mismatches.len().min(40)].join("\n")
        );
    }
}
