//! One auth key used from two connections at once, through the real
//! grammers 0.11 client: what Telegram answers 406 AUTH_KEY_DUPLICATED to.
//! A client that reconnects (its old connection dropped or merely not
//! closed yet) keeps its key; two live clients calling on one key lose it,
//! for good and on every connection; pings and acks on an old connection
//! are no use of the key.

use std::collections::HashMap;
use std::net::{SocketAddr, SocketAddrV6};
use std::sync::Arc;
use std::time::Duration;

use crate::DC_ID;
use crate::dc::{SandboxDc, SandboxDcHandle, SandboxDcOptions};
use crate::link::{DuplicateKeyIncident, SandboxLink};
use crate::mtproto::crypto::{AuthKey, Direction};
use crate::mtproto::envelope::{self, Envelope, Message, RPC_RESULT};
use crate::mtproto::frame::{FrameReader, FrameWriter};
use crate::network::NewUser;
use grammers_client::Client;
use grammers_client::InvocationError;
use grammers_client::sender::{ConnectionParams, NoRetries, SenderPool};
use grammers_client::session::SessionData;
use grammers_client::session::storages::MemorySession;
use grammers_client::session::types::DcOption;
use grammers_client::tl::{self, Deserializable, Serializable};
use rand::RngCore;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

const WAIT: Duration = Duration::from_secs(10);
const API_ID: i32 = 12345;

async fn start(data_dir: Option<std::path::PathBuf>, detect: bool) -> SandboxDcHandle {
    SandboxDc::start(SandboxDcOptions {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        data_dir,
        max_difference: None,
        detect_duplicate_keys: detect,
    })
    .await
    .expect("sandbox dc starts")
}

/// signed_in is a user and a key signed in as them (as a gateway's session
/// would be after its login).
fn signed_in(dc: &SandboxDcHandle) -> (i64, [u8; 256]) {
    let user = dc
        .network()
        .create_user(NewUser {
            phone: "9996621234".into(),
            first_name: "Ann".into(),
            ..NewUser::default()
        })
        .expect("user created");
    let mut key = [0u8; 256];
    rand::rng().fill_bytes(&mut key);
    dc.sign_in(user.id, key).expect("key signed in");
    (user.id, key)
}

/// Process is one grammers client (one sender pool, so one connection at a
/// time) on a session holding `key`: a process using the key.
struct Process {
    client: Client,
    runner: tokio::task::JoinHandle<()>,
}

impl Drop for Process {
    fn drop(&mut self) {
        // Aborting the runner drops its connection: the process is gone.
        self.runner.abort();
    }
}

impl Process {
    fn new(dc: &SandboxDcHandle, key: [u8; 256]) -> Process {
        let SocketAddr::V4(ipv4) = dc.addr() else {
            panic!("the sandbox listens on IPv4 loopback");
        };
        let option = DcOption {
            id: DC_ID,
            ipv4,
            ipv6: SocketAddrV6::new(ipv4.ip().to_ipv6_mapped(), ipv4.port(), 0, 0),
            auth_key: Some(key),
        };
        let session = MemorySession::from(SessionData {
            home_dc: DC_ID,
            dc_options: HashMap::from([(DC_ID, option)]),
            ..SessionData::default()
        });
        let params = ConnectionParams {
            retry_policy: Box::new(NoRetries),
            ..ConnectionParams::default()
        };
        let pool = SenderPool::with_configuration(Arc::new(session), API_ID, params);
        let client = Client::new(pool.handle);
        let runner = tokio::spawn(pool.runner.run());
        Process { client, runner }
    }

    async fn get_state(&self) -> Result<(), InvocationError> {
        timeout(
            WAIT,
            self.client.invoke(&tl::functions::updates::GetState {}),
        )
        .await
        .expect("the sandbox answered in time")
        .map(drop)
    }

    /// get_state_reconnecting is `get_state` after the sandbox dropped the
    /// connection: the first call may fail on the dead connection (this
    /// client does not retry), the next one opens a new connection.
    async fn get_state_reconnecting(&self) -> Result<(), InvocationError> {
        match self.get_state().await {
            Err(InvocationError::Io(_) | InvocationError::Dropped(_)) => self.get_state().await,
            other => other,
        }
    }
}

fn duplicated<T: std::fmt::Debug>(result: Result<T, InvocationError>) -> bool {
    match result {
        Err(InvocationError::Rpc(rpc)) => {
            assert_eq!(
                (rpc.code, rpc.name.as_str()),
                (406, "AUTH_KEY_DUPLICATED"),
                "the refusal"
            );
            true
        }
        Ok(_) => false,
        Err(other) => panic!("expected AUTH_KEY_DUPLICATED or success, got {other:?}"),
    }
}

async fn incidents(dc: &SandboxDcHandle) -> Vec<DuplicateKeyIncident> {
    SandboxLink::duplicate_key_incidents(dc).await.unwrap()
}

#[tokio::test]
async fn a_client_that_reconnects_keeps_its_key() {
    let dc = start(None, true).await;
    let (user, key) = signed_in(&dc);
    let auth_key_id = crate::auth_key_id(&key);

    // The sandbox drops the connection; the client calls again on a new one.
    let first = Process::new(&dc, key);
    first.get_state().await.unwrap();
    assert_eq!(dc.disconnect(auth_key_id), 1);
    first.get_state_reconnecting().await.unwrap();
    first.get_state().await.unwrap();

    // A process restarted: its successor calls while the old connection is
    // still open (the sandbox has not seen it close), then it goes away.
    let second = Process::new(&dc, key);
    second.get_state().await.unwrap();
    assert_eq!(dc.live_sessions(user), vec![(auth_key_id, 2)]);
    drop(first);
    second.get_state().await.unwrap();

    assert_eq!(incidents(&dc).await, vec![]);
    assert_eq!(dc.sessions_of(user), vec![auth_key_id], "still signed in");
}

#[tokio::test]
async fn two_clients_calling_on_one_key_lose_it_for_good() {
    let dc = start(None, true).await;
    let (user, key) = signed_in(&dc);
    let auth_key_id = crate::auth_key_id(&key);
    let older = Process::new(&dc, key);
    older.get_state().await.unwrap();
    let newer = Process::new(&dc, key);
    newer.get_state().await.unwrap();

    // The older client calls again after the newer one took over.
    assert!(duplicated(older.get_state().await), "the older's call");
    let recorded = incidents(&dc).await;
    let [incident] = recorded.as_slice() else {
        panic!("one incident, got {recorded:?}");
    };
    assert_eq!(incident.auth_key_id, auth_key_id);
    assert_eq!(incident.user_id, Some(user));
    assert!(
        incident.older_connection_id < incident.newer_connection_id,
        "{incident:?}"
    );
    assert!(incident.at > 0);

    // The key is dead: on the newer connection, and on a fresh one (whose
    // first call, invokeWithLayer(initConnection), is refused already).
    assert!(duplicated(newer.get_state().await), "the newer's call");
    let third = Process::new(&dc, key);
    assert!(
        duplicated(third.get_state().await),
        "a new connection's call"
    );
    // The user's devices no longer include it, and updates stop.
    assert_eq!(dc.sessions_of(user), Vec::<i64>::new());
    assert_eq!(
        incidents(&dc).await.len(),
        1,
        "one incident, not one per call"
    );
}

#[tokio::test]
async fn a_duplicated_key_stays_dead_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let dc = start(Some(dir.path().to_owned()), true).await;
    let (_, key) = signed_in(&dc);
    let older = Process::new(&dc, key);
    older.get_state().await.unwrap();
    let newer = Process::new(&dc, key);
    newer.get_state().await.unwrap();
    assert!(duplicated(older.get_state().await));
    drop((older, newer));
    dc.shutdown().await.unwrap();

    let dc = start(Some(dir.path().to_owned()), true).await;
    let again = Process::new(&dc, key);
    assert!(duplicated(again.get_state().await), "still refused");
    assert_eq!(incidents(&dc).await.len(), 1, "the incident is kept");
    dc.shutdown().await.unwrap();
}

#[tokio::test]
async fn without_detection_two_clients_share_a_key() {
    let dc = start(None, false).await;
    let (_, key) = signed_in(&dc);
    let older = Process::new(&dc, key);
    older.get_state().await.unwrap();
    let newer = Process::new(&dc, key);
    newer.get_state().await.unwrap();
    older.get_state().await.unwrap();
    newer.get_state().await.unwrap();
    assert_eq!(incidents(&dc).await, vec![]);
}

/// RawConnection speaks MTProto by hand on one TCP connection, so a test
/// decides exactly what an old connection sends.
struct RawConnection {
    stream: TcpStream,
    key: AuthKey,
    frames_out: FrameWriter,
    frames_in: FrameReader,
    next_msg_id: i64,
}

impl RawConnection {
    async fn open(dc: &SandboxDcHandle, key: [u8; 256]) -> RawConnection {
        RawConnection {
            stream: TcpStream::connect(dc.addr()).await.unwrap(),
            key: AuthKey::from_bytes(key),
            frames_out: FrameWriter::new(),
            frames_in: FrameReader::new(1 << 20),
            next_msg_id: 1_700_000_000_i64 << 32,
        }
    }

    async fn send(&mut self, body: Vec<u8>) -> i64 {
        self.next_msg_id += 4;
        let msg_id = self.next_msg_id;
        let payload = envelope::seal(
            &self.key,
            Direction::ClientToServer,
            &Envelope {
                salt: 0,
                session_id: 99,
                message: Message {
                    msg_id,
                    seq_no: 1,
                    body,
                },
            },
        );
        let frame = self.frames_out.pack(&payload);
        self.stream.write_all(&frame).await.unwrap();
        msg_id
    }

    async fn receive(&mut self) -> Vec<u8> {
        let mut buf = [0u8; 4096];
        let frame = timeout(WAIT, async {
            loop {
                if let Some(frame) = self.frames_in.next_frame().unwrap() {
                    return frame;
                }
                let n = self.stream.read(&mut buf).await.unwrap();
                assert!(n > 0, "the sandbox closed the connection");
                self.frames_in.feed(&buf[..n]);
            }
        })
        .await
        .expect("an answer in time");
        envelope::open(&self.key, Direction::ServerToClient, &frame)
            .unwrap()
            .message
            .body
    }

    /// call sends a call and reads its answer: `Err` with the rpc_error's
    /// code and message, or `Ok` with the result.
    async fn call(&mut self, request: Vec<u8>) -> Result<Vec<u8>, (i32, String)> {
        let msg_id = self.send(request).await;
        let body = self.receive().await;
        assert_eq!(envelope::constructor_id(&body), Some(RPC_RESULT));
        assert_eq!(
            body[4..12],
            msg_id.to_le_bytes(),
            "the answer names the call"
        );
        let result = body[12..].to_vec();
        match tl::enums::RpcError::from_bytes(&result) {
            Ok(tl::enums::RpcError::Error(error)) => Err((error.error_code, error.error_message)),
            Err(_) => Ok(result),
        }
    }
}

#[tokio::test]
async fn pings_and_acks_on_an_old_connection_do_not_use_the_key() {
    let dc = start(None, true).await;
    let (_, key) = signed_in(&dc);
    let mut old = RawConnection::open(&dc, key).await;
    old.call(tl::functions::updates::GetState {}.to_bytes())
        .await
        .expect("the old connection's call");
    let newer = Process::new(&dc, key);
    newer.get_state().await.unwrap();

    // Keepalives on the old connection, still open, after the takeover.
    let ping = old
        .send(
            tl::functions::PingDelayDisconnect {
                ping_id: 7,
                disconnect_delay: 75,
            }
            .to_bytes(),
        )
        .await;
    let tl::enums::Pong::Pong(pong) = tl::enums::Pong::from_bytes(&old.receive().await).unwrap();
    assert_eq!((pong.msg_id, pong.ping_id), (ping, 7));
    old.send(
        tl::enums::MsgsAck::Ack(tl::types::MsgsAck {
            msg_ids: vec![ping],
        })
        .to_bytes(),
    )
    .await;
    old.send(tl::functions::GetFutureSalts { num: 1 }.to_bytes())
        .await;
    let tl::enums::FutureSalts::Salts(salts) =
        tl::enums::FutureSalts::from_bytes(&old.receive().await).unwrap();
    assert_eq!(salts.salts.0.len(), 1);
    newer.get_state().await.unwrap();
    assert_eq!(incidents(&dc).await, vec![]);

    // The old connection did still count: a real call on it now is the
    // concurrent use the keepalives were not.
    let refused = old
        .call(tl::functions::updates::GetState {}.to_bytes())
        .await;
    assert_eq!(refused, Err((406, "AUTH_KEY_DUPLICATED".into())));
    assert_eq!(incidents(&dc).await.len(), 1);
}
