//! The account spine, hardened:
//! - `session_epoch` / `session_version` make session writes compare-and-set
//!   (a stale flusher, or a revocation of an older session, is refused);
//! - one account per (tenant, Telegram user) and per (tenant, phone number),
//!   enforced by unique indexes so concurrent logins cannot race past it.
//!   NULLs never collide in a unique index (PostgreSQL and SQLite alike), so
//!   accounts still logging in (no user yet) and bots (no phone) are free.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite takes one change per ALTER TABLE.
        for column in [Accounts::SessionEpoch, Accounts::SessionVersion] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Accounts::Table)
                        .add_column(big_integer(column).default(0))
                        .to_owned(),
                )
                .await?;
        }
        manager
            .drop_index(
                Index::drop()
                    .name("idx_accounts_tenant_telegram_user")
                    .table(Accounts::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_accounts_tenant_telegram_user")
                    .table(Accounts::Table)
                    .col(Accounts::TenantId)
                    .col(Accounts::TelegramUserId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_accounts_tenant_phone")
                    .table(Accounts::Table)
                    .col(Accounts::TenantId)
                    .col(Accounts::PhoneNumber)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for name in [
            "ux_accounts_tenant_phone",
            "ux_accounts_tenant_telegram_user",
        ] {
            manager
                .drop_index(Index::drop().name(name).table(Accounts::Table).to_owned())
                .await?;
        }
        manager
            .create_index(
                Index::create()
                    .name("idx_accounts_tenant_telegram_user")
                    .table(Accounts::Table)
                    .col(Accounts::TenantId)
                    .col(Accounts::TelegramUserId)
                    .to_owned(),
            )
            .await?;
        for column in [Accounts::SessionVersion, Accounts::SessionEpoch] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Accounts::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum Accounts {
    Table,
    TenantId,
    TelegramUserId,
    PhoneNumber,
    SessionEpoch,
    SessionVersion,
}
