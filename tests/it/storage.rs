//! The storage suite: runs against whichever backend `TestDb` provides
//! (SQLite by default, PostgreSQL with `TEZGRAM_TEST_DATABASE_URL`).

use std::time::{Duration, Instant};

use chrono::{DateTime, SubsecRound, Utc};
use migration::{Migrator, MigratorTrait};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use tezgram::domain::ports::{AccountStore, ApiKey, ApiKeyStore, Expect, StoreError};
use tezgram::domain::{Account, AccountId, AccountKind, AccountState, Scope, TenantId};
use tezgram::storage::Store;
use tezgram::storage::entities::{accounts, chats, messages};

use crate::db::TestDb;

/// now is the current time at microsecond precision, which both backends
/// store exactly (PostgreSQL keeps microseconds).
fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

fn tenant(name: &str) -> TenantId {
    TenantId::parse(name).expect("valid tenant id")
}

fn account(tenant: &TenantId, n: usize) -> Account {
    let at = now();
    Account {
        id: AccountId::new(),
        tenant: tenant.clone(),
        kind: AccountKind::User,
        state: AccountState::LoginCodeRequired,
        phone_number: Some(format!("1555000{n:04}")),
        telegram_user_id: None,
        username: None,
        display_name: format!("Account {n}"),
        password_hint: None,
        created_at: at,
        updated_at: at,
    }
}

async fn migrated_store(db: &TestDb) -> Store {
    let store = Store::connect(&db.url)
        .await
        .expect("connect to the test database");
    store.migrate().await.expect("migrations apply");
    store
}

#[tokio::test]
async fn migrations_apply_twice_and_the_store_answers_pings() {
    let db = TestDb::fresh().await;
    let store = migrated_store(&db).await;
    store.migrate().await.expect("a second migrate is a no-op");
    store.ping().await.expect("ping");
    let expected = if db.is_postgres() {
        "postgres"
    } else {
        "sqlite"
    };
    assert_eq!(store.backend_name(), expected);

    let applied = Migrator::get_applied_migrations(store.connection())
        .await
        .expect("read applied migrations");
    assert_eq!(applied.len(), Migrator::migrations().len());
    db.cleanup().await;
}

#[tokio::test]
async fn migrations_roll_back_and_reapply() {
    let db = TestDb::fresh().await;
    let store = migrated_store(&db).await;
    let tenant = tenant("acme");
    store.insert_account(&account(&tenant, 1)).await.unwrap();

    Migrator::down(store.connection(), None)
        .await
        .expect("every migration has a working down");
    let gone = store.list_accounts(&tenant, None, 10).await;
    assert!(
        gone.is_err(),
        "accounts table still exists after down: {gone:?}"
    );

    store
        .migrate()
        .await
        .expect("migrations apply again after down");
    let page = store.list_accounts(&tenant, None, 10).await.unwrap();
    assert!(page.accounts.is_empty(), "down kept rows: {page:?}");
    store.insert_account(&account(&tenant, 2)).await.unwrap();
    db.cleanup().await;
}

#[tokio::test]
async fn accounts_round_trip_and_list_in_pages() {
    let db = TestDb::fresh().await;
    let store = migrated_store(&db).await;
    let tenant = tenant("acme");

    let mut inserted = Vec::new();
    for n in 0..7 {
        let mut account = account(&tenant, n);
        if n == 0 {
            account.kind = AccountKind::Bot;
            account.state = AccountState::Authorized;
            account.phone_number = None;
            account.telegram_user_id = Some(7_000_000_001);
            account.username = Some("acme_bot".into());
            account.password_hint = Some("pet's name".into());
        }
        store.insert_account(&account).await.unwrap();
        inserted.push(account);
    }

    let got = store.get_account(&tenant, inserted[0].id).await.unwrap();
    assert_eq!(got, inserted[0]);

    let first = store.list_accounts(&tenant, None, 3).await.unwrap();
    assert_eq!(first.accounts, inserted[0..3]);
    assert_eq!(first.next_after, Some(inserted[2].id));

    let second = store
        .list_accounts(&tenant, first.next_after, 3)
        .await
        .unwrap();
    assert_eq!(second.accounts, inserted[3..6]);
    assert_eq!(second.next_after, Some(inserted[5].id));

    let third = store
        .list_accounts(&tenant, second.next_after, 3)
        .await
        .unwrap();
    assert_eq!(third.accounts, inserted[6..7]);
    assert_eq!(third.next_after, None, "the last page says no more follow");

    // A page that ends exactly at the last account says so too.
    let exact = store
        .list_accounts(&tenant, Some(inserted[3].id), 3)
        .await
        .unwrap();
    assert_eq!(exact.accounts, inserted[4..7]);
    assert_eq!(exact.next_after, None);
    db.cleanup().await;
}

#[tokio::test]
async fn tenants_never_see_each_others_accounts() {
    let db = TestDb::fresh().await;
    let store = migrated_store(&db).await;
    let (a, b) = (tenant("tenant-a"), tenant("tenant-b"));
    let account = account(&a, 1);
    store.insert_account(&account).await.unwrap();

    let err = store.get_account(&b, account.id).await.unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::NotFound {
                resource: "account"
            }
        ),
        "tenant B got {err:?}"
    );
    let page = store.list_accounts(&b, None, 10).await.unwrap();
    assert!(page.accounts.is_empty());
    assert_eq!(page.next_after, None);

    let missing = store.get_account(&a, AccountId::new()).await.unwrap_err();
    assert!(matches!(missing, StoreError::NotFound { .. }));
    db.cleanup().await;
}

#[tokio::test]
async fn a_duplicate_account_already_exists() {
    let db = TestDb::fresh().await;
    let store = migrated_store(&db).await;
    let account = account(&tenant("acme"), 1);
    store.insert_account(&account).await.unwrap();

    let err = store.insert_account(&account).await.unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::AlreadyExists {
                resource: "account"
            }
        ),
        "got {err:?}"
    );
    db.cleanup().await;
}

#[tokio::test]
async fn an_unknown_stored_state_is_corrupt() {
    let db = TestDb::fresh().await;
    let store = migrated_store(&db).await;
    let tenant = tenant("acme");
    let account = account(&tenant, 1);
    store.insert_account(&account).await.unwrap();

    // As if a newer build had written a state this one doesn't know.
    accounts::Entity::update_many()
        .col_expr(accounts::Column::State, Expr::value("hibernating"))
        .filter(accounts::Column::Id.eq(account.id.to_string()))
        .exec(store.connection())
        .await
        .unwrap();

    let err = store.get_account(&tenant, account.id).await.unwrap_err();
    assert!(matches!(err, StoreError::Corrupt(_)), "got {err:?}");
    let err = store.list_accounts(&tenant, None, 10).await.unwrap_err();
    assert!(matches!(err, StoreError::Corrupt(_)), "got {err:?}");
    db.cleanup().await;
}

#[tokio::test]
async fn api_keys_are_stored_found_listed_and_revoked() {
    let db = TestDb::fresh().await;
    let store = migrated_store(&db).await;
    let (a, b) = (tenant("tenant-a"), tenant("tenant-b"));
    let key = |id: &str, tenant: &TenantId, scopes: Vec<Scope>| ApiKey {
        id: id.to_owned(),
        tenant: tenant.clone(),
        name: format!("key {id}"),
        scopes,
        created_at: now(),
        revoked_at: None,
    };
    let k1 = key("k1", &a, vec![Scope::AccountsRead, Scope::MessagesWrite]);
    let k2 = key("k2", &a, vec![]);
    let k3 = key("k3", &b, Scope::ALL.to_vec());
    let hash = [7u8; 32];
    for k in [&k1, &k2, &k3] {
        store.insert_api_key(k, &hash).await.unwrap();
    }

    let (found, found_hash) = store.find_api_key("k1").await.unwrap().expect("k1 exists");
    assert_eq!(found, k1);
    assert_eq!(found_hash, hash);
    assert!(store.find_api_key("nope").await.unwrap().is_none());

    let err = store.insert_api_key(&k1, &hash).await.unwrap_err();
    assert!(
        matches!(err, StoreError::AlreadyExists { .. }),
        "got {err:?}"
    );

    assert_eq!(
        store.list_api_keys(Some(&a)).await.unwrap(),
        vec![k1.clone(), k2]
    );
    assert_eq!(store.list_api_keys(Some(&b)).await.unwrap(), vec![k3]);
    assert_eq!(store.list_api_keys(None).await.unwrap().len(), 3);
    assert!(
        store
            .list_api_keys(Some(&tenant("other")))
            .await
            .unwrap()
            .is_empty()
    );

    let revoked_at = now();
    store.revoke_api_key("k1", revoked_at).await.unwrap();
    let (found, _) = store.find_api_key("k1").await.unwrap().unwrap();
    assert_eq!(
        found.revoked_at,
        Some(revoked_at),
        "revoked keys are still found"
    );
    // Revoking twice keeps the first revocation time.
    store
        .revoke_api_key("k1", revoked_at + chrono::Duration::seconds(60))
        .await
        .unwrap();
    let (found, _) = store.find_api_key("k1").await.unwrap().unwrap();
    assert_eq!(found.revoked_at, Some(revoked_at));

    let err = store.revoke_api_key("nope", now()).await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound { .. }), "got {err:?}");
    db.cleanup().await;
}

#[tokio::test]
async fn deleting_an_account_erases_its_chats_and_messages() {
    let db = TestDb::fresh().await;
    let store = migrated_store(&db).await;
    let tenant = tenant("acme");
    let doomed = account(&tenant, 1);
    let kept = account(&tenant, 2);
    for account in [&doomed, &kept] {
        store.insert_account(account).await.unwrap();
        insert_chat_with_message(&store, account).await;
    }

    accounts::Entity::delete_by_id(doomed.id.to_string())
        .exec(store.connection())
        .await
        .unwrap();

    let count_chats = |id: AccountId| {
        chats::Entity::find()
            .filter(chats::Column::AccountId.eq(id.to_string()))
            .count(store.connection())
    };
    let count_messages = |id: AccountId| {
        messages::Entity::find()
            .filter(messages::Column::AccountId.eq(id.to_string()))
            .count(store.connection())
    };
    assert_eq!(count_chats(doomed.id).await.unwrap(), 0);
    assert_eq!(count_messages(doomed.id).await.unwrap(), 0);
    assert_eq!(
        count_chats(kept.id).await.unwrap(),
        1,
        "other accounts keep theirs"
    );
    assert_eq!(count_messages(kept.id).await.unwrap(), 1);
    db.cleanup().await;
}

async fn insert_chat_with_message(store: &Store, account: &Account) {
    use crate::chat_store::{message, new, profile};
    use tezgram::domain::chat::{Change, ChatKind};
    use tezgram::domain::ports::ChatStore;
    let changes = [
        Change::Profile(profile(42, ChatKind::Private, "Alice")),
        new(message(account.id, 42, 1, "hi", false)),
    ];
    store
        .apply(&account.tenant, account.id, &changes)
        .await
        .expect("store a chat with a message");
}

#[tokio::test]
async fn an_unreachable_database_is_unavailable_quickly() {
    let started = Instant::now();
    // Nothing listens on port 1.
    let err = Store::connect("postgres://postgres@127.0.0.1:1/tezgram")
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Unavailable(_)), "got {err:?}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "took {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn creating_with_a_request_id_is_idempotent() {
    let db = TestDb::fresh().await;
    let store = migrated_store(&db).await;
    let acme = tenant("acme");
    let first = account(&acme, 1);
    let created = store.create_account(&first, Some("req-1")).await.unwrap();
    assert_eq!(created.id, first.id);

    // A retry with the same request id gets the first account; nothing new is written.
    let retry = account(&acme, 2);
    let again = store.create_account(&retry, Some("req-1")).await.unwrap();
    assert_eq!(again.id, first.id);
    let page = store.list_accounts(&acme, None, 10).await.unwrap();
    assert_eq!(page.accounts.len(), 1);

    // Request ids are per tenant.
    let other = account(&tenant("globex"), 3);
    assert_eq!(
        store
            .create_account(&other, Some("req-1"))
            .await
            .unwrap()
            .id,
        other.id
    );
    db.cleanup().await;
}

#[tokio::test]
async fn accounts_update_delete_and_keep_login_state() {
    let db = TestDb::fresh().await;
    let store = migrated_store(&db).await;
    let acme = tenant("acme");
    let mut a = account(&acme, 1);
    a.state = AccountState::LoginCodeRequired;
    store.insert_account(&a).await.unwrap();
    assert!(
        store
            .accounts_in_state(AccountState::Authorized)
            .await
            .unwrap()
            .is_empty()
    );

    let sealed = tezgram::domain::ports::Sealed {
        sealed: vec![1, 2, 3],
        key_id: "k1".into(),
    };
    store.save_login_state(a.id, Some(&sealed)).await.unwrap();
    assert_eq!(store.load_login_state(a.id).await.unwrap(), Some(sealed));

    let from = Expect {
        state: a.state,
        session_epoch: None,
    };
    a.state = AccountState::Authorized;
    a.telegram_user_id = Some(4242);
    a.display_name = "Renamed".into();
    a.updated_at = now();
    store.update_account(&a, from, &[]).await.unwrap();
    // The same write again expects a state that is gone: refused.
    assert!(matches!(
        store.update_account(&a, from, &[]).await,
        Err(StoreError::Conflict { .. })
    ));
    store.save_login_state(a.id, None).await.unwrap();
    assert_eq!(store.load_login_state(a.id).await.unwrap(), None);
    assert_eq!(store.get_account(&acme, a.id).await.unwrap(), a);
    let authorized = store
        .accounts_in_state(AccountState::Authorized)
        .await
        .unwrap();
    assert_eq!(authorized.iter().map(|x| x.id).collect::<Vec<_>>(), [a.id]);

    // Other tenants can neither update nor delete it.
    let mut stranger = a.clone();
    stranger.tenant = tenant("globex");
    assert!(matches!(
        store
            .update_account(
                &stranger,
                Expect {
                    state: AccountState::Authorized,
                    session_epoch: None
                },
                &[]
            )
            .await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(
        store.delete_account(&tenant("globex"), a.id).await,
        Err(StoreError::NotFound { .. })
    ));
    // Its events go with it; another account's stay.
    use tezgram::domain::event::{EventPayload, NewEvent};
    use tezgram::domain::ports::EventLog;
    let changed = |account| NewEvent {
        tenant: acme.clone(),
        account: Some(account),
        payload: EventPayload::AccountStateChanged {
            state: AccountState::Authorized,
            previous_state: Some(AccountState::LoginCodeRequired),
            reason: "LOGGED_IN".into(),
            account: None,
        },
    };
    let other = account(&acme, 2);
    store.insert_account(&other).await.unwrap();
    store
        .append(&[changed(a.id), changed(other.id)])
        .await
        .unwrap();
    store.delete_account(&acme, a.id).await.unwrap();
    let left = store.events_after(&acme, 0, 10).await.unwrap();
    assert_eq!(
        left.iter().map(|e| e.account).collect::<Vec<_>>(),
        [Some(other.id)]
    );
    assert!(matches!(
        store.get_account(&acme, a.id).await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(
        store.load_login_state(a.id).await,
        Err(StoreError::NotFound { .. })
    ));
    db.cleanup().await;
}
