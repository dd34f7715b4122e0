use serde_json::{json, Value};

use crate::common::{s, TestApp};

const IMPORT: &str = "mutation($input: ImportContactsInput!) {
    importContacts(input: $input) {
        createdCount updatedCount skippedCount
        errors { index code field message }
        contacts { id displayName title contactType isSpammer externalId groupNames via { source handle } metadata conversations { id } }
    } }";

async fn import(app: &TestApp, input: Value) -> Value {
    app.data(IMPORT, json!({ "input": input })).await["importContacts"].clone()
}

async fn total(app: &TestApp) -> i64 {
    app.data("{ contacts { totalCount } }", json!({})).await["contacts"]["totalCount"]
        .as_i64()
        .unwrap()
}

fn row(i: usize) -> Value {
    json!({
        "displayName": format!("Person {i}"),
        "externalId": format!("ext-{i}"),
        "groupNames": ["imported", format!("batch-{}", i % 2)],
        "via": [
            { "source": "email", "handle": format!("P{i}@Example.org") },
            { "source": "phone", "handle": format!("+1 617 253 {:04}", 1000 + i) }
        ],
        "metadata": { "crm": { "id": i }, "tier": "gold", "source": "csv" }
    })
}

#[tokio::test]
async fn imports_every_row_in_input_order() {
    let app = TestApp::new().await;
    let rows: Vec<Value> = (0..30).map(row).collect();
    let out = import(&app, json!({ "contacts": rows })).await;
    assert_eq!(
        (
            out["createdCount"].as_i64(),
            out["updatedCount"].as_i64(),
            out["skippedCount"].as_i64()
        ),
        (Some(30), Some(0), Some(0))
    );
    assert_eq!(out["errors"], json!([]));
    let contacts = out["contacts"].as_array().unwrap();
    for (i, c) in contacts.iter().enumerate() {
        assert_eq!(c["displayName"], format!("Person {i}"));
        assert_eq!(c["via"][0]["handle"], format!("p{i}@example.org"));
        assert_eq!(c["via"][1]["handle"], format!("+1617253{:04}", 1000 + i));
        assert_eq!(
            c["groupNames"],
            json!([format!("batch-{}", i % 2), "imported"])
        );
        assert_eq!(c["metadata"]["crm"]["id"], i);
        assert_eq!(c["contactType"], "contact");
    }
    // Stored, not just echoed.
    assert_eq!(app.get(s(&contacts[7]["id"])).await["externalId"], "ext-7");
    assert_eq!(total(&app).await, 30);
    let data = app
        .data(
            "{ contacts(filter: {groupName: \"batch-1\"}) { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(data["contacts"]["totalCount"], 15);
}

/// Set-based writes: on PostgreSQL a batch costs the same number of
/// statements whatever its size; on SQLite, statements hold at most 999
/// parameters (binding costs the square of their number there), so 50 rows
/// take one more statement for contacts (25 columns) and nothing else.
#[tokio::test]
async fn a_batch_costs_a_constant_number_of_statements() {
    let app = TestApp::new().await;
    let mut counts = Vec::new();
    for (start, n) in [(0, 5), (100, 50)] {
        let rows: Vec<Value> = (start..start + n).map(row).collect();
        app.take_statement_count();
        let out = import(&app, json!({ "contacts": rows })).await;
        assert_eq!(out["createdCount"], n);
        counts.push(app.take_statement_count());
    }
    println!("statements for imports of 5 and 50 rows: {counts:?}");
    let extra = if app.database_url.starts_with("postgres") {
        0
    } else {
        1
    };
    assert_eq!(counts[1], counts[0] + extra);
}

#[tokio::test]
async fn atomic_import_writes_nothing_and_lists_every_failing_row() {
    let app = TestApp::new().await;
    app.create(json!({ "displayName": "Existing", "via": [{ "source": "email", "handle": "taken@example.org" }] })).await;
    let rows = json!([
        { "displayName": "Fine" },
        { "displayName": "Taken", "via": [{ "source": "email", "handle": "TAKEN@example.org" }] },
        { "metadata": { "list": [1] } },
        {},
        { "displayName": "Also fine" }
    ]);
    let out = import(&app, json!({ "contacts": rows })).await;
    assert_eq!(out["createdCount"], 0);
    assert_eq!(out["contacts"], json!([]));
    let errors: Vec<(i64, String, String)> = out["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["index"].as_i64().unwrap(),
                s(&e["code"]).to_owned(),
                e["field"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    assert_eq!(
        errors,
        [
            (1, "CONFLICT".into(), "input.contacts.1.via.0.handle".into()),
            (
                2,
                "BAD_USER_INPUT".into(),
                "input.contacts.2.metadata.list".into()
            ),
            (3, "BAD_USER_INPUT".into(), "input.contacts.3".into()),
        ]
    );
    assert_eq!(total(&app).await, 1);
}

#[tokio::test]
async fn non_atomic_import_writes_the_valid_rows() {
    let app = TestApp::new().await;
    app.create(json!({ "externalId": "known" })).await;
    let rows = json!([{ "displayName": "A" }, { "displayName": "B", "externalId": "known" }, { "timezone": "Nowhere/Land" }, { "displayName": "C" }]);
    let out = import(&app, json!({ "contacts": rows, "atomic": false })).await;
    assert_eq!(out["createdCount"], 2);
    let names: Vec<&str> = out["contacts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| s(&c["displayName"]))
        .collect();
    assert_eq!(names, ["A", "C"]);
    let indexes: Vec<i64> = out["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["index"].as_i64().unwrap())
        .collect();
    assert_eq!(indexes, [1, 2]);
    assert_eq!(out["errors"][0]["field"], "input.contacts.1.externalId");
    assert_eq!(total(&app).await, 3);
}

#[tokio::test]
async fn skip_leaves_existing_contacts_untouched() {
    let app = TestApp::new().await;
    let existing = app.create(json!({ "displayName": "Original", "via": [{ "source": "phone", "handle": "+16172531000" }] })).await;
    let rows = json!([{ "displayName": "Dup", "via": [{ "source": "phone", "handle": "617-253-1000" }] }, { "displayName": "New" }]);
    let out = import(&app, json!({ "contacts": rows, "onConflict": "SKIP" })).await;
    assert_eq!(
        (out["createdCount"].as_i64(), out["skippedCount"].as_i64()),
        (Some(1), Some(1))
    );
    assert_eq!(app.get(s(&existing["id"])).await["displayName"], "Original");
}

#[tokio::test]
async fn update_follows_the_update_rules() {
    let app = TestApp::new().await;
    let existing = app
        .create(json!({ "displayName": "Old", "title": "Kept", "contactType": "lead", "isSpammer": true, "externalId": "e1", "metadata": { "a": 1 } }))
        .await;
    let rows = json!([{ "externalId": "e1", "displayName": "New name", "metadata": { "b": 2 } }]);
    let out = import(&app, json!({ "contacts": rows, "onConflict": "UPDATE" })).await;
    assert_eq!(
        (out["createdCount"].as_i64(), out["updatedCount"].as_i64()),
        (Some(0), Some(1))
    );
    let c = &out["contacts"][0];
    assert_eq!(c["id"], existing["id"]);
    assert_eq!(c["displayName"], "New name");
    assert_eq!(c["title"], "Kept");
    assert_eq!(
        c["contactType"], "lead",
        "absent fields are not reset to defaults"
    );
    assert_eq!(c["isSpammer"], true);
    assert_eq!(c["metadata"], json!({ "a": 1, "b": 2 }));
}

#[tokio::test]
async fn rows_sharing_a_key_are_one_contact_in_every_mode() {
    let app = TestApp::new().await;
    let rows = json!([
        { "displayName": "First", "via": [{ "source": "email", "handle": "same@example.org" }] },
        { "displayName": "Second", "title": "from row 1", "via": [{ "source": "email", "handle": "SAME@example.org" }] },
        { "displayName": "Third", "externalId": "x" },
        { "title": "row 3", "externalId": "x" }
    ]);

    let out = import(&app, json!({ "contacts": rows, "atomic": false })).await;
    assert_eq!(out["createdCount"], 2);
    assert_eq!(out["errors"][0]["index"], 1);
    assert_eq!(out["errors"][0]["code"], "CONFLICT");
    assert_eq!(out["errors"][0]["field"], "input.contacts.1.via.0.handle");
    assert!(s(&out["errors"][0]["message"]).contains("row 0"));
    assert_eq!(out["errors"][1]["index"], 3);

    let app = TestApp::new().await;
    let out = import(&app, json!({ "contacts": rows, "onConflict": "SKIP" })).await;
    assert_eq!(
        (out["createdCount"].as_i64(), out["skippedCount"].as_i64()),
        (Some(2), Some(2))
    );

    let app = TestApp::new().await;
    let out = import(&app, json!({ "contacts": rows, "onConflict": "UPDATE" })).await;
    assert_eq!(
        (out["createdCount"].as_i64(), out["updatedCount"].as_i64()),
        (Some(2), Some(2))
    );
    let contacts = out["contacts"].as_array().unwrap();
    assert_eq!(contacts[0]["id"], contacts[1]["id"]);
    assert_eq!(contacts[1]["displayName"], "Second");
    assert_eq!(contacts[1]["title"], "from row 1");
    assert_eq!(contacts[2]["id"], contacts[3]["id"]);
    assert_eq!(contacts[3]["displayName"], "Third");
    assert_eq!(total(&app).await, 2);
}

#[tokio::test]
async fn keys_pointing_at_two_contacts_fail_the_row() {
    let app = TestApp::new().await;
    app.create(json!({ "externalId": "a" })).await;
    app.create(json!({ "via": [{ "source": "email", "handle": "b@example.org" }] }))
        .await;
    let rows =
        json!([{ "externalId": "a", "via": [{ "source": "email", "handle": "b@example.org" }] }]);
    let out = import(&app, json!({ "contacts": rows, "onConflict": "UPDATE" })).await;
    assert_eq!(out["errors"][0]["code"], "CONFLICT");
    assert_eq!(out["errors"][0]["field"], "input.contacts.0.via.0.handle");
    assert_eq!(out["updatedCount"], 0);
}

#[tokio::test]
async fn conversations_come_with_their_rows() {
    let app = TestApp::new().await;
    let conv = uuid::Uuid::now_v7().to_string();
    let rows = json!([{ "displayName": "Chatty", "conversations": [{ "id": conv, "channel": "facebook" }] }, { "displayName": "Thief", "conversations": [{ "id": conv, "channel": "facebook" }] }]);
    let out = import(&app, json!({ "contacts": rows, "atomic": false })).await;
    assert_eq!(out["contacts"][0]["conversations"][0]["id"], conv.as_str());
    assert_eq!(
        out["errors"][0]["field"],
        "input.contacts.1.conversations.0.id"
    );
    let found = app
        .data(
            "query($id: ID) { contact(conversationId: $id) { displayName } }",
            json!({ "id": conv }),
        )
        .await;
    assert_eq!(found["contact"]["displayName"], "Chatty");
}

#[tokio::test]
async fn batches_over_the_limit_are_refused() {
    let app = TestApp::with_args(&["--max-import-rows", "3"]).await;
    let rows: Vec<Value> = (0..4).map(row).collect();
    let (code, _, message) = app
        .error(IMPORT, json!({ "input": { "contacts": rows } }))
        .await;
    assert_eq!(code, "LIMIT_EXCEEDED", "{message}");
    assert_eq!(total(&app).await, 0);
}

#[tokio::test]
async fn each_imported_contact_publishes_created() {
    let app = TestApp::new().await;
    let mut rx = app
        .events
        .subscribe(std::time::Duration::from_secs(10))
        .await;
    let out = import(&app, json!({ "contacts": [row(1), row(2)] })).await;
    let want: Vec<String> = out["contacts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| s(&c["id"]).to_owned())
        .collect();
    let mut got = Vec::new();
    for _ in &want {
        got.push(
            crate::common::next_bus_event(&mut rx)
                .await
                .contact_id
                .to_string(),
        );
    }
    assert_eq!(got, want);
}

/// Every conflict mode, atomic and not, against one existing contact and one
/// valid new row: what is written and what is reported.
#[tokio::test]
async fn each_conflict_mode_atomic_and_not() {
    for atomic in [true, false] {
        for (mode, created, updated, skipped, errors) in [
            ("FAIL", if atomic { 0 } else { 1 }, 0, 0, 1),
            ("SKIP", 1, 0, 1, 0),
            ("UPDATE", 1, 1, 0, 0),
        ] {
            let app = TestApp::new().await;
            let existing = app
                .create(json!({ "displayName": "Existing", "externalId": "taken" }))
                .await;
            let rows = json!([{ "externalId": "taken", "title": "From import" }, { "displayName": "New" }]);
            let out = import(
                &app,
                json!({ "contacts": rows, "onConflict": mode, "atomic": atomic }),
            )
            .await;
            let case = format!("{mode} atomic={atomic}: {out}");
            assert_eq!(out["createdCount"], created, "{case}");
            assert_eq!(out["updatedCount"], updated, "{case}");
            assert_eq!(out["skippedCount"], skipped, "{case}");
            assert_eq!(out["errors"].as_array().unwrap().len(), errors, "{case}");
            let title = app.get(s(&existing["id"])).await["title"].clone();
            let want = if mode == "UPDATE" {
                json!("From import")
            } else {
                json!(null)
            };
            assert_eq!(title, want, "{case}");
            assert_eq!(total(&app).await, 1 + created, "{case}");
        }
    }
}

/// Large requests take turns (one per core at a time): more of them than
/// permits all complete, none is lost or refused.
#[tokio::test]
async fn concurrent_large_imports_take_turns_and_all_complete() {
    let app = TestApp::new().await;
    let imports = (0..5).map(|batch| {
        let rows: Vec<Value> = (batch * 400..batch * 400 + 400).map(row).collect();
        let body = json!({ "query": IMPORT, "variables": { "input": { "contacts": rows } } });
        assert!(body.to_string().len() > 64 * 1024, "not a large request");
        let app = &app;
        async move { app.post_with(&[], body).await }
    });
    for (status, body) in futures::future::join_all(imports).await {
        assert_eq!(status, 200);
        assert_eq!(
            body["data"]["importContacts"]["createdCount"], 400,
            "{body}"
        );
    }
    assert_eq!(total(&app).await, 2000);
}

/// Six concurrent UPDATE imports of the same 20 people in different orders:
/// once 3 to 5 of 6 failed with "deadlock detected" on PostgreSQL. The
/// contacts a batch updates are now locked in id order first.
#[tokio::test]
async fn concurrent_update_imports_in_different_orders_all_succeed() {
    let app = std::sync::Arc::new(TestApp::new().await);
    let person = |i: usize| json!({ "displayName": format!("Person {i}"), "via": [{ "source": "email", "handle": format!("same{i}@example.org") }] });
    let everyone: Vec<Value> = (0..20).map(person).collect();
    import(&app, json!({ "contacts": everyone })).await;
    let mut tasks = Vec::new();
    for k in 0..6 {
        let app = app.clone();
        tasks.push(tokio::spawn(async move {
            // A different order each: rotated, every other one reversed.
            let mut rows: Vec<Value> = (0..20).map(|i| person((i + 3 * k) % 20)).collect();
            if k % 2 == 1 {
                rows.reverse();
            }
            for row in &mut rows {
                row["title"] = json!(format!("t{k}"));
            }
            let body = app
                .gql(
                    IMPORT,
                    json!({ "input": { "onConflict": "UPDATE", "contacts": rows } }),
                )
                .await;
            assert!(body["errors"].is_null(), "{body}");
            body["data"]["importContacts"]["updatedCount"].clone()
        }));
    }
    for task in tasks {
        assert_eq!(task.await.unwrap(), 20);
    }
    assert_eq!(total(&app).await, 20);
}
