//! API tokens in the database.

use entity::api_token;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter,
    QueryOrder, QuerySelect,
};

use super::now;
use crate::domain::token::{self, Scope};
use crate::error::{AppError, AppResult};

/// Longest token name.
const MAX_NAME_CHARS: usize = 100;

/// Creates a token; returns the only copy of it there will ever be.
pub async fn create<C: ConnectionTrait>(conn: &C, name: &str, scope: Scope) -> AppResult<String> {
    let name = name.trim();
    if name.is_empty() {
        return Err(AppError::bad_input("name", "name: must not be empty"));
    }
    // Names are printed one per line by `token list`: a control character
    // could forge a line there.
    if name.chars().count() > MAX_NAME_CHARS || name.chars().any(char::is_control) {
        return Err(AppError::bad_input(
            "name",
            format!("name: at most {MAX_NAME_CHARS} characters, none of them control characters"),
        ));
    }
    let new = token::generate()
        .map_err(|e| AppError::Internal(anyhow::anyhow!("no randomness for a token: {e}")))?;
    let row = api_token::Model {
        id: new.id,
        name: name.to_owned(),
        scope: scope.as_str().to_owned(),
        secret_hash: new.secret_hash,
        created_at: now(),
    };
    match row
        .into_active_model()
        .insert(conn)
        .await
        .map_err(AppError::from)
    {
        Ok(_) => Ok(new.token),
        Err(AppError::Contended) => Err(AppError::conflict(
            "name",
            format!("name: a token named {name:?} exists already"),
        )),
        Err(e) => Err(e),
    }
}

pub async fn list<C: ConnectionTrait>(conn: &C) -> AppResult<Vec<api_token::Model>> {
    Ok(api_token::Entity::find()
        .order_by_asc(api_token::Column::Name)
        .all(conn)
        .await?)
}

/// Revokes the token named `name`; false if there was none.
pub async fn revoke<C: ConnectionTrait>(conn: &C, name: &str) -> AppResult<bool> {
    let deleted = api_token::Entity::delete_many()
        .filter(api_token::Column::Name.eq(name.trim()))
        .exec(conn)
        .await?;
    Ok(deleted.rows_affected > 0)
}

/// Whether any token exists (then every request needs one).
pub async fn any<C: ConnectionTrait>(conn: &C) -> AppResult<bool> {
    Ok(api_token::Entity::find()
        .select_only()
        .column(api_token::Column::Id)
        .limit(1)
        .into_tuple::<uuid::Uuid>()
        .one(conn)
        .await?
        .is_some())
}

/// The scope of a presented token; None if it is unknown, malformed or revoked.
pub async fn verify<C: ConnectionTrait>(
    conn: &C,
    presented: &str,
) -> AppResult<Option<(Scope, String)>> {
    let Some((id, secret)) = token::parse(presented) else {
        return Ok(None);
    };
    let Some(row) = api_token::Entity::find_by_id(id).one(conn).await? else {
        return Ok(None);
    };
    if !token::verify(secret, &row.secret_hash) {
        return Ok(None);
    }
    Ok(Scope::parse(&row.scope).map(|scope| (scope, row.name)))
}
