use contacts_api::service::changes::ChangeKind as EventKind;
use serde_json::{json, Value};

use crate::common::{s, TestApp, CONTACT_FIELDS};

fn merge_doc() -> String {
    format!("mutation($s: ID!, $d: ID!) {{ mergeContacts(sourceId: $s, destinationId: $d) {{ {CONTACT_FIELDS} }} }}")
}

async fn merge(app: &TestApp, source: &Value, destination: &Value) -> Value {
    app.data(
        &merge_doc(),
        json!({ "s": source["id"], "d": destination["id"] }),
    )
    .await["mergeContacts"]
        .clone()
}

async fn unmerge(app: &TestApp, record: &Value) -> Value {
    let doc =
        format!("mutation($r: ID!) {{ unmergeContact(mergeRecordId: $r) {{ {CONTACT_FIELDS} }} }}");
    app.data(&doc, json!({ "r": record })).await["unmergeContact"].clone()
}

async fn pair(app: &TestApp) -> (Value, Value) {
    let source = app
        .create(json!({
            "displayName": "Source Name",
            "title": "Engineer",
            "timezone": "Europe/Berlin",
            "externalId": "src-1",
            "groupNames": ["from-source", "shared"],
            "links": ["https://source.example.org"],
            "via": [{ "source": "email", "handle": "src@example.org" }, { "source": "phone", "handle": "+16172531000" }],
            "address": { "city": "Berlin", "country": "DE" },
            "conversations": [{ "id": "ea1cba21-2bd6-477c-9a40-59cd9bb96bef", "channel": "facebook" }],
            "metadata": { "crm": { "id": "s", "owner": "ann" }, "only_source": 1 }
        }))
        .await;
    let destination = app
        .create(json!({
            "displayName": "Dest Name",
            "groupNames": ["shared"],
            "via": [{ "source": "email", "handle": "dest@example.org" }],
            "address": { "city": "Paris" },
            "conversations": [{ "id": "8904adee-38b4-493b-a4d8-272e2e5a6815", "channel": "twilio.sms" }],
            "metadata": { "crm": { "id": "d" }, "only_dest": 2 }
        }))
        .await;
    (source, destination)
}

#[tokio::test]
async fn merge_keeps_destination_fills_gaps_and_unites_the_rest() {
    let app = TestApp::new().await;
    let (source, destination) = pair(&app).await;
    let merged = merge(&app, &source, &destination).await;
    assert_eq!(merged["id"], destination["id"]);
    assert_eq!(merged["displayName"], "Dest Name", "destination wins");
    assert_eq!(merged["title"], "Engineer", "absent fields are filled");
    assert_eq!(merged["timezone"], "Europe/Berlin");
    assert_eq!(merged["externalId"], "src-1");
    assert_eq!(merged["address"]["city"], "Paris");
    assert_eq!(merged["address"]["country"], "DE");
    assert_eq!(merged["groupNames"], json!(["from-source", "shared"]));
    assert_eq!(merged["links"], json!(["https://source.example.org"]));
    let via: Vec<&str> = merged["via"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| s(&h["handle"]))
        .collect();
    assert_eq!(via, ["dest@example.org", "src@example.org", "+16172531000"]);
    assert_eq!(merged["conversations"].as_array().unwrap().len(), 2);
    assert_eq!(
        merged["metadata"],
        json!({ "crm": { "id": "d", "owner": "ann" }, "only_dest": 2, "only_source": 1 })
    );

    let history = merged["mergeHistory"].as_array().unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(history[0]["sourceId"], source["id"]);
    let snapshot = &history[0]["snapshot"];
    assert_eq!(snapshot["displayName"], "Source Name");
    assert_eq!(snapshot["via"].as_array().unwrap().len(), 2);
    assert_eq!(snapshot["metadata"], source["metadata"]);
    assert_eq!(
        snapshot["conversations"][0]["id"],
        "ea1cba21-2bd6-477c-9a40-59cd9bb96bef"
    );

    // The source's id resolves to the destination; its handles find it too.
    assert_eq!(app.get(s(&source["id"])).await["id"], destination["id"]);
    let by_handle = app
        .data(
            "{ contact(handle: {source: \"phone\", handle: \"617 253 1000\"}) { id } }",
            json!({}),
        )
        .await;
    assert_eq!(by_handle["contact"]["id"], destination["id"]);
    let data = app.data("{ contacts { totalCount } }", json!({})).await;
    assert_eq!(data["contacts"]["totalCount"], 1);
}

#[tokio::test]
async fn merge_rejects_self_and_unknown_ids() {
    let app = TestApp::new().await;
    let (source, destination) = pair(&app).await;
    let (code, field, _) = app
        .error(
            &merge_doc(),
            json!({ "s": source["id"], "d": source["id"] }),
        )
        .await;
    assert_eq!(
        (code.as_str(), field.as_deref()),
        ("BAD_USER_INPUT", Some("destinationId"))
    );
    let unknown = "01900000-0000-7000-8000-000000000000";
    let (code, field, _) = app
        .error(
            &merge_doc(),
            json!({ "s": unknown, "d": destination["id"] }),
        )
        .await;
    assert_eq!(
        (code.as_str(), field.as_deref()),
        ("NOT_FOUND", Some("sourceId"))
    );
    let (code, field, _) = app
        .error(&merge_doc(), json!({ "s": source["id"], "d": unknown }))
        .await;
    assert_eq!(
        (code.as_str(), field.as_deref()),
        ("NOT_FOUND", Some("destinationId"))
    );
    merge(&app, &source, &destination).await;
    // Merging again what is already one contact.
    let (code, _, _) = app
        .error(
            &merge_doc(),
            json!({ "s": source["id"], "d": destination["id"] }),
        )
        .await;
    assert_eq!(code, "CONFLICT");
}

#[tokio::test]
async fn chains_resolve_to_the_last_destination() {
    let app = TestApp::new().await;
    let a = app.create(json!({ "displayName": "A", "via": [{ "source": "email", "handle": "a@example.org" }] })).await;
    let b = app.create(json!({ "displayName": "B" })).await;
    let c = app.create(json!({ "displayName": "C" })).await;
    merge(&app, &a, &b).await;
    let merged = merge(&app, &b, &c).await;
    assert_eq!(app.get(s(&a["id"])).await["id"], c["id"]);
    assert_eq!(app.get(s(&b["id"])).await["id"], c["id"]);
    let sources: Vec<&Value> = merged["mergeHistory"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| &r["sourceId"])
        .collect();
    assert_eq!(
        sources,
        [&a["id"], &b["id"]],
        "oldest first, the source's own history included"
    );
    // B's snapshot is B alone: A's record moved to C with it, not into it.
    let b_snapshot = &merged["mergeHistory"][1]["snapshot"];
    assert_eq!(b_snapshot["displayName"], "B");
    assert!(b_snapshot.get("mergeHistory").is_none(), "{b_snapshot}");
    // Merging by a merged-away id merges its destination.
    let d = app.create(json!({ "displayName": "D" })).await;
    let merged = app
        .data(&merge_doc(), json!({ "s": d["id"], "d": a["id"] }))
        .await;
    assert_eq!(merged["mergeContacts"]["id"], c["id"]);
}

#[tokio::test]
async fn unmerge_restores_the_source_and_clears_only_untouched_fills() {
    let app = TestApp::new().await;
    let (source, destination) = pair(&app).await;
    let merged = merge(&app, &source, &destination).await;
    // A later edit of a field the merge filled: it stays after the undo.
    app.update(json!({ "id": destination["id"], "title": "Edited later" }))
        .await;
    let record = merged["mergeHistory"][0]["id"].clone();
    let restored = unmerge(&app, &record).await;

    for field in [
        "id",
        "displayName",
        "title",
        "timezone",
        "externalId",
        "groupNames",
        "links",
        "via",
        "address",
        "metadata",
        "createdAt",
    ] {
        assert_eq!(restored[field], source[field], "{field}");
    }
    assert_eq!(restored["conversations"].as_array().unwrap().len(), 1);
    let dest = app.get(s(&destination["id"])).await;
    assert_eq!(dest["title"], "Edited later");
    assert_eq!(
        dest["timezone"],
        json!(null),
        "filled and untouched: cleared"
    );
    assert_eq!(dest["externalId"], json!(null));
    assert_eq!(dest["address"]["country"], json!(null));
    assert_eq!(dest["groupNames"], destination["groupNames"]);
    assert_eq!(dest["links"], destination["links"]);
    assert_eq!(dest["via"], destination["via"]);
    assert_eq!(dest["metadata"], destination["metadata"]);
    assert_eq!(dest["conversations"].as_array().unwrap().len(), 1);
    assert_eq!(dest["mergeHistory"], json!([]));
    assert_eq!(
        app.get(s(&source["id"])).await["id"],
        source["id"],
        "the old id is itself again"
    );

    let doc = "mutation($r: ID!) { unmergeContact(mergeRecordId: $r) { id } }";
    let (code, field, _) = app.error(doc, json!({ "r": record })).await;
    assert_eq!(
        (code.as_str(), field.as_deref()),
        ("NOT_FOUND", Some("mergeRecordId"))
    );
}

#[tokio::test]
async fn unmerging_the_middle_of_a_chain_gives_back_its_history() {
    let app = TestApp::new().await;
    let a = app.create(json!({ "displayName": "A" })).await;
    let b = app.create(json!({ "displayName": "B" })).await;
    let c = app.create(json!({ "displayName": "C" })).await;
    merge(&app, &a, &b).await;
    let merged = merge(&app, &b, &c).await;
    let restored_b = unmerge(&app, &merged["mergeHistory"][1]["id"]).await;
    assert_eq!(restored_b["id"], b["id"]);
    assert_eq!(restored_b["mergeHistory"][0]["sourceId"], a["id"]);
    assert_eq!(
        app.get(s(&a["id"])).await["id"],
        b["id"],
        "A resolves to B again"
    );
    assert_eq!(app.get(s(&c["id"])).await["mergeHistory"], json!([]));
}

/// A into B while B into A: one wins, the other fails, nothing is lost.
#[tokio::test]
async fn crossed_concurrent_merges_lose_nothing() {
    let app = TestApp::new().await;
    for round in 0..4 {
        let a = app
            .create(json!({ "via": [{ "source": "email", "handle": format!("a{round}@example.org") }],
                "conversations": [{ "id": uuid::Uuid::now_v7().to_string(), "channel": "facebook" }],
                "metadata": { "a": 1 } }))
            .await;
        let b = app
            .create(
                json!({ "via": [{ "source": "email", "handle": format!("b{round}@example.org") }],
                "conversations": [{ "id": uuid::Uuid::now_v7().to_string(), "channel": "sms" }],
                "metadata": { "b": 2 } }),
            )
            .await;
        let doc = merge_doc();
        let (one, two) = tokio::join!(
            app.gql(&doc, json!({ "s": a["id"], "d": b["id"] })),
            app.gql(&doc, json!({ "s": b["id"], "d": a["id"] }))
        );
        let ok: Vec<&Value> = [&one, &two]
            .into_iter()
            .filter(|r| r.get("errors").is_none())
            .collect();
        assert_eq!(ok.len(), 1, "{one:#} {two:#}");
        let failed = if one.get("errors").is_some() {
            &one
        } else {
            &two
        };
        let code = s(&failed["errors"][0]["extensions"]["code"]);
        assert!(code == "NOT_FOUND" || code == "CONFLICT", "{failed:#}");
        let survivor = &ok[0]["data"]["mergeContacts"];
        assert_eq!(survivor["via"].as_array().unwrap().len(), 2);
        assert_eq!(survivor["conversations"].as_array().unwrap().len(), 2);
        assert_eq!(survivor["metadata"], json!({ "a": 1, "b": 2 }));
    }
}

#[tokio::test]
async fn merges_publish_merged_events() {
    let app = TestApp::new().await;
    let (source, destination) = pair(&app).await;
    let mut rx = app
        .events
        .subscribe(std::time::Duration::from_secs(10))
        .await;
    merge(&app, &source, &destination).await;
    // On PostgreSQL the pair's CREATED events may still be on their way.
    let event = loop {
        let event = crate::common::next_bus_event(&mut rx).await;
        if event.kind != EventKind::Created {
            break event;
        }
    };
    assert_eq!(event.kind, EventKind::Merged);
    assert_eq!(event.contact_id.to_string(), s(&source["id"]));
    assert_eq!(
        event.merged_into_id.map(|i| i.to_string()).as_deref(),
        Some(s(&destination["id"]))
    );
}

#[tokio::test]
async fn writes_naming_a_merged_away_id_reach_the_destination() {
    let app = TestApp::new().await;
    let (source, destination) = pair(&app).await;
    merge(&app, &source, &destination).await;
    let conv = uuid::Uuid::now_v7().to_string();
    let linked = app
        .data(
            "mutation($i: LinkConversationInput!) { linkConversation(input: $i) { contact { id } } }",
            json!({ "i": { "conversationId": conv, "channel": "facebook", "contactId": source["id"] } }),
        )
        .await;
    assert_eq!(
        linked["linkConversation"]["contact"]["id"],
        destination["id"]
    );
    let upserted = app
        .data(
            "mutation($i: CreateOrUpdateContactInput!) { createOrUpdateContact(input: $i) { created contact { id title } } }",
            json!({ "i": { "id": source["id"], "title": "Via old id" } }),
        )
        .await;
    assert_eq!(upserted["createOrUpdateContact"]["created"], false);
    assert_eq!(
        upserted["createOrUpdateContact"]["contact"]["id"],
        destination["id"]
    );
}

/// A chain of 50 merges (each contact merged into the next, so each source
/// carries everything merged before it): every snapshot is about the size
/// of its source as it was (never its history), the history grows by one
/// record a merge, and undoing the chain gives every contact back exactly.
#[tokio::test]
async fn merge_chains_grow_linearly_and_unmerge_exactly() {
    let app = TestApp::new().await;
    let n = 51;
    let mut ids = Vec::new();
    let mut originals = Vec::new();
    for i in 0..n {
        let contact = app
            .create(json!({
                "displayName": format!("Chain {i}"),
                "via": [{ "source": "email", "handle": format!("chain{i}@example.org") }],
                "links": (0..20).map(|k| format!("https://example.org/{i}/{k}")).collect::<Vec<_>>(),
                "metadata": { "note": "x".repeat(1000), "i": i }
            }))
            .await;
        ids.push(s(&contact["id"]).to_owned());
        originals.push(contact);
    }
    let own = "id displayName via { source handle } links metadata groupNames conversations { id } address { city }";
    let mut records = Vec::new();
    let mut worst_ratio = 0f64;
    let (mut sources_total, mut snapshots_total) = (0usize, 0usize);
    for i in 0..n - 1 {
        let source = app
            .data(
                &format!("query($id: ID) {{ contact(id: $id) {{ {own} }} }}"),
                json!({ "id": ids[i] }),
            )
            .await;
        let source_size = source["contact"].to_string().len();
        let merged = app
            .data(
                "mutation($s: ID!, $d: ID!) { mergeContacts(sourceId: $s, destinationId: $d) { mergeHistory { id sourceId snapshot } } }",
                json!({ "s": ids[i], "d": ids[i + 1] }),
            )
            .await;
        let history = merged["mergeContacts"]["mergeHistory"].as_array().unwrap();
        assert_eq!(history.len(), i + 1, "one record a merge");
        let record = history
            .iter()
            .find(|r| r["sourceId"] == json!(ids[i]))
            .unwrap();
        let snapshot_size = record["snapshot"].to_string().len();
        assert!(
            record["snapshot"].get("mergeHistory").is_none(),
            "a snapshot holds no history"
        );
        worst_ratio = worst_ratio.max(snapshot_size as f64 / source_size as f64);
        sources_total += source_size;
        snapshots_total += snapshot_size;
        records.push(s(&record["id"]).to_owned());
    }
    eprintln!(
        "50 merges: snapshots {snapshots_total} B in all for sources of {sources_total} B; worst snapshot/source {worst_ratio:.2}"
    );
    assert!(worst_ratio < 2.0, "{worst_ratio}");
    assert!(snapshots_total < 2 * sources_total);

    // Undo the chain from the last merge back: each contact comes back whole.
    for i in (0..n - 1).rev() {
        app.data(
            "mutation($r: ID!) { unmergeContact(mergeRecordId: $r) { id } }",
            json!({ "r": records[i] }),
        )
        .await;
    }
    for (i, original) in originals.iter().enumerate() {
        let back = app.get(&ids[i]).await;
        for field in [
            "displayName",
            "via",
            "links",
            "metadata",
            "externalId",
            "createdAt",
        ] {
            assert_eq!(back[field], original[field], "contact {i}, {field}");
        }
        assert_eq!(back["mergeHistory"], json!([]), "contact {i}");
    }
}
