//! Scale-out: the gateway processes sharing a database, and which of them
//! owns each authorized account.
//!
//! - `instances` is one row per live gateway process: its id (new at every
//!   start), the address other instances reach it at, when it last said it
//!   was alive, and whether it is draining (shutting down).
//! - `account_leases` is one row per account that was ever owned: the
//!   owning instance, the lease's epoch (moved on by every acquisition, so
//!   a write carrying an older epoch is refused: fencing) and when the
//!   lease runs out unless renewed. It goes with its account (cascade).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Instances::Table)
                    .if_not_exists()
                    .col(text(Instances::Id).primary_key())
                    .col(text(Instances::Address).default(""))
                    .col(timestamp_with_time_zone(Instances::StartedAt))
                    .col(timestamp_with_time_zone(Instances::HeartbeatAt))
                    .col(boolean(Instances::Draining).default(false))
                    .col(boolean(Instances::Supervises).default(true))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(AccountLeases::Table)
                    .if_not_exists()
                    .col(text(AccountLeases::AccountId).primary_key())
                    .col(text(AccountLeases::TenantId))
                    .col(text(AccountLeases::Owner))
                    .col(big_integer(AccountLeases::Epoch))
                    .col(timestamp_with_time_zone(AccountLeases::ExpiresAt))
                    .col(timestamp_with_time_zone(AccountLeases::AcquiredAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_account_leases_account")
                            .from(AccountLeases::Table, AccountLeases::AccountId)
                            .to(Accounts::Table, Accounts::Id)
                            .on_delete(ForeignKeyAction::Cascade)
                            .on_update(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_account_leases_owner")
                    .table(AccountLeases::Table)
                    .col(AccountLeases::Owner)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(AccountLeases::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Instances::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum Instances {
    Table,
    Id,
    Address,
    StartedAt,
    HeartbeatAt,
    Draining,
    Supervises,
}

#[derive(DeriveIden)]
enum AccountLeases {
    Table,
    AccountId,
    TenantId,
    Owner,
    Epoch,
    ExpiresAt,
    AcquiredAt,
}

#[derive(DeriveIden)]
enum Accounts {
    Table,
    Id,
}
