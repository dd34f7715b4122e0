//! Bounded stress: many clients editing a few contacts that share handles,
//! through every kind of write, for a fixed time; then the tables must hold
//! together. Not one INTERNAL_SERVER_ERROR is allowed: a lost race is retried
//! by the write path, or answered CONFLICT; a pool kept busy past its
//! acquire timeout (PostgreSQL's deadlock detection holds connections for a
//! second) is answered 503 SERVER_BUSY.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::common::{postgres_only, TestApp};

/// A small deterministic generator (xorshift): each client its own stream.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

const PEOPLE: usize = 10;

fn email(i: usize) -> String {
    format!("p{i}@example.org")
}

fn phone(i: usize) -> String {
    format!("+1617555{:04}", 1000 + i)
}

/// One random operation; returns the error codes it met.
async fn operate(app: &TestApp, rng: &mut Rng, ids: &[String]) -> Vec<String> {
    let a = rng.below(PEOPLE);
    let b = (a + 1 + rng.below(PEOPLE - 1)) % PEOPLE;
    let some_id = |rng: &mut Rng| ids[rng.below(ids.len())].clone();
    let (query, variables) = match rng.below(7) {
        0 => (
            "mutation($i: CreateOrUpdateContactInput!) { createOrUpdateContact(input: $i) { created } }",
            json!({ "i": { "displayName": format!("P{a}"), "via": [
                { "source": "email", "handle": email(a) },
                { "source": "phone", "handle": phone(b) } ] } }),
        ),
        1 => (
            "mutation($i: UpdateContactInput!) { updateContact(input: $i) { id } }",
            json!({ "i": { "id": some_id(rng), "title": format!("t{}", rng.below(100)),
                "metadata": { format!("k{}", rng.below(5)): rng.below(1000) },
                "via": [{ "source": "email", "handle": email(a) }] } }),
        ),
        2 => (
            "mutation($d: ID!, $s: ID!) { mergeContacts(destinationId: $d, sourceId: $s) { id } }",
            json!({ "d": some_id(rng), "s": some_id(rng) }),
        ),
        3 => (
            "mutation($id: ID!) { unmergeContact(mergeRecordId: $id) { id } }",
            json!({ "id": some_id(rng) }),
        ),
        4 => (
            "mutation($id: ID!) { deleteContact(id: $id) }",
            json!({ "id": some_id(rng) }),
        ),
        5 => (
            "mutation($i: LinkConversationInput!) { linkConversation(input: $i) { id } }",
            json!({ "i": { "conversationId": format!("01a1fefa-217c-752c-bea3-{:012}", rng.below(20)),
                "channel": "email", "handle": { "source": "email", "handle": email(a) } } }),
        ),
        _ => {
            let mut rows: Vec<Value> = (0..5)
                .map(|k| {
                    let i = (a + k) % PEOPLE;
                    json!({ "displayName": format!("I{i}"), "via": [
                        { "source": "email", "handle": email(i) },
                        { "source": "phone", "handle": phone((i + 3) % PEOPLE) } ] })
                })
                .collect();
            if rng.below(2) == 0 {
                rows.reverse();
            }
            (
                "mutation($i: ImportContactsInput!) { importContacts(input: $i) { createdCount errors { code } } }",
                json!({ "i": { "onConflict": "UPDATE", "contacts": rows } }),
            )
        }
    };
    let (status, response) = app.gql_status(query, variables).await;
    // A busy pool is answered 503 SERVER_BUSY (retry), never anything else.
    if status != 200 {
        assert_eq!(
            (
                status.as_u16(),
                &response["errors"][0]["extensions"]["reason"]
            ),
            (503, &json!("SERVER_BUSY")),
            "{response}"
        );
    }
    let mut codes: Vec<String> = response["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| {
            e["extensions"]["code"]
                .as_str()
                .unwrap_or("none")
                .to_owned()
        })
        .collect();
    for row in response["data"]["importContacts"]["errors"]
        .as_array()
        .into_iter()
        .flatten()
    {
        codes.push(row["code"].as_str().unwrap_or("none").to_owned());
    }
    codes
}

/// Data of a read that may meet a busy pool: retried, as a client would.
async fn read(app: &TestApp, query: &str) -> Value {
    for _ in 0..50 {
        let (status, response) = app.gql_status(query, json!({})).await;
        if status == 200 && response["errors"].is_null() {
            return response["data"].clone();
        }
        assert_eq!(
            response["errors"][0]["extensions"]["reason"], "SERVER_BUSY",
            "{response}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the server stayed busy");
}

async fn ids(app: &TestApp) -> Vec<String> {
    let data = read(
        app,
        "{ contacts(first: 100) { nodes { id mergeHistory { id } } } }",
    )
    .await;
    let mut ids: Vec<String> = Vec::new();
    let mut records = Vec::new();
    for node in data["contacts"]["nodes"].as_array().unwrap() {
        ids.push(node["id"].as_str().unwrap().to_owned());
        // Ids of merge records, for unmerge.
        for r in node["mergeHistory"].as_array().unwrap() {
            records.push(r["id"].as_str().unwrap().to_owned());
        }
    }
    ids.extend(records);
    // A stale id now and then.
    ids.push("01a1fefa-217c-752c-bea3-d578cd4dbd7c".into());
    ids
}

#[tokio::test]
async fn concurrent_writes_of_every_kind_never_fail_internally() {
    let (clients, seconds) = if postgres_only("16 clients on PostgreSQL; 8 here") {
        (16, 15)
    } else {
        (8, 15)
    };
    let app = Arc::new(TestApp::new().await);
    for i in 0..PEOPLE {
        app.data(
            "mutation($i: CreateContactInput!) { createContact(input: $i) { id } }",
            json!({ "i": { "displayName": format!("P{i}"), "via": [{ "source": "email", "handle": email(i) }] } }),
        )
        .await;
    }
    let done = Arc::new(AtomicUsize::new(0));
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for client in 0..clients {
        let (app, done) = (app.clone(), done.clone());
        tasks.push(tokio::spawn(async move {
            let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ (client as u64 + 1));
            let mut codes: HashMap<String, usize> = HashMap::new();
            let mut known = ids(&app).await;
            while Instant::now() < deadline {
                if rng.below(10) == 0 {
                    known = ids(&app).await;
                }
                for code in operate(&app, &mut rng, &known).await {
                    *codes.entry(code).or_default() += 1;
                }
                done.fetch_add(1, Ordering::Relaxed);
            }
            codes
        }));
    }
    let mut codes: HashMap<String, usize> = HashMap::new();
    for task in tasks {
        for (code, n) in task.await.unwrap() {
            *codes.entry(code).or_default() += n;
        }
    }
    let operations = done.load(Ordering::Relaxed);
    eprintln!(
        "{operations} operations by {clients} clients in {seconds} s; error codes: {codes:?}"
    );
    // Only that the clients really ran: PostgreSQL's deadlock detection
    // alone holds some for a second at a time.
    assert!(operations > 30, "only {operations} operations ran");
    assert_eq!(codes.get("INTERNAL_SERVER_ERROR"), None, "{codes:?}");
    assert_eq!(codes.get("none"), None, "errors without a code: {codes:?}");

    // The tables hold together.
    let orphans = [
        "SELECT count(*) AS n FROM contact_handles h WHERE NOT EXISTS (SELECT 1 FROM contacts c WHERE c.id = h.contact_id)",
        "SELECT count(*) AS n FROM contact_metadata m WHERE NOT EXISTS (SELECT 1 FROM contacts c WHERE c.id = m.contact_id)",
        "SELECT count(*) AS n FROM contact_group_members g WHERE NOT EXISTS (SELECT 1 FROM contacts c WHERE c.id = g.contact_id)",
        "SELECT count(*) AS n FROM merge_records r WHERE NOT EXISTS (SELECT 1 FROM contacts c WHERE c.id = r.contact_id)",
        "SELECT count(*) AS n FROM conversations v WHERE v.contact_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM contacts c WHERE c.id = v.contact_id)",
        // Every merged-away id leads to a live contact.
        "SELECT count(*) AS n FROM contact_redirects r WHERE NOT EXISTS (SELECT 1 FROM contacts c WHERE c.id = r.contact_id)",
        // A (source, handle) is held once.
        "SELECT count(*) AS n FROM (SELECT source, handle FROM contact_handles GROUP BY source, handle HAVING count(*) > 1) d",
    ];
    for sql in orphans {
        assert_eq!(app.sql_count(sql).await, 0, "{sql}");
    }
    // And the change log tells each contact's story: replayed from
    // nothing, every history gives the contact as stored.
    crate::changes::every_history_replays_to_its_contact(&app).await;
}
