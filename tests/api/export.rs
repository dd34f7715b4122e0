//! Export (command line and GET /export): NDJSON that import reads back into
//! the same contacts, CSV and vCard, from one snapshot; who may export.

use std::path::PathBuf;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use contacts_api::app;
use contacts_api::cli::import::{run, ImportOptions, Progress, Summary};
use contacts_api::domain::{Rules, Scope};
use contacts_api::formats::{FileFormat, Mapping};
use contacts_api::service::events::EventBus;
use contacts_api::service::export::{self, ExportFormat};
use contacts_api::service::import::OnConflictMode;
use contacts_api::service::list::ContactFilter;
use contacts_api::service::tokens;
use serde_json::{json, Value};

use crate::common::TestApp;

struct Quiet;

impl Progress for Quiet {
    fn advance(&self, _: u64, _: &mut Summary) {}
}

async fn exported(app: &TestApp, format: ExportFormat, filter: ContactFilter) -> String {
    let (tx, mut rx) = tokio::sync::mpsc::channel(2);
    let db = app.state.db.clone();
    let task = tokio::spawn(async move { export::export(&db, &filter, format, tx).await });
    let mut text = String::new();
    while let Some(chunk) = rx.recv().await {
        text.push_str(&chunk.unwrap());
    }
    task.await.unwrap().unwrap();
    text
}

async fn import_file(app: &TestApp, path: PathBuf) -> Summary {
    let db = app::connect(&app.database_url, 2).await.unwrap();
    let opts = ImportOptions {
        format: FileFormat::from_path(&path).unwrap(),
        file: path,
        on_conflict: OnConflictMode::Fail,
        atomic: false,
        dry_run: false,
        batch_size: 7,
        delimiter: None,
        mapping: Mapping::default(),
    };
    run(&db, &Rules::default(), &EventBus::new(), &opts, &Quiet)
        .await
        .unwrap()
}

/// Contacts with a value in every field, lists and relations.
async fn seed(app: &TestApp) {
    for i in 0..30 {
        app.create(json!({
            "displayName": format!("Person {i}"),
            "avatarUrl": format!("https://example.com/{i}.jpg"),
            "title": "Engineer", "timezone": "Europe/Paris", "gender": "female", "locale": "fr-CA",
            "organizationName": "ACME", "description": "line one\nline two, with; punctuation \"quoted\"",
            "contactType": "lead", "isSpammer": i % 5 == 0, "externalId": format!("crm-{i}"),
            "groupNames": ["all", format!("g{}", i % 3)],
            "links": [format!("https://example.com/p/{i}")],
            "via": [
                { "source": "phone", "handle": format!("+1 617 253 {:04}", 1000 + i), "extension": "12" },
                { "source": "email", "handle": format!("p{i}@example.org") },
                { "source": "twitter", "handle": format!("@p{i}") }
            ],
            "address": { "organizationName": "HQ", "addressLine1": "1 Main St", "addressLine2": "Floor 2",
                          "postcode": "75001", "city": "Paris", "state": "IDF", "country": "FR" },
            "metadata": { "crm": { "score": i, "tags": { "vip": i % 2 == 0 } }, "note": "é ü 漢字" },
            "conversations": [{ "id": uuid::Uuid::now_v7().to_string(), "channel": "twilio.sms" }]
        }))
        .await;
    }
    // One contact with nothing but a handle, one merged into another.
    app.create(json!({ "via": [{ "source": "email", "handle": "bare@example.org" }] }))
        .await;
    let a = app.create(json!({ "displayName": "Merged away", "via": [{ "source": "email", "handle": "m1@example.org" }] })).await;
    let b = app.create(json!({ "displayName": "Kept", "via": [{ "source": "email", "handle": "m2@example.org" }] })).await;
    app.data(
        "mutation($s: ID!, $d: ID!) { mergeContacts(sourceId: $s, destinationId: $d) { id } }",
        json!({ "s": a["id"], "d": b["id"] }),
    )
    .await;
}

/// NDJSON lines without what import does not carry.
fn carried(text: &str) -> Vec<Value> {
    text.lines()
        .map(|l| {
            let mut v: Value = serde_json::from_str(l).unwrap();
            v.as_object_mut().unwrap().remove("exported");
            v
        })
        .collect()
}

#[tokio::test]
async fn ndjson_export_imports_back_into_the_same_contacts() {
    let source = TestApp::new().await;
    seed(&source).await;
    let text = exported(&source, ExportFormat::Ndjson, ContactFilter::default()).await;
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 32);
    // What import does not set is in the file all the same.
    let kept = lines.iter().find(|l| l["displayName"] == "Kept").unwrap();
    assert_eq!(
        kept["exported"]["mergeHistory"].as_array().unwrap().len(),
        1
    );
    assert!(
        lines[0]["exported"]["id"].is_string() && lines[0]["exported"]["createdAt"].is_string()
    );
    assert_eq!(lines[0]["exported"]["verified"], json!([true, true, true]));
    assert_eq!(
        lines[0]["via"][0],
        json!({ "source": "phone", "handle": "+16172531000", "extension": "12" })
    );

    let target = TestApp::new().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("contacts.ndjson");
    std::fs::write(&path, &text).unwrap();
    let summary = import_file(&target, path).await;
    assert!(summary.failed.is_empty(), "{:?}", summary.failed);
    assert_eq!(summary.created, 32);
    let again = exported(&target, ExportFormat::Ndjson, ContactFilter::default()).await;
    assert_eq!(carried(&again), carried(&text));
}

#[tokio::test]
async fn csv_and_vcard_exports_hold_every_contact_and_read_back() {
    let source = TestApp::new().await;
    seed(&source).await;
    let csv = exported(&source, ExportFormat::Csv, ContactFilter::default()).await;
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let header = reader.headers().unwrap().clone();
    assert_eq!(&header[0], "id");
    assert_eq!(&header[header.len() - 1], "metadata");
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 32);
    let first = &rows[0];
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    assert_eq!(
        &first[col("description")],
        "line one\nline two, with; punctuation \"quoted\""
    );
    assert_eq!(
        &first[col("via")],
        "phone:+16172531000;ext=12 email:p0@example.org twitter:@p0"
    );
    assert_eq!(&first[col("groupNames")], "all;g0");

    // vCard: our own importer reads it back with names, handles, groups.
    let cards = exported(&source, ExportFormat::Vcard, ContactFilter::default()).await;
    assert_eq!(cards.matches("BEGIN:VCARD").count(), 32);
    let target = TestApp::new().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("contacts.vcf");
    std::fs::write(&path, &cards).unwrap();
    let summary = import_file(&target, path).await;
    assert!(summary.failed.is_empty(), "{:?}", summary.failed);
    assert_eq!(summary.created, 32);
    let p0 = target
        .data(
            "{ contact(handle: {source: \"email\", handle: \"p0@example.org\"}) { displayName title organizationName description groupNames links avatarUrl timezone locale via { source handle extension } address { addressLine1 addressLine2 city state postcode country } } }",
            json!({}),
        )
        .await["contact"]
        .clone();
    assert_eq!(p0["displayName"], "Person 0");
    assert_eq!(
        p0["description"],
        "line one\nline two, with; punctuation \"quoted\""
    );
    assert_eq!(p0["groupNames"], json!(["all", "g0"]));
    assert_eq!(p0["timezone"], "Europe/Paris");
    assert_eq!(p0["locale"], "fr-CA");
    assert_eq!(
        p0["via"],
        json!([
            { "source": "phone", "handle": "+16172531000", "extension": "12" },
            { "source": "email", "handle": "p0@example.org", "extension": null },
            { "source": "twitter", "handle": "@p0", "extension": null }
        ])
    );
    assert_eq!(
        p0["address"],
        json!({ "addressLine1": "1 Main St", "addressLine2": "Floor 2", "city": "Paris", "state": "IDF", "postcode": "75001", "country": "FR" })
    );
}

#[tokio::test]
async fn filters_select_what_is_exported() {
    let app = TestApp::new().await;
    seed(&app).await;
    let filter = ContactFilter {
        group_name: Some("g1".into()),
        ..Default::default()
    };
    let text = exported(&app, ExportFormat::Ndjson, filter).await;
    assert_eq!(text.lines().count(), 10);
    assert!(carried(&text)
        .iter()
        .all(|l| l["groupNames"].as_array().unwrap().contains(&json!("g1"))));
}

#[tokio::test]
async fn get_export_streams_for_a_read_token_and_refuses_visitors() {
    let app = TestApp::new().await;
    seed(&app).await;
    let request = |auth: Option<&str>, query: &str| {
        let mut r = Request::get(format!("/export{query}"));
        if let Some(token) = auth {
            r = r.header("authorization", format!("Bearer {token}"));
        }
        r.body(Body::empty()).unwrap()
    };
    // Open server on loopback: allowed without a token.
    let (status, body) = app.request(request(None, "?format=csv&group=g2")).await;
    assert_eq!(status, StatusCode::OK);
    // Descriptions hold line breaks: count records, not lines.
    assert_eq!(
        csv::Reader::from_reader(body.as_bytes()).records().count(),
        10
    );
    let read = tokens::create(&app.state.db, "r", Scope::Read)
        .await
        .unwrap();
    let (status, body) = app.request(request(None, "")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    let (status, body) = app.request(request(Some("made-up"), "")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    let (status, body) = app.request(request(Some(&read), "?format=ndjson")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body.lines().count(), 32);
    let (status, body) = app.request(request(Some(&read), "?format=pdf")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["errors"][0]["extensions"]["field"], "format");
    let (status, _) = app.request(request(Some(&read), "?colour=blue")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}
