//! The sandbox DC's wire layer, through the real grammers 0.11 client: a
//! session that already holds a registered auth key connects to the loopback
//! sandbox, and calls, errors, pushed updates, dropped connections and
//! dispatcher panics behave as they do against Telegram. Hostile raw TCP peers
//! lose their connection without disturbing anyone else.

use std::collections::HashMap;
use std::net::{SocketAddr, SocketAddrV6};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::mtproto::crypto::{AuthKey, Direction};
use crate::mtproto::envelope::{self, Envelope, Message};
use crate::mtproto::frame::{FrameReader, FrameWriter};
use crate::mtproto::{
    AuthKeys, CallContext, Dispatch, MtprotoServer, MtprotoServerHandle, MtprotoServerOptions,
    RpcError, request_constructor,
};
use async_trait::async_trait;
use grammers_client::Client;
use grammers_client::InvocationError;
use grammers_client::sender::{ConnectionParams, NoRetries, SenderPool, UpdatesConfiguration};
use grammers_client::session::SessionData;
use grammers_client::session::storages::MemorySession;
use grammers_client::session::types::DcOption;
use grammers_client::session::updates::UpdatesLike;
use grammers_client::tl::{self, Deserializable, Identifiable, Serializable};
use grammers_client::update::Update;
use rand::RngCore;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::time::timeout;

const WAIT: Duration = Duration::from_secs(10);
const API_ID: i32 = 12345;
const HOME_DC: i32 = 2;

/// A tiny Telegram: getConfig, getState, and scripted failures.
#[derive(Default)]
struct TestTelegram {
    calls: Mutex<Vec<(CallContext, u32)>>,
}

impl TestTelegram {
    fn calls_of(&self, constructor: u32) -> Vec<CallContext> {
        self.calls
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, c)| *c == constructor)
            .map(|(ctx, _)| ctx.clone())
            .collect()
    }
}

/// config is the sandbox's own help.getConfig answer (empty dc_options).
fn config() -> tl::enums::Config {
    crate::rpc::config(1_700_000_000)
}

#[async_trait]
impl Dispatch for TestTelegram {
    async fn call(&self, ctx: &CallContext, request: &[u8]) -> Result<Vec<u8>, RpcError> {
        let constructor = request_constructor(request).unwrap_or_default();
        self.calls.lock().unwrap().push((ctx.clone(), constructor));
        use tl::functions as f;
        match constructor {
            f::help::GetConfig::CONSTRUCTOR_ID => Ok(config().to_bytes()),
            f::updates::GetState::CONSTRUCTOR_ID => {
                Ok(tl::enums::updates::State::State(tl::types::updates::State {
                    pts: 7,
                    qts: 0,
                    date: 1_700_000_000,
                    seq: 1,
                    unread_count: 0,
                })
                .to_bytes())
            }
            f::help::GetSupport::CONSTRUCTOR_ID => Err(RpcError::flood_wait(3)),
            f::help::GetNearestDc::CONSTRUCTOR_ID => panic!("scripted dispatcher panic"),
            _ => Err(RpcError::method_invalid(request)),
        }
    }
}

struct Sandbox {
    handle: MtprotoServerHandle,
    keys: AuthKeys,
    telegram: Arc<TestTelegram>,
}

impl Sandbox {
    async fn start() -> Sandbox {
        let keys = AuthKeys::new();
        let telegram = Arc::new(TestTelegram::default());
        let server = MtprotoServer::bind(
            MtprotoServerOptions::default(),
            keys.clone(),
            Arc::clone(&telegram) as Arc<dyn Dispatch>,
        )
        .await
        .unwrap();
        let handle = server.handle();
        tokio::spawn(server.run());
        Sandbox {
            handle,
            keys,
            telegram,
        }
    }

    /// A grammers client with a fresh registered key whose home DC is the sandbox.
    fn client(&self, retry: bool) -> TestClient {
        let mut key = [0u8; 256];
        rand::rng().fill_bytes(&mut key);
        let auth_key_id = self.keys.register(key);
        let SocketAddr::V4(ipv4) = self.handle.local_addr() else {
            panic!("the sandbox listens on IPv4 loopback");
        };
        let dc = DcOption {
            id: HOME_DC,
            ipv4,
            ipv6: SocketAddrV6::new(ipv4.ip().to_ipv6_mapped(), ipv4.port(), 0, 0),
            auth_key: Some(key),
        };
        let session = MemorySession::from(SessionData {
            home_dc: HOME_DC,
            dc_options: HashMap::from([(HOME_DC, dc)]),
            ..SessionData::default()
        });
        let mut params = ConnectionParams {
            device_model: "sandbox-wire-test".into(),
            ..ConnectionParams::default()
        };
        if !retry {
            params.retry_policy = Box::new(NoRetries);
        }
        let pool = SenderPool::with_configuration(Arc::new(session), API_ID, params);
        let client = Client::new(pool.handle);
        let runner = tokio::spawn(pool.runner.run());
        TestClient {
            client,
            auth_key_id,
            updates: Some(pool.updates),
            runner,
        }
    }
}

struct TestClient {
    client: Client,
    auth_key_id: i64,
    updates: Option<mpsc::Receiver<UpdatesLike>>,
    runner: tokio::task::JoinHandle<()>,
}

impl Drop for TestClient {
    fn drop(&mut self) {
        self.runner.abort();
    }
}

async fn get_config(client: &Client) -> Result<tl::types::Config, InvocationError> {
    let tl::enums::Config::Config(config) =
        timeout(WAIT, client.invoke(&tl::functions::help::GetConfig {}))
            .await
            .expect("getConfig answered in time")?;
    Ok(config)
}

#[tokio::test]
async fn grammers_gets_config_and_state_through_the_sandbox() {
    let sandbox = Sandbox::start().await;
    let tc = sandbox.client(false);

    let config = get_config(&tc.client).await.unwrap();
    assert_eq!(config.this_dc, HOME_DC);
    assert!(config.dc_options.is_empty());

    let tl::enums::updates::State::State(state) =
        timeout(WAIT, tc.client.invoke(&tl::functions::updates::GetState {}))
            .await
            .unwrap()
            .unwrap();
    assert_eq!((state.pts, state.seq), (7, 1));

    // The first call of the connection carried invokeWithLayer(initConnection(getConfig)),
    // and the dispatcher saw the context the wrappers described.
    let contexts = sandbox
        .telegram
        .calls_of(tl::functions::help::GetConfig::CONSTRUCTOR_ID);
    let first = &contexts[0];
    assert_eq!(first.auth_key_id, tc.auth_key_id);
    assert_eq!(first.layer, Some(tl::LAYER));
    let client_info = first.client.as_ref().expect("initConnection was seen");
    assert_eq!(client_info.api_id, API_ID);
    assert_eq!(client_info.device_model, "sandbox-wire-test");
    let state_ctx = &sandbox
        .telegram
        .calls_of(tl::functions::updates::GetState::CONSTRUCTOR_ID)[0];
    assert_eq!(state_ctx.connection_id, first.connection_id);
    assert_eq!(state_ctx.session_id, first.session_id);
    assert_eq!(
        state_ctx.layer,
        Some(tl::LAYER),
        "the layer sticks to the connection"
    );
}

#[tokio::test]
async fn rpc_errors_reach_grammers_with_code_name_and_value() {
    let sandbox = Sandbox::start().await;
    let tc = sandbox.client(false);
    get_config(&tc.client).await.unwrap();

    let err = timeout(
        WAIT,
        tc.client.invoke(&tl::functions::help::GetCdnConfig {}),
    )
    .await
    .unwrap()
    .unwrap_err();
    let InvocationError::Rpc(rpc) = err else {
        panic!("expected an rpc error, got {err:?}");
    };
    assert_eq!(rpc.code, 400);
    assert_eq!(rpc.name, "INPUT_METHOD_INVALID");
    assert_eq!(
        rpc.value,
        Some(tl::functions::help::GetCdnConfig::CONSTRUCTOR_ID)
    );

    let err = timeout(WAIT, tc.client.invoke(&tl::functions::help::GetSupport {}))
        .await
        .unwrap()
        .unwrap_err();
    let InvocationError::Rpc(rpc) = err else {
        panic!("expected an rpc error, got {err:?}");
    };
    assert_eq!(
        (rpc.code, rpc.name.as_str(), rpc.value),
        (420, "FLOOD_WAIT", Some(3))
    );
}

#[tokio::test]
async fn large_requests_arrive_gzip_packed_and_are_inflated() {
    // grammers gzips request bodies of 512 bytes and more; the dispatcher must
    // still see the plain function (here refused, which names its constructor).
    let sandbox = Sandbox::start().await;
    let tc = sandbox.client(false);
    get_config(&tc.client).await.unwrap();
    let request = tl::functions::langpack::GetStrings {
        lang_pack: "android".into(),
        lang_code: "en".into(),
        keys: (0..200).map(|i| format!("key_{i:04}")).collect(),
    };
    assert!(request.to_bytes().len() >= 512);
    let err = timeout(WAIT, tc.client.invoke(&request))
        .await
        .unwrap()
        .unwrap_err();
    let InvocationError::Rpc(rpc) = err else {
        panic!("expected an rpc error, got {err:?}");
    };
    assert_eq!(rpc.name, "INPUT_METHOD_INVALID");
    assert_eq!(
        rpc.value,
        Some(tl::functions::langpack::GetStrings::CONSTRUCTOR_ID)
    );
}

#[tokio::test]
async fn default_retry_policy_sleeps_through_a_small_flood_wait() {
    // With grammers' default AutoSleep, FLOOD_WAIT_3 is slept through once and
    // the retry's error is what the caller sees: about 3 s later, two calls.
    let sandbox = Sandbox::start().await;
    let tc = sandbox.client(true);
    get_config(&tc.client).await.unwrap();
    let started = std::time::Instant::now();
    let err = timeout(WAIT, tc.client.invoke(&tl::functions::help::GetSupport {}))
        .await
        .unwrap()
        .unwrap_err();
    assert!(matches!(err, InvocationError::Rpc(ref rpc) if rpc.code == 420));
    assert!(started.elapsed() >= Duration::from_secs(3));
    assert_eq!(
        sandbox
            .telegram
            .calls_of(tl::functions::help::GetSupport::CONSTRUCTOR_ID)
            .len(),
        2
    );
}

fn update_short_new_message(text: &str) -> Vec<u8> {
    let message = tl::types::Message {
        out: false,
        mentioned: false,
        media_unread: false,
        silent: false,
        post: false,
        from_scheduled: false,
        legacy: false,
        edit_hide: false,
        pinned: false,
        noforwards: false,
        invert_media: false,
        offline: false,
        video_processing_pending: false,
        paid_suggested_post_stars: false,
        paid_suggested_post_ton: false,
        id: 42,
        from_id: Some(tl::enums::Peer::User(tl::types::PeerUser { user_id: 777 })),
        from_boosts_applied: None,
        from_rank: None,
        peer_id: tl::enums::Peer::User(tl::types::PeerUser { user_id: 777 }),
        saved_peer_id: None,
        fwd_from: None,
        via_bot_id: None,
        via_business_bot_id: None,
        guestchat_via_from: None,
        reply_to: None,
        date: 1_700_000_100,
        message: text.into(),
        media: None,
        reply_markup: None,
        entities: None,
        views: None,
        forwards: None,
        replies: None,
        edit_date: None,
        post_author: None,
        grouped_id: None,
        reactions: None,
        restriction_reason: None,
        ttl_period: None,
        quick_reply_shortcut_id: None,
        effect: None,
        factcheck: None,
        report_delivery_until_date: None,
        paid_message_stars: None,
        suggested_post: None,
        schedule_repeat_period: None,
        summary_from_language: None,
        rich_message: None,
    };
    tl::enums::Updates::UpdateShort(tl::types::UpdateShort {
        update: tl::enums::Update::NewMessage(tl::types::UpdateNewMessage {
            message: tl::enums::Message::Message(message),
            pts: 8,
            pts_count: 1,
        }),
        date: 1_700_000_100,
    })
    .to_bytes()
}

#[tokio::test]
async fn pushed_update_short_reaches_the_update_stream() {
    let sandbox = Sandbox::start().await;
    let mut tc = sandbox.client(false);
    get_config(&tc.client).await.unwrap();
    let updates = tc.updates.take().unwrap();
    let mut stream = tc
        .client
        .stream_updates(updates, UpdatesConfiguration::default())
        .await
        .unwrap();

    assert_eq!(
        sandbox.handle.push(
            tc.auth_key_id,
            update_short_new_message("hello from the sandbox")
        ),
        1
    );
    let update = timeout(WAIT, stream.next())
        .await
        .expect("update in time")
        .unwrap();
    let Update::NewMessage(message) = update else {
        panic!("expected a new message, got another update");
    };
    assert_eq!(message.text(), "hello from the sandbox");
    assert_eq!(message.id(), 42);
    // Pushing to a key without connections reaches nobody.
    assert_eq!(sandbox.handle.push(-1, update_short_new_message("x")), 0);
}

/// Reads until the server closes the socket; false if it is still open at the deadline.
async fn closed_by_server(stream: &mut TcpStream) -> bool {
    let mut buf = [0u8; 1024];
    let result = timeout(WAIT, async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => continue,
            }
        }
    })
    .await;
    result.is_ok()
}

fn client_payload(key: &AuthKey, body: Vec<u8>) -> Vec<u8> {
    envelope::seal(
        key,
        Direction::ClientToServer,
        &Envelope {
            salt: 0,
            session_id: 99,
            message: Message {
                msg_id: 1_700_000_000_i64 << 32,
                seq_no: 1,
                body,
            },
        },
    )
}

#[tokio::test]
async fn hostile_raw_connections_are_closed_and_others_keep_working() {
    let sandbox = Sandbox::start().await;
    let tc = sandbox.client(false);
    get_config(&tc.client).await.unwrap();
    let addr = sandbox.handle.local_addr();

    // Raw garbage: not even a frame.
    let mut garbage = TcpStream::connect(addr).await.unwrap();
    let mut junk = [0u8; 256];
    rand::rng().fill_bytes(&mut junk);
    junk[..4].copy_from_slice(&(-404_i32).to_le_bytes());
    garbage.write_all(&junk).await.unwrap();

    // A valid frame around garbage.
    let mut framed_garbage = TcpStream::connect(addr).await.unwrap();
    let mut payload = vec![0u8; 128];
    rand::rng().fill_bytes(&mut payload);
    framed_garbage
        .write_all(&FrameWriter::new().pack(&payload))
        .await
        .unwrap();

    // A well-formed encrypted payload under a key the sandbox never saw.
    let mut unknown = TcpStream::connect(addr).await.unwrap();
    let mut stranger = [0u8; 256];
    rand::rng().fill_bytes(&mut stranger);
    let stranger = AuthKey::from_bytes(stranger);
    let ping = tl::functions::Ping { ping_id: 1 }.to_bytes();
    unknown
        .write_all(&FrameWriter::new().pack(&client_payload(&stranger, ping.clone())))
        .await
        .unwrap();

    // A plaintext (auth_key_id 0) message, as a DH exchange would start.
    let mut plaintext = TcpStream::connect(addr).await.unwrap();
    let mut plain = vec![0u8; 8];
    plain.extend_from_slice(&(1_700_000_000_i64 << 32).to_le_bytes());
    plain.extend_from_slice(&(ping.len() as i32).to_le_bytes());
    plain.extend_from_slice(&ping);
    plaintext
        .write_all(&FrameWriter::new().pack(&plain))
        .await
        .unwrap();

    // The grammers client works while they are being dealt with.
    let (config, _) = tokio::join!(get_config(&tc.client), async {
        assert!(
            closed_by_server(&mut garbage).await,
            "garbage stream closed"
        );
        assert!(
            closed_by_server(&mut framed_garbage).await,
            "framed garbage closed"
        );
        assert!(closed_by_server(&mut unknown).await, "unknown key closed");
        assert!(closed_by_server(&mut plaintext).await, "plaintext closed");
    });
    config.unwrap();
    get_config(&tc.client).await.unwrap();

    // Control: the same raw path with a registered key gets its pong.
    let mut known = [0u8; 256];
    rand::rng().fill_bytes(&mut known);
    sandbox.keys.register(known);
    let known = AuthKey::from_bytes(known);
    let mut raw = TcpStream::connect(addr).await.unwrap();
    raw.write_all(&FrameWriter::new().pack(&client_payload(&known, ping)))
        .await
        .unwrap();
    let mut reader = FrameReader::new(1 << 20);
    let mut buf = [0u8; 4096];
    let frame = timeout(WAIT, async {
        loop {
            if let Some(frame) = reader.next_frame().unwrap() {
                return frame;
            }
            let n = raw.read(&mut buf).await.unwrap();
            assert!(n > 0, "server closed a well-behaved connection");
            reader.feed(&buf[..n]);
        }
    })
    .await
    .unwrap();
    let answer = envelope::open(&known, Direction::ServerToClient, &frame).unwrap();
    assert_eq!(answer.session_id, 99, "the session id is echoed");
    assert_eq!(
        answer.message.msg_id & 3,
        1,
        "answers have msg_id ≡ 1 mod 4"
    );
    let tl::enums::Pong::Pong(pong) = tl::enums::Pong::from_bytes(&answer.message.body).unwrap();
    assert_eq!((pong.msg_id, pong.ping_id), (1_700_000_000_i64 << 32, 1));
}

#[tokio::test]
async fn dropped_connection_is_reestablished_by_grammers() {
    let sandbox = Sandbox::start().await;
    let tc = sandbox.client(false);
    get_config(&tc.client).await.unwrap();
    assert_eq!(sandbox.handle.connection_count(tc.auth_key_id), 1);
    let first_connection = sandbox
        .telegram
        .calls_of(tl::functions::help::GetConfig::CONSTRUCTOR_ID)[0]
        .connection_id;

    assert_eq!(sandbox.handle.disconnect(tc.auth_key_id), 1);

    // The request racing the drop may fail; grammers then reconnects on demand.
    let config = timeout(WAIT, async {
        loop {
            match get_config(&tc.client).await {
                Ok(config) => return config,
                Err(InvocationError::Rpc(rpc)) => panic!("unexpected rpc error {rpc:?}"),
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    })
    .await
    .expect("grammers reconnected in time");
    assert_eq!(config.this_dc, HOME_DC);
    let last = sandbox
        .telegram
        .calls_of(tl::functions::help::GetConfig::CONSTRUCTOR_ID)
        .pop()
        .unwrap();
    assert_ne!(last.connection_id, first_connection, "a new connection");
    assert!(
        last.client.is_some(),
        "the new connection sent initConnection again"
    );
    assert_eq!(sandbox.handle.connection_count(tc.auth_key_id), 1);
}

#[tokio::test]
async fn dispatcher_panic_answers_internal_and_the_server_keeps_serving() {
    let sandbox = Sandbox::start().await;
    let tc = sandbox.client(false);
    get_config(&tc.client).await.unwrap();

    let err = timeout(
        WAIT,
        tc.client.invoke(&tl::functions::help::GetNearestDc {}),
    )
    .await
    .unwrap()
    .unwrap_err();
    let InvocationError::Rpc(rpc) = err else {
        panic!("expected an rpc error, got {err:?}");
    };
    assert_eq!((rpc.code, rpc.name.as_str()), (500, "INTERNAL"));

    get_config(&tc.client).await.unwrap();
    let other = sandbox.client(false);
    get_config(&other.client).await.unwrap();
}

#[tokio::test]
async fn shutdown_closes_connections() {
    let sandbox = Sandbox::start().await;
    let tc = sandbox.client(false);
    get_config(&tc.client).await.unwrap();
    sandbox.handle.shutdown();
    let err = timeout(WAIT, async {
        loop {
            match get_config(&tc.client).await {
                Ok(_) => tokio::time::sleep(Duration::from_millis(20)).await,
                Err(e) => return e,
            }
        }
    })
    .await
    .expect("calls fail after shutdown");
    assert!(
        !matches!(err, InvocationError::Rpc(_)),
        "a transport failure, got {err:?}"
    );
}
