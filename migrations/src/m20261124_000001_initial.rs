//! The initial schema: every table of DESIGN.md §3.
//!
//! Conventions:
//! - Every table that holds tenant data has a `tenant_id` column, and it leads
//!   every index used for lookups, so one tenant's queries never scan another's.
//! - Account ids are UUIDv7 strings (text), so text order is creation order.
//! - Rows that belong to an account reference `accounts.id` with
//!   `ON DELETE CASCADE`: deleting an account erases its chats, messages,
//!   contacts, media, uploads, sends, CRM links and triggers. `events` and
//!   `audit_log` deliberately have no foreign key: the log must be able to
//!   record the deletion itself (the event log is pruned by retention and by
//!   the delete-account flow, the audit log outlives the account).
//! - Secrets (sessions, login state, webhook secrets) are AEAD ciphertext in
//!   `blob` columns with the id of the key that sealed them, for rotation.
//! - JSON is stored as text (portable); enums as their stable stored names.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in tables() {
            manager.create_table(table).await?;
        }
        for index in indexes() {
            manager.create_index(index).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Children before parents, so foreign keys never block a drop.
        let tables: [DynIden; 13] = [
            AuditLog::Table.into_iden(),
            ApiKeys::Table.into_iden(),
            WebhookDeliveries::Table.into_iden(),
            Triggers::Table.into_iden(),
            CrmLinks::Table.into_iden(),
            Outbox::Table.into_iden(),
            Events::Table.into_iden(),
            Uploads::Table.into_iden(),
            Media::Table.into_iden(),
            Contacts::Table.into_iden(),
            Messages::Table.into_iden(),
            Chats::Table.into_iden(),
            Accounts::Table.into_iden(),
        ];
        for table in tables {
            manager
                .drop_table(Table::drop().table(table).if_exists().to_owned())
                .await?;
        }
        Ok(())
    }
}

/// account_fk makes `table.account_id` reference `accounts.id`, cascading.
fn account_fk<T, C>(name: &str, table: T, column: C) -> ForeignKeyCreateStatement
where
    T: IntoIden,
    C: IntoIden,
{
    ForeignKey::create()
        .name(name)
        .from(table, column)
        .to(Accounts::Table, Accounts::Id)
        .on_delete(ForeignKeyAction::Cascade)
        .on_update(ForeignKeyAction::Cascade)
        .to_owned()
}

fn tables() -> Vec<TableCreateStatement> {
    vec![
        Table::create()
            .table(Accounts::Table)
            .if_not_exists()
            .col(text(Accounts::Id).primary_key())
            .col(text(Accounts::TenantId))
            .col(text(Accounts::Kind))
            .col(text(Accounts::State))
            .col(text_null(Accounts::PhoneNumber))
            .col(big_integer_null(Accounts::TelegramUserId))
            .col(text_null(Accounts::Username))
            .col(text(Accounts::DisplayName).default(""))
            .col(text_null(Accounts::PasswordHint))
            .col(blob_null(Accounts::Session))
            .col(text_null(Accounts::SessionKeyId))
            .col(blob_null(Accounts::LoginState))
            .col(text_null(Accounts::LoginKeyId))
            .col(text_null(Accounts::RequestId))
            .col(text_null(Accounts::LeaseOwner))
            .col(timestamp_with_time_zone_null(Accounts::LeaseExpiresAt))
            .col(timestamp_with_time_zone(Accounts::CreatedAt))
            .col(timestamp_with_time_zone(Accounts::UpdatedAt))
            .to_owned(),
        Table::create()
            .table(Chats::Table)
            .if_not_exists()
            .col(text(Chats::AccountId))
            .col(big_integer(Chats::PeerId))
            .col(text(Chats::TenantId))
            .col(text(Chats::Kind))
            .col(text(Chats::Title).default(""))
            .col(text_null(Chats::Username))
            .col(text_null(Chats::FirstName))
            .col(text_null(Chats::LastName))
            .col(text_null(Chats::About))
            .col(integer_null(Chats::MemberCount))
            .col(integer(Chats::UnreadCount).default(0))
            .col(big_integer_null(Chats::LastMessageId))
            .col(timestamp_with_time_zone_null(Chats::TopMessageDate))
            .col(boolean(Chats::Pinned).default(false))
            .col(boolean(Chats::Archived).default(false))
            .col(big_integer_null(Chats::AccessHash))
            .col(timestamp_with_time_zone(Chats::CreatedAt))
            .col(timestamp_with_time_zone(Chats::UpdatedAt))
            .primary_key(Index::create().col(Chats::AccountId).col(Chats::PeerId))
            .foreign_key(&mut account_fk(
                "fk_chats_account",
                Chats::Table,
                Chats::AccountId,
            ))
            .to_owned(),
        Table::create()
            .table(Messages::Table)
            .if_not_exists()
            .col(text(Messages::AccountId))
            .col(big_integer(Messages::PeerId))
            .col(big_integer(Messages::MessageId))
            .col(text(Messages::TenantId))
            .col(big_integer_null(Messages::SenderId))
            .col(boolean(Messages::Outgoing).default(false))
            .col(text(Messages::Text).default(""))
            .col(text(Messages::Entities).default("[]"))
            .col(text_null(Messages::Media))
            .col(big_integer_null(Messages::ReplyTo))
            .col(text_null(Messages::ForwardFrom))
            .col(big_integer_null(Messages::GroupedId))
            .col(timestamp_with_time_zone(Messages::SentAt))
            .col(timestamp_with_time_zone_null(Messages::EditedAt))
            .col(integer_null(Messages::Views))
            .col(text(Messages::State))
            .col(text_null(Messages::RequestId))
            .col(timestamp_with_time_zone(Messages::CreatedAt))
            .col(timestamp_with_time_zone(Messages::UpdatedAt))
            .primary_key(
                Index::create()
                    .col(Messages::AccountId)
                    .col(Messages::PeerId)
                    .col(Messages::MessageId),
            )
            .foreign_key(&mut account_fk(
                "fk_messages_account",
                Messages::Table,
                Messages::AccountId,
            ))
            .to_owned(),
        Table::create()
            .table(Contacts::Table)
            .if_not_exists()
            .col(text(Contacts::AccountId))
            .col(big_integer(Contacts::UserId))
            .col(text(Contacts::TenantId))
            .col(big_integer_null(Contacts::AccessHash))
            .col(text_null(Contacts::PhoneNumber))
            .col(text(Contacts::FirstName).default(""))
            .col(text_null(Contacts::LastName))
            .col(text_null(Contacts::Username))
            .col(boolean(Contacts::Mutual).default(false))
            .col(timestamp_with_time_zone(Contacts::CreatedAt))
            .col(timestamp_with_time_zone(Contacts::UpdatedAt))
            .primary_key(
                Index::create()
                    .col(Contacts::AccountId)
                    .col(Contacts::UserId),
            )
            .foreign_key(&mut account_fk(
                "fk_contacts_account",
                Contacts::Table,
                Contacts::AccountId,
            ))
            .to_owned(),
        Table::create()
            .table(Media::Table)
            .if_not_exists()
            .col(text(Media::MediaId).primary_key())
            .col(text(Media::TenantId))
            .col(text(Media::AccountId))
            .col(text(Media::Kind))
            .col(text_null(Media::FileName))
            .col(text(Media::MimeType).default("application/octet-stream"))
            .col(big_integer_null(Media::SizeBytes))
            .col(integer_null(Media::Width))
            .col(integer_null(Media::Height))
            .col(integer_null(Media::DurationSecs))
            .col(blob_null(Media::Sha256))
            .col(text_null(Media::BlobPath))
            .col(text_null(Media::TelegramRef))
            .col(big_integer_null(Media::PeerId))
            .col(big_integer_null(Media::MessageId))
            .col(timestamp_with_time_zone(Media::CreatedAt))
            .col(timestamp_with_time_zone(Media::UpdatedAt))
            .foreign_key(&mut account_fk(
                "fk_media_account",
                Media::Table,
                Media::AccountId,
            ))
            .to_owned(),
        Table::create()
            .table(Uploads::Table)
            .if_not_exists()
            .col(text(Uploads::UploadId).primary_key())
            .col(text(Uploads::TenantId))
            .col(text(Uploads::AccountId))
            .col(text(Uploads::FileName))
            .col(text(Uploads::MimeType))
            .col(big_integer(Uploads::SizeBytes))
            .col(blob_null(Uploads::Sha256))
            .col(big_integer(Uploads::ReceivedBytes).default(0))
            .col(integer(Uploads::ChunkSize))
            .col(text(Uploads::State))
            .col(text_null(Uploads::MediaId))
            .col(timestamp_with_time_zone(Uploads::ExpiresAt))
            .col(timestamp_with_time_zone(Uploads::CreatedAt))
            .col(timestamp_with_time_zone(Uploads::UpdatedAt))
            .foreign_key(&mut account_fk(
                "fk_uploads_account",
                Uploads::Table,
                Uploads::AccountId,
            ))
            .to_owned(),
        Table::create()
            .table(Events::Table)
            .if_not_exists()
            .col(big_pk_auto(Events::Id))
            .col(text(Events::TenantId))
            .col(text_null(Events::AccountId))
            .col(text(Events::Kind))
            .col(big_integer_null(Events::PeerId))
            .col(blob(Events::Payload))
            .col(timestamp_with_time_zone(Events::CreatedAt))
            .to_owned(),
        Table::create()
            .table(Outbox::Table)
            .if_not_exists()
            .col(text(Outbox::Id).primary_key())
            .col(text(Outbox::TenantId))
            .col(text(Outbox::AccountId))
            .col(text(Outbox::RequestId))
            .col(text(Outbox::Kind))
            .col(big_integer_null(Outbox::PeerId))
            .col(big_integer_null(Outbox::RandomId))
            .col(text(Outbox::Payload))
            .col(text(Outbox::State))
            .col(integer(Outbox::Attempts).default(0))
            .col(timestamp_with_time_zone(Outbox::NextAttemptAt))
            .col(text_null(Outbox::LastError))
            .col(text_null(Outbox::Result))
            .col(timestamp_with_time_zone(Outbox::CreatedAt))
            .col(timestamp_with_time_zone(Outbox::UpdatedAt))
            .foreign_key(&mut account_fk(
                "fk_outbox_account",
                Outbox::Table,
                Outbox::AccountId,
            ))
            .to_owned(),
        Table::create()
            .table(CrmLinks::Table)
            .if_not_exists()
            .col(text(CrmLinks::Id).primary_key())
            .col(text(CrmLinks::TenantId))
            .col(text(CrmLinks::AccountId))
            .col(big_integer(CrmLinks::PeerId))
            .col(text(CrmLinks::EntityType))
            .col(text(CrmLinks::EntityId))
            .col(text(CrmLinks::CreatedBy))
            .col(timestamp_with_time_zone(CrmLinks::CreatedAt))
            .col(timestamp_with_time_zone(CrmLinks::UpdatedAt))
            .foreign_key(&mut account_fk(
                "fk_crm_links_account",
                CrmLinks::Table,
                CrmLinks::AccountId,
            ))
            .to_owned(),
        Table::create()
            .table(Triggers::Table)
            .if_not_exists()
            .col(text(Triggers::Id).primary_key())
            .col(text(Triggers::TenantId))
            .col(text_null(Triggers::AccountId))
            .col(text(Triggers::Name))
            .col(text(Triggers::EventKinds))
            .col(text_null(Triggers::Filter))
            .col(text(Triggers::WebhookUrl))
            .col(blob(Triggers::Secret))
            .col(text(Triggers::SecretKeyId))
            .col(boolean(Triggers::Enabled).default(true))
            .col(timestamp_with_time_zone(Triggers::CreatedAt))
            .col(timestamp_with_time_zone(Triggers::UpdatedAt))
            .foreign_key(&mut account_fk(
                "fk_triggers_account",
                Triggers::Table,
                Triggers::AccountId,
            ))
            .to_owned(),
        Table::create()
            .table(WebhookDeliveries::Table)
            .if_not_exists()
            .col(text(WebhookDeliveries::Id).primary_key())
            .col(text(WebhookDeliveries::TenantId))
            .col(text(WebhookDeliveries::TriggerId))
            .col(big_integer_null(WebhookDeliveries::EventId))
            .col(text(WebhookDeliveries::Url))
            .col(text(WebhookDeliveries::Payload))
            .col(text(WebhookDeliveries::State))
            .col(integer(WebhookDeliveries::Attempts).default(0))
            .col(timestamp_with_time_zone(WebhookDeliveries::NextAttemptAt))
            .col(integer_null(WebhookDeliveries::LastStatusCode))
            .col(text_null(WebhookDeliveries::LastError))
            .col(timestamp_with_time_zone_null(
                WebhookDeliveries::DeliveredAt,
            ))
            .col(timestamp_with_time_zone(WebhookDeliveries::CreatedAt))
            .col(timestamp_with_time_zone(WebhookDeliveries::UpdatedAt))
            .foreign_key(
                ForeignKey::create()
                    .name("fk_webhook_deliveries_trigger")
                    .from(WebhookDeliveries::Table, WebhookDeliveries::TriggerId)
                    .to(Triggers::Table, Triggers::Id)
                    .on_delete(ForeignKeyAction::Cascade)
                    .on_update(ForeignKeyAction::Cascade),
            )
            .to_owned(),
        Table::create()
            .table(ApiKeys::Table)
            .if_not_exists()
            .col(text(ApiKeys::Id).primary_key())
            .col(text(ApiKeys::TenantId))
            .col(text(ApiKeys::Name))
            .col(text(ApiKeys::Scopes))
            .col(blob(ApiKeys::SecretHash))
            .col(timestamp_with_time_zone(ApiKeys::CreatedAt))
            .col(timestamp_with_time_zone_null(ApiKeys::RevokedAt))
            .to_owned(),
        Table::create()
            .table(AuditLog::Table)
            .if_not_exists()
            .col(big_pk_auto(AuditLog::Id))
            .col(text(AuditLog::TenantId))
            .col(text(AuditLog::Principal))
            .col(text(AuditLog::Action))
            .col(text_null(AuditLog::AccountId))
            .col(text(AuditLog::Details).default("{}"))
            .col(timestamp_with_time_zone(AuditLog::CreatedAt))
            .to_owned(),
    ]
}

/// index makes a (non-unique) index; names are global on PostgreSQL, so every
/// name starts with its table.
fn index<T: IntoIden>(name: &str, table: T) -> IndexCreateStatement {
    Index::create()
        .name(name)
        .table(table)
        .if_not_exists()
        .to_owned()
}

fn indexes() -> Vec<IndexCreateStatement> {
    vec![
        // accounts: list pages (tenant, id > after); idempotent creates.
        index("idx_accounts_tenant_id", Accounts::Table)
            .col(Accounts::TenantId)
            .col(Accounts::Id)
            .to_owned(),
        index("ux_accounts_tenant_request", Accounts::Table)
            .col(Accounts::TenantId)
            .col(Accounts::RequestId)
            .unique()
            .to_owned(),
        index("idx_accounts_tenant_telegram_user", Accounts::Table)
            .col(Accounts::TenantId)
            .col(Accounts::TelegramUserId)
            .to_owned(),
        // The lease sweep looks for accounts whose lease ran out.
        index("idx_accounts_lease_expires", Accounts::Table)
            .col(Accounts::LeaseExpiresAt)
            .to_owned(),
        // chats: an account's chat list, most recent first.
        index("idx_chats_tenant_account_top", Chats::Table)
            .col(Chats::TenantId)
            .col(Chats::AccountId)
            .col((Chats::TopMessageDate, IndexOrder::Desc))
            .to_owned(),
        // messages: history pages (newest first) and time ranges.
        index("idx_messages_history", Messages::Table)
            .col(Messages::TenantId)
            .col(Messages::AccountId)
            .col(Messages::PeerId)
            .col((Messages::MessageId, IndexOrder::Desc))
            .to_owned(),
        index("idx_messages_time", Messages::Table)
            .col(Messages::TenantId)
            .col(Messages::AccountId)
            .col(Messages::PeerId)
            .col(Messages::SentAt)
            .to_owned(),
        index("idx_contacts_tenant_account", Contacts::Table)
            .col(Contacts::TenantId)
            .col(Contacts::AccountId)
            .col(Contacts::UserId)
            .to_owned(),
        index("idx_media_tenant_account_message", Media::Table)
            .col(Media::TenantId)
            .col(Media::AccountId)
            .col(Media::PeerId)
            .col(Media::MessageId)
            .to_owned(),
        index("idx_uploads_tenant_account", Uploads::Table)
            .col(Uploads::TenantId)
            .col(Uploads::AccountId)
            .to_owned(),
        // Expired uploads are garbage-collected across tenants.
        index("idx_uploads_expires", Uploads::Table)
            .col(Uploads::ExpiresAt)
            .to_owned(),
        // events: resume (tenant, id > cursor), per-account streams, retention.
        index("idx_events_tenant_id", Events::Table)
            .col(Events::TenantId)
            .col(Events::Id)
            .to_owned(),
        index("idx_events_tenant_account_id", Events::Table)
            .col(Events::TenantId)
            .col(Events::AccountId)
            .col(Events::Id)
            .to_owned(),
        index("idx_events_created", Events::Table)
            .col(Events::CreatedAt)
            .to_owned(),
        // outbox: idempotency on request_id, and the account worker's queue.
        index("ux_outbox_tenant_account_request", Outbox::Table)
            .col(Outbox::TenantId)
            .col(Outbox::AccountId)
            .col(Outbox::RequestId)
            .unique()
            .to_owned(),
        index("idx_outbox_account_due", Outbox::Table)
            .col(Outbox::AccountId)
            .col(Outbox::State)
            .col(Outbox::NextAttemptAt)
            .to_owned(),
        // crm_links: one link per (chat, CRM record); lookups both ways.
        index("ux_crm_links_chat_entity", CrmLinks::Table)
            .col(CrmLinks::TenantId)
            .col(CrmLinks::AccountId)
            .col(CrmLinks::PeerId)
            .col(CrmLinks::EntityType)
            .col(CrmLinks::EntityId)
            .unique()
            .to_owned(),
        index("idx_crm_links_entity", CrmLinks::Table)
            .col(CrmLinks::TenantId)
            .col(CrmLinks::EntityType)
            .col(CrmLinks::EntityId)
            .to_owned(),
        index("idx_triggers_tenant_account", Triggers::Table)
            .col(Triggers::TenantId)
            .col(Triggers::AccountId)
            .to_owned(),
        index(
            "idx_webhook_deliveries_tenant_trigger",
            WebhookDeliveries::Table,
        )
        .col(WebhookDeliveries::TenantId)
        .col(WebhookDeliveries::TriggerId)
        .col(WebhookDeliveries::CreatedAt)
        .to_owned(),
        // The delivery worker polls due deliveries across tenants.
        index("idx_webhook_deliveries_due", WebhookDeliveries::Table)
            .col(WebhookDeliveries::State)
            .col(WebhookDeliveries::NextAttemptAt)
            .to_owned(),
        index("idx_api_keys_tenant_id", ApiKeys::Table)
            .col(ApiKeys::TenantId)
            .col(ApiKeys::Id)
            .to_owned(),
        index("idx_audit_log_tenant_id", AuditLog::Table)
            .col(AuditLog::TenantId)
            .col(AuditLog::Id)
            .to_owned(),
        index("idx_audit_log_tenant_account", AuditLog::Table)
            .col(AuditLog::TenantId)
            .col(AuditLog::AccountId)
            .col(AuditLog::Id)
            .to_owned(),
        index("idx_audit_log_created", AuditLog::Table)
            .col(AuditLog::CreatedAt)
            .to_owned(),
    ]
}

#[derive(DeriveIden)]
enum Accounts {
    Table,
    Id,
    TenantId,
    Kind,
    State,
    PhoneNumber,
    TelegramUserId,
    Username,
    DisplayName,
    PasswordHint,
    Session,
    SessionKeyId,
    LoginState,
    LoginKeyId,
    RequestId,
    LeaseOwner,
    LeaseExpiresAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Chats {
    Table,
    AccountId,
    PeerId,
    TenantId,
    Kind,
    Title,
    Username,
    FirstName,
    LastName,
    About,
    MemberCount,
    UnreadCount,
    LastMessageId,
    TopMessageDate,
    Pinned,
    Archived,
    AccessHash,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Messages {
    Table,
    AccountId,
    PeerId,
    MessageId,
    TenantId,
    SenderId,
    Outgoing,
    Text,
    Entities,
    Media,
    ReplyTo,
    ForwardFrom,
    GroupedId,
    SentAt,
    EditedAt,
    Views,
    State,
    RequestId,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Contacts {
    Table,
    AccountId,
    UserId,
    TenantId,
    AccessHash,
    PhoneNumber,
    FirstName,
    LastName,
    Username,
    Mutual,
    CreatedAt,
    UpdatedAt,
}

// The column is `media_id` (as `upload_id` in uploads), so the variant repeats
// the enum's name.
#[allow(clippy::enum_variant_names)]
#[derive(DeriveIden)]
enum Media {
    Table,
    MediaId,
    TenantId,
    AccountId,
    Kind,
    FileName,
    MimeType,
    SizeBytes,
    Width,
    Height,
    DurationSecs,
    Sha256,
    BlobPath,
    TelegramRef,
    PeerId,
    MessageId,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Uploads {
    Table,
    UploadId,
    TenantId,
    AccountId,
    FileName,
    MimeType,
    SizeBytes,
    Sha256,
    ReceivedBytes,
    ChunkSize,
    State,
    MediaId,
    ExpiresAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Events {
    Table,
    Id,
    TenantId,
    AccountId,
    Kind,
    PeerId,
    Payload,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Outbox {
    Table,
    Id,
    TenantId,
    AccountId,
    RequestId,
    Kind,
    PeerId,
    RandomId,
    Payload,
    State,
    Attempts,
    NextAttemptAt,
    LastError,
    Result,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum CrmLinks {
    Table,
    Id,
    TenantId,
    AccountId,
    PeerId,
    EntityType,
    EntityId,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Triggers {
    Table,
    Id,
    TenantId,
    AccountId,
    Name,
    EventKinds,
    Filter,
    WebhookUrl,
    Secret,
    SecretKeyId,
    Enabled,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum WebhookDeliveries {
    Table,
    Id,
    TenantId,
    TriggerId,
    EventId,
    Url,
    Payload,
    State,
    Attempts,
    NextAttemptAt,
    LastStatusCode,
    LastError,
    DeliveredAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum ApiKeys {
    Table,
    Id,
    TenantId,
    Name,
    Scopes,
    SecretHash,
    CreatedAt,
    RevokedAt,
}

#[derive(DeriveIden)]
enum AuditLog {
    Table,
    Id,
    TenantId,
    Principal,
    Action,
    AccountId,
    Details,
    CreatedAt,
}
