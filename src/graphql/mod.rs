//! The GraphQL schema: thin resolvers over the service layer.

pub mod access;
mod error_codes;
mod ids;
pub mod input;
pub mod loader;
mod mutation;
pub mod pagination;
mod query;
pub mod state;
mod subscription;
pub mod types;

use std::sync::Arc;

use async_graphql::{
    Data, Executor, MergedObject, MergedSubscription, Request, Response, SDLExportOptions, Schema,
    SchemaBuilder,
};
use futures_util::stream::{BoxStream, StreamExt};

pub use error_codes::server_error;
pub use state::GqlState;

#[derive(MergedObject, Default)]
pub struct Query(query::ContactQuery);

#[derive(MergedObject, Default)]
pub struct Mutation(
    mutation::ContactMutation,
    mutation::ConversationMutation,
    mutation::MergeMutation,
);

#[derive(MergedSubscription, Default)]
pub struct Subscription(subscription::ContactSubscription);

/// The schema the server executes. Errors get their contract codes here, once
/// per response: done in an async-graphql extension instead, every field's
/// resolver is wrapped in the extension chain, which profiling showed costs a
/// page of 50 contacts a measurable share of its CPU.
#[derive(Clone)]
pub struct AppSchema(Schema<Query, Mutation, Subscription>);

impl Executor for AppSchema {
    async fn execute(&self, request: Request) -> Response {
        let mut response = self.0.execute(request).await;
        error_codes::classify_all(&mut response);
        response
    }

    fn execute_stream(
        &self,
        request: Request,
        session_data: Option<Arc<Data>>,
    ) -> BoxStream<'static, Response> {
        self.0
            .execute_stream_with_session_data(request, session_data.unwrap_or_default())
            .map(|mut response| {
                error_codes::classify_all(&mut response);
                response
            })
            .boxed()
    }
}

/// Limits the schema enforces itself (LIMIT_EXCEEDED beyond them).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_depth: usize,
    pub max_complexity: usize,
    pub introspection: bool,
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
    AppSchema(
        builder
            .limit_depth(limits.max_depth)
            .limit_complexity(limits.max_complexity)
            .data(loader::DbLoader::new_loader(state.db.clone()))
            .data(state)
            .finish(),
    )
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
