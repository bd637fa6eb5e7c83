//! Cache: the byte cache behind the domain's [`Cache`] port.
//!
//! The event bus between processes is [`RedisBus`] (pub/sub).
//!
//! Two cache implementations: [`RedisCache`] (fred over a small connection pool,
//! shared by all gateway instances) and [`MemoryCache`] (in-process, bounded,
//! for single-instance and embedded setups). Callers treat the cache as
//! optional: every failure is a [`CacheError`], `Unavailable` when the backend
//! cannot be reached in time, and reads fall back to the database.
//!
//! This is the only module that knows fred.

mod bus;
mod memory;
mod redis;

use std::sync::Arc;

pub use bus::RedisBus;
pub(crate) use memory::Bounded;
pub use memory::{MemoryCache, MemoryCacheOptions};
pub use redis::{RedisCache, RedisCacheOptions};

use crate::domain::ports::{Cache, CacheError, EventBus};

/// connect returns the Redis cache when `redis_url` is given, else an
/// in-process cache with default bounds.
///
/// A Redis that is down at start is not an error (the client keeps
/// reconnecting and operations fail `Unavailable` meanwhile); a malformed URL is.
pub async fn connect(
    redis_url: Option<&str>,
    key_prefix: &str,
) -> Result<Arc<dyn Cache>, CacheError> {
    match redis_url {
        Some(url) => {
            let options = RedisCacheOptions {
                key_prefix: key_prefix.to_owned(),
                ..RedisCacheOptions::new(url)
            };
            let cache = RedisCache::connect(options).await?;
            Ok(Arc::new(cache))
        }
        None => Ok(Arc::new(MemoryCache::new(MemoryCacheOptions::default()))),
    }
}

/// bus returns the Redis event bus when `redis_url` is given: without
/// Redis, processes learn of each other's events by polling the log.
pub async fn bus(
    redis_url: Option<&str>,
    key_prefix: &str,
) -> Result<Option<Arc<dyn EventBus>>, CacheError> {
    match redis_url {
        Some(url) => {
            let options = RedisCacheOptions::new(url);
            let bus = RedisBus::connect(url, key_prefix, options.connect_timeout).await?;
            Ok(Some(bus))
        }
        None => Ok(None),
    }
}
