use serde_json::{json, Value};

use crate::common::{s, TestApp};

const PAGE: &str =
    "query($first: Int, $after: String, $last: Int, $before: String, $order: ContactOrder) {
    contacts(first: $first, after: $after, last: $last, before: $before, orderBy: $order) {
        totalCount
        edges { cursor node { id displayName } }
        pageInfo { hasPreviousPage hasNextPage startCursor endCursor }
    } }";

async fn create_n(app: &TestApp, n: usize, prefix: &str) -> Vec<String> {
    let mut ids = Vec::new();
    for i in 0..n {
        let c = app
            .create(json!({ "displayName": format!("{prefix} {i:03}") }))
            .await;
        ids.push(s(&c["id"]).to_owned());
    }
    ids
}

fn ids(connection: &Value) -> Vec<String> {
    connection["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| s(&e["node"]["id"]).to_owned())
        .collect()
}

async fn page(app: &TestApp, vars: Value) -> Value {
    app.data(PAGE, vars).await["contacts"].clone()
}

#[tokio::test]
async fn forward_walk_visits_every_contact_once_in_order() {
    let app = TestApp::new().await;
    let created = create_n(&app, 23, "c").await;
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    let mut pages = 0;
    loop {
        let p = page(&app, json!({ "first": 5, "after": after })).await;
        assert_eq!(p["totalCount"], 23);
        assert_eq!(p["pageInfo"]["hasPreviousPage"], pages > 0);
        assert_eq!(p["pageInfo"]["startCursor"], p["edges"][0]["cursor"]);
        seen.extend(ids(&p));
        pages += 1;
        if p["pageInfo"]["hasNextPage"] == false {
            break;
        }
        after = Some(s(&p["pageInfo"]["endCursor"]).to_owned());
    }
    assert_eq!(pages, 5);
    assert_eq!(seen, created);
}

#[tokio::test]
async fn backward_walk_with_last_and_before() {
    let app = TestApp::new().await;
    let created = create_n(&app, 12, "c").await;
    let mut seen: Vec<String> = Vec::new();
    let mut before: Option<String> = None;
    loop {
        let p = page(&app, json!({ "last": 5, "before": before })).await;
        let mut chunk = ids(&p);
        chunk.extend(seen);
        seen = chunk;
        assert_eq!(p["pageInfo"]["hasNextPage"], before.is_some());
        if p["pageInfo"]["hasPreviousPage"] == false {
            break;
        }
        before = Some(s(&p["pageInfo"]["startCursor"]).to_owned());
    }
    assert_eq!(seen, created);
}

#[tokio::test]
async fn orders_and_directions() {
    let app = TestApp::new().await;
    for name in ["bravo", "Alpha", "charlie"] {
        app.create(json!({ "displayName": name })).await;
    }
    app.create(json!({ "title": "no name" })).await;
    let names = |p: &Value| -> Vec<Value> {
        p["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["node"]["displayName"].clone())
            .collect()
    };

    let p = page(&app, json!({ "order": { "field": "DISPLAY_NAME" } })).await;
    assert_eq!(
        names(&p),
        [
            json!(null),
            json!("Alpha"),
            json!("bravo"),
            json!("charlie")
        ]
    );
    let p = page(
        &app,
        json!({ "order": { "field": "DISPLAY_NAME", "direction": "DESC" }, "first": 2 }),
    )
    .await;
    assert_eq!(names(&p), [json!("charlie"), json!("bravo")]);
    let next = page(&app, json!({ "order": { "field": "DISPLAY_NAME", "direction": "DESC" }, "first": 2, "after": p["pageInfo"]["endCursor"] })).await;
    assert_eq!(names(&next), [json!("Alpha"), json!(null)]);
    assert_eq!(next["pageInfo"]["hasNextPage"], false);

    let p = page(&app, json!({ "order": { "direction": "DESC" } })).await;
    assert_eq!(names(&p)[0], json!(null), "newest first");

    // Touch "bravo": it moves to the end of UPDATED_AT order.
    let bravo = app
        .data(
            "{ c: contacts(filter: {search: \"bravo\"}) { nodes { id } } }",
            json!({}),
        )
        .await;
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    app.update(json!({ "id": bravo["c"]["nodes"][0]["id"], "title": "touched" }))
        .await;
    let p = page(&app, json!({ "order": { "field": "UPDATED_AT" } })).await;
    assert_eq!(names(&p).last().unwrap(), &json!("bravo"));
    let p = page(
        &app,
        json!({ "order": { "field": "UPDATED_AT", "direction": "DESC" }, "last": 1 }),
    )
    .await;
    assert_eq!(
        names(&p),
        [json!("Alpha")],
        "last of newest-first is the oldest update"
    );
}

#[tokio::test]
async fn walks_stay_exact_while_rows_are_inserted_and_deleted() {
    let app = TestApp::new().await;
    let created = create_n(&app, 10, "old").await;

    // Forward, oldest first: rows added meanwhile land after the cursor and are seen once.
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    let mut added = Vec::new();
    loop {
        let p = page(&app, json!({ "first": 3, "after": after })).await;
        seen.extend(ids(&p));
        if p["pageInfo"]["hasNextPage"] == false {
            break;
        }
        after = Some(s(&p["pageInfo"]["endCursor"]).to_owned());
        if added.len() < 4 {
            added.extend(create_n(&app, 1, "new").await);
        }
    }
    let mut expected = created.clone();
    expected.extend(added.clone());
    assert_eq!(seen, expected);

    // Backward, newest first from the end: inserts go to the far side, and a
    // deleted cursor row does not disturb the walk.
    let mut seen: Vec<String> = Vec::new();
    let mut before: Option<String> = None;
    let mut deleted = None;
    loop {
        let p = page(&app, json!({ "last": 4, "before": before })).await;
        let mut chunk = ids(&p);
        chunk.extend(seen);
        seen = chunk;
        if p["pageInfo"]["hasPreviousPage"] == false {
            break;
        }
        before = Some(s(&p["pageInfo"]["startCursor"]).to_owned());
        create_n(&app, 1, "newer").await;
        if deleted.is_none() {
            let first_id = s(&p["edges"][0]["node"]["id"]).to_owned();
            app.data(
                "mutation($id: ID!) { deleteContact(id: $id) }",
                json!({ "id": first_id }),
            )
            .await;
            deleted = Some(first_id);
        }
    }
    let deleted = deleted.unwrap();
    assert_eq!(
        seen, expected,
        "the deleted row was read before its deletion"
    );
    assert!(seen.contains(&deleted));
}

#[tokio::test]
async fn page_size_rules() {
    let app = TestApp::new().await;
    create_n(&app, 25, "c").await;
    let p = page(&app, json!({})).await;
    assert_eq!(ids(&p).len(), 20, "default page size");
    let p = page(&app, json!({ "first": 0 })).await;
    assert_eq!(ids(&p).len(), 0);
    assert_eq!(p["pageInfo"]["hasNextPage"], true);
    assert_eq!(p["pageInfo"]["endCursor"], json!(null));
    let p = page(&app, json!({ "first": 100 })).await;
    assert_eq!(ids(&p).len(), 25);

    let cases = [
        (json!({ "first": 101 }), "LIMIT_EXCEEDED"),
        (json!({ "last": 1000 }), "LIMIT_EXCEEDED"),
        (json!({ "first": -1 }), "BAD_USER_INPUT"),
        (json!({ "last": -5 }), "BAD_USER_INPUT"),
        (json!({ "first": 1, "last": 1 }), "BAD_USER_INPUT"),
    ];
    for (vars, want) in cases {
        let (code, _, message) = app.error(PAGE, vars.clone()).await;
        assert_eq!(code, want, "{vars}: {message}");
    }
}

#[tokio::test]
async fn malformed_or_foreign_cursors_are_rejected() {
    let app = TestApp::new().await;
    create_n(&app, 2, "c").await;
    for cursor in ["garbage", "eyJmIjoiYyJ9", ""] {
        let (code, field, _) = app.error(PAGE, json!({ "after": cursor })).await;
        assert_eq!(
            (code.as_str(), field.as_deref()),
            ("BAD_USER_INPUT", Some("after")),
            "{cursor:?}"
        );
    }
    let (code, field, _) = app.error(PAGE, json!({ "before": "%%%" })).await;
    assert_eq!(
        (code.as_str(), field.as_deref()),
        ("BAD_USER_INPUT", Some("before"))
    );
    // A cursor of the createdAt order means nothing in the name order.
    let p = page(&app, json!({ "first": 1 })).await;
    let (code, field, _) = app
        .error(
            PAGE,
            json!({ "after": p["pageInfo"]["endCursor"], "order": { "field": "DISPLAY_NAME" } }),
        )
        .await;
    assert_eq!(
        (code.as_str(), field.as_deref()),
        ("BAD_USER_INPUT", Some("after"))
    );
}

#[tokio::test]
async fn after_and_before_together_bound_a_window() {
    let app = TestApp::new().await;
    let created = create_n(&app, 6, "c").await;
    let all = page(&app, json!({ "first": 6 })).await;
    let cursor = |i: usize| all["edges"][i]["cursor"].clone();
    let p = page(
        &app,
        json!({ "first": 10, "after": cursor(0), "before": cursor(4) }),
    )
    .await;
    assert_eq!(ids(&p), created[1..4]);
    assert_eq!(p["pageInfo"]["hasNextPage"], false);
    assert_eq!(p["pageInfo"]["hasPreviousPage"], true);
}

#[tokio::test]
async fn a_list_cursor_of_another_contact_is_refused() {
    let app = TestApp::new().await;
    let via = json!([
        { "source": "email", "handle": "a1@x.org" },
        { "source": "email", "handle": "a2@x.org" }
    ]);
    let a = app.create(json!({ "via": via })).await;
    let b = app
        .create(json!({ "via": [{ "source": "email", "handle": "b1@x.org" }, { "source": "email", "handle": "b2@x.org" }] }))
        .await;
    let page = app
        .data(
            "query($id: ID) { contact(id: $id) { viaConnection(first: 1) { pageInfo { endCursor } } } }",
            json!({ "id": a["id"] }),
        )
        .await;
    let cursor = page["contact"]["viaConnection"]["pageInfo"]["endCursor"].clone();
    let (code, field, _) = app
        .error(
            "query($id: ID, $after: String) { contact(id: $id) { viaConnection(after: $after) { edges { cursor } } } }",
            json!({ "id": b["id"], "after": cursor }),
        )
        .await;
    assert_eq!(
        (code.as_str(), field.as_deref()),
        ("BAD_USER_INPUT", Some("after"))
    );
    let next = app
        .data(
            "query($id: ID, $after: String) { contact(id: $id) { viaConnection(after: $after) { edges { node { handle } } } } }",
            json!({ "id": a["id"], "after": cursor }),
        )
        .await;
    assert_eq!(
        next["contact"]["viaConnection"]["edges"],
        json!([{ "node": { "handle": "a2@x.org" } }])
    );
}
