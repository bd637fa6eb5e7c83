//! The audit log's reader and each principal's preferences.
//!
//! - `audit_log` gains how its principal authenticated (`principal_kind`:
//!   user or api_key) and the chat acted on (`peer_id`), and an index for
//!   listing one principal's entries.
//! - `webhook_deliveries` gains the account its event was about, so
//!   DeleteAccount erases the deliveries that carry the account's messages
//!   (their events may already have left the log).
//! - `user_preferences` is one row per (tenant, principal).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

const INDEXES: [(&str, &str); 2] = [
    ("idx_audit_log_tenant_principal", "audit_log"),
    ("idx_webhook_deliveries_account", "webhook_deliveries"),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per ALTER: SQLite adds one at a time.
        for mut column in [
            text(AuditLog::PrincipalKind).default("user").to_owned(),
            big_integer_null(AuditLog::PeerId),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(AuditLog::Table)
                        .add_column(&mut column)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(WebhookDeliveries::Table)
                    .add_column(text_null(WebhookDeliveries::AccountId))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name(INDEXES[0].0)
                    .table(AuditLog::Table)
                    .col(AuditLog::TenantId)
                    .col(AuditLog::Principal)
                    .col(AuditLog::Id)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name(INDEXES[1].0)
                    .table(WebhookDeliveries::Table)
                    .col(WebhookDeliveries::AccountId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(UserPreferences::Table)
                    .if_not_exists()
                    .col(text(UserPreferences::TenantId))
                    .col(text(UserPreferences::Principal))
                    .col(text_null(UserPreferences::DefaultAccountId))
                    .col(text(UserPreferences::Signature).default(""))
                    .col(text(UserPreferences::NotifyKinds).default("[]"))
                    .col(timestamp_with_time_zone(UserPreferences::CreatedAt))
                    .col(timestamp_with_time_zone(UserPreferences::UpdatedAt))
                    .primary_key(
                        Index::create()
                            .col(UserPreferences::TenantId)
                            .col(UserPreferences::Principal),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(UserPreferences::Table).to_owned())
            .await?;
        for (name, table) in INDEXES {
            manager
                .drop_index(Index::drop().name(name).table(Alias::new(table)).to_owned())
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(WebhookDeliveries::Table)
                    .drop_column(WebhookDeliveries::AccountId)
                    .to_owned(),
            )
            .await?;
        for column in [AuditLog::PrincipalKind, AuditLog::PeerId] {
            manager
                .alter_table(
                    Table::alter()
                        .table(AuditLog::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum AuditLog {
    Table,
    Id,
    TenantId,
    Principal,
    PrincipalKind,
    PeerId,
}

#[derive(DeriveIden)]
enum WebhookDeliveries {
    Table,
    AccountId,
}

#[derive(DeriveIden)]
enum UserPreferences {
    Table,
    TenantId,
    Principal,
    DefaultAccountId,
    Signature,
    NotifyKinds,
    CreatedAt,
    UpdatedAt,
}
