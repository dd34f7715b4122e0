use std::collections::BTreeMap;

use async_graphql::parser::parse_schema;
use async_graphql::parser::types::{TypeKind, TypeSystemDefinition};

/// The committed schema.graphql is what the code produces.
#[test]
fn committed_schema_is_current() {
    let committed = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/schema.graphql"))
        .expect("schema.graphql at the repository root");
    let generated = contacts_api::graphql::sdl();
    assert!(
        committed == generated,
        "schema.graphql is stale: run `cargo run -- export-schema -o schema.graphql` and commit it"
    );
}

/// type name -> member name -> signature ("field(arg: T): R", enum value, ...).
fn members(sdl: &str) -> BTreeMap<String, BTreeMap<String, String>> {
    let doc = parse_schema(sdl).expect("valid SDL");
    let mut out = BTreeMap::new();
    for def in doc.definitions {
        let TypeSystemDefinition::Type(t) = def else {
            continue;
        };
        let t = t.node;
        let mut m = BTreeMap::new();
        let kind = match &t.kind {
            TypeKind::Scalar => "scalar",
            TypeKind::Object(_) => "type",
            TypeKind::Interface(_) => "interface",
            TypeKind::Union(_) => "union",
            TypeKind::Enum(_) => "enum",
            TypeKind::InputObject(_) => "input",
        };
        m.insert(String::new(), kind.to_owned());
        match t.kind {
            TypeKind::Object(o) => {
                for i in o.implements {
                    m.insert(format!("implements {}", i.node), String::new());
                }
                for f in o.fields {
                    let f = f.node;
                    for a in &f.arguments {
                        let a = &a.node;
                        m.insert(
                            format!("{}({})", f.name.node, a.name.node),
                            a.ty.node.to_string(),
                        );
                    }
                    m.insert(f.name.node.to_string(), f.ty.node.to_string());
                }
            }
            TypeKind::Interface(o) => {
                for f in o.fields {
                    m.insert(f.node.name.node.to_string(), f.node.ty.node.to_string());
                }
            }
            TypeKind::Enum(e) => {
                for v in e.values {
                    m.insert(v.node.value.node.to_string(), String::new());
                }
            }
            TypeKind::InputObject(i) => {
                for f in i.fields {
                    let default = f
                        .node
                        .default_value
                        .map(|d| format!(" = {}", d.node))
                        .unwrap_or_default();
                    m.insert(
                        f.node.name.node.to_string(),
                        format!("{}{default}", f.node.ty.node),
                    );
                }
            }
            _ => {}
        }
        out.insert(t.name.node.to_string(), m);
    }
    out
}

#[test]
fn schema_contains_the_contract() {
    let contract_path = concat!(env!("CARGO_MANIFEST_DIR"), "/contract/contract.graphql");
    let contract = std::fs::read_to_string(contract_path).expect("contract/contract.graphql");
    // The shared contract, where it sits beside the checkout, is the source of truth.
    let shared = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/contract.graphql");
    if let Ok(upstream) = std::fs::read_to_string(shared) {
        assert_eq!(
            contract, upstream,
            "contract/contract.graphql differs from ../shared/contract.graphql: copy it over"
        );
    }
    let want = members(&contract);
    let have = members(&contacts_api::graphql::sdl());
    let mut missing = Vec::new();
    for (type_name, fields) in &want {
        let Some(ours) = have.get(type_name) else {
            missing.push(format!("type {type_name}"));
            continue;
        };
        for (member, signature) in fields {
            match ours.get(member) {
                Some(s) if s == signature => {}
                Some(s) => missing.push(format!(
                    "{type_name}.{member}: contract {signature:?}, schema {s:?}"
                )),
                None => missing.push(format!("{type_name}.{member}")),
            }
        }
    }
    assert!(
        missing.is_empty(),
        "schema.graphql lacks contract items:\n{}",
        missing.join("\n")
    );
}
