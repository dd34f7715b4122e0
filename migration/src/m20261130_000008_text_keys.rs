//! Order and search in every script. DISPLAY_NAME order was the lower-cased
//! name compared byte by byte (accented capitals after Z) and search
//! compared `lower()` of each column, which folds only A-Z on SQLite and
//! depends on LC_CTYPE on PostgreSQL. Both now compare keys the service
//! computes (`entity::text_keys`):
//! - `contacts.sort_name` becomes the name's collation key (recomputed here);
//! - `contacts.search_text` (new) holds the folded name, organisation and
//!   externalId, under one trigram index instead of three on `lower(...)`;
//! - `contact_handles.search_key` is the folded handle (phones keep digits).
//!
//! Rows are rewritten a batch at a time in id order (keyset), so memory
//! stays bounded whatever the table's size; every row gets a key whatever its
//! text, so existing data never fails the migration.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend, Statement, Value};
use uuid::Uuid;

use entity::text_keys;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Rows read and rewritten per batch: one SELECT, then one UPDATE per
/// UPDATE_ROWS of them.
pub(crate) const BATCH: u64 = 600;
/// Rows one UPDATE rewrites: 3 parameters each, within SQLite's 999.
const UPDATE_ROWS: usize = 300;

const OLD_INDEXES: [&str; 4] = [
    "ix_contacts_display_name_trgm",
    "ix_contacts_organization_name_trgm",
    "ix_contacts_external_id_trgm",
    // Rebuilt below, once, instead of updated row by row (a GIN update is dear).
    "ix_contact_handles_search_key_trgm",
];

#[derive(DeriveIden)]
enum Contacts {
    Table,
    SearchText,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Contacts::Table)
                    .add_column(
                        ColumnDef::new(Contacts::SearchText)
                            .text()
                            .not_null()
                            .default(""),
                    )
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        let on_postgres = db.get_database_backend() == DbBackend::Postgres;
        // The indexes replaced or rebuilt go first: every row is rewritten,
        // and an index left in place would be updated row by row; they are
        // built once, at the end.
        if on_postgres {
            for name in OLD_INDEXES {
                db.execute_unprepared(&format!("DROP INDEX IF EXISTS {name}"))
                    .await?;
            }
        }
        rekey_contacts(db).await?;
        rekey_handles(db).await?;
        if on_postgres {
            index_search_text(db).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        if db.get_database_backend() == DbBackend::Postgres {
            db.execute_unprepared("DROP INDEX IF EXISTS ix_contacts_search_text_trgm")
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(Contacts::Table)
                    .drop_column(Contacts::SearchText)
                    .to_owned(),
            )
            .await
    }
}

/// Each contact's sort key and search text, from its current fields.
async fn rekey_contacts<C: ConnectionTrait>(db: &C) -> Result<(), DbErr> {
    let backend = db.get_database_backend();
    let mut after: Option<Uuid> = None;
    loop {
        let rows = db
            .query_all_raw(page(
                backend,
                "SELECT id, display_name, organization_name, external_id FROM contacts",
                after,
            ))
            .await?;
        let mut keyed = Vec::with_capacity(rows.len());
        for row in &rows {
            let id: Uuid = row.try_get("", "id")?;
            let name: Option<String> = row.try_get("", "display_name")?;
            let organization: Option<String> = row.try_get("", "organization_name")?;
            let external_id: Option<String> = row.try_get("", "external_id")?;
            let sort = text_keys::sort_key(name.as_deref());
            let search = text_keys::search_text(
                name.as_deref(),
                organization.as_deref(),
                external_id.as_deref(),
            );
            keyed.push((id, vec![sort, search]));
            after = Some(id);
        }
        update_by_id(db, "contacts", &["sort_name", "search_text"], keyed).await?;
        if (rows.len() as u64) < BATCH {
            return Ok(());
        }
    }
}

/// Each non-phone handle's search key, folded (phones keep their digits).
async fn rekey_handles<C: ConnectionTrait>(db: &C) -> Result<(), DbErr> {
    let backend = db.get_database_backend();
    let mut after: Option<Uuid> = None;
    loop {
        let rows = db
            .query_all_raw(page(
                backend,
                "SELECT id, source, handle FROM contact_handles",
                after,
            ))
            .await?;
        let mut keyed = Vec::with_capacity(rows.len());
        for row in &rows {
            let id: Uuid = row.try_get("", "id")?;
            let source: String = row.try_get("", "source")?;
            let handle: String = row.try_get("", "handle")?;
            after = Some(id);
            if !entity::contact_handle::is_phone_source(&source) {
                keyed.push((id, vec![text_keys::fold(&handle)]));
            }
        }
        update_by_id(db, "contact_handles", &["search_key"], keyed).await?;
        if (rows.len() as u64) < BATCH {
            return Ok(());
        }
    }
}

/// Sets `columns` of each row (by id) to its values, UPDATE_ROWS rows a
/// statement: `UPDATE t SET c = v.c FROM (VALUES ...) AS v WHERE t.id = v.id`.
pub(crate) async fn update_by_id<C: ConnectionTrait>(
    db: &C,
    table: &str,
    columns: &[&str],
    rows: Vec<(Uuid, Vec<String>)>,
) -> Result<(), DbErr> {
    let backend = db.get_database_backend();
    let names: Vec<String> = (1..=columns.len()).map(|i| format!("c{i}")).collect();
    let set = columns
        .iter()
        .zip(&names)
        .map(|(column, name)| format!("{column} = v.{name}"))
        .collect::<Vec<_>>()
        .join(", ");
    let cells = |n: usize| vec!["?"; n].join(", ");
    for chunk in rows.chunks(UPDATE_ROWS) {
        let tuples = vec![format!("({})", cells(columns.len() + 1)); chunk.len()].join(", ");
        let values = match backend {
            // The first row's types name the columns' (uuid, text...).
            DbBackend::Postgres => format!("(VALUES {tuples}) AS v(id, {})", names.join(", ")),
            // SQLite names VALUES columns column1, column2, ...
            _ => {
                let renamed = std::iter::once("column1 AS id".to_owned())
                    .chain(
                        names
                            .iter()
                            .enumerate()
                            .map(|(i, n)| format!("column{} AS {n}", i + 2)),
                    )
                    .collect::<Vec<_>>()
                    .join(", ");
                format!("(SELECT {renamed} FROM (VALUES {tuples})) AS v")
            }
        };
        let sql = format!("UPDATE {table} SET {set} FROM {values} WHERE {table}.id = v.id");
        let params: Vec<Value> = chunk
            .iter()
            .flat_map(|(id, values)| {
                std::iter::once(Value::from(*id)).chain(values.iter().cloned().map(Value::from))
            })
            .collect();
        db.execute_raw(Statement::from_sql_and_values(
            backend,
            placeholders(backend, &sql),
            params,
        ))
        .await?;
    }
    Ok(())
}

/// `select` restricted to ids after `after`, in id order, one batch.
pub(crate) fn page(backend: DbBackend, select: &str, after: Option<Uuid>) -> Statement {
    match after {
        None => Statement::from_string(backend, format!("{select} ORDER BY id LIMIT {BATCH}")),
        Some(id) => Statement::from_sql_and_values(
            backend,
            placeholders(
                backend,
                &format!("{select} WHERE id > ? ORDER BY id LIMIT {BATCH}"),
            ),
            [Value::from(id)],
        ),
    }
}

/// `?` placeholders as the backend writes them ($1, $2, ... on PostgreSQL).
pub(crate) fn placeholders(backend: DbBackend, sql: &str) -> String {
    if backend != DbBackend::Postgres {
        return sql.to_owned();
    }
    let mut out = String::with_capacity(sql.len() + 8);
    let mut n = 0;
    for c in sql.chars() {
        if c == '?' {
            n += 1;
            out.push_str(&format!("${n}"));
        } else {
            out.push(c);
        }
    }
    out
}

/// The trigram indexes search uses on PostgreSQL: the one on `search_text`,
/// replacing the three on `lower(...)`, and the handles' one, rebuilt (pg_trgm
/// was created by the search_trigrams migration).
async fn index_search_text<C: ConnectionTrait>(db: &C) -> Result<(), DbErr> {
    let schema: String = db
        .query_one_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT quote_ident(n.nspname) AS schema FROM pg_extension e \
             JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pg_trgm'",
        ))
        .await?
        .ok_or_else(|| DbErr::Migration("pg_trgm is missing".into()))?
        .try_get("", "schema")?;
    db.execute_unprepared(&format!(
        "CREATE INDEX IF NOT EXISTS ix_contacts_search_text_trgm ON contacts \
         USING gin (search_text {schema}.gin_trgm_ops)"
    ))
    .await?;
    db.execute_unprepared(&format!(
        "CREATE INDEX IF NOT EXISTS ix_contact_handles_search_key_trgm ON contact_handles \
         USING gin (search_key {schema}.gin_trgm_ops)"
    ))
    .await?;
    // As for the indexes it replaces (see search_trigrams): a histogram
    // fine enough to tell a rare text from a common one.
    db.execute_unprepared("ALTER TABLE contacts ALTER COLUMN search_text SET STATISTICS 1000")
        .await?;
    Ok(())
}
