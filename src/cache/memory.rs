//! MemoryCache: an in-process cache, bounded in entries.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use async_trait::async_trait;

use crate::domain::ports::{Cache, CacheError};

/// MemoryCacheOptions bounds a [`MemoryCache`].
#[derive(Debug, Clone)]
pub struct MemoryCacheOptions {
    /// Most entries held (counters included); at least 1. When full, a new key
    /// first evicts expired entries, then the oldest written ones.
    pub max_entries: usize,
}

impl Default for MemoryCacheOptions {
    fn default() -> Self {
        Self {
            max_entries: 100_000,
        }
    }
}

/// MemoryCache is a bounded in-process [`Cache`]. Every operation takes one
/// short-lived mutex (no await, no I/O inside), so it never blocks the runtime
/// for longer than a map update.
#[derive(Debug)]
pub struct MemoryCache {
    max_entries: usize,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    entries: HashMap<String, Entry>,
    /// Write order: sequence number → key; the first is the oldest write.
    by_write: BTreeMap<u64, String>,
    /// Expiry order: (deadline, sequence number) → key.
    by_expiry: BTreeMap<(Instant, u64), String>,
    next_seq: u64,
}

#[derive(Debug)]
struct Entry {
    value: Vec<u8>,
    expires_at: Option<Instant>,
    seq: u64,
}

impl MemoryCache {
    pub fn new(options: MemoryCacheOptions) -> Self {
        Self {
            max_entries: options.max_entries.max(1),
            state: Mutex::new(State::default()),
        }
    }

    /// len counts the entries held, expired ones not yet purged included.
    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave the maps half-updated in
        // a way that breaks later reads (worst case an index entry points at a
        // missing key, which every path tolerates), so poisoning is ignored.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl State {
    fn remove(&mut self, key: &str) -> Option<Entry> {
        let entry = self.entries.remove(key)?;
        self.by_write.remove(&entry.seq);
        if let Some(at) = entry.expires_at {
            self.by_expiry.remove(&(at, entry.seq));
        }
        Some(entry)
    }

    /// live returns the entry under `key` unless it has expired (then it is
    /// dropped).
    fn live(&mut self, key: &str, now: Instant) -> Option<&mut Entry> {
        let expired = self
            .entries
            .get(key)?
            .expires_at
            .is_some_and(|at| at <= now);
        if expired {
            self.remove(key);
            return None;
        }
        self.entries.get_mut(key)
    }

    fn purge_expired(&mut self, now: Instant) {
        while let Some((&(at, _), _)) = self.by_expiry.first_key_value() {
            if at > now {
                break;
            }
            let (_, key) = self.by_expiry.pop_first().expect("first entry exists");
            if let Some(entry) = self.entries.remove(&key) {
                self.by_write.remove(&entry.seq);
            }
        }
    }

    /// make_room frees a slot for a new key: expired entries go first, then
    /// the oldest writes.
    fn make_room(&mut self, max_entries: usize, now: Instant) {
        if self.entries.len() < max_entries {
            return;
        }
        self.purge_expired(now);
        while self.entries.len() >= max_entries {
            let Some((_, key)) = self.by_write.pop_first() else {
                break;
            };
            if let Some(entry) = self.entries.remove(&key)
                && let Some(at) = entry.expires_at
            {
                self.by_expiry.remove(&(at, entry.seq));
            }
        }
    }

    fn insert(&mut self, key: &str, value: Vec<u8>, expires_at: Option<Instant>) {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.by_write.insert(seq, key.to_owned());
        if let Some(at) = expires_at {
            self.by_expiry.insert((at, seq), key.to_owned());
        }
        self.entries.insert(
            key.to_owned(),
            Entry {
                value,
                expires_at,
                seq,
            },
        );
    }
}

#[async_trait]
impl Cache for MemoryCache {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, CacheError> {
        let mut state = self.lock();
        Ok(state
            .live(key, Instant::now())
            .map(|entry| entry.value.clone()))
    }

    async fn set(&self, key: &str, value: &[u8], ttl: Duration) -> Result<(), CacheError> {
        let now = Instant::now();
        let ttl = ttl.max(Duration::from_millis(1));
        let mut state = self.lock();
        if state.remove(key).is_none() {
            state.make_room(self.max_entries, now);
        }
        state.insert(key, value.to_vec(), Some(now + ttl));
        Ok(())
    }

    async fn delete(&self, keys: &[String]) -> Result<(), CacheError> {
        let mut state = self.lock();
        for key in keys {
            state.remove(key);
        }
        Ok(())
    }

    async fn incr(&self, key: &str) -> Result<u64, CacheError> {
        let now = Instant::now();
        let mut state = self.lock();
        // Counters are stored as decimal text, as Redis stores them, so both
        // backends agree on what `get` returns for a counter.
        let current = match state.live(key, now) {
            Some(entry) => std::str::from_utf8(&entry.value)
                .ok()
                .and_then(|text| text.parse::<u64>().ok())
                .ok_or_else(|| CacheError::Other(format!("value of {key} is not a counter")))?,
            None => 0,
        };
        let next = current
            .checked_add(1)
            .ok_or_else(|| CacheError::Other(format!("counter {key} overflows")))?;
        // Updating in place keeps the key's age: eviction is by first write.
        if let Some(entry) = state.live(key, now) {
            entry.value = next.to_string().into_bytes();
            return Ok(next);
        }
        state.make_room(self.max_entries, now);
        state.insert(key, next.to_string().into_bytes(), None);
        Ok(next)
    }

    async fn ping(&self) -> Result<(), CacheError> {
        Ok(())
    }
}
