//! Handle.verified: a visitor's handles are its own say-so; a token holder's
//! write naming one takes it over (and records the move) instead of matching
//! the visitor's contact, on every write path.

use contacts_api::domain::Scope;
use contacts_api::service::tokens;
use hmac::{KeyInit, Mac};
use serde_json::{json, Value};

use crate::common::{s, TestApp};

const SECRET: &str = "s3cret";
const HANDLE: &str = "ceo@bigcorp.example";

struct World {
    app: TestApp,
    staff: String,
}

impl World {
    async fn new() -> Self {
        let app = TestApp::with_args(&["--identity-secret", SECRET]).await;
        let staff = tokens::create(&app.state.db, "staff", Scope::Write)
            .await
            .unwrap();
        Self { app, staff }
    }

    async fn staff(&self, query: &str, variables: Value) -> Value {
        let bearer = format!("Bearer {}", self.staff);
        let (status, body) = self
            .app
            .post_with(
                &[("authorization", bearer.as_str())],
                json!({ "query": query, "variables": variables }),
            )
            .await;
        assert_eq!(status, 200);
        assert!(body["errors"].is_null(), "{body}");
        body["data"].clone()
    }

    /// The visitor `external_id` claims HANDLE; returns its contact's id.
    async fn visitor_claims(&self, external_id: &str) -> String {
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
        mac.update(external_id.as_bytes());
        let hash = hex::encode(mac.finalize().into_bytes());
        let (_, body) = self
            .app
            .post_with(
                &[],
                json!({
                    "query": "mutation($i: CreateOrUpdateContactInput!) { createOrUpdateContact(input: $i) { contact { id via { handle verified } } } }",
                    "variables": { "i": { "externalId": external_id, "identifierHash": hash, "via": [{ "source": "email", "handle": HANDLE }] } }
                }),
            )
            .await;
        let contact = &body["data"]["createOrUpdateContact"]["contact"];
        assert_eq!(
            contact["via"],
            json!([{ "handle": HANDLE, "verified": false }]),
            "{body}"
        );
        s(&contact["id"]).to_owned()
    }

    async fn via_of(&self, id: &str) -> Value {
        self.staff(
            "query($id: ID) { contact(id: $id) { via { handle verified } } }",
            json!({ "id": id }),
        )
        .await["contact"]["via"]
            .clone()
    }

    /// Recorded takeovers of HANDLE.
    async fn moves(&self) -> i64 {
        self.app
            .sql_count(&format!(
                "SELECT count(*) AS n FROM handle_moves WHERE handle = '{HANDLE}'"
            ))
            .await
    }
}

#[tokio::test]
async fn create_or_update_by_staff_takes_the_handle_from_the_visitor() {
    let w = World::new().await;
    let squatter = w.visitor_claims("squatter").await;
    let data = w
        .staff(
            "mutation { createOrUpdateContact(input: { displayName: \"The real CEO\", via: [{ source: \"email\", handle: \"CEO@bigcorp.example\" }] }) { created contact { id via { handle verified } } } }",
            json!({}),
        )
        .await;
    let result = &data["createOrUpdateContact"];
    assert_eq!(
        result["created"], true,
        "the visitor's contact was not matched"
    );
    assert_ne!(result["contact"]["id"], json!(squatter));
    assert_eq!(
        result["contact"]["via"],
        json!([{ "handle": HANDLE, "verified": true }])
    );
    assert_eq!(w.via_of(&squatter).await, json!([]));
    assert_eq!(w.moves().await, 1);
    // Staff's later writes naming it reach staff's contact.
    let again = w
        .staff(
            "mutation { createOrUpdateContact(input: { title: \"CEO\", via: [{ source: \"email\", handle: \"ceo@bigcorp.example\" }] }) { created contact { id } } }",
            json!({}),
        )
        .await;
    assert_eq!(again["createOrUpdateContact"]["created"], false);
    assert_eq!(
        again["createOrUpdateContact"]["contact"]["id"],
        result["contact"]["id"]
    );
}

#[tokio::test]
async fn link_conversation_and_create_take_the_handle_too() {
    let w = World::new().await;
    let squatter = w.visitor_claims("squatter").await;
    let data = w
        .staff(
            "mutation { linkConversation(input: { conversationId: \"01a1fefa-217c-752c-bea3-d578cd4dbd7c\", channel: \"email\", handle: { source: \"email\", handle: \"ceo@bigcorp.example\" } }) { contact { id via { handle verified } } } }",
            json!({}),
        )
        .await;
    let owner = &data["linkConversation"]["contact"];
    assert_ne!(
        owner["id"],
        json!(squatter),
        "the conversation went to the visitor"
    );
    assert_eq!(
        owner["via"],
        json!([{ "handle": HANDLE, "verified": true }])
    );
    assert_eq!(w.via_of(&squatter).await, json!([]));

    // createContact: the handle is now verified on staff's contact: CONFLICT.
    let bearer = format!("Bearer {}", w.staff);
    let (_, body) = w
        .app
        .post_with(
            &[("authorization", bearer.as_str())],
            json!({ "query": "mutation { createContact(input: { via: [{ source: \"email\", handle: \"ceo@bigcorp.example\" }] }) { id } }" }),
        )
        .await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "CONFLICT",
        "{body}"
    );
}

#[tokio::test]
async fn imports_take_the_handle_in_every_mode() {
    for mode in ["FAIL", "SKIP", "UPDATE"] {
        let w = World::new().await;
        let squatter = w.visitor_claims("squatter").await;
        let data = w
            .staff(
                "mutation($i: ImportContactsInput!) { importContacts(input: $i) { createdCount updatedCount skippedCount errors { message } } }",
                json!({ "i": { "onConflict": mode, "contacts": [{ "displayName": "CEO", "via": [{ "source": "email", "handle": HANDLE }] }] } }),
            )
            .await;
        assert_eq!(data["importContacts"]["createdCount"], 1, "{mode}: {data}");
        assert_eq!(w.via_of(&squatter).await, json!([]), "{mode}");
        assert_eq!(w.moves().await, 1, "{mode}");
    }
}

#[tokio::test]
async fn staff_writing_the_visitors_own_contact_vouches_for_its_handles() {
    let w = World::new().await;
    let visitor = w.visitor_claims("visitor").await;
    w.staff(
        "mutation($i: UpdateContactInput!) { updateContact(input: $i) { id } }",
        json!({ "i": { "id": visitor, "via": [{ "source": "email", "handle": HANDLE }] } }),
    )
    .await;
    assert_eq!(
        w.via_of(&visitor).await,
        json!([{ "handle": HANDLE, "verified": true }])
    );
    assert_eq!(w.moves().await, 0);
}

#[tokio::test]
async fn merges_keep_each_handles_flag() {
    let w = World::new().await;
    let visitor = w.visitor_claims("visitor").await;
    let staffs = w
        .staff(
            "mutation { createContact(input: { via: [{ source: \"phone\", handle: \"+16172531000\" }] }) { id } }",
            json!({}),
        )
        .await;
    let staffs = s(&staffs["createContact"]["id"]).to_owned();
    let merged = w
        .staff(
            "mutation($d: ID!, $s: ID!) { mergeContacts(destinationId: $d, sourceId: $s) { mergeHistory { id } } }",
            json!({ "d": staffs, "s": visitor }),
        )
        .await;
    let record = s(&merged["mergeContacts"]["mergeHistory"][0]["id"]).to_owned();
    let via = w.via_of(&staffs).await;
    assert_eq!(
        via,
        json!([{ "handle": "+16172531000", "verified": true }, { "handle": HANDLE, "verified": false }])
    );
    w.staff(
        "mutation($id: ID!) { unmergeContact(mergeRecordId: $id) { id } }",
        json!({ "id": record }),
    )
    .await;
    assert_eq!(
        w.via_of(&visitor).await,
        json!([{ "handle": HANDLE, "verified": false }])
    );
}
