//! tezgram's database migrations. The same migrations run on PostgreSQL and
//! SQLite, so they use only sea-query's portable column types: timestamps are
//! `timestamp_with_time_zone` (text on SQLite), binary data is `blob` (`bytea`
//! on PostgreSQL), JSON is stored as text. Full-text search is the one
//! exception: each backend's own index (see the message search migration).
//!
//! Add a migration as a new file `mYYYYMMDD_NNNNNN_what.rs` and append it to
//! [`Migrator::migrations`]; never edit one that has shipped.

pub use sea_orm_migration::prelude::*;

mod m20261124_000001_initial;
mod m20261202_000001_account_spine;
mod m20261203_000001_chats_and_messages;
mod m20261203_000002_outbox;
mod m20261203_000003_message_edit_version;
mod m20261203_000004_contacts_sync;
mod m20261203_000005_message_search;
mod m20261203_000006_chat_full_profile;
mod m20261204_000001_event_horizon;
mod m20261205_000001_upload_requests;
mod m20261205_000002_outbox_file_upload;
mod m20261206_000001_crm_links;
mod m20261206_000002_triggers;
mod m20261207_000001_audit_and_preferences;
mod m20261208_000001_account_leases;

/// Migrator applies tezgram's migrations in order.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261124_000001_initial::Migration),
            Box::new(m20261202_000001_account_spine::Migration),
            Box::new(m20261203_000001_chats_and_messages::Migration),
            Box::new(m20261203_000002_outbox::Migration),
            Box::new(m20261203_000003_message_edit_version::Migration),
            Box::new(m20261203_000004_contacts_sync::Migration),
            Box::new(m20261203_000005_message_search::Migration),
            Box::new(m20261203_000006_chat_full_profile::Migration),
            Box::new(m20261204_000001_event_horizon::Migration),
            Box::new(m20261205_000001_upload_requests::Migration),
            Box::new(m20261205_000002_outbox_file_upload::Migration),
            Box::new(m20261206_000001_crm_links::Migration),
            Box::new(m20261206_000002_triggers::Migration),
            Box::new(m20261207_000001_audit_and_preferences::Migration),
            Box::new(m20261208_000001_account_leases::Migration),
        ]
    }
}
