//! Chats and messages, served:
//! - chats carry their read maxima (inbox and outbox: the read ticks), mute
//!   state, phone number, a `sort_key` (pinned first, then newest activity)
//!   indexed for the per-account and per-tenant chat lists, and the history
//!   coverage: every message with an id at or above `history_floor` is
//!   stored, `history_complete` once the floor reached the first message;
//! - messages carry a service message's action and a failed send's reason;
//! - accounts remember when their chat list was loaded from Telegram.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite takes one change per ALTER TABLE.
        let chat_columns = [
            big_integer(Chats::ReadInboxMaxId).default(0).to_owned(),
            big_integer(Chats::ReadOutboxMaxId).default(0).to_owned(),
            timestamp_with_time_zone_null(Chats::MutedUntil).to_owned(),
            text_null(Chats::PhoneNumber).to_owned(),
            big_integer(Chats::SortKey).default(0).to_owned(),
            big_integer_null(Chats::HistoryFloor).to_owned(),
            boolean(Chats::HistoryComplete).default(false).to_owned(),
            integer_null(Chats::MessageCount).to_owned(),
        ];
        for mut column in chat_columns {
            manager
                .alter_table(
                    Table::alter()
                        .table(Chats::Table)
                        .add_column(&mut column)
                        .to_owned(),
                )
                .await?;
        }
        for mut column in [
            text_null(Messages::Action).to_owned(),
            text_null(Messages::ErrorReason).to_owned(),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Messages::Table)
                        .add_column(&mut column)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(Accounts::Table)
                    .add_column(timestamp_with_time_zone_null(Accounts::DialogsLoadedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_chats_account_sort")
                    .table(Chats::Table)
                    .col(Chats::AccountId)
                    .col(Chats::SortKey)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_chats_tenant_sort")
                    .table(Chats::Table)
                    .col(Chats::TenantId)
                    .col(Chats::SortKey)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for name in ["idx_chats_tenant_sort", "idx_chats_account_sort"] {
            manager
                .drop_index(Index::drop().name(name).table(Chats::Table).to_owned())
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(Accounts::Table)
                    .drop_column(Accounts::DialogsLoadedAt)
                    .to_owned(),
            )
            .await?;
        for column in [Messages::ErrorReason, Messages::Action] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Messages::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        for column in [
            Chats::MessageCount,
            Chats::HistoryComplete,
            Chats::HistoryFloor,
            Chats::SortKey,
            Chats::PhoneNumber,
            Chats::MutedUntil,
            Chats::ReadOutboxMaxId,
            Chats::ReadInboxMaxId,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Chats::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum Chats {
    Table,
    AccountId,
    TenantId,
    ReadInboxMaxId,
    ReadOutboxMaxId,
    MutedUntil,
    PhoneNumber,
    SortKey,
    HistoryFloor,
    HistoryComplete,
    MessageCount,
}

#[derive(DeriveIden)]
enum Messages {
    Table,
    Action,
    ErrorReason,
}

#[derive(DeriveIden)]
enum Accounts {
    Table,
    DialogsLoadedAt,
}
