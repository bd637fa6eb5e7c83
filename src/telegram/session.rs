//! [`StoredSession`]: our grammers `Session`. The state lives in memory (the
//! client reads it on every request) and is persisted, sealed with the
//! [`Sealer`], through the [`SessionStore`] port whenever it changes:
//! writes mark it dirty and a background flusher saves the latest version,
//! coalescing bursts (a login caches dozens of peers at once).
//!
//! Who writes a stored session, and how a racing writer is refused:
//! - Only a session's own flusher saves it, and every save is a
//!   compare-and-set on the session's *epoch* (bumped each time the account
//!   gets a fresh session, e.g. at a re-login) and on its *version* (bumped
//!   by every change): a flusher of an older epoch, or one holding an older
//!   version, is refused (`Superseded`) and stops, so a stale flusher can
//!   never overwrite a newer session.
//! - The flusher owns the data (not the handle), so the last change before
//!   the last handle is dropped is still saved; [`StoredSession::finished`]
//!   resolves once that final save is done, which is what lets the account
//!   registry replace a session only after the old one is fully stopped.
//!
//! Unlike grammers' `MemorySession`, it resolves the self-user sentinel
//! (`PeerId::self_user()`) to the cached logged-in user, which is how the
//! client asks "is this session signed in?".

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use grammers_session::types::{
    ChannelState, DcOption, PeerId, PeerInfo, UpdateState, UpdatesState,
};
use grammers_session::{BoxFuture, Session};
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use crate::crypto::Sealer;
use crate::domain::AccountId;
use crate::domain::lease::Fence;
use crate::domain::ports::{FIRST_SESSION_VERSION, Sealed, SessionStore, StoreError};

/// FLUSH_DELAY coalesces bursts of changes into one write.
const FLUSH_DELAY: Duration = Duration::from_millis(100);
/// RETRY_MIN and RETRY_MAX bound the wait after a failed save.
const RETRY_MIN: Duration = Duration::from_millis(250);
const RETRY_MAX: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error("session lock is poisoned")]
    Poisoned,
    #[error("stored session does not open: {0}")]
    Unsealable(#[from] crate::crypto::Error),
    #[error("stored session is not valid: {0}")]
    Malformed(#[from] serde_json::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The session could not be saved within the flush deadline (the
    /// database is down or slow); it is still being retried.
    #[error("saving the session timed out after {0:?}")]
    FlushTimeout(Duration),
    /// A newer session of the account was stored meanwhile (a re-login, or
    /// another process): this one must not be used any more.
    #[error("the session was superseded by a newer one")]
    Superseded,
}

/// SessionOptions bound a session's writes.
#[derive(Debug, Clone, Copy)]
pub struct SessionOptions {
    /// How long [`StoredSession::flush`] waits for the save.
    pub flush_timeout: Duration,
}

impl Default for SessionOptions {
    fn default() -> Self {
        Self {
            flush_timeout: Duration::from_secs(10),
        }
    }
}

/// SessionData is what a session holds, in a form that serializes. Its
/// `Debug` output never shows auth keys.
#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SessionData {
    pub home_dc: i32,
    pub dc_options: BTreeMap<i32, DcOption>,
    /// Peers by their bare id (user, chat and channel ids never collide as `PeerId`s).
    #[serde(with = "peers_as_list")]
    pub peers: HashMap<PeerId, PeerInfo>,
    /// The logged-in user, once known.
    pub self_user: Option<PeerId>,
    pub updates: UpdatesState,
}

impl fmt::Debug for SessionData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // DcOption's own Debug prints the auth key: list addresses only.
        let dcs: Vec<String> = self
            .dc_options
            .values()
            .map(|dc| {
                format!(
                    "{}@{}{}",
                    dc.id,
                    dc.ipv4,
                    if dc.auth_key.is_some() { " (key)" } else { "" }
                )
            })
            .collect();
        f.debug_struct("SessionData")
            .field("home_dc", &self.home_dc)
            .field("dc_options", &dcs)
            .field("peers", &self.peers.len())
            .field("self_user", &self.self_user)
            .field("updates", &self.updates)
            .finish()
    }
}

mod peers_as_list {
    use std::collections::HashMap;

    use grammers_session::types::{PeerId, PeerInfo};
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(
        peers: &HashMap<PeerId, PeerInfo>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        let mut list: Vec<&PeerInfo> = peers.values().collect();
        // Stable output: the same session always seals the same plaintext.
        list.sort_by_key(|p| p.id().bot_api_dialog_id());
        list.serialize(serializer)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<HashMap<PeerId, PeerInfo>, D::Error> {
        let list = Vec::<PeerInfo>::deserialize(deserializer)?;
        Ok(list.into_iter().map(|p| (p.id(), p)).collect())
    }
}

impl SessionData {
    /// for_dc is a session whose home DC is `dc` (address and, for the
    /// sandbox, a pre-provisioned auth key), so the client skips the DH exchange.
    pub fn for_dc(dc: DcOption) -> Self {
        Self {
            home_dc: dc.id,
            dc_options: BTreeMap::from([(dc.id, dc)]),
            ..Self::default()
        }
    }
}

struct Inner {
    data: SessionData,
    /// Bumped by every change; saved with the data.
    version: i64,
}

/// SaveState is what the flusher last achieved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SaveState {
    /// Everything up to this version is stored.
    Saved(i64),
    /// The account was deleted: nothing will be saved any more.
    Gone,
    /// A newer session was stored: nothing will be saved any more.
    Superseded,
}

/// Shared is the state the handle and its flusher share; the flusher keeps
/// it alive after the last handle is gone, for the final save.
struct Shared {
    account: AccountId,
    epoch: i64,
    /// The lease the account's supervisor holds, once it runs it: saves
    /// then count only while that lease holds.
    fence: Mutex<Option<Fence>>,
    inner: Mutex<Inner>,
    saved: watch::Sender<SaveState>,
    finished: watch::Sender<bool>,
    options: SessionOptions,
}

impl Shared {
    fn lock(&self) -> Result<MutexGuard<'_, Inner>, SessionError> {
        self.inner.lock().map_err(|_| SessionError::Poisoned)
    }
}

/// StoredSession is one account's session. Cheap to share as `Arc`; the
/// flusher makes its final save once the last `Arc` is dropped.
pub struct StoredSession {
    shared: Arc<Shared>,
    /// Tells the flusher about changes; dropped with the handle, which ends
    /// the flusher after its final save.
    changed: watch::Sender<i64>,
}

impl fmt::Debug for StoredSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print the data: it holds the auth key.
        f.debug_struct("StoredSession")
            .field("account", &self.shared.account)
            .field("epoch", &self.shared.epoch)
            .finish_non_exhaustive()
    }
}

/// Finished resolves once a session's flusher has stopped (after its final
/// save, or after giving up because the session is gone or superseded).
#[derive(Clone)]
pub struct Finished(watch::Receiver<bool>);

impl Finished {
    /// wait resolves when the flusher has stopped.
    pub async fn wait(mut self) {
        // A closed channel means the flusher (and its state) is gone too.
        let _ = self.0.wait_for(|finished| *finished).await;
    }

    /// is_done tells without waiting.
    pub fn is_done(&self) -> bool {
        *self.0.borrow() || self.0.has_changed().is_err()
    }
}

fn aad(account: AccountId) -> Vec<u8> {
    format!("accounts.session:{account}").into_bytes()
}

impl StoredSession {
    /// open loads the account's session, or starts it from `initial` when it
    /// has none yet (durably, before use), and spawns its flusher.
    pub async fn open(
        account: AccountId,
        store: Arc<dyn SessionStore>,
        sealer: Sealer,
        options: SessionOptions,
        initial: impl FnOnce() -> SessionData,
    ) -> Result<Arc<StoredSession>, SessionError> {
        let row = store.load_session(account).await?;
        let epoch = row.epoch;
        if let Some(session) = Self::from_row(account, row, store.clone(), sealer.clone(), options)?
        {
            return Ok(session);
        }
        Self::create(account, store, sealer, options, initial(), epoch).await
    }

    /// load opens the account's stored session, if it has one.
    pub async fn load(
        account: AccountId,
        store: Arc<dyn SessionStore>,
        sealer: Sealer,
        options: SessionOptions,
    ) -> Result<Option<Arc<StoredSession>>, SessionError> {
        let row = store.load_session(account).await?;
        Self::from_row(account, row, store, sealer, options)
    }

    fn from_row(
        account: AccountId,
        row: crate::domain::ports::SessionRow,
        store: Arc<dyn SessionStore>,
        sealer: Sealer,
        options: SessionOptions,
    ) -> Result<Option<Arc<StoredSession>>, SessionError> {
        let Some(stored) = row.sealed else {
            return Ok(None);
        };
        let plain = zeroize::Zeroizing::new(sealer.open(&stored.sealed, &aad(account))?);
        let data = serde_json::from_slice(&plain)?;
        Ok(Some(Self::start(
            account,
            row.epoch,
            row.version,
            data,
            store,
            sealer,
            options,
        )))
    }

    /// create starts the account over with `data` (a fresh session after a
    /// revocation or log-out) in a new epoch, durably, replacing what was
    /// stored — only if the stored epoch is still `expected_epoch`, so two
    /// racing creators cannot both win.
    pub async fn create(
        account: AccountId,
        store: Arc<dyn SessionStore>,
        sealer: Sealer,
        options: SessionOptions,
        data: SessionData,
        expected_epoch: i64,
    ) -> Result<Arc<StoredSession>, SessionError> {
        let plain =
            zeroize::Zeroizing::new(serde_json::to_vec(&data).expect("session data serializes"));
        let sealed = Sealed {
            sealed: sealer.seal(&plain, &aad(account)),
            key_id: sealer.active_key_id().to_owned(),
        };
        let epoch = tokio::time::timeout(
            options.flush_timeout,
            store.replace_session(account, expected_epoch, &sealed),
        )
        .await
        .map_err(|_| SessionError::FlushTimeout(options.flush_timeout))?
        .map_err(|err| match err {
            StoreError::Conflict { .. } => SessionError::Superseded,
            other => SessionError::Store(other),
        })?;
        Ok(Self::start(
            account,
            epoch,
            FIRST_SESSION_VERSION,
            data,
            store,
            sealer,
            options,
        ))
    }

    /// start holds `data` in memory and spawns the flusher that persists it.
    fn start(
        account: AccountId,
        epoch: i64,
        version: i64,
        data: SessionData,
        store: Arc<dyn SessionStore>,
        sealer: Sealer,
        options: SessionOptions,
    ) -> Arc<StoredSession> {
        let shared = Arc::new(Shared {
            account,
            epoch,
            fence: Mutex::new(None),
            inner: Mutex::new(Inner { data, version }),
            saved: watch::channel(SaveState::Saved(version)).0,
            finished: watch::channel(false).0,
            options,
        });
        let (changed, changes) = watch::channel(version);
        tokio::spawn(flusher(shared.clone(), changes, store, sealer, version));
        Arc::new(StoredSession { shared, changed })
    }

    pub fn account(&self) -> AccountId {
        self.shared.account
    }

    /// epoch is this session's generation: a re-login makes a new one.
    pub fn epoch(&self) -> i64 {
        self.shared.epoch
    }

    /// fence puts the session's saves under the lease its supervisor
    /// holds: once that lease moves on, the store refuses them and the
    /// session stops saving, as when superseded.
    pub fn fence(&self, fence: Fence) {
        *self.shared.fence.lock().unwrap_or_else(|e| e.into_inner()) = Some(fence);
    }

    /// finished resolves once this session's flusher has stopped, which is
    /// after the last handle is dropped and the final save is done.
    pub fn finished(&self) -> Finished {
        Finished(self.shared.finished.subscribe())
    }

    fn lock(&self) -> Result<MutexGuard<'_, Inner>, SessionError> {
        self.shared.lock()
    }

    /// snapshot is a copy of the current data.
    pub fn snapshot(&self) -> Result<SessionData, SessionError> {
        Ok(self.lock()?.data.clone())
    }

    fn update(&self, change: impl FnOnce(&mut SessionData) -> bool) -> Result<(), SessionError> {
        let version = {
            let mut inner = self.lock()?;
            if !change(&mut inner.data) {
                return Ok(());
            }
            inner.version += 1;
            inner.version
        };
        self.changed.send_replace(version);
        Ok(())
    }

    /// flush waits until everything changed so far is saved, at most the
    /// configured flush timeout (the save goes on being retried after it).
    pub async fn flush(&self) -> Result<(), SessionError> {
        let want = self.lock()?.version;
        let mut saved = self.shared.saved.subscribe();
        let timeout = self.shared.options.flush_timeout;
        let reached = tokio::time::timeout(
            timeout,
            saved.wait_for(|s| !matches!(s, SaveState::Saved(v) if *v < want)),
        )
        .await
        .map_err(|_| SessionError::FlushTimeout(timeout))?
        .map(|s| *s);
        match reached {
            Ok(SaveState::Saved(_)) => Ok(()),
            Ok(SaveState::Gone) => Err(StoreError::NotFound {
                resource: "account",
            }
            .into()),
            Ok(SaveState::Superseded) => Err(SessionError::Superseded),
            Err(_) => Err(SessionError::Poisoned),
        }
    }
}

/// flusher saves the latest version after each burst of changes, retrying
/// failed saves with backoff (a database outage loses nothing), and makes a
/// final save once the last handle is dropped. It stops for good when the
/// account is deleted or a newer session was stored.
async fn flusher(
    shared: Arc<Shared>,
    mut changes: watch::Receiver<i64>,
    store: Arc<dyn SessionStore>,
    sealer: Sealer,
    mut last_saved: i64,
) {
    let account = shared.account;
    'bursts: loop {
        let closed = changes.changed().await.is_err();
        if !closed {
            tokio::time::sleep(FLUSH_DELAY).await;
        }
        let mut retry = RETRY_MIN;
        loop {
            let (version, plain) = match shared.lock() {
                Ok(inner) => (
                    inner.version,
                    zeroize::Zeroizing::new(
                        serde_json::to_vec(&inner.data).expect("session data serializes"),
                    ),
                ),
                Err(_) => break 'bursts,
            };
            if version == last_saved {
                break;
            }
            let sealed = Sealed {
                sealed: sealer.seal(&plain, &aad(account)),
                key_id: sealer.active_key_id().to_owned(),
            };
            let fence = shared
                .fence
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone();
            match store
                .save_session(account, shared.epoch, version, &sealed, fence.as_ref())
                .await
            {
                Ok(()) => {
                    last_saved = version;
                    shared.saved.send_replace(SaveState::Saved(version));
                    break;
                }
                Err(StoreError::NotFound { .. }) => {
                    tracing::info!(account_id = %account, "account deleted, session no longer saved");
                    shared.saved.send_replace(SaveState::Gone);
                    break 'bursts;
                }
                Err(StoreError::Conflict { .. }) => {
                    tracing::warn!(account_id = %account, epoch = shared.epoch, "a newer session was stored, this one stops saving");
                    shared.saved.send_replace(SaveState::Superseded);
                    break 'bursts;
                }
                Err(err) => {
                    tracing::warn!(account_id = %account, error = %err, retry_in_ms = retry.as_millis() as u64, "saving session failed, retrying");
                    tokio::time::sleep(retry).await;
                    retry = (retry * 2).min(RETRY_MAX);
                }
            }
        }
        if closed {
            break;
        }
    }
    shared.finished.send_replace(true);
}

impl Session for StoredSession {
    type Error = SessionError;

    fn home_dc_id(&self) -> Result<i32, SessionError> {
        Ok(self.lock()?.data.home_dc)
    }

    fn set_home_dc_id(&self, dc_id: i32) -> BoxFuture<'_, Result<(), SessionError>> {
        Box::pin(async move {
            self.update(|data| {
                let changed = data.home_dc != dc_id;
                data.home_dc = dc_id;
                changed
            })
        })
    }

    fn dc_option(&self, dc_id: i32) -> Result<Option<DcOption>, SessionError> {
        Ok(self.lock()?.data.dc_options.get(&dc_id).cloned())
    }

    fn set_dc_option(&self, dc_option: &DcOption) -> BoxFuture<'_, Result<(), SessionError>> {
        let dc_option = dc_option.clone();
        Box::pin(async move {
            self.update(|data| {
                let old = data.dc_options.insert(dc_option.id, dc_option.clone());
                old.as_ref() != Some(&dc_option)
            })
        })
    }

    fn peer(&self, peer: PeerId) -> BoxFuture<'_, Result<Option<PeerInfo>, SessionError>> {
        Box::pin(async move {
            let inner = self.lock()?;
            let peer = if peer == PeerId::self_user() {
                match inner.data.self_user {
                    Some(id) => id,
                    None => return Ok(None),
                }
            } else {
                peer
            };
            Ok(inner.data.peers.get(&peer).cloned())
        })
    }

    fn cache_peer(&self, peer: PeerInfo) -> BoxFuture<'_, Result<(), SessionError>> {
        Box::pin(async move {
            self.update(|data| {
                let id = peer.id();
                let mut changed = false;
                if let PeerInfo::User {
                    is_self: Some(true),
                    ..
                } = peer
                {
                    changed = data.self_user.replace(id) != Some(id);
                }
                match data.peers.get_mut(&id) {
                    Some(entry) => {
                        let before = entry.clone();
                        entry.extend_info(&peer);
                        changed || *entry != before
                    }
                    None => {
                        data.peers.insert(id, peer);
                        true
                    }
                }
            })
        })
    }

    fn updates_state(&self) -> BoxFuture<'_, Result<UpdatesState, SessionError>> {
        Box::pin(async move { Ok(self.lock()?.data.updates.clone()) })
    }

    fn set_update_state(&self, update: UpdateState) -> BoxFuture<'_, Result<(), SessionError>> {
        Box::pin(async move {
            self.update(|data| {
                let before = data.updates.clone();
                match update {
                    UpdateState::All(state) => data.updates = state,
                    UpdateState::Primary { pts, date, seq } => {
                        data.updates.pts = pts;
                        data.updates.date = date;
                        data.updates.seq = seq;
                    }
                    UpdateState::Secondary { qts } => data.updates.qts = qts,
                    UpdateState::Channel { id, pts } => {
                        data.updates.channels.retain(|c| c.id != id);
                        data.updates.channels.push(ChannelState { id, pts });
                    }
                }
                data.updates != before
            })
        })
    }
}
