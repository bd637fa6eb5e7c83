//! The cache suite: one set of behaviours, run against every implementation of
//! the `Cache` port — the in-process cache always, Redis when
//! `TEZGRAM_TEST_REDIS_URL` is set (each cache gets its own key namespace, so
//! parallel tests and parallel runs sharing one Redis never collide).

use std::collections::HashSet;
use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use tezgram::cache::{MemoryCache, MemoryCacheOptions, RedisCache, RedisCacheOptions};
use tezgram::domain::ports::{Cache, CacheError};

const REDIS_ENV: &str = "TEZGRAM_TEST_REDIS_URL";

fn memory_cache() -> Option<Arc<dyn Cache>> {
    Some(Arc::new(MemoryCache::new(MemoryCacheOptions::default())))
}

async fn redis_cache() -> Option<Arc<dyn Cache>> {
    let Ok(url) = std::env::var(REDIS_ENV) else {
        eprintln!("{REDIS_ENV} not set: skipping the redis run of this test");
        return None;
    };
    let mut options = RedisCacheOptions::new(url);
    options.key_prefix = format!("tezgram-test:{}:", uuid::Uuid::new_v4().simple());
    let cache = RedisCache::connect(options)
        .await
        .expect("redis url is valid");
    cache.ping().await.expect("the test redis answers");
    Some(Arc::new(cache))
}

/// cache_suite! expands every behaviour test for one backend, given an async
/// expression that yields `Option<Arc<dyn Cache>>` (None: backend not configured).
macro_rules! cache_suite {
    ($backend:ident, $make:expr) => {
        mod $backend {
            use super::*;

            macro_rules! cache_test {
                ($name:ident, $flavor:literal) => {
                    #[tokio::test(flavor = $flavor)]
                    async fn $name() {
                        if let Some(cache) = $make {
                            super::$name(cache).await;
                        }
                    }
                };
            }

            cache_test!(get_of_missing_key_is_none, "current_thread");
            cache_test!(set_then_get_returns_the_same_bytes, "current_thread");
            cache_test!(entry_is_gone_after_its_ttl, "current_thread");
            cache_test!(set_overwrites_value_and_ttl, "current_thread");
            cache_test!(
                delete_removes_keys_and_ignores_missing_ones,
                "current_thread"
            );
            cache_test!(incr_counts_from_zero, "current_thread");
            cache_test!(concurrent_incr_hands_out_distinct_values, "multi_thread");
            cache_test!(ping_answers, "current_thread");
            cache_test!(
                no_read_after_a_write_is_stale_whatever_the_cache_evicts,
                "current_thread"
            );
        }
    };
}

cache_suite!(memory, memory_cache());
cache_suite!(redis, redis_cache().await);

async fn get_of_missing_key_is_none(cache: Arc<dyn Cache>) {
    assert_eq!(cache.get("chats:never-written").await.unwrap(), None);
}

async fn set_then_get_returns_the_same_bytes(cache: Arc<dyn Cache>) {
    // Every byte value, including NUL and invalid UTF-8.
    let value: Vec<u8> = (0..=255u8).chain([0, 0xff, 0xfe]).collect();
    cache
        .set("messages:page:1", &value, Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(cache.get("messages:page:1").await.unwrap(), Some(value));

    cache
        .set("empty", b"", Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(cache.get("empty").await.unwrap(), Some(Vec::new()));
}

async fn entry_is_gone_after_its_ttl(cache: Arc<dyn Cache>) {
    cache
        .set("short", b"soon gone", Duration::from_millis(200))
        .await
        .unwrap();
    cache
        .set("long", b"still here", Duration::from_secs(60))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(
        cache.get("short").await.unwrap(),
        None,
        "expired entry is served"
    );
    assert_eq!(
        cache.get("long").await.unwrap(),
        Some(b"still here".to_vec())
    );
}

async fn set_overwrites_value_and_ttl(cache: Arc<dyn Cache>) {
    cache
        .set("chat:7", b"old", Duration::from_secs(60))
        .await
        .unwrap();
    cache
        .set("chat:7", b"new", Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(cache.get("chat:7").await.unwrap(), Some(b"new".to_vec()));

    // The last write's TTL wins.
    cache
        .set("chat:7", b"newest", Duration::from_millis(200))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(cache.get("chat:7").await.unwrap(), None);
}

async fn delete_removes_keys_and_ignores_missing_ones(cache: Arc<dyn Cache>) {
    for key in ["a", "b", "c"] {
        cache
            .set(key, key.as_bytes(), Duration::from_secs(60))
            .await
            .unwrap();
    }
    cache
        .delete(&["a".to_owned(), "missing".to_owned(), "c".to_owned()])
        .await
        .unwrap();
    assert_eq!(cache.get("a").await.unwrap(), None);
    assert_eq!(cache.get("b").await.unwrap(), Some(b"b".to_vec()));
    assert_eq!(cache.get("c").await.unwrap(), None);

    cache.delete(&[]).await.unwrap();
    cache.delete(&["missing".to_owned()]).await.unwrap();
}

async fn incr_counts_from_zero(cache: Arc<dyn Cache>) {
    assert_eq!(cache.incr("gen:chats").await.unwrap(), 1);
    assert_eq!(cache.incr("gen:chats").await.unwrap(), 2);
    assert_eq!(cache.incr("gen:other").await.unwrap(), 1);
    // A counter reads back as its decimal text, on every backend.
    assert_eq!(cache.get("gen:chats").await.unwrap(), Some(b"2".to_vec()));

    cache.delete(&["gen:chats".to_owned()]).await.unwrap();
    assert_eq!(
        cache.incr("gen:chats").await.unwrap(),
        1,
        "deleted counter restarts"
    );
}

async fn concurrent_incr_hands_out_distinct_values(cache: Arc<dyn Cache>) {
    const TASKS: u64 = 16;
    const PER_TASK: u64 = 25;
    let tasks: Vec<_> = (0..TASKS)
        .map(|_| {
            let cache = cache.clone();
            tokio::spawn(async move {
                let mut seen = Vec::new();
                for _ in 0..PER_TASK {
                    seen.push(cache.incr("gen:shared").await.unwrap());
                }
                seen
            })
        })
        .collect();
    let mut values = HashSet::new();
    for task in tasks {
        for value in task.await.unwrap() {
            assert!(values.insert(value), "value {value} handed out twice");
        }
    }
    let expected: HashSet<u64> = (1..=TASKS * PER_TASK).collect();
    assert_eq!(values, expected);
}

async fn ping_answers(cache: Arc<dyn Cache>) {
    cache.ping().await.unwrap();
}

#[tokio::test]
async fn memory_cache_evicts_expired_entries_first_then_the_oldest() {
    let cache = MemoryCache::new(MemoryCacheOptions { max_entries: 3 });
    let long = Duration::from_secs(60);
    cache.set("oldest", b"1", long).await.unwrap();
    cache
        .set("expiring", b"2", Duration::from_millis(50))
        .await
        .unwrap();
    cache.set("newer", b"3", long).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;

    // Full: the expired entry makes room, the oldest live one stays.
    cache.set("fourth", b"4", long).await.unwrap();
    assert_eq!(cache.len(), 3);
    assert_eq!(cache.get("oldest").await.unwrap(), Some(b"1".to_vec()));

    // Full with nothing expired: the oldest write goes.
    cache.set("fifth", b"5", long).await.unwrap();
    assert_eq!(cache.len(), 3);
    assert_eq!(cache.get("oldest").await.unwrap(), None);
    for key in ["newer", "fourth", "fifth"] {
        assert!(cache.get(key).await.unwrap().is_some(), "{key} was evicted");
    }

    // Overwriting a held key never evicts another.
    cache.set("newer", b"3b", long).await.unwrap();
    assert_eq!(cache.len(), 3);
    assert!(cache.get("fourth").await.unwrap().is_some());

    // Counters count toward the bound too.
    assert_eq!(cache.incr("gen").await.unwrap(), 1);
    assert_eq!(cache.len(), 3);
}

/// A loopback port with nothing listening on it.
fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    port
}

#[tokio::test]
async fn redis_down_fails_fast_with_unavailable() {
    let url = format!("redis://127.0.0.1:{}", closed_port());
    let outcome = tokio::time::timeout(Duration::from_secs(10), async {
        // Starting without Redis is allowed: reads fall back to the database.
        let cache = RedisCache::connect(RedisCacheOptions::new(url))
            .await
            .expect("a down redis does not fail start-up");
        let get = cache.get("chat:1").await;
        let set = cache.set("chat:1", b"x", Duration::from_secs(1)).await;
        let incr = cache.incr("gen:chats").await;
        (get, set, incr)
    })
    .await
    .expect("cache calls against a down redis must not hang");
    let (get, set, incr) = outcome;
    assert!(
        matches!(get, Err(CacheError::Unavailable(_))),
        "get: {get:?}"
    );
    assert!(
        matches!(set, Err(CacheError::Unavailable(_))),
        "set: {set:?}"
    );
    assert!(
        matches!(incr, Err(CacheError::Unavailable(_))),
        "incr: {incr:?}"
    );
}

#[tokio::test]
async fn redis_url_that_does_not_parse_is_rejected() {
    let error = RedisCache::connect(RedisCacheOptions::new("not a url"))
        .await
        .expect_err("a malformed url is a configuration error");
    assert!(matches!(error, CacheError::Other(_)), "{error:?}");
}

#[tokio::test]
async fn connect_picks_the_in_process_cache_without_a_url() {
    let cache = tezgram::cache::connect(None, "tezgram:").await.unwrap();
    cache.set("k", b"v", Duration::from_secs(5)).await.unwrap();
    assert_eq!(cache.get("k").await.unwrap(), Some(b"v".to_vec()));
}

/// Replays random reads, writes, reads racing a write, and evictions of the
/// generation key (what a full cache or Redis `maxmemory` does) through the
/// gateway's generational read-through cache, and checks that every read
/// started after the last write sees it.
async fn no_read_after_a_write_is_stale_whatever_the_cache_evicts(cache: Arc<dyn Cache>) {
    use rand::{Rng, SeedableRng};
    use std::sync::atomic::{AtomicU64, Ordering};
    use tezgram::domain::Error;
    use tezgram::service::cached::Generations;

    const TTL: Duration = Duration::from_secs(60);
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let generations = Generations::new(cache.clone());
    let db = Arc::new(AtomicU64::new(0));
    for step in 0..2_000 {
        match rng.random_range(0..4) {
            // A write: database first, then a new generation.
            0 => {
                db.fetch_add(1, Ordering::SeqCst);
                generations.invalidate("g", TTL).await;
            }
            // A read racing a write: it reads the old row, the write lands,
            // then the read caches what it saw.
            1 => {
                let (db, racing) = (db.clone(), generations.clone());
                generations
                    .read_through("g", "v", TTL, async move {
                        let seen = db.load(Ordering::SeqCst);
                        db.fetch_add(1, Ordering::SeqCst);
                        racing.invalidate("g", TTL).await;
                        Ok::<_, Error>(seen)
                    })
                    .await
                    .unwrap();
            }
            // The cache evicts the generation (never the copies).
            2 => cache.delete(&["g".to_owned()]).await.unwrap(),
            _ => {
                let want = db.load(Ordering::SeqCst);
                let db = db.clone();
                let got = generations
                    .read_through("g", "v", TTL, async move {
                        Ok::<_, Error>(db.load(Ordering::SeqCst))
                    })
                    .await
                    .unwrap();
                assert_eq!(got, want, "stale read at step {step}");
            }
        }
    }
}
