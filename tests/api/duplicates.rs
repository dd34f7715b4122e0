//! Duplicate candidates: found through folded keys, explained, scored,
//! paged, and as fresh as the last committed write.

use serde_json::{json, Value};

use crate::common::TestApp;

const CANDIDATES: &str = "query($first: Int, $after: String, $min: Float, $contact: ID) {
  duplicateCandidates(first: $first, after: $after, minScore: $min, contactId: $contact) {
    edges { cursor node { contactIds score reasons { kind fields } contacts { id } } }
    pageInfo { hasNextPage endCursor }
  }
}";

async fn candidates(app: &TestApp, variables: Value) -> Vec<Value> {
    let data = app.data(CANDIDATES, variables).await;
    data["duplicateCandidates"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"].clone())
        .collect()
}

fn ids_of(node: &Value) -> Vec<String> {
    let mut ids: Vec<String> = node["contactIds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    ids
}

fn pair(a: &Value, b: &Value) -> Vec<String> {
    let mut ids = vec![
        a["id"].as_str().unwrap().to_owned(),
        b["id"].as_str().unwrap().to_owned(),
    ];
    ids.sort();
    ids
}

fn kinds(node: &Value) -> Vec<&str> {
    node["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["kind"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn variants_of_one_person_are_candidates_with_their_reasons() {
    let app = TestApp::new().await;
    let maria = app
        .create(json!({ "displayName": "María Silva", "via": [{ "source": "email", "handle": "maria.silva@gmail.com" }] }))
        .await;
    let silva = app
        .create(json!({ "displayName": "SILVA, Maria", "via": [{ "source": "email", "handle": "MariaSilva+shop@googlemail.com" }] }))
        .await;
    // The same common name and nothing else: not a candidate by default.
    let other = app
        .create(json!({ "displayName": "Maria Silva", "via": [{ "source": "email", "handle": "maria@example.org" }] }))
        .await;
    // One Brazilian mobile with and without its ninth digit.
    let with9 = app
        .create(json!({ "displayName": "João Souza", "via": [{ "source": "phone", "handle": "+55 11 98765-4321" }] }))
        .await;
    let without9 = app
        .create(json!({ "via": [{ "source": "whatsapp", "handle": "+551187654321" }] }))
        .await;
    // A household's landline: one line, two people.
    let anna = app
        .create(json!({ "displayName": "Anna Costa", "via": [{ "source": "phone", "handle": "+55 11 3234-5678" }] }))
        .await;
    let nina = app
        .create(json!({ "displayName": "Nina Costa", "via": [{ "source": "sms", "handle": "+55 11 3234-5678" }] }))
        .await;

    let found = candidates(&app, json!({})).await;
    let pairs: Vec<Vec<String>> = found.iter().map(ids_of).collect();
    assert_eq!(found.len(), 2, "{found:#?}");
    assert!(pairs.contains(&pair(&maria, &silva)), "{found:#?}");
    assert!(pairs.contains(&pair(&with9, &without9)), "{found:#?}");
    let gmail = &found[pairs
        .iter()
        .position(|p| *p == pair(&maria, &silva))
        .unwrap()];
    assert_eq!(kinds(gmail), ["SAME_EMAIL", "SAME_NAME"]);
    assert_eq!(gmail["reasons"][0]["fields"], json!(["via"]));
    assert_eq!(gmail["contacts"].as_array().unwrap().len(), 2);
    let score = gmail["score"].as_f64().unwrap();
    assert!((0.7..=1.0).contains(&score), "{score}");

    // A common name alone, or a household's line, is not kept at all.
    let weak = candidates(&app, json!({ "min": 0.0 })).await;
    let weak_pairs: Vec<Vec<String>> = weak.iter().map(ids_of).collect();
    assert_eq!(weak.len(), 2, "{weak:#?}");
    assert!(!weak_pairs.contains(&pair(&maria, &other)), "{weak:#?}");
    assert!(!weak_pairs.contains(&pair(&anna, &nina)), "{weak:#?}");
    // Ordered by score, highest first.
    let scores: Vec<f64> = weak.iter().map(|n| n["score"].as_f64().unwrap()).collect();
    assert!(scores.windows(2).all(|w| w[0] >= w[1]), "{scores:?}");
}

#[tokio::test]
async fn candidates_follow_every_committed_write() {
    let app = TestApp::new().await;
    let a = app
        .create(json!({ "displayName": "Ada Lovelace", "organizationName": "Analytical Engines", "address": { "addressLine1": "12 St James's Square", "city": "London" } }))
        .await;
    let b = app
        .create(json!({ "displayName": "Ada Lovelase", "organizationName": "Analytical engines", "address": { "addressLine1": "12 St James's Square", "city": "LONDON" } }))
        .await;
    let found = candidates(&app, json!({})).await;
    assert_eq!(found.iter().map(ids_of).collect::<Vec<_>>(), [pair(&a, &b)]);
    assert_eq!(
        kinds(&found[0]),
        ["SIMILAR_NAME", "SAME_ORGANIZATION", "SAME_ADDRESS"]
    );
    // Renamed to someone else: no longer a candidate, at once.
    app.data(
        "mutation($id: ID!) { updateContact(input: { id: $id, displayName: \"Charles Babbage\" }) { id } }",
        json!({ "id": b["id"] }),
    )
    .await;
    assert_eq!(candidates(&app, json!({})).await, Vec::<Value>::new());
    // Deleted: its keys go too.
    app.data(
        "mutation($id: ID!) { updateContact(input: { id: $id, displayName: \"Ada Lovelace\" }) { id } }",
        json!({ "id": b["id"] }),
    )
    .await;
    assert_eq!(candidates(&app, json!({})).await.len(), 1);
    app.data(
        "mutation($id: ID!) { deleteContact(id: $id) }",
        json!({ "id": a["id"] }),
    )
    .await;
    assert_eq!(candidates(&app, json!({})).await, Vec::<Value>::new());
}

#[tokio::test]
async fn candidates_page_by_cursor_and_narrow_to_one_contact() {
    let app = TestApp::new().await;
    let mut people = Vec::new();
    for i in 0..4 {
        let one = app
            .create(json!({ "displayName": format!("Person {i}"), "via": [{ "source": "email", "handle": format!("person.{i}@gmail.com") }] }))
            .await;
        let two = app
            .create(json!({ "displayName": format!("Person {i}"), "via": [{ "source": "email", "handle": format!("person{i}@gmail.com") }] }))
            .await;
        people.push(pair(&one, &two));
    }
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let data = app
            .data(CANDIDATES, json!({ "first": 3, "after": after }))
            .await;
        let page = &data["duplicateCandidates"];
        seen.extend(
            page["edges"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| ids_of(&e["node"])),
        );
        if !page["pageInfo"]["hasNextPage"].as_bool().unwrap() {
            break;
        }
        after = Some(page["pageInfo"]["endCursor"].as_str().unwrap().to_owned());
    }
    let mut expected = people.clone();
    expected.sort();
    let mut got = seen.clone();
    got.sort();
    assert_eq!(got, expected, "every pair once across pages");
    let one = candidates(&app, json!({ "contact": people[2][0] })).await;
    assert_eq!(
        one.iter().map(ids_of).collect::<Vec<_>>(),
        [people[2].clone()]
    );
    // A merged-away id names the contact it was merged into.
    let extra = app.create(json!({ "displayName": "Someone Else" })).await;
    app.data(
        "mutation($s: ID!, $d: ID!) { mergeContacts(sourceId: $s, destinationId: $d) { id } }",
        json!({ "s": extra["id"], "d": people[3][0] }),
    )
    .await;
    let merged = candidates(&app, json!({ "contact": extra["id"] })).await;
    assert_eq!(
        merged.iter().map(ids_of).collect::<Vec<_>>(),
        [people[3].clone()]
    );
}

#[tokio::test]
async fn bad_arguments_name_their_field() {
    let app = TestApp::new().await;
    for (variables, field) in [
        (json!({ "min": 1.5 }), "minScore"),
        (json!({ "min": -0.1 }), "minScore"),
        (json!({ "after": "bm90IGEgY3Vyc29y" }), "after"),
        (json!({ "contact": "nope" }), "contactId"),
        (json!({ "first": -1 }), "first"),
    ] {
        let (code, got, _) = app.error(CANDIDATES, variables.clone()).await;
        assert_eq!(code, "BAD_USER_INPUT", "{variables}");
        assert_eq!(got.as_deref(), Some(field), "{variables}");
    }
}

#[tokio::test]
async fn an_index_the_log_was_purged_past_rebuilds_itself() {
    use sea_orm::EntityTrait;
    let app = TestApp::new().await;
    let a = app
        .create(json!({ "displayName": "Grace Hopper", "via": [{ "source": "email", "handle": "grace.hopper@gmail.com" }] }))
        .await;
    assert_eq!(candidates(&app, json!({})).await.len(), 0);
    // Written after the index last read the log, then purged unread.
    let b = app
        .create(json!({ "displayName": "Grace Hopper", "via": [{ "source": "email", "handle": "gracehopper@gmail.com" }] }))
        .await;
    let db = &app.state.db;
    let newest = entity::contact_change::Entity::find()
        .all(db)
        .await
        .unwrap()
        .iter()
        .map(|e| e.position)
        .max()
        .unwrap();
    let future = chrono::Utc::now() + chrono::Duration::days(1);
    let purged = contacts_api::service::changes::purge_older_than(db, future, 1_000)
        .await
        .unwrap();
    assert!(purged >= 2, "{purged}");
    // The index had read past the purged entries (a read caught it up), or
    // starts again: it never stands behind the log's oldest entry.
    let state = entity::duplicate_index::Entity::find_by_id(1)
        .one(db)
        .await
        .unwrap()
        .unwrap();
    assert!(
        state.position.is_none_or(|read| read >= newest),
        "{state:?} behind the purge of {newest}"
    );
    let found = candidates(&app, json!({})).await;
    assert_eq!(found.iter().map(ids_of).collect::<Vec<_>>(), [pair(&a, &b)]);
}
