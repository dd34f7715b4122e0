//! Uploads of address-book files, imported in the background.

use async_graphql::{Context, Object, Upload, ID};

use crate::error::AppError;
use crate::formats::FileFormat;
use crate::graphql::ids::parse_uuid;
use crate::graphql::input::{mapping_of, ColumnMappingInput, ImportConflict, ImportFileFormat};
use crate::graphql::state::ctx_state;
use crate::graphql::types::{ImportJob, UndoImportPayload};
use crate::service::changes::{self, ChangeSource};
use crate::service::import_jobs::JobSpec;
use crate::service::import_undo;

#[derive(Default)]
pub struct ImportFileMutation;

#[Object]
impl ImportFileMutation {
    /// Imports an address-book file sent with the request (the GraphQL
    /// multipart request spec: `operations`, `map`, then the file; the
    /// request must carry an `Apollo-Require-Preflight` header, as Apollo's
    /// upload client sends). The file is spooled to a temporary file as it
    /// arrives (at most --max-upload-bytes; an upload idle for
    /// --upload-idle-seconds is cut off) and imported in the background, a
    /// batch of 1,000 rows at a time: this returns the job at once, RUNNING.
    /// Follow it with `importJob(id)` or `importProgress(jobId)`. Rows fail
    /// one by one (listed in the job's `failures` with their lines); the rows
    /// before a failure stay written. A dry run writes nothing: the whole
    /// file is planned in one transaction that is rolled back (it holds
    /// SQLite's write lock while it runs). Errors: BAD_USER_INPUT naming
    /// `format` when it is absent and the file name does not tell it, or
    /// naming `mapping.N.field` / `delimiter`.
    #[allow(clippy::too_many_arguments)]
    async fn import_contacts_file(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The file (a multipart upload).")] file: Upload,
        #[graphql(
            desc = "The file's format; absent: told by the file name's extension (.json, .ndjson/.jsonl, .csv/.tsv, .vcf/.vcard)."
        )]
        format: Option<ImportFileFormat>,
        #[graphql(
            default,
            desc = "What a row matching an existing contact (by a handle or externalId) does."
        )]
        on_conflict: ImportConflict,
        #[graphql(default, desc = "Plan every row and write nothing.")] dry_run: bool,
        #[graphql(
            desc = "Where CSV columns go; overrides a recognised export's own mapping. A column it does not name must be one of our input names, unless the header is a recognised export's."
        )]
        mapping: Option<Vec<ColumnMappingInput>>,
        #[graphql(
            desc = "The CSV delimiter (one character, or \"tab\"); absent: Excel's `sep=` line, else the most frequent of `,` `;` and tab in the header."
        )]
        delimiter: Option<String>,
    ) -> async_graphql::Result<ImportJob> {
        let state = ctx_state(ctx)?;
        let jobs = state.jobs.as_ref().ok_or_else(|| {
            AppError::Internal(anyhow::anyhow!(
                "import jobs are not running on this server"
            ))
        })?;
        let mapping = mapping_of(mapping)?;
        let delimiter = delimiter
            .as_deref()
            .map(crate::formats::parse_delimiter)
            .transpose()
            .map_err(|e| AppError::bad_input("delimiter", format!("delimiter: {e}")))?;
        let upload = file.value(ctx)?;
        let format = match format {
            Some(f) => f.into(),
            None => FileFormat::from_path(std::path::Path::new(&upload.filename)).ok_or_else(
                || {
                    AppError::bad_input(
                        "format",
                        format!(
                            "format: the file name {:?} does not tell the format; give format (JSON, NDJSON, CSV, VCARD)",
                            upload.filename
                        ),
                    )
                },
            )?,
        };
        let bytes_total = upload.content.metadata().ok().map(|m| m.len());
        let spec = JobSpec {
            format,
            on_conflict: on_conflict.into(),
            dry_run,
            mapping,
            delimiter,
            file_name: Some(upload.filename.clone()).filter(|n| !n.is_empty()),
            bytes_total,
        };
        let mut origin = changes::current_origin();
        origin.source = ChangeSource::Import;
        let job = jobs.start(spec, upload.content, origin).await?;
        Ok(ImportJob(job))
    }

    /// Reverts what an import job did (importContactsFile), in one
    /// transaction, from its change-log entries: contacts it created are
    /// deleted, values it changed are put back. What someone changed since
    /// is left as it is and reported (`leftAlone`: fields changed since,
    /// contacts merged, deleted or erased since); conversations it linked
    /// stay linked. The undo is logged and announced like any write. It
    /// works while the change log holds the job's entries
    /// (--change-retention-days). Errors: NOT_FOUND (jobId) for no such
    /// job; CONFLICT (jobId) for a job still running or already undone;
    /// BAD_USER_INPUT (jobId) for a dry run.
    async fn undo_import(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The import job to undo.")] job_id: ID,
    ) -> async_graphql::Result<UndoImportPayload> {
        let id = parse_uuid("jobId", &job_id)?;
        let state = ctx_state(ctx)?;
        let (report, job) = import_undo::undo(&state.db, &state.events, &state.rules, id).await?;
        Ok(UndoImportPayload::new(report, job))
    }
}
