//! [`KeyedLocks`]: one async lock per key (an account), created on demand
//! and forgotten when nobody holds or waits for it.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::OwnedMutexGuard;

pub struct KeyedLocks<K> {
    locks: Mutex<HashMap<K, Arc<tokio::sync::Mutex<()>>>>,
}

impl<K: Eq + Hash + Clone> Default for KeyedLocks<K> {
    fn default() -> Self {
        Self {
            locks: Mutex::new(HashMap::new()),
        }
    }
}

impl<K: Eq + Hash + Clone> KeyedLocks<K> {
    fn entry(&self, key: &K) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self.locks.lock().expect("keyed locks");
        // An entry only the map holds is neither held nor awaited.
        locks.retain(|_, lock| Arc::strong_count(lock) > 1);
        locks.entry(key.clone()).or_default().clone()
    }

    /// lock waits at most `within` for the key's lock; `None` if it is still
    /// held by then.
    pub async fn lock(&self, key: &K, within: Duration) -> Option<OwnedMutexGuard<()>> {
        tokio::time::timeout(within, self.entry(key).lock_owned())
            .await
            .ok()
    }

    /// try_lock takes the key's lock only if it is free now.
    pub fn try_lock(&self, key: &K) -> Option<OwnedMutexGuard<()>> {
        self.entry(key).try_lock_owned().ok()
    }

    /// len counts the keys with a lock held or awaited (for tests).
    pub fn len(&self) -> usize {
        let mut locks = self.locks.lock().expect("keyed locks");
        locks.retain(|_, lock| Arc::strong_count(lock) > 1);
        locks.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn one_holder_per_key_and_nothing_kept_after() {
        let locks = KeyedLocks::<u32>::default();
        let held = locks.lock(&1, Duration::from_secs(1)).await.unwrap();
        assert!(locks.try_lock(&1).is_none());
        assert!(locks.try_lock(&2).is_some(), "other keys are independent");
        assert!(locks.lock(&1, Duration::from_millis(20)).await.is_none());
        drop(held);
        assert!(locks.try_lock(&1).is_some());
        assert!(locks.is_empty());
    }
}
