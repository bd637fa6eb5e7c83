//! Read-through caching that never serves stale data, even when the cache
//! evicts keys (a full in-process cache, Redis under `maxmemory`).
//!
//! Every cached resource (a family of copies: one account, later one chat's
//! message pages) has a *generation*: a random token kept under its own key.
//! Copies live under keys that embed the generation they were read under.
//! - A writer sets a fresh random generation *after* its database write.
//! - A reader reads the generation *before* the database; when there is
//!   none (never set, expired or evicted) it sets a fresh random one itself,
//!   still before reading the database.
//!
//! So a copy under generation `g` was always read from the database after
//! `g` was set, and a write after that read moves the family to a new token
//! that nobody ever used: a late copy (a reader racing a writer) or an old
//! one (its generation evicted) is never found again. Generations are random
//! rather than counters precisely so that losing one can never make a counter
//! start over at a value whose copies still exist.

use std::any::Any;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use rand::RngCore;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::cache::Bounded;
use crate::domain::Error;
use crate::domain::ports::Cache;

/// DECODED_BYTES bounds a process's decoded copies, weighed by their
/// encoded size.
const DECODED_BYTES: usize = 32 << 20;

/// Generations caches families of copies; cheap to clone (clones share the
/// decoded copies).
#[derive(Clone)]
pub struct Generations {
    cache: Arc<dyn Cache>,
    decoded: Arc<Bounded<Arc<dyn Any + Send + Sync>>>,
}

fn fresh_generation() -> String {
    let mut token = [0u8; 12];
    rand::rng().fill_bytes(&mut token);
    hex::encode(token)
}

/// generation_ttl outlives the copies it guards; when it runs out anyway,
/// the next reader starts a new generation, which is safe.
fn generation_ttl(ttl: Duration) -> Duration {
    ttl.saturating_mul(4)
}

impl Generations {
    pub fn new(cache: Arc<dyn Cache>) -> Self {
        Self {
            cache,
            decoded: Arc::new(Bounded::new(DECODED_BYTES)),
        }
    }

    /// current is the family's generation, started now when it has none.
    /// `None` when the cache cannot be used (the caller reads the database).
    async fn current(&self, generation_key: &str, ttl: Duration) -> Option<String> {
        match self.cache.get(generation_key).await {
            Ok(Some(bytes)) => match String::from_utf8(bytes) {
                Ok(generation) => return Some(generation),
                Err(_) => tracing::warn!(key = generation_key, "undecodable cache generation"),
            },
            Ok(None) => {}
            Err(err) => {
                tracing::warn!(error = %err, "cache read failed, reading the database");
                return None;
            }
        }
        let generation = fresh_generation();
        match self
            .cache
            .set(generation_key, generation.as_bytes(), generation_ttl(ttl))
            .await
        {
            Ok(()) => Some(generation),
            Err(err) => {
                tracing::warn!(error = %err, "cache write failed, reading the database");
                None
            }
        }
    }

    /// read_through returns the copy of `key` under the family's current
    /// generation, or `load`s it from the database and caches it for `ttl`.
    /// A cache failure is logged and the database answers: the cache is an
    /// accelerator, never a dependency.
    pub async fn read_through<T, F>(
        &self,
        generation_key: &str,
        key: &str,
        ttl: Duration,
        load: F,
    ) -> Result<T, Error>
    where
        T: Serialize + DeserializeOwned + Clone + Send + Sync + 'static,
        F: Future<Output = Result<T, Error>>,
    {
        let Some(generation) = self.current(generation_key, ttl).await else {
            return load.await;
        };
        let key = format!("{key}@{generation}");
        if let Some(value) = self
            .decoded
            .get(&key)
            .and_then(|copy| copy.downcast_ref::<T>().cloned())
        {
            return Ok(value);
        }
        match self.cache.get(&key).await {
            Ok(Some(bytes)) => match serde_json::from_slice::<T>(&bytes) {
                Ok(value) => {
                    self.remember(&key, &value, bytes.len(), ttl);
                    return Ok(value);
                }
                Err(err) => tracing::warn!(error = %err, "undecodable cached copy"),
            },
            Ok(None) => {}
            Err(err) => tracing::warn!(error = %err, "cache read failed, reading the database"),
        }
        let value = load.await?;
        let bytes = serde_json::to_vec(&value).expect("cached values serialize to json");
        if let Err(err) = self.cache.set(&key, &bytes, ttl).await {
            tracing::warn!(error = %err, "cache write failed");
        }
        self.remember(&key, &value, bytes.len(), ttl);
        Ok(value)
    }

    /// remember keeps a decoded copy in this process.
    fn remember<T: Clone + Send + Sync + 'static>(
        &self,
        key: &str,
        value: &T,
        size: usize,
        ttl: Duration,
    ) {
        self.decoded.set(key, Arc::new(value.clone()), size, ttl);
    }

    /// invalidate retires every copy of the family (call it after the
    /// database write). When the cache cannot be reached, the new
    /// generation is set again in the background until it can: readers meanwhile
    /// read the database (the cache fails for them too), and the old copies
    /// are retired as soon as the cache answers again.
    pub async fn invalidate(&self, generation_key: &str, ttl: Duration) {
        let generation = fresh_generation();
        let gen_ttl = generation_ttl(ttl);
        let Err(err) = self
            .cache
            .set(generation_key, generation.as_bytes(), gen_ttl)
            .await
        else {
            return;
        };
        tracing::warn!(key = generation_key, error = %err, "cache invalidation failed, retrying in the background");
        let (cache, key) = (self.cache.clone(), generation_key.to_owned());
        tokio::spawn(async move {
            let mut wait = Duration::from_millis(200);
            let mut waited = Duration::ZERO;
            // Past the copies' TTL there is nothing left to retire.
            while waited < ttl {
                tokio::time::sleep(wait).await;
                waited += wait;
                if cache
                    .set(&key, generation.as_bytes(), gen_ttl)
                    .await
                    .is_ok()
                {
                    return;
                }
                wait = (wait * 2).min(Duration::from_secs(2));
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::{MemoryCache, MemoryCacheOptions};
    use std::sync::atomic::{AtomicU64, Ordering};

    const TTL: Duration = Duration::from_secs(60);

    // The randomized "no stale read whatever the cache evicts" replay runs
    // on every cache backend in tests/it/cache.rs.

    #[tokio::test]
    async fn an_overfilled_cache_serves_no_stale_copy() {
        let cache = Arc::new(MemoryCache::new(MemoryCacheOptions { max_entries: 3 }));
        let generations = Generations::new(cache.clone());
        let db = Arc::new(AtomicU64::new(1));
        for round in 0..200u64 {
            let want = db.load(Ordering::SeqCst);
            let d = db.clone();
            let got = generations
                .read_through("g", "v", TTL, async move {
                    Ok::<_, Error>(d.load(Ordering::SeqCst))
                })
                .await
                .unwrap();
            assert_eq!(got, want, "round {round}");
            db.fetch_add(1, Ordering::SeqCst);
            generations.invalidate("g", TTL).await;
            for i in 0..(round % 4) {
                cache.set(&format!("filler{i}"), b"x", TTL).await.unwrap();
            }
        }
    }
}
