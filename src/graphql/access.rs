//! Who is calling, and whether they may run the operation they sent.

use async_graphql::parser::types::{
    DocumentOperations, ExecutableDocument, OperationType, Selection,
};

use std::sync::Arc;

use crate::domain::Scope;
use crate::error::AppError;

/// The caller of one request, put in the request's data by the HTTP layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// No token exists and the server may run open (loopback or
    /// --insecure-no-auth): anything goes.
    Open,
    /// A valid API token, with its name.
    Token(Scope, Arc<str>),
    /// No token: only createOrUpdateContact with a valid identifierHash,
    /// as a website widget identifying its visitor.
    Visitor,
}

impl Principal {
    /// Who the change log says made a change: the token's name, `visitor`
    /// or `open`.
    pub fn actor(&self) -> Arc<str> {
        match self {
            Self::Open => "open".into(),
            Self::Token(_, name) => name.clone(),
            Self::Visitor => "visitor".into(),
        }
    }
}

/// The single mutation a visitor may call.
pub const VISITOR_MUTATION: &str = "createOrUpdateContact";

/// The operation `name` selects in `doc` (the only one when unnamed).
pub fn operation_type(doc: &ExecutableDocument, name: Option<&str>) -> Option<OperationType> {
    operation(doc, name).map(|op| op.ty)
}

/// The name of the document's only operation, for metrics when the request
/// names none.
pub fn operation_label(doc: &ExecutableDocument) -> Option<String> {
    match &doc.operations {
        DocumentOperations::Multiple(ops) if ops.len() == 1 => {
            ops.keys().next().map(|n| n.to_string())
        }
        _ => None,
    }
}

fn operation<'a>(
    doc: &'a ExecutableDocument,
    name: Option<&str>,
) -> Option<&'a async_graphql::parser::types::OperationDefinition> {
    match (&doc.operations, name) {
        (DocumentOperations::Single(op), _) => Some(&op.node),
        (DocumentOperations::Multiple(ops), Some(name)) => ops.get(name).map(|op| &op.node),
        (DocumentOperations::Multiple(ops), None) if ops.len() == 1 => {
            ops.values().next().map(|op| &op.node)
        }
        (DocumentOperations::Multiple(_), None) => None,
    }
}

/// The first variable the selected operation requires (a non-null type
/// without a default) that `variables` does not carry, or carries as null:
/// a request error found before execution (GraphQL, "Coercing Variable
/// Values"), named `variables.NAME`. Values of the wrong type are left to
/// validation, which names them.
pub fn missing_variable(
    doc: &ExecutableDocument,
    name: Option<&str>,
    variables: &async_graphql::Variables,
) -> Option<String> {
    let op = operation(doc, name)?;
    op.variable_definitions
        .iter()
        .map(|definition| &definition.node)
        .find(|definition| {
            !definition.var_type.node.nullable
                && definition.default_value.is_none()
                && variables
                    .get(definition.name.node.as_str())
                    .is_none_or(|value| *value == async_graphql::Value::Null)
        })
        .map(|definition| definition.name.node.to_string())
}

/// Checks that `principal` may run the operation. An operation that cannot be
/// picked out is left for the executor to reject with its own message.
pub fn authorize(
    principal: &Principal,
    doc: &ExecutableDocument,
    name: Option<&str>,
) -> Result<(), AppError> {
    let Some(op) = operation(doc, name) else {
        return match principal {
            Principal::Visitor => Err(unauthenticated()),
            _ => Ok(()),
        };
    };
    let needed = match op.ty {
        OperationType::Mutation => Scope::Write,
        OperationType::Query | OperationType::Subscription => Scope::Read,
    };
    match principal {
        Principal::Open => Ok(()),
        Principal::Token(scope, _) if scope.allows(needed) => Ok(()),
        Principal::Token(scope, _) => Err(AppError::Forbidden(format!(
            "this token's scope is {}; {} need a {} token",
            scope.as_str(),
            if needed == Scope::Write {
                "mutations"
            } else {
                "queries"
            },
            needed.as_str()
        ))),
        Principal::Visitor => {
            // Exactly one plain root field: a fragment cannot smuggle in
            // another, and aliases cannot multiply the call (and so the
            // per-address rate) by twenty.
            let items = &op.selection_set.node.items;
            let visitor_only = op.ty == OperationType::Mutation
                && items.len() == 1
                && items.iter().all(|item| match &item.node {
                    Selection::Field(field) => field.node.name.node.as_str() == VISITOR_MUTATION,
                    _ => false,
                });
            if visitor_only {
                Ok(())
            } else {
                Err(unauthenticated())
            }
        }
    }
}

/// Whether the operation asks for __schema or __type at its root.
pub fn introspects(doc: &ExecutableDocument, name: Option<&str>) -> bool {
    operation(doc, name).is_some_and(|op| {
        op.selection_set
            .node
            .items
            .iter()
            .any(|item| match &item.node {
                Selection::Field(field) => {
                    matches!(field.node.name.node.as_str(), "__schema" | "__type")
                }
                _ => false,
            })
    })
}

fn unauthenticated() -> AppError {
    AppError::Unauthenticated(
        "missing API token: send Authorization: Bearer TOKEN (create one with `contacts-api token create`)"
            .into(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(source: &str) -> ExecutableDocument {
        async_graphql::parser::parse_query(source).unwrap()
    }

    #[test]
    fn scopes_gate_mutations() {
        let query = doc("{ contacts { totalCount } }");
        let mutation = doc("mutation { deleteContact(id: \"x\") }");
        let read = Principal::Token(Scope::Read, "r".into());
        assert!(authorize(&read, &query, None).is_ok());
        assert_eq!(
            authorize(&read, &mutation, None).unwrap_err().code(),
            "FORBIDDEN"
        );
        assert!(authorize(&Principal::Token(Scope::Write, "w".into()), &mutation, None).is_ok());
        assert!(authorize(&Principal::Open, &mutation, None).is_ok());
    }

    #[test]
    fn a_visitor_may_only_create_or_update() {
        let upsert = doc("mutation { createOrUpdateContact(input: {}) { created } }");
        assert!(authorize(&Principal::Visitor, &upsert, None).is_ok());
        for other in [
            "{ contacts { totalCount } }",
            "mutation { createOrUpdateContact(input: {}) { created } deleteContact(id: \"x\") }",
            "mutation { a: createOrUpdateContact(input: {}) { created } b: createOrUpdateContact(input: {}) { created } }",
            "mutation { __typename createOrUpdateContact(input: {}) { created } }",
            "mutation { ...F } fragment F on Mutation { deleteContact(id: \"x\") }",
        ] {
            let code = authorize(&Principal::Visitor, &doc(other), None)
                .unwrap_err()
                .code();
            assert_eq!(code, "UNAUTHENTICATED", "{other}");
        }
    }

    #[test]
    fn the_named_operation_is_the_one_checked() {
        let both =
            doc("query Q { contacts { totalCount } } mutation M { deleteContact(id: \"x\") }");
        let read = Principal::Token(Scope::Read, "r".into());
        assert!(authorize(&read, &both, Some("Q")).is_ok());
        assert!(authorize(&read, &both, Some("M")).is_err());
    }
}
