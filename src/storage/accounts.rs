//! `AccountStore` on the `accounts` table.

use async_trait::async_trait;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect,
};

use super::entities::{accounts, events, webhook_deliveries};
use super::sessions::{LOGIN_STATE, load_sealed, save_sealed};
use super::{Store, StoreResultExt};
use crate::domain::event::NewEvent;
use crate::domain::ports::{AccountPage, AccountStore, Expect, Sealed, StoreError};
use crate::domain::{Account, AccountId, AccountState, TenantId};

const RESOURCE: &str = "account";

#[async_trait]
impl AccountStore for Store {
    async fn list_accounts(
        &self,
        tenant: &TenantId,
        after: Option<AccountId>,
        limit: u32,
    ) -> Result<AccountPage, StoreError> {
        let mut query = accounts::Entity::find()
            .filter(accounts::Column::TenantId.eq(tenant.as_str()))
            .order_by_asc(accounts::Column::Id);
        if let Some(after) = after {
            // Ids are UUIDv7 strings: text order is creation order.
            query = query.filter(accounts::Column::Id.gt(after.to_string()));
        }
        // One row more than asked says whether another page follows.
        let rows = query
            .limit(u64::from(limit) + 1)
            .all(self.connection())
            .await
            .store_err(RESOURCE)?;

        let has_more = rows.len() > limit as usize;
        let accounts = rows
            .into_iter()
            .take(limit as usize)
            .map(account_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        let next_after = if has_more {
            accounts.last().map(|account| account.id)
        } else {
            None
        };
        Ok(AccountPage {
            accounts,
            next_after,
        })
    }

    async fn get_account(&self, tenant: &TenantId, id: AccountId) -> Result<Account, StoreError> {
        accounts::Entity::find_by_id(id.to_string())
            .filter(accounts::Column::TenantId.eq(tenant.as_str()))
            .one(self.connection())
            .await
            .store_err(RESOURCE)?
            .ok_or(StoreError::NotFound { resource: RESOURCE })
            .and_then(account_from_row)
    }

    async fn insert_account(&self, account: &Account) -> Result<(), StoreError> {
        insert(self, account, None).await
    }

    async fn create_account(
        &self,
        account: &Account,
        request_id: Option<&str>,
    ) -> Result<Account, StoreError> {
        match insert(self, account, request_id).await {
            Ok(()) => Ok(account.clone()),
            Err(StoreError::AlreadyExists { .. }) if request_id.is_some() => {
                let existing = accounts::Entity::find()
                    .filter(accounts::Column::TenantId.eq(account.tenant.as_str()))
                    .filter(accounts::Column::RequestId.eq(request_id))
                    .one(self.connection())
                    .await
                    .store_err(RESOURCE)?;
                match existing {
                    Some(row) => account_from_row(row),
                    // The clash was on the id, not the request id.
                    None => Err(StoreError::AlreadyExists { resource: RESOURCE }),
                }
            }
            Err(err) => Err(err),
        }
    }

    async fn update_account(
        &self,
        account: &Account,
        expect: Expect,
        events: &[NewEvent],
    ) -> Result<(), StoreError> {
        let Account {
            id,
            tenant,
            kind,
            state,
            phone_number,
            telegram_user_id,
            username,
            display_name,
            password_hint,
            created_at: _,
            updated_at,
        } = account;
        let update = accounts::Entity::update_many()
            .col_expr(accounts::Column::Kind, Expr::value(kind.as_str()))
            .col_expr(accounts::Column::State, Expr::value(state.as_str()))
            .col_expr(
                accounts::Column::PhoneNumber,
                Expr::value(phone_number.clone()),
            )
            .col_expr(
                accounts::Column::TelegramUserId,
                Expr::value(*telegram_user_id),
            )
            .col_expr(accounts::Column::Username, Expr::value(username.clone()))
            .col_expr(
                accounts::Column::DisplayName,
                Expr::value(display_name.clone()),
            )
            .col_expr(
                accounts::Column::PasswordHint,
                Expr::value(password_hint.clone()),
            )
            .col_expr(accounts::Column::UpdatedAt, Expr::value(*updated_at))
            .filter(accounts::Column::Id.eq(id.to_string()))
            .filter(accounts::Column::TenantId.eq(tenant.as_str()))
            .filter(accounts::Column::State.eq(expect.state.as_str()));
        let update = match expect.session_epoch {
            Some(epoch) => update.filter(accounts::Column::SessionEpoch.eq(epoch)),
            None => update,
        };
        let txn = self.begin_write().await?;
        let result = update.exec(&txn).await.store_err(RESOURCE)?;
        if result.rows_affected == 0 {
            txn.rollback().await.store_err(RESOURCE)?;
            return match self.get_account(tenant, *id).await {
                Ok(_) => Err(StoreError::Conflict { resource: RESOURCE }),
                Err(err) => Err(err),
            };
        }
        self.commit_with_events(txn, events, RESOURCE).await
    }

    async fn find_account(&self, id: AccountId) -> Result<Option<Account>, StoreError> {
        accounts::Entity::find_by_id(id.to_string())
            .one(self.connection())
            .await
            .store_err(RESOURCE)?
            .map(account_from_row)
            .transpose()
    }

    async fn find_account_by_request_id(
        &self,
        tenant: &TenantId,
        request_id: &str,
    ) -> Result<Option<Account>, StoreError> {
        accounts::Entity::find()
            .filter(accounts::Column::TenantId.eq(tenant.as_str()))
            .filter(accounts::Column::RequestId.eq(request_id))
            .one(self.connection())
            .await
            .store_err(RESOURCE)?
            .map(account_from_row)
            .transpose()
    }

    async fn find_account_by_telegram_user(
        &self,
        tenant: &TenantId,
        telegram_user_id: i64,
    ) -> Result<Option<Account>, StoreError> {
        accounts::Entity::find()
            .filter(accounts::Column::TenantId.eq(tenant.as_str()))
            .filter(accounts::Column::TelegramUserId.eq(telegram_user_id))
            .one(self.connection())
            .await
            .store_err(RESOURCE)?
            .map(account_from_row)
            .transpose()
    }

    async fn set_request_id(
        &self,
        tenant: &TenantId,
        id: AccountId,
        request_id: &str,
    ) -> Result<(), StoreError> {
        let result = accounts::Entity::update_many()
            .col_expr(accounts::Column::RequestId, Expr::value(request_id))
            .filter(accounts::Column::Id.eq(id.to_string()))
            .filter(accounts::Column::TenantId.eq(tenant.as_str()))
            .exec(self.connection())
            .await
            .store_err(RESOURCE)?;
        if result.rows_affected == 0 {
            return Err(StoreError::NotFound { resource: RESOURCE });
        }
        Ok(())
    }

    async fn count_accounts(&self, tenant: &TenantId) -> Result<u64, StoreError> {
        accounts::Entity::find()
            .filter(accounts::Column::TenantId.eq(tenant.as_str()))
            .count(self.connection())
            .await
            .store_err(RESOURCE)
    }

    async fn delete_account(&self, tenant: &TenantId, id: AccountId) -> Result<(), StoreError> {
        // Chats, messages, media, links, the outbox and the rest go by ON
        // DELETE CASCADE; the event log and webhook deliveries have no
        // foreign key (they outlive rows they mention), so the account's are
        // erased here, in the same transaction.
        let tx = self.begin_write().await?;
        let result = accounts::Entity::delete_many()
            .filter(accounts::Column::Id.eq(id.to_string()))
            .filter(accounts::Column::TenantId.eq(tenant.as_str()))
            .exec(&tx)
            .await
            .store_err(RESOURCE)?;
        if result.rows_affected == 0 {
            return Err(StoreError::NotFound { resource: RESOURCE });
        }
        events::Entity::delete_many()
            .filter(events::Column::AccountId.eq(id.to_string()))
            .filter(events::Column::TenantId.eq(tenant.as_str()))
            .exec(&tx)
            .await
            .store_err("event")?;
        // Deliveries carry their events' bodies (the account's messages) and
        // may outlive the events in the log.
        webhook_deliveries::Entity::delete_many()
            .filter(webhook_deliveries::Column::AccountId.eq(id.to_string()))
            .filter(webhook_deliveries::Column::TenantId.eq(tenant.as_str()))
            .exec(&tx)
            .await
            .store_err("delivery")?;
        tx.commit().await.store_err(RESOURCE)?;
        Ok(())
    }

    async fn load_login_state(&self, id: AccountId) -> Result<Option<Sealed>, StoreError> {
        load_sealed(self, id, &LOGIN_STATE).await
    }

    async fn save_login_state(
        &self,
        id: AccountId,
        state: Option<&Sealed>,
    ) -> Result<(), StoreError> {
        save_sealed(self, id, &LOGIN_STATE, state).await
    }

    async fn find_account_by_phone(
        &self,
        tenant: &TenantId,
        phone: &str,
    ) -> Result<Option<Account>, StoreError> {
        accounts::Entity::find()
            .filter(accounts::Column::TenantId.eq(tenant.as_str()))
            .filter(accounts::Column::PhoneNumber.eq(phone))
            .order_by_asc(accounts::Column::Id)
            .one(self.connection())
            .await
            .store_err(RESOURCE)?
            .map(account_from_row)
            .transpose()
    }

    async fn accounts_in_state(&self, state: AccountState) -> Result<Vec<Account>, StoreError> {
        accounts::Entity::find()
            .filter(accounts::Column::State.eq(state.as_str()))
            .order_by_asc(accounts::Column::Id)
            .all(self.connection())
            .await
            .store_err(RESOURCE)?
            .into_iter()
            .map(account_from_row)
            .collect()
    }
}

/// insert writes a new account row, with the request id that makes its
/// creation idempotent.
async fn insert(
    store: &Store,
    account: &Account,
    request_id: Option<&str>,
) -> Result<(), StoreError> {
    let Account {
        id,
        tenant,
        kind,
        state,
        phone_number,
        telegram_user_id,
        username,
        display_name,
        password_hint,
        created_at,
        updated_at,
    } = account;
    let row = accounts::ActiveModel {
        id: Set(id.to_string()),
        tenant_id: Set(tenant.as_str().to_owned()),
        kind: Set(kind.as_str().to_owned()),
        state: Set(state.as_str().to_owned()),
        phone_number: Set(phone_number.clone()),
        telegram_user_id: Set(*telegram_user_id),
        username: Set(username.clone()),
        display_name: Set(display_name.clone()),
        password_hint: Set(password_hint.clone()),
        session: Set(None),
        session_key_id: Set(None),
        session_epoch: Set(0),
        session_version: Set(0),
        login_state: Set(None),
        login_key_id: Set(None),
        request_id: Set(request_id.map(str::to_owned)),
        lease_owner: Set(None),
        lease_expires_at: Set(None),
        dialogs_loaded_at: Set(None),
        contacts_synced_at: Set(None),
        created_at: Set(*created_at),
        updated_at: Set(*updated_at),
    };
    accounts::Entity::insert(row)
        .exec_without_returning(store.connection())
        .await
        .store_err(RESOURCE)?;
    Ok(())
}

/// account_from_row reads a stored account; a value this build cannot read
/// (an unknown enum name, a malformed id) is `Corrupt`, never a panic.
fn account_from_row(row: accounts::Model) -> Result<Account, StoreError> {
    let corrupt = |what: &str, err: &dyn std::fmt::Display| {
        StoreError::Corrupt(format!("account {}: {what}: {err}", row.id))
    };
    let id = row
        .id
        .parse::<AccountId>()
        .map_err(|err| corrupt("id", &err))?;
    let tenant = TenantId::parse(&row.tenant_id)
        .ok_or_else(|| corrupt("tenant_id", &format_args!("{:?}", row.tenant_id)))?;
    let kind = row.kind.parse().map_err(|err| corrupt("kind", &err))?;
    let state = row.state.parse().map_err(|err| corrupt("state", &err))?;
    Ok(Account {
        id,
        tenant,
        kind,
        state,
        phone_number: row.phone_number,
        telegram_user_id: row.telegram_user_id,
        username: row.username,
        display_name: row.display_name,
        password_hint: row.password_hint,
        created_at: row.created_at,
        updated_at: row.updated_at,
    })
}
