//! Reading and writing single contacts.

use entity::{contact, contact_handle, conversation};
use sea_orm::sea_query::{Expr, Query};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait,
    IntoActiveModel, QueryFilter, QueryOrder, QueryResult, QuerySelect, QueryTrait, Select,
};
use uuid::Uuid;

use super::changes::{self, Change, ChangeKind};
use super::events::EventBus;
use super::tx;
use super::{now, write};
use crate::domain::{ContactChanges, NormalizedHandle};
use crate::error::{AppError, AppResult};

/// The contacts a select of whole rows yields, decoded by column position.
/// SeaORM's derived decoder looks each column up by a name it formats anew
/// for every row: for a page of 50 contacts that was a fifth of the
/// request's CPU.
pub async fn fetch_all<C: ConnectionTrait>(
    conn: &C,
    select: Select<contact::Entity>,
) -> AppResult<Vec<contact::Model>> {
    let rows = conn
        .query_all_raw(select.build(conn.get_database_backend()))
        .await?;
    rows.iter()
        .map(decode)
        .collect::<Result<_, DbErr>>()
        .map_err(AppError::from)
}

async fn fetch_one<C: ConnectionTrait>(
    conn: &C,
    select: Select<contact::Entity>,
) -> AppResult<Option<contact::Model>> {
    Ok(fetch_all(conn, select.limit(1)).await?.into_iter().next())
}

/// One row of `contact::Entity::find()`: its columns in `contact::Column`
/// order (checked by a test).
fn decode(row: &QueryResult) -> Result<contact::Model, DbErr> {
    Ok(contact::Model {
        id: row.try_get_by_index(0)?,
        display_name: row.try_get_by_index(1)?,
        sort_name: row.try_get_by_index(2)?,
        avatar_url: row.try_get_by_index(3)?,
        title: row.try_get_by_index(4)?,
        timezone: row.try_get_by_index(5)?,
        gender: row.try_get_by_index(6)?,
        locale: row.try_get_by_index(7)?,
        organization_name: row.try_get_by_index(8)?,
        description: row.try_get_by_index(9)?,
        contact_type: row.try_get_by_index(10)?,
        is_spammer: row.try_get_by_index(11)?,
        external_id: row.try_get_by_index(12)?,
        links: row.try_get_by_index(13)?,
        address_organization_name: row.try_get_by_index(14)?,
        address_line1: row.try_get_by_index(15)?,
        address_line2: row.try_get_by_index(16)?,
        address_postcode: row.try_get_by_index(17)?,
        address_city: row.try_get_by_index(18)?,
        address_state: row.try_get_by_index(19)?,
        address_country: row.try_get_by_index(20)?,
        created_at: row.try_get_by_index(21)?,
        updated_at: row.try_get_by_index(22)?,
        search_text: row.try_get_by_index(23)?,
    })
}

pub async fn get<C: ConnectionTrait>(conn: &C, id: Uuid) -> AppResult<Option<contact::Model>> {
    fetch_one(conn, contact::Entity::find_by_id(id)).await
}

pub async fn get_many<C: ConnectionTrait>(
    conn: &C,
    ids: &[Uuid],
) -> AppResult<Vec<contact::Model>> {
    fetch_all(
        conn,
        contact::Entity::find().filter(contact::Column::Id.is_in(ids.iter().copied())),
    )
    .await
}

pub async fn find_by_external_id<C: ConnectionTrait>(
    conn: &C,
    external_id: &str,
) -> AppResult<Option<contact::Model>> {
    fetch_one(
        conn,
        contact::Entity::find().filter(contact::Column::ExternalId.eq(external_id)),
    )
    .await
}

pub async fn find_by_handle<C: ConnectionTrait>(
    conn: &C,
    handle: &NormalizedHandle,
) -> AppResult<Option<contact::Model>> {
    find_by_handle_where(conn, handle, false).await
}

/// The contact holding `handle` verified: what a token holder's write
/// (linkConversation) attaches to; a visitor's handle it takes over instead.
pub async fn find_by_verified_handle<C: ConnectionTrait>(
    conn: &C,
    handle: &NormalizedHandle,
) -> AppResult<Option<contact::Model>> {
    find_by_handle_where(conn, handle, true).await
}

async fn find_by_handle_where<C: ConnectionTrait>(
    conn: &C,
    handle: &NormalizedHandle,
    verified_only: bool,
) -> AppResult<Option<contact::Model>> {
    // By its match key: another national form of a number finds it; a
    // blocked identifier finds nobody.
    let Some(key) = &handle.match_key else {
        return Ok(None);
    };
    let mut owner = Query::select()
        .column(contact_handle::Column::ContactId)
        .from(contact_handle::Entity)
        .and_where(contact_handle::Column::Source.eq(handle.source.as_str()))
        .and_where(contact_handle::Column::MatchKey.eq(key.as_str()))
        .to_owned();
    if verified_only {
        owner.and_where(contact_handle::Column::Verified.eq(true));
    }
    fetch_one(
        conn,
        contact::Entity::find().filter(contact::Column::Id.in_subquery(owner)),
    )
    .await
}

pub async fn find_by_conversation<C: ConnectionTrait>(
    conn: &C,
    conversation_id: Uuid,
) -> AppResult<Option<contact::Model>> {
    let owner = Query::select()
        .column(conversation::Column::ContactId)
        .from(conversation::Entity)
        .and_where(conversation::Column::Id.eq(conversation_id))
        .to_owned();
    fetch_one(
        conn,
        contact::Entity::find().filter(contact::Column::Id.in_subquery(owner)),
    )
    .await
}

/// Locks the contacts with these ids, in id order (PostgreSQL row locks;
/// SQLite's writer holds the whole database already). Writes that touch
/// several contacts lock them this way first, so two of them never wait on
/// each other in opposite orders (a deadlock PostgreSQL only breaks after a
/// second). Returns the ids locked: those that still exist.
pub(super) async fn lock_in_id_order<C: ConnectionTrait>(
    conn: &C,
    ids: impl IntoIterator<Item = Uuid>,
) -> AppResult<Vec<Uuid>> {
    let mut ids: Vec<Uuid> = ids.into_iter().collect();
    ids.sort_unstable();
    ids.dedup();
    let mut locked = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(super::chunk_len(conn.get_database_backend(), 1)) {
        let rows: Vec<Uuid> = contact::Entity::find()
            .select_only()
            .column(contact::Column::Id)
            .filter(contact::Column::Id.is_in(chunk.iter().copied()))
            .order_by_asc(contact::Column::Id)
            .lock_exclusive()
            .into_tuple()
            .all(conn)
            .await?;
        locked.extend(rows);
    }
    Ok(locked)
}

/// Sets a contact's `updatedAt` to now, and nothing else: for a change to
/// what hangs on it (a conversation linked or moved away).
pub(super) async fn mark_updated<C: ConnectionTrait>(conn: &C, id: Uuid) -> AppResult<()> {
    contact::Entity::update_many()
        .col_expr(contact::Column::UpdatedAt, Expr::value(now()))
        .filter(contact::Column::Id.eq(id))
        .exec(conn)
        .await?;
    Ok(())
}

/// Creates a contact with its handles, groups, metadata and conversations,
/// all or nothing.
pub async fn create(
    db: &DatabaseConnection,
    events: &EventBus,
    changes: ContactChanges,
) -> AppResult<contact::Model> {
    tx::write(db, events, &changes, |txn, changes| {
        Box::pin(write::insert_contact(txn, changes))
    })
    .await
}

/// Applies an update (UpdateContactInput rules) in one transaction.
pub async fn update(
    db: &DatabaseConnection,
    events: &EventBus,
    id: Uuid,
    changes: ContactChanges,
) -> AppResult<contact::Model> {
    tx::write(db, events, &(id, changes), |txn, (id, changes)| {
        Box::pin(update_in(txn, *id, changes))
    })
    .await
}

/// The contact after the update.
async fn update_in<C: ConnectionTrait>(
    conn: &C,
    id: Uuid,
    changes: &ContactChanges,
) -> AppResult<contact::Model> {
    // Row lock on PostgreSQL so that concurrent patches of one contact
    // (metadata merge patches above all) apply one after the other.
    let current = contact::Entity::find_by_id(id)
        .lock_exclusive()
        .one(conn)
        .await?
        .ok_or_else(|| {
            let field = changes.field("id");
            AppError::not_found(&field, format!("{field}: no contact with id {id}"))
        })?;
    write::update_contact(conn, current, changes).await
}

/// Deletes a contact; handles, metadata, memberships and merge records go with
/// it (foreign-key cascades), conversations stay, unlinked.
pub async fn delete(db: &DatabaseConnection, events: &EventBus, id: Uuid) -> AppResult<()> {
    tx::write(db, events, &id, |txn, id| {
        Box::pin(async move {
            let deleted = contact::Entity::delete_by_id(*id).exec(txn).await?;
            if deleted.rows_affected == 0 {
                return Err(AppError::not_found(
                    "id",
                    format!("id: no contact with id {id}"),
                ));
            }
            changes::record(Change::new(ChangeKind::Deleted, *id, Vec::new()));
            Ok(())
        })
    })
    .await
}

/// Stamps `updated_at` on a contact whose related rows changed.
pub(crate) async fn touch<C: ConnectionTrait>(
    conn: &C,
    mut model: contact::Model,
) -> AppResult<contact::Model> {
    model.updated_at = now();
    model
        .clone()
        .into_active_model()
        .reset_all()
        .update(conn)
        .await?;
    Ok(model)
}

#[cfg(test)]
mod tests {
    use entity::contact;
    use sea_orm::{EntityTrait, Iterable, QueryTrait};

    /// `decode` reads by position: the select must list the columns in the
    /// order it expects.
    #[test]
    fn decode_reads_columns_in_select_order() {
        let names: Vec<String> = contact::Column::iter()
            .map(|c| sea_orm::IdenStatic::as_str(&c).to_owned())
            .collect();
        assert_eq!(
            names,
            [
                "id",
                "display_name",
                "sort_name",
                "avatar_url",
                "title",
                "timezone",
                "gender",
                "locale",
                "organization_name",
                "description",
                "contact_type",
                "is_spammer",
                "external_id",
                "links",
                "address_organization_name",
                "address_line1",
                "address_line2",
                "address_postcode",
                "address_city",
                "address_state",
                "address_country",
                "created_at",
                "updated_at",
                "search_text",
            ]
        );
        let sql = contact::Entity::find()
            .build(sea_orm::DbBackend::Postgres)
            .to_string();
        let listed: Vec<&str> = sql["SELECT ".len()..sql.find(" FROM").unwrap()]
            .split(", ")
            .map(|c| c.rsplit('.').next().unwrap().trim_matches('"'))
            .collect();
        assert_eq!(listed, names);
    }

    /// The handles loader (relations::handles_for) decodes by position too.
    #[test]
    fn handle_columns_are_in_decode_order() {
        let names: Vec<&str> = entity::contact_handle::Column::iter()
            .map(|c| sea_orm::IdenStatic::as_str(&c))
            .collect();
        assert_eq!(
            names,
            [
                "id",
                "contact_id",
                "source",
                "handle",
                "search_key",
                "position",
                "verified",
                "match_key"
            ]
        );
    }
}
