//! The change log: field-level entries, the contactChanges feed, history,
//! resumable subscriptions, command-line imports reaching subscribers,
//! erasure and retention.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use contacts_api::domain::Scope;
use contacts_api::service::changes::{self, ChangeFilter, Position};
use contacts_api::service::tokens;
use entity::contact_state::{ContactState, FieldChange};
use sea_orm::{ConnectionTrait, EntityTrait, QuerySelect, Statement};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::common::{postgres_only, s, TestApp};
use crate::process::{bin, Server};
use crate::ws_client::Subscriber;

const CHANGES: &str = "query($after: String, $first: Int, $filter: ContactChangeFilter) {
  contactChanges(after: $after, first: $first, filter: $filter) {
    edges { cursor node { cursor kind contactId mergedIntoId actor source at changes { field key old new } } }
    pageInfo { hasNextPage endCursor }
  } }";

const HISTORY: &str = "query($id: ID!, $after: String) { contact(id: $id) {
  history(first: 1000, after: $after) {
    edges { cursor node { kind contactId source changes { field key old new } } }
    pageInfo { hasNextPage endCursor } } } }";

/// Every entry of the feed after `after` that `filter` wants, page by page.
async fn all_changes(app: &TestApp, after: Option<String>, filter: Value) -> Vec<Value> {
    let mut after = after;
    let mut nodes = Vec::new();
    loop {
        let data = app
            .data(
                CHANGES,
                json!({ "after": after, "first": 1000, "filter": filter }),
            )
            .await;
        let page = &data["contactChanges"];
        for edge in page["edges"].as_array().unwrap() {
            assert_eq!(edge["cursor"], edge["node"]["cursor"]);
            nodes.push(edge["node"].clone());
        }
        if page["pageInfo"]["hasNextPage"] != true {
            return nodes;
        }
        after = Some(s(&page["pageInfo"]["endCursor"]).to_owned());
    }
}

fn field_changes(node: &Value) -> Vec<FieldChange> {
    serde_json::from_value(node["changes"].clone()).expect("changes in the log's shape")
}

fn change<'a>(node: &'a Value, field: &str) -> Vec<&'a Value> {
    node["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["field"] == field)
        .collect()
}

/// Replays `id`'s own entries of its history from nothing: the state the
/// log says it has.
async fn replayed(app: &TestApp, id: &str) -> ContactState {
    let mut state = ContactState::default();
    let mut after: Option<String> = None;
    loop {
        let data = app.data(HISTORY, json!({ "id": id, "after": after })).await;
        let history = &data["contact"]["history"];
        for edge in history["edges"].as_array().unwrap() {
            let node = &edge["node"];
            if node["contactId"] != json!(id) {
                continue; // a merged-in contact's own history
            }
            if matches!(
                s(&node["kind"]),
                "CREATED" | "UNMERGED" | "DELETED" | "MERGED"
            ) {
                state = ContactState::default();
            }
            state
                .apply(&field_changes(node))
                .unwrap_or_else(|e| panic!("{id}: {e}"));
        }
        if history["pageInfo"]["hasNextPage"] != true {
            return state;
        }
        after = Some(s(&history["pageInfo"]["endCursor"]).to_owned());
    }
}

/// Every contact's history, replayed from nothing, gives its stored state.
pub async fn every_history_replays_to_its_contact(app: &TestApp) {
    let db = &app.state.db;
    let ids: Vec<Uuid> = entity::contact::Entity::find()
        .select_only()
        .column(entity::contact::Column::Id)
        .into_tuple()
        .all(db)
        .await
        .unwrap();
    let mut states = ContactState::load(db, &ids).await.unwrap();
    for id in &ids {
        let stored = states.remove(id).unwrap();
        assert_eq!(replayed(app, &id.to_string()).await, stored, "contact {id}");
    }
    every_entry_is_stored_in_the_shape_every_release_reads(app).await;
}

/// Every stored entry is a JSON array of `{field, key?, old?, new?}`: the
/// one shape every release reads, so a replica of the previous release
/// still running during a rolling upgrade shows what this one wrote (a
/// compact shape it did not know once read as no changes at all).
async fn every_entry_is_stored_in_the_shape_every_release_reads(app: &TestApp) {
    let entries = entity::contact_change::Entity::find()
        .all(&app.state.db)
        .await
        .unwrap();
    for entry in entries {
        let changes = entry.changes.as_array().unwrap_or_else(|| {
            panic!(
                "entry {} is not an array: {}",
                entry.position, entry.changes
            )
        });
        for change in changes {
            let object = change.as_object().unwrap();
            assert!(
                object.get("field").is_some_and(|f| f.is_string()),
                "{change}"
            );
            assert!(
                object
                    .keys()
                    .all(|k| ["field", "key", "old", "new"].contains(&k.as_str())),
                "{change}"
            );
            assert!(
                object.contains_key("old") || object.contains_key("new"),
                "{change}"
            );
        }
    }
}

#[tokio::test]
async fn every_change_is_logged_value_by_value() {
    let app = TestApp::new().await;
    let a = app
        .create(json!({ "displayName": "Ada", "title": "Eng",
            "via": [{ "source": "email", "handle": "ada@example.org" }],
            "groupNames": ["vip"], "links": ["https://a.example"],
            "metadata": { "plan": { "tier": 1 } } }))
        .await;
    let a_id = s(&a["id"]).to_owned();
    app.update(json!({ "id": a_id, "displayName": "Ada L.", "title": null,
        "via": [{ "source": "email", "handle": "ada@example.org" }, { "source": "phone", "handle": "+16172531000", "extension": "201" }],
        "groupNames": ["staff"], "metadata": { "plan": { "tier": 2 }, "new": true } }))
        .await;
    // Nothing changed: no entry.
    app.update(json!({ "id": a_id, "displayName": "Ada L." }))
        .await;
    let b = app.create(json!({ "displayName": "Bea" })).await;
    let b_id = s(&b["id"]).to_owned();
    let merged = app
        .data(
            "mutation($s: ID!, $d: ID!) { mergeContacts(sourceId: $s, destinationId: $d) { mergeHistory { id } } }",
            json!({ "s": b_id, "d": a_id }),
        )
        .await;
    let record = s(&merged["mergeContacts"]["mergeHistory"][0]["id"]).to_owned();
    app.data(
        "mutation($id: ID!) { unmergeContact(mergeRecordId: $id) { id } }",
        json!({ "id": record }),
    )
    .await;
    app.data(
        "mutation($i: ImportContactsInput!) { importContacts(input: $i) { createdCount } }",
        json!({ "i": { "contacts": [{ "displayName": "Imp" }] } }),
    )
    .await;
    app.data(
        "mutation($id: ID!) { deleteContact(id: $id) }",
        json!({ "id": b_id }),
    )
    .await;

    let log = all_changes(&app, None, json!(null)).await;
    let kinds: Vec<(&str, &str, &str)> = log
        .iter()
        .map(|n| (s(&n["kind"]), s(&n["source"]), s(&n["actor"])))
        .collect();
    assert_eq!(
        kinds,
        [
            ("CREATED", "API", "open"),
            ("UPDATED", "API", "open"),
            ("CREATED", "API", "open"),
            ("MERGED", "MERGE", "open"),
            ("UPDATED", "MERGE", "open"),
            ("UNMERGED", "UNMERGE", "open"),
            ("UPDATED", "UNMERGE", "open"),
            ("CREATED", "IMPORT", "open"),
            ("DELETED", "API", "open"),
        ]
    );
    let created = &log[0];
    assert_eq!(
        change(created, "displayName")[0],
        &json!({ "field": "displayName", "key": null, "old": null, "new": "Ada" })
    );
    let updated = &log[1];
    assert_eq!(
        change(updated, "displayName")[0],
        &json!({ "field": "displayName", "key": null, "old": "Ada", "new": "Ada L." })
    );
    assert_eq!(change(updated, "title")[0]["new"], Value::Null);
    assert_eq!(
        change(updated, "via"),
        [&json!({ "field": "via", "key": null, "old": null,
            "new": { "source": "phone", "handle": "+16172531000", "extension": "201", "verified": true } })]
    );
    let groups: HashSet<String> = change(updated, "groupNames")
        .iter()
        .map(|c| c.to_string())
        .collect();
    assert_eq!(groups.len(), 2, "vip removed, staff added: {groups:?}");
    let plan = change(updated, "metadata")
        .into_iter()
        .find(|c| c["key"] == "plan")
        .unwrap();
    assert_eq!(
        (&plan["old"], &plan["new"]),
        (&json!({"tier": 1}), &json!({"tier": 2}))
    );
    assert_eq!(log[3]["mergedIntoId"], json!(a_id));
    assert_eq!(log[3]["changes"], json!([]));
    assert_eq!(log[8]["changes"], json!([]), "DELETED carries no values");

    // The filters.
    let of_b = all_changes(&app, None, json!({ "contactIds": [b_id] })).await;
    assert_eq!(of_b.len(), 4, "created, merged, unmerged, deleted");
    let into_a = all_changes(
        &app,
        None,
        json!({ "contactIds": [a_id], "kinds": ["MERGED"] }),
    )
    .await;
    assert_eq!(into_a.len(), 1, "the merge into it");
    // Paging after an entry gives what followed it.
    let rest = all_changes(&app, Some(s(&log[4]["cursor"]).to_owned()), json!(null)).await;
    assert_eq!(rest, log[5..]);

    every_history_replays_to_its_contact(&app).await;
}

#[tokio::test]
async fn history_reaches_merged_in_contacts() {
    let app = TestApp::new().await;
    let a = app.create(json!({ "displayName": "A" })).await;
    let b = app
        .create(json!({ "displayName": "B", "via": [{ "source": "email", "handle": "b@example.org" }] }))
        .await;
    app.update(json!({ "id": b["id"], "title": "before the merge" }))
        .await;
    app.data(
        "mutation($s: ID!, $d: ID!) { mergeContacts(sourceId: $s, destinationId: $d) { id } }",
        json!({ "s": b["id"], "d": a["id"] }),
    )
    .await;
    let data = app.data(HISTORY, json!({ "id": a["id"] })).await;
    let entries: Vec<(String, String)> = data["contact"]["history"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                s(&e["node"]["contactId"]).to_owned(),
                s(&e["node"]["kind"]).to_owned(),
            )
        })
        .collect();
    let (a, b) = (s(&a["id"]).to_owned(), s(&b["id"]).to_owned());
    assert_eq!(
        entries,
        [
            (a.clone(), "CREATED".into()),
            (b.clone(), "CREATED".into()),
            (b.clone(), "UPDATED".into()),
            (b.clone(), "MERGED".into()),
            (a.clone(), "UPDATED".into()),
        ]
    );
    every_history_replays_to_its_contact(&app).await;
}

#[tokio::test]
async fn cursors_are_checked_and_expire_with_the_log() {
    let app = TestApp::new().await;
    for name in ["A", "B", "C"] {
        app.create(json!({ "displayName": name })).await;
    }
    let log = all_changes(&app, None, json!(null)).await;
    let first = s(&log[0]["cursor"]).to_owned();
    for bad in ["", "nope", "bG9nOjA6MA"] {
        let (code, field, _) = app.error(CHANGES, json!({ "after": bad })).await;
        assert_eq!(
            (code.as_str(), field.as_deref()),
            ("BAD_USER_INPUT", Some("after"))
        );
    }
    let (code, field, _) = app
        .error(CHANGES, json!({ "filter": { "contactIds": ["x"] } }))
        .await;
    assert_eq!(
        (code.as_str(), field.as_deref()),
        ("BAD_USER_INPUT", Some("filter.contactIds[0]"))
    );
    let (code, _, _) = app.error(CHANGES, json!({ "first": 1001 })).await;
    assert_eq!(code, "LIMIT_EXCEEDED");

    // Retention purges the oldest first, in batches.
    let purged = changes::purge_older_than(
        &app.state.db,
        chrono::Utc::now() + chrono::Duration::days(1),
        2,
    )
    .await
    .unwrap();
    assert_eq!(purged, 2);
    let (code, field, message) = app.error(CHANGES, json!({ "after": first })).await;
    assert_eq!(
        (code.as_str(), field.as_deref()),
        ("CURSOR_EXPIRED", Some("after")),
        "{message}"
    );
    let left = all_changes(&app, None, json!(null)).await;
    assert_eq!(left, log[2..]);
    // A subscription resuming after a purged position is told the same.
    let addr = app.listen().await;
    let mut sub = Subscriber::connect(&addr, "/graphql/ws", json!({}))
        .await
        .unwrap();
    sub.subscribe(
        "old",
        "subscription($a: String) { contactEvents(after: $a) { cursor } }",
        json!({ "a": first }),
    )
    .await;
    let payload = next_payload(&mut sub).await;
    assert_eq!(
        payload["errors"][0]["extensions"]["code"], "CURSOR_EXPIRED",
        "{payload}"
    );
}

/// The next message of a subscription, data or error.
async fn next_payload(sub: &mut Subscriber) -> Value {
    loop {
        match sub
            .message(Duration::from_secs(10))
            .await
            .expect("a message in time")
        {
            tokio_tungstenite::tungstenite::Message::Text(text) => {
                let value: Value = serde_json::from_str(&text).unwrap();
                match value["type"].as_str() {
                    Some("next") => return value["payload"].clone(),
                    Some("error") => return json!({ "errors": value["payload"] }),
                    _ => continue,
                }
            }
            other => panic!("{other:?}"),
        }
    }
}

const EVENTS_AFTER: &str =
    "subscription($after: String) { contactEvents(after: $after) { cursor kind contactId } }";

/// Resumes after `after` and reads `n` events: the ids they name, checked
/// to come in log order without a duplicate.
async fn resume(addr: &str, after: &str, n: usize) -> Vec<String> {
    let mut sub = Subscriber::connect(addr, "/graphql/ws", json!({}))
        .await
        .unwrap();
    sub.subscribe("resume", EVENTS_AFTER, json!({ "after": after }))
        .await;
    let mut ids = Vec::new();
    let mut last = Position::parse("after", after).unwrap();
    while ids.len() < n {
        let payload = sub
            .next(Duration::from_secs(20))
            .await
            .unwrap_or_else(|| panic!("only {} of {n} events", ids.len()));
        let event = &payload["data"]["contactEvents"];
        let at = Position::parse("cursor", s(&event["cursor"])).unwrap();
        assert!(at > last, "out of order or repeated: {event}");
        last = at;
        ids.push(s(&event["contactId"]).to_owned());
    }
    // Nothing more: no duplicate after the last.
    assert!(sub.next(Duration::from_millis(500)).await.is_none());
    ids
}

/// A subscriber goes away; 1,000 changes are made (on PostgreSQL across two
/// replicas, and replica A's LISTEN connection is killed meanwhile); it
/// resumes with the cursor of the last event it had, and gets exactly those
/// 1,000, in order.
#[tokio::test]
async fn a_resumed_subscription_gets_exactly_what_it_missed() {
    let app = TestApp::new().await;
    let addr = app.listen().await;
    let on_postgres = postgres_only("a second replica and a killed LISTEN connection");
    let other = if on_postgres {
        Some(Server::start(&app.database_url, &[]).await)
    } else {
        None
    };
    let anchor = s(&app.create(json!({ "displayName": "Anchor" })).await["id"]).to_owned();
    let mut sub = Subscriber::connect(&addr, "/graphql/ws", json!({}))
        .await
        .unwrap();
    sub.subscribe("live", EVENTS_AFTER, json!({})).await;
    sync_plain(&mut sub, &app, &anchor).await;
    app.update(json!({ "id": anchor, "title": "last seen" }))
        .await;
    let last = sub.next(Duration::from_secs(10)).await.unwrap();
    let cursor = s(&last["data"]["contactEvents"]["cursor"]).to_owned();
    drop(sub);

    let app = Arc::new(app);
    let mut writers = Vec::new();
    for w in 0..4 {
        let writer_app = app.clone();
        let other_url = other.as_ref().map(|o| o.url("/graphql"));
        writers.push(tokio::spawn(async move {
            let client = reqwest::Client::new();
            let mut ids = Vec::new();
            for i in 0..250 {
                let query = "mutation($i: CreateContactInput!) { createContact(input: $i) { id } }";
                let variables = json!({ "i": { "displayName": format!("w{w}-{i}") } });
                let id = match (&other_url, i % 2) {
                    (Some(url), 1) => {
                        let body: Value = client
                            .post(url)
                            .json(&json!({ "query": query, "variables": variables }))
                            .send()
                            .await
                            .unwrap()
                            .json()
                            .await
                            .unwrap();
                        s(&body["data"]["createContact"]["id"]).to_owned()
                    }
                    _ => s(&writer_app.data(query, variables).await["createContact"]["id"])
                        .to_owned(),
                };
                ids.push(id);
            }
            ids
        }));
        if w == 1 && on_postgres {
            // Restart replica A's listener halfway through.
            let killed = app
                .sql_count(
                    "SELECT count(pg_terminate_backend(pid)) AS n FROM pg_stat_activity \
                     WHERE datname = current_database() AND query LIKE 'LISTEN%'",
                )
                .await;
            assert!(killed >= 1, "no LISTEN connection found");
        }
    }
    let mut made = HashSet::new();
    for writer in writers {
        made.extend(writer.await.unwrap());
    }
    assert_eq!(made.len(), 1000);
    let heard = resume(&addr, &cursor, 1000).await;
    assert_eq!(heard.iter().cloned().collect::<HashSet<_>>(), made);
}

/// Waits until the subscription delivers an update of `anchor` made now.
async fn sync_plain(sub: &mut Subscriber, app: &TestApp, anchor: &str) {
    for round in 0..50 {
        app.update(json!({ "id": anchor, "title": format!("sync {round}") }))
            .await;
        while let Some(payload) = sub.next(Duration::from_millis(300)).await {
            if payload["data"]["contactEvents"]["contactId"] == json!(anchor) {
                return;
            }
        }
    }
    panic!("the subscription never went live");
}

/// Writers commit concurrently while a reader pages the feed with `after`:
/// the reader sees every entry exactly once, in the order a full read gives.
#[tokio::test]
async fn a_paging_reader_sees_every_concurrent_change_once() {
    let app = Arc::new(TestApp::new().await);
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut writers = Vec::new();
    for w in 0..8 {
        let app = app.clone();
        writers.push(tokio::spawn(async move {
            for i in 0..40 {
                let c = app
                    .create(json!({ "displayName": format!("w{w}-{i}") }))
                    .await;
                app.update(json!({ "id": c["id"], "title": "t" })).await;
            }
        }));
    }
    let reader = {
        let (app, done) = (app.clone(), done.clone());
        tokio::spawn(async move {
            let mut after: Option<String> = None;
            let mut seen: Vec<String> = Vec::new();
            loop {
                let finished = done.load(std::sync::atomic::Ordering::SeqCst);
                let data = app
                    .data(CHANGES, json!({ "after": after, "first": 7 }))
                    .await;
                let page = &data["contactChanges"];
                let edges = page["edges"].as_array().unwrap();
                seen.extend(edges.iter().map(|e| s(&e["cursor"]).to_owned()));
                if let Some(end) = page["pageInfo"]["endCursor"].as_str() {
                    after = Some(end.to_owned());
                }
                if finished && edges.is_empty() {
                    return seen;
                }
            }
        })
    };
    for writer in writers {
        writer.await.unwrap();
    }
    done.store(true, std::sync::atomic::Ordering::SeqCst);
    let seen = reader.await.unwrap();
    let full: Vec<String> = changes::read(
        &app.state.db,
        Position::START,
        10_000,
        &ChangeFilter::default(),
    )
    .await
    .unwrap()
    .entries
    .iter()
    .map(|e| e.position.cursor())
    .collect();
    assert_eq!(full.len(), 640);
    assert_eq!(seen, full);
}

/// `contacts-api import`, another process, reaches a subscriber of the
/// running server: through NOTIFY on PostgreSQL, through the server's poll
/// of the log on SQLite.
#[tokio::test]
async fn command_line_imports_reach_subscribers() {
    let app = TestApp::new().await;
    let addr = app.listen().await;
    let anchor = s(&app.create(json!({ "displayName": "Anchor" })).await["id"]).to_owned();
    let mut sub = Subscriber::connect(&addr, "/graphql/ws", json!({}))
        .await
        .unwrap();
    sub.subscribe(
        "all",
        "subscription { contactEvents { kind contactId actor source contact { displayName } } }",
        json!({}),
    )
    .await;
    sync_plain(&mut sub, &app, &anchor).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("rows.ndjson");
    std::fs::write(
        &file,
        "{\"displayName\":\"Cli 1\"}\n{\"displayName\":\"Cli 2\"}\n",
    )
    .unwrap();
    let out = tokio::process::Command::new(bin())
        .args(["import", "--database-url", &app.database_url])
        .arg(&file)
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut names = Vec::new();
    while names.len() < 2 {
        let payload = sub
            .next(Duration::from_secs(10))
            .await
            .expect("an import event");
        let e = &payload["data"]["contactEvents"];
        if e["kind"] == "CREATED" {
            assert!(e["contact"].is_object(), "{payload}");
            assert_eq!((s(&e["actor"]), s(&e["source"])), ("cli", "CLI"));
            names.push(s(&e["contact"]["displayName"]).to_owned());
        }
    }
    names.sort();
    assert_eq!(names, ["Cli 1", "Cli 2"]);
}

/// Every text, varchar and JSON column of every table, with the SQL that
/// reads it as text.
async fn text_columns(app: &TestApp) -> Vec<(String, String)> {
    let db = &app.state.db;
    let backend = db.get_database_backend();
    let sql = match backend {
        sea_orm::DbBackend::Postgres => {
            "SELECT table_name AS t, column_name AS c FROM information_schema.columns \
             WHERE table_schema = current_schema() \
             AND data_type IN ('text', 'character varying', 'json', 'jsonb')"
        }
        _ => {
            "SELECT m.name AS t, p.name AS c FROM sqlite_master m, pragma_table_info(m.name) p \
             WHERE m.type = 'table' AND (p.type LIKE '%char%' OR p.type LIKE '%text%' OR p.type LIKE '%json%' OR p.type = '')"
        }
    };
    let rows = db
        .query_all_raw(Statement::from_string(backend, sql))
        .await
        .unwrap();
    rows.iter()
        .map(|r| (r.try_get("", "t").unwrap(), r.try_get("", "c").unwrap()))
        .collect()
}

#[tokio::test]
async fn erasure_leaves_no_value_behind() {
    let app = TestApp::new().await;
    let secret = [
        "Zyxwvut Erasable",
        "erasable@example.org",
        "6172539999",
        "secret-plan-quux",
        "erasable-group",
        "https://erasable.example",
        "Erasable Org",
    ];
    let x = app
        .create(json!({ "displayName": secret[0], "title": "Temp",
            "via": [{ "source": "email", "handle": secret[1] }, { "source": "phone", "handle": "+1 617 253 9999" }],
            "metadata": { "plan": secret[3] }, "groupNames": [secret[4]], "links": [secret[5]] }))
        .await;
    let x_id = s(&x["id"]).to_owned();
    app.update(json!({ "id": x_id, "title": null, "organizationName": secret[6] }))
        .await;
    // A contact merged into it: its snapshot holds its own values too.
    let y = app
        .create(json!({ "displayName": "Merged Erasable Twin", "via": [{ "source": "email", "handle": "twin-erasable@example.org" }] }))
        .await;
    app.data(
        "mutation($s: ID!, $d: ID!) { mergeContacts(sourceId: $s, destinationId: $d) { id } }",
        json!({ "s": y["id"], "d": x_id }),
    )
    .await;
    // A stored idempotent response holding its name.
    let (status, body) = app
        .post_with(
            &[("idempotency-key", "erase-me-1")],
            json!({ "query": "mutation($i: UpdateContactInput!) { updateContact(input: $i) { displayName } }",
                    "variables": { "i": { "id": x_id, "description": "kept in a response" } } }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let other = app.create(json!({ "displayName": "Bystander" })).await;
    // The duplicate index keys it (folded: "o:erasable org") once read.
    app.data("{ duplicateCandidates { edges { cursor } } }", json!({}))
        .await;

    app.data(
        "mutation($id: ID!) { eraseContact(id: $id) }",
        json!({ "id": x_id }),
    )
    .await;
    let mut needles: Vec<&str> = secret.to_vec();
    needles.extend([
        "Merged Erasable Twin",
        "twin-erasable@example.org",
        "kept in a response",
        "erasable org",
    ]);
    let db = &app.state.db;
    let backend = db.get_database_backend();
    for (table, column) in text_columns(&app).await {
        for needle in &needles {
            let cast = if backend == sea_orm::DbBackend::Postgres {
                "::text"
            } else {
                ""
            };
            let sql =
                format!("SELECT count(*) AS n FROM {table} WHERE {column}{cast} LIKE '%{needle}%'");
            assert_eq!(
                app.sql_count(&sql).await,
                0,
                "{needle:?} is still in {table}.{column}"
            );
        }
    }
    // What stays: that something happened, to whom and when.
    let log = all_changes(&app, None, json!({ "contactIds": [x_id] })).await;
    assert!(log.iter().all(|n| n["changes"] == json!([])), "{log:?}");
    assert_eq!(log.last().unwrap()["kind"], "DELETED");
    let others = all_changes(&app, None, json!({ "contactIds": [other["id"]] })).await;
    assert_ne!(
        others[0]["changes"],
        json!([]),
        "other contacts keep theirs"
    );
    // The retried request learns its response is gone rather than writing again.
    let (_, body) = app
        .post_with(
            &[("idempotency-key", "erase-me-1")],
            json!({ "query": "mutation($i: UpdateContactInput!) { updateContact(input: $i) { displayName } }",
                    "variables": { "i": { "id": x_id, "description": "kept in a response" } } }),
        )
        .await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "CONFLICT",
        "{body}"
    );
    let (code, field, _) = app
        .error(
            "mutation($id: ID!) { eraseContact(id: $id) }",
            json!({ "id": x_id }),
        )
        .await;
    assert_eq!((code.as_str(), field.as_deref()), ("NOT_FOUND", Some("id")));
}

/// Read tokens read the log (HTTP and WebSocket) and cannot erase; a
/// visitor reads none of it; entries name the token that wrote them.
#[tokio::test]
async fn the_log_is_read_by_scope() {
    let app = TestApp::with_args(&["--identity-secret", "s3cret"]).await;
    let read = tokens::create(&app.state.db, "sync-reader", Scope::Read)
        .await
        .unwrap();
    let write = tokens::create(&app.state.db, "crm-writer", Scope::Write)
        .await
        .unwrap();
    let bearer = |t: &str| format!("Bearer {t}");
    let (read_h, write_h) = (bearer(&read), bearer(&write));
    let as_reader = [("authorization", read_h.as_str())];
    let as_writer = [("authorization", write_h.as_str())];
    let (_, body) = app
        .post_with(
            &as_writer,
            json!({ "query": "mutation { createContact(input: { displayName: \"W\" }) { id } }" }),
        )
        .await;
    let id = s(&body["data"]["createContact"]["id"]).to_owned();
    let hash = crate::security::identifier_hash("s3cret", "visitor-v");
    let (_, body) = app
        .post_with(&[], json!({ "query": "mutation($i: CreateOrUpdateContactInput!) { createOrUpdateContact(input: $i) { contact { id history { edges { cursor } } } } }",
            "variables": { "i": { "externalId": "visitor-v", "identifierHash": hash, "displayName": "V" } } }))
        .await;
    assert_eq!(
        body["data"]["createOrUpdateContact"]["contact"]["history"]["edges"],
        json!([]),
        "a visitor sees no history: {body}"
    );

    let (_, body) = app.post_with(&as_reader, json!({ "query": CHANGES })).await;
    let actors: Vec<&str> = body["data"]["contactChanges"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| s(&e["node"]["actor"]))
        .collect();
    assert_eq!(actors, ["crm-writer", "visitor"], "{body}");
    let (_, body) = app.post_with(&[], json!({ "query": CHANGES })).await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");
    let erase = json!({ "query": "mutation($id: ID!) { eraseContact(id: $id) }", "variables": { "id": id } });
    let (_, body) = app.post_with(&as_reader, erase.clone()).await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "FORBIDDEN");

    // The same over WebSocket.
    let addr = app.listen().await;
    let mut reader = Subscriber::connect(&addr, "/graphql/ws", json!({ "Authorization": read_h }))
        .await
        .unwrap();
    reader.operation("erase", erase.clone()).await;
    let payload = next_payload(&mut reader).await;
    assert_eq!(
        payload["errors"][0]["extensions"]["code"], "FORBIDDEN",
        "{payload}"
    );
    reader
        .subscribe("feed", "{ contactChanges { edges { cursor } } }", json!({}))
        .await;
    let payload = next_payload(&mut reader).await;
    assert_eq!(
        payload["data"]["contactChanges"]["edges"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    // A visitor has no WebSocket at all once tokens exist.
    let refused = Subscriber::connect(&addr, "/graphql/ws", json!({}))
        .await
        .err();
    assert!(refused.is_some_and(|r| r.contains("missing API token")));
    let (_, body) = app
        .post_with(&as_reader, json!({ "query": "query($id: ID!) { contact(id: $id) { id } }", "variables": { "id": id } }))
        .await;
    assert_eq!(
        body["data"]["contact"]["id"],
        json!(id),
        "not erased: {body}"
    );
}

/// One write of the property below.
#[derive(Debug, Clone)]
enum Op {
    Create {
        name: String,
        email: usize,
        groups: Vec<usize>,
    },
    Update {
        target: usize,
        title: Option<String>,
        emails: Vec<usize>,
        key: usize,
        links: Vec<usize>,
    },
    Merge {
        source: usize,
        destination: usize,
    },
    Unmerge {
        target: usize,
    },
    Link {
        conversation: usize,
        target: usize,
    },
    Delete {
        target: usize,
    },
}

fn op() -> impl proptest::strategy::Strategy<Value = Op> {
    use proptest::prelude::*;
    prop_oneof![
        3 => ("[A-Za-zé ]{1,8}", 0..6usize, proptest::collection::vec(0..4usize, 0..3))
            .prop_map(|(name, email, groups)| Op::Create { name, email, groups }),
        4 => (0..8usize, proptest::option::of("[a-z]{1,5}"), proptest::collection::vec(0..6usize, 0..3), 0..3usize, proptest::collection::vec(0..4usize, 0..3))
            .prop_map(|(target, title, emails, key, links)| Op::Update { target, title, emails, key, links }),
        2 => (0..8usize, 0..8usize).prop_map(|(source, destination)| Op::Merge { source, destination }),
        1 => (0..8usize).prop_map(|target| Op::Unmerge { target }),
        1 => (0..4usize, 0..8usize).prop_map(|(conversation, target)| Op::Link { conversation, target }),
        1 => (0..8usize).prop_map(|target| Op::Delete { target }),
    ]
}

/// Runs one operation; errors other than INTERNAL_SERVER_ERROR are fine
/// (a taken handle, a contact already gone).
async fn apply(app: &TestApp, op: &Op) {
    let ids: Vec<String> = {
        let data = app
            .data("{ contacts(first: 100) { nodes { id } } }", json!({}))
            .await;
        data["contacts"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| s(&n["id"]).to_owned())
            .collect()
    };
    if ids.is_empty() && !matches!(op, Op::Create { .. }) {
        return;
    }
    let pick = |i: usize| ids[i % ids.len()].clone();
    let email = |i: usize| json!({ "source": "email", "handle": format!("p{i}@example.org") });
    let (query, variables) = match op {
        Op::Create {
            name,
            email: e,
            groups,
        } => (
            "mutation($i: CreateContactInput!) { createContact(input: $i) { id } }",
            json!({ "i": { "displayName": name, "via": [email(*e)], "groupNames": groups.iter().map(|g| format!("g{g}")).collect::<Vec<_>>() } }),
        ),
        Op::Update {
            target,
            title,
            emails,
            key,
            links,
        } => (
            "mutation($i: UpdateContactInput!) { updateContact(input: $i) { id } }",
            json!({ "i": { "id": pick(*target), "title": title,
                "via": emails.iter().map(|e| email(*e)).collect::<Vec<_>>(),
                "links": links.iter().map(|l| format!("https://l{l}.example")).collect::<Vec<_>>(),
                "metadata": { format!("k{key}"): if *key == 2 { Value::Null } else { json!({ "v": title }) } } } }),
        ),
        Op::Merge {
            source,
            destination,
        } => (
            "mutation($s: ID!, $d: ID!) { mergeContacts(sourceId: $s, destinationId: $d) { id } }",
            json!({ "s": pick(*source), "d": pick(*destination) }),
        ),
        Op::Unmerge { target } => {
            let data = app
                .data(
                    "query($id: ID!) { contact(id: $id) { mergeHistory { id } } }",
                    json!({ "id": pick(*target) }),
                )
                .await;
            let Some(record) = data["contact"]["mergeHistory"][0]["id"].as_str() else {
                return;
            };
            (
                "mutation($id: ID!) { unmergeContact(mergeRecordId: $id) { id } }",
                json!({ "id": record }),
            )
        }
        Op::Link {
            conversation,
            target,
        } => (
            "mutation($i: LinkConversationInput!) { linkConversation(input: $i) { id } }",
            json!({ "i": { "conversationId": format!("01a1fefa-217c-752c-bea3-{conversation:012}"), "channel": "email", "contactId": pick(*target) } }),
        ),
        Op::Delete { target } => (
            "mutation($id: ID!) { deleteContact(id: $id) }",
            json!({ "id": pick(*target) }),
        ),
    };
    let response = app.gql(query, variables).await;
    for error in response["errors"].as_array().into_iter().flatten() {
        assert_ne!(
            error["extensions"]["code"], "INTERNAL_SERVER_ERROR",
            "{op:?}: {response}"
        );
    }
}

/// Property: after any sequence of writes, every contact's history replays
/// to its stored state.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn any_sequence_of_writes_replays_from_the_log() {
    use proptest::test_runner::{Config, TestRunner};
    let app = TestApp::new().await;
    let handle = tokio::runtime::Handle::current();
    let mut runner = TestRunner::new(Config {
        cases: 24,
        failure_persistence: None,
        ..Config::default()
    });
    let result = runner.run(&proptest::collection::vec(op(), 1..10), |ops| {
        tokio::task::block_in_place(|| {
            handle.block_on(async {
                for op in &ops {
                    apply(&app, op).await;
                }
                every_history_replays_to_its_contact(&app).await;
            })
        });
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    let logged = app
        .sql_count("SELECT count(*) AS n FROM contact_changes")
        .await;
    let merges = app
        .sql_count("SELECT count(*) AS n FROM contact_changes WHERE kind IN ('MERGED', 'UNMERGED')")
        .await;
    eprintln!("{logged} entries, {merges} merges and unmerges");
    assert!(
        logged > 48 && merges > 0,
        "the writes ran: {logged} entries, {merges} merges"
    );
}

/// Subscribers come and go (the feed's reader idles between them) while a
/// writer commits without pause: each, resuming after a cursor, gets the
/// log's entries after it, in order, none missing.
#[tokio::test]
async fn subscribers_coming_and_going_under_writes_miss_nothing() {
    let app = Arc::new(TestApp::new().await);
    let addr = app.listen().await;
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let (app, stop) = (app.clone(), stop.clone());
        tokio::spawn(async move {
            let mut i = 0;
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                app.create(json!({ "displayName": format!("busy {i}") }))
                    .await;
                i += 1;
            }
        })
    };
    for round in 0..6 {
        // A cursor a little behind the head, and what follows it in the log.
        tokio::time::sleep(Duration::from_millis(50)).await;
        let mut head = changes::head(&app.state.db).await.unwrap();
        while head == Position::START {
            tokio::time::sleep(Duration::from_millis(10)).await;
            head = changes::head(&app.state.db).await.unwrap();
        }
        let mut sub = Subscriber::connect(&addr, "/graphql/ws", json!({}))
            .await
            .unwrap();
        let after = if round % 2 == 0 {
            Some(head.cursor())
        } else {
            None
        };
        sub.subscribe("r", EVENTS_AFTER, json!({ "after": after }))
            .await;
        let mut got = Vec::new();
        while got.len() < 30 {
            let payload = sub
                .next(Duration::from_secs(10))
                .await
                .expect("events keep coming");
            assert!(payload.get("errors").is_none(), "round {round}: {payload}");
            got.push(s(&payload["data"]["contactEvents"]["cursor"]).to_owned());
        }
        drop(sub);
        // With `after`, the events are the log's entries after it. Without,
        // the first may be any entry committed after subscribing; from
        // there on none is missing.
        let (from, skip) = match after {
            Some(_) => (head, 0),
            None => (Position::parse("cursor", &got[0]).unwrap(), 1),
        };
        let expected: Vec<String> = changes::read(
            &app.state.db,
            from,
            30 - skip as u64,
            &ChangeFilter::default(),
        )
        .await
        .unwrap()
        .entries
        .iter()
        .map(|e| e.position.cursor())
        .collect();
        assert_eq!(got[skip..], expected[..], "round {round}");
    }
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    writer.await.unwrap();
}

/// A page of the log is bounded by its size as well as by `first`: entries
/// of a megabyte each come a few at a time, the page saying more follow.
#[tokio::test]
async fn large_entries_come_in_pages_of_bounded_size() {
    let app = TestApp::new().await;
    // 250 links of 2,000 characters: half a megabyte an entry.
    let links: Vec<String> = (0..250)
        .map(|l| format!("https://example.org/{l}/{}", "x".repeat(1_980)))
        .collect();
    for i in 0..10 {
        app.create(json!({ "displayName": format!("Big {i}"), "links": links }))
            .await;
    }
    let first = app.data(CHANGES, json!({ "first": 100 })).await;
    let page = &first["contactChanges"];
    let got = page["edges"].as_array().unwrap().len();
    assert!(
        (1..10).contains(&got),
        "{got} entries of 0.5 MB in one page"
    );
    assert_eq!(page["pageInfo"]["hasNextPage"], true);
    // Paging on gets every one of them, once.
    assert_eq!(all_changes(&app, None, json!(null)).await.len(), 10);
}

/// Erasing a contact that was merged into another and unmerged leaves none
/// of its values in the other's merge and unmerge entries; an id merged
/// away is refused with what to do instead.
#[tokio::test]
async fn erasure_reaches_the_entries_of_a_past_merge() {
    let app = TestApp::new().await;
    let d = app.create(json!({ "displayName": "Keeper" })).await;
    let s = app
        .create(
            json!({ "displayName": "Leaver", "title": "Unmergeable Secret Title",
            "via": [{ "source": "email", "handle": "leaver-secret@example.org" }],
            "groupNames": ["leaver-secret-group"], "metadata": { "k": "leaver-secret-value" } }),
        )
        .await;
    let merged = app
        .data(
            "mutation($s: ID!, $d: ID!) { mergeContacts(sourceId: $s, destinationId: $d) { mergeHistory { id } } }",
            json!({ "s": s["id"], "d": d["id"] }),
        )
        .await;
    let (code, field, message) = app
        .error(
            "mutation($id: ID!) { eraseContact(id: $id) }",
            json!({ "id": s["id"] }),
        )
        .await;
    assert_eq!((code.as_str(), field.as_deref()), ("NOT_FOUND", Some("id")));
    assert!(message.contains("unmerge"), "{message}");
    app.data(
        "mutation($id: ID!) { unmergeContact(mergeRecordId: $id) { id } }",
        json!({ "id": merged["mergeContacts"]["mergeHistory"][0]["id"] }),
    )
    .await;
    app.data(
        "mutation($id: ID!) { eraseContact(id: $id) }",
        json!({ "id": s["id"] }),
    )
    .await;
    let cast = if app.database_url.starts_with("postgres") {
        "::text"
    } else {
        ""
    };
    for needle in ["Unmergeable Secret Title", "leaver-secret"] {
        let n = app
            .sql_count(&format!(
                "SELECT count(*) AS n FROM contact_changes WHERE changes{cast} LIKE '%{needle}%'"
            ))
            .await;
        assert_eq!(n, 0, "{needle} is still in the log");
    }
}

/// The log's announcing keys carry 16 bits of the schema's hash; in a schema
/// whose 16 bits are all set, the horizon's upper bound overflowed a bigint
/// and every read of the log failed ("bigint out of range"). Found by chance
/// (a test schema's random name); here such a name is searched for.
#[tokio::test]
async fn the_log_works_in_a_schema_whose_hash_bits_are_all_set() {
    if !postgres_only("the horizon of advisory locks is PostgreSQL's") {
        return;
    }
    let admin_url = std::env::var("TEST_DATABASE_URL").unwrap();
    let admin = sea_orm::Database::connect(&admin_url).await.unwrap();
    let prefix = format!("t_{}_", Uuid::now_v7().simple());
    let row = admin
        .query_one_raw(Statement::from_string(
            admin.get_database_backend(),
            format!(
                "SELECT s FROM (SELECT '{prefix}' || g AS s FROM generate_series(1, 3000000) g) x \
                 WHERE hashtext(s) & 65535 = 65535 LIMIT 1"
            ),
        ))
        .await
        .unwrap()
        .expect("a name with all 16 hash bits set among 3,000,000");
    let schema: String = row.try_get("", "s").unwrap();
    let (url, store) = crate::common::Store::create_schema(admin_url, schema).await;
    let app = TestApp::on_store(url, store, &[]).await;
    let c = app.create(json!({ "displayName": "Edge" })).await;
    let page = app
        .data(
            "{ contactChanges(first: 10) { edges { node { kind contactId } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        page["contactChanges"]["edges"][0]["node"],
        json!({ "kind": "CREATED", "contactId": c["id"] })
    );
}
