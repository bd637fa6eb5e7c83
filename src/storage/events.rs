//! `EventLog` on the `events` table.
//!
//! A position is the row's id. A reader that has seen position 10 must
//! never find a 9 committed later, or a resuming subscriber would skip it.
//! On PostgreSQL a sequence value can commit after a larger one, so every
//! transaction that appends events first takes one transaction-scoped
//! advisory lock ([`APPEND_LOCK`]) and appends last, right before its
//! commit: ids are drawn under the lock, which is held until the commit,
//! so ids commit in order. The lock is taken after everything else the
//! transaction locks (an account's row), and nothing waits while holding
//! it but the commit, so it cannot deadlock. On SQLite write transactions
//! are IMMEDIATE: one writer at a time, the same order for free. The id is
//! AUTOINCREMENT there, so a pruned log never hands out a position again.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseTransaction, DbBackend, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect, Statement,
};
use tokio::sync::broadcast;

use super::entities::{event_horizon, events};
use super::{Store, StoreResultExt};
use crate::domain::TenantId;
use crate::domain::event::{Event, NewEvent};
use crate::domain::ports::{EventLog, StoreError};

const RESOURCE: &str = "event";

/// APPEND_LOCK is the advisory lock key every appending transaction holds
/// from its first append to its commit ("tezgram" + 1).
const APPEND_LOCK: i64 = 0x7465_7a67_7261_6d01;

/// append_in appends `events` inside `txn`, in order. Call it last in the
/// transaction: on PostgreSQL it takes [`APPEND_LOCK`] until the commit.
pub(super) async fn append_in(
    txn: &DatabaseTransaction,
    events: &[NewEvent],
) -> Result<(), StoreError> {
    if events.is_empty() {
        return Ok(());
    }
    if txn.get_database_backend() == DbBackend::Postgres {
        txn.execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT pg_advisory_xact_lock($1)",
            [APPEND_LOCK.into()],
        ))
        .await
        .store_err(RESOURCE)?;
    }
    let now = Utc::now();
    let rows = events.iter().map(|event| events::ActiveModel {
        tenant_id: Set(event.tenant.as_str().to_owned()),
        account_id: Set(event.account.map(|a| a.to_string())),
        kind: Set(event.payload.kind().as_str().to_owned()),
        peer_id: Set(event.payload.chat_id()),
        payload: Set(serde_json::to_vec(&event.payload).expect("events serialize")),
        created_at: Set(now),
        ..Default::default()
    });
    events::Entity::insert_many(rows)
        .exec_without_returning(txn)
        .await
        .store_err(RESOURCE)?;
    Ok(())
}

/// append_one_in appends one event inside `txn` and returns its position
/// (like [`append_in`], under [`APPEND_LOCK`] on PostgreSQL).
pub(super) async fn append_one_in(
    txn: &DatabaseTransaction,
    event: &NewEvent,
) -> Result<i64, StoreError> {
    if txn.get_database_backend() == DbBackend::Postgres {
        txn.execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT pg_advisory_xact_lock($1)",
            [APPEND_LOCK.into()],
        ))
        .await
        .store_err(RESOURCE)?;
    }
    let row = events::ActiveModel {
        tenant_id: Set(event.tenant.as_str().to_owned()),
        account_id: Set(event.account.map(|a| a.to_string())),
        kind: Set(event.payload.kind().as_str().to_owned()),
        peer_id: Set(event.payload.chat_id()),
        payload: Set(serde_json::to_vec(&event.payload).expect("events serialize")),
        created_at: Set(Utc::now()),
        ..Default::default()
    };
    Ok(events::Entity::insert(row)
        .exec(txn)
        .await
        .store_err(RESOURCE)?
        .last_insert_id)
}

impl Store {
    /// commit_with_events appends `events` to the log, commits, and tells
    /// the listeners of [`EventLog::appended`] which tenants have news.
    pub(super) async fn commit_with_events(
        &self,
        txn: DatabaseTransaction,
        events: &[NewEvent],
        resource: &'static str,
    ) -> Result<(), StoreError> {
        append_in(&txn, events).await?;
        txn.commit().await.store_err(resource)?;
        self.announce(events);
        Ok(())
    }

    /// announce tells listeners that `events` were committed.
    pub(super) fn announce(&self, events: &[NewEvent]) {
        let mut told: Vec<&TenantId> = Vec::new();
        for event in events {
            if !told.contains(&&event.tenant) {
                told.push(&event.tenant);
                // No listener is fine: nobody subscribes.
                let _ = self.appended.send(event.tenant.clone());
            }
        }
    }
}

pub(super) fn event_from_row(row: events::Model) -> Result<Event, StoreError> {
    let corrupt = |what: &str| StoreError::Corrupt(format!("event {}: {what}", row.id));
    Ok(Event {
        position: row.id,
        tenant: TenantId::parse(&row.tenant_id).ok_or_else(|| corrupt("tenant"))?,
        account: row
            .account_id
            .as_deref()
            .map(str::parse)
            .transpose()
            .map_err(|_| corrupt("account id"))?,
        payload: serde_json::from_slice(&row.payload).map_err(|_| corrupt("payload"))?,
        time: row.created_at,
    })
}

#[async_trait]
impl EventLog for Store {
    async fn append(&self, events: &[NewEvent]) -> Result<(), StoreError> {
        let txn = self.begin_write().await?;
        self.commit_with_events(txn, events, RESOURCE).await
    }

    async fn events_after(
        &self,
        tenant: &TenantId,
        position: i64,
        limit: u32,
    ) -> Result<Vec<Event>, StoreError> {
        events::Entity::find()
            .filter(events::Column::TenantId.eq(tenant.as_str()))
            .filter(events::Column::Id.gt(position))
            .order_by_asc(events::Column::Id)
            .limit(u64::from(limit))
            .all(self.connection())
            .await
            .store_err(RESOURCE)?
            .into_iter()
            .map(event_from_row)
            .collect()
    }

    async fn head(&self) -> Result<i64, StoreError> {
        let newest: Option<Option<i64>> = events::Entity::find()
            .select_only()
            .column_as(events::Column::Id.max(), "newest")
            .into_tuple()
            .one(self.connection())
            .await
            .store_err(RESOURCE)?;
        let newest = newest.flatten().unwrap_or(0);
        // An empty log still never goes back below what was pruned.
        Ok(newest.max(self.horizon().await?))
    }

    async fn horizon(&self) -> Result<i64, StoreError> {
        Ok(event_horizon::Entity::find_by_id(1)
            .one(self.connection())
            .await
            .store_err(RESOURCE)?
            .map_or(0, |row| row.pruned_through))
    }

    async fn prune(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        let txn = self.begin_write().await?;
        let through: Option<Option<i64>> = events::Entity::find()
            .select_only()
            .column_as(events::Column::Id.max(), "through")
            .filter(events::Column::CreatedAt.lt(before))
            .into_tuple()
            .one(&txn)
            .await
            .store_err(RESOURCE)?;
        let Some(through) = through.flatten() else {
            return Ok(0);
        };
        let deleted = events::Entity::delete_many()
            .filter(events::Column::Id.lte(through))
            .exec(&txn)
            .await
            .store_err(RESOURCE)?
            .rows_affected;
        event_horizon::Entity::insert(event_horizon::ActiveModel {
            id: Set(1),
            pruned_through: Set(through),
            pruned_at: Set(Utc::now()),
        })
        .on_conflict(
            // Each sweep prunes past the last one: what it left is newer.
            OnConflict::column(event_horizon::Column::Id)
                .update_columns([
                    event_horizon::Column::PrunedThrough,
                    event_horizon::Column::PrunedAt,
                ])
                .to_owned(),
        )
        .exec_without_returning(&txn)
        .await
        .store_err(RESOURCE)?;
        txn.commit().await.store_err(RESOURCE)?;
        Ok(deleted)
    }

    fn appended(&self) -> broadcast::Receiver<TenantId> {
        self.appended.subscribe()
    }
}
