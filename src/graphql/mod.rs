//! The GraphQL schema: thin resolvers over the service layer.

pub mod access;
pub mod bounds;
mod cost;
mod documents;
mod error_codes;
pub mod gate;
pub mod idempotent;
mod ids;
pub mod input;
pub mod loader;
mod mutation;
pub mod pagination;
mod persisted;
mod query;
pub mod state;
mod subscription;
pub mod types;
mod variables;

use std::any::TypeId;
use std::sync::Arc;
use std::time::Duration;

use async_graphql::parser::types::OperationType;
use async_graphql::{
    Data, Executor, MergedObject, MergedSubscription, Request, Response, SDLExportOptions, Schema,
    SchemaBuilder, ServerError,
};
use futures_util::stream::{self, BoxStream, StreamExt};

use crate::service::changes::{self, ChangeSource, Origin};
use access::Principal;
use bounds::DocumentBounds;
use gate::{Admitted, Gate, SessionPrincipal};
use idempotent::Idempotency;
use persisted::Persisted;

use crate::error::AppError;
use crate::service::idempotency::KeyPolicy;

/// Directives one field may carry: @skip and @include are all the schema
/// knows; a document of thousands of unknown ones would only make errors.
const MAX_DIRECTIVES_PER_FIELD: usize = 8;

pub use error_codes::server_error;
pub use state::GqlState;

/// What can be read: contacts (by id, selector or page), the change log,
/// and the values the schema accepts.
#[derive(MergedObject, Default)]
pub struct Query(
    query::ContactQuery,
    query::ChangeQuery,
    query::DuplicateQuery,
    query::MergeQuery,
    query::ImportJobQuery,
);

/// What can be written: each mutation is one transaction, retried on
/// contention, logged in the change log, and announced after its commit.
#[derive(MergedObject, Default)]
pub struct Mutation(
    mutation::ContactMutation,
    mutation::ConversationMutation,
    mutation::MergeMutation,
    mutation::DuplicateMutation,
    mutation::ImportFileMutation,
);

/// Live changes, over the WebSocket at /graphql/ws (graphql-transport-ws,
/// or the older graphql-ws protocol).
#[derive(MergedSubscription, Default)]
pub struct Subscription(
    subscription::ContactSubscription,
    subscription::ImportSubscription,
);

/// The schema the server executes, behind the gate every operation passes
/// (see gate.rs). Errors get their contract codes here, once per response:
/// done in an async-graphql extension instead, every field's resolver is
/// wrapped in the extension chain, which profiling showed costs a page of 50
/// contacts a measurable share of its CPU.
#[derive(Clone)]
pub struct AppSchema {
    schema: Schema<Query, Mutation, Subscription>,
    gate: Arc<Gate>,
    /// Runs mutations at most once per Idempotency-Key.
    keys: Idempotency,
    /// How long a query sent over a WebSocket may run (HTTP has its own
    /// clock, which also covers reading the body).
    request_timeout: Duration,
}

impl AppSchema {
    /// Checks `request` and names its caller; see [`Gate::admit`].
    pub async fn admit(
        &self,
        request: &mut Request,
        principal: Option<Principal>,
    ) -> Result<Admitted, ServerError> {
        self.gate
            .admit(request, principal)
            .await
            .map_err(|mut error| {
                error_codes::classify(&mut error);
                error
            })
    }

    /// Runs a request the gate admitted as `admitted`: a mutation under its
    /// idempotency key, if it has one.
    pub async fn execute_admitted(&self, request: Request, admitted: &Admitted) -> Response {
        let response = self.execute_as(request, admitted).await;
        self.gate.ran(admitted, &response);
        response
    }

    async fn execute_as(&self, request: Request, admitted: &Admitted) -> Response {
        if admitted.operation_type == Some(OperationType::Mutation) {
            // The change log names who wrote (the gate put the caller in).
            let actor = request
                .data
                .get(&TypeId::of::<Principal>())
                .and_then(|p| p.downcast_ref::<Principal>())
                .map_or_else(|| "visitor".into(), Principal::actor);
            let origin = Origin::new(actor, ChangeSource::Api);
            changes::with_origin(origin, self.keys.run(request, |r| self.execute_once(r))).await
        } else {
            self.execute_once(request).await
        }
    }

    async fn execute_once(&self, request: Request) -> Response {
        // Kept to name a bad variable in an error (variables.rs).
        let query = (!request.variables.is_empty()).then(|| request.query.clone());
        let mut response = self.schema.execute(request).await;
        error_codes::classify_all(&mut response);
        if let Some(query) = query {
            variables::name_variables(&query, &mut response);
        }
        response
    }
}

/// Whether execution began: the response has data, or an error raised at a
/// field (a field error that nulled the whole result carries its path). An
/// error without a path and no data: the request was refused before it ran
/// (parse, validation, variables, limits, the gate).
pub fn executed(response: &Response) -> bool {
    response.data != async_graphql::Value::Null
        || response.errors.is_empty()
        || response.errors.iter().any(|e| !e.path.is_empty())
}

/// Transports that run requests through async-graphql's own helpers (the
/// WebSocket protocols) reach the schema here: the gate comes first.
impl Executor for AppSchema {
    async fn execute(&self, mut request: Request) -> Response {
        let principal = request
            .data
            .get(&TypeId::of::<Principal>())
            .and_then(|p| p.downcast_ref::<Principal>())
            .cloned();
        match self.admit(&mut request, principal).await {
            Ok(admitted) => self.execute_admitted(request, &admitted).await,
            Err(error) => Response::from_errors(vec![error]),
        }
    }

    fn execute_stream(
        &self,
        mut request: Request,
        session_data: Option<Arc<Data>>,
    ) -> BoxStream<'static, Response> {
        let this = self.clone();
        let session = session_data.unwrap_or_default();
        stream::once(async move {
            let principal = match session_caller(&session).await {
                Ok(principal) => principal,
                Err(error) => return one_error(server_error(&error)),
            };
            let admitted = match this.admit(&mut request, principal).await {
                Ok(admitted) => admitted,
                Err(error) => return one_error(error),
            };
            if admitted.operation_type == Some(OperationType::Mutation) {
                // One answer, under its idempotency key; mutations read
                // nothing from the session (the gate put the caller in
                // the request's own data). In a task of its own, as over
                // HTTP: a client that goes away never cuts a mutation off
                // between its commit and the keeping of its response.
                let run = this.clone();
                let response =
                    tokio::spawn(async move { run.execute_admitted(request, &admitted).await })
                        .await
                        .unwrap_or_else(|panic| {
                            Response::from_errors(vec![server_error(&AppError::Internal(
                                anyhow::anyhow!("mutation task failed: {panic}"),
                            ))])
                        });
                return stream::once(std::future::ready(response)).boxed();
            }
            let responses = this
                .schema
                .execute_stream_with_session_data(request, session)
                .map(|mut response| {
                    error_codes::classify_all(&mut response);
                    response
                })
                .boxed();
            match admitted.operation_type {
                Some(OperationType::Query) => within(this.request_timeout, responses),
                // Mutations finish (as over HTTP); subscriptions last.
                _ => responses,
            }
        })
        .flatten()
        .boxed()
    }
}

/// The caller a WebSocket session names, asked again now; None when the
/// session names none (the gate then refuses).
async fn session_caller(session: &Data) -> Result<Option<Principal>, AppError> {
    let source = session
        .get(&TypeId::of::<SessionPrincipal>())
        .and_then(|s| s.downcast_ref::<SessionPrincipal>())
        .cloned();
    match source {
        Some(source) => source.0.current().await.map(Some),
        None => Ok(None),
    }
}

/// A query's one answer, or LIMIT_EXCEEDED once `limit` has passed.
fn within(
    limit: Duration,
    mut responses: BoxStream<'static, Response>,
) -> BoxStream<'static, Response> {
    stream::once(async move {
        match tokio::time::timeout(limit, responses.next()).await {
            Ok(Some(response)) => response,
            Ok(None) => Response::default(),
            Err(_) => Response::from_errors(vec![server_error(&AppError::LimitExceeded(format!(
                "the request took longer than {} s (--request-timeout)",
                limit.as_secs()
            )))]),
        }
    })
    .boxed()
}

fn one_error(error: ServerError) -> BoxStream<'static, Response> {
    stream::once(std::future::ready(Response::from_errors(vec![error]))).boxed()
}

/// Limits the schema enforces itself (LIMIT_EXCEEDED beyond them).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_depth: usize,
    pub max_complexity: usize,
    pub introspection: bool,
    /// Only registered documents run (see persisted.rs).
    pub trusted_documents: bool,
    pub bounds: DocumentBounds,
    pub request_timeout: Duration,
    pub idempotency: KeyPolicy,
}

/// The schema's shape, without any data: what `export-schema` prints.
pub fn schema_builder() -> SchemaBuilder<Query, Mutation, Subscription> {
    Schema::build(
        Query::default(),
        Mutation::default(),
        Subscription::default(),
    )
}

/// The schema the server executes.
pub fn build_schema(state: GqlState, limits: Limits) -> AppSchema {
    let mut builder = schema_builder();
    if !limits.introspection {
        builder = builder.disable_introspection();
    }
    AppSchema {
        schema: builder
            .limit_depth(limits.max_depth)
            .limit_complexity(limits.max_complexity)
            .limit_directives(MAX_DIRECTIVES_PER_FIELD)
            .data(loader::DbLoader::new_loader(state.db.clone()))
            .data(state.clone())
            .finish(),
        gate: Arc::new(Gate::new(
            limits.bounds,
            limits.introspection,
            Persisted::new(state.db.clone(), limits.trusted_documents),
        )),
        keys: Idempotency {
            db: state.db.clone(),
            policy: limits.idempotency,
        },
        request_timeout: limits.request_timeout,
    }
}

/// The schema as SDL, fields, arguments and enum values sorted, so that the
/// committed schema.graphql changes only when the schema does.
pub fn sdl() -> String {
    schema_builder().finish().sdl_with_options(
        SDLExportOptions::new()
            .sorted_fields()
            .sorted_arguments()
            .sorted_enum_items(),
    )
}
