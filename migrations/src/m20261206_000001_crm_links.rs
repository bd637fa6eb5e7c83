//! CRM links: LinkChat is idempotent on its `request_id` (unique per
//! tenant, so racing retries make one link), and SuggestLinks looks chats
//! and contacts up by phone number within a tenant.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

const INDEXES: [(&str, &str); 3] = [
    ("ux_crm_links_tenant_request", "crm_links"),
    ("idx_chats_tenant_phone", "chats"),
    ("idx_contacts_tenant_phone", "contacts"),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(CrmLinks::Table)
                    .add_column(text_null(CrmLinks::RequestId))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name(INDEXES[0].0)
                    .table(CrmLinks::Table)
                    .col(CrmLinks::TenantId)
                    .col(CrmLinks::RequestId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name(INDEXES[1].0)
                    .table(Chats::Table)
                    .col(Chats::TenantId)
                    .col(Chats::PhoneNumber)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name(INDEXES[2].0)
                    .table(Contacts::Table)
                    .col(Contacts::TenantId)
                    .col(Contacts::PhoneNumber)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (name, table) in INDEXES {
            manager
                .drop_index(Index::drop().name(name).table(Alias::new(table)).to_owned())
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(CrmLinks::Table)
                    .drop_column(CrmLinks::RequestId)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum CrmLinks {
    Table,
    TenantId,
    RequestId,
}

#[derive(DeriveIden)]
enum Chats {
    Table,
    TenantId,
    PhoneNumber,
}

#[derive(DeriveIden)]
enum Contacts {
    Table,
    TenantId,
    PhoneNumber,
}
