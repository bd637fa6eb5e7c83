//! How far the event log was pruned: the retention sweep deletes events up
//! to a position and records it here in the same transaction, so a cursor
//! at or below it is known to be expired (CURSOR_EXPIRED) even when no
//! event is left to compare it with. One row, `id` 1.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(EventHorizon::Table)
                    .col(integer(EventHorizon::Id).primary_key())
                    .col(big_integer(EventHorizon::PrunedThrough))
                    .col(timestamp_with_time_zone(EventHorizon::PrunedAt))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(EventHorizon::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum EventHorizon {
    Table,
    Id,
    PrunedThrough,
    PrunedAt,
}
