//! The chat store under ingest, on whichever backend `TestDb` provides:
//! replays change nothing, counters follow reads and deletions, deletions
//! by id alone never touch channels, tenants stay apart, and CRM links
//! follow a basic group to its supergroup once, whichever of the
//! migration's messages comes first.

use chrono::{DateTime, SubsecRound, Utc};
use tezgram::domain::chat::{
    ActionKind, CHANNEL_ID_OFFSET, Change, ChatFilter, ChatKind, ChatProfile, HistoryDirection,
    Message, MessageAction, MessageState,
};
use tezgram::domain::crm::{ChatLink, Entity, EntityType, LinkFilter};
use tezgram::domain::event::EventPayload;
use tezgram::domain::ports::{AccountStore, ChatStore, EventLog, LinkStore, StoreError};
use tezgram::domain::{Account, AccountId, AccountKind, AccountState, TenantId};
use tezgram::storage::Store;

use crate::db::TestDb;

fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

pub fn profile(chat_id: i64, kind: ChatKind, title: &str) -> ChatProfile {
    ChatProfile {
        chat_id,
        kind,
        title: title.into(),
        username: None,
        first_name: None,
        last_name: None,
        phone_number: None,
        member_count: None,
        access_hash: Some(7),
    }
}

pub fn message(account: AccountId, chat_id: i64, id: i64, text: &str, outgoing: bool) -> Message {
    Message {
        account_id: account,
        chat_id,
        message_id: id,
        sender_id: Some(chat_id),
        outgoing,
        text: text.into(),
        entities: Vec::new(),
        media: None,
        reply_to: None,
        forward: None,
        grouped_id: None,
        action: None,
        sent_at: now(),
        edited_at: None,
        views: None,
        state: MessageState::Sent,
        request_id: None,
        error_reason: None,
    }
}

pub fn new(message: Message) -> Change {
    Change::NewMessage {
        message,
        live: true,
    }
}

async fn store_with_account(db: &TestDb, tenant: &str) -> (Store, Account) {
    let store = Store::connect(&db.url).await.expect("connect");
    store.migrate().await.expect("migrate");
    let at = now();
    let account = Account {
        id: AccountId::new(),
        tenant: TenantId::parse(tenant).unwrap(),
        kind: AccountKind::User,
        state: AccountState::Authorized,
        phone_number: Some("9996630001".into()),
        telegram_user_id: Some(1),
        username: None,
        display_name: "Ann".into(),
        password_hint: None,
        created_at: at,
        updated_at: at,
    };
    store.insert_account(&account).await.unwrap();
    (store, account)
}

#[tokio::test]
async fn replayed_updates_change_nothing_and_counters_follow_reads_and_deletions() {
    let db = TestDb::fresh().await;
    let (store, ann) = store_with_account(&db, "acme").await;
    let (tenant, id) = (&ann.tenant, ann.id);
    let bob = 42;
    let batch = [
        Change::Profile(profile(bob, ChatKind::Private, "Bob Lee")),
        new(message(id, bob, 1, "one", false)),
        new(message(id, bob, 2, "two", false)),
    ];
    let touched = store.apply(tenant, id, &batch).await.unwrap();
    assert_eq!(touched.chats, vec![bob]);
    // A catch-up after a crash delivers the same updates again.
    store.apply(tenant, id, &batch).await.unwrap();
    let chat = store.get_chat(tenant, id, bob).await.unwrap();
    assert_eq!(chat.unread_count, 2, "a replay does not count twice");
    assert_eq!(chat.profile.title, "Bob Lee");
    assert_eq!(chat.last_message.as_ref().unwrap().text, "two");

    let mut edited = message(id, bob, 2, "two, edited", false);
    edited.edited_at = Some(now());
    store
        .apply(
            tenant,
            id,
            &[Change::Edited {
                message: edited.clone(),
                version: Some(10),
            }],
        )
        .await
        .unwrap();
    let two = store.get_message(tenant, id, bob, 2).await.unwrap();
    assert_eq!(two.text, "two, edited");
    assert!(two.edited_at.is_some());
    // EditMessage's own write and the update stream's race: an older edit
    // written last (same second, lower pts) does not win, and neither does
    // a history page fetched before the edit.
    let mut older = message(id, bob, 2, "two, first edit", false);
    older.edited_at = edited.edited_at;
    store
        .apply(
            tenant,
            id,
            &[Change::Edited {
                message: older,
                version: Some(9),
            }],
        )
        .await
        .unwrap();
    store
        .store_history(
            tenant,
            id,
            bob,
            &[message(id, bob, 2, "two", false)],
            &[],
            store.coverage(id, bob).await.unwrap(),
        )
        .await
        .unwrap();
    let two = store.get_message(tenant, id, bob, 2).await.unwrap();
    assert_eq!(two.text, "two, edited", "the newest edit stays");
    // A history page with the edited message keeps its edit version, so an
    // older edit arriving after it still loses.
    store
        .store_history(
            tenant,
            id,
            bob,
            std::slice::from_ref(&edited),
            &[],
            store.coverage(id, bob).await.unwrap(),
        )
        .await
        .unwrap();
    let mut late = message(id, bob, 2, "two, first edit", false);
    late.edited_at = edited.edited_at;
    store
        .apply(
            tenant,
            id,
            &[Change::Edited {
                message: late,
                version: Some(9),
            }],
        )
        .await
        .unwrap();
    let two = store.get_message(tenant, id, bob, 2).await.unwrap();
    assert_eq!(two.text, "two, edited", "still the newest edit");
    assert_eq!(
        store.get_chat(tenant, id, bob).await.unwrap().unread_count,
        2
    );

    let reads = [
        Change::ReadInbox {
            chat_id: bob,
            max_id: 1,
            still_unread: Some(1),
        },
        Change::ReadOutbox {
            chat_id: bob,
            max_id: 5,
        },
        // An older read arriving late never moves the maxima back.
        Change::ReadOutbox {
            chat_id: bob,
            max_id: 3,
        },
    ];
    store.apply(tenant, id, &reads).await.unwrap();
    let chat = store.get_chat(tenant, id, bob).await.unwrap();
    assert_eq!(
        (
            chat.unread_count,
            chat.read_inbox_max_id,
            chat.read_outbox_max_id
        ),
        (1, 1, 5)
    );

    // A channel with a message of the same id as Bob's first one.
    let channel = -(CHANNEL_ID_OFFSET + 77);
    store
        .apply(
            tenant,
            id,
            &[
                Change::Profile(profile(channel, ChatKind::Channel, "News")),
                new(message(id, channel, 2, "post", false)),
            ],
        )
        .await
        .unwrap();
    // Deleting by id alone is about private chats and groups only.
    store
        .apply(
            tenant,
            id,
            &[Change::Deleted {
                chat_id: None,
                message_ids: vec![2],
            }],
        )
        .await
        .unwrap();
    assert!(matches!(
        store.get_message(tenant, id, bob, 2).await,
        Err(StoreError::NotFound { .. })
    ));
    assert_eq!(
        store
            .get_message(tenant, id, channel, 2)
            .await
            .unwrap()
            .text,
        "post"
    );
    let chat = store.get_chat(tenant, id, bob).await.unwrap();
    assert_eq!(
        chat.unread_count, 0,
        "the deleted unread message is no longer unread"
    );
    assert_eq!(chat.last_message.unwrap().text, "one");
    store
        .apply(
            tenant,
            id,
            &[Change::Deleted {
                chat_id: Some(channel),
                message_ids: vec![2],
            }],
        )
        .await
        .unwrap();
    assert!(
        store
            .messages(tenant, id, channel, None, HistoryDirection::Older, 10)
            .await
            .unwrap()
            .is_empty()
    );
    db.cleanup().await;
}

#[tokio::test]
async fn chat_lists_are_ordered_by_activity_filtered_and_tenant_scoped() {
    let db = TestDb::fresh().await;
    let (store, ann) = store_with_account(&db, "acme").await;
    let (tenant, id) = (&ann.tenant, ann.id);
    let group = -5;
    let mut changes = vec![
        Change::Profile(profile(42, ChatKind::Private, "Bob Lee")),
        Change::Profile(profile(group, ChatKind::Group, "Team_100%")),
    ];
    let mut older = message(id, 42, 1, "old", false);
    older.sent_at = now() - chrono::Duration::hours(1);
    changes.push(new(older));
    changes.push(new(message(id, group, 2, "new", false)));
    store.apply(tenant, id, &changes).await.unwrap();

    let all = ChatFilter::default();
    let page = store
        .list_chats(tenant, Some(id), &all, None, 10)
        .await
        .unwrap();
    let order: Vec<i64> = page.chats.iter().map(|c| c.profile.chat_id).collect();
    assert_eq!(order, vec![group, 42], "newest activity first");
    let first = store.list_chats(tenant, None, &all, None, 1).await.unwrap();
    let rest = store
        .list_chats(tenant, None, &all, first.next, 1)
        .await
        .unwrap();
    assert_eq!(first.chats[0].profile.chat_id, group);
    assert_eq!(rest.chats[0].profile.chat_id, 42);
    assert!(rest.next.is_none());

    let groups = ChatFilter {
        kinds: vec![ChatKind::Group],
        ..ChatFilter::default()
    };
    let page = store
        .list_chats(tenant, None, &groups, None, 10)
        .await
        .unwrap();
    assert_eq!(page.chats.len(), 1);
    // LIKE's wildcards in a query are literal characters.
    for (query, hits) in [
        ("100%", 1),
        ("m_1", 1),
        ("_", 1),
        ("%", 1),
        ("x%", 0),
        ("bob", 1),
    ] {
        let filter = ChatFilter {
            query: query.into(),
            ..ChatFilter::default()
        };
        let page = store
            .list_chats(tenant, None, &filter, None, 10)
            .await
            .unwrap();
        assert_eq!(page.chats.len(), hits, "query {query:?}");
    }

    let other = TenantId::parse("globex").unwrap();
    assert!(
        store
            .list_chats(&other, None, &all, None, 10)
            .await
            .unwrap()
            .chats
            .is_empty()
    );
    assert!(matches!(
        store.get_chat(&other, id, 42).await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(
        store.get_message(&other, id, 42, 1).await,
        Err(StoreError::NotFound { .. })
    ));
    db.cleanup().await;
}

#[tokio::test]
async fn concurrent_writers_of_one_chat_neither_fail_nor_lose_a_count() {
    // Ingest of several updates (and a replay of each) racing for a chat
    // no writer has stored yet: every one lands, each message counts once.
    let db = TestDb::fresh().await;
    let (store, ann) = store_with_account(&db, "acme").await;
    let (tenant, id) = (ann.tenant.clone(), ann.id);
    let bob = 43;
    let mut writers = Vec::new();
    for i in 1..=8 {
        for _replay in 0..2 {
            let (store, tenant) = (store.clone(), tenant.clone());
            writers.push(tokio::spawn(async move {
                store
                    .apply(&tenant, id, &[new(message(id, bob, i, "hi", false))])
                    .await
            }));
        }
    }
    for writer in writers {
        writer.await.unwrap().expect("no writer is refused");
    }
    let chat = store.get_chat(&tenant, id, bob).await.unwrap();
    assert_eq!(chat.unread_count, 8);
    assert_eq!(chat.last_message.map(|m| m.message_id), Some(8));
    db.cleanup().await;
}

/// migration_message is one of a migration's service messages: in `chat`,
/// naming `other`.
fn migration_message(
    account: AccountId,
    chat: i64,
    id: i64,
    kind: ActionKind,
    other: i64,
) -> Message {
    let mut m = message(account, chat, id, "", false);
    m.action = Some(MessageAction {
        kind,
        user_ids: Vec::new(),
        title: Some("Order 42".into()),
        message_id: None,
        chat_id: Some(other),
    });
    m
}

fn deal(id: &str) -> Entity {
    Entity {
        kind: EntityType::Deal,
        id: id.into(),
    }
}

async fn link(store: &Store, account: &Account, chat_id: i64, entity: Entity) -> ChatLink {
    let link = ChatLink {
        id: uuid::Uuid::now_v7().to_string(),
        account: account.id,
        chat_id,
        entity,
        created_by: "user-1".into(),
        request_id: Some(uuid::Uuid::new_v4().to_string()),
        created_at: now(),
    };
    store.link(&account.tenant, &link).await.unwrap()
}

/// linked lists a chat's links, oldest first, as (id, record id).
async fn linked(store: &Store, account: &Account, chat_id: i64) -> Vec<(String, String)> {
    let filter = LinkFilter::Chat {
        account: account.id,
        chat_id,
    };
    let mut links = store
        .links(&account.tenant, &filter, None, 100)
        .await
        .unwrap()
        .links;
    links.reverse();
    links.into_iter().map(|l| (l.id, l.entity.id)).collect()
}

/// moves are the link moves in the account's event log after `position`:
/// (chat, record, chat it left).
async fn moves(store: &Store, account: &Account, position: i64) -> Vec<(i64, String, i64)> {
    store
        .events_after(&account.tenant, position, 100)
        .await
        .unwrap()
        .into_iter()
        .filter_map(|event| match event.payload {
            EventPayload::ChatLinked {
                chat_id,
                entity,
                previous_chat_id: Some(from),
            } => Some((chat_id, entity.entity.id, from)),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn links_follow_a_migration_once_whichever_of_its_messages_comes_first() {
    let db = TestDb::fresh().await;
    let (store, ann) = store_with_account(&db, "acme").await;
    let (tenant, id) = (&ann.tenant, ann.id);
    let group = -5;
    let supergroup = -(CHANNEL_ID_OFFSET + 9);
    store
        .apply(
            tenant,
            id,
            &[
                Change::Profile(profile(group, ChatKind::Group, "Order 42")),
                new(message(id, group, 1, "hi", false)),
            ],
        )
        .await
        .unwrap();
    let d1 = link(&store, &ann, group, deal("D-1")).await;
    let d2 = link(&store, &ann, group, deal("D-2")).await;
    // Someone linked the supergroup to D-2 by hand before the gateway
    // learned it continues the group (say, a gap filled from history).
    store
        .apply(
            tenant,
            id,
            &[Change::Profile(profile(
                supergroup,
                ChatKind::Supergroup,
                "Order 42",
            ))],
        )
        .await
        .unwrap();
    let own = link(&store, &ann, supergroup, deal("D-2")).await;
    let before = store.head().await.unwrap();

    // The supergroup's first message comes first this time.
    let welcome = migration_message(id, supergroup, 1, ActionKind::ChannelMigrateFrom, group);
    let touched = store
        .apply(tenant, id, &[new(welcome.clone())])
        .await
        .unwrap();
    assert!(touched.chats.contains(&group) && touched.chats.contains(&supergroup));
    assert!(linked(&store, &ann, group).await.is_empty());
    assert_eq!(
        linked(&store, &ann, supergroup).await,
        [
            (d1.id.clone(), "D-1".into()),
            (own.id.clone(), "D-2".into())
        ],
        "D-1 moved, keeping its id; D-2 stays the supergroup's one link"
    );
    assert_ne!(d2.id, own.id);
    let chat = store.get_chat(tenant, id, supergroup).await.unwrap();
    let records: Vec<&str> = chat.linked.iter().map(|l| l.entity.id.as_str()).collect();
    assert_eq!(records, ["D-1", "D-2"]);
    let moved = vec![
        (supergroup, "D-1".to_owned(), group),
        (supergroup, "D-2".to_owned(), group),
    ];
    assert_eq!(moves(&store, &ann, before).await, moved);

    // The group's last message, then both again (a replay): nothing more
    // moves, and no event says otherwise.
    let farewell = migration_message(id, group, 2, ActionKind::ChatMigrateTo, supergroup);
    store
        .apply(tenant, id, &[new(farewell.clone())])
        .await
        .unwrap();
    store
        .apply(tenant, id, &[new(welcome), new(farewell)])
        .await
        .unwrap();
    assert_eq!(moves(&store, &ann, before).await, moved);
    assert_eq!(linked(&store, &ann, supergroup).await.len(), 2);
    db.cleanup().await;
}

#[tokio::test]
async fn a_link_follows_its_group_to_a_supergroup_not_stored_yet() {
    let db = TestDb::fresh().await;
    let (store, ann) = store_with_account(&db, "acme").await;
    let (tenant, id) = (&ann.tenant, ann.id);
    let group = -6;
    let supergroup = -(CHANNEL_ID_OFFSET + 10);
    store
        .apply(
            tenant,
            id,
            &[
                Change::Profile(profile(group, ChatKind::Group, "Order 43")),
                new(message(id, group, 1, "hi", false)),
            ],
        )
        .await
        .unwrap();
    let d1 = link(&store, &ann, group, deal("D-1")).await;

    // Only the group's last message, without the supergroup's profile
    // (from a history page of the group, as a gap fill reads it).
    let farewell = migration_message(id, group, 2, ActionKind::ChatMigrateTo, supergroup);
    let coverage = store.coverage(id, group).await.unwrap();
    store
        .store_history(tenant, id, group, &[farewell], &[], coverage)
        .await
        .unwrap();
    let chat = store.get_chat(tenant, id, supergroup).await.unwrap();
    assert_eq!(chat.profile.kind, ChatKind::Supergroup);
    assert_eq!(chat.profile.title, "Order 43", "Telegram keeps the title");
    assert_eq!(chat.linked.len(), 1);
    assert_eq!(
        linked(&store, &ann, supergroup).await,
        [(d1.id, "D-1".into())]
    );
    assert!(
        store
            .get_chat(tenant, id, group)
            .await
            .unwrap()
            .linked
            .is_empty()
    );
    assert_eq!(
        moves(&store, &ann, 0).await,
        [(supergroup, "D-1".to_owned(), group)]
    );
    db.cleanup().await;
}
