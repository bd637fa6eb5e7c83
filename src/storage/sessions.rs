//! Sealed values on `accounts`: the Telegram session (`session`,
//! `session_key_id`) and the state of a login in progress (`login_state`,
//! `login_key_id`). Each is AEAD-sealed bytes plus the id of the key that
//! sealed them; storage never sees them open. Session writes are
//! compare-and-set on `session_epoch` / `session_version`.

use async_trait::async_trait;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect};

use super::chats::lock_account;
use super::entities::accounts;
use super::leases::check_fence;
use super::{Store, StoreResultExt};
use crate::domain::AccountId;
use crate::domain::lease::Fence;
use crate::domain::ports::{FIRST_SESSION_VERSION, Sealed, SessionRow, SessionStore, StoreError};

const RESOURCE: &str = "account";

/// SealedColumns names the two columns of one sealed value.
pub(super) struct SealedColumns {
    sealed: accounts::Column,
    key_id: accounts::Column,
    what: &'static str,
}

pub(super) const LOGIN_STATE: SealedColumns = SealedColumns {
    sealed: accounts::Column::LoginState,
    key_id: accounts::Column::LoginKeyId,
    what: "login state",
};

/// load_sealed reads one sealed value of an account; `NotFound` when the
/// account is gone.
pub(super) async fn load_sealed(
    store: &Store,
    id: AccountId,
    columns: &SealedColumns,
) -> Result<Option<Sealed>, StoreError> {
    let row: Option<(Option<Vec<u8>>, Option<String>)> =
        accounts::Entity::find_by_id(id.to_string())
            .select_only()
            .column(columns.sealed)
            .column(columns.key_id)
            .into_tuple()
            .one(store.connection())
            .await
            .store_err(RESOURCE)?;
    match row {
        None => Err(StoreError::NotFound { resource: RESOURCE }),
        Some((Some(sealed), Some(key_id))) => Ok(Some(Sealed { sealed, key_id })),
        Some((None, _)) => Ok(None),
        Some((Some(_), None)) => Err(StoreError::Corrupt(format!(
            "account {id} has a {} without a key id",
            columns.what
        ))),
    }
}

/// save_sealed replaces (or with `None` clears) one sealed value; `NotFound`
/// when the account is gone.
pub(super) async fn save_sealed(
    store: &Store,
    id: AccountId,
    columns: &SealedColumns,
    value: Option<&Sealed>,
) -> Result<(), StoreError> {
    let (sealed, key_id) = match value {
        Some(value) => (Some(value.sealed.clone()), Some(value.key_id.clone())),
        None => (None, None),
    };
    let result = accounts::Entity::update_many()
        .col_expr(columns.sealed, Expr::value(sealed))
        .col_expr(columns.key_id, Expr::value(key_id))
        .filter(accounts::Column::Id.eq(id.to_string()))
        .exec(store.connection())
        .await
        .store_err(RESOURCE)?;
    if result.rows_affected == 0 {
        return Err(StoreError::NotFound { resource: RESOURCE });
    }
    Ok(())
}

/// missing_or_conflict explains a compare-and-set that changed no row: the
/// account is gone (`NotFound`) or a concurrent writer moved it (`Conflict`).
async fn missing_or_conflict(store: &Store, id: AccountId) -> StoreError {
    let exists = accounts::Entity::find_by_id(id.to_string())
        .select_only()
        .column(accounts::Column::Id)
        .into_tuple::<String>()
        .one(store.connection())
        .await;
    match exists {
        Ok(Some(_)) => StoreError::Conflict {
            resource: "session",
        },
        Ok(None) => StoreError::NotFound { resource: RESOURCE },
        Err(err) => super::classify(err, RESOURCE),
    }
}

#[async_trait]
impl SessionStore for Store {
    async fn load_session(&self, account: AccountId) -> Result<SessionRow, StoreError> {
        let row: Option<(Option<Vec<u8>>, Option<String>, i64, i64)> =
            accounts::Entity::find_by_id(account.to_string())
                .select_only()
                .column(accounts::Column::Session)
                .column(accounts::Column::SessionKeyId)
                .column(accounts::Column::SessionEpoch)
                .column(accounts::Column::SessionVersion)
                .into_tuple()
                .one(self.connection())
                .await
                .store_err(RESOURCE)?;
        let (sealed, key_id, epoch, version) =
            row.ok_or(StoreError::NotFound { resource: RESOURCE })?;
        let sealed = match (sealed, key_id) {
            (Some(sealed), Some(key_id)) => Some(Sealed { sealed, key_id }),
            (None, _) => None,
            (Some(_), None) => {
                return Err(StoreError::Corrupt(format!(
                    "account {account} has a session without a key id"
                )));
            }
        };
        Ok(SessionRow {
            sealed,
            epoch,
            version,
        })
    }

    async fn save_session(
        &self,
        account: AccountId,
        epoch: i64,
        version: i64,
        session: &Sealed,
        fence: Option<&Fence>,
    ) -> Result<(), StoreError> {
        // Under a lease the save waits for, or is refused after, a new
        // owner's acquisition (see `leases`): lock, check, write.
        let txn = match fence {
            Some(fence) => {
                let txn = self.begin_write().await?;
                lock_account(&txn, account).await?;
                if let Err(err) = check_fence(&txn, account, fence).await {
                    return Err(
                        match accounts::Entity::find_by_id(account.to_string())
                            .one(&txn)
                            .await
                            .store_err(RESOURCE)?
                        {
                            Some(_) => err,
                            None => StoreError::NotFound { resource: RESOURCE },
                        },
                    );
                }
                Some(txn)
            }
            None => None,
        };
        let update = accounts::Entity::update_many()
            .col_expr(
                accounts::Column::Session,
                Expr::value(session.sealed.clone()),
            )
            .col_expr(
                accounts::Column::SessionKeyId,
                Expr::value(session.key_id.clone()),
            )
            .col_expr(accounts::Column::SessionVersion, Expr::value(version))
            .filter(accounts::Column::Id.eq(account.to_string()))
            .filter(accounts::Column::SessionEpoch.eq(epoch))
            .filter(accounts::Column::SessionVersion.lt(version));
        let result = match &txn {
            Some(txn) => update.exec(txn).await,
            None => update.exec(self.connection()).await,
        }
        .store_err(RESOURCE)?;
        if result.rows_affected == 0 {
            drop(txn);
            return Err(missing_or_conflict(self, account).await);
        }
        if let Some(txn) = txn {
            txn.commit().await.store_err(RESOURCE)?;
        }
        Ok(())
    }

    async fn replace_session(
        &self,
        account: AccountId,
        expected_epoch: i64,
        session: &Sealed,
    ) -> Result<i64, StoreError> {
        let epoch = expected_epoch + 1;
        let result = accounts::Entity::update_many()
            .col_expr(
                accounts::Column::Session,
                Expr::value(session.sealed.clone()),
            )
            .col_expr(
                accounts::Column::SessionKeyId,
                Expr::value(session.key_id.clone()),
            )
            .col_expr(accounts::Column::SessionEpoch, Expr::value(epoch))
            .col_expr(
                accounts::Column::SessionVersion,
                Expr::value(FIRST_SESSION_VERSION),
            )
            .filter(accounts::Column::Id.eq(account.to_string()))
            .filter(accounts::Column::SessionEpoch.eq(expected_epoch))
            .exec(self.connection())
            .await
            .store_err(RESOURCE)?;
        if result.rows_affected == 0 {
            return Err(missing_or_conflict(self, account).await);
        }
        Ok(epoch)
    }
}
