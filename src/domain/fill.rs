//! FILL_BLANKS, the import mode that completes a contact without
//! overwriting it: a row matching an existing contact fills only what the
//! contact lacks.
//!
//! - A text field (and each address part) is set only where the contact has
//!   no value; a row's removal (null, "") is ignored.
//! - Handles, group names and links the contact lacks are added after its
//!   own; none is removed.
//! - Metadata keys the contact lacks are added (top level); existing keys
//!   keep their values.
//! - contactType and isSpammer always have a value: left as they are.
//! - Conversations the row links are linked (a link is never a blank).

use serde_json::{Map, Value};

use super::contact_input::{ContactChanges, MetadataChange, Patch, PathedHandle};
use super::NormalizedHandle;

/// What the existing contact holds, as far as filling needs.
pub struct Current<'a> {
    /// Its 16 optional text columns, in TEXT_FIELDS order.
    pub text: [&'a Option<String>; 16],
    pub links: Vec<String>,
    pub via: Vec<NormalizedHandle>,
    pub group_names: Vec<String>,
    pub metadata: &'a Map<String, Value>,
}

/// The row's changes reduced to what fills the contact's blanks.
pub fn fill_blanks(mut changes: ContactChanges, current: &Current) -> ContactChanges {
    fill_text(&mut changes, &current.text);
    changes.contact_type = None;
    changes.is_spammer = None;
    changes.links = changes.links.take().and_then(|links| {
        let mut all = current.links.clone();
        let before = all.len();
        for link in links {
            if !all.contains(&link) {
                all.push(link);
            }
        }
        (all.len() > before).then_some(all)
    });
    changes.group_names = changes.group_names.take().and_then(|names| {
        let mut all = current.group_names.clone();
        let before = all.len();
        for name in names {
            if !all.contains(&name) {
                all.push(name);
            }
        }
        (all.len() > before).then_some(all)
    });
    changes.via = changes
        .via
        .take()
        .and_then(|via| added_handles(via, &current.via, &changes.path));
    changes.metadata = match std::mem::replace(&mut changes.metadata, MetadataChange::Keep) {
        MetadataChange::MergePatch(patch) => {
            let added: Map<String, Value> = patch
                .into_iter()
                .filter(|(key, value)| !value.is_null() && !current.metadata.contains_key(key))
                .collect();
            if added.is_empty() {
                MetadataChange::Keep
            } else {
                MetadataChange::MergePatch(added)
            }
        }
        _ => MetadataChange::Keep,
    };
    changes
}

/// Text fields and address parts: set only where blank.
fn fill_text(changes: &mut ContactChanges, current: &[&Option<String>; 16]) {
    let blank = |i: usize| current[i].is_none();
    let keep_if_blank = |patch: &mut Patch<String>, i: usize| {
        if !(patch.is_set() && blank(i)) {
            *patch = Patch::Keep;
        }
    };
    // Order of ContactChanges::text_patches.
    keep_if_blank(&mut changes.display_name, 0);
    keep_if_blank(&mut changes.avatar_url, 1);
    keep_if_blank(&mut changes.title, 2);
    keep_if_blank(&mut changes.timezone, 3);
    keep_if_blank(&mut changes.gender, 4);
    keep_if_blank(&mut changes.locale, 5);
    keep_if_blank(&mut changes.organization_name, 6);
    keep_if_blank(&mut changes.description, 7);
    keep_if_blank(&mut changes.external_id, 8);
    changes.address = match std::mem::take(&mut changes.address) {
        Patch::Set(mut a) => {
            keep_if_blank(&mut a.organization_name, 9);
            keep_if_blank(&mut a.address_line1, 10);
            keep_if_blank(&mut a.address_line2, 11);
            keep_if_blank(&mut a.postcode, 12);
            keep_if_blank(&mut a.city, 13);
            keep_if_blank(&mut a.state, 14);
            keep_if_blank(&mut a.country, 15);
            Patch::Set(a)
        }
        _ => Patch::Keep,
    };
}

/// The contact's handles followed by the row's that it lacks (by source and
/// match key; a blocked one by its text); None when nothing is added.
fn added_handles(
    via: Vec<PathedHandle>,
    current: &[NormalizedHandle],
    path: &str,
) -> Option<Vec<PathedHandle>> {
    let same = |a: &NormalizedHandle, b: &NormalizedHandle| {
        a.source == b.source
            && match (&a.match_key, &b.match_key) {
                (Some(x), Some(y)) => x == y,
                _ => a.handle == b.handle,
            }
    };
    let mut all: Vec<PathedHandle> = current
        .iter()
        .enumerate()
        .map(|(i, h)| PathedHandle {
            handle: h.clone(),
            path: format!("{path}.via.{i}"),
        })
        .collect();
    let before = all.len();
    for h in via {
        if !all.iter().any(|kept| same(&kept.handle, &h.handle)) {
            all.push(h);
        }
    }
    (all.len() > before).then_some(all)
}
