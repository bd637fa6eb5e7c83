//! Cache: the byte cache behind the domain's [`Cache`] port.
//!
//! Two implementations: [`RedisCache`] (fred over a small connection pool,
//! shared by all gateway instances) and [`MemoryCache`] (in-process, bounded,
//! for single-instance and embedded setups). Callers treat the cache as
//! optional: every failure is a [`CacheError`], `Unavailable` when the backend
//! cannot be reached in time, and reads fall back to the database.
//!
//! This is the only module that knows fred.

mod memory;
mod redis;

use std::sync::Arc;

pub(crate) use memory::Bounded;
pub use memory::{MemoryCache, MemoryCacheOptions};
pub use redis::{RedisCache, RedisCacheOptions};

use crate::domain::ports::{Cache, CacheError};

/// connect returns the Redis cache when `redis_url` is given, else an
/// in-process cache with default bounds.
///
/// A Redis that is down at start is not an error (the client keeps
/// reconnecting and operations fail `Unavailable` meanwhile); a malformed URL is.
pub async fn connect(redis_url: Option<&str>) -> Result<Arc<dyn Cache>, CacheError> {
    match redis_url {
        Some(url) => {
            let cache = RedisCache::connect(RedisCacheOptions::new(url)).await?;
            Ok(Arc::new(cache))
        }
        None => Ok(Arc::new(MemoryCache::new(MemoryCacheOptions::default()))),
    }
}
