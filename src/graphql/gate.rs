//! What every operation passes before it runs, whatever carried it (HTTP,
//! either WebSocket protocol, anything added later): the document's size and
//! expansion bounds, the caller's scope, introspection. The transports only
//! say who the caller is; the decision is made here, once.

use std::sync::Arc;

use async_graphql::parser::types::{ExecutableDocument, OperationType};
use async_graphql::{Request, ServerError};

use super::access::{self, Principal};
use super::bounds::DocumentBounds;
use super::documents::Documents;
use super::persisted::{Learnt, Persisted};
use super::state::RequestSlots;
use crate::domain::numbers;
use crate::error::AppError;
use crate::graphql::server_error;

/// Documents longer than this are parsed on a blocking thread, so that a
/// large one never holds up an async worker (and its other requests).
const PARSE_INLINE_BYTES: usize = 16 * 1024;

/// A WebSocket's caller, asked again before each operation: a token revoked
/// while the socket is open stops starting operations. Put in the session's
/// data by the transport.
#[async_trait::async_trait]
pub trait PrincipalSource: Send + Sync {
    async fn current(&self) -> Result<Principal, AppError>;
}

/// The session data entry holding a [`PrincipalSource`].
#[derive(Clone)]
pub struct SessionPrincipal(pub Arc<dyn PrincipalSource>);

/// What the gate learnt about an admitted operation.
#[derive(Debug, Clone)]
pub struct Admitted {
    pub operation_type: Option<OperationType>,
    /// The operation's name, for metrics (the only one when unnamed).
    pub label: Option<String>,
    /// A persisted query's text to keep once the operation has run.
    pub learnt: Option<Learnt>,
}

pub struct Gate {
    documents: Documents,
    bounds: DocumentBounds,
    introspection: bool,
    persisted: Persisted,
}

impl Gate {
    /// After an admitted operation ran: keeps the persisted query it
    /// taught, if it taught one and was executed (not refused).
    pub fn ran(&self, admitted: &Admitted, response: &async_graphql::Response) {
        if let Some(learnt) = &admitted.learnt {
            if super::executed(response) {
                self.persisted.remember(learnt);
            }
        }
    }

    pub fn new(bounds: DocumentBounds, introspection: bool, persisted: Persisted) -> Self {
        Self {
            documents: Documents::default(),
            bounds,
            introspection,
            persisted,
        }
    }

    /// Parses `request` (or takes its document from the cache), checks it,
    /// and puts `principal` in its data for the resolvers. `None`: the
    /// transport named no caller, which is refused.
    pub async fn admit(
        &self,
        request: &mut Request,
        principal: Option<Principal>,
    ) -> Result<Admitted, ServerError> {
        let Some(principal) = principal else {
            return Err(server_error(&AppError::Unauthenticated(
                "no caller was identified for this operation".into(),
            )));
        };
        // A persisted query's text first: the bounds apply to it as sent.
        let learnt = self
            .persisted
            .resolve(request)
            .await
            .map_err(|e| server_error(&e))?;
        self.bounds
            .check_size(&request.query)
            .map_err(|e| server_error(&e))?;
        if !self.documents.prepare(request) {
            let doc = parse(&request.query).await?;
            self.bounds.check(&doc).map_err(|e| server_error(&e))?;
            self.documents.keep(&request.query, &doc);
            request.set_parsed_query(doc);
        }
        let name = request.operation_name.clone();
        // Lent out while the parsed document is borrowed; given back below
        // (an early return refuses the request, which then never runs).
        let variables = std::mem::take(&mut request.variables);
        let doc = request.parsed_query()?;
        access::authorize(&principal, doc, name.as_deref()).map_err(|e| server_error(&e))?;
        if let Some(missing) = access::missing_variable(doc, name.as_deref(), &variables) {
            return Err(server_error(&AppError::bad_input(
                format!("variables.{missing}"),
                format!("variables.{missing}: required by the operation and not given"),
            )));
        }
        // The schema answers such fields with null; say why instead.
        if !self.introspection && access::introspects(doc, name.as_deref()) {
            return Err(server_error(&AppError::BadUserInput {
                field: None,
                message: "introspection is disabled on this server (--disable-introspection)"
                    .into(),
            }));
        }
        let admitted = Admitted {
            operation_type: access::operation_type(doc, name.as_deref()),
            label: name.or_else(|| access::operation_label(doc)),
            learnt,
        };
        request.variables = variables;
        request.data.insert(principal);
        request.data.insert(RequestSlots::default());
        Ok(admitted)
    }
}

/// Parses a document; inline numbers that parsing would round become marked
/// strings first, refused by validation with their field (domain::numbers).
async fn parse(query: &str) -> Result<ExecutableDocument, ServerError> {
    let marked = numbers::mark_inexact_graphql(query);
    let query = marked.as_deref().unwrap_or(query);
    let parsed = if query.len() <= PARSE_INLINE_BYTES {
        async_graphql::parser::parse_query(query)
    } else {
        let query = query.to_owned();
        tokio::task::spawn_blocking(move || async_graphql::parser::parse_query(query))
            .await
            .map_err(|e| {
                server_error(&AppError::Internal(anyhow::anyhow!(
                    "parsing task failed: {e}"
                )))
            })?
    };
    parsed.map_err(ServerError::from)
}
