//! Two server processes on one PostgreSQL database: a subscriber on the first
//! sees changes made through the second (LISTEN/NOTIFY).

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::common::{postgres_only, TestApp};
use crate::process::Server;
use crate::subscriptions::{every_kind_arrives_in_order, next_event, Api};
use crate::ws_client::Subscriber;

impl Api for Server {
    async fn run(&self, query: &str, variables: Value) -> Value {
        let response = self.gql(query, variables).await;
        assert!(response.get("errors").is_none(), "{response}");
        response["data"].clone()
    }
}

#[tokio::test]
async fn a_subscriber_on_one_replica_sees_changes_made_on_another() {
    if !postgres_only("two replicas share PostgreSQL's LISTEN/NOTIFY") {
        return;
    }
    let app = TestApp::new().await; // owns the schema both replicas use
    let first = Server::start(&app.database_url, &[]).await;
    let second = Server::start(&app.database_url, &[]).await;
    let mut sub = Subscriber::connect(&first.addr, "/graphql/ws", json!({}))
        .await
        .unwrap();
    every_kind_arrives_in_order(&mut sub, &second).await;

    // Latency from sending a mutation to the second replica until the
    // subscriber on the first has the event: 100 in a row.
    let target = second.create("Timed", "").await;
    next_event(&mut sub).await;
    let (mut to_event, mut to_response) = (Vec::new(), Vec::new());
    for i in 0..100 {
        let marker = format!("t{i}");
        let started = Instant::now();
        second.set_title(&target, &marker).await;
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
