//! Names the variable behind a refused argument. async-graphql reports a
//! variable whose value does not fit its argument as "Invalid value for
//! argument \"first\"" (and "Expected input type ..." at the field): the
//! client sent a bad *variable*, so the error names `variables.NAME`, the
//! place in the request body to fix.

use async_graphql::parser::types::{ExecutableDocument, Field, Selection, SelectionSet};
use async_graphql::{Pos, Response};

/// Rewrites request errors at an argument (or at a field with one variable
/// among its arguments) whose value is a variable to name the variable.
/// Parses `query` again only when such an error is there (a rare path).
pub fn name_variables(query: &str, response: &mut Response) {
    let suspect = |message: &str| {
        message.starts_with("Invalid value for argument")
            || message.starts_with("Expected input type")
    };
    if !response
        .errors
        .iter()
        .any(|e| e.path.is_empty() && suspect(&e.message))
    {
        return;
    }
    let Ok(doc) = async_graphql::parser::parse_query(query) else {
        return;
    };
    let uses = variable_uses(&doc);
    for error in &mut response.errors {
        if !error.path.is_empty() || !suspect(&error.message) {
            continue;
        }
        let Some(name) = error
            .locations
            .first()
            .and_then(|at| uses.iter().find(|(pos, _)| pos == at))
            .map(|(_, name)| name.clone())
        else {
            continue;
        };
        let field = format!("variables.{name}");
        error.message = format!("{field}: {}", error.message);
        error
            .extensions
            .get_or_insert_with(Default::default)
            .set("field", field);
    }
}

/// Where a variable stands in for an argument: the argument's position,
/// and its field's when the field takes only that one variable.
fn variable_uses(doc: &ExecutableDocument) -> Vec<(Pos, String)> {
    let mut uses = Vec::new();
    for (_, op) in doc.operations.iter() {
        walk(&op.node.selection_set.node, &mut uses);
    }
    for fragment in doc.fragments.values() {
        walk(&fragment.node.selection_set.node, &mut uses);
    }
    uses
}

fn walk(set: &SelectionSet, uses: &mut Vec<(Pos, String)>) {
    for selection in &set.items {
        match &selection.node {
            Selection::Field(field) => {
                field_uses(&field.node, field.pos, uses);
                walk(&field.node.selection_set.node, uses);
            }
            Selection::InlineFragment(fragment) => walk(&fragment.node.selection_set.node, uses),
            Selection::FragmentSpread(_) => {}
        }
    }
}

fn field_uses(field: &Field, at: Pos, uses: &mut Vec<(Pos, String)>) {
    let mut in_field = Vec::new();
    for (name, value) in &field.arguments {
        let mut names = Vec::new();
        variables_in(&value.node, &mut names);
        if let [only] = names.as_slice() {
            uses.push((name.pos, only.clone()));
        }
        in_field.extend(names);
    }
    if let [only] = in_field.as_slice() {
        uses.push((at, only.clone()));
    }
}

/// The variables a value is made of (`$n`, or inside a list or object).
fn variables_in(value: &async_graphql_value::Value, names: &mut Vec<String>) {
    match value {
        async_graphql_value::Value::Variable(name) => names.push(name.to_string()),
        async_graphql_value::Value::List(items) => {
            for item in items {
                variables_in(item, names);
            }
        }
        async_graphql_value::Value::Object(fields) => {
            for item in fields.values() {
                variables_in(item, names);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_graphql::{ServerError, Value};

    fn error_at(message: &str, line: usize, column: usize) -> ServerError {
        ServerError::new(message, Some(Pos { line, column }))
    }

    #[test]
    fn a_refused_argument_names_its_variable() {
        let query = "query($n: Int, $f: ContactFilter) { contacts(first: $n, filter: $f) { totalCount } a: contacts(filter: { search: $s }) { totalCount } }";
        let mut response = Response::from_errors(vec![
            // `first` (column 46), `filter` (column 57), the alias's `filter`.
            error_at(
                "Invalid value for argument \"first\", expected type \"Int\"",
                1,
                46,
            ),
            error_at("Invalid value for argument \"filter\"", 1, 57),
            error_at("Invalid value for argument \"filter\"", 1, 96),
            error_at("Something else", 1, 46),
        ]);
        name_variables(query, &mut response);
        let field = |i: usize| {
            response.errors[i]
                .extensions
                .as_ref()
                .and_then(|e| e.get("field").cloned())
        };
        assert_eq!(field(0), Some(Value::from("variables.n")));
        assert_eq!(field(1), Some(Value::from("variables.f")));
        assert_eq!(field(2), Some(Value::from("variables.s")));
        assert_eq!(field(3), None);
        assert!(response.errors[0].message.starts_with("variables.n: "));
    }
}
