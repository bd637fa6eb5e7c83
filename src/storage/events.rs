//! `EventLog` on the `events` table.

use async_trait::async_trait;
use chrono::Utc;
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use super::entities::events;
use super::{Store, StoreResultExt};
use crate::domain::event::{Event, EventPayload};
use crate::domain::ports::{EventLog, StoreError};
use crate::domain::{AccountId, TenantId};

const RESOURCE: &str = "event";

#[async_trait]
impl EventLog for Store {
    async fn append(
        &self,
        tenant: &TenantId,
        account: Option<AccountId>,
        payload: &EventPayload,
    ) -> Result<i64, StoreError> {
        let row = events::ActiveModel {
            tenant_id: Set(tenant.as_str().to_owned()),
            account_id: Set(account.map(|a| a.to_string())),
            kind: Set(payload.kind().to_owned()),
            peer_id: Set(None),
            payload: Set(serde_json::to_vec(payload).expect("events serialize")),
            created_at: Set(Utc::now()),
            ..Default::default()
        };
        let inserted = events::Entity::insert(row)
            .exec(self.connection())
            .await
            .store_err(RESOURCE)?;
        Ok(inserted.last_insert_id)
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
            .map(|row| {
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
                    payload: serde_json::from_slice(&row.payload)
                        .map_err(|_| corrupt("payload"))?,
                    time: row.created_at,
                })
            })
            .collect()
    }
}
