use async_graphql::ID;
use uuid::Uuid;

use crate::error::AppError;

/// Parses a GraphQL ID argument; `field` names it in the error.
pub fn parse_uuid(field: &str, id: &ID) -> Result<Uuid, AppError> {
    Uuid::parse_str(id.0.trim())
        .map_err(|_| AppError::bad_input(field, format!("{field}: {:?} is not a UUID", id.0)))
}
