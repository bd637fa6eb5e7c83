//! `OutboxStore` on the `outbox` table. Rows are unique per (tenant,
//! request_id): a retried SendMessage or ForwardMessages finds its row.
//! `kind` says what `payload` holds (a text, a forward, a media send; a
//! media send's progress uploading its file is in `file_upload`); a sent row keeps
//! its messages' ids in `result` (the first also in `message_id`). After enqueue only the
//! dispatcher writes a row; `mark_sent` stores the message in the same
//! transaction, so a sent row always has its message.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, DatabaseTransaction, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, UpdateMany,
};

use super::chats::{Recorder, apply_change, lock_account};
use super::entities::{account_leases, accounts, outbox};
use super::leases::check_fence;
use super::{Store, StoreResultExt};
use crate::domain::chat::{Change, Message, Touched};
use crate::domain::event::{EventPayload, NewEvent};
use crate::domain::lease::{Fence, InstanceId};
use crate::domain::outbox::{
    FileUpload, OutboxItem, OutboxState, Outgoing, OutgoingForward, OutgoingMedia, OutgoingText,
};
use crate::domain::ports::{Enqueued, FLOOD_WAIT, OutboxStore, StoreError};
use crate::domain::{AccountId, AccountState, TenantId};

const RESOURCE: &str = "outbox item";
const KIND_TEXT: &str = "text";
const KIND_FORWARD: &str = "forward";
const KIND_MEDIA: &str = "media";

/// fenced refuses an outcome of a row read under a lease that no longer
/// holds (the account's row is locked first).
async fn fenced(txn: &DatabaseTransaction, item: &OutboxItem) -> Result<(), StoreError> {
    match &item.fence {
        Some(fence) => check_fence(txn, item.account_id, fence).await,
        None => Ok(()),
    }
}

/// SentIds is a sent row's `result`: the new messages' ids, in order.
#[derive(serde::Serialize, serde::Deserialize)]
struct SentIds {
    message_ids: Vec<i64>,
}

fn item_from_row(row: outbox::Model) -> Result<OutboxItem, StoreError> {
    let corrupt = |what: &str| StoreError::Corrupt(format!("outbox {}: {what}", row.id));
    Ok(OutboxItem {
        tenant: TenantId::parse(&row.tenant_id).ok_or_else(|| corrupt("tenant"))?,
        account_id: row.account_id.parse().map_err(|_| corrupt("account id"))?,
        request_id: row.request_id.clone(),
        chat_id: row.peer_id.ok_or_else(|| corrupt("chat id"))?,
        random_id: row.random_id.ok_or_else(|| corrupt("random id"))?,
        payload: match row.kind.as_str() {
            KIND_TEXT => serde_json::from_str::<OutgoingText>(&row.payload).map(Outgoing::Text),
            KIND_FORWARD => {
                serde_json::from_str::<OutgoingForward>(&row.payload).map(Outgoing::Forward)
            }
            KIND_MEDIA => serde_json::from_str::<OutgoingMedia>(&row.payload).map(Outgoing::Media),
            other => return Err(corrupt(&format!("kind {other}"))),
        }
        .map_err(|err| corrupt(&err.to_string()))?,
        state: OutboxState::parse(&row.state).ok_or_else(|| corrupt("state"))?,
        attempts: row.attempts,
        next_attempt_at: row.next_attempt_at,
        last_error: row.last_error.clone(),
        message_ids: match &row.result {
            Some(result) => {
                serde_json::from_str::<SentIds>(result)
                    .map_err(|err| corrupt(&err.to_string()))?
                    .message_ids
            }
            None => row.message_id.into_iter().collect(),
        },
        file_upload: row
            .file_upload
            .as_deref()
            .map(serde_json::from_str::<FileUpload>)
            .transpose()
            .map_err(|err| corrupt(&err.to_string()))?,
        created_at: row.created_at,
        fence: None,
        id: row.id,
    })
}

/// attempt is what every recorded attempt on a row writes: one more
/// attempt, now.
fn attempt(id: &str) -> UpdateMany<outbox::Entity> {
    outbox::Entity::update_many()
        .col_expr(
            outbox::Column::Attempts,
            Expr::col(outbox::Column::Attempts).add(1),
        )
        .col_expr(outbox::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(outbox::Column::Id.eq(id))
}

/// failed_attempt is what an attempt that did not send writes, whether the
/// row ends FAILED or retries: one more attempt and its error, on a row
/// still pending (a row already ended is left as it is).
fn failed_attempt(id: &str, error: &str) -> UpdateMany<outbox::Entity> {
    attempt(id)
        .col_expr(outbox::Column::LastError, Expr::value(error))
        .filter(outbox::Column::State.eq(OutboxState::Pending.as_str()))
}

/// reached is what an attempt Telegram took writes: the row's new state
/// and message id (a sent message's, or one in the chat's schedule), and
/// no error.
fn reached(id: &str, state: OutboxState, message_id: Option<i64>) -> UpdateMany<outbox::Entity> {
    attempt(id)
        .col_expr(outbox::Column::State, Expr::value(state.as_str()))
        .col_expr(outbox::Column::MessageId, Expr::value(message_id))
        .col_expr(
            outbox::Column::LastError,
            Expr::value(Option::<String>::None),
        )
}

/// scheduled_sent moves the account's SCHEDULED row for `scheduled_id` in
/// the chat's schedule to SENT as `message_id` (ingest calls it when
/// Telegram reports the scheduled message sent); the row's request id,
/// or `None` when no row of this gateway scheduled it.
pub(super) async fn scheduled_sent(
    txn: &DatabaseTransaction,
    account: AccountId,
    chat_id: i64,
    scheduled_id: i64,
    message_id: i64,
) -> Result<Option<String>, StoreError> {
    let Some(row) = outbox::Entity::find()
        .filter(outbox::Column::AccountId.eq(account.to_string()))
        .filter(outbox::Column::PeerId.eq(chat_id))
        .filter(outbox::Column::State.eq(OutboxState::Scheduled.as_str()))
        .filter(outbox::Column::MessageId.eq(scheduled_id))
        .one(txn)
        .await
        .store_err(RESOURCE)?
    else {
        return Ok(None);
    };
    let request_id = row.request_id.clone();
    let mut active: outbox::ActiveModel = row.into();
    active.state = Set(OutboxState::Sent.as_str().to_owned());
    active.message_id = Set(Some(message_id));
    active.result = Set(Some(
        serde_json::to_string(&SentIds {
            message_ids: vec![message_id],
        })
        .expect("ids serialize"),
    ));
    active.updated_at = Set(Utc::now());
    outbox::Entity::update(active)
        .exec(txn)
        .await
        .store_err(RESOURCE)?;
    Ok(Some(request_id))
}

#[async_trait]
impl OutboxStore for Store {
    async fn enqueue(&self, item: &OutboxItem) -> Result<Enqueued, StoreError> {
        let (kind, payload) = match &item.payload {
            Outgoing::Text(text) => (KIND_TEXT, serde_json::to_string(text)),
            Outgoing::Forward(forward) => (KIND_FORWARD, serde_json::to_string(forward)),
            Outgoing::Media(media) => (KIND_MEDIA, serde_json::to_string(media)),
        };
        let payload = payload.expect("payloads serialize");
        let row = outbox::ActiveModel {
            id: Set(item.id.clone()),
            tenant_id: Set(item.tenant.as_str().to_owned()),
            account_id: Set(item.account_id.to_string()),
            request_id: Set(item.request_id.clone()),
            kind: Set(kind.to_owned()),
            peer_id: Set(Some(item.chat_id)),
            random_id: Set(Some(item.random_id)),
            payload: Set(payload),
            state: Set(item.state.as_str().to_owned()),
            attempts: Set(item.attempts),
            next_attempt_at: Set(item.next_attempt_at),
            last_error: Set(None),
            result: Set(None),
            message_id: Set(None),
            file_upload: Set(None),
            created_at: Set(item.created_at),
            updated_at: Set(item.created_at),
        };
        match outbox::Entity::insert(row)
            .exec_without_returning(self.connection())
            .await
            .store_err(RESOURCE)
        {
            Ok(_) => Ok(Enqueued {
                item: item.clone(),
                created: true,
            }),
            Err(StoreError::AlreadyExists { .. }) => Ok(Enqueued {
                item: self
                    .request_item(&item.tenant, &item.request_id)
                    .await?
                    .ok_or(StoreError::Conflict { resource: RESOURCE })?,
                created: false,
            }),
            Err(err) => Err(err),
        }
    }

    async fn request_item(
        &self,
        tenant: &TenantId,
        request_id: &str,
    ) -> Result<Option<OutboxItem>, StoreError> {
        outbox::Entity::find()
            .filter(outbox::Column::TenantId.eq(tenant.as_str()))
            .filter(outbox::Column::RequestId.eq(request_id))
            .one(self.connection())
            .await
            .store_err(RESOURCE)?
            .map(item_from_row)
            .transpose()
    }

    async fn outbox_item(&self, tenant: &TenantId, id: &str) -> Result<OutboxItem, StoreError> {
        outbox::Entity::find_by_id(id.to_owned())
            .filter(outbox::Column::TenantId.eq(tenant.as_str()))
            .one(self.connection())
            .await
            .store_err(RESOURCE)?
            .ok_or(StoreError::NotFound { resource: RESOURCE })
            .and_then(item_from_row)
    }

    async fn due(
        &self,
        now: DateTime<Utc>,
        limit: u32,
        owner: Option<&InstanceId>,
    ) -> Result<Vec<OutboxItem>, StoreError> {
        let authorized = Query::select()
            .column(accounts::Column::Id)
            .from(accounts::Entity)
            .and_where(accounts::Column::State.eq(AccountState::Authorized.as_str()))
            .to_owned();
        let mut query = outbox::Entity::find()
            .filter(outbox::Column::State.eq(OutboxState::Pending.as_str()))
            .filter(outbox::Column::NextAttemptAt.lte(now))
            .filter(outbox::Column::AccountId.in_subquery(authorized));
        // The owner's leases, read with the rows: each row carries the
        // lease it is sent under.
        let mut leases = std::collections::HashMap::new();
        if let Some(owner) = owner {
            for lease in account_leases::Entity::find()
                .filter(account_leases::Column::Owner.eq(owner.as_str()))
                .all(self.connection())
                .await
                .store_err(RESOURCE)?
            {
                leases.insert(lease.account_id, lease.epoch);
            }
            if leases.is_empty() {
                return Ok(Vec::new());
            }
            query = query.filter(outbox::Column::AccountId.is_in(leases.keys().cloned()));
        }
        query
            .order_by_asc(outbox::Column::CreatedAt)
            .order_by_asc(outbox::Column::Id)
            .limit(u64::from(limit))
            .all(self.connection())
            .await
            .store_err(RESOURCE)?
            .into_iter()
            .map(|row| {
                let fence = owner.and_then(|owner| {
                    leases.get(&row.account_id).map(|epoch| Fence {
                        owner: owner.clone(),
                        epoch: *epoch,
                    })
                });
                item_from_row(row).map(|item| OutboxItem { fence, ..item })
            })
            .collect()
    }

    async fn mark_sent(&self, item: &OutboxItem, messages: &[Message]) -> Result<(), StoreError> {
        let txn = self.begin_write().await?;
        lock_account(&txn, item.account_id).await?;
        fenced(&txn, item).await?;
        let now = Utc::now();
        let mut events = Recorder::default();
        for message in messages {
            let change = Change::NewMessage {
                message: message.clone(),
                live: true,
            };
            apply_change(
                &txn,
                &item.tenant,
                item.account_id,
                &change,
                now,
                &mut Touched::default(),
                &mut events,
            )
            .await?;
        }
        let events = events.finish(&txn, &item.tenant, item.account_id).await?;
        let message_ids: Vec<i64> = messages.iter().map(|m| m.message_id).collect();
        let result = serde_json::to_string(&SentIds {
            message_ids: message_ids.clone(),
        })
        .expect("ids serialize");
        let updated = reached(&item.id, OutboxState::Sent, message_ids.first().copied())
            .col_expr(outbox::Column::Result, Expr::value(Some(result)))
            .exec(&txn)
            .await
            .store_err(RESOURCE)?;
        if updated.rows_affected == 0 {
            return Err(StoreError::NotFound { resource: RESOURCE });
        }
        self.commit_with_events(txn, &events, RESOURCE).await
    }

    async fn mark_scheduled(&self, item: &OutboxItem, scheduled_id: i64) -> Result<(), StoreError> {
        let txn = self.begin_write().await?;
        lock_account(&txn, item.account_id).await?;
        fenced(&txn, item).await?;
        let updated = reached(&item.id, OutboxState::Scheduled, Some(scheduled_id))
            .filter(outbox::Column::State.eq(OutboxState::Pending.as_str()))
            .exec(&txn)
            .await
            .store_err(RESOURCE)?;
        if updated.rows_affected == 0 {
            return Err(StoreError::NotFound { resource: RESOURCE });
        }
        txn.commit().await.store_err(RESOURCE)
    }

    async fn mark_failed(&self, item: &OutboxItem, reason: &str) -> Result<(), StoreError> {
        let txn = self.begin_write().await?;
        lock_account(&txn, item.account_id).await?;
        fenced(&txn, item).await?;
        let ended = failed_attempt(&item.id, reason)
            .col_expr(
                outbox::Column::State,
                Expr::value(OutboxState::Failed.as_str()),
            )
            .exec(&txn)
            .await
            .store_err(RESOURCE)?;
        if ended.rows_affected == 0 {
            return Ok(());
        }
        let failed = OutboxItem {
            state: OutboxState::Failed,
            last_error: Some(reason.to_owned()),
            ..item.clone()
        };
        let event = NewEvent {
            tenant: item.tenant.clone(),
            account: Some(item.account_id),
            payload: EventPayload::MessageSendFailed {
                message: Box::new(failed.unsent_message(None)),
            },
        };
        self.commit_with_events(txn, &[event], RESOURCE).await
    }

    async fn retry_later(
        &self,
        id: &str,
        at: DateTime<Utc>,
        error: &str,
    ) -> Result<(), StoreError> {
        failed_attempt(id, error)
            .col_expr(outbox::Column::NextAttemptAt, Expr::value(at))
            .exec(self.connection())
            .await
            .store_err(RESOURCE)?;
        Ok(())
    }

    async fn save_file_upload(&self, id: &str, upload: &FileUpload) -> Result<(), StoreError> {
        let upload = serde_json::to_string(upload).expect("progress serializes");
        outbox::Entity::update_many()
            .col_expr(outbox::Column::FileUpload, Expr::value(upload))
            .col_expr(outbox::Column::UpdatedAt, Expr::value(Utc::now()))
            .filter(outbox::Column::Id.eq(id))
            .filter(outbox::Column::State.eq(OutboxState::Pending.as_str()))
            .exec(self.connection())
            .await
            .store_err(RESOURCE)?;
        Ok(())
    }

    async fn pause_account(
        &self,
        account: AccountId,
        until: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        outbox::Entity::update_many()
            .col_expr(outbox::Column::NextAttemptAt, Expr::value(until))
            .col_expr(outbox::Column::LastError, Expr::value(FLOOD_WAIT))
            .filter(outbox::Column::AccountId.eq(account.to_string()))
            .filter(outbox::Column::State.eq(OutboxState::Pending.as_str()))
            .filter(outbox::Column::NextAttemptAt.lt(until))
            .exec(self.connection())
            .await
            .store_err(RESOURCE)?;
        Ok(())
    }

    async fn pending_count(&self) -> Result<u64, StoreError> {
        outbox::Entity::find()
            .filter(outbox::Column::State.eq(OutboxState::Pending.as_str()))
            .count(self.connection())
            .await
            .store_err(RESOURCE)
    }
}
