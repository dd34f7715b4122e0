//! importContacts' FILL_BLANKS mode and dry runs, and the same through the
//! command line.

use serde_json::{json, Value};

use crate::common::TestApp;

const IMPORT: &str = "mutation($input: ImportContactsInput!) {
    importContacts(input: $input) {
        dryRun createdCount updatedCount skippedCount
        rows { index action contactId error { code field } }
        errors { index code field }
        contacts { id }
    } }";

const CONTACT: &str = "query($id: ID!) { contact(id: $id) {
    displayName title organizationName contactType isSpammer externalId groupNames links
    via { source handle } address { city country } metadata } }";

async fn import(app: &TestApp, input: Value) -> Value {
    app.data(IMPORT, json!({ "input": input })).await["importContacts"].clone()
}

async fn contact(app: &TestApp, id: &str) -> Value {
    app.data(CONTACT, json!({ "id": id })).await["contact"].clone()
}

/// A contact with something in most fields, and blanks to fill.
async fn existing(app: &TestApp) -> String {
    app.create(json!({
        "displayName": "Ada Lovelace",
        "title": "Countess",
        "contactType": "lead",
        "groupNames": ["math"],
        "links": ["https://example.com/ada"],
        "via": [{ "source": "email", "handle": "ada@example.com" }],
        "address": { "city": "London" },
        "metadata": { "tier": "gold" }
    }))
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn fill_blanks_fills_only_what_the_contact_lacks() {
    let app = TestApp::new().await;
    let id = existing(&app).await;
    let out = import(
        &app,
        json!({
            "onConflict": "FILL_BLANKS",
            "contacts": [{
                "displayName": "A. King",
                "title": "",
                "organizationName": "Analytical Engine",
                "contactType": "contact",
                "isSpammer": true,
                "externalId": "crm-1",
                "groupNames": ["math", "poets"],
                "links": ["https://example.com/ada", "https://example.com/engine"],
                "via": [
                    { "source": "email", "handle": "ADA@example.com" },
                    { "source": "phone", "handle": "+44 20 7946 0958" }
                ],
                "address": { "city": "Paris", "country": "GB" },
                "metadata": { "tier": "silver", "born": 1815 }
            }]
        }),
    )
    .await;
    assert_eq!(out["updatedCount"], 1, "{out}");
    assert_eq!(
        out["rows"],
        json!([{ "index": 0, "action": "UPDATE", "contactId": id, "error": null }])
    );
    assert_eq!(
        contact(&app, &id).await,
        json!({
            "displayName": "Ada Lovelace",
            "title": "Countess",
            "organizationName": "Analytical Engine",
            "contactType": "lead",
            "isSpammer": false,
            "externalId": "crm-1",
            "groupNames": ["math", "poets"],
            "links": ["https://example.com/ada", "https://example.com/engine"],
            "via": [
                { "source": "email", "handle": "ada@example.com" },
                { "source": "phone", "handle": "+442079460958" }
            ],
            "address": { "city": "London", "country": "GB" },
            "metadata": { "tier": "gold", "born": 1815 }
        })
    );
    // A row with nothing to fill changes nothing and logs nothing.
    let before = app
        .sql_count("SELECT COUNT(*) AS n FROM contact_changes")
        .await;
    let again = import(
        &app,
        json!({ "onConflict": "FILL_BLANKS", "contacts": [{ "displayName": "X", "via": [{ "source": "email", "handle": "ada@example.com" }] }] }),
    )
    .await;
    assert_eq!(again["updatedCount"], 1);
    assert_eq!(
        app.sql_count("SELECT COUNT(*) AS n FROM contact_changes")
            .await,
        before
    );
}

#[tokio::test]
async fn a_dry_run_plans_every_row_and_writes_nothing() {
    let app = TestApp::new().await;
    let id = existing(&app).await;
    let mut events = app
        .events
        .subscribe(std::time::Duration::from_secs(10))
        .await;
    let contacts_before = app.sql_count("SELECT COUNT(*) AS n FROM contacts").await;
    let log_before = app
        .sql_count("SELECT COUNT(*) AS n FROM contact_changes")
        .await;
    let rows = json!([
        { "displayName": "New", "via": [{ "source": "email", "handle": "new@example.com" }] },
        { "displayName": "Ada again", "via": [{ "source": "email", "handle": "ada@example.com" }] },
        { "displayName": "Bad", "via": [{ "source": "phone", "handle": "12" }] },
        { "displayName": "New twice", "via": [{ "source": "email", "handle": "NEW@example.com" }] }
    ]);
    for (mode, second, fourth) in [
        ("UPDATE", "UPDATE", "UPDATE"),
        ("SKIP", "SKIP", "SKIP"),
        ("FILL_BLANKS", "UPDATE", "UPDATE"),
    ] {
        let out = import(
            &app,
            json!({ "onConflict": mode, "dryRun": true, "contacts": rows }),
        )
        .await;
        assert_eq!(out["dryRun"], true);
        let actions: Vec<&str> = out["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["action"].as_str().unwrap())
            .collect();
        assert_eq!(actions, ["CREATE", second, "FAIL", fourth], "{mode}");
        // The existing contact is named; the one a row would create is not
        // (it does not exist).
        assert_eq!(out["rows"][0]["contactId"], Value::Null);
        assert_eq!(out["rows"][1]["contactId"], json!(id));
        assert_eq!(out["rows"][3]["contactId"], Value::Null);
        assert_eq!(
            out["rows"][2]["error"],
            json!({ "code": "BAD_USER_INPUT", "field": "input.contacts.2.via.0.handle" })
        );
        assert_eq!(out["errors"][0]["index"], 2);
        assert_eq!(out["contacts"], json!([]));
    }
    // FAIL: the matching row fails with the reason, the others are planned.
    let out = import(&app, json!({ "dryRun": true, "contacts": rows })).await;
    assert_eq!(out["rows"][1]["action"], "FAIL");
    assert_eq!(out["rows"][1]["error"]["code"], "CONFLICT");
    assert_eq!(out["createdCount"], 1);
    // Nothing was written, logged or announced.
    assert_eq!(
        app.sql_count("SELECT COUNT(*) AS n FROM contacts").await,
        contacts_before
    );
    assert_eq!(
        app.sql_count("SELECT COUNT(*) AS n FROM contact_changes")
            .await,
        log_before
    );
    assert_eq!(contact(&app, &id).await["displayName"], "Ada Lovelace");
    // The first event after the dry runs is that of a real write.
    let real = app.create(json!({ "displayName": "Real" })).await;
    let first = crate::common::next_bus_event(&mut events).await;
    assert_eq!(first.contact_id.to_string(), real["id"].as_str().unwrap());
}

#[tokio::test]
async fn a_real_import_reports_each_rows_contact() {
    let app = TestApp::new().await;
    let id = existing(&app).await;
    let out = import(
        &app,
        json!({ "onConflict": "SKIP", "atomic": false, "contacts": [
            { "displayName": "New", "via": [{ "source": "email", "handle": "new@example.com" }] },
            { "displayName": "Ada", "via": [{ "source": "email", "handle": "ada@example.com" }] },
            { "displayName": "Bad", "via": [{ "source": "phone", "handle": "12" }] }
        ]}),
    )
    .await;
    let created = out["contacts"][0]["id"].clone();
    assert_eq!(
        out["rows"],
        json!([
            { "index": 0, "action": "CREATE", "contactId": created, "error": null },
            { "index": 1, "action": "SKIP", "contactId": id, "error": null },
            { "index": 2, "action": "FAIL", "contactId": null, "error": { "code": "BAD_USER_INPUT", "field": "input.contacts.2.via.0.handle" } }
        ])
    );
    // Atomic: the good rows say they were not written.
    let out = import(
        &app,
        json!({ "contacts": [
            { "displayName": "Other", "via": [{ "source": "email", "handle": "other@example.com" }] },
            { "displayName": "Bad", "via": [{ "source": "phone", "handle": "12" }] }
        ]}),
    )
    .await;
    assert_eq!(out["rows"][0]["action"], "NOT_WRITTEN");
    assert_eq!(out["rows"][1]["action"], "FAIL");
}
