use serde_json::json;

use crate::common::TestApp;

/// A page that selects via, metadata and groupNames costs the page query plus
/// one query per relation, whatever its size (and one more: whether any API
/// token exists, as the request carries none).
#[tokio::test]
async fn a_page_costs_a_constant_number_of_statements() {
    let app = TestApp::new().await;
    for i in 0..50 {
        app.create(json!({
            "displayName": format!("Person {i}"),
            "groupNames": ["customers", format!("cohort-{}", i % 3)],
            "via": [
                { "source": "email", "handle": format!("p{i}@example.org") },
                { "source": "facebook", "handle": format!("fb-{i}") }
            ],
            "metadata": { "tier": i % 4, "crm": { "id": format!("c{i}") } }
        }))
        .await;
    }
    let query = "query($n: Int) { contacts(first: $n) { edges { node { id displayName via { source handle } metadata groupNames } } } }";
    let mut counts = Vec::new();
    for n in [1, 5, 50] {
        app.take_statement_count();
        let data = app.data(query, json!({ "n": n })).await;
        assert_eq!(data["contacts"]["edges"].as_array().unwrap().len(), n);
        assert_eq!(
            data["contacts"]["edges"][0]["node"]["via"]
                .as_array()
                .unwrap()
                .len(),
            2
        );
        counts.push(app.take_statement_count());
    }
    println!("statements per page of 1, 5, 50 contacts: {counts:?}");
    assert_eq!(
        counts,
        [5, 5, 5],
        "token check + page query + via + metadata + groupNames"
    );
}

/// A create with two handles costs one statement per step it needs: the
/// token check, the contact row, the handles' owners, the handles, the log
/// entry. No row is read back after it is written (SeaORM does that with a
/// second statement unless told to use RETURNING), on either database.
#[tokio::test]
async fn a_create_costs_one_statement_per_step() {
    let app = TestApp::new().await;
    let mutation = "mutation($input: CreateContactInput!) { createContact(input: $input) { id } }";
    let mut counts = Vec::new();
    for i in 0..3 {
        let input = json!({
            "displayName": format!("Person {i}"),
            "via": [
                { "source": "email", "handle": format!("p{i}@example.org") },
                { "source": "phone", "handle": format!("+1 415 555 01{i:02}") }
            ]
        });
        app.take_statement_count();
        app.data(mutation, json!({ "input": input })).await;
        counts.push(app.take_statement_count());
    }
    assert_eq!(
        counts,
        [5, 5, 5],
        "token check + contact + handles' owners + handles + log entry"
    );
}
