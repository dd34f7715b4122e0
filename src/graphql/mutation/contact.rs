use async_graphql::{Context, Object, ID};

use crate::domain::{ContactInput, Mode, Patch};
use crate::error::AppError;
use crate::graphql::access::{Principal, VISITOR_MUTATION};
use crate::graphql::ids::parse_uuid;
use crate::graphql::input::{
    CreateContactInput, CreateOrUpdateContactInput, ImportContactsInput, UpdateContactInput,
};
use crate::graphql::loader::preload;
use crate::graphql::state::ctx_state;
use crate::graphql::types::{
    Contact, CreateOrUpdateContactPayload, ImportAction, ImportContactsPayload, ImportError,
    ImportRowOutcome,
};
use crate::service::import::{self, ImportRow, OnConflictMode, ReadBack, RowOutcome};
use crate::service::upsert::{self, UpsertKeys};
use crate::service::{contacts, erasure};

#[derive(Default)]
pub struct ContactMutation;

/// Most handles a visitor's one call may set: a person has a few addresses,
/// and each one claimed blocks other visitors from it.
const VISITOR_MAX_VIA: usize = 10;

/// An error as a visitor may see it: the service's messages name the other
/// contact a key belongs to, which is another person's id. The code and the
/// field stay, so the visitor still knows what to change.
fn for_visitor(error: AppError) -> AppError {
    match error {
        AppError::Conflict { field, .. } => AppError::Conflict {
            message: format!(
                "{}: already belongs to another contact",
                field.as_deref().unwrap_or("input")
            ),
            field,
        },
        AppError::NotFound { field, .. } => AppError::NotFound {
            message: format!("{}: not found", field.as_deref().unwrap_or("input")),
            field,
        },
        other => other,
    }
}

#[Object]
impl ContactMutation {
    /// Creates a contact. All fields are optional but at least one must be set;
    /// a handle or externalId that belongs to another contact is a CONFLICT.
    async fn create_contact(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The new contact; at least one field must be set.")]
        input: CreateContactInput,
    ) -> async_graphql::Result<Contact> {
        let state = ctx_state(ctx)?;
        let changes = ContactInput::from(input).validate(&state.rules, "input", Mode::Create)?;
        Ok(contacts::create(&state.db, &state.events, changes)
            .await?
            .into())
    }

    /// Updates a contact: absent fields are kept, null or "" removes them, lists
    /// replace, metadata is a JSON Merge Patch. Unknown id: NOT_FOUND.
    async fn update_contact(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "The contact (`id`) and the fields to change: absent kept, null or \"\" removed, lists replaced, metadata merge-patched (RFC 7386)."
        )]
        input: UpdateContactInput,
    ) -> async_graphql::Result<Contact> {
        let state = ctx_state(ctx)?;
        let id = parse_uuid("input.id", &input.id)?;
        let changes = ContactInput::from(input).validate(&state.rules, "input", Mode::Update)?;
        Ok(contacts::update(&state.db, &state.events, id, changes)
            .await?
            .into())
    }

    /// Erases the contact (GDPR Art. 17): deletes it as deleteContact does,
    /// and removes its values (and those of the contacts merged into it)
    /// from the change log, merge snapshots, handle moves and stored
    /// idempotent responses, keeping only ids, kinds, times and actors.
    /// Needs a write token. Returns the id; NOT_FOUND if there is none.
    async fn erase_contact(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "UUID of the contact to erase (NOT_FOUND if it does not exist or was merged away)."
        )]
        id: ID,
    ) -> async_graphql::Result<ID> {
        let state = ctx_state(ctx)?;
        let uuid = parse_uuid("id", &id)?;
        erasure::erase(&state.db, &state.events, uuid).await?;
        Ok(ID(uuid.to_string()))
    }

    /// Deletes the contact, its via, metadata and groups membership; its conversations stay, unlinked. Returns the id.
    async fn delete_contact(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "UUID of the contact to delete.")] id: ID,
    ) -> async_graphql::Result<ID> {
        let state = ctx_state(ctx)?;
        let uuid = parse_uuid("id", &id)?;
        contacts::delete(&state.db, &state.events, uuid).await?;
        Ok(ID(uuid.to_string()))
    }

    /// Create-or-update (Front's create_or_update): finds the contact by id, else
    /// externalId, else any via handle (normalised as on write); updates it with
    /// the rules of updateContact, or creates it. A handle matches in any national
    /// form of its number (Brazil's ninth digit, Argentina's mobile 9, Mexico's mobile
    /// 1); a blocked identifier (--blocked-identifiers) matches nobody. Keys pointing at
    /// two contacts: CONFLICT with extensions.reason AMBIGUOUS_MATCH, extensions.field
    /// naming the key that met the second contact and extensions.contactIds both (not
    /// for the identity-verified visitor); nothing written. Concurrent calls with the
    /// same new key yield one contact. With an identity secret configured, a call naming externalId must
    /// carry a valid identifierHash (UNAUTHENTICATED otherwise) and may touch only
    /// the contact with that externalId (FORBIDDEN otherwise).
    async fn create_or_update_contact(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "The contact to find (by `externalId`, else by a `via` handle) and the fields to set; created when none matches."
        )]
        input: CreateOrUpdateContactInput,
    ) -> async_graphql::Result<CreateOrUpdateContactPayload> {
        let state = ctx_state(ctx)?;
        let (id, identifier_hash, fields) = input.into_parts();
        let id = id.map(|id| parse_uuid("input.id", &id)).transpose()?;
        let visitor = ctx.data_opt::<Principal>() == Some(&Principal::Visitor);
        let mut update = fields
            .clone()
            .validate(&state.rules, "input", Mode::Update)?;
        let mut create = fields.validate(&state.rules, "input", Mode::Create);
        // A visitor's handles are its own say-so: unverified.
        update.handles_verified = !visitor;
        if let Ok(create) = &mut create {
            create.handles_verified = !visitor;
        }
        let external_id = match &update.external_id {
            Patch::Set(external_id) => Some(external_id.clone()),
            _ => None,
        };
        // Verified before anything is read or written.
        let verified_external_id = match (&state.identity, &external_id) {
            (Some(secret), Some(external_id)) => {
                secret.verify(external_id, identifier_hash.as_deref())?;
                Some(external_id.clone())
            }
            _ => None,
        };
        if visitor
            && update
                .via
                .as_ref()
                .is_some_and(|v| v.len() > VISITOR_MAX_VIA)
        {
            return Err(AppError::LimitExceeded(format!(
                "input.via: a caller without a token may name at most {VISITOR_MAX_VIA} handles"
            ))
            .into());
        }
        if verified_external_id.is_none() && visitor {
            return Err(AppError::Unauthenticated(format!(
                "without an API token, {VISITOR_MUTATION} needs externalId and its identifierHash"
            ))
            .into());
        }
        let keys = UpsertKeys {
            id,
            external_id,
            verified_external_id,
        };
        let (model, created) =
            upsert::create_or_update(&state.db, &state.events, &keys, &update, &create)
                .await
                .map_err(|e| if visitor { for_visitor(e) } else { e })?;
        Ok(CreateOrUpdateContactPayload {
            contact: model.into(),
            created,
        })
    }

    /// Imports a batch of contacts (Airy's import): onConflict decides what a row
    /// whose handle or externalId is taken does (FAIL, SKIP, UPDATE); atomic: true
    /// writes nothing if any row fails. Rows sharing a handle or externalId make
    /// one contact. At most --max-import-rows rows (LIMIT_EXCEEDED beyond).
    async fn import_contacts(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "The rows (at most --max-import-rows) and what to do with rows matching an existing contact (`mode`)."
        )]
        input: ImportContactsInput,
    ) -> async_graphql::Result<ImportContactsPayload> {
        let state = ctx_state(ctx)?;
        if input.contacts.len() > state.max_import_rows {
            return Err(AppError::LimitExceeded(format!(
                "input.contacts: at most {} rows per import, {} given",
                state.max_import_rows,
                input.contacts.len()
            ))
            .into());
        }
        let mode: OnConflictMode = input.on_conflict.into();
        let contacts_field = ctx.look_ahead().field("contacts");
        let dry_run = input.dry_run;
        let read_back = if contacts_field.exists() && !dry_run {
            ReadBack::Contacts
        } else {
            ReadBack::Nothing
        };
        let rows: Vec<ImportRow> = input
            .contacts
            .into_iter()
            .enumerate()
            .map(|(i, row)| {
                let path = format!("input.contacts.{i}");
                let fields = ContactInput::from(row);
                ImportRow {
                    update: mode
                        .updates()
                        .then(|| fields.clone().validate(&state.rules, &path, Mode::Update)),
                    create: fields.validate(&state.rules, &path, Mode::Create),
                    origin: format!("row {i}"),
                }
            })
            .collect();
        let imported = if dry_run {
            import::dry_run(&state.db, &rows, mode).await?
        } else {
            import::import(
                &state.db,
                &state.events,
                &rows,
                mode,
                input.atomic,
                read_back,
            )
            .await?
        };
        drop(rows);
        let mut models = Vec::new();
        let mut payload = ImportContactsPayload {
            contacts: Vec::new(),
            rows: Vec::with_capacity(imported.rows.len()),
            dry_run,
            created_count: 0,
            updated_count: 0,
            skipped_count: 0,
            errors: Vec::new(),
        };
        // A dry run's new contacts do not exist: their ids are not shown,
        // nor those of rows that would update them.
        let made_up: std::collections::HashSet<uuid::Uuid> = match dry_run {
            true => imported
                .rows
                .iter()
                .filter_map(|o| match o {
                    RowOutcome::Created(id) => Some(*id),
                    _ => None,
                })
                .collect(),
            false => Default::default(),
        };
        for (index, outcome) in imported.rows.iter().enumerate() {
            let id_of = |id: &uuid::Uuid| (!made_up.contains(id)).then(|| ID(id.to_string()));
            let (action, contact_id, written) = match outcome {
                RowOutcome::Created(id) => {
                    payload.created_count += 1;
                    (ImportAction::Create, id_of(id), Some(id))
                }
                RowOutcome::Updated(id) => {
                    payload.updated_count += 1;
                    (ImportAction::Update, id_of(id), Some(id))
                }
                RowOutcome::Skipped(id) => {
                    payload.skipped_count += 1;
                    (ImportAction::Skip, id.as_ref().and_then(id_of), None)
                }
                RowOutcome::Failed(e) => {
                    payload.errors.push(ImportError::new(index, e));
                    (ImportAction::Fail, None, None)
                }
                RowOutcome::NotWritten => (ImportAction::NotWritten, None, None),
            };
            payload.rows.push(ImportRowOutcome {
                index: i32::try_from(index).unwrap_or(i32::MAX),
                action,
                contact_id,
                error: match outcome {
                    RowOutcome::Failed(e) => Some(ImportError::new(index, e)),
                    _ => None,
                },
            });
            if let Some(model) = written.and_then(|id| imported.contacts.get(id)) {
                models.push(model.clone());
            }
        }
        // One batch per selected relation for the whole payload, as for a page.
        let preloaded = preload(ctx, contacts_field, &models).await?;
        payload.contacts = models
            .into_iter()
            .map(|m| Contact::new(m, preloaded.clone()))
            .collect();
        Ok(payload)
    }
}
