//! Two server processes on one PostgreSQL database: a subscriber on the first
//! sees changes made through the second (LISTEN/NOTIFY).

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::common::{postgres_only, s, TestApp};
use crate::process::Server;
use crate::subscriptions::{next_event, sync, EVENTS};
use crate::ws_client::Subscriber;

async fn data(server: &Server, query: &str, variables: Value) -> Value {
    let response = server.gql(query, variables).await;
    assert!(response.get("errors").is_none(), "{response}");
    response["data"].clone()
}

async fn set_title(server: &Server, id: &str, title: &str) {
    data(
        server,
        "mutation($i: UpdateContactInput!) { updateContact(input: $i) { id } }",
        json!({ "i": { "id": id, "title": title } }),
    )
    .await;
}

async fn create(server: &Server, name: &str) -> String {
    let d = data(
        server,
        "mutation($i: CreateContactInput!) { createContact(input: $i) { id } }",
        json!({ "i": { "displayName": name } }),
    )
    .await;
    s(&d["createContact"]["id"]).to_owned()
}

#[tokio::test]
async fn a_subscriber_on_one_replica_sees_changes_made_on_another() {
    if !postgres_only("two replicas share PostgreSQL's LISTEN/NOTIFY") {
        return;
    }
    let app = TestApp::new().await; // owns the schema both replicas use
    let first = Server::start(&app.database_url, &[]).await;
    let second = Server::start(&app.database_url, &[]).await;
    let anchor = create(&second, "Anchor").await;

    let mut sub = Subscriber::connect(&first.addr, "/graphql/ws", json!({}))
        .await
        .unwrap();
    sub.subscribe("1", EVENTS, json!({})).await;
    sync(&mut sub, |t| {
        let (second, id) = (&second, anchor.clone());
        async move { set_title(second, &id, &t).await }
    })
    .await;

    let c = create(&second, "C").await;
    let e = next_event(&mut sub).await;
    assert_eq!((s(&e["kind"]), s(&e["contactId"])), ("CREATED", c.as_str()));
    set_title(&second, &c, "changed").await;
    let e = next_event(&mut sub).await;
    assert_eq!(
        (s(&e["kind"]), e["contact"]["title"].clone()),
        ("UPDATED", json!("changed"))
    );
    data(
        &second,
        "mutation($s: ID!, $d: ID!) { mergeContacts(sourceId: $s, destinationId: $d) { id } }",
        json!({ "s": c, "d": anchor }),
    )
    .await;
    let e = next_event(&mut sub).await;
    assert_eq!(
        (s(&e["kind"]), s(&e["mergedIntoId"])),
        ("MERGED", anchor.as_str())
    );
    let e = next_event(&mut sub).await;
    assert_eq!(
        (s(&e["kind"]), s(&e["contactId"])),
        ("UPDATED", anchor.as_str())
    );
    data(
        &second,
        "mutation($id: ID!) { deleteContact(id: $id) }",
        json!({ "id": anchor }),
    )
    .await;
    let e = next_event(&mut sub).await;
    assert_eq!(
        (s(&e["kind"]), s(&e["contactId"])),
        ("DELETED", anchor.as_str())
    );

    // Latency from sending a mutation to the second replica until the
    // subscriber on the first has the event: 100 in a row.
    let target = create(&second, "Timed").await;
    next_event(&mut sub).await;
    let (mut to_event, mut to_response) = (Vec::new(), Vec::new());
    for i in 0..100 {
        let marker = format!("t{i}");
        let started = Instant::now();
        set_title(&second, &target, &marker).await;
        to_response.push(started.elapsed());
        let e = next_event(&mut sub).await;
        assert_eq!(e["contact"]["title"], json!(marker));
        to_event.push(started.elapsed());
    }
    let median = |v: &mut Vec<Duration>| {
        v.sort();
        v[v.len() / 2]
    };
    println!(
        "event latency over 100 mutations, replica 2 -> subscriber on replica 1: median {:?}, max {:?}; the mutation's own response: median {:?}",
        median(&mut to_event),
        to_event.last().unwrap(),
        median(&mut to_response)
    );
}
