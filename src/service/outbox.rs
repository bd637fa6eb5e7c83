//! SendMessage, ForwardMessages and the durable send queue (DESIGN.md §4).
//!
//! SendMessage validates, writes an outbox row (unique per tenant and
//! `request_id`: a retry finds the first row and sends nothing new), nudges
//! the dispatcher and waits briefly for the outcome. The dispatcher sends
//! each account's due rows in order, one at a time, through raw
//! `messages.sendMessage` with the row's random_id, so a row resent after a
//! crash (sent to Telegram, not yet recorded) comes back as the first
//! message instead of a second one.
//!
//! Who writes a row: SendMessage inserts it; afterwards only the
//! dispatcher, which drains one account at a time in this process (the
//! `draining` set refuses a second drain of the same account), and, once
//! the dispatcher left a row SCHEDULED (a row it never reads again), the
//! account's ingest, which moves it to SENT when Telegram reports the
//! message it became. Outcomes: sent (row SENT + message stored, one
//! transaction), scheduled (row SCHEDULED, nothing stored), refused for good
//! (FAILED with Telegram's reason), FLOOD_WAIT (the account's whole queue
//! is moved past the wait; no caller sees it), transient (retried with
//! backoff; FAILED after `max_attempts`).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use rand::Rng;
use tokio::sync::{Notify, OwnedMutexGuard, watch};
use tokio::time::Instant;

use crate::domain::audit::{AuditAction, NewAuditEntry, Preferences, id_list};
use crate::domain::chat::{
    Chat, MAX_CAPTION, MAX_TEXT, MediaInfo, MediaKind, Message, MessageState,
};
use crate::domain::lease::InstanceId;
use crate::domain::login::RequestId;
use crate::domain::media::{CHUNK_SIZE, chunk_count, parse_received_media_id, send_kind};
use crate::domain::outbox::{
    BIG_FILE, FilePart, FileUpload, OutboxItem, OutboxState, Outgoing, OutgoingForward,
    OutgoingMedia, OutgoingText, SendError, Sent, UploadedFile, forward_random_ids,
};
use crate::domain::ports::{FLOOD_WAIT, OutboxStore, StoreError, TelegramSender};
use crate::domain::{AccountId, Caller, Error};
use crate::telemetry::Metrics;

use super::{Chats, Files, UserPreferences};

#[derive(Debug, Clone)]
pub struct OutboxOptions {
    /// How long SendMessage waits for Telegram before answering PENDING.
    pub send_wait: Duration,
    /// How often the dispatcher looks for due rows without a nudge.
    pub poll_interval: Duration,
    /// The least time between two sends to one chat (Telegram limits a
    /// chat to about one message per second).
    pub per_chat_interval: Duration,
    /// Transient failures retry with backoff from `retry_min` to `retry_max`;
    /// after `max_attempts` the row fails (reason UNAVAILABLE).
    pub retry_min: Duration,
    pub retry_max: Duration,
    pub max_attempts: i32,
    /// This instance, when accounts are owned under leases: only the rows
    /// of accounts it owns are sent here, each outcome recorded only while
    /// its lease holds. `None` sends every account's rows.
    pub owner: Option<InstanceId>,
}

impl Default for OutboxOptions {
    fn default() -> Self {
        Self {
            send_wait: Duration::from_secs(5),
            poll_interval: Duration::from_secs(1),
            per_chat_interval: Duration::from_millis(1000),
            retry_min: Duration::from_secs(1),
            retry_max: Duration::from_secs(60),
            max_attempts: 20,
            owner: None,
        }
    }
}

/// Forward is a validated ForwardMessages.
#[derive(Debug, Clone)]
pub struct Forward {
    pub account: AccountId,
    pub from_chat_id: i64,
    pub message_ids: Vec<i64>,
    pub to_chat_id: i64,
    pub request_id: RequestId,
}

/// SendText is a validated SendMessage: a text, or with `media` a file
/// whose caption the text is.
#[derive(Debug, Clone)]
pub struct SendText {
    pub account: AccountId,
    pub chat_id: i64,
    pub text: OutgoingText,
    pub media: Option<MediaChoice>,
    pub request_id: RequestId,
}

/// MediaChoice is the file a SendMessage attaches, and how to send it
/// (`None`: as its MIME type says).
#[derive(Debug, Clone)]
pub struct MediaChoice {
    pub media_id: String,
    pub send_as: Option<MediaKind>,
}

#[derive(Clone)]
pub struct Outbox {
    inner: Arc<Inner>,
}

struct Inner {
    store: Arc<dyn OutboxStore>,
    chats: Chats,
    /// The files media sends read their parts from.
    files: Files,
    telegram: Arc<dyn TelegramSender>,
    options: OutboxOptions,
    metrics: Metrics,
    /// Senders' preferences: their signature ends what they send.
    preferences: UserPreferences,
    nudge: Notify,
    /// Woken whenever a send attempt is recorded, so a waiting SendMessage
    /// looks at once for its row in `settled` (rows another instance sends
    /// are seen by the fallback poll of the database).
    outcomes: Notify,
    /// The rows a call in this process waits for (registered by the
    /// waiter, removed when it stops waiting), and for the sent ones what
    /// the dispatcher recorded: the waiter answers with it instead of
    /// reading back what was just written.
    settled: SettledRows,
    /// Accounts whose rows are being sent right now (one drain per account).
    draining: Mutex<HashSet<AccountId>>,
    /// When each chat was last sent to, for pacing.
    last_send: Mutex<HashMap<(AccountId, i64), Instant>>,
}

/// Settled is what the dispatcher recorded for a row a call waits for.
#[derive(Debug, Clone)]
enum Settled {
    /// Sent (or scheduled): its messages, in order.
    Sent(Vec<Message>),
    /// Another outcome (failed, retrying, paused): the row tells.
    Recorded,
}

/// SettledRows are the rows waited for: how many calls wait, and what the
/// row became once sent.
type SettledRows = Mutex<HashMap<String, (usize, Option<Settled>)>>;

/// Waiting registers a call waiting for a row in `settled` while it lives
/// (two retries of one request wait for the same row: a count each).
struct Waiting<'a> {
    settled: &'a SettledRows,
    id: String,
}

impl<'a> Waiting<'a> {
    fn new(settled: &'a SettledRows, id: &str) -> Self {
        settled
            .lock()
            .expect("settled lock")
            .entry(id.to_owned())
            .or_default()
            .0 += 1;
        Self {
            settled,
            id: id.to_owned(),
        }
    }

    /// outcome is what was recorded for the row since the last look; a
    /// `Recorded` is seen once.
    fn outcome(&self) -> Option<Settled> {
        let mut settled = self.settled.lock().expect("settled lock");
        let (_, slot) = settled.get_mut(&self.id)?;
        match slot {
            Some(Settled::Recorded) => slot.take(),
            other => other.clone(),
        }
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        let mut settled = self.settled.lock().expect("settled lock");
        if let Some((waiters, _)) = settled.get_mut(&self.id) {
            *waiters -= 1;
            if *waiters == 0 {
                settled.remove(&self.id);
            }
        }
    }
}

/// OUTCOME_POLL is how often a waiting SendMessage re-reads its row when
/// no outcome in this process woke it.
const OUTCOME_POLL: Duration = Duration::from_millis(200);

/// A new send's schedule must be this far ahead at least, and at most
/// MAX_SCHEDULE_AHEAD (the proto's bounds; Telegram's are a year).
const MIN_SCHEDULE_AHEAD: chrono::Duration = chrono::Duration::seconds(10);
const MAX_SCHEDULE_AHEAD: chrono::Duration = chrono::Duration::days(365);

fn schedulable(at: chrono::DateTime<Utc>, now: chrono::DateTime<Utc>) -> bool {
    let ahead = at - now;
    ahead >= MIN_SCHEDULE_AHEAD && ahead <= MAX_SCHEDULE_AHEAD
}

/// signed is `text` with the sender's signature, which must still fit
/// Telegram's `limit`.
fn signed(text: &str, signature: &str, limit: usize, what: &str) -> Result<String, Error> {
    let signed = Preferences {
        signature: signature.to_owned(),
        ..Preferences::default()
    }
    .signed(text);
    let length = signed.encode_utf16().count();
    if length > limit {
        return Err(Error::invalid(
            "text",
            format!(
                "with your signature (from your preferences) {what} is {length} UTF-16 code units; Telegram allows at most {limit}"
            ),
        ));
    }
    Ok(signed)
}

/// signed_text is a text send with the sender's signature.
fn signed_text(text: OutgoingText, signature: String) -> Result<OutgoingText, Error> {
    Ok(OutgoingText {
        text: signed(&text.text, &signature, MAX_TEXT, "the text")?,
        signature,
        ..text
    })
}

/// random_id is a send's Telegram random_id: random, never 0.
fn random_id() -> i64 {
    loop {
        let id: i64 = rand::rng().random();
        if id != 0 {
            return id;
        }
    }
}

impl Outbox {
    pub fn new(
        store: Arc<dyn OutboxStore>,
        chats: Chats,
        files: Files,
        telegram: Arc<dyn TelegramSender>,
        options: OutboxOptions,
        metrics: Metrics,
        preferences: UserPreferences,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                store,
                chats,
                files,
                telegram,
                options,
                metrics,
                preferences,
                nudge: Notify::new(),
                outcomes: Notify::new(),
                settled: Mutex::new(HashMap::new()),
                draining: Mutex::new(HashSet::new()),
                last_send: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// send_message queues a message (a text, or a file with a caption)
    /// and waits briefly for Telegram.
    pub async fn send_message(&self, caller: &Caller, send: SendText) -> Result<Message, Error> {
        let inner = &self.inner;
        let tenant = &caller.tenant;
        let (account, _) = inner
            .chats
            .writable_chat(caller, send.account, send.chat_id)
            .await?;
        if let Some(reply_to) = send.text.reply_to {
            inner
                .chats
                .message(tenant, account.id, send.chat_id, reply_to)
                .await
                .map_err(|err| match err {
                    Error::NotFound { .. } => Error::NotFound {
                        resource: "reply_to_message_id",
                    },
                    other => other,
                })?;
        }
        let now = Utc::now();
        if let Some(at) = send.text.schedule
            && !schedulable(at, now)
            && inner
                .store
                .request_item(tenant, send.request_id.as_str())
                .await?
                .is_none()
        {
            return Err(Error::InvalidInput {
                reason: "INVALID_ARGUMENT",
                field: "schedule_time",
                description: format!(
                    "must be at least {} seconds and at most {} days ahead",
                    MIN_SCHEDULE_AHEAD.num_seconds(),
                    MAX_SCHEDULE_AHEAD.num_days()
                ),
            });
        }
        let signature = inner.preferences.stored(caller).await?.signature;
        let payload = match &send.media {
            None => Outgoing::Text(signed_text(send.text.clone(), signature)?),
            Some(choice) => {
                // A received file would go out again by reference, not by
                // upload: not built yet (ForwardMessages sends it on).
                if parse_received_media_id(&choice.media_id).is_some() {
                    return Err(Error::NotImplementedYet {
                        rpc: "SendMessage with a received file's media_id (forward its message instead)",
                    });
                }
                let media = inner
                    .files
                    .sendable(tenant, account.id, &choice.media_id)
                    .await?;
                let OutgoingText {
                    text,
                    entities,
                    reply_to,
                    silent,
                    schedule,
                    signature: _,
                } = send.text.clone();
                Outgoing::Media(OutgoingMedia {
                    kind: send_kind(choice.send_as, &media.mime_type, media.size)?,
                    media_id: media.id,
                    caption: signed(&text, &signature, MAX_CAPTION, "a caption")?,
                    entities,
                    reply_to,
                    silent,
                    schedule,
                    signature,
                })
            }
        };
        let item = OutboxItem {
            id: uuid::Uuid::now_v7().to_string(),
            tenant: tenant.clone(),
            account_id: account.id,
            request_id: send.request_id.as_str().to_owned(),
            chat_id: send.chat_id,
            random_id: random_id(),
            payload,
            state: OutboxState::Pending,
            attempts: 0,
            next_attempt_at: now,
            last_error: None,
            message_ids: Vec::new(),
            file_upload: None,
            created_at: now,
            fence: None,
        };
        // Wait on the row before the dispatcher can see it, so an outcome
        // recorded at once is handed over rather than polled for.
        let _waiting = Waiting::new(&inner.settled, &item.id);
        let mut audit = NewAuditEntry::by(caller, AuditAction::MessageSent)
            .chat(account.id, send.chat_id)
            .detail("request_id", send.request_id.as_str())
            .detail(
                "kind",
                if send.media.is_some() {
                    "media"
                } else {
                    "text"
                },
            );
        if let Some(choice) = &send.media {
            audit = audit.detail("media_id", &choice.media_id);
        }
        if let Some(at) = send.text.schedule {
            audit = audit.detail("schedule_time", at.to_rfc3339());
        }
        let item = self.enqueue(item, audit).await?;
        match self.await_outcome(item).await? {
            Ok(settled) => settled
                .into_iter()
                .next()
                .ok_or_else(|| Error::Internal("a sent text row has no message".into())),
            Err(item) => {
                self.message_of(caller, item, account.telegram_user_id)
                    .await
            }
        }
    }

    /// enqueue writes a row, or finds the one its request id wrote: a
    /// retry must be the same send (the same request, whatever signature
    /// it got); anything else reusing the id is refused, and nothing is
    /// written. A new row is audited (`audit`) once the dispatcher was
    /// told of it.
    async fn enqueue(&self, item: OutboxItem, audit: NewAuditEntry) -> Result<OutboxItem, Error> {
        let queued = self.inner.store.enqueue(&item).await?;
        let stored = queued.item;
        if !queued.created
            && (stored.account_id != item.account_id
                || stored.chat_id != item.chat_id
                || stored.payload.as_requested() != item.payload.as_requested())
        {
            return Err(reused());
        }
        self.inner.nudge.notify_one();
        if queued.created {
            self.inner.chats.audit().record(audit).await;
        }
        Ok(stored)
    }

    /// forward_messages queues a forward and waits for Telegram: the new
    /// messages, in order. A forward still queued when the wait ends
    /// (FLOOD_WAIT, Telegram unreachable) fails the call, but stays queued
    /// and goes out later: the same request_id then returns its messages.
    pub async fn forward_messages(
        &self,
        caller: &Caller,
        forward: Forward,
    ) -> Result<Vec<Message>, Error> {
        let inner = &self.inner;
        let tenant = &caller.tenant;
        let (account, _) = inner
            .chats
            .writable_chat(caller, forward.account, forward.to_chat_id)
            .await?;
        inner
            .chats
            .known_chat(tenant, account.id, forward.from_chat_id)
            .await
            .map_err(|err| match err {
                Error::NotFound { .. } => Error::NotFound {
                    resource: "from_chat_id",
                },
                other => other,
            })?;
        for id in &forward.message_ids {
            inner
                .chats
                .message(tenant, account.id, forward.from_chat_id, *id)
                .await?;
        }
        let now = Utc::now();
        let item = OutboxItem {
            id: uuid::Uuid::now_v7().to_string(),
            tenant: tenant.clone(),
            account_id: account.id,
            request_id: forward.request_id.as_str().to_owned(),
            chat_id: forward.to_chat_id,
            random_id: random_id(),
            payload: Outgoing::Forward(OutgoingForward {
                from_chat_id: forward.from_chat_id,
                message_ids: forward.message_ids.clone(),
            }),
            state: OutboxState::Pending,
            attempts: 0,
            next_attempt_at: now,
            last_error: None,
            message_ids: Vec::new(),
            file_upload: None,
            created_at: now,
            fence: None,
        };
        let _waiting = Waiting::new(&inner.settled, &item.id);
        let audit = NewAuditEntry::by(caller, AuditAction::MessagesForwarded)
            .chat(account.id, forward.to_chat_id)
            .detail("request_id", forward.request_id.as_str())
            .detail("from_chat_id", forward.from_chat_id)
            .detail("message_ids", id_list(&forward.message_ids));
        let item = self.enqueue(item, audit).await?;
        let item = match self.await_outcome(item).await? {
            Ok(settled) => return Ok(settled),
            Err(item) => item,
        };
        match item.state {
            OutboxState::Sent => {
                let mut messages = Vec::with_capacity(item.message_ids.len());
                for id in &item.message_ids {
                    match inner
                        .chats
                        .message(tenant, account.id, item.chat_id, *id)
                        .await
                    {
                        Ok(message) => messages.push(message),
                        // Deleted since it was forwarded.
                        Err(Error::NotFound { .. }) => {}
                        Err(other) => return Err(other),
                    }
                }
                Ok(messages)
            }
            OutboxState::Failed => Err(refusal(item.last_error.as_deref().unwrap_or_default())),
            OutboxState::Scheduled => Err(Error::Internal(format!(
                "forward {} is scheduled, and forwards never are",
                item.id
            ))),
            OutboxState::Pending => {
                let wait = (item.next_attempt_at - Utc::now())
                    .to_std()
                    .unwrap_or_default();
                if item.last_error.as_deref() == Some(FLOOD_WAIT) && !wait.is_zero() {
                    Err(Error::FloodWait { retry_after: wait })
                } else {
                    Err(Error::Unavailable(
                        "telegram (the forward stays queued: retry with the same request_id)"
                            .into(),
                    ))
                }
            }
        }
    }

    /// await_outcome waits until the row is no longer pending or the wait
    /// is over: `Ok` with what this process's dispatcher recorded, else
    /// `Err` with the row as last read (sent by another process, failed,
    /// or still pending).
    async fn await_outcome(
        &self,
        mut item: OutboxItem,
    ) -> Result<Result<Vec<Message>, OutboxItem>, Error> {
        let inner = &self.inner;
        let deadline = Instant::now() + inner.options.send_wait;
        let waiting = Waiting::new(&inner.settled, &item.id);
        let mut poll_at = Instant::now() + OUTCOME_POLL;
        while item.state == OutboxState::Pending {
            // Listen before looking, so an outcome recorded in between is
            // not missed.
            let recorded = inner.outcomes.notified();
            tokio::pin!(recorded);
            recorded.as_mut().enable();
            let recorded_other = match waiting.outcome() {
                Some(Settled::Sent(messages)) => return Ok(Ok(messages)),
                Some(Settled::Recorded) => true,
                None => false,
            };
            let now = Instant::now();
            if recorded_other || now >= poll_at || now >= deadline {
                item = inner.store.outbox_item(&item.tenant, &item.id).await?;
                poll_at = Instant::now() + OUTCOME_POLL;
                if item.state != OutboxState::Pending || Instant::now() >= deadline {
                    break;
                }
            }
            tokio::select! {
                _ = recorded => {}
                _ = tokio::time::sleep_until(poll_at.min(deadline)) => {}
            }
        }
        Ok(Err(item))
    }

    /// message_of is the message a row stands for: the stored one once
    /// sent, else one built from the row (PENDING or FAILED, id 0).
    async fn message_of(
        &self,
        caller: &Caller,
        item: OutboxItem,
        sender: Option<i64>,
    ) -> Result<Message, Error> {
        if let (OutboxState::Sent, Some(id)) = (item.state, item.message_ids.first().copied()) {
            match self
                .inner
                .chats
                .message(&caller.tenant, item.account_id, item.chat_id, id)
                .await
            {
                Ok(message) => return Ok(message),
                // Deleted since: the row still tells what was sent.
                Err(Error::NotFound { .. }) => {}
                Err(other) => return Err(other),
            }
        }
        if matches!(item.payload, Outgoing::Forward(_)) {
            return Err(Error::Internal(format!(
                "outbox row {} is a forward",
                item.id
            )));
        }
        let mut message = item.unsent_message(sender);
        if item.state == OutboxState::Sent {
            message.message_id = item.message_ids.first().copied().unwrap_or(0);
        }
        Ok(message)
    }

    /// run dispatches due rows until `shutdown` turns true.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        loop {
            // The pending gauge is refreshed on the timer, not on every
            // nudge: a send does not pay for counting the queue.
            let count = tokio::select! {
                _ = self.inner.nudge.notified() => false,
                _ = tokio::time::sleep(self.inner.options.poll_interval) => true,
                _ = shutdown.wait_for(|stop| *stop) => return,
            };
            if let Err(err) = self.dispatch(count).await {
                tracing::warn!(error = %err, "reading the outbox failed");
            }
        }
    }

    /// dispatch starts a drain for every account with due rows that is not
    /// being drained already.
    async fn dispatch(&self, count: bool) -> Result<(), StoreError> {
        if count {
            let pending = self.inner.store.pending_count().await?;
            self.inner
                .metrics
                .outbox_pending
                .set(i64::try_from(pending).unwrap_or(i64::MAX));
        }
        let due = self
            .inner
            .store
            .due(Utc::now(), 1000, self.inner.options.owner.as_ref())
            .await?;
        let mut by_account: HashMap<AccountId, Vec<OutboxItem>> = HashMap::new();
        for item in due {
            by_account.entry(item.account_id).or_default().push(item);
        }
        for (account, items) in by_account {
            if !self
                .inner
                .draining
                .lock()
                .expect("draining lock")
                .insert(account)
            {
                continue;
            }
            let outbox = self.clone();
            tokio::spawn(async move {
                outbox.drain(account, items).await;
                outbox
                    .inner
                    .draining
                    .lock()
                    .expect("draining lock")
                    .remove(&account);
                // Rows queued meanwhile are picked up at once.
                outbox.inner.nudge.notify_one();
            });
        }
        Ok(())
    }

    /// drain sends one account's rows in order; it stops at the first row
    /// that must wait (FLOOD_WAIT, a transient failure), keeping the order.
    async fn drain(&self, account: AccountId, items: Vec<OutboxItem>) {
        let sender = match items.first() {
            Some(item) => self
                .inner
                .chats
                .account(&item.tenant, account)
                .await
                .ok()
                .and_then(|account| account.telegram_user_id),
            None => None,
        };
        for item in items {
            self.pace(account, item.chat_id).await;
            // Ingest stores what this send made only once it is recorded.
            // A file's parts go out before: its send takes the gate itself.
            let sending = match item.payload {
                Outgoing::Media(_) => None,
                _ => self.inner.chats.sending(account).await,
            };
            let outcome = self.send_one(&item, sender).await;
            drop(sending);
            self.settle(&item, Settled::Recorded);
            self.inner.outcomes.notify_waiters();
            match outcome {
                Ok(true) => continue,
                Ok(false) => return,
                Err(err) => {
                    tracing::warn!(account_id = %account, error = %err, "recording a send failed");
                    return;
                }
            }
        }
    }

    /// pace waits until the chat may be sent to again.
    async fn pace(&self, account: AccountId, chat_id: i64) {
        let interval = self.inner.options.per_chat_interval;
        let wait = {
            let last = self.inner.last_send.lock().expect("pacing lock");
            last.get(&(account, chat_id))
                .map(|at| (*at + interval).saturating_duration_since(Instant::now()))
        };
        if let Some(wait) = wait.filter(|w| !w.is_zero()) {
            tokio::time::sleep(wait).await;
        }
        let mut last = self.inner.last_send.lock().expect("pacing lock");
        last.retain(|_, at| at.elapsed() < interval);
        last.insert((account, chat_id), Instant::now());
    }

    /// chat_of is a chat a row sends to or from; `None` when the account
    /// does not know it (any more), and then the row has failed.
    async fn chat_of(&self, item: &OutboxItem, chat_id: i64) -> Result<Option<Chat>, Error> {
        match self
            .inner
            .chats
            .known_chat(&item.tenant, item.account_id, chat_id)
            .await
        {
            Ok(chat) => Ok(Some(chat)),
            Err(Error::NotFound { .. }) => {
                self.inner.store.mark_failed(item, "CHAT_NOT_FOUND").await?;
                Ok(None)
            }
            Err(other) => Err(other),
        }
    }

    /// send_one makes one attempt; `Ok(false)` when the account's queue
    /// must stop for now.
    async fn send_one(&self, item: &OutboxItem, sender: Option<i64>) -> Result<bool, Error> {
        let inner = &self.inner;
        let Some(chat) = self.chat_of(item, item.chat_id).await? else {
            return Ok(true);
        };
        // Held from a file's send until its outcome is recorded.
        let mut _sending = None;
        let outcome = match &item.payload {
            Outgoing::Text(text) => inner
                .telegram
                .send_text(item.account_id, &chat.profile, item.random_id, text)
                .await
                .map(|sent| {
                    let scheduled = sent.scheduled.then_some(sent.message_id);
                    (vec![sent_message(item, sent, sender, None)], scheduled)
                }),
            Outgoing::Media(media) => {
                let (sent, gate) = self.send_file(item, media, &chat).await?;
                _sending = gate;
                sent.map(|(sent, info)| {
                    let scheduled = sent.scheduled.then_some(sent.message_id);
                    (
                        vec![sent_message(item, sent, sender, Some(info))],
                        scheduled,
                    )
                })
            }
            Outgoing::Forward(forward) => {
                let Some(from) = self.chat_of(item, forward.from_chat_id).await? else {
                    return Ok(true);
                };
                let random_ids = forward_random_ids(item.random_id, forward.message_ids.len());
                inner
                    .telegram
                    .forward(
                        item.account_id,
                        &from.profile,
                        &chat.profile,
                        &forward.message_ids,
                        &random_ids,
                    )
                    .await
                    .map(|sent| {
                        sent.into_iter()
                            .map(|message| Message {
                                request_id: Some(item.request_id.clone()),
                                ..message
                            })
                            .collect()
                    })
                    .map(|messages| (messages, None))
            }
        };
        let label = match &outcome {
            Ok((_, Some(_))) => "scheduled",
            Ok(_) => "sent",
            Err(SendError::FloodWait(_)) => "flood_wait",
            Err(SendError::Refused(_)) => "failed",
            Err(SendError::Transient(_)) => "retry",
        };
        inner.metrics.outbox_sends.with_label_values(&[label]).inc();
        match outcome {
            Ok((messages, Some(scheduled_id))) => {
                // Telegram holds it: nothing is in the chat until it is
                // sent, when ingest records what it became.
                inner.store.mark_scheduled(item, scheduled_id).await?;
                self.settle(item, Settled::Sent(messages));
                Ok(true)
            }
            Ok((messages, None)) => {
                inner.store.mark_sent(item, &messages).await?;
                inner
                    .chats
                    .retire(&item.tenant, item.account_id, &[item.chat_id])
                    .await;
                self.settle(item, Settled::Sent(messages));
                Ok(true)
            }
            Err(SendError::FloodWait(wait)) => {
                tracing::info!(account_id = %item.account_id, wait_s = wait.as_secs(), "flood wait: the account's sends pause");
                let until = Utc::now() + chrono::Duration::from_std(wait).unwrap_or_default();
                inner.store.pause_account(item.account_id, until).await?;
                Ok(false)
            }
            Err(SendError::Refused(reason)) => {
                tracing::info!(account_id = %item.account_id, reason, "telegram refused a send");
                inner.store.mark_failed(item, &reason).await?;
                Ok(true)
            }
            Err(SendError::Transient(error)) => {
                if item.attempts + 1 >= inner.options.max_attempts {
                    inner.store.mark_failed(item, "UNAVAILABLE").await?;
                    return Ok(true);
                }
                let backoff = inner
                    .options
                    .retry_min
                    .saturating_mul(2u32.saturating_pow(item.attempts.clamp(0, 16) as u32))
                    .min(inner.options.retry_max);
                let at = Utc::now() + chrono::Duration::from_std(backoff).unwrap_or_default();
                tracing::warn!(account_id = %item.account_id, error, "a send failed, retrying");
                inner.store.retry_later(&item.id, at, &error).await?;
                Ok(false)
            }
        }
    }

    /// send_file makes one attempt at a media send: the file's parts
    /// Telegram does not have yet, each recorded with the row once saved
    /// (a restart or a flood wait continues from the next), then the send,
    /// under the account's send gate (returned, to hold until the outcome
    /// is recorded): ingest waits for a send, not for a file's upload.
    async fn send_file(
        &self,
        item: &OutboxItem,
        outgoing: &OutgoingMedia,
        chat: &Chat,
    ) -> Result<(FileSent, Option<OwnedMutexGuard<()>>), Error> {
        let inner = &self.inner;
        let media = match inner
            .files
            .sendable(&item.tenant, item.account_id, &outgoing.media_id)
            .await
        {
            Ok(media) => media,
            Err(Error::NotFound { .. }) => {
                return Ok((Err(SendError::Refused("MEDIA_NOT_FOUND".into())), None));
            }
            Err(err) => return Err(err),
        };
        let parts = chunk_count(media.size, CHUNK_SIZE);
        let big = media.size > BIG_FILE;
        let mut upload = match item.file_upload {
            Some(upload) => upload,
            None => {
                let upload = FileUpload {
                    file_id: random_id(),
                    parts_done: 0,
                };
                inner.store.save_file_upload(&item.id, &upload).await?;
                upload
            }
        };
        while upload.parts_done < parts {
            let part = FilePart {
                file_id: upload.file_id,
                part: upload.parts_done,
                total_parts: parts,
                big,
                bytes: inner.files.chunk(&media, upload.parts_done).await?,
            };
            if let Err(err) = inner.telegram.save_file_part(item.account_id, &part).await {
                return Ok((Err(err), None));
            }
            upload.parts_done += 1;
            inner.store.save_file_upload(&item.id, &upload).await?;
        }
        let file = UploadedFile {
            file_id: upload.file_id,
            parts,
            big,
            name: media.file_name.clone(),
            mime_type: media.mime_type.clone(),
        };
        let sending = inner.chats.sending(item.account_id).await;
        let sent = inner
            .telegram
            .send_media(
                item.account_id,
                &chat.profile,
                item.random_id,
                outgoing,
                &file,
            )
            .await;
        match sent {
            Ok(sent) => Ok((
                Ok((
                    sent,
                    MediaInfo {
                        kind: outgoing.kind,
                        file_name: Some(media.file_name),
                        mime_type: Some(media.mime_type),
                        size_bytes: Some(media.size),
                        width: None,
                        height: None,
                        duration_secs: None,
                        title: None,
                        performer: None,
                        emoji: None,
                    },
                )),
                sending,
            )),
            // Telegram no longer has the parts (they expire): upload again,
            // from the first part, under a new file id.
            Err(SendError::Refused(reason))
                if reason.starts_with("FILE_PART") || reason == "FILE_PARTS_INVALID" =>
            {
                let again = FileUpload {
                    file_id: random_id(),
                    parts_done: 0,
                };
                inner.store.save_file_upload(&item.id, &again).await?;
                let retry = SendError::Transient(format!(
                    "telegram lost the file's parts ({reason}); uploading again"
                ));
                Ok((Err(retry), sending))
            }
            Err(err) => Ok((Err(err), sending)),
        }
    }

    /// settle hands what was recorded for a row to the call waiting for it
    /// in this process, if any (woken by `outcomes`); a `Recorded` does
    /// not replace a `Sent`.
    fn settle(&self, item: &OutboxItem, outcome: Settled) {
        let mut settled = self.inner.settled.lock().expect("settled lock");
        if let Some((_, slot)) = settled.get_mut(&item.id)
            && !matches!(slot, Some(Settled::Sent(_)))
        {
            *slot = Some(outcome);
        }
    }
}

/// FileSent is one media send attempt's outcome: the send and what it
/// attached.
type FileSent = Result<(Sent, MediaInfo), SendError>;

/// sent_message is the message a text or media row became: SENT, or
/// SCHEDULED (id 0: its id in the schedule is no message id) until
/// Telegram sends it.
fn sent_message(
    item: &OutboxItem,
    sent: Sent,
    sender: Option<i64>,
    media: Option<MediaInfo>,
) -> Message {
    Message {
        message_id: if sent.scheduled { 0 } else { sent.message_id },
        media,
        sent_at: sent.date,
        state: if sent.scheduled {
            MessageState::Scheduled
        } else {
            MessageState::Sent
        },
        error_reason: None,
        ..item.unsent_message(sender)
    }
}

/// refusal is what a forward Telegram refused for good tells the caller.
fn refusal(reason: &str) -> Error {
    match reason {
        "CHAT_WRITE_FORBIDDEN"
        | "CHAT_ADMIN_REQUIRED"
        | "USER_BANNED_IN_CHANNEL"
        | "CHAT_RESTRICTED"
        | "CHAT_SEND_PLAIN_FORBIDDEN" => Error::FailedPrecondition {
            reason: "CHAT_WRITE_FORBIDDEN",
            message: format!("telegram does not let the account write to the chat ({reason})"),
        },
        "MESSAGE_ID_INVALID" => Error::NotFound {
            resource: "message",
        },
        _ => Error::FailedPrecondition {
            reason: "FAILED_PRECONDITION",
            message: format!("telegram refused the forward ({reason})"),
        },
    }
}

fn reused() -> Error {
    Error::InvalidInput {
        reason: "REQUEST_ID_REUSED",
        field: "request_id",
        description: "this request_id was used for a different message".into(),
    }
}
