//! Merges of several sources with field choices, their exact undoing, and
//! the preview that runs the same merge and keeps nothing.

use serde_json::{json, Value};

use crate::common::{s, TestApp, CONTACT_FIELDS};

fn merge_doc() -> String {
    format!(
        "mutation($s: ID!, $d: ID!, $more: [ID!], $choices: [FieldChoiceInput!]) {{
          mergeContacts(sourceId: $s, destinationId: $d, additionalSourceIds: $more, fieldChoices: $choices) {{ {CONTACT_FIELDS} }} }}"
    )
}

fn preview_doc() -> String {
    format!(
        "query($s: [ID!]!, $d: ID!, $choices: [FieldChoiceInput!]) {{
          mergePreview(sourceIds: $s, destinationId: $d, fieldChoices: $choices) {{
            wouldSucceed problems {{ code field message }}
            sources {{ sourceId handles {{ source handle }} conversationIds groupNames links metadataKeys filledFields chosenFields }}
            contact {{ {CONTACT_FIELDS} }} }} }}"
    )
}

const CHANGE_COUNT: &str = "{ contactChanges(first: 1000) { edges { node { kind contactId } } } }";

async fn unmerge(app: &TestApp, record: &str) -> Value {
    let doc =
        format!("mutation($r: ID!) {{ unmergeContact(mergeRecordId: $r) {{ {CONTACT_FIELDS} }} }}");
    app.data(&doc, json!({ "r": record })).await["unmergeContact"].clone()
}

/// A destination and three sources, each with something of its own.
async fn four(app: &TestApp) -> (Value, [Value; 3]) {
    let destination = app
        .create(json!({
            "displayName": "Ana Souza", "title": "Buyer",
            "via": [{ "source": "email", "handle": "ana@example.org" }],
            "groupNames": ["customers"], "metadata": { "tier": "gold" }
        }))
        .await;
    let a = app
        .create(json!({
            "displayName": "Ana S.", "title": "Head of Purchasing",
            "via": [{ "source": "phone", "handle": "+5511987654321" }],
            "address": { "city": "São Paulo" },
            "conversations": [{ "id": "0f8fad5b-d9cb-469f-a165-70867728950e", "channel": "whatsapp" }]
        }))
        .await;
    let b = app
        .create(json!({
            "displayName": "Ana Souza Lima", "timezone": "America/Sao_Paulo",
            "via": [{ "source": "email", "handle": "ana.lima@example.com" }],
            "groupNames": ["newsletter"], "links": ["https://ana.example.com"],
            "metadata": { "crm": { "id": "b-7" } }
        }))
        .await;
    let c = app
        .create(json!({
            "displayName": "A. Souza", "organizationName": "Lima & Filhos",
            "externalId": "crm-ana-c", "contactType": "lead"
        }))
        .await;
    (destination, [a, b, c])
}

fn records(contact: &Value) -> Vec<(String, String)> {
    contact["mergeHistory"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (s(&r["sourceId"]).to_owned(), s(&r["id"]).to_owned()))
        .collect()
}

#[tokio::test]
async fn several_sources_merge_in_one_call_with_chosen_fields_and_unmerge_one_by_one() {
    let app = TestApp::new().await;
    let (d, [a, b, c]) = four(&app).await;
    let before_log = app.data(CHANGE_COUNT, json!({})).await["contactChanges"]["edges"]
        .as_array()
        .unwrap()
        .len();
    let merged = app
        .data(
            &merge_doc(),
            json!({
                "s": a["id"], "d": d["id"], "more": [b["id"], c["id"]],
                "choices": [
                    { "field": "title", "fromContactId": a["id"] },
                    { "field": "displayName", "fromContactId": b["id"] },
                    { "field": "contactType", "fromContactId": c["id"] },
                    { "field": "externalId", "fromContactId": c["id"] },
                    // The destination's own (empty) value wins over every fill.
                    { "field": "timezone", "fromContactId": d["id"] }
                ]
            }),
        )
        .await["mergeContacts"]
        .clone();
    assert_eq!(merged["id"], d["id"]);
    assert_eq!(merged["title"], "Head of Purchasing");
    assert_eq!(merged["displayName"], "Ana Souza Lima");
    assert_eq!(merged["contactType"], "lead");
    assert_eq!(merged["externalId"], "crm-ana-c");
    assert_eq!(
        merged["timezone"],
        Value::Null,
        "chosen from the destination"
    );
    assert_eq!(merged["address"]["city"], "São Paulo", "filled, not chosen");
    assert_eq!(merged["organizationName"], "Lima & Filhos");
    let handles: Vec<&str> = merged["via"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| s(&h["handle"]))
        .collect();
    assert_eq!(
        handles,
        ["ana@example.org", "+5511987654321", "ana.lima@example.com"]
    );
    assert_eq!(merged["groupNames"], json!(["customers", "newsletter"]));
    assert_eq!(
        merged["metadata"],
        json!({ "tier": "gold", "crm": { "id": "b-7" } })
    );
    let history = records(&merged);
    let sources: Vec<&str> = history.iter().map(|(s, _)| s.as_str()).collect();
    assert_eq!(
        sources,
        [s(&a["id"]), s(&b["id"]), s(&c["id"])],
        "one record per source"
    );
    // The log: one MERGED per source, one UPDATED for the destination.
    let log = app.data(CHANGE_COUNT, json!({})).await["contactChanges"]["edges"]
        .as_array()
        .unwrap()[before_log..]
        .iter()
        .map(|e| {
            (
                s(&e["node"]["kind"]).to_owned(),
                s(&e["node"]["contactId"]).to_owned(),
            )
        })
        .collect::<Vec<_>>();
    assert_eq!(
        log,
        [
            ("MERGED".to_owned(), s(&a["id"]).to_owned()),
            ("MERGED".to_owned(), s(&b["id"]).to_owned()),
            ("MERGED".to_owned(), s(&c["id"]).to_owned()),
            ("UPDATED".to_owned(), s(&d["id"]).to_owned()),
        ]
    );
    // The merged-away ids resolve to the destination.
    for x in [&a, &b, &c] {
        assert_eq!(app.get(s(&x["id"])).await["id"], d["id"]);
    }

    // Unmerge b (the middle source): it comes back whole; the name it
    // chose goes back to the destination's own.
    let back_b = unmerge(&app, &history[1].1).await;
    assert_eq!(back_b["displayName"], "Ana Souza Lima");
    assert_eq!(back_b["groupNames"], json!(["newsletter"]));
    assert_eq!(back_b["links"], json!(["https://ana.example.com"]));
    let now = app.get(s(&d["id"])).await;
    assert_eq!(
        now["displayName"], "Ana Souza",
        "the replaced value is back"
    );
    assert_eq!(now["title"], "Head of Purchasing", "a's choice stays");
    assert_eq!(now["metadata"], json!({ "tier": "gold" }));
    assert_eq!(now["groupNames"], json!(["customers"]));

    // Someone changes the title a chose; unmerging a leaves it alone.
    app.update(json!({ "id": d["id"], "title": "CFO" })).await;
    let back_a = unmerge(&app, &history[0].1).await;
    assert_eq!(back_a["title"], "Head of Purchasing");
    assert_eq!(back_a["via"][0]["handle"], "+5511987654321");
    assert_eq!(
        back_a["conversations"][0]["id"],
        "0f8fad5b-d9cb-469f-a165-70867728950e"
    );
    let now = app.get(s(&d["id"])).await;
    assert_eq!(now["title"], "CFO", "changed since: kept");
    assert_eq!(now["address"], Value::Null, "a's fill is taken back");

    // Unmerging c gives its externalId and type back; the destination's
    // replaced values return.
    let back_c = unmerge(&app, &history[2].1).await;
    assert_eq!(back_c["externalId"], "crm-ana-c");
    assert_eq!(back_c["contactType"], "lead");
    let now = app.get(s(&d["id"])).await;
    assert_eq!(now["externalId"], Value::Null);
    assert_eq!(now["contactType"], d["contactType"]);
    assert_eq!(now["organizationName"], Value::Null);
    assert_eq!(records(&now), Vec::<(String, String)>::new());
}

#[tokio::test]
async fn bad_merge_arguments_name_their_field_and_change_nothing() {
    let app = TestApp::new().await;
    let (d, [a, b, c]) = four(&app).await;
    let cases = [
        (
            json!({ "s": a["id"], "d": d["id"], "more": [b["id"], a["id"]] }),
            "BAD_USER_INPUT",
            "additionalSourceIds.1",
        ),
        (
            json!({ "s": a["id"], "d": d["id"], "more": [d["id"]] }),
            "BAD_USER_INPUT",
            "additionalSourceIds.0",
        ),
        (
            json!({ "s": a["id"], "d": d["id"], "more": ["not-a-uuid"] }),
            "BAD_USER_INPUT",
            "additionalSourceIds.0",
        ),
        (
            json!({ "s": a["id"], "d": d["id"], "choices": [{ "field": "via", "fromContactId": a["id"] }] }),
            "BAD_USER_INPUT",
            "fieldChoices.0.field",
        ),
        (
            json!({ "s": a["id"], "d": d["id"], "choices": [{ "field": "title", "fromContactId": a["id"] }, { "field": "title", "fromContactId": d["id"] }] }),
            "BAD_USER_INPUT",
            "fieldChoices.1.field",
        ),
        (
            json!({ "s": a["id"], "d": d["id"], "choices": [{ "field": "title", "fromContactId": c["id"] }] }),
            "BAD_USER_INPUT",
            "fieldChoices.0.fromContactId",
        ),
        (
            json!({ "s": a["id"], "d": d["id"], "more": ["01900000-0000-7000-8000-000000000000"] }),
            "NOT_FOUND",
            "additionalSourceIds.0",
        ),
    ];
    for (variables, code, field) in cases {
        let (got_code, got_field, message) = app.error(&merge_doc(), variables.clone()).await;
        assert_eq!(
            (got_code.as_str(), got_field.as_deref()),
            (code, Some(field)),
            "{variables} {message}"
        );
    }
    let too_many: Vec<String> = (0..50)
        .map(|i| format!("01900000-0000-7000-8000-{i:012}"))
        .collect();
    let (code, field, _) = app
        .error(
            &merge_doc(),
            json!({ "s": a["id"], "d": d["id"], "more": too_many }),
        )
        .await;
    assert_eq!(
        (code.as_str(), field.as_deref()),
        ("LIMIT_EXCEEDED", Some("additionalSourceIds"))
    );
    // Counted before each entry is read: 100,000 (malformed) ids are
    // refused at once, as are more choices than fields.
    let huge: Vec<String> = (0..100_000).map(|i| format!("x{i}")).collect();
    let (code, field, _) = app
        .error(
            &merge_doc(),
            json!({ "s": a["id"], "d": d["id"], "more": huge }),
        )
        .await;
    assert_eq!(
        (code.as_str(), field.as_deref()),
        ("LIMIT_EXCEEDED", Some("additionalSourceIds"))
    );
    let choices: Vec<Value> = (0..19)
        .map(|_| json!({ "field": "title", "fromContactId": a["id"] }))
        .collect();
    let (code, field, _) = app
        .error(
            &merge_doc(),
            json!({ "s": a["id"], "d": d["id"], "choices": choices }),
        )
        .await;
    assert_eq!(
        (code.as_str(), field.as_deref()),
        ("LIMIT_EXCEEDED", Some("fieldChoices"))
    );
    // Nothing moved: every contact is still there, unmerged.
    for x in [&d, &a, &b, &c] {
        let now = app.get(s(&x["id"])).await;
        assert_eq!(now["id"], x["id"]);
        assert_eq!(now["mergeHistory"], json!([]));
    }
    // Two ids of one contact (b merged into d before): CONFLICT naming it.
    app.data(&merge_doc(), json!({ "s": b["id"], "d": d["id"] }))
        .await;
    let (code, field, _) = app
        .error(
            &merge_doc(),
            json!({ "s": a["id"], "d": d["id"], "more": [c["id"], b["id"]] }),
        )
        .await;
    assert_eq!(
        (code.as_str(), field.as_deref()),
        ("CONFLICT", Some("additionalSourceIds.1"))
    );
    assert_eq!(
        app.get(s(&a["id"])).await["id"],
        a["id"],
        "a was not merged"
    );
}

/// What a contact shows, without what a merge makes anew each time.
fn comparable(contact: &Value) -> Value {
    let mut c = contact.clone();
    c.as_object_mut().unwrap().remove("updatedAt");
    for r in c["mergeHistory"].as_array_mut().unwrap() {
        let r = r.as_object_mut().unwrap();
        r.remove("id");
        r.remove("mergedAt");
    }
    c
}

#[tokio::test]
async fn a_preview_shows_the_merge_and_keeps_nothing() {
    let app = TestApp::new().await;
    let (d, [a, b, c]) = four(&app).await;
    let choices = json!([{ "field": "title", "fromContactId": a["id"] }]);
    let log_before = app.data(CHANGE_COUNT, json!({})).await;
    let preview = app
        .data(
            &preview_doc(),
            json!({ "s": [a["id"], b["id"], c["id"]], "d": d["id"], "choices": choices }),
        )
        .await["mergePreview"]
        .clone();
    assert_eq!(preview["wouldSucceed"], true, "{preview:#}");
    assert_eq!(preview["problems"], json!([]));
    let sources = preview["sources"].as_array().unwrap();
    assert_eq!(sources.len(), 3);
    assert_eq!(
        sources[0]["handles"],
        json!([{ "source": "phone", "handle": "+5511987654321" }])
    );
    assert_eq!(
        sources[0]["conversationIds"],
        json!(["0f8fad5b-d9cb-469f-a165-70867728950e"])
    );
    assert_eq!(sources[0]["chosenFields"], json!(["title"]));
    assert_eq!(sources[0]["filledFields"], json!(["address.city"]));
    assert_eq!(sources[1]["groupNames"], json!(["newsletter"]));
    assert_eq!(sources[1]["metadataKeys"], json!(["crm"]));
    assert_eq!(sources[1]["links"], json!(["https://ana.example.com"]));
    // Nothing was kept: the contacts, the log.
    assert_eq!(app.data(CHANGE_COUNT, json!({})).await, log_before);
    for x in [&d, &a, &b, &c] {
        assert_eq!(comparable(&app.get(s(&x["id"])).await), comparable(x));
    }
    // The merge itself gives what the preview showed.
    let merged = app
        .data(
            &merge_doc(),
            json!({ "s": a["id"], "d": d["id"], "more": [b["id"], c["id"]], "choices": choices }),
        )
        .await["mergeContacts"]
        .clone();
    assert_eq!(comparable(&merged), comparable(&preview["contact"]));
}

#[tokio::test]
async fn a_preview_predicts_the_conflict_and_lists_every_argument_problem() {
    let app = TestApp::new().await;
    let (d, [a, b, _]) = four(&app).await;
    app.data(&merge_doc(), json!({ "s": b["id"], "d": d["id"] }))
        .await;
    // b is part of d now: merging it again is the merge's CONFLICT.
    let preview = app
        .data(
            &preview_doc(),
            json!({ "s": [a["id"], b["id"]], "d": d["id"] }),
        )
        .await["mergePreview"]
        .clone();
    assert_eq!(preview["wouldSucceed"], false);
    assert_eq!(preview["contact"], Value::Null);
    assert_eq!(preview["problems"][0]["code"], "CONFLICT");
    assert_eq!(preview["problems"][0]["field"], "sourceIds.1");
    let (code, field, _) = app
        .error(
            &merge_doc(),
            json!({ "s": a["id"], "d": d["id"], "more": [b["id"]] }),
        )
        .await;
    assert_eq!(
        (code.as_str(), field.as_deref()),
        ("CONFLICT", Some("additionalSourceIds.0"))
    );
    // Every argument problem at once.
    let preview = app
        .data(
            &preview_doc(),
            json!({ "s": [a["id"], a["id"], d["id"]], "d": d["id"],
                    "choices": [{ "field": "nickname", "fromContactId": a["id"] }] }),
        )
        .await["mergePreview"]
        .clone();
    let fields: Vec<&str> = preview["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| s(&p["field"]))
        .collect();
    assert_eq!(
        fields,
        ["sourceIds.1", "sourceIds.2", "fieldChoices.0.field"]
    );
    let preview = app
        .data(&preview_doc(), json!({ "s": [], "d": d["id"] }))
        .await["mergePreview"]
        .clone();
    assert_eq!(preview["problems"][0]["field"], "sourceIds");
    assert_eq!(app.get(s(&a["id"])).await["id"], a["id"]);
}

#[tokio::test]
async fn an_external_id_taken_since_is_not_put_back_and_the_unmerge_goes_through() {
    let app = TestApp::new().await;
    let x = app
        .create(json!({ "displayName": "X", "externalId": "ext-x" }))
        .await;
    let y = app
        .create(json!({ "displayName": "Y", "externalId": "ext-y" }))
        .await;
    let merged = app
        .data(
            &merge_doc(),
            json!({ "s": y["id"], "d": x["id"], "choices": [{ "field": "externalId", "fromContactId": y["id"] }] }),
        )
        .await["mergeContacts"]
        .clone();
    assert_eq!(merged["externalId"], "ext-y");
    // The value x gave up is taken by another contact meanwhile.
    app.create(json!({ "displayName": "thief", "externalId": "ext-x" }))
        .await;
    let back = unmerge(&app, s(&merged["mergeHistory"][0]["id"])).await;
    assert_eq!(back["externalId"], "ext-y", "y gets its own back");
    let x_now = app.get(s(&x["id"])).await;
    assert_eq!(
        x_now["externalId"],
        Value::Null,
        "ext-x belongs to another now"
    );
}
