//! `LeaseStore` on `account_leases` and `instances`, and the fence check
//! owner-only writes make.
//!
//! Who writes what, and how a racing writer is refused:
//! - A lease is taken (`acquire`) in a transaction that first locks the
//!   account's row (`lock_account`, as every transaction writing the
//!   account's chats and messages does) and then reads and writes the
//!   lease: of two instances acquiring at once, the second reads the
//!   first's lease and gets nothing. Every acquisition moves the epoch on.
//! - A write only the owner may make (ingest, a fenced session save, an
//!   outbox outcome) locks the account's row the same way and then reads
//!   the lease ([`check_fence`]): it either lands before a new owner's
//!   acquisition or sees that acquisition and is refused (`Conflict`).
//!   So an old owner that lost its lease — paused, partitioned — can never
//!   write after the new one took over (fencing, not timing).
//! - Renewal and release touch only a lease that is still the caller's
//!   (owner and epoch).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Alias, Condition, Expr, ExprTrait, JoinType, Order, Query};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseTransaction, DbBackend, EntityTrait,
    PaginatorTrait, QueryFilter, Statement,
};

use super::chats::lock_account;
use super::entities::{account_leases, accounts, instances};
use super::{Store, StoreResultExt};
use crate::domain::lease::{Fence, Instance, InstanceId, Lease};
use crate::domain::ports::{LeaseStore, StoreError};
use crate::domain::{AccountId, AccountState, TenantId};

const LEASE: &str = crate::domain::ports::LEASE_RESOURCE;
const INSTANCE: &str = "instance";

/// released is the expiry a given-up lease gets: long past.
fn released() -> DateTime<Utc> {
    DateTime::<Utc>::UNIX_EPOCH
}

/// check_fence refuses (`Conflict`) unless the account's lease is still
/// `fence`. Call it in a transaction that locked the account's row first.
pub(super) async fn check_fence(
    txn: &DatabaseTransaction,
    account: AccountId,
    fence: &Fence,
) -> Result<(), StoreError> {
    let lease = account_leases::Entity::find_by_id(account.to_string())
        .one(txn)
        .await
        .store_err(LEASE)?;
    match lease {
        Some(row) if row.owner == fence.owner.as_str() && row.epoch == fence.epoch => Ok(()),
        _ => Err(StoreError::Conflict { resource: LEASE }),
    }
}

fn lease_from_row(row: account_leases::Model) -> Result<Lease, StoreError> {
    let corrupt = |what: &str| StoreError::Corrupt(format!("lease {}: {what}", row.account_id));
    Ok(Lease {
        account: row.account_id.parse().map_err(|_| corrupt("account id"))?,
        tenant: TenantId::parse(&row.tenant_id).ok_or_else(|| corrupt("tenant"))?,
        fence: Fence {
            owner: InstanceId::from_stored(row.owner),
            epoch: row.epoch,
        },
        expires_at: row.expires_at,
    })
}

fn instance_from_row(row: instances::Model) -> Instance {
    Instance {
        id: InstanceId::from_stored(row.id),
        address: row.address,
        heartbeat_at: row.heartbeat_at,
        draining: row.draining,
        supervises: row.supervises,
    }
}

#[async_trait]
impl LeaseStore for Store {
    async fn now(&self) -> Result<DateTime<Utc>, StoreError> {
        let db = self.connection();
        if db.get_database_backend() != DbBackend::Postgres {
            // One process uses an SQLite database: its clock is the clock.
            return Ok(Utc::now());
        }
        let row = db
            .query_one_raw(Statement::from_string(
                DbBackend::Postgres,
                "SELECT now() AS now",
            ))
            .await
            .store_err(LEASE)?
            .ok_or_else(|| StoreError::Other("now() returned no row".into()))?;
        row.try_get::<DateTime<Utc>>("", "now")
            .map_err(|err| StoreError::Other(format!("now(): {err}")))
    }

    async fn heartbeat(&self, instance: &Instance) -> Result<(), StoreError> {
        let row = instances::ActiveModel {
            id: Set(instance.id.as_str().to_owned()),
            address: Set(instance.address.clone()),
            started_at: Set(instance.heartbeat_at),
            heartbeat_at: Set(instance.heartbeat_at),
            draining: Set(instance.draining),
            supervises: Set(instance.supervises),
        };
        instances::Entity::insert(row)
            .on_conflict(
                sea_orm::sea_query::OnConflict::column(instances::Column::Id)
                    .update_columns([
                        instances::Column::Address,
                        instances::Column::HeartbeatAt,
                        instances::Column::Draining,
                        instances::Column::Supervises,
                    ])
                    .to_owned(),
            )
            .exec_without_returning(self.connection())
            .await
            .store_err(INSTANCE)?;
        Ok(())
    }

    async fn leave(&self, id: &InstanceId) -> Result<(), StoreError> {
        instances::Entity::delete_by_id(id.as_str().to_owned())
            .exec(self.connection())
            .await
            .store_err(INSTANCE)?;
        Ok(())
    }

    async fn instances(&self, since: DateTime<Utc>) -> Result<Vec<Instance>, StoreError> {
        Ok(instances::Entity::find()
            .filter(instances::Column::HeartbeatAt.gte(since))
            .all(self.connection())
            .await
            .store_err(INSTANCE)?
            .into_iter()
            .map(instance_from_row)
            .collect())
    }

    async fn count_authorized(&self) -> Result<u64, StoreError> {
        accounts::Entity::find()
            .filter(accounts::Column::State.eq(AccountState::Authorized.as_str()))
            .count(self.connection())
            .await
            .store_err("account")
    }

    async fn unowned(
        &self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<(TenantId, AccountId)>, StoreError> {
        let lease = Alias::new("l");
        let query = Query::select()
            .column((accounts::Entity, accounts::Column::TenantId))
            .column((accounts::Entity, accounts::Column::Id))
            .from(accounts::Entity)
            .join_as(
                JoinType::LeftJoin,
                account_leases::Entity,
                lease.clone(),
                Expr::col((lease.clone(), account_leases::Column::AccountId))
                    .equals((accounts::Entity, accounts::Column::Id)),
            )
            .and_where(
                Expr::col((accounts::Entity, accounts::Column::State))
                    .eq(AccountState::Authorized.as_str()),
            )
            .cond_where(
                Condition::any()
                    .add(Expr::col((lease.clone(), account_leases::Column::AccountId)).is_null())
                    .add(Expr::col((lease.clone(), account_leases::Column::Owner)).eq(""))
                    .add(Expr::col((lease, account_leases::Column::ExpiresAt)).lt(now)),
            )
            .order_by((accounts::Entity, accounts::Column::Id), Order::Asc)
            .limit(u64::from(limit))
            .to_owned();
        let db = self.connection();
        let rows = db
            .query_all_raw(db.get_database_backend().build(&query))
            .await
            .store_err(LEASE)?;
        rows.into_iter()
            .map(|row| {
                let tenant: String = row
                    .try_get("", "tenant_id")
                    .map_err(|err| StoreError::Other(err.to_string()))?;
                let id: String = row
                    .try_get("", "id")
                    .map_err(|err| StoreError::Other(err.to_string()))?;
                let corrupt = || StoreError::Corrupt(format!("account {id}"));
                Ok((
                    TenantId::parse(&tenant).ok_or_else(corrupt)?,
                    id.parse().map_err(|_| corrupt())?,
                ))
            })
            .collect()
    }

    async fn acquire(
        &self,
        account: AccountId,
        owner: &InstanceId,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Option<Fence>, StoreError> {
        let txn = self.begin_write().await?;
        lock_account(&txn, account).await?;
        let Some(row) = accounts::Entity::find_by_id(account.to_string())
            .one(&txn)
            .await
            .store_err("account")?
        else {
            return Ok(None);
        };
        if row.state != AccountState::Authorized.as_str() {
            return Ok(None);
        }
        let current = account_leases::Entity::find_by_id(account.to_string())
            .one(&txn)
            .await
            .store_err(LEASE)?;
        let epoch = match &current {
            // Ours already: the caller lost track of it; it keeps its epoch.
            Some(lease) if lease.owner == owner.as_str() && lease.expires_at >= now => {
                return Ok(Some(Fence {
                    owner: owner.clone(),
                    epoch: lease.epoch,
                }));
            }
            Some(lease) if !lease.owner.is_empty() && lease.expires_at >= now => return Ok(None),
            Some(lease) => lease.epoch + 1,
            None => 1,
        };
        let lease = account_leases::ActiveModel {
            account_id: Set(account.to_string()),
            tenant_id: Set(row.tenant_id.clone()),
            owner: Set(owner.as_str().to_owned()),
            epoch: Set(epoch),
            expires_at: Set(until),
            acquired_at: Set(now),
        };
        if current.is_some() {
            account_leases::Entity::update(lease)
                .exec(&txn)
                .await
                .store_err(LEASE)?;
        } else {
            account_leases::Entity::insert(lease)
                .exec_without_returning(&txn)
                .await
                .store_err(LEASE)?;
        }
        txn.commit().await.store_err(LEASE)?;
        Ok(Some(Fence {
            owner: owner.clone(),
            epoch,
        }))
    }

    async fn renew(
        &self,
        fences: &[(AccountId, Fence)],
        until: DateTime<Utc>,
    ) -> Result<Vec<AccountId>, StoreError> {
        if fences.is_empty() {
            return Ok(Vec::new());
        }
        let mut renewed = Vec::with_capacity(fences.len());
        // A few hundred at a time keeps the statement small.
        for batch in fences.chunks(200) {
            let mut held = Condition::any();
            for (account, fence) in batch {
                held = held.add(
                    Condition::all()
                        .add(account_leases::Column::AccountId.eq(account.to_string()))
                        .add(account_leases::Column::Owner.eq(fence.owner.as_str()))
                        .add(account_leases::Column::Epoch.eq(fence.epoch)),
                );
            }
            let txn = self.begin_write().await?;
            account_leases::Entity::update_many()
                .col_expr(account_leases::Column::ExpiresAt, Expr::value(until))
                .filter(held.clone())
                .exec(&txn)
                .await
                .store_err(LEASE)?;
            let rows = account_leases::Entity::find()
                .filter(held)
                .all(&txn)
                .await
                .store_err(LEASE)?;
            txn.commit().await.store_err(LEASE)?;
            for row in rows {
                if let Ok(account) = row.account_id.parse() {
                    renewed.push(account);
                }
            }
        }
        Ok(renewed)
    }

    async fn release(&self, account: AccountId, fence: &Fence) -> Result<(), StoreError> {
        account_leases::Entity::update_many()
            .col_expr(account_leases::Column::Owner, Expr::value(""))
            .col_expr(account_leases::Column::ExpiresAt, Expr::value(released()))
            .filter(account_leases::Column::AccountId.eq(account.to_string()))
            .filter(account_leases::Column::Owner.eq(fence.owner.as_str()))
            .filter(account_leases::Column::Epoch.eq(fence.epoch))
            .exec(self.connection())
            .await
            .store_err(LEASE)?;
        Ok(())
    }

    async fn lease(&self, account: AccountId) -> Result<Option<Lease>, StoreError> {
        account_leases::Entity::find_by_id(account.to_string())
            .one(self.connection())
            .await
            .store_err(LEASE)?
            .map(lease_from_row)
            .transpose()
    }

    async fn holder(&self, account: AccountId) -> Result<Option<(InstanceId, String)>, StoreError> {
        let Some(lease) = account_leases::Entity::find_by_id(account.to_string())
            .one(self.connection())
            .await
            .store_err(LEASE)?
        else {
            return Ok(None);
        };
        if lease.owner.is_empty() || lease.expires_at < self.now().await? {
            return Ok(None);
        }
        let address = instances::Entity::find_by_id(lease.owner.clone())
            .one(self.connection())
            .await
            .store_err(INSTANCE)?
            .map(|row| row.address)
            .unwrap_or_default();
        Ok(Some((InstanceId::from_stored(lease.owner), address)))
    }

    async fn not_authorized(&self, accounts: &[AccountId]) -> Result<Vec<AccountId>, StoreError> {
        if accounts.is_empty() {
            return Ok(Vec::new());
        }
        let authorized: std::collections::HashSet<String> = accounts::Entity::find()
            .filter(accounts::Column::Id.is_in(accounts.iter().map(|a| a.to_string())))
            .filter(accounts::Column::State.eq(AccountState::Authorized.as_str()))
            .all(self.connection())
            .await
            .store_err("account")?
            .into_iter()
            .map(|row| row.id)
            .collect();
        Ok(accounts
            .iter()
            .copied()
            .filter(|a| !authorized.contains(&a.to_string()))
            .collect())
    }
}
