//! Telegram sessions are persisted sealed, survive a reopen, resolve the
//! self user, and never reach the database in plain text.

use std::net::{Ipv4Addr, SocketAddrV4, SocketAddrV6};
use std::sync::Arc;
use std::time::Duration;

use grammers_session::Session;
use grammers_session::types::{DcOption, PeerAuth, PeerId, PeerInfo, UpdateState};
use sea_orm::{ConnectionTrait, Statement};
use tezgram::crypto::Sealer;

use tezgram::domain::AccountId;
use tezgram::domain::ports::{AccountStore, Sealed, SessionRow, SessionStore, StoreError};
use tezgram::storage::Store;
use tezgram::telegram::session::{SessionData, SessionOptions};
use tezgram::telegram::{SessionError, StoredSession};

use crate::db::TestDb;

fn sealer() -> Sealer {
    Sealer::from_specs(&[Sealer::generate_spec("k1").to_string()], None).unwrap()
}

fn sandbox_dc(key: [u8; 256]) -> DcOption {
    DcOption {
        id: 2,
        ipv4: SocketAddrV4::new(Ipv4Addr::LOCALHOST, 40000),
        ipv6: SocketAddrV6::new(Ipv4Addr::LOCALHOST.to_ipv6_mapped(), 40000, 0, 0),
        auth_key: Some(key),
    }
}

async fn setup() -> (TestDb, Store, tezgram::domain::Account) {
    let db = TestDb::fresh().await;
    let store = Store::connect(&db.url).await.unwrap();
    store.migrate().await.unwrap();
    let account = crate::api::account("acme", "Acme");
    store.insert_account(&account).await.unwrap();
    (db, store, account)
}

#[tokio::test]
async fn sessions_are_sealed_at_rest_and_survive_a_reopen() {
    let (db, store, account) = setup().await;
    let sealer = sealer();
    let key: [u8; 256] = std::array::from_fn(|i| (i * 7 + 3) as u8);
    let port: Arc<dyn SessionStore> = Arc::new(store.clone());

    let session = StoredSession::open(
        account.id,
        port.clone(),
        sealer.clone(),
        SessionOptions::default(),
        || SessionData::for_dc(sandbox_dc(key)),
    )
    .await
    .unwrap();
    assert_eq!(session.home_dc_id().unwrap(), 2);
    assert!(
        session.peer(PeerId::self_user()).await.unwrap().is_none(),
        "not signed in yet"
    );
    session
        .cache_peer(PeerInfo::User {
            id: 777,
            auth: Some(PeerAuth::from_hash(4242)),
            bot: Some(false),
            is_self: Some(true),
        })
        .await
        .unwrap();
    session
        .set_update_state(UpdateState::Primary {
            pts: 10,
            date: 1_700_000_000,
            seq: 3,
        })
        .await
        .unwrap();
    session.flush().await.unwrap();

    // The raw row holds neither the auth key nor anything readable.
    let row = store
        .connection()
        .query_one_raw(Statement::from_sql_and_values(
            store.connection().get_database_backend(),
            "SELECT session FROM accounts WHERE id = $1",
            [account.id.to_string().into()],
        ))
        .await
        .unwrap()
        .unwrap();
    let raw: Vec<u8> = row.try_get("", "session").unwrap();
    assert!(
        !raw.windows(32).any(|w| w == &key[..32]),
        "auth key bytes in the row"
    );
    let hex_key = hex::encode(&key[..32]);
    assert!(
        !raw.windows(hex_key.len()).any(|w| w == hex_key.as_bytes()),
        "hex auth key in the row"
    );
    assert!(
        !raw.windows(4).any(|w| w == b"4242" || w == b"home"),
        "plain json in the row"
    );

    drop(session);
    let reopened = StoredSession::open(
        account.id,
        port.clone(),
        sealer.clone(),
        SessionOptions::default(),
        || panic!("a stored session must be loaded, not recreated"),
    )
    .await
    .unwrap();
    let me = reopened
        .peer(PeerId::self_user())
        .await
        .unwrap()
        .expect("self user resolves");
    assert_eq!(me.id(), PeerId::user_unchecked(777));
    assert_eq!(reopened.dc_option(2).unwrap().unwrap().auth_key, Some(key));
    assert_eq!(reopened.updates_state().await.unwrap().pts, 10);

    // Another key cannot open it (e.g. a misconfigured rotation).
    let err = StoredSession::open(
        account.id,
        port,
        self::sealer(),
        SessionOptions::default(),
        SessionData::default,
    )
    .await
    .unwrap_err();
    assert!(matches!(err, SessionError::Unsealable(_)), "{err:?}");
    db.cleanup().await;
}

/// Counted is the real store, counting the session saves that reach it.
struct Counted {
    store: Store,
    saves: std::sync::atomic::AtomicUsize,
}

#[async_trait::async_trait]
impl SessionStore for Counted {
    async fn load_session(&self, account: AccountId) -> Result<SessionRow, StoreError> {
        self.store.load_session(account).await
    }

    async fn save_session(
        &self,
        account: AccountId,
        epoch: i64,
        version: i64,
        session: &Sealed,
        fence: Option<&tezgram::domain::lease::Fence>,
    ) -> Result<(), StoreError> {
        self.saves.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.store
            .save_session(account, epoch, version, session, fence)
            .await
    }

    async fn replace_session(
        &self,
        account: AccountId,
        expected_epoch: i64,
        session: &Sealed,
    ) -> Result<i64, StoreError> {
        self.store
            .replace_session(account, expected_epoch, session)
            .await
    }
}

#[tokio::test]
async fn bursts_of_changes_are_coalesced_and_all_saved() {
    let (db, store, account) = setup().await;
    let counted = Arc::new(Counted {
        store: store.clone(),
        saves: Default::default(),
    });
    let port: Arc<dyn SessionStore> = counted.clone();
    let sealer = sealer();
    let session = StoredSession::open(
        account.id,
        port.clone(),
        sealer.clone(),
        SessionOptions::default(),
        SessionData::default,
    )
    .await
    .unwrap();
    let before = counted.saves.load(std::sync::atomic::Ordering::SeqCst);
    for id in 1..=200 {
        session
            .cache_peer(PeerInfo::Channel {
                id,
                auth: Some(PeerAuth::from_hash(id * 10)),
                kind: None,
            })
            .await
            .unwrap();
    }
    tokio::time::timeout(Duration::from_secs(10), session.flush())
        .await
        .expect("flush within 10s")
        .unwrap();
    let saves = counted.saves.load(std::sync::atomic::Ordering::SeqCst) - before;
    assert!(
        (1..200).contains(&saves),
        "200 changes in a burst are saved at least once and coalesced: {saves} saves"
    );
    let saved = store
        .load_session(account.id)
        .await
        .unwrap()
        .sealed
        .unwrap();
    assert_eq!(saved.key_id, "k1");
    drop(session);

    // The round trip: a reopened session has every peer of the burst.
    let reopened = StoredSession::load(account.id, port, sealer, SessionOptions::default())
        .await
        .unwrap()
        .expect("a saved session");
    let peers = reopened.snapshot().unwrap().peers;
    for id in 1..=200 {
        let peer = peers
            .get(&PeerId::channel(id).unwrap())
            .unwrap_or_else(|| panic!("channel {id} was saved"));
        assert_eq!(peer.auth(), Some(PeerAuth::from_hash(id * 10)));
    }
    db.cleanup().await;
}
