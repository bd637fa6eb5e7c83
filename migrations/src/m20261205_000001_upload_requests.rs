//! CreateUpload is idempotent on its `request_id`, per account: the
//! request id is stored with the upload and unique per (tenant, account),
//! so two racing retries make one upload.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Uploads::Table)
                    .add_column(text_null(Uploads::RequestId))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_uploads_tenant_account_request")
                    .table(Uploads::Table)
                    .col(Uploads::TenantId)
                    .col(Uploads::AccountId)
                    .col(Uploads::RequestId)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("ux_uploads_tenant_account_request")
                    .table(Uploads::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Uploads::Table)
                    .drop_column(Uploads::RequestId)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum Uploads {
    Table,
    TenantId,
    AccountId,
    RequestId,
}
