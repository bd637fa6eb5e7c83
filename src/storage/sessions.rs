//! Sealed values on `accounts`: the Telegram session (`session`,
//! `session_key_id`) and the state of a login in progress (`login_state`,
//! `login_key_id`). Each is AEAD-sealed bytes plus the id of the key that
//! sealed them; storage never sees them open.

use async_trait::async_trait;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect};

use super::entities::accounts;
use super::{Store, StoreResultExt};
use crate::domain::AccountId;
use crate::domain::ports::{Sealed, SessionStore, StoreError};

const RESOURCE: &str = "account";

/// SealedColumns names the two columns of one sealed value.
pub(super) struct SealedColumns {
    sealed: accounts::Column,
    key_id: accounts::Column,
    what: &'static str,
}

pub(super) const SESSION: SealedColumns = SealedColumns {
    sealed: accounts::Column::Session,
    key_id: accounts::Column::SessionKeyId,
    what: "session",
};

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

#[async_trait]
impl SessionStore for Store {
    async fn load_session(&self, account: AccountId) -> Result<Option<Sealed>, StoreError> {
        load_sealed(self, account, &SESSION).await
    }

    async fn save_session(&self, account: AccountId, session: &Sealed) -> Result<(), StoreError> {
        save_sealed(self, account, &SESSION, Some(session)).await
    }
}
