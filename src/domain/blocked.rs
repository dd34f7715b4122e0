//! Identifiers that match nobody (`--blocked-identifiers`): placeholder
//! values that clients send when they know nothing ("null", "unknown",
//! test@test.com, noreply@...). Stored as a contact gives them, such a
//! handle is left out of the unique index and of every match (lookups,
//! createOrUpdate, linkConversation, import, duplicate candidates), so one
//! junk value does not glue strangers together (Segment's "blocked
//! values" for identity resolution).

use std::sync::Arc;

use wildmatch::WildMatchPattern;

/// The list a server starts with when given none.
pub const DEFAULT: &str = "null,undefined,nil,none,n/a,na,anonymous,unknown,test,\
test@test.com,test@example.com,email@example.com,noreply@*,no-reply@*,donotreply@*,do-not-reply@*";

/// Patterns compared, without regard to case, with whole handles as
/// stored (lower-case e-mail addresses, E.164 phones); `*` stands for any
/// run of characters. Phones whose national digits are all zeros are
/// blocked whatever the list.
#[derive(Clone, Default)]
pub struct BlockedIdentifiers {
    /// `*` is the wildcard; NUL (which no handle holds) stands in for the
    /// single-character wildcard, so `?` is itself.
    patterns: Arc<Vec<WildMatchPattern<'*', '\0'>>>,
    listed: Arc<Vec<String>>,
}

impl std::fmt::Debug for BlockedIdentifiers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("BlockedIdentifiers")
            .field(&self.listed)
            .finish()
    }
}

impl BlockedIdentifiers {
    /// Reads a comma-separated list (empty entries are dropped: handles
    /// cannot be empty anyway). An empty list blocks only all-zero phones.
    pub fn parse(list: &str) -> Self {
        let listed: Vec<String> = list
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(str::to_owned)
            .collect();
        Self {
            patterns: Arc::new(
                listed
                    .iter()
                    .map(|p| WildMatchPattern::new_case_insensitive(p))
                    .collect(),
            ),
            listed: Arc::new(listed),
        }
    }

    /// Whether the stored handle of `source` matches nobody.
    pub fn blocks(&self, source: &str, handle: &str) -> bool {
        if entity::contact_handle::is_phone_source(source) && is_all_zeros(handle) {
            return true;
        }
        self.patterns.iter().any(|p| p.matches(handle))
    }
}

/// A phone whose digits after the country code are all zeros (with any
/// country code of one to three digits): `+10000000000`, `+55000000000`.
fn is_all_zeros(e164: &str) -> bool {
    let (number, _) = entity::contact_handle::split_phone("phone", e164);
    let Some(digits) = number.strip_prefix('+') else {
        return false;
    };
    (1..=3).any(|code| {
        digits
            .get(code..)
            .is_some_and(|rest| rest.len() >= 4 && rest.bytes().all(|b| b == b'0'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_list_blocks_placeholders_and_nothing_real() {
        let blocked = BlockedIdentifiers::parse(DEFAULT);
        for (source, handle) in [
            ("facebook", "null"),
            ("facebook", "NULL"),
            ("chat", "Anonymous"),
            ("chat", "unknown"),
            ("email", "test@test.com"),
            ("email", "noreply@shop.example"),
            ("email", "no-reply@accounts.example.com"),
            ("phone", "+10000000000"),
            ("whatsapp", "+5500000000000"),
            ("phone", "+440000000000;ext=1"),
        ] {
            assert!(blocked.blocks(source, handle), "{source} {handle}");
        }
        for (source, handle) in [
            ("email", "noreply.fan@example.org"),
            ("email", "reply@example.org"),
            ("email", "nullable@example.org"),
            ("chat", "unknown-artist"),
            ("phone", "+16172531000"),
            ("phone", "+5511900000000"),
            ("facebook", "n/a/b"),
        ] {
            assert!(!blocked.blocks(source, handle), "{source} {handle}");
        }
    }

    #[test]
    fn a_list_of_ones_own_replaces_the_default() {
        let blocked = BlockedIdentifiers::parse(" guest , *@mailinator.com,,");
        assert!(blocked.blocks("chat", "Guest"));
        assert!(blocked.blocks("email", "x@mailinator.com"));
        assert!(!blocked.blocks("chat", "null"));
        assert!(!blocked.blocks("chat", "guest?"), "? is not a wildcard");
        let none = BlockedIdentifiers::parse("");
        assert!(!none.blocks("chat", "null"));
        assert!(none.blocks("phone", "+10000000000"), "zeros always");
    }
}
