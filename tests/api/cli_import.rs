use std::path::PathBuf;

use contacts_api::app;
use contacts_api::cli::import::{run, FileFormat, ImportOptions, Progress, Summary};
use contacts_api::domain::Rules;
use contacts_api::service::events::EventBus;
use contacts_api::service::import::OnConflictMode;
use serde_json::json;

use crate::common::TestApp;

struct Quiet;

impl Progress for Quiet {
    fn advance(&self, _: u64, _: &mut Summary) {}
}

struct Cli {
    app: TestApp,
    dir: tempfile::TempDir,
}

impl Cli {
    async fn new() -> Self {
        Self {
            app: TestApp::new().await,
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn file(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    async fn import(
        &self,
        path: PathBuf,
        on_conflict: OnConflictMode,
        atomic: bool,
        batch_size: usize,
    ) -> anyhow::Result<Summary> {
        let db = app::connect(&self.app.database_url, 2).await?;
        let opts = ImportOptions {
            format: FileFormat::from_path(&path).unwrap(),
            file: path,
            on_conflict,
            atomic,
            dry_run: false,
            batch_size,
            delimiter: None,
            mapping: Default::default(),
        };
        run(&db, &Rules::default(), &EventBus::new(), &opts, &Quiet).await
    }

    /// A dry run of the file (batches of 2).
    async fn dry_run(&self, path: PathBuf, on_conflict: OnConflictMode) -> anyhow::Result<Summary> {
        let db = app::connect(&self.app.database_url, 2).await?;
        let opts = ImportOptions {
            format: FileFormat::from_path(&path).unwrap(),
            file: path,
            on_conflict,
            atomic: false,
            dry_run: true,
            batch_size: 2,
            delimiter: None,
            mapping: Default::default(),
        };
        run(&db, &Rules::default(), &EventBus::new(), &opts, &Quiet).await
    }

    /// Imports publishing to `events` (created with the default options).
    async fn import_on(
        &self,
        path: PathBuf,
        atomic: bool,
        events: &EventBus,
    ) -> anyhow::Result<Summary> {
        let db = app::connect(&self.app.database_url, 2).await?;
        let opts = ImportOptions {
            format: FileFormat::from_path(&path).unwrap(),
            file: path,
            on_conflict: OnConflictMode::Fail,
            atomic,
            dry_run: false,
            batch_size: 2,
            delimiter: None,
            mapping: Default::default(),
        };
        run(&db, &Rules::default(), events, &opts, &Quiet).await
    }

    async fn total(&self) -> i64 {
        self.app
            .data("{ contacts { totalCount } }", json!({}))
            .await["contacts"]["totalCount"]
            .as_i64()
            .unwrap()
    }
}

fn failures(summary: &Summary) -> Vec<(usize, &str, Option<&str>)> {
    summary
        .failed
        .iter()
        .map(|r| (r.line, r.code.as_str(), r.field.as_deref()))
        .collect()
}

#[tokio::test]
async fn csv_rows_land_and_bad_rows_are_reported_by_line() {
    let cli = Cli::new().await;
    let path = cli.file(
        "people.csv",
        "displayName,via.phone,via.email,metadata.crm.id,metadata.tier,groupNames,isSpammer,address.city\n\
         Ada,+1 617 253 1000,ADA@example.org,1,gold,vip;math,no,London\n\
         Bad phone,12,,2,,,,\n\
         Alan,+44 20 7946 0958,alan@example.org,3,silver,math,maybe,\n\
         Dup,617-253-1000,,,,,,\n\
         \"Hopper, Grace\",,grace@navy.mil,,,,yes,\n",
    );
    let summary = cli
        .import(path, OnConflictMode::Fail, false, 2)
        .await
        .unwrap();
    assert_eq!(
        (
            summary.rows,
            summary.created,
            summary.updated,
            summary.skipped
        ),
        (5, 2, 0, 0)
    );
    assert_eq!(
        failures(&summary),
        [
            (3, "BAD_USER_INPUT", Some("row.via.0.handle")),
            (4, "BAD_USER_INPUT", None),
            (5, "CONFLICT", Some("row.via.0.handle")),
        ]
    );
    let ada = cli
        .app
        .data(
            "{ contact(handle: {source: \"email\", handle: \"ada@example.org\"}) { displayName via { source handle } metadata groupNames isSpammer address { city } } }",
            json!({}),
        )
        .await["contact"]
        .clone();
    assert_eq!(
        ada["via"][0],
        json!({ "source": "phone", "handle": "+16172531000" })
    );
    assert_eq!(
        ada["metadata"],
        json!({ "crm": { "id": "1" }, "tier": "gold" })
    );
    assert_eq!(ada["groupNames"], json!(["math", "vip"]));
    assert_eq!(ada["isSpammer"], false);
    assert_eq!(ada["address"]["city"], "London");
    let grace = cli
        .app
        .data(
            "{ contacts(filter: {search: \"hopper\"}) { nodes { displayName isSpammer } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        grace["contacts"]["nodes"][0],
        json!({ "displayName": "Hopper, Grace", "isSpammer": true })
    );
}

#[tokio::test]
async fn json_arrays_stream_with_line_numbers() {
    let cli = Cli::new().await;
    let path = cli.file(
        "people.json",
        "[\n  {\"displayName\": \"J1\", \"via\": [{\"source\": \"email\", \"handle\": \"j1@x.org\"}]},\n  {\"displayName\": \"J2\", \"nope\": 1},\n  {\"metadata\": {\"a\": [1]}},\n  {\"displayName\": \"J4\"},\n  {\"metadata\": {\"n\": 123456789012345678901234567890}}\n]\n",
    );
    let summary = cli
        .import(path, OnConflictMode::Fail, false, 1000)
        .await
        .unwrap();
    assert_eq!(summary.created, 2);
    assert_eq!(
        failures(&summary),
        [
            (3, "BAD_USER_INPUT", None),
            (4, "BAD_USER_INPUT", Some("row.metadata.a")),
            // A number parsing would round is refused, not stored rounded.
            (6, "BAD_USER_INPUT", Some("row.metadata.n"))
        ]
    );
    assert!(summary.failed[0].message.contains("nope"));
    assert_eq!(cli.total().await, 2);

    let broken = cli.file("broken.json", "{\"displayName\": \"not an array\"}");
    assert!(cli
        .import(broken, OnConflictMode::Fail, false, 10)
        .await
        .is_err());
}

#[tokio::test]
async fn atomic_ndjson_is_all_or_nothing() {
    let cli = Cli::new().await;
    let bad = cli.file(
        "bad.ndjson",
        "{\"displayName\":\"N1\"}\n\n{\"displayName\": 5}\nnot json\n{\"externalId\":\"n4\"}\n",
    );
    let summary = cli
        .import(bad, OnConflictMode::Fail, true, 1)
        .await
        .unwrap();
    assert_eq!(
        failures(&summary),
        [(3, "BAD_USER_INPUT", None), (4, "BAD_USER_INPUT", None)]
    );
    assert_eq!(summary.created, 0);
    assert_eq!(cli.total().await, 0, "nothing written");

    let good = cli.file(
        "good.ndjson",
        "{\"displayName\":\"N1\"}\n{\"externalId\":\"n2\"}\n{\"displayName\":\"N3\"}\n",
    );
    let summary = cli
        .import(good, OnConflictMode::Fail, true, 2)
        .await
        .unwrap();
    assert_eq!((summary.created, summary.failed.len()), (3, 0));
    assert_eq!(cli.total().await, 3);
}

#[tokio::test]
async fn update_mode_meets_rows_of_earlier_batches() {
    let cli = Cli::new().await;
    let path = cli.file(
        "updates.ndjson",
        "{\"externalId\":\"u1\",\"displayName\":\"One\"}\n{\"externalId\":\"u2\"}\n{\"externalId\":\"u1\",\"title\":\"Later\"}\n",
    );
    let summary = cli
        .import(path, OnConflictMode::Update, false, 2)
        .await
        .unwrap();
    assert_eq!((summary.created, summary.updated), (2, 1));
    let one = cli
        .app
        .data(
            "{ contact(externalId: \"u1\") { displayName title } }",
            json!({}),
        )
        .await;
    assert_eq!(
        one["contact"],
        json!({ "displayName": "One", "title": "Later" })
    );
    assert_eq!(cli.total().await, 2);
}

#[tokio::test]
async fn unknown_csv_columns_stop_the_import() {
    let cli = Cli::new().await;
    let path = cli.file("odd.csv", "displayName,shoeSize\nAda,38\n");
    let err = cli
        .import(path, OnConflictMode::Fail, false, 10)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("shoeSize"), "{err}");
    assert_eq!(cli.total().await, 0);
}

/// A database failure mid-file ends the import with an error; it must not
/// hang on a reader waiting to hand over more batches. Multi-threaded, so the
/// timeout still fires if a regression blocks a worker.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_database_stops_the_import_instead_of_hanging() {
    use sea_orm::ConnectionTrait;

    let cli = Cli::new().await;
    let rows: String = (0..50)
        .map(|i| {
            format!("{{\"via\":[{{\"source\":\"email\",\"handle\":\"p{i}@example.org\"}}]}}\n")
        })
        .collect();
    let path = cli.file("many.ndjson", &rows);
    let db = app::connect(&cli.app.database_url, 1).await.unwrap();
    db.execute_unprepared("DROP TABLE contact_handles")
        .await
        .unwrap();
    let outcome = tokio::time::timeout(
        std::time::Duration::from_secs(20),
        cli.import(path, OnConflictMode::Fail, false, 1),
    )
    .await
    .expect("the import hung");
    assert!(outcome.is_err());
}

#[tokio::test]
async fn an_atomic_import_of_a_file_that_breaks_off_writes_nothing() {
    let cli = Cli::new().await;
    // Good rows in whole batches, then the file ends mid-element.
    let broken = cli.file(
        "broken.json",
        "[{\"displayName\":\"A\"},\n{\"displayName\":\"B\"},\n{\"displayName\":\"C\"},\n{\"displayName\":",
    );
    assert!(cli
        .import(broken, OnConflictMode::Fail, true, 1)
        .await
        .is_err());
    assert_eq!(cli.total().await, 0, "nothing written");

    // Whatever follows the array (a second array, stray text) is not
    // silently left unread.
    for (i, tail) in ["[{\"displayName\":\"D\"}]", ",", "]", " xyz"]
        .iter()
        .enumerate()
    {
        let path = cli.file(
            &format!("tail{i}.json"),
            &format!("[{{\"displayName\":\"A\"}},{{\"displayName\":\"B\"}}]\n{tail}\n"),
        );
        let outcome = cli.import(path, OnConflictMode::Fail, true, 1).await;
        assert!(outcome.is_err(), "{tail:?}: {outcome:?}");
        assert_eq!(cli.total().await, 0, "{tail:?}: nothing written");
    }
}

/// Both modes go through the write path: events after each commit, heard
/// by the server (on PostgreSQL through NOTIFY), none for a rolled-back file.
#[tokio::test]
async fn imports_publish_their_rows_after_commit() {
    let cli = Cli::new().await;
    // On PostgreSQL the import's own bus, as a separate process has; SQLite
    // has no bus between processes, so the server's own stands in.
    let events = if crate::common::postgres_only("NOTIFY between processes") {
        EventBus::announcer(&cli.app.state.db).await.unwrap()
    } else {
        cli.app.events.clone()
    };
    let mut heard = cli
        .app
        .events
        .subscribe(std::time::Duration::from_secs(10))
        .await;
    for atomic in [false, true] {
        let path = cli.file(
            &format!("rows-{atomic}.ndjson"),
            "{\"displayName\":\"R1\"}\n{\"displayName\":\"R2\"}\n{\"displayName\":\"R3\"}\n",
        );
        let summary = cli.import_on(path, atomic, &events).await.unwrap();
        assert_eq!(summary.created, 3);
        for _ in 0..3 {
            let event = crate::common::next_bus_event(&mut heard).await;
            assert_eq!(
                event.kind,
                contacts_api::service::changes::ChangeKind::Created
            );
        }
    }
    let bad = cli.file(
        "bad.ndjson",
        "{\"displayName\":\"R4\"}\n{\"displayName\":5}\n",
    );
    let summary = cli.import_on(bad, true, &events).await.unwrap();
    assert_eq!((summary.created, summary.failed.len()), (0, 1));
    events.drain(std::time::Duration::from_secs(5)).await;
    let quiet = tokio::time::timeout(std::time::Duration::from_millis(300), heard.recv()).await;
    assert!(quiet.is_err(), "a rolled-back import published {quiet:?}");
}

/// The same rows as people tools write them: a byte-order mark, CRLF line
/// ends, `;` or tab between fields, Excel's `sep=;` first line. Each file
/// imports the same rows and reports its bad row on that file's own line.
#[tokio::test]
async fn files_as_people_have_them_import_alike() {
    let cli = Cli::new().await;
    let rows = [
        ["displayName", "via.email", "metadata.tier"],
        ["Ada", "ada@example.org", "gold"],
        ["Bad", "not an email", "x"],
        ["\"Hopper, Grace\"", "grace@navy.mil", "silver"],
    ];
    let csv = |sep: &str, end: &str, before: &str| {
        let mut text = format!("\u{feff}{before}");
        for row in rows {
            text.push_str(&row.join(sep));
            text.push_str(end);
        }
        text
    };
    let cases = [
        ("comma-crlf.csv", csv(",", "\r\n", ""), 3),
        ("semicolon.csv", csv(";", "\n", ""), 3),
        ("tab.csv", csv("\t", "\r\n", ""), 3),
        ("excel.csv", csv(";", "\r\n", "sep=;\r\n"), 4),
    ];
    for (i, (name, text, bad_line)) in cases.into_iter().enumerate() {
        let text = text.replace("@example.org", &format!("{i}@example.org"));
        let text = text.replace("@navy.mil", &format!("{i}@navy.mil"));
        let summary = cli
            .import(cli.file(name, &text), OnConflictMode::Fail, false, 10)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e:#}"));
        assert_eq!((summary.rows, summary.created), (3, 2), "{name}");
        assert_eq!(
            failures(&summary),
            [(bad_line, "BAD_USER_INPUT", Some("row.via.0.handle"))],
            "{name}"
        );
    }
    let grace = cli
        .app
        .data(
            "{ contact(handle: {source: \"email\", handle: \"grace3@navy.mil\"}) { displayName metadata } }",
            json!({}),
        )
        .await;
    assert_eq!(grace["contact"]["displayName"], json!("Hopper, Grace"));
    assert_eq!(grace["contact"]["metadata"], json!({ "tier": "silver" }));

    // JSON and NDJSON with a byte-order mark.
    let json_file = cli.file("bom.json", "\u{feff}[{\"displayName\":\"J\"}]\r\n");
    let ndjson_file = cli.file(
        "bom.ndjson",
        "\u{feff}{\"displayName\":\"N1\"}\r\n{\"displayName\":5}\r\n",
    );
    let summary = cli
        .import(json_file, OnConflictMode::Fail, false, 10)
        .await
        .unwrap();
    assert_eq!(summary.created, 1);
    let summary = cli
        .import(ndjson_file, OnConflictMode::Fail, false, 10)
        .await
        .unwrap();
    assert_eq!(
        (summary.created, failures(&summary)),
        (1, vec![(2, "BAD_USER_INPUT", None)])
    );
}

#[tokio::test]
async fn blank_lines_keep_csv_line_numbers_right() {
    // Found by an outside run: rows after blank lines were reported on the
    // first blank line, and differently for LF and CRLF files.
    let cli = Cli::new().await;
    for (name, eol) in [("lf.csv", "\n"), ("crlf.csv", "\r\n")] {
        let text = [
            "displayName,externalId",
            "",
            "B1,ok1",
            "",
            "",
            "B2,\"x\ty\"",
            "B2b,\"x\ty\"",
            "",
            "",
            "",
            "B3,\"x\ty\"",
            "",
        ]
        .join(eol);
        let path = cli.file(name, &text);
        let summary = cli
            .import(path, OnConflictMode::Skip, false, 2)
            .await
            .unwrap();
        let lines: Vec<usize> = summary.failed.iter().map(|r| r.line).collect();
        assert_eq!(lines, [6, 7, 11], "{name}");
    }
}

#[tokio::test]
async fn a_dry_run_of_a_file_plans_across_batches_and_writes_nothing() {
    let cli = Cli::new().await;
    let path = cli.file(
        "people.ndjson",
        "{\"displayName\":\"A\",\"via\":[{\"source\":\"email\",\"handle\":\"a@example.org\"}]}\n\
         {\"displayName\":\"B\",\"via\":[{\"source\":\"phone\",\"handle\":\"12\"}]}\n\
         {\"displayName\":\"A again\",\"via\":[{\"source\":\"email\",\"handle\":\"A@example.org\"}]}\n",
    );
    // Row 3 is in the second batch: it meets the contact row 1 would create.
    let summary = cli
        .dry_run(path.clone(), OnConflictMode::Update)
        .await
        .unwrap();
    assert_eq!((summary.rows, summary.created, summary.updated), (3, 1, 1));
    assert_eq!(
        failures(&summary),
        [(2, "BAD_USER_INPUT", Some("row.via.0.handle"))]
    );
    assert_eq!(cli.total().await, 0);
    let summary = cli.dry_run(path, OnConflictMode::Fail).await.unwrap();
    assert_eq!(
        failures(&summary),
        [
            (2, "BAD_USER_INPUT", Some("row.via.0.handle")),
            (3, "CONFLICT", Some("row.via.0.handle"))
        ]
    );
    assert_eq!(cli.total().await, 0);
}

#[tokio::test]
async fn fill_blanks_from_a_file_keeps_what_the_contact_has() {
    let cli = Cli::new().await;
    cli.app
        .create(json!({ "displayName": "Ada", "via": [{ "source": "email", "handle": "ada@example.org" }] }))
        .await;
    let path = cli.file(
        "people.csv",
        "displayName,title,via.email\nAda King,Countess,ada@example.org\n",
    );
    let summary = cli
        .import(path, OnConflictMode::FillBlanks, false, 10)
        .await
        .unwrap();
    assert_eq!(summary.updated, 1);
    let ada = cli
        .app
        .data(
            "{ contact(handle: {source: \"email\", handle: \"ada@example.org\"}) { displayName title } }",
            json!({}),
        )
        .await["contact"]
        .clone();
    assert_eq!(ada, json!({ "displayName": "Ada", "title": "Countess" }));
}
