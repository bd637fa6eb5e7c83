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
    entries: Bounded<Vec<u8>>,
}

impl MemoryCache {
    pub fn new(options: MemoryCacheOptions) -> Self {
        Self {
            entries: Bounded::new(options.max_entries),
        }
    }

    /// len counts the entries held, expired ones not yet purged included.
    pub fn len(&self) -> usize {
        self.entries.lock().entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Bounded is an in-process map whose entries expire and whose total weight
/// is bounded: when a new entry does not fit, expired entries go first, then
/// the oldest written ones. The [`MemoryCache`] weighs every entry 1 (a
/// bound in entries); the read-through cache's decoded copies weigh their
/// encoded size (a bound in bytes).
#[derive(Debug)]
pub(crate) struct Bounded<V> {
    max_weight: usize,
    state: Mutex<State<V>>,
}

#[derive(Debug)]
struct State<V> {
    entries: HashMap<String, Entry<V>>,
    /// Write order: sequence number → key; the first is the oldest write.
    by_write: BTreeMap<u64, String>,
    /// Expiry order: (deadline, sequence number) → key.
    by_expiry: BTreeMap<(Instant, u64), String>,
    next_seq: u64,
    weight: usize,
}

#[derive(Debug)]
struct Entry<V> {
    value: V,
    expires_at: Option<Instant>,
    seq: u64,
    weight: usize,
}

impl<V: Clone> Bounded<V> {
    /// new holds at most `max_weight` (at least 1) in total.
    pub(crate) fn new(max_weight: usize) -> Self {
        Self {
            max_weight: max_weight.max(1),
            state: Mutex::new(State {
                entries: HashMap::new(),
                by_write: BTreeMap::new(),
                by_expiry: BTreeMap::new(),
                next_seq: 0,
                weight: 0,
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State<V>> {
        // A panic while holding the lock cannot leave the maps half-updated in
        // a way that breaks later reads (worst case an index entry points at a
        // missing key, which every path tolerates), so poisoning is ignored.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// get is a copy of the live value under `key`.
    pub(crate) fn get(&self, key: &str) -> Option<V> {
        self.lock()
            .live(key, Instant::now())
            .map(|entry| entry.value.clone())
    }

    /// set stores `value` under `key` for `ttl` (at least 1 ms); a value
    /// heavier than the whole bound is not kept.
    pub(crate) fn set(&self, key: &str, value: V, weight: usize, ttl: Duration) {
        if weight > self.max_weight {
            self.remove(key);
            return;
        }
        let now = Instant::now();
        let ttl = ttl.max(Duration::from_millis(1));
        let mut state = self.lock();
        state.remove(key);
        state.make_room(self.max_weight, weight, now);
        state.insert(key, value, weight, Some(now + ttl));
    }

    pub(crate) fn remove(&self, key: &str) {
        self.lock().remove(key);
    }
}

impl<V> State<V> {
    fn remove(&mut self, key: &str) -> Option<Entry<V>> {
        let entry = self.entries.remove(key)?;
        self.forget(&entry);
        Some(entry)
    }

    /// forget drops a removed entry from the indexes (one it was already
    /// popped from is left as it is) and from the weight.
    fn forget(&mut self, entry: &Entry<V>) {
        self.weight -= entry.weight;
        self.by_write.remove(&entry.seq);
        if let Some(at) = entry.expires_at {
            self.by_expiry.remove(&(at, entry.seq));
        }
    }

    /// live returns the entry under `key` unless it has expired (then it is
    /// dropped).
    fn live(&mut self, key: &str, now: Instant) -> Option<&mut Entry<V>> {
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
                self.forget(&entry);
            }
        }
    }

    /// make_room frees `weight` for a new entry: expired entries go first,
    /// then the oldest writes.
    fn make_room(&mut self, max_weight: usize, weight: usize, now: Instant) {
        if self.weight + weight <= max_weight {
            return;
        }
        self.purge_expired(now);
        while self.weight + weight > max_weight {
            let Some((_, key)) = self.by_write.pop_first() else {
                break;
            };
            if let Some(entry) = self.entries.remove(&key) {
                self.forget(&entry);
            }
        }
    }

    fn insert(&mut self, key: &str, value: V, weight: usize, expires_at: Option<Instant>) {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.by_write.insert(seq, key.to_owned());
        if let Some(at) = expires_at {
            self.by_expiry.insert((at, seq), key.to_owned());
        }
        self.weight += weight;
        self.entries.insert(
            key.to_owned(),
            Entry {
                value,
                expires_at,
                seq,
                weight,
            },
        );
    }
}

#[async_trait]
impl Cache for MemoryCache {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, CacheError> {
        Ok(self.entries.get(key))
    }

    async fn set(&self, key: &str, value: &[u8], ttl: Duration) -> Result<(), CacheError> {
        self.entries.set(key, value.to_vec(), 1, ttl);
        Ok(())
    }

    async fn delete(&self, keys: &[String]) -> Result<(), CacheError> {
        let mut state = self.entries.lock();
        for key in keys {
            state.remove(key);
        }
        Ok(())
    }

    async fn incr(&self, key: &str) -> Result<u64, CacheError> {
        let now = Instant::now();
        let mut state = self.entries.lock();
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
        state.make_room(self.entries.max_weight, 1, now);
        state.insert(key, next.to_string().into_bytes(), 1, None);
        Ok(next)
    }

    async fn ping(&self) -> Result<(), CacheError> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TTL: Duration = Duration::from_secs(60);

    #[test]
    fn a_bound_in_weight_evicts_the_oldest_writes_until_a_new_entry_fits() {
        let bounded = Bounded::new(10);
        bounded.set("a", 'a', 4, TTL);
        bounded.set("b", 'b', 4, TTL);
        bounded.set("c", 'c', 4, TTL);
        assert_eq!(bounded.get("a"), None, "the oldest write made room");
        assert_eq!((bounded.get("b"), bounded.get("c")), (Some('b'), Some('c')));
        // Rewriting a key gives back its old weight first.
        bounded.set("c", 'C', 6, TTL);
        assert_eq!((bounded.get("b"), bounded.get("c")), (Some('b'), Some('C')));
        assert_eq!(bounded.lock().weight, 10);
        // Heavier than the whole bound: not kept, and the old value is gone.
        bounded.set("b", 'B', 11, TTL);
        assert_eq!((bounded.get("b"), bounded.get("c")), (None, Some('C')));
        assert_eq!(bounded.lock().weight, 6);
    }

    #[test]
    fn expired_entries_are_not_served_and_go_first() {
        let bounded = Bounded::new(2);
        bounded.set("old", 1, 1, Duration::from_millis(1));
        bounded.set("kept", 2, 1, TTL);
        std::thread::sleep(Duration::from_millis(5));
        assert_eq!(bounded.get("old"), None);
        bounded.set("new", 3, 1, TTL);
        assert_eq!(
            (bounded.get("kept"), bounded.get("new")),
            (Some(2), Some(3))
        );
    }
}
