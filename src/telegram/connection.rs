//! One account's live MTProto connection: a grammers sender pool over the
//! account's [`StoredSession`], its runner task, and its updates channel.

use std::num::NonZeroUsize;
use std::ops::ControlFlow;
use std::sync::Arc;
use std::time::Duration;

use grammers_client::Client;
use grammers_mtsender::{ConnectionParams, InvocationError, RetryContext, RetryPolicy, SenderPool};
use grammers_session::updates::UpdatesLike;
use grammers_tl_types::RemoteCall;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::{Error, StoredSession};

/// UPDATES_CAPACITY is the pool's updates channel; grammers drops updates
/// when it is full, so the supervisor drains it continuously.
const UPDATES_CAPACITY: usize = 1024;

/// TransientRetries retries a call that failed on the connection (I/O,
/// transport) a couple of times with a short pause, and never sleeps through
/// FLOOD_WAIT: interactive callers get RESOURCE_EXHAUSTED with RetryInfo, and
/// the outbox paces sends itself.
struct TransientRetries;

impl RetryPolicy for TransientRetries {
    fn should_retry(&self, ctx: &RetryContext) -> ControlFlow<(), Duration> {
        let transient = matches!(
            ctx.error,
            InvocationError::Io(_) | InvocationError::Transport(_) | InvocationError::Dropped(_)
        );
        if transient && ctx.fail_count.get() <= 2 {
            ControlFlow::Continue(Duration::from_millis(200 * u64::from(ctx.fail_count.get())))
        } else {
            ControlFlow::Break(())
        }
    }
}

/// Link is a handle on a live connection: a client, its session and its
/// call deadline. Cheap to clone; the connection lives while its
/// [`Connection`] does (a link to a closed connection fails its calls).
/// Every call through [`Link::invoke`] (or [`Link::bounded`]) has a
/// deadline: a Telegram that stops answering costs a caller at most
/// `call_timeout`, never a hang.
#[derive(Clone)]
pub struct Link {
    pub client: Client,
    call_timeout: Duration,
    session: Arc<StoredSession>,
}

impl Link {
    /// invoke makes one raw call, within the call deadline.
    pub async fn invoke<R: RemoteCall>(&self, request: &R) -> Result<R::Return, Error> {
        self.bounded(async { Ok(self.client.invoke(request).await?) })
            .await
    }

    /// bounded runs a sequence of calls (an iterator over dialogs, say)
    /// within the call deadline.
    pub async fn bounded<T>(
        &self,
        calls: impl Future<Output = Result<T, Error>>,
    ) -> Result<T, Error> {
        tokio::time::timeout(self.call_timeout, calls)
            .await
            .unwrap_or_else(|_| {
                Err(Error::Unavailable(format!(
                    "no answer within {}s",
                    self.call_timeout.as_secs_f32()
                )))
            })
    }

    /// session is the account's session this connection runs on.
    pub fn session(&self) -> &Arc<StoredSession> {
        &self.session
    }
}

/// Connection is a live client for one account. Dropping it quits the pool.
pub struct Connection {
    link: Link,
    updates: Option<mpsc::Receiver<UpdatesLike>>,
    runner: Option<JoinHandle<()>>,
    /// The account's connection gate, held while this connection lives
    /// (see `Telegram::connect`); released when it is closed or dropped.
    gate: Option<tokio::sync::OwnedMutexGuard<()>>,
}

impl std::ops::Deref for Connection {
    type Target = Link;

    fn deref(&self) -> &Link {
        &self.link
    }
}

impl Connection {
    /// open starts the sender pool; it connects on the first call.
    pub fn open(session: Arc<StoredSession>, api_id: i32, call_timeout: Duration) -> Connection {
        let params = ConnectionParams {
            device_model: "tezgram".to_owned(),
            system_version: std::env::consts::OS.to_owned(),
            app_version: env!("CARGO_PKG_VERSION").to_owned(),
            retry_policy: Box::new(TransientRetries),
            updates_channel_capacity: NonZeroUsize::new(UPDATES_CAPACITY).expect("non-zero"),
            ..ConnectionParams::default()
        };
        let pool = SenderPool::with_configuration(session.clone(), api_id, params);
        let runner = tokio::spawn(pool.runner.run());
        Connection {
            link: Link {
                client: Client::new(pool.handle),
                call_timeout,
                session,
            },
            updates: Some(pool.updates),
            runner: Some(runner),
            gate: None,
        }
    }

    /// link is a handle others may call through while this connection lives.
    pub fn link(&self) -> Link {
        self.link.clone()
    }

    /// take_updates hands the updates channel to whoever drains it (once).
    pub fn take_updates(&mut self) -> Option<mpsc::Receiver<UpdatesLike>> {
        self.updates.take()
    }

    /// close quits the pool and waits (briefly) for its runner to end.
    /// gated keeps the account's connection gate until this connection is
    /// closed.
    pub(super) fn gated(mut self, gate: tokio::sync::OwnedMutexGuard<()>) -> Connection {
        self.gate = Some(gate);
        self
    }

    pub async fn close(mut self) {
        self.link.client.disconnect();
        if let Some(runner) = self.runner.take()
            && tokio::time::timeout(Duration::from_secs(5), runner)
                .await
                .is_err()
        {
            tracing::warn!("telegram connection did not close within 5s");
        }
        // Only now may another connection of the account open.
        self.gate.take();
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.link.client.disconnect();
        if let Some(runner) = self.runner.take() {
            runner.abort();
        }
    }
}
