//! The event log on whichever backend `TestDb` provides: positions commit
//! in order, so a reader following the log by position sees every event
//! once while many writers append at once; pruning moves the horizon and
//! never hands a position out again.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::Utc;
use tezgram::domain::TenantId;
use tezgram::domain::event::{EventPayload, NewEvent};
use tezgram::domain::ports::EventLog;
use tezgram::storage::Store;

use crate::db::TestDb;

const WRITERS: i64 = 12;
const EACH: i64 = 120;

fn marker(tenant: &TenantId, writer: i64, n: i64) -> NewEvent {
    NewEvent {
        tenant: tenant.clone(),
        account: None,
        payload: EventPayload::MessageDeleted {
            chat_id: writer,
            message_ids: vec![n],
        },
    }
}

fn mark_of(payload: &EventPayload) -> (i64, i64) {
    match payload {
        EventPayload::MessageDeleted {
            chat_id,
            message_ids,
        } => (*chat_id, message_ids[0]),
        other => panic!("not a marker: {other:?}"),
    }
}

#[tokio::test]
async fn a_reader_following_the_log_sees_every_event_of_concurrent_writers_once_in_order() {
    let db = TestDb::fresh().await;
    let store = Store::connect(&db.url).await.unwrap();
    store.migrate().await.unwrap();
    let tenant = TenantId::parse("acme").unwrap();
    let done = Arc::new(AtomicUsize::new(0));

    let mut writers = Vec::new();
    for writer in 0..WRITERS {
        let (store, tenant, done) = (store.clone(), tenant.clone(), done.clone());
        writers.push(tokio::spawn(async move {
            for n in 0..EACH {
                // Some transactions append one event, some several.
                let batch: Vec<_> = (0..=(n % 3))
                    .map(|k| marker(&tenant, writer, n * 3 + k))
                    .collect();
                store.append(&batch).await.expect("append");
            }
            done.fetch_add(1, Ordering::SeqCst);
        }));
    }

    // The reader follows the log as a subscriber's catch-up does: after
    // the last position it saw, never looking back.
    let expected: i64 = WRITERS * (0..EACH).map(|n| n % 3 + 1).sum::<i64>();
    let mut seen = BTreeSet::new();
    let mut cursor = 0;
    let mut reads = 0;
    loop {
        let finished = done.load(Ordering::SeqCst) == WRITERS as usize;
        let page = store.events_after(&tenant, cursor, 50).await.unwrap();
        reads += 1;
        for event in &page {
            assert!(event.position > cursor, "positions go up");
            cursor = event.position;
            assert!(
                seen.insert(mark_of(&event.payload)),
                "seen twice: {event:?}"
            );
        }
        if finished && page.is_empty() {
            break;
        }
    }
    for writer in writers {
        writer.await.unwrap();
    }
    assert!(reads > 10, "the reader read while the writers wrote");
    // Everything the writers committed is in the log...
    let all = store.events_after(&tenant, 0, 100_000).await.unwrap();
    assert_eq!(all.len() as i64, expected);
    // ...and the reader, following it live, saw every one of them.
    assert_eq!(
        seen.len() as i64,
        expected,
        "a reader that saw a position never finds a smaller one committed later"
    );
    db.cleanup().await;
}

#[tokio::test]
async fn pruning_moves_the_horizon_and_positions_are_never_reused() {
    let db = TestDb::fresh().await;
    let store = Store::connect(&db.url).await.unwrap();
    store.migrate().await.unwrap();
    let tenant = TenantId::parse("acme").unwrap();
    assert_eq!(store.head().await.unwrap(), 0);
    assert_eq!(store.horizon().await.unwrap(), 0);
    store
        .append(&[marker(&tenant, 1, 1), marker(&tenant, 1, 2)])
        .await
        .unwrap();
    let head = store.head().await.unwrap();
    assert!(head >= 2);
    // Nothing is older than a minute ago: nothing pruned.
    let minute_ago = Utc::now() - chrono::Duration::minutes(1);
    assert_eq!(store.prune(minute_ago).await.unwrap(), 0);
    assert_eq!(store.horizon().await.unwrap(), 0);
    // Everything is older than a minute ahead: all pruned, the horizon
    // is the newest position pruned, the head stays there.
    let ahead = Utc::now() + chrono::Duration::minutes(1);
    assert_eq!(store.prune(ahead).await.unwrap(), 2);
    assert_eq!(store.horizon().await.unwrap(), head);
    assert_eq!(store.head().await.unwrap(), head);
    assert!(store.events_after(&tenant, 0, 10).await.unwrap().is_empty());
    // The next event comes after everything ever handed out.
    store.append(&[marker(&tenant, 1, 3)]).await.unwrap();
    let next = store.events_after(&tenant, 0, 10).await.unwrap();
    assert_eq!(next.len(), 1);
    assert!(next[0].position > head, "{} after {head}", next[0].position);
    db.cleanup().await;
}
