//! [`Ownership`]: which authorized accounts this instance keeps connected,
//! under leases shared with the other instances on the same database.
//!
//! Each instance runs one loop (`run`): every `renew_every` it says it is
//! alive (`instances`), renews the leases it holds, stops the accounts whose
//! lease it lost or that left AUTHORIZED, restarts those it holds but whose
//! task ended, and balances: it takes unowned accounts (missing, given up
//! or expired leases) up to its fair share of all authorized accounts among
//! the live instances that supervise, `acquire_batch` at a time (a restart
//! does not reconnect every account at once), and hands the accounts above
//! its share back. A login that authorizes an account takes its lease at
//! once (`supervise`). Draining (`drain`, on shutdown) stops every account
//! and gives every lease up, so another instance takes over at its next
//! tick instead of waiting for the leases to run out.
//!
//! Safety: an account is connected here only under a lease this instance
//! holds, and only until `ttl - margin` after the last renewal that
//! succeeded (measured from when it was sent): when renewals fail (the
//! database is unreachable from here) every account is stopped before its
//! lease can run out and be taken by another instance. Every write only
//! the owner may make carries the lease (its fence), so one that arrives
//! late — from a paused process — is refused by the store.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::{Notify, watch};
use tokio::time::Instant;

use super::locks::KeyedLocks;
use crate::domain::lease::{Fence, Instance, InstanceId, Owner, fair_share};
use crate::domain::ports::{LeaseStore, LocalSupervision, StoreError, Supervision};
use crate::domain::{AccountId, TenantId};
use crate::telemetry::Metrics;

#[derive(Debug, Clone)]
pub struct OwnershipOptions {
    /// How long a lease lasts unless renewed.
    pub ttl: Duration,
    /// How often the loop renews, and looks for accounts to take.
    pub renew_every: Duration,
    /// How many accounts one tick takes or hands back at most.
    pub acquire_batch: u32,
    /// Whether this instance owns accounts at all (an API-only one does
    /// not, and does not count in the shares).
    pub supervises: bool,
    /// Where other instances reach this one; empty for nowhere.
    pub address: String,
}

impl Default for OwnershipOptions {
    fn default() -> Self {
        Self {
            ttl: Duration::from_secs(10),
            renew_every: Duration::from_secs(2),
            acquire_batch: 20,
            supervises: true,
            address: String::new(),
        }
    }
}

/// Held is a lease this instance holds.
#[derive(Debug, Clone)]
struct Held {
    tenant: TenantId,
    fence: Fence,
}

struct Inner {
    id: InstanceId,
    store: Arc<dyn LeaseStore>,
    local: Arc<dyn LocalSupervision>,
    options: OwnershipOptions,
    held: Mutex<HashMap<AccountId, Held>>,
    /// Serializes what is done for one account (taking, starting, giving
    /// up), so a release never misses a start racing it.
    steps: KeyedLocks<AccountId>,
    draining: AtomicBool,
    wake: Notify,
    /// When the last renewal that succeeded was sent.
    renewed_at: Mutex<Option<Instant>>,
    /// Where calls for accounts owned elsewhere went lately.
    route_cache: RouteCache,
    metrics: Metrics,
}

/// ROUTE_TTL is how long a routing answer is reused: a call to an owner
/// that went away meanwhile fails UNAVAILABLE, and a retry after this
/// finds the new owner.
const ROUTE_TTL: Duration = Duration::from_secs(1);

/// RouteCache keeps recent routing answers, so a burst of calls for one
/// account asks the store once.
#[derive(Default)]
struct RouteCache(Mutex<HashMap<AccountId, (Instant, Owner)>>);

impl RouteCache {
    fn get(&self, account: AccountId) -> Option<Owner> {
        let cache = self.0.lock().expect("route cache lock");
        cache
            .get(&account)
            .filter(|(at, _)| at.elapsed() < ROUTE_TTL)
            .map(|(_, owner)| owner.clone())
    }

    fn put(&self, account: AccountId, owner: Owner) {
        let mut cache = self.0.lock().expect("route cache lock");
        cache.retain(|_, (at, _)| at.elapsed() < ROUTE_TTL);
        cache.insert(account, (Instant::now(), owner));
    }

    fn forget(&self, account: AccountId) {
        self.0.lock().expect("route cache lock").remove(&account);
    }
}

/// Ownership is the handle; cheap to clone.
#[derive(Clone)]
pub struct Ownership {
    inner: Arc<Inner>,
}

/// STEP_WAIT bounds how long one account's step waits for another's.
const STEP_WAIT: Duration = Duration::from_secs(60);

impl Ownership {
    pub fn new(
        id: InstanceId,
        store: Arc<dyn LeaseStore>,
        local: Arc<dyn LocalSupervision>,
        options: OwnershipOptions,
        metrics: Metrics,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                id,
                store,
                local,
                options,
                held: Mutex::new(HashMap::new()),
                steps: KeyedLocks::default(),
                draining: AtomicBool::new(false),
                wake: Notify::new(),
                renewed_at: Mutex::new(None),
                route_cache: RouteCache::default(),
                metrics,
            }),
        }
    }

    pub fn id(&self) -> &InstanceId {
        &self.inner.id
    }

    /// owned counts the accounts this instance holds the lease of.
    pub fn owned(&self) -> usize {
        self.held().len()
    }

    /// owns says whether this instance holds the account's lease.
    pub fn owns(&self, account: AccountId) -> bool {
        self.held().contains_key(&account)
    }

    pub fn draining(&self) -> bool {
        self.inner.draining.load(Ordering::SeqCst)
    }

    fn held(&self) -> std::sync::MutexGuard<'_, HashMap<AccountId, Held>> {
        self.inner.held.lock().expect("held leases lock")
    }

    fn set_owned_gauge(&self) {
        let owned = i64::try_from(self.owned()).unwrap_or(i64::MAX);
        self.inner.metrics.owned_accounts.set(owned);
    }

    /// route says where a call that needs the account's live connection
    /// runs: here when this instance owns it or nobody does (an account in
    /// a login, or one being given up: a call never takes an account, so
    /// a log-out cannot take back what it gives up), else at its owner.
    pub async fn route(&self, account: AccountId) -> Result<Owner, StoreError> {
        if self.owns(account) {
            return Ok(Owner::Here);
        }
        if let Some(owner) = self.inner.route_cache.get(account) {
            return Ok(owner);
        }
        let owner = self.holder(account).await?;
        self.inner.route_cache.put(account, owner.clone());
        Ok(owner)
    }

    async fn holder(&self, account: AccountId) -> Result<Owner, StoreError> {
        Ok(match self.inner.store.holder(account).await? {
            Some((instance, _)) if instance == self.inner.id => Owner::Here,
            Some((instance, address)) => Owner::Elsewhere { instance, address },
            None => Owner::Nobody,
        })
    }

    /// take acquires the account's lease and starts it here; `false` when
    /// another instance holds it (or it is not AUTHORIZED).
    async fn take(&self, tenant: &TenantId, account: AccountId) -> Result<bool, StoreError> {
        let inner = &self.inner;
        let Some(_step) = inner.steps.lock(&account, STEP_WAIT).await else {
            return Ok(false);
        };
        if self.owns(account) || self.draining() {
            return Ok(false);
        }
        let now = inner.store.now().await?;
        let until = now + chrono::Duration::from_std(inner.options.ttl).unwrap_or_default();
        let Some(fence) = inner.store.acquire(account, &inner.id, now, until).await? else {
            return Ok(false);
        };
        tracing::info!(account_id = %account, epoch = fence.epoch, "account lease taken");
        inner.metrics.lease_acquisitions.inc();
        self.held().insert(
            account,
            Held {
                tenant: tenant.clone(),
                fence: fence.clone(),
            },
        );
        self.set_owned_gauge();
        inner.route_cache.forget(account);
        inner.local.start(tenant, account, fence);
        Ok(true)
    }

    /// give_up stops the account here and gives its lease up at once.
    async fn give_up(&self, account: AccountId) {
        let inner = &self.inner;
        let _step = inner.steps.lock(&account, STEP_WAIT).await;
        let held = self.held().remove(&account);
        self.set_owned_gauge();
        inner.route_cache.forget(account);
        inner.local.stop(account).await;
        if let Some(held) = held
            && let Err(err) = inner.store.release(account, &held.fence).await
        {
            tracing::warn!(account_id = %account, error = %err, "giving an account lease up failed; it runs out by itself");
        }
    }

    /// lose stops the accounts whose lease is no longer (provably) ours.
    async fn lose(&self, accounts: Vec<AccountId>, why: &str) {
        for account in accounts {
            let _step = self.inner.steps.lock(&account, STEP_WAIT).await;
            if self.held().remove(&account).is_some() {
                self.inner.metrics.lease_losses.inc();
                tracing::warn!(account_id = %account, why, "account lease lost; its connection here ends");
            }
            self.inner.local.stop(account).await;
        }
        self.set_owned_gauge();
    }

    /// run keeps the leases until `stop`, then drains.
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        loop {
            let again = match self.tick().await {
                Ok(again) => again,
                Err(err) => {
                    tracing::warn!(error = %err, "keeping account leases failed");
                    false
                }
            };
            let pause = if again {
                Duration::from_millis(100)
            } else {
                self.inner.options.renew_every
            };
            tokio::select! {
                _ = tokio::time::sleep(pause) => {}
                _ = self.inner.wake.notified() => {}
                _ = stop.wait_for(|stop| *stop) => break,
            }
        }
        self.drain().await;
    }

    /// tick is one round of the loop; `true` when it should come again at
    /// once (it took a full batch and may take more).
    async fn tick(&self) -> Result<bool, StoreError> {
        let inner = &self.inner;
        let options = &inner.options;
        let sent_at = Instant::now();
        let now = match inner.store.now().await {
            Ok(now) => now,
            Err(err) => {
                self.expire_unconfirmed().await;
                return Err(err);
            }
        };
        let ttl = chrono::Duration::from_std(options.ttl).unwrap_or_default();
        inner
            .store
            .heartbeat(&Instance {
                id: inner.id.clone(),
                address: options.address.clone(),
                heartbeat_at: now,
                draining: self.draining(),
                supervises: options.supervises,
            })
            .await?;
        let fences: Vec<(AccountId, Fence)> = self
            .held()
            .iter()
            .map(|(account, held)| (*account, held.fence.clone()))
            .collect();
        let renewed = match inner.store.renew(&fences, now + ttl).await {
            Ok(renewed) => renewed,
            Err(err) => {
                self.expire_unconfirmed().await;
                return Err(err);
            }
        };
        *inner.renewed_at.lock().expect("renewal lock") = Some(sent_at);
        inner.metrics.lease_renewals.inc_by(renewed.len() as u64);
        let lost: Vec<AccountId> = fences
            .iter()
            .map(|(account, _)| *account)
            .filter(|account| !renewed.contains(account))
            .collect();
        if !lost.is_empty() {
            self.lose(lost, "another instance holds it now").await;
        }
        // Accounts that left AUTHORIZED (a log-out on another instance)
        // are given up; those whose task ended (a failure it will not
        // retry) start again under the lease.
        let held: Vec<AccountId> = self.held().keys().copied().collect();
        for account in inner.store.not_authorized(&held).await? {
            self.give_up(account).await;
        }
        let restart: Vec<(AccountId, Held)> = self
            .held()
            .iter()
            .filter(|(account, _)| !inner.local.running(**account))
            .map(|(account, held)| (*account, held.clone()))
            .collect();
        for (account, held) in restart {
            inner.local.start(&held.tenant, account, held.fence);
        }
        if !options.supervises || self.draining() {
            return Ok(false);
        }
        let live = inner
            .store
            .instances(now - ttl)
            .await?
            .into_iter()
            .filter(|i| i.supervises && !i.draining)
            .count()
            .max(1) as u64;
        let target = fair_share(inner.store.count_authorized().await?, live);
        let owned = self.owned() as u64;
        if owned < target {
            let want = (target - owned).min(u64::from(options.acquire_batch)) as u32;
            let mut took = 0;
            for (tenant, account) in inner.store.unowned(now, want).await? {
                if self.take(&tenant, account).await? {
                    took += 1;
                }
            }
            return Ok(took == want && want > 0);
        }
        if owned > target {
            // Handed back gracefully: stopped here first, then the lease
            // given up, so the next instance to take it connects alone.
            let excess = (owned - target).min(u64::from(options.acquire_batch)) as usize;
            let handed: Vec<AccountId> = self.held().keys().copied().take(excess).collect();
            for account in handed {
                tracing::info!(account_id = %account, target, "handing an account over to balance");
                self.give_up(account).await;
            }
        }
        Ok(false)
    }

    /// expire_unconfirmed stops every account once the last renewal that
    /// succeeded is too old to be sure the leases still hold: before they
    /// can run out, and so before anyone else can take them.
    async fn expire_unconfirmed(&self) {
        let options = &self.inner.options;
        let margin = options.renew_every.min(options.ttl / 2);
        let confirmed = *self.inner.renewed_at.lock().expect("renewal lock");
        let stale = confirmed.is_none_or(|at| at.elapsed() + margin >= options.ttl);
        if !stale {
            return;
        }
        let held: Vec<AccountId> = self.held().keys().copied().collect();
        if !held.is_empty() {
            self.lose(held, "its leases could not be renewed").await;
        }
    }

    /// drain stops every account here and gives every lease up (shutdown).
    pub async fn drain(&self) {
        self.inner.draining.store(true, Ordering::SeqCst);
        let inner = &self.inner;
        if let Ok(now) = inner.store.now().await {
            let _ = inner
                .store
                .heartbeat(&Instance {
                    id: inner.id.clone(),
                    address: inner.options.address.clone(),
                    heartbeat_at: now,
                    draining: true,
                    supervises: inner.options.supervises,
                })
                .await;
        }
        let held: Vec<AccountId> = self.held().keys().copied().collect();
        futures::future::join_all(held.into_iter().map(|account| self.give_up(account))).await;
        if let Err(err) = inner.store.leave(&inner.id).await {
            tracing::warn!(error = %err, "leaving the instances failed");
        }
        tracing::info!(instance = %inner.id, "account leases handed over");
    }
}

#[async_trait]
impl Supervision for Ownership {
    /// supervise takes the lease of an account that was just authorized,
    /// here (an API-only or draining instance leaves it to the others).
    fn supervise(&self, tenant: &TenantId, account: AccountId) {
        if !self.inner.options.supervises || self.draining() {
            self.inner.wake.notify_one();
            return;
        }
        let this = self.clone();
        let tenant = tenant.clone();
        tokio::spawn(async move {
            match this.take(&tenant, account).await {
                Ok(true) => {}
                Ok(false) => this.inner.wake.notify_one(),
                Err(err) => {
                    tracing::warn!(account_id = %account, error = %err, "taking an account lease failed; the next round tries again");
                }
            }
        });
    }

    /// release stops the account here, if it runs here, and gives its
    /// lease up. An account owned by another instance is stopped by that
    /// instance's next round, which sees it left AUTHORIZED.
    async fn release(&self, account: AccountId) {
        self.give_up(account).await;
    }
}
