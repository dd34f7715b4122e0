//! Property: any text the domain accepts is stored and read back, on every
//! database, as exactly its normal form (the domain's own validation, applied
//! here to the same input), byte for byte; any text it refuses is refused
//! by the API naming the same field, and nothing is written.

use contacts_api::domain::{ContactInput, Mode, Patch, Rules, TEXT_FIELDS};
use contacts_api::graphql::input::CreateContactInput;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{json, Value};

use crate::common::TestApp;

/// Fields whose values are free text (the others are URLs, zones, locales:
/// random text is refused there, which the refusal half still checks).
const FREE_TEXT: [&str; 10] = [
    "displayName",
    "title",
    "gender",
    "organizationName",
    "description",
    "externalId",
    "address.addressLine1",
    "address.city",
    "address.country",
    "timezone",
];

/// `{"address": {"city": v}}` for "address.city".
fn nest(field: &str, value: &str) -> Value {
    match field.split_once('.') {
        Some((parent, child)) => json!({ parent: { child: value } }),
        None => json!({ field: value }),
    }
}

/// What the domain makes of `value` in `field`: Ok(stored form, None when
/// the field ends up absent) or Err(the field the refusal names).
fn normalise(field: &str, value: &str) -> Result<Option<String>, Option<String>> {
    let mut input = nest(field, value);
    // A create must set something; a display name makes every case one.
    if field != "displayName" {
        input["displayName"] = json!("x");
    }
    let input: CreateContactInput = serde_json::from_value(input).expect("input JSON");
    let changes = ContactInput::from(input)
        .validate(&Rules::default(), "input", Mode::Create)
        .map_err(|e| e.field().map(str::to_owned))?;
    let at = TEXT_FIELDS
        .iter()
        .position(|f| *f == field)
        .expect("a text field");
    Ok(match changes.text_patches()[at] {
        Patch::Set(v) => Some(v.clone()),
        _ => None,
    })
}

/// Text with what breaks stores: controls, NUL, line ends, combining marks,
/// byte-order marks, astral characters, right-to-left text, odd spaces.
fn hostile_text() -> impl Strategy<Value = String> {
    let pieces = prop_oneof![
        4 => any::<char>().prop_map(String::from),
        2 => "[a-zA-Z0-9 ]{1,8}",
        1 => Just("\r\n".to_owned()),
        1 => Just("\r".to_owned()),
        1 => Just("\n".to_owned()),
        1 => Just("\t".to_owned()),
        1 => Just("\u{0}".to_owned()),
        1 => Just("e\u{301}".to_owned()),
        1 => Just("\u{feff}".to_owned()),
        1 => Just("\u{a0}\u{2003}\u{3000}".to_owned()),
        1 => Just("😀👩‍👩‍👧".to_owned()),
        1 => Just("שלום مرحبا".to_owned()),
        1 => Just("漢字かなカナ".to_owned()),
        1 => Just("'; DROP TABLE contacts; --".to_owned()),
        1 => Just("%_!\\".to_owned()),
    ];
    proptest::collection::vec(pieces, 0..12).prop_map(|v| v.concat())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_round_trips_to_its_normal_form() {
    let app = TestApp::new().await;
    let handle = tokio::runtime::Handle::current();
    let mut runner = TestRunner::new(Config {
        cases: 96,
        failure_persistence: None,
        ..Config::default()
    });
    let strategy = (proptest::sample::select(&FREE_TEXT[..]), hostile_text());
    let result = runner.run(&strategy, |(field, value)| {
        tokio::task::block_in_place(|| handle.block_on(check(&app, field, &value)));
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}

async fn check(app: &TestApp, field: &str, value: &str) {
    let expected = normalise(field, value);
    let mut input = nest(field, value);
    if field != "displayName" {
        input["displayName"] = json!("x");
    }
    let response = app
        .gql(
            "mutation($i: CreateContactInput!) { createContact(input: $i) { id } }",
            json!({ "i": input }),
        )
        .await;
    match expected {
        Ok(stored) => {
            let id = response["data"]["createContact"]["id"]
                .as_str()
                .unwrap_or_else(|| {
                    panic!("{field} = {value:?} accepted by the domain: {response}")
                });
            let read = app.get(id).await;
            let got = match field.split_once('.') {
                Some((parent, child)) => read[parent][child].clone(),
                None => read[field].clone(),
            };
            assert_eq!(
                got,
                stored.map_or(Value::Null, Value::String),
                "{field} = {value:?}"
            );
            // Each case on its own: an externalId generated twice is no conflict.
            app.data(
                "mutation($id: ID!) { deleteContact(id: $id) }",
                json!({ "id": id }),
            )
            .await;
        }
        Err(refused) => {
            assert_eq!(
                response["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
                "{field} = {value:?}: {response}"
            );
            assert_eq!(
                response["errors"][0]["extensions"]["field"].as_str(),
                refused.as_deref(),
                "{field} = {value:?}"
            );
        }
    }
}
