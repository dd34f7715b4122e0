//! `contact_changes`: the durable change log (see entity::contact_change),
//! and one baseline CREATED entry per existing contact holding its current
//! state as changes from the empty state, so that every contact's history
//! starts somewhere. Contacts are read a batch at a time in id order
//! (keyset), with their relations, so memory stays bounded whatever the
//! table's size; any stored value is copied as it is, so existing data never
//! fails the migration.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{
    ActiveValue, ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};
use uuid::Uuid;

use entity::contact_state::ContactState;
use entity::{contact, contact_change};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Contacts read (with their relations) per batch.
const BATCH: u64 = 500;
/// Entries per INSERT: 8 parameters each, within SQLite's 999.
const INSERT_ROWS: usize = 100;

const INDEXES: [&str; 3] = [
    // A contact's history, and the feed filtered by contact.
    "CREATE INDEX ix_contact_changes_contact ON contact_changes (contact_id, position)",
    "CREATE INDEX ix_contact_changes_merged_into ON contact_changes (merged_into_id) \
     WHERE merged_into_id IS NOT NULL",
    // Erasure finds a merge's other side.
    "CREATE INDEX ix_contact_changes_counterpart ON contact_changes (counterpart_id) \
     WHERE counterpart_id IS NOT NULL",
];

#[derive(DeriveIden)]
enum ContactChanges {
    Table,
    Position,
    At,
    Kind,
    ContactId,
    MergedIntoId,
    CounterpartId,
    Actor,
    Source,
    Changes,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let mut position = ColumnDef::new(ContactChanges::Position);
        match db.get_database_backend() {
            // A sequence: never reused.
            DbBackend::Postgres => position.big_integer(),
            // INTEGER PRIMARY KEY AUTOINCREMENT: never reused either, even
            // after the newest entries are purged (a plain rowid would be).
            _ => position.integer(),
        };
        manager
            .create_table(
                Table::create()
                    .table(ContactChanges::Table)
                    .col(position.not_null().auto_increment().primary_key())
                    .col(
                        ColumnDef::new(ContactChanges::At)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(ColumnDef::new(ContactChanges::Kind).string().not_null())
                    .col(ColumnDef::new(ContactChanges::ContactId).uuid().not_null())
                    .col(ColumnDef::new(ContactChanges::MergedIntoId).uuid().null())
                    .col(ColumnDef::new(ContactChanges::CounterpartId).uuid().null())
                    .col(ColumnDef::new(ContactChanges::Actor).string().not_null())
                    .col(ColumnDef::new(ContactChanges::Source).string().not_null())
                    .col(
                        ColumnDef::new(ContactChanges::Changes)
                            .json_binary()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await?;
        for index in INDEXES {
            db.execute_unprepared(index).await?;
        }
        write_baseline(db).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared("DROP TABLE contact_changes")
            .await
            .map(drop)
    }
}

/// One CREATED entry per contact, from its current state.
async fn write_baseline<C: ConnectionTrait>(db: &C) -> Result<(), DbErr> {
    let at = chrono_now();
    let mut after: Option<Uuid> = None;
    loop {
        let mut select = contact::Entity::find()
            .select_only()
            .column(contact::Column::Id)
            .order_by_asc(contact::Column::Id)
            .limit(BATCH);
        if let Some(after) = after {
            select = select.filter(contact::Column::Id.gt(after));
        }
        let ids: Vec<Uuid> = select.into_tuple().all(db).await?;
        let Some(last) = ids.last() else {
            return Ok(());
        };
        after = Some(*last);
        let mut states = ContactState::load(db, &ids).await?;
        let entries: Vec<contact_change::ActiveModel> = ids
            .iter()
            .filter_map(|id| Some((*id, states.remove(id)?)))
            .map(|(id, state)| contact_change::ActiveModel {
                position: ActiveValue::NotSet,
                at: ActiveValue::Set(at),
                kind: ActiveValue::Set("CREATED".into()),
                contact_id: ActiveValue::Set(id),
                merged_into_id: ActiveValue::Set(None),
                counterpart_id: ActiveValue::Set(None),
                actor: ActiveValue::Set("migration".into()),
                source: ActiveValue::Set("migration".into()),
                changes: ActiveValue::Set(changes_json(&state)),
                // A later migration's column: left out of this INSERT.
                job_id: ActiveValue::NotSet,
            })
            .collect();
        let mut entries = entries.into_iter().peekable();
        while entries.peek().is_some() {
            let chunk: Vec<_> = entries.by_ref().take(INSERT_ROWS).collect();
            contact_change::Entity::insert_many(chunk)
                .exec_without_returning(db)
                .await?;
        }
        if (ids.len() as u64) < BATCH {
            return Ok(());
        }
    }
}

fn changes_json(state: &ContactState) -> serde_json::Value {
    let changes = state.changes_from(&ContactState::default());
    serde_json::to_value(changes).unwrap_or_else(|_| serde_json::Value::Array(Vec::new()))
}

/// Now, at millisecond precision (as the service stores timestamps).
fn chrono_now() -> chrono::DateTime<chrono::Utc> {
    let now = chrono::Utc::now();
    chrono::DateTime::from_timestamp_millis(now.timestamp_millis()).unwrap_or(now)
}
