//! Contacts as a synced copy: when the account's contact list was last
//! replaced from Telegram (ListContacts re-reads it after 30 minutes), and
//! an index in the list's order (first name, last name, user id) for its
//! keyset pages.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Accounts::Table)
                    .add_column(timestamp_with_time_zone_null(Accounts::ContactsSyncedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_contacts_account_name")
                    .table(Contacts::Table)
                    .col(Contacts::AccountId)
                    .col(Contacts::FirstName)
                    .col(Contacts::LastName)
                    .col(Contacts::UserId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("idx_contacts_account_name")
                    .table(Contacts::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Accounts::Table)
                    .drop_column(Accounts::ContactsSyncedAt)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum Accounts {
    Table,
    ContactsSyncedAt,
}

#[derive(DeriveIden)]
enum Contacts {
    Table,
    AccountId,
    FirstName,
    LastName,
    UserId,
}
