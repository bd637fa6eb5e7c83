//! `ContactStore` on the `contacts` table: a copy of each account's contact
//! list, replaced whole by a sync from Telegram (in one transaction, with
//! the account's sync time) and extended by the contacts ResolveChat
//! imports. Pages are keyset pages in (first name, last name, user id)
//! order; `last_name` is stored as "" rather than NULL, so both backends
//! order and compare it alike.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, DatabaseTransaction, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect,
};

use super::chats::lock_account;
use super::entities::{accounts, contacts};
use super::{Store, StoreResultExt};
use crate::domain::chat::{Contact, ContactCursor, ContactPage};
use crate::domain::ports::{ContactStore, StoreError};
use crate::domain::{AccountId, TenantId};

const CONTACT: &str = "contact";

pub(super) fn contact_from_row(row: contacts::Model) -> Contact {
    Contact {
        user_id: row.user_id,
        access_hash: row.access_hash,
        phone_number: row.phone_number,
        first_name: row.first_name,
        last_name: row.last_name.unwrap_or_default(),
        username: row.username,
        mutual: row.mutual,
    }
}

async fn upsert_contact(
    txn: &DatabaseTransaction,
    tenant: &TenantId,
    account: AccountId,
    contact: &Contact,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let row = contacts::ActiveModel {
        account_id: Set(account.to_string()),
        user_id: Set(contact.user_id),
        tenant_id: Set(tenant.as_str().to_owned()),
        access_hash: Set(contact.access_hash),
        phone_number: Set(contact.phone_number.clone()),
        first_name: Set(contact.first_name.clone()),
        last_name: Set(Some(contact.last_name.clone())),
        username: Set(contact.username.clone()),
        mutual: Set(contact.mutual),
        created_at: Set(now),
        updated_at: Set(now),
    };
    contacts::Entity::insert(row)
        .on_conflict(
            OnConflict::columns([contacts::Column::AccountId, contacts::Column::UserId])
                .update_columns([
                    contacts::Column::AccessHash,
                    contacts::Column::PhoneNumber,
                    contacts::Column::FirstName,
                    contacts::Column::LastName,
                    contacts::Column::Username,
                    contacts::Column::Mutual,
                    contacts::Column::UpdatedAt,
                ])
                .to_owned(),
        )
        .exec_without_returning(txn)
        .await
        .store_err(CONTACT)?;
    Ok(())
}

#[async_trait]
impl ContactStore for Store {
    async fn contacts_synced_at(
        &self,
        account: AccountId,
    ) -> Result<Option<DateTime<Utc>>, StoreError> {
        let row = accounts::Entity::find_by_id(account.to_string())
            .one(self.connection())
            .await
            .store_err("account")?
            .ok_or(StoreError::NotFound {
                resource: "account",
            })?;
        Ok(row.contacts_synced_at)
    }

    async fn replace_contacts(
        &self,
        tenant: &TenantId,
        account: AccountId,
        list: &[Contact],
        synced_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let txn = self.begin_write().await?;
        lock_account(&txn, account).await?;
        contacts::Entity::delete_many()
            .filter(contacts::Column::AccountId.eq(account.to_string()))
            .filter(contacts::Column::UserId.is_not_in(list.iter().map(|c| c.user_id)))
            .exec(&txn)
            .await
            .store_err(CONTACT)?;
        for contact in list {
            upsert_contact(&txn, tenant, account, contact, synced_at).await?;
        }
        let updated = accounts::Entity::update_many()
            .col_expr(
                accounts::Column::ContactsSyncedAt,
                sea_orm::sea_query::Expr::value(synced_at),
            )
            .filter(accounts::Column::Id.eq(account.to_string()))
            .filter(accounts::Column::TenantId.eq(tenant.as_str()))
            .exec(&txn)
            .await
            .store_err("account")?;
        if updated.rows_affected == 0 {
            return Err(StoreError::NotFound {
                resource: "account",
            });
        }
        txn.commit().await.store_err(CONTACT)
    }

    async fn add_contact(
        &self,
        tenant: &TenantId,
        account: AccountId,
        contact: &Contact,
    ) -> Result<(), StoreError> {
        let txn = self.begin_write().await?;
        lock_account(&txn, account).await?;
        upsert_contact(&txn, tenant, account, contact, Utc::now()).await?;
        txn.commit().await.store_err(CONTACT)
    }

    async fn list_contacts(
        &self,
        tenant: &TenantId,
        account: AccountId,
        after: Option<&ContactCursor>,
        limit: u32,
    ) -> Result<ContactPage, StoreError> {
        let mut query = contacts::Entity::find()
            .filter(contacts::Column::TenantId.eq(tenant.as_str()))
            .filter(contacts::Column::AccountId.eq(account.to_string()));
        if let Some(after) = after {
            // (first, last, id) > the cursor's, spelled out for both backends.
            use contacts::Column::{FirstName, LastName, UserId};
            query = query.filter(
                Condition::any()
                    .add(FirstName.gt(after.first_name.as_str()))
                    .add(
                        Condition::all()
                            .add(FirstName.eq(after.first_name.as_str()))
                            .add(LastName.gt(after.last_name.as_str())),
                    )
                    .add(
                        Condition::all()
                            .add(FirstName.eq(after.first_name.as_str()))
                            .add(LastName.eq(after.last_name.as_str()))
                            .add(UserId.gt(after.user_id)),
                    ),
            );
        }
        let rows = query
            .order_by_asc(contacts::Column::FirstName)
            .order_by_asc(contacts::Column::LastName)
            .order_by_asc(contacts::Column::UserId)
            .limit(u64::from(limit) + 1)
            .all(self.connection())
            .await
            .store_err(CONTACT)?;
        let more = rows.len() > limit as usize;
        let contacts: Vec<Contact> = rows
            .into_iter()
            .take(limit as usize)
            .map(contact_from_row)
            .collect();
        let next = contacts.last().filter(|_| more).map(|last| ContactCursor {
            first_name: last.first_name.clone(),
            last_name: last.last_name.clone(),
            user_id: last.user_id,
        });
        Ok(ContactPage { contacts, next })
    }

    async fn contact_by_phone(
        &self,
        tenant: &TenantId,
        account: AccountId,
        phone: &str,
    ) -> Result<Option<Contact>, StoreError> {
        Ok(contacts::Entity::find()
            .filter(contacts::Column::TenantId.eq(tenant.as_str()))
            .filter(contacts::Column::AccountId.eq(account.to_string()))
            .filter(contacts::Column::PhoneNumber.eq(phone))
            .one(self.connection())
            .await
            .store_err(CONTACT)?
            .map(contact_from_row))
    }
}
