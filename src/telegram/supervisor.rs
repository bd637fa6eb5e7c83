//! [`AccountSupervisor`]: one task per authorized account, owning its live
//! connection and draining its updates stream continuously (grammers drops
//! updates when its channel is full). A task that fails is restarted with
//! backoff; a panic or disconnect in one account never touches another.
//! When Telegram revokes the session, the task reports it and ends.

use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use futures::FutureExt;
use futures::future::BoxFuture;
use grammers_mtsender::UpdatesConfiguration;
use grammers_tl_types as tl;
use tokio::sync::watch;

use super::Error;
use super::accounts::Telegram;
use crate::domain::ports::Supervision;
use crate::domain::{AccountId, TenantId};

/// OnRevoked is told when Telegram revoked an account's session.
pub type OnRevoked =
    Arc<dyn Fn(TenantId, AccountId, String) -> BoxFuture<'static, ()> + Send + Sync>;

#[derive(Debug, Clone)]
pub struct SupervisorOptions {
    /// How often an idle account checks that its session still works
    /// (`updates.getState`), so a revocation is noticed without traffic.
    pub probe_interval: Duration,
    /// Restart backoff bounds.
    pub min_backoff: Duration,
    pub max_backoff: Duration,
}

impl Default for SupervisorOptions {
    fn default() -> Self {
        Self {
            probe_interval: Duration::from_secs(60),
            min_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(60),
        }
    }
}

struct Worker {
    stop: watch::Sender<bool>,
}

struct Inner {
    telegram: Arc<Telegram>,
    options: SupervisorOptions,
    workers: Mutex<HashMap<AccountId, Worker>>,
    on_revoked: OnceLock<OnRevoked>,
    /// Accounts whose connection is up and whose updates are being drained.
    connected: AtomicUsize,
}

/// AccountSupervisor is the handle; cheap to clone.
#[derive(Clone)]
pub struct AccountSupervisor {
    inner: Arc<Inner>,
}

/// Exit is how one connected run of an account ended.
enum Exit {
    Stopped,
    Revoked(String),
    Failed(String),
}

impl AccountSupervisor {
    pub fn new(telegram: Arc<Telegram>, options: SupervisorOptions) -> Self {
        Self {
            inner: Arc::new(Inner {
                telegram,
                options,
                workers: Mutex::new(HashMap::new()),
                on_revoked: OnceLock::new(),
                connected: AtomicUsize::new(0),
            }),
        }
    }

    /// on_revoked sets who is told about revocations (once, at wiring time).
    pub fn on_revoked(&self, callback: OnRevoked) {
        let _ = self.inner.on_revoked.set(callback);
    }

    /// supervised counts the accounts currently supervised.
    pub fn supervised(&self) -> usize {
        self.inner.workers.lock().expect("workers lock").len()
    }

    /// connected counts the accounts whose connection is up right now.
    pub fn connected(&self) -> usize {
        self.inner.connected.load(Ordering::Relaxed)
    }

    /// shutdown stops every account's task.
    pub fn shutdown(&self) {
        let workers: Vec<_> = self
            .inner
            .workers
            .lock()
            .expect("workers lock")
            .drain()
            .collect();
        for (_, worker) in workers {
            worker.stop.send_replace(true);
        }
    }
}

impl Supervision for AccountSupervisor {
    fn supervise(&self, tenant: &TenantId, account: AccountId) {
        let mut workers = self.inner.workers.lock().expect("workers lock");
        if workers.contains_key(&account) {
            return;
        }
        let (stop, stopped) = watch::channel(false);
        workers.insert(account, Worker { stop });
        tokio::spawn(supervise(
            self.inner.clone(),
            tenant.clone(),
            account,
            stopped,
        ));
    }

    fn release(&self, account: AccountId) {
        if let Some(worker) = self
            .inner
            .workers
            .lock()
            .expect("workers lock")
            .remove(&account)
        {
            worker.stop.send_replace(true);
        }
    }
}

/// supervise keeps one account connected until it is released or revoked.
async fn supervise(
    inner: Arc<Inner>,
    tenant: TenantId,
    account: AccountId,
    mut stop: watch::Receiver<bool>,
) {
    let mut backoff = inner.options.min_backoff;
    loop {
        let run = AssertUnwindSafe(run(&inner, account, stop.clone())).catch_unwind();
        let exit = match run.await {
            Ok(exit) => exit,
            Err(_) => Exit::Failed("the account task panicked".into()),
        };
        match exit {
            Exit::Stopped => return,
            Exit::Revoked(reason) => {
                tracing::warn!(account_id = %account, reason, "telegram revoked the session");
                inner.workers.lock().expect("workers lock").remove(&account);
                if let Some(callback) = inner.on_revoked.get() {
                    callback(tenant, account, reason).await;
                }
                return;
            }
            Exit::Failed(error) => {
                tracing::warn!(account_id = %account, error, retry_in_ms = backoff.as_millis() as u64, "account connection failed");
                tokio::select! {
                    _ = tokio::time::sleep(backoff) => {}
                    _ = stopped(&mut stop) => return,
                }
                backoff = (backoff * 2).min(inner.options.max_backoff);
            }
        }
    }
}

/// stopped resolves once the account is released (or the supervisor gone).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|stopped| *stopped).await;
}

fn classify(err: Error) -> Exit {
    match err {
        Error::SessionRevoked { name } => Exit::Revoked(name),
        other => Exit::Failed(other.to_string()),
    }
}

/// run is one connected stretch of an account: connect, check the session,
/// then drain updates and probe until stopped or broken.
async fn run(inner: &Inner, account: AccountId, mut stop: watch::Receiver<bool>) -> Exit {
    let mut conn = match inner.telegram.connect(account).await {
        Ok(conn) => conn,
        Err(err) => return classify(err),
    };
    let probe = async |conn: &super::connection::Connection| {
        conn.client
            .invoke(&tl::functions::updates::GetState {})
            .await
            .map(|_| ())
            .map_err(Error::from)
    };
    if let Err(err) = probe(&conn).await {
        conn.close().await;
        return classify(err);
    }
    if let Err(err) = cache_dialog_peers(&conn).await {
        conn.close().await;
        return classify(err);
    }
    let Some(updates) = conn.take_updates() else {
        return Exit::Failed("updates channel already taken".into());
    };
    let mut stream = match conn
        .client
        .stream_updates(updates, UpdatesConfiguration { catch_up: true })
        .await
    {
        Ok(stream) => stream,
        Err(err) => return Exit::Failed(format!("opening the updates stream: {err}")),
    };
    tracing::info!(account_id = %account, "account connected");
    inner.connected.fetch_add(1, Ordering::Relaxed);
    let mut probe_tick = tokio::time::interval(inner.options.probe_interval);
    probe_tick.tick().await;
    let exit = loop {
        tokio::select! {
            _ = stopped(&mut stop) => break Exit::Stopped,
            update = stream.next() => match update {
                Ok(update) => {
                    // Persisting chats and messages from updates arrives with
                    // the messaging capability; draining keeps grammers' queue empty.
                    tracing::debug!(account_id = %account, update = update_name(&update), "update");
                }
                Err(err) => break classify(err.into()),
            },
            _ = probe_tick.tick() => {
                if let Err(err) = probe(&conn).await {
                    break classify(err);
                }
                if let Err(err) = stream.sync_update_state().await {
                    tracing::warn!(account_id = %account, error = %err, "saving the update state failed");
                }
            }
        }
    };
    inner.connected.fetch_sub(1, Ordering::Relaxed);
    if let Err(err) = stream.sync_update_state().await {
        tracing::warn!(account_id = %account, error = %err, "saving the update state failed");
    }
    drop(stream);
    conn.close().await;
    exit
}

/// DIALOGS_TO_CACHE bounds the first dialogs fetch after a login.
const DIALOGS_TO_CACHE: usize = 1000;

/// cache_dialog_peers fills a fresh session's peer cache from the account's
/// dialogs (grammers caches every peer it sees), once, after login: updates
/// of a channel whose access hash is not cached would be lost.
async fn cache_dialog_peers(conn: &super::connection::Connection) -> Result<(), Error> {
    let data = conn.session().snapshot().map_err(Error::from)?;
    let only_self = data.peers.len() <= 1;
    if !only_self {
        return Ok(());
    }
    let mut dialogs = conn.client.iter_dialogs().limit(DIALOGS_TO_CACHE);
    while dialogs.next().await?.is_some() {}
    Ok(())
}

fn update_name(update: &grammers_client::update::Update) -> &'static str {
    use grammers_client::update::Update;
    match update {
        Update::NewMessage(_) => "new_message",
        Update::MessageEdited(_) => "message_edited",
        Update::MessageDeleted(_) => "message_deleted",
        _ => "other",
    }
}
