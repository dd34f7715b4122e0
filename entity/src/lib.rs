//! SeaORM entities of the contacts service. Database shapes only: the GraphQL
//! types live in the service crate and are built from these models.

#![deny(clippy::unwrap_used, clippy::expect_used)]

pub mod api_token;
pub mod contact;
pub mod contact_change;
pub mod contact_group;
pub mod contact_group_member;
pub mod contact_handle;
pub mod contact_metadata;
pub mod contact_redirect;
pub mod contact_state;
pub mod conversation;
pub mod duplicate_dismissal;
pub mod duplicate_index;
pub mod duplicate_key;
pub mod duplicate_pair;
pub mod handle_move;
pub mod idempotency_key;
pub mod import_job;
pub mod import_job_failure;
pub mod merge_record;
pub mod text_keys;
pub mod trusted_document;
pub mod webhook;
pub mod webhook_delivery;
