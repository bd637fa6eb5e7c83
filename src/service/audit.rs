//! The audit log (`Audit`: recording what callers did, and
//! ListAuditEntries) and each caller's preferences (`UserPreferences`).
//!
//! An entry is recorded once the action it describes succeeded, so a
//! refused or failed call leaves none. It is a write of its own after the
//! action's: a failed write is retried in the background for about a
//! minute (the call that did the action is not failed for it: the action
//! happened, and retrying it would do it twice), then counted as lost
//! (`tezgram_audit_entries_lost_total`) and logged with what it described.
//! A crash between an action and its entry loses the entry; the action's
//! own rows and events remain.

use std::sync::Arc;
use std::time::Duration;

use super::cached::Generations;
use super::require;
use crate::domain::audit::{
    AuditEntry, AuditFilter, MAX_SIGNATURE, NewAuditEntry, Preferences, PreferencesChange,
};
use crate::domain::ports::{AuditStore, PreferenceStore};
use crate::domain::{Caller, Error, Scope, TenantId};
use crate::telemetry::Metrics;

/// RETRIES are the waits between the attempts to write an entry after the
/// first failed.
const RETRIES: [Duration; 5] = [
    Duration::from_secs(1),
    Duration::from_secs(2),
    Duration::from_secs(4),
    Duration::from_secs(16),
    Duration::from_secs(40),
];

#[derive(Clone)]
pub struct Audit {
    store: Arc<dyn AuditStore>,
    metrics: Metrics,
}

impl Audit {
    pub fn new(store: Arc<dyn AuditStore>, metrics: Metrics) -> Self {
        Self { store, metrics }
    }

    /// record writes an entry about an action that succeeded.
    pub async fn record(&self, entry: NewAuditEntry) {
        let Err(err) = self.store.record(&entry).await else {
            return;
        };
        tracing::warn!(action = entry.action.as_str(), error = %err, "audit entry not written, retrying in the background");
        let this = self.clone();
        tokio::spawn(async move {
            for wait in RETRIES {
                tokio::time::sleep(wait).await;
                if this.store.record(&entry).await.is_ok() {
                    return;
                }
            }
            this.metrics.audit_entries_lost.inc();
            tracing::error!(
                tenant = %entry.tenant,
                principal = %entry.principal,
                action = entry.action.as_str(),
                account_id = ?entry.account.map(|a| a.to_string()),
                chat_id = ?entry.chat_id,
                "audit entry lost"
            );
        });
    }

    /// entries lists the caller's tenant's entries, newest first.
    pub async fn entries(
        &self,
        caller: &Caller,
        filter: &AuditFilter,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Vec<AuditEntry>, Error> {
        require(caller, Scope::AuditRead)?;
        Ok(self
            .store
            .audit_entries(&caller.tenant, filter, before, limit)
            .await?)
    }
}

/// PREFERENCES_TTL is how long a cached copy of one caller's preferences
/// lives (every UpdatePreferences retires it).
const PREFERENCES_TTL: Duration = Duration::from_secs(300);

fn generation_key(tenant: &TenantId, principal: &str) -> String {
    format!("prefs-gen:{tenant}:{principal}")
}

fn cache_key(tenant: &TenantId, principal: &str) -> String {
    format!("prefs:{tenant}:{principal}")
}

/// UserPreferences serves GetPreferences and UpdatePreferences, and the
/// preferences other services apply (a sender's signature).
#[derive(Clone)]
pub struct UserPreferences {
    store: Arc<dyn PreferenceStore>,
    generations: Generations,
    accounts: Arc<dyn crate::domain::ports::AccountStore>,
}

impl UserPreferences {
    pub fn new(
        store: Arc<dyn PreferenceStore>,
        generations: Generations,
        accounts: Arc<dyn crate::domain::ports::AccountStore>,
    ) -> Self {
        Self {
            store,
            generations,
            accounts,
        }
    }

    /// stored are the caller's preferences as stored (the defaults when
    /// never set), through the cache.
    pub async fn stored(&self, caller: &Caller) -> Result<Preferences, Error> {
        let (tenant, principal) = (&caller.tenant, caller.principal.as_str());
        self.generations
            .read_through(
                &generation_key(tenant, principal),
                &cache_key(tenant, principal),
                PREFERENCES_TTL,
                async {
                    Ok(self
                        .store
                        .preferences(tenant, principal)
                        .await?
                        .unwrap_or_default())
                },
            )
            .await
    }

    /// get is GetPreferences: a default account that no longer exists
    /// reads as none.
    pub async fn get(&self, caller: &Caller) -> Result<Preferences, Error> {
        let mut preferences = self.stored(caller).await?;
        self.forget_deleted_account(caller, &mut preferences)
            .await?;
        Ok(preferences)
    }

    async fn forget_deleted_account(
        &self,
        caller: &Caller,
        preferences: &mut Preferences,
    ) -> Result<(), Error> {
        let Some(account) = preferences.default_account else {
            return Ok(());
        };
        match super::accounts::cached_account(
            &self.generations,
            self.accounts.as_ref(),
            &caller.tenant,
            account,
        )
        .await
        {
            Ok(_) => Ok(()),
            Err(Error::NotFound { .. }) => {
                preferences.default_account = None;
                Ok(())
            }
            Err(err) => Err(err),
        }
    }

    /// update is UpdatePreferences: the named default account must be one
    /// of the caller's tenant.
    pub async fn update(
        &self,
        caller: &Caller,
        change: PreferencesChange,
    ) -> Result<Preferences, Error> {
        debug_assert!(!change.is_empty(), "the api refuses an empty mask");
        debug_assert!(
            change
                .signature
                .as_ref()
                .is_none_or(|s| s.encode_utf16().count() <= MAX_SIGNATURE),
            "the api checks the signature's length"
        );
        if let Some(Some(account)) = change.default_account {
            super::accounts::cached_account(
                &self.generations,
                self.accounts.as_ref(),
                &caller.tenant,
                account,
            )
            .await?;
        }
        let (tenant, principal) = (&caller.tenant, caller.principal.as_str());
        let mut preferences = self
            .store
            .update_preferences(tenant, principal, &change)
            .await?;
        self.generations
            .invalidate(&generation_key(tenant, principal), PREFERENCES_TTL)
            .await;
        self.forget_deleted_account(caller, &mut preferences)
            .await?;
        Ok(preferences)
    }
}
