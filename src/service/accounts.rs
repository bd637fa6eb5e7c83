//! Reading accounts. Logging in (which writes them) arrives with the
//! Telegram adapter; every write must call [`Accounts::invalidate`].

use std::sync::Arc;
use std::time::Duration;

use crate::domain::ports::{AccountPage, AccountStore, Cache};
use crate::domain::{Account, AccountId, Caller, Error, Scope, TenantId};

use super::require;

/// ACCOUNT_TTL bounds how long a cached account may be served; writes
/// invalidate it sooner.
const ACCOUNT_TTL: Duration = Duration::from_secs(300);

#[derive(Clone)]
pub struct Accounts {
    store: Arc<dyn AccountStore>,
    cache: Arc<dyn Cache>,
}

fn cache_key(tenant: &TenantId, id: AccountId) -> String {
    format!("account:{tenant}:{id}")
}

impl Accounts {
    pub fn new(store: Arc<dyn AccountStore>, cache: Arc<dyn Cache>) -> Self {
        Self { store, cache }
    }

    /// get reads through the cache. A cache failure is logged and the
    /// database answers: the cache is an accelerator, never a dependency.
    pub async fn get(&self, caller: &Caller, id: AccountId) -> Result<Account, Error> {
        require(caller, Scope::AccountsRead)?;
        let key = cache_key(&caller.tenant, id);
        match self.cache.get(&key).await {
            Ok(Some(bytes)) => match serde_json::from_slice::<Account>(&bytes) {
                Ok(account) => return Ok(account),
                Err(err) => tracing::warn!(error = %err, "undecodable cached account"),
            },
            Ok(None) => {}
            Err(err) => tracing::warn!(error = %err, "cache read failed, reading the database"),
        }
        let account = self.store.get_account(&caller.tenant, id).await?;
        let bytes = serde_json::to_vec(&account).expect("accounts serialize to json");
        if let Err(err) = self.cache.set(&key, &bytes, ACCOUNT_TTL).await {
            tracing::warn!(error = %err, "cache write failed");
        }
        Ok(account)
    }

    pub async fn list(
        &self,
        caller: &Caller,
        after: Option<AccountId>,
        limit: u32,
    ) -> Result<AccountPage, Error> {
        require(caller, Scope::AccountsRead)?;
        Ok(self
            .store
            .list_accounts(&caller.tenant, after, limit)
            .await?)
    }

    /// invalidate drops the cached copy of an account after a write.
    pub async fn invalidate(&self, tenant: &TenantId, id: AccountId) -> Result<(), Error> {
        self.cache.delete(&[cache_key(tenant, id)]).await?;
        Ok(())
    }
}
