//! "Not the same person": dismissed candidates stay away through merges
//! and unmerges, come back when the dismissal is taken back, and both
//! steps are in the change log.

use serde_json::{json, Value};

use crate::common::{s, TestApp};

const CANDIDATES: &str = "query($contact: ID) {
  duplicateCandidates(first: 100, contactId: $contact) { edges { node { contactIds score } } } }";
const DISMISS: &str = "mutation($ids: [ID!]!) { dismissDuplicate(contactIds: $ids) { id } }";
const UNDISMISS: &str = "mutation($ids: [ID!]!) { undismissDuplicate(contactIds: $ids) { id } }";
const MERGE: &str = "mutation($s: ID!, $d: ID!) { mergeContacts(sourceId: $s, destinationId: $d) { id mergeHistory { id } } }";
const HISTORY: &str = "query($id: ID!) { contact(id: $id) {
  history(first: 100) { edges { node { kind contactId changes { field old new } } } } } }";

async fn pairs(app: &TestApp) -> Vec<Vec<String>> {
    let data = app.data(CANDIDATES, json!({})).await;
    let mut all: Vec<Vec<String>> = data["duplicateCandidates"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let mut ids: Vec<String> = e["node"]["contactIds"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| s(v).to_owned())
                .collect();
            ids.sort();
            ids
        })
        .collect();
    all.sort();
    all
}

fn pair(a: &Value, b: &Value) -> Vec<String> {
    let mut ids = vec![s(&a["id"]).to_owned(), s(&b["id"]).to_owned()];
    ids.sort();
    ids
}

#[tokio::test]
async fn a_dismissed_pair_stays_away_through_merges_until_taken_back() {
    let app = TestApp::new().await;
    let mum = app
        .create(json!({ "displayName": "Rosa Lima", "via": [{ "source": "email", "handle": "rosa.lima@gmail.com" }] }))
        .await;
    let daughter = app
        .create(json!({ "displayName": "Rosa Lima", "via": [{ "source": "email", "handle": "rosalima+shop@gmail.com" }] }))
        .await;
    assert_eq!(pairs(&app).await, vec![pair(&mum, &daughter)]);

    app.data(DISMISS, json!({ "ids": [mum["id"], daughter["id"]] }))
        .await;
    assert_eq!(pairs(&app).await, Vec::<Vec<String>>::new());
    // Twice: nothing more happens.
    app.data(DISMISS, json!({ "ids": [daughter["id"], mum["id"]] }))
        .await;

    // The daughter's other record merges into her: still not her mother.
    let other = app
        .create(json!({ "displayName": "Rosa M. Lima", "via": [{ "source": "phone", "handle": "+5511987650000" }] }))
        .await;
    let merged = app
        .data(MERGE, json!({ "s": daughter["id"], "d": other["id"] }))
        .await["mergeContacts"]
        .clone();
    assert_eq!(
        pairs(&app).await,
        Vec::<Vec<String>>::new(),
        "after a merge"
    );
    // Unmerged again: the daughter is back, still dismissed.
    let record = s(&merged["mergeHistory"][0]["id"]).to_owned();
    app.data(
        "mutation($r: ID!) { unmergeContact(mergeRecordId: $r) { id } }",
        json!({ "r": record }),
    )
    .await;
    let left = pairs(&app).await;
    assert!(!left.contains(&pair(&mum, &daughter)), "{left:?}");

    // Taken back (named by the ids as they stand): the pair returns.
    app.data(UNDISMISS, json!({ "ids": [mum["id"], daughter["id"]] }))
        .await;
    assert!(pairs(&app).await.contains(&pair(&mum, &daughter)));

    // The log has both steps, naming the other contact.
    let history = app.data(HISTORY, json!({ "id": mum["id"] })).await;
    let entries: Vec<&Value> = history["contact"]["history"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["node"])
        .filter(|n| s(&n["kind"]).starts_with("DUPLICATE_"))
        .collect();
    assert_eq!(entries.len(), 2, "{history:#}");
    assert_eq!(entries[0]["kind"], "DUPLICATE_DISMISSED");
    assert_eq!(entries[0]["changes"][0]["field"], "duplicateDismissals");
    assert_eq!(entries[0]["changes"][0]["new"], json!([daughter["id"]]));
    assert_eq!(entries[1]["kind"], "DUPLICATE_UNDISMISSED");
    assert_eq!(entries[1]["changes"][0]["old"], json!([daughter["id"]]));
}

#[tokio::test]
async fn a_dismissal_made_before_a_merge_is_taken_back_by_the_ids_after_it() {
    let app = TestApp::new().await;
    let a = app
        .create(json!({ "displayName": "Tom Berg", "via": [{ "source": "email", "handle": "tom.berg@gmail.com" }] }))
        .await;
    let b = app
        .create(json!({ "displayName": "Tom Berg", "via": [{ "source": "email", "handle": "tomberg@googlemail.com" }] }))
        .await;
    let c = app.create(json!({ "organizationName": "Berg AB" })).await;
    app.data(DISMISS, json!({ "ids": [a["id"], b["id"]] }))
        .await;
    app.data(MERGE, json!({ "s": a["id"], "d": c["id"] })).await;
    assert_eq!(pairs(&app).await, Vec::<Vec<String>>::new());
    // c now holds a's mailbox; undismissing (c, b) takes back (a, b).
    app.data(UNDISMISS, json!({ "ids": [c["id"], b["id"]] }))
        .await;
    assert_eq!(pairs(&app).await, vec![pair(&b, &c)]);
}

#[tokio::test]
async fn dismissal_arguments_name_their_place() {
    let app = TestApp::new().await;
    let a = app.create(json!({ "displayName": "A" })).await;
    let b = app.create(json!({ "displayName": "B" })).await;
    let unknown = "01900000-0000-7000-8000-000000000000";
    let many: Vec<String> = (0..51)
        .map(|i| format!("01900000-0000-7000-8000-{i:012}"))
        .collect();
    for (doc, ids, code, field) in [
        (DISMISS, json!([a["id"]]), "BAD_USER_INPUT", "contactIds"),
        (DISMISS, json!(many), "LIMIT_EXCEEDED", "contactIds"),
        (
            DISMISS,
            json!([a["id"], "x"]),
            "BAD_USER_INPUT",
            "contactIds.1",
        ),
        (
            DISMISS,
            json!([a["id"], a["id"]]),
            "BAD_USER_INPUT",
            "contactIds.1",
        ),
        (
            DISMISS,
            json!([a["id"], unknown]),
            "NOT_FOUND",
            "contactIds.1",
        ),
        (
            UNDISMISS,
            json!([b["id"], unknown]),
            "NOT_FOUND",
            "contactIds.1",
        ),
    ] {
        let (got, got_field, message) = app.error(doc, json!({ "ids": ids })).await;
        assert_eq!(
            (got.as_str(), got_field.as_deref()),
            (code, Some(field)),
            "{message}"
        );
    }
    assert_eq!(
        app.sql_count("SELECT COUNT(*) AS n FROM duplicate_dismissals")
            .await,
        0
    );
}

#[tokio::test]
async fn dismissals_are_events_and_go_with_an_erased_contact() {
    use contacts_api::service::changes::ChangeKind;
    let app = TestApp::new().await;
    let a = app.create(json!({ "displayName": "Eva Moreau" })).await;
    let b = app.create(json!({ "displayName": "Eva Moreau" })).await;
    let c = app.create(json!({ "displayName": "Eve Moreau" })).await;
    let mut rx = app
        .events
        .subscribe(std::time::Duration::from_secs(10))
        .await;
    app.data(DISMISS, json!({ "ids": [a["id"], b["id"], c["id"]] }))
        .await;
    let mut dismissed = Vec::new();
    while dismissed.len() < 3 {
        let event = crate::common::next_bus_event(&mut rx).await;
        if event.kind == ChangeKind::DuplicateDismissed {
            dismissed.push(event.contact_id.to_string());
        }
    }
    dismissed.sort();
    let mut all = vec![
        s(&a["id"]).to_owned(),
        s(&b["id"]).to_owned(),
        s(&c["id"]).to_owned(),
    ];
    all.sort();
    assert_eq!(dismissed, all, "one event per contact");
    assert_eq!(
        app.sql_count("SELECT COUNT(*) AS n FROM duplicate_dismissals")
            .await,
        3,
        "every pair of three"
    );
    app.data(
        "mutation($id: ID!) { eraseContact(id: $id) }",
        json!({ "id": a["id"] }),
    )
    .await;
    assert_eq!(
        app.sql_count("SELECT COUNT(*) AS n FROM duplicate_dismissals")
            .await,
        1,
        "only b and c's is left"
    );
}
