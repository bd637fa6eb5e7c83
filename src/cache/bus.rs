//! RedisBus: "a tenant's event log has news", between gateway processes,
//! over Redis pub/sub.
//!
//! Pub/sub is at most once: a notice published while Redis is down, or
//! while this process reconnects, is gone, and a listener that falls
//! behind fred's buffer loses notices too. Each of those is reported as
//! [`Notice::Missed`], after which listeners read every log they follow
//! (the `events` table is the source of truth; notices only save reads).
//!
//! Two fred clients: one publishes, a `SubscriberClient` listens. Fred
//! reconnects both by itself (forever, backing off up to 2 s); the
//! subscriber's channel is re-subscribed by the bus's own task on every
//! reconnect, and only then is `Missed` reported, so nothing published
//! after the report is lost.

use std::time::Duration;

use async_trait::async_trait;
use fred::clients::SubscriberClient;
use fred::prelude::{
    Builder, Client, ClientLike, Config, EventInterface, PubsubInterface, ReconnectPolicy,
    TcpConfig,
};
use tokio::sync::broadcast;

use super::redis::classify;
use crate::domain::TenantId;
use crate::domain::event::NewEvent;
use crate::domain::ports::{CacheError, EventBus, Notice};

/// NOTICE_BACKLOG is how many notices a listener may fall behind before it
/// is told it missed some.
const NOTICE_BACKLOG: usize = 1024;

pub struct RedisBus {
    publisher: Client,
    subscriber: SubscriberClient,
    channel: String,
    /// This process's id: its own notices are not told back to it.
    instance: String,
    notices: broadcast::Sender<Notice>,
}

impl std::fmt::Debug for RedisBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may hold a password.
        f.debug_struct("RedisBus")
            .field("channel", &self.channel)
            .finish_non_exhaustive()
    }
}

impl RedisBus {
    /// connect starts both clients and the listening task. Like the cache,
    /// a Redis that is down at start is no error: the clients keep
    /// reconnecting, notices are lost meanwhile (and reported missed).
    pub async fn connect(
        url: &str,
        key_prefix: &str,
        connect_timeout: Duration,
    ) -> Result<std::sync::Arc<Self>, CacheError> {
        let mut config = Config::from_url(url)
            .map_err(|e| CacheError::Other(format!("invalid redis url: {}", e.details())))?;
        config.fail_fast = false;
        let mut builder = Builder::from_config(config);
        builder
            .with_connection_config(|c| {
                c.connection_timeout = connect_timeout;
                c.internal_command_timeout = connect_timeout;
                c.tcp = TcpConfig {
                    nodelay: Some(true),
                    ..TcpConfig::default()
                };
            })
            .with_performance_config(|p| {
                p.default_command_timeout = connect_timeout;
            })
            .set_policy(ReconnectPolicy::new_exponential(0, 100, 2_000, 2));
        let publisher = builder.build().map_err(classify)?;
        let subscriber = builder.build_subscriber_client().map_err(classify)?;
        // The connection tasks run until the clients quit.
        let _publishing = publisher.connect();
        let _listening = subscriber.connect();
        let publishing = tokio::time::timeout(connect_timeout, publisher.wait_for_connect()).await;
        let listening = tokio::time::timeout(connect_timeout, subscriber.wait_for_connect()).await;
        if !matches!((publishing, listening), (Ok(Ok(())), Ok(Ok(())))) {
            tracing::warn!(
                "redis not reachable yet: events cross processes by polling until it is"
            );
        }
        let bus = std::sync::Arc::new(RedisBus {
            publisher,
            subscriber,
            channel: format!("{key_prefix}events"),
            instance: uuid::Uuid::new_v4().simple().to_string(),
            notices: broadcast::channel(NOTICE_BACKLOG).0,
        });
        tokio::spawn(listen(std::sync::Arc::downgrade(&bus)));
        Ok(bus)
    }

    /// parse reads a message of another process: `<instance> N <tenant>`
    /// (news) or `<instance> E <event as JSON>` (an ephemeral event).
    fn parse(&self, value: &str) -> Option<Notice> {
        let (instance, rest) = value.split_once(' ')?;
        if instance == self.instance {
            return None;
        }
        match rest.split_once(' ')? {
            ("N", tenant) => TenantId::parse(tenant).map(Notice::News),
            ("E", event) => {
                let event: NewEvent = serde_json::from_str(event).ok()?;
                // A tenant id that does not parse is not ours to stream.
                TenantId::parse(event.tenant.as_str())?;
                Some(Notice::Ephemeral(event))
            }
            _ => None,
        }
    }
}

/// listen turns fred's messages and reconnections into notices until the
/// bus is dropped.
async fn listen(bus: std::sync::Weak<RedisBus>) {
    let (mut messages, mut reconnects) = match bus.upgrade() {
        Some(bus) => {
            subscribe(&bus).await;
            (bus.subscriber.message_rx(), bus.subscriber.reconnect_rx())
        }
        None => return,
    };
    loop {
        tokio::select! {
            message = messages.recv() => {
                let Some(bus) = bus.upgrade() else { return };
                match message {
                    Ok(message) => {
                        if let Some(notice) = message.value.as_string().and_then(|v| bus.parse(&v)) {
                            let _ = bus.notices.send(notice);
                        }
                    }
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        let _ = bus.notices.send(Notice::Missed);
                    }
                    Err(broadcast::error::RecvError::Closed) => return,
                }
            }
            reconnected = reconnects.recv() => {
                let Some(bus) = bus.upgrade() else { return };
                match reconnected {
                    Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {
                        subscribe(&bus).await;
                        let _ = bus.notices.send(Notice::Missed);
                    }
                    Err(broadcast::error::RecvError::Closed) => return,
                }
            }
            _ = tokio::time::sleep(Duration::from_secs(5)) => {
                if bus.strong_count() == 0 {
                    return;
                }
            }
        }
    }
}

/// subscribe (re-)subscribes the bus's channel, retrying until Redis
/// takes it.
async fn subscribe(bus: &RedisBus) {
    let mut wait = Duration::from_millis(100);
    loop {
        match bus.subscriber.subscribe(bus.channel.clone()).await {
            Ok(()) => return,
            Err(err) => {
                tracing::debug!(error = %err.details(), "subscribing to the event bus failed, retrying");
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(Duration::from_secs(2));
            }
        }
    }
}

impl Drop for RedisBus {
    fn drop(&mut self) {
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let (publisher, subscriber) = (self.publisher.clone(), self.subscriber.clone());
            runtime.spawn(async move {
                let _ = publisher.quit().await;
                let _ = subscriber.quit().await;
            });
        }
    }
}

#[async_trait]
impl EventBus for RedisBus {
    async fn publish(&self, tenant: &TenantId) -> Result<(), CacheError> {
        self.publisher
            .publish::<(), _, _>(
                self.channel.clone(),
                format!("{} N {tenant}", self.instance),
            )
            .await
            .map_err(classify)
    }

    async fn publish_ephemeral(&self, event: &NewEvent) -> Result<(), CacheError> {
        let event = serde_json::to_string(event).expect("events serialize");
        self.publisher
            .publish::<(), _, _>(self.channel.clone(), format!("{} E {event}", self.instance))
            .await
            .map_err(classify)
    }

    fn notices(&self) -> broadcast::Receiver<Notice> {
        self.notices.subscribe()
    }
}
