//! Telegram sessions, sealed, in `accounts.session` / `accounts.session_key_id`.

use async_trait::async_trait;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect};

use super::entities::accounts;
use super::{Store, StoreResultExt};
use crate::domain::AccountId;
use crate::domain::ports::{Sealed, SessionStore, StoreError};

const RESOURCE: &str = "account";

#[async_trait]
impl SessionStore for Store {
    async fn load_session(&self, account: AccountId) -> Result<Option<Sealed>, StoreError> {
        let row: Option<(Option<Vec<u8>>, Option<String>)> =
            accounts::Entity::find_by_id(account.to_string())
                .select_only()
                .column(accounts::Column::Session)
                .column(accounts::Column::SessionKeyId)
                .into_tuple()
                .one(self.connection())
                .await
                .store_err(RESOURCE)?;
        match row {
            None => Err(StoreError::NotFound { resource: RESOURCE }),
            Some((Some(sealed), Some(key_id))) => Ok(Some(Sealed { sealed, key_id })),
            Some((None, _)) => Ok(None),
            Some((Some(_), None)) => Err(StoreError::Corrupt(format!(
                "account {account} has a session without a key id"
            ))),
        }
    }

    async fn save_session(&self, account: AccountId, session: &Sealed) -> Result<(), StoreError> {
        let result = accounts::Entity::update_many()
            .col_expr(
                accounts::Column::Session,
                Expr::value(session.sealed.clone()),
            )
            .col_expr(
                accounts::Column::SessionKeyId,
                Expr::value(session.key_id.clone()),
            )
            .filter(accounts::Column::Id.eq(account.to_string()))
            .exec(self.connection())
            .await
            .store_err(RESOURCE)?;
        if result.rows_affected == 0 {
            return Err(StoreError::NotFound { resource: RESOURCE });
        }
        Ok(())
    }
}
