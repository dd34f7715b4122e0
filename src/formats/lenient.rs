//! Address books written by other tools hold numbers no network routes
//! (short codes, fictional 555 numbers, local numbers of another region)
//! beside good ones. Failing the whole contact for one of them would leave
//! most of a phone's address book behind, so for those files a handle that
//! validation refuses is set aside in `metadata.notImported` (under its
//! source) and the row validated again. Every other refusal fails the row
//! as usual; our own CSV and JSON files stay strict (their columns say what
//! the caller meant).

use serde_json::{Map, Value};

use crate::domain::{ContactChanges, ContactInput, Mode, Patch, Rules};
use crate::error::AppError;

/// The metadata key set-aside handles are kept under.
pub const NOT_IMPORTED: &str = "notImported";

/// Validates `input` as `path`, setting aside handles that are refused.
pub fn validate(
    mut input: ContactInput,
    rules: &Rules,
    path: &str,
    mode: Mode,
) -> Result<ContactChanges, AppError> {
    loop {
        let refused = match input.clone().validate(rules, path, mode) {
            Err(e) => match refused_handle(&e, path) {
                Some(index) => index,
                None => return Err(e),
            },
            ok => return ok,
        };
        let Patch::Set(via) = &mut input.via else {
            return input.validate(rules, path, mode);
        };
        if refused >= via.len() {
            return input.validate(rules, path, mode);
        }
        let handle = via.remove(refused);
        set_aside(&mut input.metadata, &handle.source, &handle.handle);
    }
}

/// The index of the handle an error is about: `{path}.via.{i}.handle` (or
/// `.extension`, `.source`).
fn refused_handle(error: &AppError, path: &str) -> Option<usize> {
    if !matches!(error, AppError::BadUserInput { .. }) {
        return None;
    }
    let rest = error.field()?.strip_prefix(path)?.strip_prefix(".via.")?;
    let (index, _) = rest.split_once('.')?;
    index.parse().ok()
}

fn set_aside(metadata: &mut Patch<Value>, source: &str, handle: &str) {
    let mut object = match std::mem::take(metadata) {
        Patch::Set(Value::Object(map)) => map,
        _ => Map::new(),
    };
    let kept = object
        .entry(NOT_IMPORTED.to_owned())
        .or_insert_with(|| Value::Object(Map::new()));
    if let Value::Object(kept) = kept {
        let key = if source.trim().is_empty() {
            "handle"
        } else {
            source
        };
        match kept.get_mut(key) {
            Some(Value::String(s)) => {
                s.push_str(" ::: ");
                s.push_str(handle);
            }
            _ => {
                kept.insert(key.to_owned(), Value::String(handle.to_owned()));
            }
        }
    }
    *metadata = Patch::Set(Value::Object(object));
}
