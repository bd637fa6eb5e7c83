//! The durable send queue: one outbox row per SendMessage, unique per
//! (tenant, request_id) so a retried request finds its row instead of
//! sending again, whichever account it named (the initial schema's
//! (tenant, account, request_id) index let one id name two sends); a sent
//! row keeps the message id. The account's due rows are found by the
//! initial schema's (account_id, state, next_attempt_at) index.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Outbox::Table)
                    .add_column(big_integer_null(Outbox::MessageId))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_outbox_tenant_request")
                    .table(Outbox::Table)
                    .col(Outbox::TenantId)
                    .col(Outbox::RequestId)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("ux_outbox_tenant_request")
                    .table(Outbox::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Outbox::Table)
                    .drop_column(Outbox::MessageId)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum Outbox {
    Table,
    TenantId,
    RequestId,
    MessageId,
}
