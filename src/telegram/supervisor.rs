//! [`AccountSupervisor`]: one task per authorized account, owning its live
//! connection and draining its updates stream continuously (grammers drops
//! updates when its channel is full). A task that fails is restarted with
//! exponential backoff and full jitter (reset after a healthy stretch); a
//! panic or disconnect in one account never touches another. When Telegram
//! revokes the session, the task reports it (with the session's epoch) and
//! ends.
//!
//! Ingest: each update is converted to the domain's changes and stored
//! through the [`Ingest`] port; only then is the update's own state (its
//! pts, qts or channel pts) written to the session. grammers'
//! `sync_update_state` is never used: it saves what was queued, not what
//! was stored. A failed store ends the run; the restart catches up from the
//! state last saved, so the update is delivered again.
//!
//! Registrations: each task is registered under its account with an id of
//! its own. `release` removes the registration, stops the task and waits
//! until it has closed its connection; a task that ends by itself removes
//! only its own registration, never a newer one made meanwhile.

use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use futures::FutureExt;
use grammers_client::peer::{Peer, PeerMap};
use grammers_mtsender::UpdatesConfiguration;
use grammers_session::Session as _;
use grammers_session::types::{PeerId, UpdateState};
use grammers_session::updates::{MessageBox, State};
use grammers_tl_types as tl;
use rand::Rng;
use tokio::sync::watch;
use tokio::time::Instant;

use super::Error;
use super::accounts::Telegram;
use super::connection::Connection;
use super::{chats, convert};
use crate::domain::chat::Change;
use crate::domain::event::{EventPayload, NewEvent};
use crate::domain::lease::Fence;
use crate::domain::ports::{Ephemera, Ingest, LEASE_RESOURCE, LocalSupervision, Supervision};
use crate::domain::{AccountId, TenantId};
use crate::telemetry::Metrics;

#[derive(Debug, Clone)]
pub struct SupervisorOptions {
    /// How often an idle account checks that its session still works
    /// (`updates.getState`), so a revocation is noticed without traffic.
    pub probe_interval: Duration,
    /// Restart backoff: the n-th consecutive failure waits a random time in
    /// `[0, min(max_backoff, min_backoff * 2^n)]` (full jitter, so accounts
    /// failing together do not reconnect together).
    pub min_backoff: Duration,
    pub max_backoff: Duration,
    /// A connection that stayed up this long counts as healthy: the next
    /// failure starts the backoff over.
    pub healthy_after: Duration,
    /// How long `release` waits for a task to close its connection.
    pub stop_timeout: Duration,
}

impl Default for SupervisorOptions {
    fn default() -> Self {
        Self {
            probe_interval: Duration::from_secs(60),
            min_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(60),
            healthy_after: Duration::from_secs(60),
            stop_timeout: Duration::from_secs(15),
        }
    }
}

/// backoff is the wait before restart number `attempt` (0-based), drawn
/// with full jitter.
fn backoff(options: &SupervisorOptions, attempt: u32) -> Duration {
    let ceiling = options
        .min_backoff
        .saturating_mul(2u32.saturating_pow(attempt.min(30)))
        .min(options.max_backoff);
    let millis = u64::try_from(ceiling.as_millis()).unwrap_or(u64::MAX);
    Duration::from_millis(rand::rng().random_range(0..=millis))
}

struct Worker {
    id: u64,
    stop: watch::Sender<bool>,
    /// Closed when the task has ended (its sender is dropped with the task).
    done: watch::Receiver<()>,
}

/// Registry holds one registration per supervised account.
#[derive(Default)]
struct Registry {
    workers: Mutex<HashMap<AccountId, Worker>>,
    next_id: AtomicU64,
}

impl Registry {
    /// register makes a registration for `account` unless it has one;
    /// returns its id and the task's ends of the channels.
    fn register(
        &self,
        account: AccountId,
    ) -> Option<(u64, watch::Receiver<bool>, watch::Sender<()>)> {
        let mut workers = self.workers.lock().expect("workers lock");
        if workers.contains_key(&account) {
            return None;
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed) + 1;
        let (stop, stopped) = watch::channel(false);
        let (done_tx, done) = watch::channel(());
        workers.insert(account, Worker { id, stop, done });
        Some((id, stopped, done_tx))
    }

    /// unregister removes the account's registration only if it is still
    /// `id`'s: a task ending by itself never removes a newer one.
    fn unregister(&self, account: AccountId, id: u64) {
        let mut workers = self.workers.lock().expect("workers lock");
        if workers.get(&account).is_some_and(|w| w.id == id) {
            workers.remove(&account);
        }
    }

    fn take(&self, account: AccountId) -> Option<Worker> {
        self.workers.lock().expect("workers lock").remove(&account)
    }

    fn drain(&self) -> Vec<Worker> {
        let mut workers = self.workers.lock().expect("workers lock");
        workers.drain().map(|(_, w)| w).collect()
    }

    fn len(&self) -> usize {
        self.workers.lock().expect("workers lock").len()
    }
}

struct Inner {
    telegram: Arc<Telegram>,
    ingest: Arc<dyn Ingest>,
    /// Where typing goes: streamed, never stored.
    ephemera: Arc<dyn Ephemera>,
    options: SupervisorOptions,
    metrics: Metrics,
    registry: Registry,
}

/// AccountSupervisor is the handle; cheap to clone.
#[derive(Clone)]
pub struct AccountSupervisor {
    inner: Arc<Inner>,
}

/// Exit is how one connected run of an account ended.
enum Exit {
    Stopped,
    Revoked {
        epoch: i64,
        name: String,
    },
    /// The account's lease moved on (another instance owns it now): this
    /// one must not reconnect it.
    LeaseLost,
    Failed(String),
}

/// Connected counts one account in the connected gauge while it lives, so
/// the gauge stays true however the run ends (a panic included).
struct Connected(prometheus::IntGauge);

impl Connected {
    fn new(gauge: &prometheus::IntGauge) -> Self {
        gauge.inc();
        Self(gauge.clone())
    }
}

impl Drop for Connected {
    fn drop(&mut self) {
        self.0.dec();
    }
}

impl AccountSupervisor {
    pub fn new(
        telegram: Arc<Telegram>,
        ingest: Arc<dyn Ingest>,
        ephemera: Arc<dyn Ephemera>,
        options: SupervisorOptions,
        metrics: Metrics,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                telegram,
                ingest,
                ephemera,
                options,
                metrics,
                registry: Registry::default(),
            }),
        }
    }

    /// supervised counts the accounts currently registered (not the same as
    /// connected: see [`AccountSupervisor::connected`]).
    pub fn supervised(&self) -> usize {
        self.inner.registry.len()
    }

    /// connected counts the accounts whose connection is up right now.
    pub fn connected(&self) -> usize {
        usize::try_from(self.inner.metrics.connected_accounts.get()).unwrap_or(0)
    }

    /// shutdown stops every account's task and waits for them to close
    /// their connections.
    pub async fn shutdown(&self) {
        let workers = self.inner.registry.drain();
        futures::future::join_all(workers.into_iter().map(|w| self.stop(w))).await;
    }

    async fn stop(&self, worker: Worker) {
        worker.stop.send_replace(true);
        let mut done = worker.done;
        // The receiver errs once the task dropped its sender: it has ended.
        let ended = tokio::time::timeout(self.inner.options.stop_timeout, done.changed()).await;
        if ended.is_err() {
            tracing::warn!(
                timeout_s = self.inner.options.stop_timeout.as_secs(),
                "an account task did not stop in time"
            );
        }
    }
}

impl AccountSupervisor {
    /// spawn starts the account's task unless it has one; a `fence` makes
    /// every write the task makes (ingest, the session's saves) count only
    /// while this instance's lease holds.
    fn spawn(&self, tenant: &TenantId, account: AccountId, fence: Option<Fence>) {
        let Some((id, stopped, done_tx)) = self.inner.registry.register(account) else {
            return;
        };
        tokio::spawn(supervise(
            self.inner.clone(),
            tenant.clone(),
            account,
            fence,
            id,
            stopped,
            done_tx,
        ));
    }

    async fn release_account(&self, account: AccountId) {
        if let Some(worker) = self.inner.registry.take(account) {
            self.stop(worker).await;
        }
    }
}

/// Without leases (one process, a bench): every account is supervised here.
#[async_trait]
impl Supervision for AccountSupervisor {
    fn supervise(&self, tenant: &TenantId, account: AccountId) {
        self.spawn(tenant, account, None);
    }

    async fn release(&self, account: AccountId) {
        self.release_account(account).await;
    }
}

/// Under leases: `Ownership` starts the accounts this instance owns.
#[async_trait]
impl LocalSupervision for AccountSupervisor {
    fn start(&self, tenant: &TenantId, account: AccountId, fence: Fence) {
        self.spawn(tenant, account, Some(fence));
    }

    async fn stop(&self, account: AccountId) {
        self.release_account(account).await;
    }

    fn running(&self, account: AccountId) -> bool {
        self.inner
            .registry
            .workers
            .lock()
            .expect("workers lock")
            .contains_key(&account)
    }
}

/// supervise keeps one account connected until it is released or revoked.
/// `_done` is dropped when this task ends, which is what `release` awaits.
async fn supervise(
    inner: Arc<Inner>,
    tenant: TenantId,
    account: AccountId,
    fence: Option<Fence>,
    id: u64,
    mut stop: watch::Receiver<bool>,
    _done: watch::Sender<()>,
) {
    let mut attempt = 0u32;
    loop {
        let started = Instant::now();
        let run = AssertUnwindSafe(run(&inner, &tenant, account, fence.as_ref(), stop.clone()))
            .catch_unwind();
        let exit = match run.await {
            Ok(exit) => exit,
            Err(_) => Exit::Failed("the account task panicked".into()),
        };
        match exit {
            Exit::Stopped => return,
            Exit::Revoked { epoch, name } => {
                tracing::warn!(account_id = %account, tenant = %tenant, reason = name, "telegram revoked the session");
                inner.registry.unregister(account, id);
                inner.telegram.report_revoked(account, epoch, name).await;
                return;
            }
            Exit::LeaseLost => {
                tracing::warn!(account_id = %account, "the account's lease moved on; its connection here ends");
                inner.registry.unregister(account, id);
                return;
            }
            Exit::Failed(error) => {
                if started.elapsed() >= inner.options.healthy_after {
                    attempt = 0;
                }
                let wait = backoff(&inner.options, attempt);
                attempt = attempt.saturating_add(1);
                inner.metrics.account_restarts.inc();
                tracing::warn!(account_id = %account, error, retry_in_ms = wait.as_millis() as u64, "account connection failed");
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = stopped(&mut stop) => return,
                }
            }
        }
    }
}

/// stopped resolves once the account is released (or the supervisor gone).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|stopped| *stopped).await;
}

/// lease_lost tells a write refused because the account's lease moved on.
fn lease_lost(err: &crate::domain::Error) -> bool {
    matches!(
        err,
        crate::domain::Error::Store(crate::domain::ports::StoreError::Conflict {
            resource: LEASE_RESOURCE
        })
    )
}

fn classify(err: Error, epoch: i64) -> Exit {
    match err {
        Error::SessionRevoked { name } => Exit::Revoked { epoch, name },
        other => Exit::Failed(other.to_string()),
    }
}

/// run is one connected stretch of an account: connect, then check the
/// session, drain updates and probe until stopped or broken. The connection
/// is closed however the stretch ends.
async fn run(
    inner: &Inner,
    tenant: &TenantId,
    account: AccountId,
    fence: Option<&Fence>,
    stop: watch::Receiver<bool>,
) -> Exit {
    let mut conn = match inner.telegram.connect(account).await {
        Ok(conn) => conn,
        // No session epoch is known without a session: not a revocation.
        Err(err) => return Exit::Failed(err.to_string()),
    };
    if let Some(fence) = fence {
        conn.session().fence(fence.clone());
    }
    let epoch = conn.session().epoch();
    let exit = match connected(inner, tenant, account, fence, &mut conn, stop).await {
        Ok(exit) => exit,
        Err(err) => classify(err, epoch),
    };
    inner.telegram.go_offline(account);
    // What this run stored moved the update state; a stop right after an
    // update must not leave the flusher's save for later (a restart would
    // read the old state and take that update again).
    if let Err(err) = conn.session().flush().await {
        tracing::debug!(account_id = %account, error = %err, "session not saved at the end of a run");
    }
    conn.close().await;
    exit
}

async fn probe(conn: &Connection) -> Result<(), Error> {
    conn.invoke(&tl::functions::updates::GetState {})
        .await
        .map(|_| ())
}

/// connected is the body of a run, on an open connection.
async fn connected(
    inner: &Inner,
    tenant: &TenantId,
    account: AccountId,
    fence: Option<&Fence>,
    conn: &mut Connection,
    mut stop: watch::Receiver<bool>,
) -> Result<Exit, Error> {
    // Shared before this connection's first call: a call made meanwhile
    // through `Telegram::with` would otherwise open a second connection on
    // the same auth key, and the next call here, on the older connection,
    // is what Telegram refuses with AUTH_KEY_DUPLICATED (killing the key).
    inner.telegram.go_live(account, conn.link());
    probe(conn).await?;
    cache_dialog_peers(conn, account).await?;
    let saved = conn.session().snapshot()?.updates;
    let skipped = skipped_by_too_long(conn, &saved).await?;
    let skipped_channels = channels_skipped_by_too_long(conn, &saved).await;
    // The common pts every stored update so far reaches; an update that
    // starts beyond it means Telegram skipped some (see below).
    let mut handled_pts = saved.pts;
    // Each channel's too: grammers answers a channel's "difference too
    // long" the same way, per channel.
    let mut handled_channels: HashMap<i64, i32> =
        saved.channels.iter().map(|c| (c.id, c.pts)).collect();
    // A gap Telegram will not replay is filled, and the saved state moved
    // to where Telegram is, before the update stream loads it: its
    // catch-up then starts there, and whatever arrives meanwhile comes
    // through it (a catch-up meeting "too long" itself would swallow it).
    if skipped.is_some() || !skipped_channels.is_empty() {
        fill_gap(inner, tenant, account).await?;
    }
    if let Some(pts) = skipped {
        let state = UpdateState::Primary {
            pts,
            date: saved.date,
            seq: saved.seq,
        };
        conn.session().set_update_state(state).await?;
        handled_pts = pts;
    }
    for (id, pts) in skipped_channels {
        conn.session()
            .set_update_state(UpdateState::Channel { id, pts })
            .await?;
        handled_channels.insert(id, pts);
    }
    let updates = conn
        .take_updates()
        .ok_or_else(|| Error::Client("updates channel already taken".into()))?;
    let mut stream = conn
        .client
        .stream_updates(updates, UpdatesConfiguration { catch_up: true })
        .await
        .map_err(|err| Error::Client(format!("opening the updates stream: {err}")))?;
    let self_id = conn
        .session()
        .snapshot()?
        .self_user
        .map(PeerId::bare_id_unchecked);
    tracing::info!(account_id = %account, "account connected");
    let _connected = Connected::new(&inner.metrics.connected_accounts);
    let mut probe_tick = tokio::time::interval(inner.options.probe_interval);
    probe_tick.tick().await;
    loop {
        tokio::select! {
            _ = stopped(&mut stop) => return Ok(Exit::Stopped),
            update = stream.next_raw() => {
                let (update, state, peers) = update?;
                inner.metrics.telegram_updates.with_label_values(&[update_name(&update)]).inc();
                // grammers answers a "difference too long" met while
                // connected by moving its pts on without any update: the
                // next one starts beyond what was stored.
                if let Some((pts, count)) = common_pts(&update)
                    && handled_pts > 0
                    && pts - count > handled_pts
                {
                    tracing::warn!(account_id = %account, stored_pts = handled_pts, update_pts = pts, "updates were skipped; filling from history");
                    fill_gap(inner, tenant, account).await?;
                } else if let (Some((pts, count)), Some(MessageBox::Channel { channel_id, .. })) =
                    (channel_pts(&update), state.message_box)
                    && let Some(handled) = handled_channels.get(&channel_id).copied()
                    && handled > 0
                    && pts - count > handled
                {
                    tracing::warn!(account_id = %account, channel_id, stored_pts = handled, update_pts = pts, "channel updates were skipped; filling from history");
                    fill_gap(inner, tenant, account).await?;
                }
                if let Some((chat_id, user_id, action)) = convert::typing(&update) {
                    inner.ephemera.ephemeral(NewEvent {
                        tenant: tenant.clone(),
                        account: Some(account),
                        payload: EventPayload::Typing { chat_id, user_id, action },
                    });
                }
                let changes = changes_with_profiles(account, self_id, &update, &peers);
                if !changes.is_empty() {
                    match inner.ingest.ingest(tenant, account, changes, fence).await {
                        Ok(()) => {}
                        Err(err) if lease_lost(&err) => return Ok(Exit::LeaseLost),
                        Err(err) => {
                            return Err(Error::Unavailable(format!("storing an update: {err}")));
                        }
                    }
                }
                if let Some(handled) = handled_state(&state) {
                    match handled {
                        UpdateState::Primary { pts, .. } => handled_pts = pts,
                        UpdateState::Channel { id, pts } => {
                            handled_channels.insert(id, pts);
                        }
                        _ => {}
                    }
                    conn.session().set_update_state(handled).await?;
                }
            }
            _ = probe_tick.tick() => probe(conn).await?,
        }
    }
}

/// changes_with_profiles is what an update reports, preceded by the
/// profiles of the chats it touches (from the users and chats that came
/// with it), so a chat first seen in an update gets its title.
fn changes_with_profiles(
    account: AccountId,
    self_id: Option<i64>,
    update: &tl::enums::Update,
    peers: &PeerMap,
) -> Vec<Change> {
    let changes = convert::changes(account, self_id, update);
    let mut profiles = Vec::new();
    for chat in changes.iter().flat_map(convert::chats_of) {
        let Some(peer) = PeerId::from_bot_api_dialog_id(chat).and_then(|id| peers.get(id)) else {
            continue;
        };
        let profile = match peer {
            Peer::User(user) => convert::user_profile(&user.raw),
            Peer::Group(group) => convert::chat_profile(&group.raw),
            Peer::Channel(channel) => {
                convert::chat_profile(&tl::enums::Chat::Channel(channel.raw.clone()))
            }
            _ => None,
        };
        if let Some(profile) = profile
            && !profiles
                .iter()
                .any(|c| matches!(c, Change::Profile(p) if p.chat_id == profile.chat_id))
        {
            profiles.push(Change::Profile(profile));
        }
    }
    profiles.extend(changes);
    profiles
}

/// skipped_by_too_long asks Telegram whether the saved state is so far
/// behind that it will not give the difference ("too long", after long
/// downtime): then grammers' catch-up moves its pts on and delivers
/// nothing, and the gap must be filled from history. Returns the pts
/// Telegram is at, in that case. One `updates.getDifference` of at most one
/// update; grammers' own catch-up fetches the rest.
async fn skipped_by_too_long(
    conn: &Connection,
    saved: &grammers_session::types::UpdatesState,
) -> Result<Option<i32>, Error> {
    if saved.pts <= 0 {
        return Ok(None);
    }
    let answer = conn
        .invoke(&tl::functions::updates::GetDifference {
            pts: saved.pts,
            pts_limit: Some(1),
            pts_total_limit: None,
            date: saved.date,
            qts: saved.qts.max(0),
            qts_limit: Some(1),
        })
        .await?;
    Ok(match answer {
        tl::enums::updates::Difference::TooLong(too_long) => Some(too_long.pts),
        _ => None,
    })
}

/// channels_skipped_by_too_long is [`skipped_by_too_long`] for each
/// channel the saved state follows: one `updates.getChannelDifference` of
/// at most one update each; the channels Telegram answers "too long" for,
/// with the pts Telegram is at. A channel that cannot be asked (left,
/// banned, no access hash cached) is skipped here; grammers' catch-up
/// meets the same answer.
async fn channels_skipped_by_too_long(
    conn: &Connection,
    saved: &grammers_session::types::UpdatesState,
) -> Vec<(i64, i32)> {
    let mut skipped = Vec::new();
    for channel in saved.channels.iter().filter(|c| c.pts > 0) {
        let Some(access_hash) =
            chats::cached_access_hash(conn, PeerId::channel_unchecked(channel.id)).await
        else {
            continue;
        };
        let answer = conn
            .invoke(&tl::functions::updates::GetChannelDifference {
                force: false,
                channel: tl::enums::InputChannel::Channel(tl::types::InputChannel {
                    channel_id: channel.id,
                    access_hash,
                }),
                filter: tl::enums::ChannelMessagesFilter::Empty,
                pts: channel.pts,
                limit: 1,
            })
            .await;
        match answer {
            Ok(tl::enums::updates::ChannelDifference::TooLong(too_long)) => {
                if let tl::enums::Dialog::Dialog(dialog) = too_long.dialog
                    && let Some(pts) = dialog.pts
                {
                    skipped.push((channel.id, pts));
                }
            }
            Ok(_) => {}
            Err(err) => {
                tracing::debug!(channel_id = channel.id, error = %err, "probing a channel's difference failed");
            }
        }
    }
    skipped
}

/// fill_gap stores what a "too long" difference skipped.
async fn fill_gap(inner: &Inner, tenant: &TenantId, account: AccountId) -> Result<(), Error> {
    inner.metrics.update_gaps.inc();
    inner
        .ingest
        .fill_gap(tenant, account)
        .await
        .map_err(|err| Error::Unavailable(format!("filling an update gap: {err}")))
}

/// common_pts is the (pts, pts_count) of an update of the account's common
/// sequence as Telegram sent it; `None` for other updates and for those
/// from a difference (which carry no pts of their own).
fn common_pts(update: &tl::enums::Update) -> Option<(i32, i32)> {
    use tl::enums::Update as U;
    let (pts, count) = match update {
        U::NewMessage(u) => (u.pts, u.pts_count),
        U::EditMessage(u) => (u.pts, u.pts_count),
        U::DeleteMessages(u) => (u.pts, u.pts_count),
        U::ReadHistoryInbox(u) => (u.pts, u.pts_count),
        U::ReadHistoryOutbox(u) => (u.pts, u.pts_count),
        U::ReadMessagesContents(u) => (u.pts, u.pts_count),
        U::WebPage(u) => (u.pts, u.pts_count),
        U::PinnedMessages(u) => (u.pts, u.pts_count),
        U::FolderPeers(u) => (u.pts, u.pts_count),
        _ => return None,
    };
    (pts > 0 && count > 0).then_some((pts, count))
}

/// channel_pts is the (pts, pts_count) of an update of a channel's own
/// sequence as Telegram sent it; `None` for other updates and for those
/// from a difference.
fn channel_pts(update: &tl::enums::Update) -> Option<(i32, i32)> {
    use tl::enums::Update as U;
    let (pts, count) = match update {
        U::NewChannelMessage(u) => (u.pts, u.pts_count),
        U::EditChannelMessage(u) => (u.pts, u.pts_count),
        U::DeleteChannelMessages(u) => (u.pts, u.pts_count),
        U::PinnedChannelMessages(u) => (u.pts, u.pts_count),
        _ => return None,
    };
    (pts > 0 && count > 0).then_some((pts, count))
}

/// handled_state is the part of the update state an update covers, to save
/// once the update is stored; `None` for updates without a pts (typing,
/// ...), which move nothing.
fn handled_state(state: &State) -> Option<UpdateState> {
    Some(match state.message_box? {
        MessageBox::Common { pts } => UpdateState::Primary {
            pts,
            date: state.date,
            seq: state.seq,
        },
        MessageBox::Secondary { qts } => UpdateState::Secondary { qts },
        MessageBox::Channel { channel_id, pts } => UpdateState::Channel {
            id: channel_id,
            pts,
        },
    })
}

/// DIALOGS_TO_CACHE bounds the first dialogs fetch after a login.
const DIALOGS_TO_CACHE: u32 = 1000;

/// cache_dialog_peers fills a fresh session's peer cache from the account's
/// dialogs, once, after login: updates of a channel whose access hash is
/// not cached would be lost. It never touches the update state.
async fn cache_dialog_peers(conn: &Connection, account: AccountId) -> Result<(), Error> {
    let data = conn.session().snapshot().map_err(Error::from)?;
    let only_self = data.peers.len() <= 1;
    if !only_self {
        return Ok(());
    }
    conn.bounded(chats::load_dialogs(conn, account, DIALOGS_TO_CACHE))
        .await
        .map(|_| ())
}

fn update_name(update: &tl::enums::Update) -> &'static str {
    use tl::enums::Update as U;
    match update {
        U::NewMessage(_) | U::NewChannelMessage(_) => "new_message",
        U::EditMessage(_) | U::EditChannelMessage(_) => "message_edited",
        U::DeleteMessages(_) | U::DeleteChannelMessages(_) => "message_deleted",
        U::ReadHistoryInbox(_) | U::ReadChannelInbox(_) => "read_inbox",
        U::ReadHistoryOutbox(_) | U::ReadChannelOutbox(_) => "read_outbox",
        U::UserTyping(_) | U::ChatUserTyping(_) | U::ChannelUserTyping(_) => "typing",
        _ => "other",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_updates_sent_with_a_common_pts_are_checked_for_a_jump() {
        let message = || {
            tl::enums::Message::Empty(tl::types::MessageEmpty {
                id: 1,
                peer_id: None,
            })
        };
        let new = |pts, pts_count| {
            tl::enums::Update::NewMessage(tl::types::UpdateNewMessage {
                message: message(),
                pts,
                pts_count,
            })
        };
        assert_eq!(common_pts(&new(10, 1)), Some((10, 1)));
        // Messages from a difference carry no pts of their own.
        assert_eq!(common_pts(&new(0, 0)), None);
        let channel = tl::enums::Update::NewChannelMessage(tl::types::UpdateNewChannelMessage {
            message: message(),
            pts: 10,
            pts_count: 1,
        });
        assert_eq!(common_pts(&channel), None, "a channel's own sequence");
    }

    #[test]
    fn a_task_ending_by_itself_removes_only_its_own_registration() {
        let registry = Registry::default();
        let account = AccountId::new();
        let (old, _, _old_done) = registry.register(account).unwrap();
        assert!(
            registry.register(account).is_none(),
            "one registration per account"
        );
        // The old task is released (its registration taken), a new login
        // registers a new task; then the old one ends and unregisters.
        registry.take(account).unwrap();
        let (new, _, _new_done) = registry.register(account).unwrap();
        assert_ne!(old, new);
        registry.unregister(account, old);
        assert_eq!(registry.len(), 1, "the new registration survives");
        registry.unregister(account, new);
        assert_eq!(registry.len(), 0);
    }

    #[test]
    fn the_connected_gauge_stays_true_when_a_run_panics() {
        let gauge = prometheus::IntGauge::new("g", "g").unwrap();
        let run = std::panic::catch_unwind(AssertUnwindSafe(|| {
            let _connected = Connected::new(&gauge);
            assert_eq!(gauge.get(), 1);
            panic!("the account task panicked");
        }));
        assert!(run.is_err());
        assert_eq!(gauge.get(), 0);
    }

    #[test]
    fn backoff_is_jittered_below_a_doubling_ceiling() {
        let options = SupervisorOptions {
            min_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(2),
            ..SupervisorOptions::default()
        };
        for attempt in 0..40 {
            let ceiling =
                Duration::from_millis(100 * 2u64.pow(attempt.min(20))).min(Duration::from_secs(2));
            for _ in 0..50 {
                assert!(backoff(&options, attempt) <= ceiling);
            }
        }
        // Full jitter: draws spread over the range rather than sitting at the ceiling.
        let draws: Vec<_> = (0..200).map(|_| backoff(&options, 10)).collect();
        assert!(draws.iter().any(|d| *d < Duration::from_millis(500)));
        assert!(draws.iter().any(|d| *d > Duration::from_millis(1500)));
    }
}
