//! `AuditStore` on `audit_log` and `PreferenceStore` on
//! `user_preferences`.
//!
//! Who writes what: audit entries are appended by the services after the
//! action they describe succeeded, and never changed. A principal's
//! preferences are written only by its own UpdatePreferences calls, each
//! one upsert that sets only the fields its mask names, so two racing
//! changes of different fields both land.

use async_trait::async_trait;
use chrono::Utc;
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveValue::NotSet, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};

use super::entities::{audit_log, user_preferences};
use super::{Store, StoreResultExt};
use crate::domain::audit::{
    AuditAction, AuditEntry, AuditFilter, NewAuditEntry, Preferences, PreferencesChange,
};
use crate::domain::event::EventKind;
use crate::domain::ports::{AuditStore, PreferenceStore, StoreError};
use crate::domain::{PrincipalKind, TenantId};

const AUDIT: &str = "audit entry";
const PREFERENCES: &str = "preferences";

fn entry_from_row(row: audit_log::Model) -> Result<AuditEntry, StoreError> {
    let corrupt = |what: &str| StoreError::Corrupt(format!("audit entry {}: {what}", row.id));
    Ok(AuditEntry {
        id: row.id,
        at: row.created_at,
        entry: NewAuditEntry {
            tenant: TenantId::parse(&row.tenant_id).ok_or_else(|| corrupt("tenant"))?,
            principal_kind: PrincipalKind::parse(&row.principal_kind)
                .ok_or_else(|| corrupt("principal kind"))?,
            action: AuditAction::parse(&row.action).ok_or_else(|| corrupt("action"))?,
            account: row
                .account_id
                .as_deref()
                .map(str::parse)
                .transpose()
                .map_err(|_| corrupt("account id"))?,
            chat_id: row.peer_id,
            details: serde_json::from_str(&row.details).map_err(|_| corrupt("details"))?,
            principal: row.principal,
        },
    })
}

#[async_trait]
impl AuditStore for Store {
    async fn record(&self, entry: &NewAuditEntry) -> Result<(), StoreError> {
        audit_log::Entity::insert(audit_log::ActiveModel {
            id: NotSet,
            tenant_id: Set(entry.tenant.as_str().to_owned()),
            principal: Set(entry.principal.clone()),
            principal_kind: Set(entry.principal_kind.as_str().to_owned()),
            action: Set(entry.action.as_str().to_owned()),
            account_id: Set(entry.account.map(|a| a.to_string())),
            peer_id: Set(entry.chat_id),
            details: Set(serde_json::to_string(&entry.details).expect("details serialize")),
            created_at: Set(Utc::now()),
        })
        .exec_without_returning(self.connection())
        .await
        .store_err(AUDIT)?;
        Ok(())
    }

    async fn audit_entries(
        &self,
        tenant: &TenantId,
        filter: &AuditFilter,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let mut query =
            audit_log::Entity::find().filter(audit_log::Column::TenantId.eq(tenant.as_str()));
        if let Some(account) = filter.account {
            query = query.filter(audit_log::Column::AccountId.eq(account.to_string()));
        }
        if let Some(principal) = &filter.principal {
            query = query.filter(audit_log::Column::Principal.eq(principal.as_str()));
        }
        if !filter.actions.is_empty() {
            query = query
                .filter(audit_log::Column::Action.is_in(filter.actions.iter().map(|a| a.as_str())));
        }
        if let Some(from) = filter.from {
            query = query.filter(audit_log::Column::CreatedAt.gte(from));
        }
        if let Some(to) = filter.to {
            query = query.filter(audit_log::Column::CreatedAt.lt(to));
        }
        if let Some(before) = before {
            query = query.filter(audit_log::Column::Id.lt(before));
        }
        query
            .order_by_desc(audit_log::Column::Id)
            .limit(u64::from(limit))
            .all(self.connection())
            .await
            .store_err(AUDIT)?
            .into_iter()
            .map(entry_from_row)
            .collect()
    }
}

fn preferences_from_row(row: user_preferences::Model) -> Result<Preferences, StoreError> {
    let corrupt = |what: &str| {
        StoreError::Corrupt(format!(
            "preferences of {} in {}: {what}",
            row.principal, row.tenant_id
        ))
    };
    Ok(Preferences {
        default_account: row
            .default_account_id
            .as_deref()
            .map(str::parse)
            .transpose()
            .map_err(|_| corrupt("default account"))?,
        notify_kinds: serde_json::from_str::<Vec<EventKind>>(&row.notify_kinds)
            .map_err(|_| corrupt("notify kinds"))?,
        updated_at: Some(row.updated_at),
        signature: row.signature,
    })
}

async fn read_preferences(
    store: &Store,
    tenant: &TenantId,
    principal: &str,
) -> Result<Option<Preferences>, StoreError> {
    user_preferences::Entity::find_by_id((tenant.as_str().to_owned(), principal.to_owned()))
        .one(store.connection())
        .await
        .store_err(PREFERENCES)?
        .map(preferences_from_row)
        .transpose()
}

#[async_trait]
impl PreferenceStore for Store {
    async fn preferences(
        &self,
        tenant: &TenantId,
        principal: &str,
    ) -> Result<Option<Preferences>, StoreError> {
        read_preferences(self, tenant, principal).await
    }

    async fn update_preferences(
        &self,
        tenant: &TenantId,
        principal: &str,
        change: &PreferencesChange,
    ) -> Result<Preferences, StoreError> {
        use user_preferences::Column;
        let now = Utc::now();
        // A first write inserts the change over the defaults; later ones
        // set only what the mask names.
        let mut columns = vec![Column::UpdatedAt];
        if change.default_account.is_some() {
            columns.push(Column::DefaultAccountId);
        }
        if change.signature.is_some() {
            columns.push(Column::Signature);
        }
        if change.notify_kinds.is_some() {
            columns.push(Column::NotifyKinds);
        }
        let row = user_preferences::ActiveModel {
            tenant_id: Set(tenant.as_str().to_owned()),
            principal: Set(principal.to_owned()),
            default_account_id: Set(change.default_account.flatten().map(|a| a.to_string())),
            signature: Set(change.signature.clone().unwrap_or_default()),
            notify_kinds: Set(serde_json::to_string(
                change.notify_kinds.as_deref().unwrap_or_default(),
            )
            .expect("kinds serialize")),
            created_at: Set(now),
            updated_at: Set(now),
        };
        user_preferences::Entity::insert(row)
            .on_conflict(
                OnConflict::columns([Column::TenantId, Column::Principal])
                    .update_columns(columns)
                    .to_owned(),
            )
            .exec_without_returning(self.connection())
            .await
            .store_err(PREFERENCES)?;
        read_preferences(self, tenant, principal)
            .await?
            .ok_or(StoreError::NotFound {
                resource: PREFERENCES,
            })
    }
}
