//! Account leases on whichever backend `TestDb` provides: one instance at
//! a time holds an account, racing acquisitions make one owner, a lease
//! that ran out goes to the next instance in a new epoch, and every write
//! only the owner may make (ingest, a session save, an outbox outcome) is
//! refused once it was made under a lease that moved on — fencing, not
//! timing. Then through real gateways: one owns an account, a second one
//! leaves it alone, and takes it over when the first stops.

use std::time::Duration;

use chrono::{DateTime, SubsecRound, Utc};
use tezgram::domain::chat::{Change, ChatKind};
use tezgram::domain::lease::{Fence, InstanceId};
use tezgram::domain::outbox::{OutboxItem, OutboxState, Outgoing, OutgoingText};
use tezgram::domain::ports::{
    AccountStore, ChatStore, LeaseStore, OutboxStore, Sealed, SessionStore, StoreError,
};
use tezgram::domain::{Account, AccountId, AccountKind, AccountState, TenantId};
use tezgram::storage::Store;

use crate::chat_store::{message, new, profile};
use crate::clients::{Clients, eventually};
use crate::db::TestDb;
use crate::sandbox_shared::on_shared;
use crate::sandbox_shared::{ADMIN_TOKEN, Sandbox};
use crate::server::TestServer;

fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

async fn store_with(db: &TestDb, state: AccountState) -> (Store, Account) {
    let store = Store::connect(&db.url).await.expect("connect");
    store.migrate().await.expect("migrate");
    let account = Account {
        id: AccountId::new(),
        tenant: TenantId::parse("acme").unwrap(),
        kind: AccountKind::User,
        state,
        phone_number: Some("9996631001".into()),
        telegram_user_id: Some(1),
        username: None,
        display_name: "Ann".into(),
        password_hint: None,
        created_at: now(),
        updated_at: now(),
    };
    store.insert_account(&account).await.expect("insert");
    (store, account)
}

fn conflict(result: Result<impl std::fmt::Debug, StoreError>) -> bool {
    matches!(result, Err(StoreError::Conflict { .. }))
}

#[tokio::test]
async fn one_instance_holds_a_lease_and_writes_under_a_lost_one_are_refused() {
    let db = TestDb::fresh().await;
    let (store, account) = store_with(&db, AccountState::Authorized).await;
    let (first, second) = (InstanceId::new(), InstanceId::new());
    let t0 = store.now().await.unwrap();
    let ttl = chrono::Duration::seconds(10);

    assert_eq!(
        store.unowned(t0, 10).await.unwrap(),
        vec![(account.tenant.clone(), account.id)]
    );
    let old = store
        .acquire(account.id, &first, t0, t0 + ttl)
        .await
        .unwrap()
        .expect("a free account is taken");
    assert_eq!(old.epoch, 1);
    assert!(store.unowned(t0, 10).await.unwrap().is_empty());
    // Held: nobody else takes it, and renewing keeps it.
    assert_eq!(
        store
            .acquire(account.id, &second, t0, t0 + ttl)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .renew(&[(account.id, old.clone())], t0 + ttl)
            .await
            .unwrap(),
        vec![account.id]
    );
    // Run out (the first instance died): the next one takes it, in a new epoch.
    let later = t0 + ttl + chrono::Duration::seconds(1);
    assert_eq!(
        store.unowned(later, 10).await.unwrap(),
        vec![(account.tenant.clone(), account.id)]
    );
    let current = store
        .acquire(account.id, &second, later, later + ttl)
        .await
        .unwrap()
        .expect("a lease that ran out is taken");
    assert_eq!(
        current,
        Fence {
            owner: second.clone(),
            epoch: 2
        }
    );
    assert!(
        store
            .renew(&[(account.id, old.clone())], later + ttl)
            .await
            .unwrap()
            .is_empty(),
        "the old lease is lost"
    );

    // The old owner wakes up: none of its writes lands.
    let tenant = &account.tenant;
    let changes = [
        Change::Profile(profile(42, ChatKind::Private, "Bob")),
        new(message(account.id, 42, 1, "late", false)),
    ];
    assert!(conflict(
        store.apply_fenced(tenant, account.id, &changes, &old).await
    ));
    let session = Sealed {
        sealed: vec![1, 2, 3],
        key_id: "k".into(),
    };
    let epoch = store
        .replace_session(account.id, 0, &session)
        .await
        .unwrap();
    assert!(conflict(
        store
            .save_session(account.id, epoch, 2, &session, Some(&old))
            .await
    ));
    let item = OutboxItem {
        id: uuid::Uuid::now_v7().to_string(),
        tenant: tenant.clone(),
        account_id: account.id,
        request_id: "late-send".into(),
        chat_id: 42,
        random_id: 7,
        payload: Outgoing::Text(OutgoingText {
            text: "late".into(),
            entities: Vec::new(),
            reply_to: None,
            silent: false,
            schedule: None,
            signature: String::new(),
        }),
        state: OutboxState::Pending,
        attempts: 0,
        next_attempt_at: now(),
        last_error: None,
        message_ids: Vec::new(),
        file_upload: None,
        created_at: now(),
        fence: None,
    };
    store.enqueue(&item).await.unwrap();
    let under_old = OutboxItem {
        fence: Some(old.clone()),
        ..item.clone()
    };
    assert!(conflict(store.mark_failed(&under_old, "LATE").await));
    assert!(conflict(store.mark_scheduled(&under_old, 5).await));
    // The new owner's due rows carry its lease; the old owner sees none.
    assert!(store.due(now(), 10, Some(&first)).await.unwrap().is_empty());
    let due = store.due(now(), 10, Some(&second)).await.unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].fence.as_ref(), Some(&current));
    // Nothing of the old owner's is stored; the new owner's writes are.
    assert!(
        store
            .get_chat(tenant, account.id, 42)
            .await
            .is_err_and(|e| matches!(e, StoreError::NotFound { .. }))
    );
    store
        .apply_fenced(tenant, account.id, &changes, &current)
        .await
        .expect("the owner's ingest");
    store
        .save_session(account.id, epoch, 2, &session, Some(&current))
        .await
        .expect("the owner's session save");
    store
        .mark_failed(&due[0], "CHAT_WRITE_FORBIDDEN")
        .await
        .expect("the owner's outcome");

    // Given up: free at once, for the next owner, in a new epoch.
    store.release(account.id, &current).await.unwrap();
    let t1 = store.now().await.unwrap();
    assert_eq!(store.unowned(t1, 10).await.unwrap().len(), 1);
    let third = store
        .acquire(account.id, &first, t1, t1 + ttl)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(third.epoch, 3);
    db.cleanup().await;
}

#[tokio::test]
async fn racing_instances_make_one_owner_and_only_authorized_accounts_are_owned() {
    let db = TestDb::fresh().await;
    let (store, account) = store_with(&db, AccountState::Authorized).await;
    let t0 = store.now().await.unwrap();
    let until = t0 + chrono::Duration::seconds(10);
    let racers = (0..8).map(|_| {
        let store = store.clone();
        async move {
            let me = InstanceId::new();
            store.acquire(account.id, &me, t0, until).await
        }
    });
    let results = futures::future::join_all(racers).await;
    let owners: Vec<_> = results
        .into_iter()
        .filter_map(|r| r.expect("no racer fails"))
        .collect();
    assert_eq!(owners.len(), 1, "one owner of eight racers: {owners:?}");
    assert_eq!(owners[0].epoch, 1);

    let logged_out = Account {
        id: AccountId::new(),
        state: AccountState::LoggedOut,
        phone_number: Some("9996631002".into()),
        telegram_user_id: Some(2),
        ..account.clone()
    };
    store.insert_account(&logged_out).await.unwrap();
    assert_eq!(
        store
            .acquire(logged_out.id, &InstanceId::new(), t0, until)
            .await
            .unwrap(),
        None,
        "a logged-out account is nobody's"
    );
    assert!(store.unowned(t0, 10).await.unwrap().is_empty());
    assert_eq!(
        store
            .not_authorized(&[account.id, logged_out.id])
            .await
            .unwrap(),
        vec![logged_out.id]
    );
    db.cleanup().await;
}

/// no_key_used_twice checks the sandbox never saw an auth key used from
/// two connections at once.
async fn no_key_used_twice(sandbox: &Sandbox) {
    use tezgram_sandbox::SandboxLink;
    let link = tezgram_sandbox::RemoteLink::connect(&sandbox.url(), ADMIN_TOKEN)
        .await
        .unwrap();
    let incidents = link.duplicate_key_incidents().await.unwrap();
    assert!(incidents.is_empty(), "keys used twice: {incidents:?}");
}

/// owner is the instance the store says owns the account.
async fn owner(store: &Store, account: &str) -> Option<String> {
    store
        .lease(account.parse().unwrap())
        .await
        .unwrap()
        .filter(|lease| !lease.fence.owner.as_str().is_empty())
        .map(|lease| lease.fence.owner.to_string())
}

#[tokio::test]
async fn one_of_two_gateways_connects_an_account_and_the_other_takes_over_when_it_stops() {
    let sandbox = Sandbox::start().await;
    // Instances of one deployment share its sealing keys (and database).
    let key = tezgram::crypto::Sealer::generate_spec("shared").to_string();
    let quick_leases = |config: &mut tezgram::config::Config| {
        config.cluster.lease_ttl_seconds = 4;
        config.cluster.lease_renew_ms = 500;
        config.secrets.keys = vec![key.clone()];
        on_shared(&sandbox, ADMIN_TOKEN)(config);
    };
    let first = TestServer::start_with(quick_leases).await;
    let database_url = first.config.database_url.clone().unwrap();
    let second = TestServer::start_with(|config| {
        quick_leases(config);
        config.database_url = Some(database_url.clone());
    })
    .await;
    let mut c = Clients::of(&first).await;
    let ann = c.sandbox_user("9996631101", "Ann", "").await;
    let bob = c.sandbox_user("9996631102", "Bob", "").await;
    let account = c.login_user(&ann).await;
    let id = account.account_id.clone();
    let store = first.store().await;
    let first_id = first.ownership().id().to_string();
    let second_id = second.ownership().id().to_string();

    // The login's instance owns it; the other, with nothing of its own,
    // leaves it alone (one connection at Telegram), round after round.
    eventually("the first gateway owns and connects it", async || {
        owner(&store, &id).await.as_deref() == Some(first_id.as_str())
            && first.ownership().owns(id.parse().unwrap())
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(owner(&store, &id).await.as_deref(), Some(first_id.as_str()));
    assert!(!second.ownership().owns(id.parse().unwrap()));
    assert_eq!(second.ownership().owned(), 0);
    c.send_as(&bob, &id, "hello first").await;

    // The first stops: it hands the account over, and the second connects it.
    let kept = first.stop_keeping_data().await;
    eventually("the second gateway takes the account over", async || {
        owner(&store, &id).await.as_deref() == Some(second_id.as_str())
            && second.ownership().owns(id.parse().unwrap())
    })
    .await;
    let mut c2 = Clients::of(&second).await;
    c2.send_as(&bob, &id, "hello second").await;
    let mut messages =
        tezgram_sdk::v1::message_service_client::MessageServiceClient::new(second.channel().await);
    eventually("the second gateway ingests what arrives now", async || {
        messages
            .list_messages(crate::server::authed(
                tezgram_sdk::v1::ListMessagesRequest {
                    account_id: id.clone(),
                    chat_id: bob.user_id,
                    ..Default::default()
                },
                &c2.token,
            ))
            .await
            .is_ok_and(|page| {
                page.into_inner()
                    .messages
                    .iter()
                    .any(|m| m.text == "hello second")
            })
    })
    .await;
    no_key_used_twice(&sandbox).await;
    second.stop().await;
    drop(kept);
    sandbox.stop().await;
}

/// pair is two gateways on one database and one standalone sandbox, each
/// serving forwarded calls (one deployment: shared keys and secret).
async fn pair(sandbox: &Sandbox) -> (TestServer, TestServer) {
    let key = tezgram::crypto::Sealer::generate_spec("shared").to_string();
    // One deployment: one cache namespace (with Redis; without it, each
    // instance's own cache is not retired by the other's writes, so the
    // test reads what the owner wrote through the owner).
    let prefix = format!("tezgram-test-{}:", uuid::Uuid::new_v4().simple());
    let cluster = |config: &mut tezgram::config::Config| {
        config.redis_key_prefix = prefix.clone();
        config.cluster.lease_ttl_seconds = 4;
        config.cluster.lease_renew_ms = 500;
        config.cluster.internal_listen = Some("127.0.0.1:0".parse().unwrap());
        config.cluster.internal_secret = Some("internal-secret-of-the-test-0123456789".into());
        config.secrets.keys = vec![key.clone()];
        on_shared(sandbox, ADMIN_TOKEN)(config);
    };
    let first = TestServer::start_with(cluster).await;
    let database_url = first.config.database_url.clone().unwrap();
    let second = TestServer::start_with(|config| {
        cluster(config);
        config.database_url = Some(database_url.clone());
    })
    .await;
    (first, second)
}

#[tokio::test]
async fn calls_that_need_telegram_run_at_the_instance_that_owns_the_account() {
    use tezgram_sdk::v1 as pb;
    use tezgram_sdk::v1::account_service_client::AccountServiceClient;
    use tezgram_sdk::v1::chat_service_client::ChatServiceClient;
    use tezgram_sdk::v1::message_service_client::MessageServiceClient;

    use crate::server::authed;

    let sandbox = Sandbox::start().await;
    let (first, second) = pair(&sandbox).await;
    let mut c = Clients::of(&first).await;
    let ann = c.sandbox_user("9996631201", "Ann", "").await;
    let bob = c.sandbox_user("9996631202", "Bob", "").await;
    let account = c.login_user(&ann).await;
    let id = account.account_id.clone();
    eventually("the first gateway owns the account", async || {
        first.ownership().owns(id.parse().unwrap())
    })
    .await;
    c.send_as(&bob, &id, "hi Ann").await;
    c.send_as(&bob, &id, "are you there?").await;
    let token = c.token.clone();

    // Calls below go to the second gateway, which does not own the
    // account: Telegram calls run at the first.
    let mut chats = ChatServiceClient::new(first.channel().await);
    let channel = second.channel().await;
    let mut messages = MessageServiceClient::new(channel.clone());
    let mut accounts = AccountServiceClient::new(channel);
    let bob_chat = async |chats: &mut ChatServiceClient<tonic::transport::Channel>| {
        chats
            .get_chat(authed(
                pb::GetChatRequest {
                    account_id: id.clone(),
                    chat_id: bob.user_id,
                },
                &token,
            ))
            .await
    };
    eventually("the chat is stored", async || {
        bob_chat(&mut chats).await.is_ok_and(|chat| {
            chat.into_inner()
                .chat
                .is_some_and(|chat| chat.unread_count == 2)
        })
    })
    .await;
    let read = messages
        .mark_read(authed(
            pb::MarkReadRequest {
                account_id: id.clone(),
                chat_id: bob.user_id,
                max_message_id: 0,
            },
            &token,
        ))
        .await
        .expect("MarkRead on the instance that does not own the account");
    assert_eq!(read.into_inner().unread_count, 0);
    let sent = crate::sending::sent(
        &mut messages,
        &token,
        crate::sending::text_request(&id, bob.user_id, "here I am", "fwd-send-1"),
    )
    .await;
    let edited = messages
        .edit_message(authed(
            pb::EditMessageRequest {
                account_id: id.clone(),
                chat_id: bob.user_id,
                message_id: sent.message_id,
                text: "here I am, sorry".into(),
                ..Default::default()
            },
            &token,
        ))
        .await
        .expect("EditMessage, forwarded")
        .into_inner()
        .message
        .unwrap();
    assert_eq!(edited.text, "here I am, sorry");
    let devices = accounts
        .list_authorizations(authed(
            pb::ListAuthorizationsRequest {
                account_id: id.clone(),
            },
            &token,
        ))
        .await
        .expect("ListAuthorizations, forwarded")
        .into_inner();
    assert!(!devices.authorizations.is_empty());
    // Telegram has what the calls did, as Bob sees it.
    let link = tezgram_sandbox::RemoteLink::connect(&sandbox.url(), ADMIN_TOKEN)
        .await
        .unwrap();
    let bob_view = tezgram_sandbox::SandboxLink::history(
        &link,
        crate::sending::TENANT,
        bob.user_id,
        ann.user_id,
        10,
    )
    .await
    .unwrap();
    assert_eq!(bob_view.messages[0].text, "here I am, sorry");
    // They ran at the owner: the second forwarded them and never took
    // the account; the first still owns it.
    assert!(
        second.metric("tezgram_forwarded_calls_total").await >= 3.0,
        "forwarded calls"
    );
    assert_eq!(first.metric("tezgram_forwarded_calls_total").await, 0.0);
    assert!(!second.ownership().owns(id.parse().unwrap()));
    assert!(first.ownership().owns(id.parse().unwrap()));

    // The internal endpoint takes signed callers only: a client's own
    // token there is refused.
    let store = first.store().await;
    let since = store.now().await.unwrap() - chrono::Duration::seconds(60);
    let internal = store
        .instances(since)
        .await
        .unwrap()
        .into_iter()
        .find(|i| &i.id == first.ownership().id())
        .expect("the first instance is listed")
        .address;
    assert!(!internal.is_empty(), "it serves forwarded calls");
    let channel = tonic::transport::Channel::from_shared(format!("http://{internal}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let refused = MessageServiceClient::new(channel)
        .mark_read(authed(
            pb::MarkReadRequest {
                account_id: id.clone(),
                chat_id: bob.user_id,
                max_message_id: 0,
            },
            &token,
        ))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), tonic::Code::Unauthenticated);
    no_key_used_twice(&sandbox).await;
    second.stop().await;
    first.stop().await;
    sandbox.stop().await;
}
