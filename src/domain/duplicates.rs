//! Whether two contacts look like one person, and why: the keys that bring
//! candidates together (blocking, so that no query compares all pairs) and
//! the score of a pair, with its reasons.
//!
//! Matching here is looser than the handles' own identity, on purpose and
//! only here: a Gmail address with dots or a `+tag`, a Brazilian mobile
//! without its ninth digit, a name in another order or without its accents
//! make a candidate, never a lookup or a write (those match handles as
//! stored).

use std::collections::BTreeSet;

use super::phone;

/// E-mail domains whose mailbox ignores the dots of the local part (Gmail:
/// "Dots don't matter in Gmail addresses", Google Account Help 7436150).
const DOTLESS_DOMAINS: &[&str] = &["gmail.com", "googlemail.com"];
/// E-mail domains that deliver `name+tag@` to `name@` (subaddressing, RFC
/// 5233): Gmail, Outlook.com, iCloud, Fastmail, Proton. Elsewhere a `+` may
/// be part of a distinct mailbox, and the address is compared whole.
const SUBADDRESS_DOMAINS: &[&str] = &[
    "gmail.com",
    "googlemail.com",
    "outlook.com",
    "hotmail.com",
    "live.com",
    "icloud.com",
    "me.com",
    "fastmail.com",
    "proton.me",
    "protonmail.com",
];

/// The address a candidate compares: lower case; for the domains above,
/// the dots and the `+tag` that do not change the mailbox removed, and
/// googlemail.com read as gmail.com. `None` for a text without `@`.
pub fn email_key(handle: &str) -> Option<String> {
    let lower = handle.trim().to_lowercase();
    let (local, domain) = lower.rsplit_once('@')?;
    let domain = if domain == "googlemail.com" {
        "gmail.com"
    } else {
        domain
    };
    let mut local = local.to_owned();
    if SUBADDRESS_DOMAINS.contains(&domain) {
        if let Some(plus) = local.find('+') {
            local.truncate(plus);
        }
    }
    if DOTLESS_DOMAINS.contains(&domain) {
        local.retain(|c| c != '.');
    }
    (!local.is_empty()).then(|| format!("{local}@{domain}"))
}

/// A phone handle's key for candidates: its number with the national
/// variants of one line folded together (see [`phone::variant_key`]), its
/// extension kept, so that a switchboard's extensions stay apart.
pub fn phone_key(source: &str, handle: &str) -> String {
    let (number, extension) = entity::contact_handle::split_phone(source, handle);
    let folded = phone::variant_key(number);
    match extension {
        Some(ext) => format!("{folded};ext={ext}"),
        None => folded,
    }
}

/// A name as candidates compare it: transliterated to ASCII (accents
/// dropped, Ł as L, ß as ss), lower case, in words; punctuation separates.
pub fn name_words(name: &str) -> Vec<String> {
    deunicode::deunicode(name)
        .to_lowercase()
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Free text (an organisation, an address line) as candidates compare it:
/// [`name_words`] joined by one space; "" when nothing is left.
pub fn text_key(text: &str) -> String {
    name_words(text).join(" ")
}

/// What of a contact the candidates look at, already folded.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Profile {
    /// Folded words of the display name.
    pub name: Vec<String>,
    /// [`email_key`]s of its e-mail handles.
    pub emails: BTreeSet<String>,
    /// [`phone_key`]s of its phone, sms and whatsapp handles.
    pub phones: BTreeSet<String>,
    /// [`text_key`] of the organisation name ("" for none).
    pub organization: String,
    /// [`text_key`] of address line 1 and the city ("" for none).
    pub address: String,
}

/// Blocking keys kept per contact: two contacts are compared only when they
/// share one. Each is short and prefixed by its kind.
pub fn blocking_keys(profile: &Profile) -> BTreeSet<String> {
    let mut keys = BTreeSet::new();
    keys.extend(profile.emails.iter().map(|e| format!("e:{e}")));
    keys.extend(profile.phones.iter().map(|p| format!("p:{p}")));
    // No key of the name alone: a name without a shared handle,
    // organisation or address never scores KEPT_SCORE, and name blocks
    // (everyone called Maria Silva) are the largest there are.
    if !profile.organization.is_empty() {
        keys.insert(format!("o:{}", profile.organization));
    }
    if !profile.address.is_empty() {
        keys.insert(format!("a:{}", profile.address));
    }
    keys
}

/// Why a pair looks like one person: the kind of evidence and the contact
/// fields it comes from (input paths: `via`, `displayName`,
/// `organizationName`, `address`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Reason {
    /// The same e-mail mailbox (Gmail-style variants folded).
    SameEmail,
    /// The same phone line (national variants folded, extensions kept apart).
    SamePhone,
    /// The same name, in any order, accents and case folded.
    SameName,
    /// Names one small typo apart.
    SimilarName,
    /// The same organisation.
    SameOrganization,
    /// The same street address and city.
    SameAddress,
}

impl Reason {
    /// Every reason, in order.
    pub const ALL: [Reason; 6] = [
        Reason::SameEmail,
        Reason::SamePhone,
        Reason::SameName,
        Reason::SimilarName,
        Reason::SameOrganization,
        Reason::SameAddress,
    ];

    /// Its name, as GraphQL shows it and the index stores it.
    pub fn name(&self) -> &'static str {
        match self {
            Reason::SameEmail => "SAME_EMAIL",
            Reason::SamePhone => "SAME_PHONE",
            Reason::SameName => "SAME_NAME",
            Reason::SimilarName => "SIMILAR_NAME",
            Reason::SameOrganization => "SAME_ORGANIZATION",
            Reason::SameAddress => "SAME_ADDRESS",
        }
    }

    /// The reason a name stands for.
    pub fn from_name(name: &str) -> Option<Reason> {
        Reason::ALL.into_iter().find(|r| r.name() == name)
    }

    /// The contact fields this evidence compares.
    pub fn fields(&self) -> &'static [&'static str] {
        match self {
            Reason::SameEmail | Reason::SamePhone => &["via"],
            Reason::SameName | Reason::SimilarName => &["displayName"],
            Reason::SameOrganization => &["organizationName"],
            Reason::SameAddress => &["address"],
        }
    }
}

/// How two names compare.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Names {
    /// One side has none.
    Unknown,
    /// The same words, in any order.
    Same,
    /// Same number of words, paired up with one small typo in all.
    Similar,
    /// Only the family name (last word of one, any word of the other) in
    /// common: relatives, or strangers.
    SharedSurname,
    /// Different people's names.
    Different,
}

fn compare_names(a: &[String], b: &[String]) -> Names {
    if a.is_empty() || b.is_empty() {
        return Names::Unknown;
    }
    let (mut sa, mut sb) = (a.to_vec(), b.to_vec());
    sa.sort();
    sb.sort();
    if sa == sb {
        return Names::Same;
    }
    if sa.len() == sb.len() && typos_apart(&sa, &sb) <= 1 {
        return Names::Similar;
    }
    let shared = sa.iter().filter(|w| sb.contains(w)).count();
    if shared > 0 {
        return Names::SharedSurname;
    }
    Names::Different
}

/// Edits (Damerau-Levenshtein, over words matched in the best order) that
/// separate two equally long word lists: 2 or more means "not a typo".
fn typos_apart(a: &[String], b: &[String]) -> usize {
    // Names have few words: trying each word of `a` against its best
    // unmatched word of `b` is enough.
    let mut unmatched: Vec<&String> = b.iter().collect();
    let mut edits = 0;
    for word in a {
        let Some((at, cost)) = unmatched
            .iter()
            .enumerate()
            .map(|(i, other)| (i, strsim::damerau_levenshtein(word, other)))
            .min_by_key(|&(_, cost)| cost)
        else {
            return usize::MAX;
        };
        // A one-letter word ("J") may not be "typed" into another.
        if cost > 0 && word.len().min(unmatched[at].len()) < 4 {
            return usize::MAX;
        }
        edits += cost;
        unmatched.swap_remove(at);
    }
    edits
}

/// The score a pair needs, by default, to be answered as a candidate.
pub const DEFAULT_MIN_SCORE: f64 = 0.7;
/// The lowest score the index keeps: pairs below (a common name, a shared
/// organisation or address, a household's landline, and nothing else)
/// would fill it without ever being worth a look.
pub const KEPT_SCORE: f64 = 0.5;

/// How likely two contacts are one person, in [0, 1], with the reasons
/// (sorted); `None` when nothing at all matches.
///
/// A shared mailbox or phone line is strong evidence, unless the names say
/// two people: a household's landline, a shared inbox. Without a shared
/// handle, a name is weak alone (many people share a common one) and
/// strong with the same organisation or address.
pub fn score(a: &Profile, b: &Profile) -> Option<(f64, Vec<Reason>)> {
    let mut reasons = Vec::new();
    if a.emails.intersection(&b.emails).next().is_some() {
        reasons.push(Reason::SameEmail);
    }
    if a.phones.intersection(&b.phones).next().is_some() {
        reasons.push(Reason::SamePhone);
    }
    let names = compare_names(&a.name, &b.name);
    match names {
        Names::Same => reasons.push(Reason::SameName),
        Names::Similar => reasons.push(Reason::SimilarName),
        _ => {}
    }
    let same_org = !a.organization.is_empty() && a.organization == b.organization;
    if same_org {
        reasons.push(Reason::SameOrganization);
    }
    let same_address = !a.address.is_empty() && a.address == b.address;
    if same_address {
        reasons.push(Reason::SameAddress);
    }
    if reasons.is_empty() {
        return None;
    }
    let handle = reasons
        .iter()
        .any(|r| matches!(r, Reason::SameEmail | Reason::SamePhone));
    let context = u8::from(same_org) + u8::from(same_address);
    let score = match (handle, names) {
        (true, Names::Same) => 0.99,
        (true, Names::Similar) => 0.95,
        (true, Names::Unknown) => 0.9,
        // One line or inbox, two people: relatives, colleagues.
        (true, Names::SharedSurname) => 0.35,
        (true, Names::Different) => 0.25,
        (false, Names::Same) => [0.45, 0.8, 0.9][usize::from(context)],
        (false, Names::Similar) => [0.3, 0.75, 0.85][usize::from(context)],
        (false, _) => 0.1 * f64::from(context),
    };
    reasons.sort();
    Some((score, reasons))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile(name: &str) -> Profile {
        Profile {
            name: name_words(name),
            ..Profile::default()
        }
    }

    fn with_email(mut p: Profile, e: &str) -> Profile {
        p.emails.insert(email_key(e).unwrap());
        p
    }

    fn with_phone(mut p: Profile, source: &str, e164: &str) -> Profile {
        p.phones.insert(phone_key(source, e164));
        p
    }

    #[test]
    fn gmail_variants_are_one_mailbox_and_other_domains_keep_theirs() {
        let key = email_key("john.doe@gmail.com");
        for variant in [
            "johndoe@gmail.com",
            "John.Doe+shop@GMail.com",
            "j.o.h.n.d.o.e@googlemail.com",
        ] {
            assert_eq!(email_key(variant), key, "{variant}");
        }
        assert_ne!(
            email_key("john.doe@example.org"),
            email_key("johndoe@example.org")
        );
        assert_ne!(
            email_key("john+a@example.org"),
            email_key("john@example.org")
        );
        assert_eq!(
            email_key("john+a@outlook.com"),
            email_key("john@outlook.com")
        );
        assert_eq!(email_key("no-at-sign"), None);
        assert_eq!(email_key("+tag@gmail.com"), None);
    }

    #[test]
    fn names_fold_accents_case_and_order() {
        assert_eq!(name_words("José  RAMÍREZ"), ["jose", "ramirez"]);
        assert_eq!(name_words("Łukasz Wiśniewski"), ["lukasz", "wisniewski"]);
        assert_eq!(
            compare_names(&name_words("Silva, Maria"), &name_words("maria silva")),
            Names::Same
        );
        assert_eq!(
            compare_names(
                &name_words("Jonathan Miller"),
                &name_words("Jonathon Miller")
            ),
            Names::Similar
        );
        assert_eq!(
            compare_names(&name_words("Anna Costa"), &name_words("Nina Costa")),
            Names::SharedSurname
        );
        assert_eq!(
            compare_names(&name_words("Al Li"), &name_words("Ed Li")),
            Names::SharedSurname,
            "short words are not typos of each other"
        );
    }

    #[test]
    fn a_shared_handle_with_the_same_or_no_name_is_a_candidate() {
        let a = with_email(profile("Maria Silva"), "maria.silva@gmail.com");
        let b = with_email(profile("SILVA Maria"), "mariasilva+x@gmail.com");
        let (score, reasons) = score(&a, &b).unwrap();
        assert!(score >= DEFAULT_MIN_SCORE);
        assert_eq!(reasons, [Reason::SameEmail, Reason::SameName]);
        let nameless = with_email(Profile::default(), "maria.silva@gmail.com");
        assert!(super::score(&a, &nameless).unwrap().0 >= DEFAULT_MIN_SCORE);
    }

    #[test]
    fn a_household_landline_or_a_common_name_alone_is_not() {
        let anna = with_phone(profile("Anna Costa"), "phone", "+551132345678");
        let nina = with_phone(profile("Nina Costa"), "sms", "+551132345678");
        assert!(score(&anna, &nina).unwrap().0 < DEFAULT_MIN_SCORE);
        assert!(
            score(&profile("Maria Silva"), &profile("Maria Silva"))
                .unwrap()
                .0
                < DEFAULT_MIN_SCORE
        );
        assert_eq!(score(&profile("Maria Silva"), &profile("Tom Wang")), None);
    }

    #[test]
    fn a_switchboard_s_extensions_are_different_lines() {
        let a = with_phone(profile("Ann Lee"), "phone", "+16172531000;ext=101");
        let b = with_phone(profile("Bob Kim"), "phone", "+16172531000;ext=102");
        assert_eq!(score(&a, &b), None);
    }

    fn any_profile() -> impl proptest::strategy::Strategy<Value = Profile> {
        use proptest::prelude::*;
        let words = proptest::collection::vec("[a-eé]{1,6}", 0..4);
        let handles = proptest::collection::btree_set("[a-c]{1,2}", 0..3);
        (words, handles.clone(), handles, "[ab]{0,1}", "[ab]{0,1}").prop_map(
            |(name, emails, phones, organization, address)| Profile {
                name: name_words(&name.join(" ")),
                emails,
                phones,
                organization,
                address,
            },
        )
    }

    proptest::proptest! {
        #[test]
        fn keys_are_fixed_points(text in "[a-zA-Z.+@ ]{0,24}") {
            if let Some(key) = email_key(&text) {
                proptest::prop_assert_eq!(email_key(&key), Some(key));
            }
            let words = name_words(&text);
            proptest::prop_assert_eq!(name_words(&words.join(" ")), words);
        }

        #[test]
        fn scores_are_symmetric_bounded_and_explained(a in any_profile(), b in any_profile()) {
            let ab = score(&a, &b);
            proptest::prop_assert_eq!(&ab, &score(&b, &a));
            if let Some((score, reasons)) = ab {
                proptest::prop_assert!((0.0..=1.0).contains(&score));
                proptest::prop_assert!(!reasons.is_empty());
                // A pair that can be answered is one the blocking keys
                // bring together.
                if score >= KEPT_SCORE {
                    proptest::prop_assert!(
                        blocking_keys(&a).intersection(&blocking_keys(&b)).next().is_some(),
                        "{:?} {:?} {:?}", a, b, reasons
                    );
                }
            }
        }
    }

    #[test]
    fn blocking_keys_bring_variants_together() {
        let a = with_phone(profile("João Souza"), "phone", "+5511987654321");
        let b = with_phone(profile("Souza Joao"), "whatsapp", "+551187654321");
        let shared: Vec<_> = blocking_keys(&a)
            .intersection(&blocking_keys(&b))
            .cloned()
            .collect();
        assert_eq!(shared.len(), 1, "{shared:?}");
    }
}
