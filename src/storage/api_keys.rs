//! `ApiKeyStore` on the `api_keys` table.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder};

use super::entities::api_keys;
use super::{Store, StoreResultExt};
use crate::domain::ports::{ApiKey, ApiKeyStore, StoreError};
use crate::domain::{Scope, TenantId};

const RESOURCE: &str = "api key";

#[async_trait]
impl ApiKeyStore for Store {
    async fn insert_api_key(&self, key: &ApiKey, secret_hash: &[u8; 32]) -> Result<(), StoreError> {
        let ApiKey {
            id,
            tenant,
            name,
            scopes,
            created_at,
            revoked_at,
        } = key;
        let scopes = scopes
            .iter()
            .map(|scope| scope.as_str())
            .collect::<Vec<_>>()
            .join(" ");
        let row = api_keys::ActiveModel {
            id: Set(id.clone()),
            tenant_id: Set(tenant.as_str().to_owned()),
            name: Set(name.clone()),
            scopes: Set(scopes),
            secret_hash: Set(secret_hash.to_vec()),
            created_at: Set(*created_at),
            revoked_at: Set(*revoked_at),
        };
        api_keys::Entity::insert(row)
            .exec_without_returning(self.connection())
            .await
            .store_err(RESOURCE)?;
        Ok(())
    }

    async fn find_api_key(&self, id: &str) -> Result<Option<(ApiKey, [u8; 32])>, StoreError> {
        let Some(row) = api_keys::Entity::find_by_id(id)
            .one(self.connection())
            .await
            .store_err(RESOURCE)?
        else {
            return Ok(None);
        };
        let secret_hash: [u8; 32] = row.secret_hash.as_slice().try_into().map_err(|_| {
            StoreError::Corrupt(format!(
                "api key {}: secret hash is {} bytes, not 32",
                row.id,
                row.secret_hash.len()
            ))
        })?;
        Ok(Some((api_key_from_row(row)?, secret_hash)))
    }

    async fn list_api_keys(&self, tenant: Option<&TenantId>) -> Result<Vec<ApiKey>, StoreError> {
        let mut query = api_keys::Entity::find();
        if let Some(tenant) = tenant {
            query = query.filter(api_keys::Column::TenantId.eq(tenant.as_str()));
        }
        query
            .order_by_asc(api_keys::Column::TenantId)
            .order_by_asc(api_keys::Column::Id)
            .all(self.connection())
            .await
            .store_err(RESOURCE)?
            .into_iter()
            .map(api_key_from_row)
            .collect()
    }

    async fn revoke_api_key(&self, id: &str, at: DateTime<Utc>) -> Result<(), StoreError> {
        // A key revoked twice keeps its first revocation time.
        let updated = api_keys::Entity::update_many()
            .col_expr(api_keys::Column::RevokedAt, Expr::value(at))
            .filter(api_keys::Column::Id.eq(id))
            .filter(api_keys::Column::RevokedAt.is_null())
            .exec(self.connection())
            .await
            .store_err(RESOURCE)?;
        if updated.rows_affected > 0 {
            return Ok(());
        }
        let exists = api_keys::Entity::find_by_id(id)
            .one(self.connection())
            .await
            .store_err(RESOURCE)?
            .is_some();
        if exists {
            Ok(())
        } else {
            Err(StoreError::NotFound { resource: RESOURCE })
        }
    }
}

/// api_key_from_row reads a stored key; an unknown scope name (written by a
/// newer build) is `Corrupt` rather than silently dropped or granted.
fn api_key_from_row(row: api_keys::Model) -> Result<ApiKey, StoreError> {
    let tenant = TenantId::parse(&row.tenant_id).ok_or_else(|| {
        StoreError::Corrupt(format!("api key {}: tenant_id {:?}", row.id, row.tenant_id))
    })?;
    let scopes = row
        .scopes
        .split_ascii_whitespace()
        .map(|name| {
            Scope::parse(name).ok_or_else(|| {
                StoreError::Corrupt(format!("api key {}: unknown scope {name:?}", row.id))
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(ApiKey {
        id: row.id,
        tenant,
        name: row.name,
        scopes,
        created_at: row.created_at,
        revoked_at: row.revoked_at,
    })
}
