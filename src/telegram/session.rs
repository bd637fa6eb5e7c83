//! [`StoredSession`]: our grammers `Session`. The state lives in memory (the
//! client reads it on every request) and is persisted, sealed with the
//! [`Sealer`], through the [`SessionStore`] port whenever it changes:
//! writes mark it dirty and a background flusher saves the latest version,
//! coalescing bursts (a login caches dozens of peers at once).
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
use crate::domain::ports::{Sealed, SessionStore, StoreError};

/// FLUSH_DELAY coalesces bursts of changes into one write.
const FLUSH_DELAY: Duration = Duration::from_millis(100);
/// RETRY_DELAY is the wait after a failed save before trying again.
const RETRY_DELAY: Duration = Duration::from_secs(1);

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
}

/// SessionData is what a session holds, in a form that serializes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
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
    version: u64,
}

/// StoredSession is one account's session. Cheap to share as `Arc`.
pub struct StoredSession {
    account: AccountId,
    inner: Mutex<Inner>,
    changed: watch::Sender<u64>,
    saved: watch::Sender<u64>,
}

impl fmt::Debug for StoredSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print the data: it holds the auth key.
        f.debug_struct("StoredSession")
            .field("account", &self.account)
            .finish_non_exhaustive()
    }
}

fn aad(account: AccountId) -> Vec<u8> {
    format!("accounts.session:{account}").into_bytes()
}

impl StoredSession {
    /// open loads the account's session, or starts from `initial` when it has
    /// none yet, and spawns its flusher. The flusher ends when the last
    /// `Arc<StoredSession>` is dropped, after a final save.
    pub async fn open(
        account: AccountId,
        store: Arc<dyn SessionStore>,
        sealer: Sealer,
        initial: impl FnOnce() -> SessionData,
    ) -> Result<Arc<StoredSession>, SessionError> {
        match Self::load(account, store.clone(), sealer.clone()).await? {
            Some(session) => Ok(session),
            // A new session (with its auth key) must be durable before use.
            None => Self::create(account, store, sealer, initial()).await,
        }
    }

    /// load opens the account's stored session, if it has one.
    pub async fn load(
        account: AccountId,
        store: Arc<dyn SessionStore>,
        sealer: Sealer,
    ) -> Result<Option<Arc<StoredSession>>, SessionError> {
        let Some(stored) = store.load_session(account).await? else {
            return Ok(None);
        };
        let plain = sealer.open(&stored.sealed, &aad(account))?;
        let data = serde_json::from_slice(&plain)?;
        Ok(Some(Self::start(account, store, sealer, data)))
    }

    /// create starts the account over with `data` (a fresh session after a
    /// revocation or log-out), replacing whatever was stored, durably.
    pub async fn create(
        account: AccountId,
        store: Arc<dyn SessionStore>,
        sealer: Sealer,
        data: SessionData,
    ) -> Result<Arc<StoredSession>, SessionError> {
        let session = Self::start(account, store, sealer, data);
        session.touch();
        session.flush().await?;
        Ok(session)
    }

    /// start holds `data` in memory and spawns the flusher that persists it.
    fn start(
        account: AccountId,
        store: Arc<dyn SessionStore>,
        sealer: Sealer,
        data: SessionData,
    ) -> Arc<StoredSession> {
        let session = Arc::new(StoredSession {
            account,
            inner: Mutex::new(Inner { data, version: 0 }),
            changed: watch::channel(0).0,
            saved: watch::channel(0).0,
        });
        tokio::spawn(flusher(
            Arc::downgrade(&session),
            session.changed.subscribe(),
            store,
            sealer,
        ));
        session
    }

    pub fn account(&self) -> AccountId {
        self.account
    }

    fn lock(&self) -> Result<MutexGuard<'_, Inner>, SessionError> {
        self.inner.lock().map_err(|_| SessionError::Poisoned)
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

    fn touch(&self) {
        let _ = self.update(|_| true);
    }

    /// flush waits until everything changed so far is saved.
    pub async fn flush(&self) -> Result<(), SessionError> {
        let want = self.lock()?.version;
        let mut saved = self.saved.subscribe();
        // The flusher publishes u64::MAX when it gave up (account deleted).
        let reached = saved.wait_for(|v| *v >= want).await;
        match reached.map(|v| *v) {
            Ok(u64::MAX) => Err(StoreError::NotFound {
                resource: "account",
            }
            .into()),
            Ok(_) => Ok(()),
            Err(_) => Err(SessionError::Poisoned),
        }
    }
}

/// flusher saves the latest version after each burst of changes, retrying
/// failed saves (a database outage loses nothing), until the session is dropped.
async fn flusher(
    session: std::sync::Weak<StoredSession>,
    mut changed: watch::Receiver<u64>,
    store: Arc<dyn SessionStore>,
    sealer: Sealer,
) {
    let mut last_saved = 0;
    loop {
        let closed = changed.changed().await.is_err();
        if !closed {
            tokio::time::sleep(FLUSH_DELAY).await;
        }
        loop {
            let Some(session) = session.upgrade() else {
                return;
            };
            let (version, plain) = match session.lock() {
                Ok(inner) => (
                    inner.version,
                    serde_json::to_vec(&inner.data).expect("session data serializes"),
                ),
                Err(_) => return,
            };
            if version == last_saved {
                break;
            }
            let sealed = Sealed {
                sealed: sealer.seal(&plain, &aad(session.account)),
                key_id: sealer.active_key_id().to_owned(),
            };
            match store.save_session(session.account, &sealed).await {
                Ok(()) => {
                    last_saved = version;
                    session.saved.send_replace(version);
                    break;
                }
                Err(StoreError::NotFound { .. }) => {
                    tracing::info!(account_id = %session.account, "account deleted, session no longer saved");
                    session.saved.send_replace(u64::MAX);
                    return;
                }
                Err(err) => {
                    tracing::warn!(account_id = %session.account, error = %err, "saving session failed, retrying");
                    drop(session);
                    tokio::time::sleep(RETRY_DELAY).await;
                }
            }
        }
        if closed {
            return;
        }
    }
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
