//! Text in every script: search folds case in any script, DISPLAY_NAME
//! order puts accented letters beside their base letter, the same on SQLite,
//! PostgreSQL and a PostgreSQL database whose locale is C; and what the
//! domain accepts, every database stores.

use serde_json::{json, Value};

use crate::common::{s, Store, TestApp};

const NAMES: [&str; 9] = [
    "Zoë", "Şahin", "Łukasz", "Ülker", "Émile", "Çelik", "adam", "Bob", "Lars",
];
const ALPHABETICAL: [&str; 9] = [
    "adam", "Bob", "Çelik", "Émile", "Lars", "Łukasz", "Şahin", "Ülker", "Zoë",
];

async fn search(app: &TestApp, text: &str) -> Vec<String> {
    let data = app
        .data(
            "query($f: ContactFilter) { contacts(first: 100, filter: $f, orderBy: {field: DISPLAY_NAME}) { nodes { displayName } } }",
            json!({ "f": { "search": text } }),
        )
        .await;
    names(&data["contacts"]["nodes"])
}

fn names(nodes: &Value) -> Vec<String> {
    nodes
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["displayName"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// Every page of `size` in DISPLAY_NAME order, walked with `after`
/// (or backwards with `before` for DESC).
async fn walk(app: &TestApp, size: i64, direction: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let data = app
            .data(
                "query($first: Int, $after: String, $d: OrderDirection) { contacts(first: $first, after: $after, orderBy: {field: DISPLAY_NAME, direction: $d}) { nodes { displayName } pageInfo { hasNextPage endCursor } } }",
                json!({ "first": size, "after": after, "d": direction }),
            )
            .await;
        let page = &data["contacts"];
        out.extend(names(&page["nodes"]));
        if page["pageInfo"]["hasNextPage"] != true {
            return out;
        }
        after = Some(s(&page["pageInfo"]["endCursor"]).to_owned());
    }
}

async fn check_every_script(app: &TestApp) {
    for name in NAMES {
        app.create(json!({ "displayName": name })).await;
    }
    app.create(json!({ "displayName": "Émilie Durand", "organizationName": "Ромашка ООО" }))
        .await;
    app.create(json!({ "displayName": "Бьёрн Иванов", "externalId": "STRASSE-1" }))
        .await;
    app.create(json!({ "displayName": "Σίσυφος", "via": [{ "source": "email", "handle": "Straße@Example.org" }] }))
        .await;

    for (text, found) in [
        ("émilie", "Émilie Durand"),
        ("ÉMILIE", "Émilie Durand"),
        ("E\u{301}milie", "Émilie Durand"),
        ("бьёрн", "Бьёрн Иванов"),
        ("БЬЁРН", "Бьёрн Иванов"),
        ("ромашка", "Émilie Durand"),
        ("straße", "Бьёрн Иванов"),
        ("ΣΊΣΥΦΟΣ", "Σίσυφος"),
        ("STRASSE@example", "Σίσυφος"),
        ("łukasz", "Łukasz"),
    ] {
        assert!(
            search(app, text).await.contains(&found.to_owned()),
            "{text:?} finds {found:?}"
        );
    }
    assert!(search(app, "zzz").await.is_empty());

    // Alphabetical, whatever the page size, both ways.
    let all: Vec<String> = walk(app, 100, "ASC")
        .await
        .into_iter()
        .filter(|n| NAMES.contains(&n.as_str()))
        .collect();
    assert_eq!(all, ALPHABETICAL);
    let full = walk(app, 100, "ASC").await;
    for size in [1, 2, 5] {
        assert_eq!(walk(app, size, "ASC").await, full, "pages of {size}");
    }
    let mut reversed = full.clone();
    reversed.reverse();
    assert_eq!(walk(app, 3, "DESC").await, reversed);
}

#[tokio::test]
async fn every_script_is_searched_and_ordered() {
    check_every_script(&TestApp::new().await).await;
}

#[tokio::test]
async fn a_c_locale_database_searches_and_orders_alike() {
    let Some((url, store)) = Store::create_c_locale().await else {
        eprintln!("runs on PostgreSQL only (a database's locale); set TEST_DATABASE_URL");
        return;
    };
    check_every_script(&TestApp::on_store(url, store, &[]).await).await;
}

#[tokio::test]
async fn long_text_in_any_script_is_stored_on_every_database() {
    let app = TestApp::new().await;
    // 900 CJK characters: 2.7 KB, more than a B-tree entry may hold on
    // PostgreSQL; the name is stored whole, its sort key bounded.
    let name = "漢".repeat(900);
    let key = "鍵".repeat(85);
    let c = app
        .create(json!({ "displayName": name, "metadata": { key.clone(): 1 } }))
        .await;
    assert_eq!(c["displayName"], name);
    assert_eq!(c["metadata"][&key], 1);
    assert_eq!(walk(&app, 10, "ASC").await, [name]);

    // A longer key is refused in bytes, naming it; an import keeps its good rows.
    let long_key = "鍵".repeat(1000);
    let response = app
        .gql(
            "mutation($input: ImportContactsInput!) { importContacts(input: $input) { createdCount errors { index field code } } }",
            json!({ "input": { "atomic": false, "contacts": [
                { "displayName": "good 1" },
                { "displayName": "bad", "metadata": { long_key.clone(): 1 } },
                { "displayName": "good 2" }
            ] } }),
        )
        .await;
    let payload = &response["data"]["importContacts"];
    assert_eq!(payload["createdCount"], 2, "{response}");
    assert_eq!(payload["errors"][0]["index"], 1);
    assert_eq!(payload["errors"][0]["code"], "BAD_USER_INPUT");
    assert_eq!(
        payload["errors"][0]["field"],
        format!("input.contacts.1.metadata.{long_key}")
    );
}

#[tokio::test]
async fn nul_is_refused_naming_the_argument() {
    let app = TestApp::new().await;
    let cursor = {
        use base64::Engine;
        let raw = json!({ "f": "n", "k": "ab\u{0}", "i": uuid::Uuid::now_v7() });
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw.to_string())
    };
    for (query, variables, field) in [
        (
            "query($f: ContactFilter) { contacts(filter: $f) { totalCount } }",
            json!({ "f": { "search": "a\u{0}b" } }),
            "filter.search",
        ),
        (
            "query($f: ContactFilter) { contacts(filter: $f) { totalCount } }",
            json!({ "f": { "groupName": "a\u{0}" } }),
            "filter.groupName",
        ),
        (
            "query($f: ContactFilter) { contacts(filter: $f) { totalCount } }",
            json!({ "f": { "contactType": "\u{0}" } }),
            "filter.contactType",
        ),
        (
            "query($x: String) { contact(externalId: $x) { id } }",
            json!({ "x": "a\u{0}" }),
            "externalId",
        ),
        (
            "query($c: String) { contacts(after: $c, orderBy: {field: DISPLAY_NAME}) { totalCount } }",
            json!({ "c": cursor }),
            "after",
        ),
        (
            "mutation($i: CreateContactInput!) { createContact(input: $i) { id } }",
            json!({ "i": { "metadata": { "k": "v\u{0}" } } }),
            "input.metadata.k",
        ),
        (
            "mutation($i: CreateContactInput!) { createContact(input: $i) { id } }",
            json!({ "i": { "displayName": "a\u{0}b" } }),
            "input.displayName",
        ),
    ] {
        let response = app.gql(query, variables).await;
        let error = &response["errors"][0]["extensions"];
        assert_eq!(error["code"], "BAD_USER_INPUT", "{response}");
        assert_eq!(error["field"], field, "{response}");
    }
    // A search longer than the limit is refused, not sent to the database.
    let response = app
        .gql(
            "query($f: ContactFilter) { contacts(filter: $f) { totalCount } }",
            json!({ "f": { "search": "a".repeat(50_000) } }),
        )
        .await;
    assert_eq!(
        response["errors"][0]["extensions"]["field"],
        "filter.search"
    );
}

#[tokio::test]
async fn metadata_numbers_come_back_as_written_or_are_refused() {
    let app = TestApp::new().await;
    let c = app
        .create(json!({ "metadata": {
            "big": 18446744073709551615u64, "neg": -9223372036854775808i64,
            "pi": std::f64::consts::PI, "small": 1.5e-300, "price": 12.25,
            "js": 0.30000000000000004
        } }))
        .await;
    let read = app.get(s(&c["id"])).await;
    assert_eq!(read["metadata"]["big"], 18446744073709551615u64);
    assert_eq!(read["metadata"]["neg"], -9223372036854775808i64);
    assert_eq!(read["metadata"]["pi"], std::f64::consts::PI);
    assert_eq!(read["metadata"]["small"], 1.5e-300);
    assert_eq!(read["metadata"]["price"], 12.25);
    assert_eq!(read["metadata"]["js"], 0.30000000000000004);
    // Digits a double cannot hold: refused, naming the key (the raw body,
    // since serde_json's own writer would round the number first).
    for text in [
        "123456789012345678901234567890",
        "3.14159265358979323846",
        "0.10000000000000000001",
    ] {
        let body = format!(
            "{{\"query\":\"mutation($i: CreateContactInput!) {{ createContact(input: $i) {{ id }} }}\",\"variables\":{{\"i\":{{\"metadata\":{{\"loyalty_no\":{text}}}}}}}}}"
        );
        let (_, response) = app.raw_post(&body).await;
        let error = &response["errors"][0]["extensions"];
        assert_eq!(error["code"], "BAD_USER_INPUT", "{text}: {response}");
        assert_eq!(error["field"], "input.metadata.loyalty_no", "{response}");
    }
}

#[tokio::test]
async fn inexact_numbers_are_refused_inline_and_over_websocket() {
    let app = TestApp::new().await;
    let response = app
        .gql(
            "mutation { createContact(input: { metadata: { n: 123456789012345678901234567890 } }) { id } }",
            json!({}),
        )
        .await;
    assert_eq!(
        response["errors"][0]["extensions"]["field"], "input.metadata.n",
        "{response}"
    );
    let addr = app.listen().await;
    let mut ws = crate::ws_client::Subscriber::connect(&addr, "/graphql/ws", json!({}))
        .await
        .expect("open server: no token needed on loopback");
    ws.operation_raw(
        "1",
        r#"{"query":"mutation($i: CreateContactInput!) { createContact(input: $i) { id } }","variables":{"i":{"metadata":{"n":3.14159265358979323846}}}}"#,
    )
    .await;
    let reply = ws
        .next(std::time::Duration::from_secs(10))
        .await
        .expect("a reply");
    assert_eq!(
        reply["errors"][0]["extensions"]["field"], "input.metadata.n",
        "{reply}"
    );
    assert_eq!(app.sql_count("SELECT count(*) AS n FROM contacts").await, 0);
}

#[tokio::test]
async fn what_can_be_looked_up_must_be_one_line() {
    let app = TestApp::new().await;
    for (input, field) in [
        (json!({ "externalId": "ext\tid" }), "input.externalId"),
        (json!({ "externalId": "ext\r\nid" }), "input.externalId"),
        (
            json!({ "groupNames": ["ok", "g\nh"] }),
            "input.groupNames.1",
        ),
    ] {
        let response = app
            .gql(
                "mutation($i: CreateContactInput!) { createContact(input: $i) { id } }",
                json!({ "i": input }),
            )
            .await;
        assert_eq!(
            response["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
            "{response}"
        );
        assert_eq!(
            response["errors"][0]["extensions"]["field"], field,
            "{response}"
        );
    }
    // Negative zero is zero on both databases (PostgreSQL has no other).
    let c = app
        .create(json!({ "metadata": { "n": -0.0, "m": { "k": -0.0 } } }))
        .await;
    assert_eq!(
        app.get(s(&c["id"])).await["metadata"],
        json!({ "n": 0, "m": { "k": 0 } })
    );
}
