//! Updates: Subscribe's resumable streams over the event log.
//!
//! The log (`EventLog`) is the source of truth; what moves in memory only
//! saves reads. Each tenant with subscribers in this process has one
//! [`Feed`]: a task that reads the tenant's log after the last position it
//! saw, whenever a commit announces news (and at least every
//! `poll_interval`, for events other processes append), and broadcasts
//! what it read, in log order. A subscriber:
//!
//! 1. joins the feed's broadcast *first*,
//! 2. reads the log after its cursor until it is level with it (catch-up),
//! 3. then takes the broadcast, skipping what catch-up already sent.
//!
//! Nothing is lost between 2 and 3: positions commit in order (see
//! `storage::events`), the feed's starting position was read before the
//! subscriber joined, so every event committed after the last catch-up
//! read is above that start and is broadcast after the subscriber joined.
//! A subscriber too slow for the broadcast's window is told it lagged and
//! goes back to step 1 from its cursor: a slow client is served from the
//! log at its own pace, and never slows the feed or anyone else; memory
//! stays bounded (one window per feed, one catch-up page per stream).
//! A stream has no task of its own: it advances when its connection asks
//! for the next message, so a client that stops reading stops its stream.
//!
//! Who writes what: only a feed's task moves its position; only a stream
//! (polled by its one connection) moves its cursor. Feeds are created and dropped under one lock, so
//! a subscriber never joins a feed whose task is ending.

use std::any::Any;
use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use tokio::time::Instant;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use chrono::Utc;
use sha2::{Digest, Sha256};
use tokio::sync::{Notify, broadcast, mpsc, watch};

use super::chats::Chats;
use crate::domain::event::{EPHEMERAL, Event, EventKind, NewEvent};
use crate::domain::ports::{Ephemera, EventBus, EventLog, Notice};
use crate::domain::{AccountId, Caller, Error, Scope, TenantId};
use crate::telemetry::Metrics;

/// STREAM_RETRY is when a caller at its cap of open streams is told to
/// try again.
const STREAM_RETRY: Duration = Duration::from_secs(5);

/// UpdateOptions tune the streams.
#[derive(Debug, Clone)]
pub struct UpdateOptions {
    /// How often an idle stream gets a heartbeat.
    pub heartbeat: Duration,
    /// How long the log keeps events.
    pub retention: Duration,
    /// How often the retention sweep runs.
    pub sweep_interval: Duration,
    /// Open streams per caller (tenant and principal).
    pub streams_per_caller: u32,
    /// How far a subscriber may fall behind its feed (in events) before
    /// it reads the log itself.
    pub window: usize,
    /// How often a feed reads the log without being told of news (events
    /// other processes appended).
    pub poll_interval: Duration,
    /// Events per log read.
    pub page: u32,
}

impl Default for UpdateOptions {
    fn default() -> Self {
        Self {
            heartbeat: Duration::from_secs(15),
            retention: Duration::from_secs(7 * 24 * 3600),
            sweep_interval: Duration::from_secs(600),
            streams_per_caller: 16,
            window: 1024,
            poll_interval: Duration::from_secs(1),
            page: 500,
        }
    }
}

/// Filter is what a stream keeps; empty lists keep everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    pub accounts: Vec<AccountId>,
    pub chats: Vec<i64>,
    pub kinds: Vec<EventKind>,
}

impl Filter {
    fn keeps(&self, event: &Event) -> bool {
        let account_ok =
            self.accounts.is_empty() || event.account.is_some_and(|a| self.accounts.contains(&a));
        // Events about no chat pass a chat filter.
        let chat_ok = self.chats.is_empty()
            || event
                .payload
                .chat_id()
                .is_none_or(|chat| self.chats.contains(&chat));
        let kind_ok = self.kinds.is_empty() || self.kinds.contains(&event.payload.kind());
        account_ok && chat_ok && kind_ok
    }
}

/// Delivered is an event as the streams of a tenant share it: with its
/// cursor (the same for all of them) and, once one stream made it, its
/// wire form, so a thousand streams convert it once.
pub struct Delivered {
    pub event: Event,
    /// Empty for an ephemeral event (each stream sends its own cursor).
    pub cursor: String,
    wire: OnceLock<Box<dyn Any + Send + Sync>>,
}

impl Delivered {
    fn new(event: Event) -> Arc<Self> {
        let cursor = match event.position {
            EPHEMERAL => String::new(),
            position => encode_cursor(&event.tenant, position),
        };
        Arc::new(Self {
            event,
            cursor,
            wire: OnceLock::new(),
        })
    }

    /// wire is the event's wire form, made by the first caller with
    /// `make`; every caller must ask for the same type.
    pub fn wire<T: Clone + Send + Sync + 'static>(
        &self,
        make: impl FnOnce(&Event, &str) -> T,
    ) -> T {
        self.wire
            .get_or_init(|| Box::new(make(&self.event, &self.cursor)))
            .downcast_ref::<T>()
            .expect("one wire type per event")
            .clone()
    }
}

impl std::fmt::Debug for Delivered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Delivered")
            .field("event", &self.event)
            .finish_non_exhaustive()
    }
}

/// Streamed is one message of a stream.
#[derive(Debug, Clone)]
pub enum Streamed {
    /// An event of the log, with its own cursor.
    Logged(Arc<Delivered>),
    /// An event that is not stored, with the stream's cursor.
    Ephemeral {
        cursor: String,
        event: Arc<Delivered>,
    },
    Heartbeat {
        cursor: String,
    },
}

/// cursor_tag binds a position to its tenant: a cursor of another tenant
/// (or a mangled one) is refused. Not a secret: anyone may build a cursor
/// of their own tenant, and it shows only positions they may read.
fn cursor_tag(tenant: &TenantId, position: i64) -> [u8; 8] {
    let digest = Sha256::new()
        .chain_update(b"tezgram cursor v1\0")
        .chain_update(tenant.as_str().as_bytes())
        .chain_update(b"\0")
        .chain_update(position.to_be_bytes())
        .finalize();
    digest[..8].try_into().expect("8 of 32 bytes")
}

/// encode_cursor is the opaque cursor of a position in a tenant's log.
pub fn encode_cursor(tenant: &TenantId, position: i64) -> String {
    let mut raw = Vec::with_capacity(16);
    raw.extend_from_slice(&position.to_be_bytes());
    raw.extend_from_slice(&cursor_tag(tenant, position));
    format!("c1.{}", B64URL.encode(raw))
}

/// decode_cursor is the position of a cursor this server issued to the
/// tenant.
pub fn decode_cursor(tenant: &TenantId, cursor: &str) -> Result<i64, Error> {
    let invalid = || Error::invalid("cursor", "not a cursor this server issued to the caller");
    let raw = cursor
        .strip_prefix("c1.")
        .and_then(|body| B64URL.decode(body).ok())
        .filter(|raw| raw.len() == 16)
        .ok_or_else(invalid)?;
    let position = i64::from_be_bytes(raw[..8].try_into().expect("8 bytes"));
    if position < 0 || raw[8..] != cursor_tag(tenant, position) {
        return Err(invalid());
    }
    Ok(position)
}

fn cursor_expired() -> Error {
    Error::FailedPrecondition {
        reason: "CURSOR_EXPIRED",
        message: "the cursor is older than the event log's retention: subscribe without a cursor and reload state through the list RPCs".to_owned(),
    }
}

/// Feed is one tenant's broadcast of its log in this process.
struct Feed {
    events: broadcast::Sender<Arc<Delivered>>,
    news: Notify,
}

#[derive(Clone)]
pub struct Updates {
    inner: Arc<Inner>,
}

struct Inner {
    log: Arc<dyn EventLog>,
    /// Notices to and from other processes (Redis), when configured.
    bus: Option<Arc<dyn EventBus>>,
    chats: Chats,
    options: UpdateOptions,
    feeds: tokio::sync::Mutex<HashMap<TenantId, Arc<Feed>>>,
    /// Open streams per (tenant, principal).
    streams: Mutex<HashMap<(TenantId, String), u32>>,
    stopping: watch::Receiver<bool>,
    metrics: Metrics,
    /// Events streamed, never stored (typing), on their way to the hub.
    ephemera: mpsc::Sender<NewEvent>,
    ephemera_rx: Mutex<Option<mpsc::Receiver<NewEvent>>>,
}

/// StreamSlot is one open stream of a caller, counted until dropped.
struct StreamSlot {
    inner: Arc<Inner>,
    key: (TenantId, String),
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        self.inner.metrics.stream_subscribers.dec();
        let mut streams = self.inner.streams.lock().expect("streams lock");
        if let Some(count) = streams.get_mut(&self.key) {
            *count -= 1;
            if *count == 0 {
                streams.remove(&self.key);
            }
        }
    }
}

impl Updates {
    /// new builds the service; `shutdown` turning true ends every stream.
    pub fn new(
        log: Arc<dyn EventLog>,
        bus: Option<Arc<dyn EventBus>>,
        chats: Chats,
        options: UpdateOptions,
        shutdown: watch::Receiver<bool>,
        metrics: Metrics,
    ) -> Self {
        let (ephemera, ephemera_rx) = mpsc::channel(EPHEMERA_BACKLOG);
        Self {
            inner: Arc::new(Inner {
                ephemera,
                ephemera_rx: Mutex::new(Some(ephemera_rx)),
                log,
                bus,
                chats,
                options,
                feeds: tokio::sync::Mutex::new(HashMap::new()),
                streams: Mutex::new(HashMap::new()),
                stopping: shutdown,
                metrics,
            }),
        }
    }

    /// subscribe validates a subscription and starts its stream: events
    /// after `cursor` (or after the present, without one) that `filter`
    /// keeps, then heartbeats and live events until the stream is
    /// dropped, the server stops (UNAVAILABLE) or the stream falls behind
    /// retention (CURSOR_EXPIRED).
    pub async fn subscribe(
        &self,
        caller: &Caller,
        filter: Filter,
        cursor: Option<&str>,
    ) -> Result<impl futures::Stream<Item = Result<Streamed, Error>> + Send + 'static, Error> {
        crate::service::require(caller, Scope::UpdatesRead)?;
        let tenant = caller.tenant.clone();
        for account in &filter.accounts {
            self.inner.chats.account(&tenant, *account).await?;
        }
        let position = match cursor {
            Some(cursor) => {
                let position = decode_cursor(&tenant, cursor)?;
                if position < self.inner.log.horizon().await? {
                    return Err(cursor_expired());
                }
                Some(position)
            }
            None => None,
        };
        let slot = self.slot(caller)?;
        // Joined before the present is read: nothing falls in between.
        let (feed, live) = self.join(&tenant).await?;
        let position = match position {
            Some(position) => position,
            None => self.inner.log.head().await?,
        };
        let stream = Stream {
            inner: self.inner.clone(),
            tenant,
            filter,
            cursor: position,
            quiet_since: Instant::now(),
            phase: Phase::CatchUp { level: false },
            pending: VecDeque::new(),
            feed,
            live,
            beat: tokio::time::interval(self.inner.options.heartbeat),
            stop: {
                let mut stopping = self.inner.stopping.clone();
                Box::pin(async move {
                    // The sender gone is the process ending too.
                    let _ = stopping.wait_for(|stop| *stop).await;
                })
            },
            _slot: slot,
        };
        Ok(stream.into_stream())
    }

    fn slot(&self, caller: &Caller) -> Result<StreamSlot, Error> {
        let limit = self.inner.options.streams_per_caller;
        let key = (caller.tenant.clone(), caller.principal.clone());
        let mut streams = self.inner.streams.lock().expect("streams lock");
        let count = streams.entry(key.clone()).or_default();
        if *count >= limit {
            // As the contract says: RATE_LIMITED, retry once a stream closed.
            return Err(Error::RateLimited {
                retry_after: STREAM_RETRY,
            });
        }
        *count += 1;
        self.inner.metrics.stream_subscribers.inc();
        Ok(StreamSlot {
            inner: self.inner.clone(),
            key,
        })
    }

    /// join joins the tenant's feed (started at the log's present when
    /// new). It joins under the feeds' lock, which a feed's task takes to
    /// end when nobody listens: a stream never joins a feed that is ending.
    async fn join(
        &self,
        tenant: &TenantId,
    ) -> Result<(Arc<Feed>, broadcast::Receiver<Arc<Delivered>>), Error> {
        let mut feeds = self.inner.feeds.lock().await;
        if let Some(feed) = feeds.get(tenant) {
            let live = feed.events.subscribe();
            return Ok((feed.clone(), live));
        }
        let start = self.inner.log.head().await?;
        let feed = Arc::new(Feed {
            events: broadcast::channel(self.inner.options.window.max(1)).0,
            news: Notify::new(),
        });
        let live = feed.events.subscribe();
        feeds.insert(tenant.clone(), feed.clone());
        tokio::spawn(run_feed(
            self.inner.clone(),
            tenant.clone(),
            feed.clone(),
            start,
        ));
        Ok((feed, live))
    }

    /// run wakes feeds when this process's commits or other processes'
    /// notices announce news for their tenant (all feeds, when notices may
    /// have been lost), tells other processes of this one's news, and
    /// prunes the log past retention, until shutdown.
    pub async fn run(self) {
        let mut shutdown = self.inner.stopping.clone();
        let mut appended = self.inner.log.appended();
        let mut notices = self.inner.bus.as_ref().map(|bus| bus.notices());
        let Some(mut ephemera) = self.inner.ephemera_rx.lock().expect("ephemera").take() else {
            return;
        };
        let publish = self.inner.bus.clone().map(|bus| {
            let (tx, rx) = mpsc::channel(PUBLISH_BACKLOG);
            tokio::spawn(publish_news(bus, rx));
            tx
        });
        let mut sweep = tokio::time::interval(self.inner.options.sweep_interval);
        loop {
            let woke = tokio::select! {
                news = appended.recv() => Woke::Local(news),
                notice = next_notice(&mut notices) => Woke::Remote(notice),
                Some(event) = ephemera.recv() => Woke::Ephemeral(event),
                _ = sweep.tick() => Woke::Sweep,
                _ = shutdown.wait_for(|stop| *stop) => return,
            };
            let tenant = match woke {
                Woke::Sweep => {
                    self.sweep().await;
                    continue;
                }
                Woke::Local(Ok(tenant)) => {
                    if let Some(publish) = &publish {
                        // Full: the publisher is behind on a Redis that is
                        // down or slow; the others poll meanwhile.
                        let _ = publish.try_send(Publish::News(tenant.clone()));
                    }
                    Some(tenant)
                }
                Woke::Ephemeral(event) => {
                    if let Some(publish) = &publish {
                        let _ = publish.try_send(Publish::Ephemeral(event.clone()));
                    }
                    self.stream_ephemeral(event).await;
                    continue;
                }
                Woke::Remote(Ok(Notice::Ephemeral(event))) => {
                    self.stream_ephemeral(event).await;
                    continue;
                }
                Woke::Remote(Ok(Notice::News(tenant))) => Some(tenant),
                Woke::Local(Err(broadcast::error::RecvError::Closed)) => return,
                // Notices were lost: every feed reads its log.
                Woke::Local(Err(_)) | Woke::Remote(Ok(Notice::Missed)) | Woke::Remote(Err(_)) => {
                    None
                }
            };
            let feeds = self.inner.feeds.lock().await;
            match tenant {
                Some(tenant) => {
                    if let Some(feed) = feeds.get(&tenant) {
                        feed.news.notify_one();
                    }
                }
                None => feeds.values().for_each(|feed| feed.news.notify_one()),
            }
        }
    }

    /// stream_ephemeral hands an event that is not stored to the streams
    /// of its tenant in this process (if any).
    async fn stream_ephemeral(&self, event: NewEvent) {
        if let Some(feed) = self.inner.feeds.lock().await.get(&event.tenant) {
            let _ = feed.events.send(Delivered::new(Event {
                position: EPHEMERAL,
                tenant: event.tenant,
                account: event.account,
                payload: event.payload,
                time: Utc::now(),
            }));
        }
    }

    /// sweep deletes the events older than the retention.
    pub async fn sweep(&self) {
        match self
            .inner
            .log
            .prune(super::ago(self.inner.options.retention))
            .await
        {
            Ok(0) => {}
            Ok(pruned) => tracing::info!(pruned, "event log pruned past retention"),
            Err(err) => tracing::warn!(error = %err, "pruning the event log failed"),
        }
    }
}

/// run_feed reads the tenant's log after `position` whenever there is
/// news (or the poll interval passed) and broadcasts it, until nobody
/// listens.
async fn run_feed(inner: Arc<Inner>, tenant: TenantId, feed: Arc<Feed>, mut position: i64) {
    let mut stopping = inner.stopping.clone();
    loop {
        tokio::select! {
            _ = feed.news.notified() => {}
            _ = tokio::time::sleep(inner.options.poll_interval) => {}
            _ = stopping.wait_for(|stop| *stop) => break,
        }
        {
            let mut feeds = inner.feeds.lock().await;
            if feed.events.receiver_count() == 0 {
                feeds.remove(&tenant);
                return;
            }
        }
        loop {
            match inner
                .log
                .events_after(&tenant, position, inner.options.page)
                .await
            {
                Ok(events) => {
                    let full = events.len() as u32 == inner.options.page;
                    for event in events {
                        position = event.position;
                        // Nobody listening is fine: the next round ends the feed.
                        let _ = feed.events.send(Delivered::new(event));
                    }
                    if !full {
                        break;
                    }
                }
                Err(err) => {
                    // Subscribers are level with what was broadcast; the
                    // next round reads again.
                    tracing::warn!(tenant = %tenant, error = %err, "reading the event log failed");
                    break;
                }
            }
        }
    }
    inner.feeds.lock().await.remove(&tenant);
}

/// Stream is one subscriber's state, advanced as its client reads.
struct Stream {
    inner: Arc<Inner>,
    tenant: TenantId,
    filter: Filter,
    /// The last position sent (or skipped by the filter).
    cursor: i64,
    /// When the client was last sent something.
    quiet_since: Instant,
    phase: Phase,
    /// A catch-up page not yet sent.
    pending: VecDeque<Arc<Delivered>>,
    feed: Arc<Feed>,
    live: broadcast::Receiver<Arc<Delivered>>,
    beat: tokio::time::Interval,
    /// Ready once the gateway stops. Made once: a wait registered anew at
    /// every poll would have a thousand streams queue on one lock per event.
    stop: Pin<Box<dyn Future<Output = ()> + Send>>,
    _slot: StreamSlot,
}

/// PUBLISH_BACKLOG bounds the notices waiting for Redis.
const PUBLISH_BACKLOG: usize = 1024;
/// EPHEMERA_BACKLOG bounds the typing events waiting for the hub.
const EPHEMERA_BACKLOG: usize = 1024;

/// Woke is why the hub's loop woke.
enum Woke {
    Local(Result<TenantId, broadcast::error::RecvError>),
    Remote(Result<Notice, broadcast::error::RecvError>),
    Ephemeral(NewEvent),
    Sweep,
}

/// Publish is what the hub tells other processes.
enum Publish {
    News(TenantId),
    Ephemeral(NewEvent),
}

impl Ephemera for Updates {
    fn ephemeral(&self, event: NewEvent) {
        // Full: the hub is far behind; typing is the first thing to drop.
        let _ = self.inner.ephemera.try_send(event);
    }
}

/// next_notice is the bus's next notice; never, without a bus.
async fn next_notice(
    notices: &mut Option<broadcast::Receiver<Notice>>,
) -> Result<Notice, broadcast::error::RecvError> {
    match notices {
        Some(notices) => notices.recv().await,
        None => std::future::pending().await,
    }
}

/// publish_news tells other processes which tenants have news, each once
/// per batch however many commits it had, and hands them typing, until
/// the hub stops.
async fn publish_news(bus: Arc<dyn EventBus>, mut news: mpsc::Receiver<Publish>) {
    while let Some(first) = news.recv().await {
        let mut batch = vec![first];
        while let Ok(more) = news.try_recv() {
            batch.push(more);
        }
        let mut told: Vec<TenantId> = Vec::new();
        for item in batch {
            let published = match item {
                Publish::News(tenant) if !told.contains(&tenant) => {
                    let published = bus.publish(&tenant).await;
                    told.push(tenant);
                    published
                }
                Publish::News(_) => Ok(()),
                Publish::Ephemeral(event) => bus.publish_ephemeral(&event).await,
            };
            if let Err(err) = published {
                tracing::debug!(error = %err, "publishing to other processes failed; they poll");
            }
        }
    }
}

/// Phase is where a stream stands.
enum Phase {
    /// Reading the log after the cursor; `level` once the last page read
    /// was not full (what is pending is all there is).
    CatchUp { level: bool },
    /// Taking the feed's broadcast.
    Follow,
    /// Ended: the stream yields nothing more.
    Done,
}

impl Stream {
    /// into_stream is the stream as tonic polls it: each item is made
    /// when the client's connection asks for it, by the task that writes
    /// to the connection, with no task or queue of its own in between.
    fn into_stream(self) -> impl futures::Stream<Item = Result<Streamed, Error>> + Send + 'static {
        futures::stream::unfold(self, |mut stream| async move {
            let item = stream.next().await?;
            Some((item, stream))
        })
    }

    /// next is the stream's next message; `None` once it ended.
    async fn next(&mut self) -> Option<Result<Streamed, Error>> {
        loop {
            match self.phase {
                Phase::Done => return None,
                Phase::CatchUp { level } => {
                    if let Some(event) = self.pending.pop_front() {
                        if let Some(streamed) = self.deliver(event) {
                            return Some(Ok(streamed));
                        }
                        continue;
                    }
                    if level {
                        self.follow_from_now();
                        continue;
                    }
                    if let Err(err) = self.read_page().await {
                        self.phase = Phase::Done;
                        return Some(Err(err));
                    }
                }
                Phase::Follow => match self.follow().await {
                    Ok(Some(streamed)) => return Some(Ok(streamed)),
                    Ok(None) => {
                        // Lagged: rejoin first, then read the log from the cursor.
                        self.inner.metrics.stream_catch_ups.inc();
                        self.live = self.feed.events.subscribe();
                        self.phase = Phase::CatchUp { level: false };
                    }
                    Err(err) => {
                        self.phase = Phase::Done;
                        return Some(Err(err));
                    }
                },
            }
        }
    }

    /// read_page reads the log's next page after the cursor.
    async fn read_page(&mut self) -> Result<(), Error> {
        let page = self.inner.options.page;
        let events = self
            .inner
            .log
            .events_after(&self.tenant, self.cursor, page)
            .await?;
        // Read after the page: a prune that committed before the read
        // moved the horizon past the cursor, and the page has a hole.
        if self.cursor < self.inner.log.horizon().await? {
            return Err(cursor_expired());
        }
        self.phase = Phase::CatchUp {
            level: events.len() as u32 != page,
        };
        self.pending = events.into_iter().map(Delivered::new).collect();
        Ok(())
    }

    /// follow_from_now starts following the feed, the heartbeat's clock
    /// running from now.
    fn follow_from_now(&mut self) {
        // Checked four times a heartbeat: a quiet stream beats about every
        // heartbeat, a busy one never needs to.
        let check = (self.inner.options.heartbeat / 4).max(Duration::from_millis(10));
        self.beat = tokio::time::interval_at(Instant::now() + check, check);
        self.beat
            .set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        self.phase = Phase::Follow;
    }

    /// follow is the feed's next message for the client (or a heartbeat
    /// while it is quiet); `Ok(None)` when the stream lagged behind the
    /// feed.
    async fn follow(&mut self) -> Result<Option<Streamed>, Error> {
        let heartbeat = self.inner.options.heartbeat;
        loop {
            let received = tokio::select! {
                biased;
                _ = &mut self.stop => return Err(stopping()),
                received = self.live.recv() => received,
                _ = self.beat.tick() => {
                    if self.quiet_since.elapsed() < heartbeat {
                        continue;
                    }
                    let cursor = encode_cursor(&self.tenant, self.cursor);
                    return Ok(Some(self.sent(Streamed::Heartbeat { cursor })));
                }
            };
            match received {
                Ok(event) if event.event.position == EPHEMERAL => {
                    // Not in the log: sent as it comes, the cursor stays.
                    if self.filter.keeps(&event.event) {
                        let cursor = encode_cursor(&self.tenant, self.cursor);
                        return Ok(Some(self.sent(Streamed::Ephemeral { cursor, event })));
                    }
                }
                Ok(event) => {
                    if event.event.position > self.cursor
                        && let Some(streamed) = self.deliver(event)
                    {
                        return Ok(Some(streamed));
                    }
                }
                Err(broadcast::error::RecvError::Lagged(_)) => return Ok(None),
                Err(broadcast::error::RecvError::Closed) => return Err(stopping()),
            }
        }
    }

    /// deliver moves the cursor past a logged event and says what to send
    /// for it, if the filter keeps it.
    fn deliver(&mut self, event: Arc<Delivered>) -> Option<Streamed> {
        self.cursor = event.event.position;
        if !self.filter.keeps(&event.event) {
            return None;
        }
        Some(self.sent(Streamed::Logged(event)))
    }

    /// sent notes that the client is being sent `streamed`.
    fn sent(&mut self, streamed: Streamed) -> Streamed {
        self.quiet_since = Instant::now();
        streamed
    }
}

fn stopping() -> Error {
    Error::Unavailable("the gateway is stopping; resume from the last cursor".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_are_bound_to_their_tenant() {
        let acme = TenantId::parse("acme").unwrap();
        let globex = TenantId::parse("globex").unwrap();
        for position in [0, 1, 42, i64::MAX] {
            let cursor = encode_cursor(&acme, position);
            assert!(cursor.len() <= 128);
            assert_eq!(decode_cursor(&acme, &cursor).unwrap(), position);
            assert!(decode_cursor(&globex, &cursor).is_err());
        }
        let cursor = encode_cursor(&acme, 7);
        let mut mangled = cursor.clone().into_bytes();
        let last = mangled.len() - 1;
        mangled[last] = if mangled[last] == b'A' { b'B' } else { b'A' };
        for bad in [
            "",
            "c1.",
            "7",
            "c2.AAAAAAAAAAcAAAAAAAAAAAA",
            std::str::from_utf8(&mangled).unwrap(),
        ] {
            assert!(decode_cursor(&acme, bad).is_err(), "{bad:?}");
        }
    }
}
