//! Triggers and their webhook deliveries.
//!
//! - `triggers` gains what CrmService needs: the request id of the
//!   CreateTrigger that made it (unique per tenant), its action, the event
//!   log position it starts after, the previous webhook secret while a
//!   rotation overlaps, and why the gateway disabled it.
//! - `webhook_deliveries` gains its give-up time, the last attempt's time
//!   and latency and the attempt log; one delivery per (trigger, event).
//! - `trigger_progress` is how far the log has been evaluated: one row,
//!   moved by compare-and-set in the transaction that records what fired,
//!   so each (trigger, event) pair fires once however many processes run.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per ALTER: SQLite adds one at a time.
        let trigger_columns = [
            text_null(Triggers::RequestId),
            text(Triggers::Action).default("webhook").to_owned(),
            big_integer(Triggers::AfterPosition).default(0).to_owned(),
            blob_null(Triggers::PreviousSecret),
            text_null(Triggers::PreviousSecretKeyId),
            timestamp_with_time_zone_null(Triggers::PreviousSecretUntil),
            text_null(Triggers::DisabledReason),
        ];
        for mut column in trigger_columns {
            manager
                .alter_table(
                    Table::alter()
                        .table(Triggers::Table)
                        .add_column(&mut column)
                        .to_owned(),
                )
                .await?;
        }
        let delivery_columns = [
            timestamp_with_time_zone_null(WebhookDeliveries::GiveUpAt),
            timestamp_with_time_zone_null(WebhookDeliveries::LastAttemptAt),
            integer_null(WebhookDeliveries::LastLatencyMs),
            text(WebhookDeliveries::AttemptLog).default("[]").to_owned(),
        ];
        for mut column in delivery_columns {
            manager
                .alter_table(
                    Table::alter()
                        .table(WebhookDeliveries::Table)
                        .add_column(&mut column)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .create_index(
                Index::create()
                    .name("ux_triggers_tenant_request")
                    .table(Triggers::Table)
                    .col(Triggers::TenantId)
                    .col(Triggers::RequestId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_webhook_deliveries_trigger_event")
                    .table(WebhookDeliveries::Table)
                    .col(WebhookDeliveries::TriggerId)
                    .col(WebhookDeliveries::EventId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(TriggerProgress::Table)
                    .if_not_exists()
                    .col(integer(TriggerProgress::Id).primary_key())
                    .col(big_integer(TriggerProgress::Position))
                    .col(timestamp_with_time_zone(TriggerProgress::UpdatedAt))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(TriggerProgress::Table).to_owned())
            .await?;
        for (name, table) in [
            ("ux_webhook_deliveries_trigger_event", "webhook_deliveries"),
            ("ux_triggers_tenant_request", "triggers"),
        ] {
            manager
                .drop_index(Index::drop().name(name).table(Alias::new(table)).to_owned())
                .await?;
        }
        for column in [
            WebhookDeliveries::GiveUpAt,
            WebhookDeliveries::LastAttemptAt,
            WebhookDeliveries::LastLatencyMs,
            WebhookDeliveries::AttemptLog,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(WebhookDeliveries::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        for column in [
            Triggers::RequestId,
            Triggers::Action,
            Triggers::AfterPosition,
            Triggers::PreviousSecret,
            Triggers::PreviousSecretKeyId,
            Triggers::PreviousSecretUntil,
            Triggers::DisabledReason,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Triggers::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum Triggers {
    Table,
    TenantId,
    RequestId,
    Action,
    AfterPosition,
    PreviousSecret,
    PreviousSecretKeyId,
    PreviousSecretUntil,
    DisabledReason,
}

#[derive(DeriveIden)]
enum WebhookDeliveries {
    Table,
    TriggerId,
    EventId,
    GiveUpAt,
    LastAttemptAt,
    LastLatencyMs,
    AttemptLog,
}

#[derive(DeriveIden)]
enum TriggerProgress {
    Table,
    Id,
    Position,
    UpdatedAt,
}
