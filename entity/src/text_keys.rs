//! Keys derived from text for ordering and searching, computed here (not by
//! the database) so that SQLite and PostgreSQL, whatever its locale or
//! LC_CTYPE, order and match every script alike.
//!
//! - `sort_key`: the Unicode Collation Algorithm's sort key (CLDR root
//!   order, ICU4X), hex-encoded: comparing two keys byte by byte (SQLite's
//!   BINARY, PostgreSQL's `COLLATE "C"`) orders the names alphabetically as
//!   people expect, case-insensitively first, accented letters beside their
//!   base letter (Çelik with the Cs, Łukasz after the Ls, Émile with the Es).
//! - `fold`: Unicode full case folding of the canonical decomposition,
//!   recomposed (NFC): what `search` compares, on both sides, so that
//!   "ÉMILIE" finds "émilie", "straße" finds "STRASSE", "БЬЁРН" finds "бьёрн".
//!
//! Both depend on the Unicode and CLDR data of the pinned ICU4X version: a
//! version that changes them needs a migration recomputing the stored keys
//! (as m20261130_000008_text_keys does).

use std::sync::LazyLock;

use icu_casemap::CaseMapper;
use icu_collator::options::CollatorOptions;
use icu_collator::{Collator, CollatorBorrowed};
use icu_normalizer::{ComposingNormalizerBorrowed, DecomposingNormalizerBorrowed};

/// Characters of a name that take part in its sort key: names equal in their
/// first 128 characters tie, and their order falls to the id.
const SORT_CHARS: usize = 128;
/// Bytes of sort key kept (stored as twice as many hex digits), so that the
/// (sort key, id) B-tree entry stays far below PostgreSQL's 2,704-byte limit.
pub const SORT_KEY_BYTES: usize = 384;

/// Separates the folded fields in `contacts.search_text`: a control
/// character, which no searched field contains and a search may not carry,
/// so that no match spans two fields.
pub const SEARCH_SEPARATOR: char = '\u{1f}';

static COLLATOR: LazyLock<Option<CollatorBorrowed<'static>>> =
    LazyLock::new(|| Collator::try_new(Default::default(), CollatorOptions::default()).ok());

/// The hex sort key of a display name; "" for none, so that contacts without
/// a name come first in ascending order.
pub fn sort_key(display_name: Option<&str>) -> String {
    let Some(name) = display_name else {
        return String::new();
    };
    let head: String = name.chars().take(SORT_CHARS).collect();
    let mut key = Vec::with_capacity(head.len() * 3);
    match COLLATOR.as_ref() {
        Some(collator) => {
            let Ok(()) = collator.write_sort_key_to(&head, &mut key);
        }
        // Compiled-in data cannot be missing; were it so, fold keeps the
        // order case-insensitive at least.
        None => key.extend_from_slice(fold(&head).as_bytes()),
    }
    key.truncate(SORT_KEY_BYTES);
    let mut hex = String::with_capacity(key.len() * 2);
    for byte in key {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        hex.push(DIGITS[usize::from(byte >> 4)] as char);
        hex.push(DIGITS[usize::from(byte & 0xf)] as char);
    }
    hex
}

/// Case-folded, canonically composed text: equal for any two spellings that
/// differ only in case (or in composed versus decomposed accents).
pub fn fold(text: &str) -> String {
    let decomposed = DecomposingNormalizerBorrowed::new_nfd().normalize(text);
    let folded = CaseMapper::new().fold_string(&decomposed);
    ComposingNormalizerBorrowed::new_nfc()
        .normalize(&folded)
        .into_owned()
}

/// What `filter.search` looks through on a contact: its display name,
/// organisation and externalId, each folded, separated by SEARCH_SEPARATOR.
pub fn search_text(
    display_name: Option<&str>,
    organization_name: Option<&str>,
    external_id: Option<&str>,
) -> String {
    let mut out = String::new();
    for (i, field) in [display_name, organization_name, external_id]
        .into_iter()
        .enumerate()
    {
        if i > 0 {
            out.push(SEARCH_SEPARATOR);
        }
        if let Some(text) = field {
            out.push_str(&fold(text));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sorted(names: &[&str]) -> Vec<String> {
        let mut v: Vec<(String, &str)> = names.iter().map(|n| (sort_key(Some(n)), *n)).collect();
        v.sort();
        v.into_iter().map(|(_, n)| n.to_owned()).collect()
    }

    #[test]
    fn accented_letters_sort_beside_their_base_letter() {
        assert_eq!(
            sorted(&[
                "Zoë", "Şahin", "Łukasz", "Ülker", "Émile", "Çelik", "adam", "Bob", "Lars"
            ]),
            ["adam", "Bob", "Çelik", "Émile", "Lars", "Łukasz", "Şahin", "Ülker", "Zoë"]
        );
        assert!(sort_key(None).is_empty());
        assert!(sort_key(Some("a")) > sort_key(None));
    }

    #[test]
    fn keys_are_bounded() {
        let long = "漢".repeat(900);
        assert!(sort_key(Some(&long)).len() <= 2 * SORT_KEY_BYTES);
    }

    #[test]
    fn folding_covers_every_script() {
        assert_eq!(fold("ÉMILIE"), fold("émilie"));
        assert_eq!(fold("E\u{301}milie"), fold("Émilie"));
        assert_eq!(fold("БЬЁРН"), "бьёрн");
        assert_eq!(fold("Straße"), fold("STRASSE"));
        assert_eq!(fold("ΣΊΣΥΦΟΣ"), fold("σίσυφος"));
        assert_eq!(
            search_text(Some("Ada"), None, Some("X1")),
            "ada\u{1f}\u{1f}x1"
        );
    }
}
