//! `TriggerStore` on `triggers`, `trigger_progress` and
//! `webhook_deliveries`.
//!
//! Who writes what:
//! - a trigger: CrmService calls; an update is a compare-and-set on its
//!   `updated_at`, so of two racing updates one wins and the other gets
//!   CONFLICT; the per-tenant count is checked under a tenant lock
//!   (PostgreSQL advisory lock; SQLite writes one at a time);
//! - the progress row: whichever process evaluates the log, by
//!   compare-and-set from the position it read, in the transaction that
//!   appends the trigger_fired events and stores the deliveries — so a
//!   stretch of the log is recorded once;
//! - a delivery: the worker that claimed its attempt (compare-and-set on
//!   `attempts`), and RedeliverWebhook.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, Statement,
};

use super::entities::{
    chats, crm_links, events, messages, trigger_progress, triggers, webhook_deliveries,
};
use super::{Store, StoreResultExt};
use crate::domain::chat::ChatKind;
use crate::domain::crm::EntityType;
use crate::domain::event::{Event, EventKind, EventPayload, NewEvent};
use crate::domain::ports::{EventLog, StoreError, TriggerStore};
use crate::domain::trigger::{
    Action, Attempt, ChatFacts, Conditions, Delivery, DeliveryState, Firing, MAX_ATTEMPT_LOG,
    MAX_TRIGGERS, Outcome, SealedSecret, Trigger, Webhook,
};
use crate::domain::{AccountId, TenantId};

const TRIGGER: &str = "trigger";
const DELIVERY: &str = "delivery";

fn json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("stored values serialize to json")
}

fn trigger_from_row(row: triggers::Model) -> Result<Trigger, StoreError> {
    let corrupt = |what: &str| StoreError::Corrupt(format!("trigger {}: {what}", row.id));
    let kinds: Vec<EventKind> =
        serde_json::from_str(&row.event_kinds).map_err(|_| corrupt("event kinds"))?;
    let conditions: Conditions = match &row.filter {
        Some(text) => serde_json::from_str(text).map_err(|_| corrupt("conditions"))?,
        None => Conditions::default(),
    };
    let action = match row.action.as_str() {
        "stream" => Action::Stream,
        "webhook" => Action::Webhook(Webhook {
            url: row.webhook_url.clone(),
            secret: SealedSecret {
                sealed: row.secret.clone(),
                key_id: row.secret_key_id.clone(),
            },
            previous: match (
                &row.previous_secret,
                &row.previous_secret_key_id,
                row.previous_secret_until,
            ) {
                (Some(sealed), Some(key_id), Some(until)) => Some((
                    SealedSecret {
                        sealed: sealed.clone(),
                        key_id: key_id.clone(),
                    },
                    until,
                )),
                _ => None,
            },
        }),
        _ => return Err(corrupt("action")),
    };
    Ok(Trigger {
        tenant: TenantId::parse(&row.tenant_id).ok_or_else(|| corrupt("tenant"))?,
        name: row.name,
        kinds,
        conditions,
        action,
        enabled: row.enabled,
        disabled_reason: row.disabled_reason,
        request_id: row.request_id,
        after_position: row.after_position,
        created_at: row.created_at,
        updated_at: row.updated_at,
        id: row.id,
    })
}

fn trigger_row(trigger: &Trigger) -> triggers::ActiveModel {
    let (action, url, secret, previous) = match &trigger.action {
        Action::Stream => ("stream", String::new(), None, None),
        Action::Webhook(webhook) => (
            "webhook",
            webhook.url.clone(),
            Some(webhook.secret.clone()),
            webhook.previous.clone(),
        ),
    };
    let (secret, key_id) = secret.map_or((Vec::new(), String::new()), |s| (s.sealed, s.key_id));
    let (previous_secret, previous_key_id, previous_until) = match previous {
        Some((sealed, until)) => (Some(sealed.sealed), Some(sealed.key_id), Some(until)),
        None => (None, None, None),
    };
    triggers::ActiveModel {
        id: Set(trigger.id.clone()),
        tenant_id: Set(trigger.tenant.as_str().to_owned()),
        account_id: Set(None),
        name: Set(trigger.name.clone()),
        event_kinds: Set(json(&trigger.kinds)),
        filter: Set(Some(json(&trigger.conditions))),
        webhook_url: Set(url),
        secret: Set(secret),
        secret_key_id: Set(key_id),
        enabled: Set(trigger.enabled),
        request_id: Set(trigger.request_id.clone()),
        action: Set(action.to_owned()),
        after_position: Set(trigger.after_position),
        previous_secret: Set(previous_secret),
        previous_secret_key_id: Set(previous_key_id),
        previous_secret_until: Set(previous_until),
        disabled_reason: Set(trigger.disabled_reason.clone()),
        created_at: Set(trigger.created_at),
        updated_at: Set(trigger.updated_at),
    }
}

fn delivery_from_row(row: webhook_deliveries::Model) -> Result<Delivery, StoreError> {
    let corrupt = |what: &str| StoreError::Corrupt(format!("delivery {}: {what}", row.id));
    Ok(Delivery {
        tenant: TenantId::parse(&row.tenant_id).ok_or_else(|| corrupt("tenant"))?,
        trigger_id: row.trigger_id,
        event_position: row.event_id.unwrap_or_default(),
        url: row.url,
        body: row.payload,
        state: DeliveryState::parse(&row.state).ok_or_else(|| corrupt("state"))?,
        attempts: row.attempts,
        next_attempt_at: row.next_attempt_at,
        give_up_at: row.give_up_at.unwrap_or(row.created_at),
        last_status: row.last_status_code,
        last_error: row.last_error,
        last_attempt_at: row.last_attempt_at,
        last_latency_ms: row.last_latency_ms,
        log: serde_json::from_str(&row.attempt_log).map_err(|_| corrupt("attempt log"))?,
        created_at: row.created_at,
        id: row.id,
    })
}

/// lock_tenant_triggers serializes trigger creation per tenant on
/// PostgreSQL (SQLite's write transactions already are), so the count
/// check holds.
async fn lock_tenant_triggers(
    txn: &impl ConnectionTrait,
    tenant: &TenantId,
) -> Result<(), StoreError> {
    if txn.get_database_backend() == DbBackend::Postgres {
        txn.execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT pg_advisory_xact_lock(hashtext($1))",
            [format!("triggers:{tenant}").into()],
        ))
        .await
        .store_err(TRIGGER)?;
    }
    Ok(())
}

#[async_trait]
impl TriggerStore for Store {
    async fn create_trigger(&self, trigger: &Trigger) -> Result<Trigger, StoreError> {
        let txn = self.begin_write().await?;
        lock_tenant_triggers(&txn, &trigger.tenant).await?;
        if let Some(request_id) = &trigger.request_id
            && let Some(row) = triggers::Entity::find()
                .filter(triggers::Column::TenantId.eq(trigger.tenant.as_str()))
                .filter(triggers::Column::RequestId.eq(request_id.as_str()))
                .one(&txn)
                .await
                .store_err(TRIGGER)?
        {
            return trigger_from_row(row);
        }
        let count = triggers::Entity::find()
            .filter(triggers::Column::TenantId.eq(trigger.tenant.as_str()))
            .count(&txn)
            .await
            .store_err(TRIGGER)?;
        if count >= MAX_TRIGGERS {
            return Err(StoreError::Conflict { resource: TRIGGER });
        }
        let mut stored = trigger.clone();
        // Events up to the head are older than the trigger.
        stored.after_position = self.head().await?;
        let inserted = triggers::Entity::insert(trigger_row(&stored))
            .exec_without_returning(&txn)
            .await
            .store_err(TRIGGER);
        match inserted {
            Ok(_) => {
                txn.commit().await.store_err(TRIGGER)?;
                Ok(stored)
            }
            // A racing call with the same request id made it first.
            Err(StoreError::AlreadyExists { .. }) => {
                drop(txn);
                triggers::Entity::find()
                    .filter(triggers::Column::TenantId.eq(trigger.tenant.as_str()))
                    .filter(triggers::Column::RequestId.eq(trigger.request_id.clone()))
                    .one(self.connection())
                    .await
                    .store_err(TRIGGER)?
                    .ok_or(StoreError::AlreadyExists { resource: TRIGGER })
                    .and_then(trigger_from_row)
            }
            Err(err) => Err(err),
        }
    }

    async fn trigger(&self, tenant: &TenantId, id: &str) -> Result<Option<Trigger>, StoreError> {
        triggers::Entity::find_by_id(id.to_owned())
            .filter(triggers::Column::TenantId.eq(tenant.as_str()))
            .one(self.connection())
            .await
            .store_err(TRIGGER)?
            .map(trigger_from_row)
            .transpose()
    }

    async fn triggers(
        &self,
        tenant: &TenantId,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<Trigger>, StoreError> {
        let mut query =
            triggers::Entity::find().filter(triggers::Column::TenantId.eq(tenant.as_str()));
        if let Some(after) = after {
            query = query.filter(triggers::Column::Id.gt(after));
        }
        query
            .order_by_asc(triggers::Column::Id)
            .limit(u64::from(limit))
            .all(self.connection())
            .await
            .store_err(TRIGGER)?
            .into_iter()
            .map(trigger_from_row)
            .collect()
    }

    async fn update_trigger(
        &self,
        trigger: &Trigger,
        expected_update: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut row = trigger_row(trigger);
        // Never rewritten by an update.
        row.id = sea_orm::ActiveValue::NotSet;
        row.tenant_id = sea_orm::ActiveValue::NotSet;
        row.request_id = sea_orm::ActiveValue::NotSet;
        row.after_position = sea_orm::ActiveValue::NotSet;
        row.created_at = sea_orm::ActiveValue::NotSet;
        let updated = triggers::Entity::update_many()
            .set(row)
            .filter(triggers::Column::Id.eq(trigger.id.as_str()))
            .filter(triggers::Column::TenantId.eq(trigger.tenant.as_str()))
            .filter(triggers::Column::UpdatedAt.eq(expected_update))
            .exec(self.connection())
            .await
            .store_err(TRIGGER)?
            .rows_affected;
        if updated == 0 {
            return Err(StoreError::Conflict { resource: TRIGGER });
        }
        Ok(())
    }

    async fn delete_trigger(&self, tenant: &TenantId, id: &str) -> Result<(), StoreError> {
        let txn = self.begin_write().await?;
        // Deliveries go first: SQLite enforces foreign keys only when told.
        webhook_deliveries::Entity::delete_many()
            .filter(webhook_deliveries::Column::TenantId.eq(tenant.as_str()))
            .filter(webhook_deliveries::Column::TriggerId.eq(id))
            .exec(&txn)
            .await
            .store_err(DELIVERY)?;
        let deleted = triggers::Entity::delete_many()
            .filter(triggers::Column::TenantId.eq(tenant.as_str()))
            .filter(triggers::Column::Id.eq(id))
            .exec(&txn)
            .await
            .store_err(TRIGGER)?
            .rows_affected;
        if deleted == 0 {
            return Err(StoreError::NotFound { resource: TRIGGER });
        }
        txn.commit().await.store_err(TRIGGER)
    }

    async fn enabled_triggers(&self, tenants: &[TenantId]) -> Result<Vec<Trigger>, StoreError> {
        if tenants.is_empty() {
            return Ok(Vec::new());
        }
        triggers::Entity::find()
            .filter(triggers::Column::TenantId.is_in(tenants.iter().map(|t| t.as_str())))
            .filter(triggers::Column::Enabled.eq(true))
            .order_by_asc(triggers::Column::Id)
            .all(self.connection())
            .await
            .store_err(TRIGGER)?
            .into_iter()
            .map(trigger_from_row)
            .collect()
    }

    async fn trigger_progress(&self) -> Result<i64, StoreError> {
        if let Some(row) = trigger_progress::Entity::find_by_id(1)
            .one(self.connection())
            .await
            .store_err(TRIGGER)?
        {
            return Ok(row.position);
        }
        let head = self.head().await?;
        trigger_progress::Entity::insert(trigger_progress::ActiveModel {
            id: Set(1),
            position: Set(head),
            updated_at: Set(Utc::now()),
        })
        .on_conflict(
            OnConflict::column(trigger_progress::Column::Id)
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(self.connection())
        .await
        .store_err(TRIGGER)?;
        Ok(trigger_progress::Entity::find_by_id(1)
            .one(self.connection())
            .await
            .store_err(TRIGGER)?
            .map_or(head, |row| row.position))
    }

    async fn events_after_all(&self, position: i64, limit: u32) -> Result<Vec<Event>, StoreError> {
        events::Entity::find()
            .filter(events::Column::Id.gt(position))
            .order_by_asc(events::Column::Id)
            .limit(u64::from(limit))
            .all(self.connection())
            .await
            .store_err(TRIGGER)?
            .into_iter()
            .map(super::events::event_from_row)
            .collect()
    }

    async fn chat_facts(
        &self,
        tenant: &TenantId,
        account: AccountId,
        chat_id: i64,
        message_id: Option<i64>,
    ) -> Result<ChatFacts, StoreError> {
        let db = self.connection();
        let kind = chats::Entity::find_by_id((account.to_string(), chat_id))
            .filter(chats::Column::TenantId.eq(tenant.as_str()))
            .one(db)
            .await
            .store_err(TRIGGER)?
            .and_then(|row| ChatKind::parse(&row.kind));
        let linked_types = crm_links::Entity::find()
            .filter(crm_links::Column::TenantId.eq(tenant.as_str()))
            .filter(crm_links::Column::AccountId.eq(account.to_string()))
            .filter(crm_links::Column::PeerId.eq(chat_id))
            .all(db)
            .await
            .store_err(TRIGGER)?
            .into_iter()
            .filter_map(|row| EntityType::parse(&row.entity_type))
            .collect();
        let first_message = match message_id {
            Some(id) => {
                messages::Entity::find()
                    .filter(messages::Column::AccountId.eq(account.to_string()))
                    .filter(messages::Column::PeerId.eq(chat_id))
                    .filter(messages::Column::Outgoing.eq(false))
                    .filter(messages::Column::MessageId.lt(id))
                    .filter(messages::Column::MessageId.gt(0))
                    .count(db)
                    .await
                    .store_err(TRIGGER)?
                    == 0
            }
            None => false,
        };
        Ok(ChatFacts {
            kind,
            linked_types,
            first_message,
        })
    }

    async fn record_firings(
        &self,
        from: i64,
        to: i64,
        firings: &[Firing],
        give_up_after: Duration,
    ) -> Result<(), StoreError> {
        let txn = self.begin_write().await?;
        let now = Utc::now();
        let moved = trigger_progress::Entity::update_many()
            .col_expr(trigger_progress::Column::Position, Expr::value(to))
            .col_expr(trigger_progress::Column::UpdatedAt, Expr::value(now))
            .filter(trigger_progress::Column::Id.eq(1))
            .filter(trigger_progress::Column::Position.eq(from))
            .exec(&txn)
            .await
            .store_err(TRIGGER)?
            .rows_affected;
        if moved == 0 {
            return Err(StoreError::Conflict { resource: TRIGGER });
        }
        let give_up_at =
            now + chrono::Duration::from_std(give_up_after).unwrap_or(chrono::Duration::days(1));
        let mut announced = Vec::new();
        for firing in firings {
            let event = NewEvent {
                tenant: firing.tenant.clone(),
                account: firing.event.account,
                payload: EventPayload::TriggerFired {
                    trigger_id: firing.trigger_id.clone(),
                    trigger_name: firing.trigger_name.clone(),
                    event: Box::new(firing.event.clone()),
                },
            };
            let position = super::events::append_one_in(&txn, &event).await?;
            if let Some((id, url)) = &firing.delivery {
                webhook_deliveries::Entity::insert(webhook_deliveries::ActiveModel {
                    id: Set(id.clone()),
                    tenant_id: Set(firing.tenant.as_str().to_owned()),
                    trigger_id: Set(firing.trigger_id.clone()),
                    account_id: Set(firing.event.account.map(|a| a.to_string())),
                    event_id: Set(Some(position)),
                    url: Set(url.clone()),
                    payload: Set(String::new()),
                    state: Set(DeliveryState::Pending.as_str().to_owned()),
                    attempts: Set(0),
                    next_attempt_at: Set(now),
                    last_status_code: Set(None),
                    last_error: Set(None),
                    delivered_at: Set(None),
                    created_at: Set(now),
                    updated_at: Set(now),
                    give_up_at: Set(Some(give_up_at)),
                    last_attempt_at: Set(None),
                    last_latency_ms: Set(None),
                    attempt_log: Set("[]".into()),
                })
                .exec_without_returning(&txn)
                .await
                .store_err(DELIVERY)?;
            }
            announced.push(event);
        }
        txn.commit().await.store_err(TRIGGER)?;
        self.announce(&announced);
        Ok(())
    }

    async fn due_deliveries(
        &self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<Delivery>, StoreError> {
        webhook_deliveries::Entity::find()
            .filter(webhook_deliveries::Column::State.is_in([
                DeliveryState::Pending.as_str(),
                DeliveryState::Retrying.as_str(),
            ]))
            .filter(webhook_deliveries::Column::NextAttemptAt.lte(now))
            .order_by_asc(webhook_deliveries::Column::NextAttemptAt)
            .limit(u64::from(limit))
            .all(self.connection())
            .await
            .store_err(DELIVERY)?
            .into_iter()
            .map(delivery_from_row)
            .collect()
    }

    async fn claim_delivery(
        &self,
        id: &str,
        attempts: i32,
        lease_until: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let claimed = webhook_deliveries::Entity::update_many()
            .col_expr(
                webhook_deliveries::Column::Attempts,
                Expr::value(attempts + 1),
            )
            .col_expr(
                webhook_deliveries::Column::NextAttemptAt,
                Expr::value(lease_until),
            )
            .filter(webhook_deliveries::Column::Id.eq(id))
            .filter(webhook_deliveries::Column::Attempts.eq(attempts))
            .filter(webhook_deliveries::Column::State.is_in([
                DeliveryState::Pending.as_str(),
                DeliveryState::Retrying.as_str(),
            ]))
            .exec(self.connection())
            .await
            .store_err(DELIVERY)?
            .rows_affected;
        Ok(claimed == 1)
    }

    async fn set_delivery_body(&self, id: &str, body: &str) -> Result<(), StoreError> {
        webhook_deliveries::Entity::update_many()
            .col_expr(webhook_deliveries::Column::Payload, Expr::value(body))
            .filter(webhook_deliveries::Column::Id.eq(id))
            .filter(webhook_deliveries::Column::Payload.eq(""))
            .exec(self.connection())
            .await
            .store_err(DELIVERY)?;
        Ok(())
    }

    async fn finish_delivery(
        &self,
        id: &str,
        attempts: i32,
        attempt: &Attempt,
        outcome: &Outcome,
        reason: &str,
    ) -> Result<(), StoreError> {
        let txn = self.begin_write().await?;
        let Some(row) = webhook_deliveries::Entity::find_by_id(id.to_owned())
            .one(&txn)
            .await
            .store_err(DELIVERY)?
        else {
            // Its trigger was deleted meanwhile.
            return Ok(());
        };
        if row.attempts != attempts {
            return Err(StoreError::Conflict { resource: DELIVERY });
        }
        let trigger_id = row.trigger_id.clone();
        let mut log: Vec<Attempt> = serde_json::from_str(&row.attempt_log).unwrap_or_default();
        log.push(attempt.clone());
        let excess = log.len().saturating_sub(MAX_ATTEMPT_LOG);
        log.drain(..excess);
        let now = Utc::now();
        let (state, next, delivered) = match outcome {
            Outcome::Delivered => (DeliveryState::Succeeded, row.next_attempt_at, Some(now)),
            Outcome::Retry(at) => (DeliveryState::Retrying, *at, None),
            Outcome::GiveUp { .. } => (DeliveryState::Failed, row.next_attempt_at, None),
        };
        let updated = webhook_deliveries::Entity::update_many()
            .col_expr(
                webhook_deliveries::Column::State,
                Expr::value(state.as_str()),
            )
            .col_expr(webhook_deliveries::Column::NextAttemptAt, Expr::value(next))
            .col_expr(
                webhook_deliveries::Column::DeliveredAt,
                Expr::value(delivered),
            )
            .col_expr(
                webhook_deliveries::Column::LastStatusCode,
                Expr::value(i32::from(attempt.status)),
            )
            .col_expr(
                webhook_deliveries::Column::LastError,
                Expr::value((!attempt.error.is_empty()).then(|| attempt.error.clone())),
            )
            .col_expr(
                webhook_deliveries::Column::LastAttemptAt,
                Expr::value(attempt.at),
            )
            .col_expr(
                webhook_deliveries::Column::LastLatencyMs,
                Expr::value(attempt.latency_ms.min(i32::MAX as u32) as i32),
            )
            .col_expr(
                webhook_deliveries::Column::AttemptLog,
                Expr::value(json(&log)),
            )
            .col_expr(webhook_deliveries::Column::UpdatedAt, Expr::value(now))
            .filter(webhook_deliveries::Column::Id.eq(id))
            .filter(webhook_deliveries::Column::Attempts.eq(attempts))
            .exec(&txn)
            .await
            .store_err(DELIVERY)?
            .rows_affected;
        if updated == 0 {
            return Err(StoreError::Conflict { resource: DELIVERY });
        }
        if let Outcome::GiveUp { disable: true } = outcome {
            triggers::Entity::update_many()
                .col_expr(triggers::Column::Enabled, Expr::value(false))
                .col_expr(triggers::Column::DisabledReason, Expr::value(reason))
                .col_expr(triggers::Column::UpdatedAt, Expr::value(now))
                .filter(triggers::Column::Id.eq(trigger_id))
                .exec(&txn)
                .await
                .store_err(TRIGGER)?;
        }
        txn.commit().await.store_err(DELIVERY)
    }

    async fn deliveries(
        &self,
        tenant: &TenantId,
        trigger_id: &str,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<Delivery>, StoreError> {
        let mut query = webhook_deliveries::Entity::find()
            .filter(webhook_deliveries::Column::TenantId.eq(tenant.as_str()))
            .filter(webhook_deliveries::Column::TriggerId.eq(trigger_id));
        if let Some(after) = after {
            query = query.filter(webhook_deliveries::Column::Id.lt(after));
        }
        query
            .order_by_desc(webhook_deliveries::Column::Id)
            .limit(u64::from(limit))
            .all(self.connection())
            .await
            .store_err(DELIVERY)?
            .into_iter()
            .map(delivery_from_row)
            .collect()
    }

    async fn redeliver(
        &self,
        tenant: &TenantId,
        trigger_id: &str,
        id: &str,
        give_up_at: DateTime<Utc>,
    ) -> Result<Delivery, StoreError> {
        let now = Utc::now();
        let updated = webhook_deliveries::Entity::update_many()
            .col_expr(
                webhook_deliveries::Column::State,
                Expr::value(DeliveryState::Pending.as_str()),
            )
            .col_expr(webhook_deliveries::Column::NextAttemptAt, Expr::value(now))
            .col_expr(
                webhook_deliveries::Column::GiveUpAt,
                Expr::value(give_up_at),
            )
            .col_expr(webhook_deliveries::Column::UpdatedAt, Expr::value(now))
            .filter(webhook_deliveries::Column::Id.eq(id))
            .filter(webhook_deliveries::Column::TenantId.eq(tenant.as_str()))
            .filter(webhook_deliveries::Column::TriggerId.eq(trigger_id))
            .exec(self.connection())
            .await
            .store_err(DELIVERY)?
            .rows_affected;
        if updated == 0 {
            return Err(StoreError::NotFound { resource: DELIVERY });
        }
        let row = webhook_deliveries::Entity::find_by_id(id.to_owned())
            .one(self.connection())
            .await
            .store_err(DELIVERY)?
            .ok_or(StoreError::NotFound { resource: DELIVERY })?;
        delivery_from_row(row)
    }

    async fn prune_deliveries(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        Ok(webhook_deliveries::Entity::delete_many()
            .filter(webhook_deliveries::Column::CreatedAt.lt(before))
            .exec(self.connection())
            .await
            .store_err(DELIVERY)?
            .rows_affected)
    }
}
