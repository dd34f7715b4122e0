//! Phone numbers of every country, read as libphonenumber reads them, through
//! the API (the parser itself is checked entry by entry against
//! libphonenumber by the golden corpus test in src/domain/phone.rs).

use serde_json::{json, Value};

use crate::common::{s, TestApp};

const UPSERT: &str = "mutation($input: CreateOrUpdateContactInput!) {
    createOrUpdateContact(input: $input) { created contact { id displayName via { source handle extension } } } }";

const BY_HANDLE: &str = "query($h: HandleInput) { contact(handle: $h) { id displayName } }";

async fn upsert(app: &TestApp, name: &str, handle: &str) -> (bool, Value) {
    let data = app
        .data(
            UPSERT,
            json!({ "input": { "displayName": name, "via": [{ "source": "phone", "handle": handle }] } }),
        )
        .await;
    let payload = &data["createOrUpdateContact"];
    (payload["created"] == true, payload["contact"].clone())
}

async fn owner(app: &TestApp, handle: Value) -> Value {
    app.data(BY_HANDLE, json!({ "h": handle })).await["contact"].clone()
}

#[tokio::test]
async fn numbers_with_a_country_code_are_that_country_s_whatever_the_default_region() {
    let app = TestApp::new().await;
    // The landline the German mobile used to be mistaken for.
    let landline = app
        .create(json!({ "displayName": "Landline", "via": [{ "source": "phone", "handle": "+495123456789" }] }))
        .await;
    let (created, mobile) = upsert(&app, "Mobile", "+49 1512 3456789").await;
    assert!(
        created,
        "the mobile is a new contact, not the landline's owner"
    );
    assert_eq!(mobile["via"][0]["handle"], "+4915123456789");
    assert_eq!(app.get(s(&landline["id"])).await["displayName"], "Landline");
    // Each number once, then every other spelling of it finds the same contact.
    for spellings in [
        &["+86 139 1234 5678"][..],
        &["+33 1 23 45 67 89", "+33123456789", "+33 (0)1 23 45 67 89"],
        &["+55 11 91234-5678"],
        &["+44 161 496 0000"],
        &["+91 11 2345 6789"],
        &["+44 (0)20 7946 0958", "+44 20 7946 0958"],
        &["+49 (0)30 901820", "011 49 30 901820", "tel:+49-30-901820"],
        &["+33 (0)6 12 34 56 78", "+33 6 12 34 56 78"],
    ] {
        let created = app
            .create(json!({ "via": [{ "source": "phone", "handle": spellings[0] }] }))
            .await;
        let e164: String = spellings[0]
            .chars()
            .filter(|c| c.is_ascii_digit())
            .collect::<String>()
            .replacen("(0)", "", 1);
        let stored = s(&created["via"][0]["handle"]).to_owned();
        assert!(stored.starts_with('+'), "{stored}");
        if !spellings[0].contains("(0)") {
            assert_eq!(stored[1..], e164, "{}", spellings[0]);
        }
        for written in spellings {
            let found = owner(&app, json!({ "source": "phone", "handle": written })).await;
            assert_eq!(found["id"], created["id"], "lookup by {written}");
        }
    }
    let trunk = owner(
        &app,
        json!({ "source": "phone", "handle": "+442079460958" }),
    )
    .await;
    assert!(
        trunk.is_object(),
        "the (0) is the trunk prefix, not part of the number"
    );
}

#[tokio::test]
async fn the_default_region_reads_only_national_numbers() {
    let app = TestApp::with_args(&["--default-region", "DE"]).await;
    let rome = app
        .create(json!({ "via": [{ "source": "phone", "handle": "+39 06 6988 1234" }] }))
        .await;
    assert_eq!(rome["via"][0]["handle"], "+390669881234");
    let berlin = app
        .create(json!({ "via": [{ "source": "phone", "handle": "030 901820" }] }))
        .await;
    assert_eq!(berlin["via"][0]["handle"], "+4930901820");
}

#[tokio::test]
async fn outdated_numbers_need_their_country_code() {
    let app = TestApp::new().await;
    // A Brazilian mobile without the ninth digit, as WhatsApp reports it:
    // possible, no longer valid; kept when written with its country code.
    let c = app
        .create(json!({ "via": [{ "source": "whatsapp", "handle": "+55 11 8123-4567" }] }))
        .await;
    assert_eq!(c["via"][0]["handle"], "+551181234567");
    let (code, field, _) = app
        .error(
            "mutation { createContact(input: { via: [{ source: \"phone\", handle: \"+1 555\" }] }) { id } }",
            json!({}),
        )
        .await;
    assert_eq!(code, "BAD_USER_INPUT");
    assert_eq!(field.as_deref(), Some("input.via.0.handle"));
}

#[tokio::test]
async fn extensions_are_handles_of_their_own() {
    let app = TestApp::new().await;
    let (created, x201) = upsert(&app, "Desk 201", "+1 617-253-1000 x201").await;
    assert!(created);
    assert_eq!(
        x201["via"][0],
        json!({ "source": "phone", "handle": "+16172531000", "extension": "201" })
    );
    let (created, x305) = upsert(&app, "Desk 305", "+1 617-253-1000 ext. 305").await;
    assert!(created, "x305 is not the x201 person");
    let (created, main) = upsert(&app, "Switchboard", "+16172531000").await;
    assert!(created, "the number without an extension is a third handle");
    assert_eq!(main["via"][0]["extension"], Value::Null);
    assert_eq!(app.get(s(&x201["id"])).await["displayName"], "Desk 201");

    // Found by exact match: the extension written in the number or apart.
    for h in [
        json!({ "source": "phone", "handle": "tel:+1-617-253-1000;ext=305" }),
        json!({ "source": "phone", "handle": "(617) 253-1000", "extension": "305" }),
    ] {
        assert_eq!(owner(&app, h).await["id"], x305["id"]);
    }
    // Digits of any script are the same extension.
    let (created, same) = upsert(&app, "Desk 305 again", "+1 617-253-1000 ext. ٣٠٥").await;
    assert!(!created, "ext. ٣٠٥ is ext. 305");
    assert_eq!(same["id"], x305["id"]);
    assert_eq!(same["via"][0]["extension"], "305");
    let plain = owner(&app, json!({ "source": "phone", "handle": "+16172531000" })).await;
    assert_eq!(
        plain["id"], main["id"],
        "no extension matches only no extension"
    );

    // Two different extensions in one handle, or one on an e-mail, are refused.
    for (h, field) in [
        (
            json!({ "source": "phone", "handle": "+16172531000 x201", "extension": "305" }),
            "input.via.0.extension",
        ),
        (
            json!({ "source": "email", "handle": "a@b.org", "extension": "1" }),
            "input.via.0.extension",
        ),
        (
            json!({ "source": "phone", "handle": "+16172531000", "extension": "12a" }),
            "input.via.0.extension",
        ),
    ] {
        let response = app
            .gql(
                "mutation($input: CreateContactInput!) { createContact(input: $input) { id } }",
                json!({ "input": { "via": [h] } }),
            )
            .await;
        assert_eq!(
            response["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
            "{response}"
        );
        assert_eq!(
            response["errors"][0]["extensions"]["field"], field,
            "{response}"
        );
    }
}

#[tokio::test]
async fn link_conversation_and_import_land_on_the_right_number() {
    let app = TestApp::new().await;
    let landline = app
        .create(json!({ "displayName": "Landline", "via": [{ "source": "phone", "handle": "+495123456789" }] }))
        .await;
    let link = app
        .data(
            "mutation($input: LinkConversationInput!) { linkConversation(input: $input) { contact { id via { handle } } } }",
            json!({ "input": {
                "conversationId": "0b7d3c3e-1f43-4d8e-9a8e-7c1d2b3a4f5e",
                "channel": "whatsapp",
                "handle": { "source": "phone", "handle": "+49 1512 3456789" }
            } }),
        )
        .await;
    let contact = &link["linkConversation"]["contact"];
    assert_ne!(contact["id"], landline["id"]);
    assert_eq!(contact["via"][0]["handle"], "+4915123456789");

    let imported = app
        .data(
            "mutation($input: ImportContactsInput!) { importContacts(input: $input) { createdCount updatedCount } }",
            json!({ "input": { "onConflict": "UPDATE", "contacts": [
                { "displayName": "Mobile owner", "via": [{ "source": "phone", "handle": "+49 (0)1512 3456789" }] }
            ] } }),
        )
        .await;
    assert_eq!(imported["importContacts"]["updatedCount"], 1, "{imported}");
    assert_eq!(app.get(s(&landline["id"])).await["displayName"], "Landline");
    assert_eq!(
        app.get(s(&contact["id"])).await["displayName"],
        "Mobile owner"
    );
}
