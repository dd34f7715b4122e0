//! Uploads (GraphQL multipart requests) and the import jobs they start:
//! progress, failures by line, the subscription, limits, authorization,
//! and a job whose server stopped.

use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::{json, Value};

use chrono::SubsecRound;
use contacts_api::domain::Scope;
use contacts_api::service::tokens;

use crate::common::TestApp;
use crate::ws_client::Subscriber;

const UPLOAD: &str = "mutation($file: Upload!, $format: ImportFileFormat, $onConflict: ImportConflict! = FAIL, $dryRun: Boolean! = false, $mapping: [ColumnMappingInput!]) {
    importContactsFile(file: $file, format: $format, onConflict: $onConflict, dryRun: $dryRun, mapping: $mapping) { id status format fileName bytesTotal } }";

const JOB: &str = "query($id: ID!) { importJob(id: $id) {
    id status format layout onConflict dryRun fileName bytesTotal bytesRead rowsRead
    createdCount updatedCount skippedCount failedCount error startedBy startedAt finishedAt
    failures(first: 2) { edges { cursor node { line code field message } } pageInfo { hasNextPage endCursor } }
} }";

/// A GraphQL multipart request (operations, map, the file) as
/// apollo-upload-client sends it.
fn multipart(
    variables: Value,
    file_name: &str,
    file: &[u8],
    headers: &[(&str, &str)],
) -> Request<Body> {
    let boundary = "----contacts-api-test-boundary";
    let mut vars = variables;
    vars["file"] = Value::Null;
    let operations = json!({ "query": UPLOAD, "variables": vars });
    let mut body = Vec::new();
    let mut part = |disposition: &str, content_type: Option<&str>, data: &[u8]| {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; {disposition}\r\n").as_bytes(),
        );
        if let Some(t) = content_type {
            body.extend_from_slice(format!("Content-Type: {t}\r\n").as_bytes());
        }
        body.extend_from_slice(b"\r\n");
        body.extend_from_slice(data);
        body.extend_from_slice(b"\r\n");
    };
    part(
        "name=\"operations\"",
        None,
        operations.to_string().as_bytes(),
    );
    part("name=\"map\"", None, br#"{"0":["variables.file"]}"#);
    part(
        &format!("name=\"0\"; filename=\"{file_name}\""),
        Some("application/octet-stream"),
        file,
    );
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    let mut request = Request::post("/graphql").header(
        "content-type",
        format!("multipart/form-data; boundary={boundary}"),
    );
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.body(Body::from(body)).expect("request")
}

async fn upload(
    app: &TestApp,
    variables: Value,
    file_name: &str,
    file: &[u8],
) -> (StatusCode, Value) {
    let request = multipart(
        variables,
        file_name,
        file,
        &[("apollo-require-preflight", "true")],
    );
    let (status, body) = app.request(request).await;
    (
        status,
        serde_json::from_str(&body).unwrap_or(Value::String(body)),
    )
}

/// Waits for the job to end; returns it.
async fn ended(app: &TestApp, id: &str) -> Value {
    for _ in 0..200 {
        let job = app.data(JOB, json!({ "id": id })).await["importJob"].clone();
        if job["status"] != "RUNNING" {
            return job;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("job {id} did not end");
}

fn csv_rows(n: usize) -> String {
    let mut text = String::from("displayName,via.email\n");
    for i in 0..n {
        if i % 7 == 3 {
            text.push_str(&format!("Bad {i},not-an-email\n"));
        } else {
            text.push_str(&format!("Person {i},p{i}@example.org\n"));
        }
    }
    text
}

#[tokio::test]
async fn an_uploaded_file_is_imported_in_the_background_with_its_failures_by_line() {
    let app = TestApp::new().await;
    let file = csv_rows(2500);
    let (status, body) = upload(&app, json!({}), "people.csv", file.as_bytes()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let started = &body["data"]["importContactsFile"];
    assert_eq!(started["status"], "RUNNING");
    assert_eq!(started["format"], "CSV");
    assert_eq!(started["fileName"], "people.csv");
    assert_eq!(started["bytesTotal"], json!(file.len() as f64));
    let job = ended(&app, started["id"].as_str().unwrap()).await;
    let bad = (0..2500).filter(|i| i % 7 == 3).count() as i64;
    assert_eq!(job["status"], "SUCCEEDED", "{job}");
    assert_eq!(job["rowsRead"], 2500);
    assert_eq!(job["createdCount"], 2500 - bad);
    assert_eq!(job["failedCount"], bad);
    assert_eq!(job["bytesRead"], json!(file.len() as f64));
    assert_eq!(job["startedBy"], "open");
    assert!(job["finishedAt"].is_string());
    assert_eq!(
        app.sql_count("SELECT COUNT(*) AS n FROM contacts").await,
        2500 - bad
    );
    // Failures in file order, by line (row 3 is on line 5), paged.
    let page = &job["failures"];
    assert_eq!(page["edges"][0]["node"]["line"], 5);
    assert_eq!(page["edges"][0]["node"]["field"], "row.via.0.handle");
    assert_eq!(page["edges"][1]["node"]["line"], 12);
    assert_eq!(page["pageInfo"]["hasNextPage"], true);
    let mut lines = Vec::new();
    let mut after = Value::Null;
    loop {
        let page = app
            .data(
                "query($id: ID!, $after: String) { importJob(id: $id) { failures(first: 100, after: $after) { edges { node { line } } pageInfo { hasNextPage endCursor } } } }",
                json!({ "id": job["id"], "after": after }),
            )
            .await["importJob"]["failures"]
            .clone();
        lines.extend(
            page["edges"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["node"]["line"].as_i64().unwrap()),
        );
        if page["pageInfo"]["hasNextPage"] != true {
            break;
        }
        after = page["pageInfo"]["endCursor"].clone();
    }
    let want: Vec<i64> = (0..2500)
        .filter(|i| i % 7 == 3)
        .map(|i| i as i64 + 2)
        .collect();
    assert_eq!(lines, want);
}

#[tokio::test]
async fn uploads_take_every_format_mode_and_a_mapping() {
    let app = TestApp::new().await;
    // A vCard, its format told by its name.
    let vcard = b"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Ada\r\nEMAIL:ada@example.org\r\nEND:VCARD\r\n";
    let (_, body) = upload(&app, json!({}), "ada.vcf", vcard).await;
    let job = ended(
        &app,
        body["data"]["importContactsFile"]["id"].as_str().unwrap(),
    )
    .await;
    assert_eq!(
        (job["format"].clone(), job["createdCount"].clone()),
        (json!("VCARD"), json!(1))
    );
    // FILL_BLANKS through a mapping, from a file with no telling name.
    let csv = b"Name;Mail;Job\nAda King;ada@example.org;Countess\n";
    let (_, body) = upload(
        &app,
        json!({ "format": "CSV", "onConflict": "FILL_BLANKS", "mapping": [
            { "column": "Name", "field": "displayName" },
            { "column": "Mail", "field": "via.email" },
            { "column": "Job", "field": "title" }
        ] }),
        "export",
        csv,
    )
    .await;
    let job = ended(
        &app,
        body["data"]["importContactsFile"]["id"].as_str().unwrap(),
    )
    .await;
    assert_eq!(job["updatedCount"], 1, "{job}");
    assert_eq!(job["onConflict"], "FILL_BLANKS");
    let ada = app
        .data("{ contact(handle: {source: \"email\", handle: \"ada@example.org\"}) { displayName title } }", json!({}))
        .await["contact"]
        .clone();
    assert_eq!(ada, json!({ "displayName": "Ada", "title": "Countess" }));
    // A dry run plans and writes nothing.
    let (_, body) = upload(
        &app,
        json!({ "dryRun": true }),
        "more.csv",
        csv_rows(20).as_bytes(),
    )
    .await;
    let job = ended(
        &app,
        body["data"]["importContactsFile"]["id"].as_str().unwrap(),
    )
    .await;
    assert_eq!(
        (job["dryRun"].clone(), job["createdCount"].clone()),
        (json!(true), json!(17))
    );
    assert_eq!(app.sql_count("SELECT COUNT(*) AS n FROM contacts").await, 1);
    // A Google export is recognised.
    let google = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/formats/samples/google.csv"
    ))
    .unwrap();
    let (_, body) = upload(&app, json!({}), "contacts.csv", &google).await;
    let job = ended(
        &app,
        body["data"]["importContactsFile"]["id"].as_str().unwrap(),
    )
    .await;
    assert_eq!(
        (job["layout"].clone(), job["createdCount"].clone()),
        (json!("GOOGLE"), json!(2))
    );
}

#[tokio::test]
async fn a_file_that_cannot_be_read_fails_its_job_with_why() {
    let app = TestApp::new().await;
    let (_, body) = upload(&app, json!({}), "x.csv", b"First,Second\n1,2\n").await;
    let job = ended(
        &app,
        body["data"]["importContactsFile"]["id"].as_str().unwrap(),
    )
    .await;
    assert_eq!(job["status"], "FAILED");
    assert!(
        job["error"].as_str().unwrap().contains("\"First\""),
        "{job}"
    );
    // No format and no telling name: refused at once, naming the argument.
    let (_, body) = upload(&app, json!({}), "contacts.txt", b"x").await;
    assert_eq!(body["errors"][0]["extensions"]["field"], "format", "{body}");
    let (_, body) = upload(
        &app,
        json!({ "format": "CSV", "mapping": [{ "column": "a", "field": "nowhere" }] }),
        "a.csv",
        b"a\n1\n",
    )
    .await;
    assert_eq!(
        body["errors"][0]["extensions"]["field"], "mapping.0.field",
        "{body}"
    );
}

#[tokio::test]
async fn uploads_are_bounded_by_their_own_limits_and_need_the_preflight_header() {
    let app = TestApp::with_args(&["--max-upload-bytes", "2000", "--max-body-bytes", "1000"]).await;
    // Larger than --max-body-bytes, --max-upload-bytes exactly: accepted
    // (the request's other parts do not count against the file).
    let mut file = csv_rows(40);
    assert!(file.len() > 1000 && file.len() < 2000, "{}", file.len());
    file.push_str(&"x".repeat(2000 - file.len() - 1));
    file.push('\n');
    assert_eq!(file.len(), 2000);
    let (status, body) = upload(&app, json!({}), "a.csv", file.as_bytes()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // Beyond --max-upload-bytes: 413, nothing started.
    let big = csv_rows(100);
    let (status, body) = upload(&app, json!({}), "b.csv", big.as_bytes()).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert_eq!(body["errors"][0]["extensions"]["code"], "LIMIT_EXCEEDED");
    assert_eq!(body["errors"][0]["extensions"]["field"], "file");
    assert_eq!(
        app.sql_count("SELECT COUNT(*) AS n FROM import_jobs").await,
        1
    );
    // Without the CSRF-prevention header: refused before the body is read.
    let request = multipart(json!({}), "c.csv", file.as_bytes(), &[]);
    let (status, _) = app.request(request).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(
        app.sql_count("SELECT COUNT(*) AS n FROM import_jobs").await,
        1
    );
}

#[tokio::test]
async fn an_idle_upload_is_cut_off() {
    let app = TestApp::with_args(&["--upload-idle-seconds", "1"]).await;
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(1);
    let boundary = "b";
    let request = Request::post("/graphql")
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .header("apollo-require-preflight", "true")
        .body(Body::from_stream(
            tokio_stream::wrappers::ReceiverStream::new(rx),
        ))
        .unwrap();
    tx.send(Ok(
        b"--b\r\nContent-Disposition: form-data; name=\"operations\"\r\n\r\n".to_vec(),
    ))
    .await
    .unwrap();
    let started = std::time::Instant::now();
    let (status, body) = app.request(request).await;
    drop(tx);
    assert_eq!(status, StatusCode::REQUEST_TIMEOUT, "{body}");
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[tokio::test]
async fn a_read_token_cannot_upload_and_progress_streams_over_the_websocket() {
    let app = TestApp::new().await;
    let write = tokens::create(&app.state.db, "w", Scope::Write)
        .await
        .unwrap();
    let read = tokens::create(&app.state.db, "r", Scope::Read)
        .await
        .unwrap();
    let file = csv_rows(3000);
    let request = multipart(
        json!({}),
        "a.csv",
        file.as_bytes(),
        &[
            ("apollo-require-preflight", "true"),
            ("authorization", &format!("Bearer {read}")),
        ],
    );
    let (status, body) = app.request(request).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(
        app.sql_count("SELECT COUNT(*) AS n FROM import_jobs").await,
        0
    );
    // Refused before the body is read: a body that never ends is not waited for.
    let (_tx, rx) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(1);
    let endless = Request::post("/graphql")
        .header("content-type", "multipart/form-data; boundary=b")
        .header("apollo-require-preflight", "true")
        .header("authorization", format!("Bearer {read}"))
        .body(Body::from_stream(
            tokio_stream::wrappers::ReceiverStream::new(rx),
        ))
        .unwrap();
    let (status, _) = tokio::time::timeout(Duration::from_secs(5), app.request(endless))
        .await
        .expect("answered before the body");
    assert_eq!(status, StatusCode::FORBIDDEN);
    let visitor = multipart(
        json!({}),
        "a.csv",
        file.as_bytes(),
        &[("apollo-require-preflight", "true")],
    );
    let (status, _) = app.request(visitor).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let request = multipart(
        json!({}),
        "a.csv",
        file.as_bytes(),
        &[
            ("apollo-require-preflight", "true"),
            ("authorization", &format!("Bearer {write}")),
        ],
    );
    let (status, body) = app.request(request).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let body: Value = serde_json::from_str(&body).unwrap();
    let id = body["data"]["importContactsFile"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // A read token follows the job to its end; the last message is the end.
    let addr = app.listen().await;
    let mut ws = Subscriber::connect(
        &addr,
        "/graphql/ws",
        json!({ "authorization": format!("Bearer {read}") }),
    )
    .await
    .unwrap();
    ws.subscribe(
        "1",
        "subscription($id: ID!) { importProgress(jobId: $id) { status rowsRead createdCount failedCount startedBy } }",
        json!({ "id": id }),
    )
    .await;
    let mut seen = Vec::new();
    while let Some(message) = ws.next(Duration::from_secs(20)).await {
        assert!(message["errors"].is_null(), "{message}");
        let progress = message["data"]["importProgress"].clone();
        let done = progress["status"] != "RUNNING";
        seen.push(progress);
        if done {
            break;
        }
    }
    let last = seen.last().expect("progress");
    assert_eq!(last["status"], "SUCCEEDED", "{seen:?}");
    assert_eq!(last["rowsRead"], 3000);
    assert_eq!(last["startedBy"], "w");
    let rows: Vec<i64> = seen
        .iter()
        .map(|p| p["rowsRead"].as_i64().unwrap())
        .collect();
    assert!(rows.windows(2).all(|w| w[0] <= w[1]), "{rows:?}");
    // Neither a mutation nor a job over the WebSocket for a read token.
    ws.subscribe(
        "2",
        "mutation { importContactsFile(file: null) { id } }",
        json!({}),
    )
    .await;
    let refused = ws.next(Duration::from_secs(5)).await.unwrap();
    assert!(!refused["errors"].is_null(), "{refused}");
}

#[tokio::test]
async fn a_job_whose_server_stopped_is_failed_with_what_it_wrote() {
    let app = TestApp::new().await;
    // A job left RUNNING by a server that died after writing two contacts
    // (their log entries name the job) and before it saved its counters.
    let job = uuid::Uuid::now_v7();
    let stale = chrono::Utc::now() - chrono::Duration::seconds(120);
    let a = app.create(json!({ "displayName": "A" })).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let b = app.create(json!({ "displayName": "B" })).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let ids = [a, b].map(|id| uuid::Uuid::parse_str(&id).unwrap());
    entity::contact_change::Entity::update_many()
        .col_expr(
            entity::contact_change::Column::JobId,
            sea_orm::sea_query::Expr::value(Some(job)),
        )
        .filter(entity::contact_change::Column::ContactId.is_in(ids))
        .exec(&app.state.db)
        .await
        .unwrap();
    use sea_orm::{ActiveModelTrait, Set};
    entity::import_job::ActiveModel {
        id: Set(job),
        status: Set("RUNNING".into()),
        format: Set("CSV".into()),
        layout: Set(None),
        on_conflict: Set("FAIL".into()),
        dry_run: Set(false),
        file_name: Set(Some("big.csv".into())),
        bytes_total: Set(Some(1000)),
        bytes_read: Set(100),
        rows_read: Set(1),
        created: Set(1),
        updated: Set(0),
        skipped: Set(0),
        failed: Set(0),
        error: Set(None),
        actor: Set("w".into()),
        started_at: Set(stale),
        heartbeat_at: Set(stale),
        finished_at: Set(None),
    }
    .insert(&app.state.db)
    .await
    .unwrap();
    let seen = app.data(JOB, json!({ "id": job.to_string() })).await["importJob"].clone();
    assert_eq!(seen["status"], "FAILED", "{seen}");
    assert_eq!(seen["createdCount"], 2, "{seen}");
    // Found by an outside run: more rows created than read.
    assert_eq!(seen["rowsRead"], 2, "{seen}");
    // Its end is its last sign of life.
    assert_eq!(
        chrono::DateTime::parse_from_rfc3339(seen["finishedAt"].as_str().unwrap()).unwrap(),
        stale.trunc_subsecs(3)
    );
    assert!(
        seen["error"].as_str().unwrap().starts_with("interrupted"),
        "{seen}"
    );
    // A job with a fresh heartbeat is left running.
    assert_eq!(
        app.sql_count("SELECT COUNT(*) AS n FROM import_jobs WHERE status = 'RUNNING'")
            .await,
        0
    );
}

const UNDO: &str = "mutation($id: ID!) { undoImport(jobId: $id) {
    job { status } deletedCount restoredCount leftAloneCount leftAlone { contactId reason fields } } }";

async fn contact_by_email(app: &TestApp, email: &str) -> Value {
    app.data(
        "query($h: HandleInput!) { contact(handle: $h) { id displayName title description via { source handle } metadata } }",
        json!({ "h": { "source": "email", "handle": email } }),
    )
    .await["contact"]
        .clone()
}

#[tokio::test]
async fn undo_reverts_an_import_and_leaves_what_changed_since() {
    let app = TestApp::new().await;
    let existing = app
        .create(json!({
            "displayName": "Ada", "title": "Dev", "description": "before",
            "via": [{ "source": "email", "handle": "ada@example.org" }],
            "metadata": { "tier": "gold" }
        }))
        .await;
    let file = "displayName,title,description,via.email,metadata.tier\n\
                Ada King,CEO,after,ada@example.org,silver\n\
                Bea,,,bea@example.org,\n\
                Cy,,,cy@example.org,\n\
                Dee,,,dee@example.org,\n\
                Eve,,,eve@example.org,\n";
    let (_, body) = upload(
        &app,
        json!({ "onConflict": "UPDATE" }),
        "people.csv",
        file.as_bytes(),
    )
    .await;
    let id = body["data"]["importContactsFile"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let job = ended(&app, &id).await;
    assert_eq!(
        (job["createdCount"].clone(), job["updatedCount"].clone()),
        (json!(4), json!(1))
    );
    // Since the import: Ada's title is changed, Cy is edited, Dee is merged
    // into Eve, an unrelated contact is created.
    let ada = contact_by_email(&app, "ada@example.org").await;
    app.update(json!({ "id": ada["id"], "title": "CTO" })).await;
    let cy = contact_by_email(&app, "cy@example.org").await;
    app.update(json!({ "id": cy["id"], "description": "met at a fair" }))
        .await;
    let dee = contact_by_email(&app, "dee@example.org").await;
    let eve = contact_by_email(&app, "eve@example.org").await;
    app.data(
        "mutation($s: ID!, $d: ID!) { mergeContacts(sourceId: $s, destinationId: $d) { id } }",
        json!({ "s": dee["id"], "d": eve["id"] }),
    )
    .await;
    app.create(json!({ "displayName": "Unrelated" })).await;

    let undone = app.data(UNDO, json!({ "id": id })).await["undoImport"].clone();
    println!("{undone}");
    assert_eq!(undone["job"]["status"], "UNDONE");
    // Bea deleted; Ada restored (but for her title); Cy, Dee, Eve left.
    assert_eq!(undone["deletedCount"], 1, "{undone}");
    assert_eq!(undone["restoredCount"], 1, "{undone}");
    let mut left: Vec<(String, String, Value)> = undone["leftAlone"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["contactId"].as_str().unwrap().to_owned(),
                l["reason"].as_str().unwrap().to_owned(),
                l["fields"].clone(),
            )
        })
        .collect();
    left.sort_by(|a, b| a.0.cmp(&b.0));
    let mut want = vec![
        (
            ada["id"].as_str().unwrap().to_owned(),
            "CHANGED_SINCE".to_owned(),
            json!(["title"]),
        ),
        (
            cy["id"].as_str().unwrap().to_owned(),
            "CHANGED_SINCE".to_owned(),
            json!(["description"]),
        ),
        (
            dee["id"].as_str().unwrap().to_owned(),
            "MERGED_SINCE".to_owned(),
            json!([]),
        ),
        (
            eve["id"].as_str().unwrap().to_owned(),
            "CHANGED_SINCE".to_owned(),
            // The merge moved Dee's handle to her.
            json!(["via"]),
        ),
    ];
    want.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(left, want, "{undone}");
    assert_eq!(undone["leftAloneCount"], 4);
    let ada = contact_by_email(&app, "ada@example.org").await;
    assert_eq!(
        (
            ada["displayName"].clone(),
            ada["title"].clone(),
            ada["description"].clone(),
            ada["metadata"].clone()
        ),
        (
            json!("Ada"),
            json!("CTO"),
            json!("before"),
            json!({ "tier": "gold" })
        )
    );
    assert_eq!(ada["id"], existing["id"]);
    assert!(contact_by_email(&app, "bea@example.org").await.is_null());
    assert_eq!(
        contact_by_email(&app, "cy@example.org").await["description"],
        "met at a fair"
    );
    // Twice: refused, naming the job; the job's entries are still there.
    let (code, field, _) = app.error(UNDO, json!({ "id": id })).await;
    assert_eq!(
        (code.as_str(), field.as_deref()),
        ("CONFLICT", Some("jobId"))
    );
    let (code, _, _) = app
        .error(UNDO, json!({ "id": uuid::Uuid::now_v7().to_string() }))
        .await;
    assert_eq!(code, "NOT_FOUND");
    // A dry run wrote nothing to undo.
    let (_, body) = upload(
        &app,
        json!({ "dryRun": true }),
        "x.csv",
        b"displayName\nZed\n",
    )
    .await;
    let dry = body["data"]["importContactsFile"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    ended(&app, &dry).await;
    let (code, field, _) = app.error(UNDO, json!({ "id": dry })).await;
    assert_eq!(
        (code.as_str(), field.as_deref()),
        ("BAD_USER_INPUT", Some("jobId"))
    );
}
