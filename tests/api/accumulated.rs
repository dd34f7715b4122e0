//! What accumulates on one contact over time (conversations linked one by
//! one, handles and groups united by merges) has no bound: every operation
//! works on such a contact, on both databases, in chunks.

use serde_json::json;

use crate::common::{s, TestApp};

const HANDLES: usize = 12_000;
const GROUPS: usize = 40_000;
const CONVERSATIONS: usize = 20_000;

/// `n` rows made by the database itself from a counter (0..n), through a
/// recursive CTE on SQLite and generate_series on PostgreSQL.
async fn insert_series(app: &TestApp, n: usize, insert: &str, select: &str) {
    let on_pg = app.database_url.starts_with("postgres");
    let (series, uuid) = if on_pg {
        (
            format!("SELECT i FROM generate_series(0, {}) AS g(i)", n - 1),
            "gen_random_uuid()",
        )
    } else {
        (
            format!(
                "WITH RECURSIVE g(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM g WHERE i < {}) SELECT i FROM g",
                n - 1
            ),
            "randomblob(16)",
        )
    };
    let sql = format!(
        "{insert} SELECT {} FROM ({series}) AS s",
        select.replace("UUID()", uuid)
    );
    use sea_orm::ConnectionTrait;
    app.state
        .db
        .execute_unprepared(&sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

fn id_literal(app: &TestApp, id: &str) -> String {
    if app.database_url.starts_with("postgres") {
        format!("'{id}'")
    } else {
        format!("x'{}'", id.replace('-', ""))
    }
}

#[tokio::test]
async fn a_contact_with_everything_accumulated_still_works() {
    let app = TestApp::new().await;
    let big = app.create(json!({ "displayName": "Big" })).await;
    let id = s(&big["id"]).to_owned();
    let lit = id_literal(&app, &id);
    // As the service writes instants (the keyset compares them as text on SQLite).
    let now = "'2026-11-30T00:00:00+00:00'";
    insert_series(
        &app,
        HANDLES,
        "INSERT INTO contact_handles (id, contact_id, source, handle, search_key, position, verified)",
        &format!("UUID(), {lit}, 'email', 'h' || i || '@example.org', 'h' || i || '@example.org', i, true"),
    )
    .await;
    insert_series(
        &app,
        GROUPS,
        "INSERT INTO contact_groups (id, name, created_at)",
        &format!("UUID(), 'g' || i, {now}"),
    )
    .await;
    use sea_orm::ConnectionTrait;
    app.state
        .db
        .execute_unprepared(&format!(
            "INSERT INTO contact_group_members (contact_id, group_id) SELECT {lit}, id FROM contact_groups"
        ))
        .await
        .unwrap();
    insert_series(
        &app,
        CONVERSATIONS,
        "INSERT INTO conversations (id, channel, contact_id, created_at)",
        &format!("UUID(), 'chat', {lit}, {now}"),
    )
    .await;

    let read = app
        .data(
            "query($id: ID) { contact(id: $id) { via { handle } groupNames conversations { id } } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(read["contact"]["via"].as_array().unwrap().len(), HANDLES);
    assert_eq!(
        read["contact"]["groupNames"].as_array().unwrap().len(),
        GROUPS
    );
    assert_eq!(
        read["contact"]["conversations"].as_array().unwrap().len(),
        CONVERSATIONS
    );

    // Each list a page at a time, in the plain field's order.
    for (field, total, key) in [
        ("viaConnection", HANDLES, "handle"),
        ("groupNamesConnection", GROUPS, ""),
        ("conversationsConnection", CONVERSATIONS, "id"),
    ] {
        let node = if key.is_empty() {
            String::new()
        } else {
            format!("{{ {key} }}")
        };
        let query = format!(
            "query($id: ID, $after: String) {{ contact(id: $id) {{ {field}(first: 1000, after: $after) {{ edges {{ node {node} }} pageInfo {{ hasNextPage endCursor }} }} }} }}"
        );
        let mut seen = Vec::new();
        let mut after: Option<String> = None;
        for _ in 0..=total / 1000 + 1 {
            let data = app.data(&query, json!({ "id": id, "after": after })).await;
            let page = &data["contact"][field];
            seen.extend(
                page["edges"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|e| e["node"].clone()),
            );
            if page["pageInfo"]["hasNextPage"] != true {
                break;
            }
            after = Some(s(&page["pageInfo"]["endCursor"]).to_owned());
        }
        assert_eq!(seen.len(), total, "{field}");
        let plain = match field {
            "viaConnection" => "via { handle }",
            "groupNamesConnection" => "groupNames",
            _ => "conversations { id }",
        };
        let whole = app
            .data(
                &format!("query($id: ID) {{ contact(id: $id) {{ {plain} }} }}"),
                json!({ "id": id }),
            )
            .await;
        let whole = whole["contact"]
            .as_object()
            .unwrap()
            .values()
            .next()
            .unwrap()
            .clone();
        assert_eq!(
            serde_json::Value::Array(seen),
            whole,
            "{field} pages in the plain field's order"
        );
    }
    // A cursor of another list, or a page too large, is refused by name.
    let via_cursor = app
        .data(
            "query($id: ID) { contact(id: $id) { viaConnection(first: 1) { pageInfo { endCursor } } } }",
            json!({ "id": id }),
        )
        .await["contact"]["viaConnection"]["pageInfo"]["endCursor"]
        .clone();
    let (code, field, _) = app
        .error(
            "query($id: ID, $a: String) { contact(id: $id) { conversationsConnection(after: $a) { edges { cursor } } } }",
            json!({ "id": id, "a": via_cursor }),
        )
        .await;
    assert_eq!(
        (code.as_str(), field.as_deref()),
        ("BAD_USER_INPUT", Some("after"))
    );
    let (code, field, _) = app
        .error(
            "query($id: ID) { contact(id: $id) { viaConnection(first: 1001) { edges { cursor } } } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(
        (code.as_str(), field.as_deref()),
        ("LIMIT_EXCEEDED", Some("first"))
    );

    // Written, found, merged away and back, updated, deleted.
    app.update(json!({ "id": id, "title": "still here" })).await;
    let found = app
        .data(
            "{ contacts(filter: {search: \"h11999@\"}) { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(found["contacts"]["totalCount"], 1);
    let other = app.create(json!({ "displayName": "Other" })).await;
    let merged = app
        .data(
            "mutation($d: ID!, $s: ID!) { mergeContacts(destinationId: $d, sourceId: $s) { id mergeHistory { id } } }",
            json!({ "d": other["id"], "s": id }),
        )
        .await;
    let record = s(&merged["mergeContacts"]["mergeHistory"][0]["id"]).to_owned();
    let back = app
        .data(
            "mutation($r: ID!) { unmergeContact(mergeRecordId: $r) { id via { handle } groupNames } }",
            json!({ "r": record }),
        )
        .await;
    assert_eq!(back["unmergeContact"]["id"], id.as_str());
    assert_eq!(
        back["unmergeContact"]["via"].as_array().unwrap().len(),
        HANDLES
    );
    assert_eq!(
        back["unmergeContact"]["groupNames"]
            .as_array()
            .unwrap()
            .len(),
        GROUPS
    );
    let other_after = app.get(s(&other["id"])).await;
    assert_eq!(other_after["via"], json!([]));
    assert_eq!(other_after["groupNames"], json!([]));
    assert_eq!(other_after["conversations"], json!([]));

    let kept = app
        .update(json!({ "id": id, "via": [{ "source": "email", "handle": "h1@example.org" }], "groupNames": ["g1"] }))
        .await;
    assert_eq!(kept["via"].as_array().unwrap().len(), 1);
    app.data(
        "mutation($id: ID!) { deleteContact(id: $id) }",
        json!({ "id": id }),
    )
    .await;
    assert_eq!(
        app.sql_count("SELECT count(*) AS n FROM conversations WHERE contact_id IS NOT NULL")
            .await,
        0
    );
}
