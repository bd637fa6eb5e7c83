//! RedisCache: the shared cache, over a small fred connection pool.

use std::time::Duration;

use async_trait::async_trait;
use fred::prelude::{
    Builder, ClientLike, Config, Error as FredError, ErrorKind, KeysInterface, Pool,
    ReconnectPolicy, TcpConfig,
};
use fred::types::config::UnresponsiveConfig;
use fred::types::{Expiration, Value};

use crate::domain::ports::{Cache, CacheError};

/// RedisCacheOptions configures a [`RedisCache`]. The timeouts are short on
/// purpose: the cache is optional, and a caller is better served by falling
/// back to the database at once than by waiting on a Redis that is down.
#[derive(Debug, Clone)]
pub struct RedisCacheOptions {
    /// `redis://[user:password@]host:port[/db]`.
    pub url: String,
    /// Prepended to every key, so that a Redis shared with other services (or
    /// other test runs) is safe.
    pub key_prefix: String,
    /// Connections in the pool; commands are spread over them round-robin.
    pub pool_size: usize,
    /// How long one TCP connect (and handshake) may take.
    pub connect_timeout: Duration,
    /// How long one command may take, queueing during a reconnect included;
    /// past it the command fails `Unavailable`.
    pub command_timeout: Duration,
}

impl RedisCacheOptions {
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            key_prefix: "tezgram:".to_owned(),
            pool_size: 2,
            connect_timeout: Duration::from_secs(1),
            command_timeout: Duration::from_millis(1500),
        }
    }
}

/// RedisCache is the [`Cache`] shared by all gateway instances.
pub struct RedisCache {
    pool: Pool,
    key_prefix: String,
}

impl std::fmt::Debug for RedisCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may hold a password, so only the prefix is shown.
        f.debug_struct("RedisCache")
            .field("key_prefix", &self.key_prefix)
            .finish_non_exhaustive()
    }
}

impl RedisCache {
    /// connect builds the pool and starts connecting in the background. It
    /// waits up to `connect_timeout` for the first connection; if Redis is
    /// down, it still returns the cache (which keeps reconnecting and fails
    /// operations `Unavailable` until Redis is back) — the gateway serves from
    /// the database meanwhile. Only configuration errors (a bad URL) fail.
    pub async fn connect(options: RedisCacheOptions) -> Result<Self, CacheError> {
        let mut config = Config::from_url(&options.url)
            .map_err(|e| CacheError::Other(format!("invalid redis url: {}", e.details())))?;
        // Keep retrying a Redis that is down at start instead of failing the
        // whole gateway's start-up.
        config.fail_fast = false;

        let pool = Builder::from_config(config)
            .with_connection_config(|c| {
                c.connection_timeout = options.connect_timeout;
                c.internal_command_timeout = options.connect_timeout;
                // A command that loses its connection is retried once on the next one.
                c.max_command_attempts = 2;
                c.tcp = TcpConfig {
                    nodelay: Some(true),
                    ..TcpConfig::default()
                };
                // A connection that stops answering (e.g. a network partition
                // without a reset) is torn down and reconnected.
                c.unresponsive = UnresponsiveConfig {
                    max_timeout: Some(options.command_timeout * 2),
                    interval: Duration::from_millis(500),
                };
            })
            .with_performance_config(|p| {
                p.default_command_timeout = options.command_timeout;
            })
            // Retry forever, from 100 ms up to 2 s apart.
            .set_policy(ReconnectPolicy::new_exponential(0, 100, 2_000, 2))
            .build_pool(options.pool_size.max(1))
            .map_err(classify)?;

        // The connection tasks run until the pool is dropped or quits.
        let _connection_tasks = pool.connect();
        match tokio::time::timeout(options.connect_timeout, pool.wait_for_connect()).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                tracing::warn!(error = %e.details(), "redis not reachable yet, cache reads fall back to the database");
            }
            Err(_) => {
                tracing::warn!("redis not reachable yet, cache reads fall back to the database");
            }
        }
        Ok(Self {
            pool,
            key_prefix: options.key_prefix,
        })
    }

    fn key(&self, key: &str) -> String {
        format!("{}{key}", self.key_prefix)
    }
}

impl Drop for RedisCache {
    fn drop(&mut self) {
        // Stop the reconnect loops; `quit` needs a runtime, which is absent
        // when the cache outlives it (then the tasks are gone already).
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let pool = self.pool.clone();
            runtime.spawn(async move {
                let _ = pool.quit().await;
            });
        }
    }
}

/// classify sorts a fred error into the port's kinds where it is born: anything
/// that means "Redis could not be reached or did not answer in time" is
/// retryable `Unavailable`.
pub(super) fn classify(error: FredError) -> CacheError {
    let message = format!("{:?}: {}", error.kind(), error.details());
    match error.kind() {
        ErrorKind::IO
        | ErrorKind::Timeout
        | ErrorKind::Canceled
        | ErrorKind::Backpressure
        | ErrorKind::Routing
        | ErrorKind::Cluster
        | ErrorKind::Sentinel => CacheError::Unavailable(message),
        _ => CacheError::Other(message),
    }
}

#[async_trait]
impl Cache for RedisCache {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, CacheError> {
        let value: Value = self.pool.get(self.key(key)).await.map_err(classify)?;
        match value {
            Value::Null => Ok(None),
            other => other
                .into_owned_bytes()
                .map(Some)
                .ok_or_else(|| CacheError::Other(format!("value of {key} is not bytes"))),
        }
    }

    async fn set(&self, key: &str, value: &[u8], ttl: Duration) -> Result<(), CacheError> {
        let millis = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX).max(1);
        self.pool
            .set::<(), _, _>(
                self.key(key),
                value,
                Some(Expiration::PX(millis)),
                None,
                false,
            )
            .await
            .map_err(classify)
    }

    async fn delete(&self, keys: &[String]) -> Result<(), CacheError> {
        if keys.is_empty() {
            return Ok(());
        }
        let keys: Vec<String> = keys.iter().map(|k| self.key(k)).collect();
        self.pool.del::<i64, _>(keys).await.map_err(classify)?;
        Ok(())
    }

    async fn incr(&self, key: &str) -> Result<u64, CacheError> {
        let value: i64 = self.pool.incr(self.key(key)).await.map_err(classify)?;
        u64::try_from(value).map_err(|_| CacheError::Other(format!("counter {key} is negative")))
    }

    async fn ping(&self) -> Result<(), CacheError> {
        self.pool.ping::<()>(None).await.map_err(classify)
    }
}
