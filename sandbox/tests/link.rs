//! The public API as a gateway uses it: every [`SandboxLink`] operation,
//! against both implementations — the in-process [`SandboxDcHandle`] and a
//! [`RemoteLink`] to a standalone sandbox's admin API ([`serve`]) — with
//! what they do observed the way a gateway's sessions observe Telegram:
//! over MTProto, with the real grammers client.

use std::collections::HashMap;
use std::net::{SocketAddr, SocketAddrV6};
use std::sync::Arc;
use std::time::Duration;

use grammers_client::client::UpdateStream;
use grammers_client::sender::{ConnectionParams, NoRetries, SenderPool, UpdatesConfiguration};
use grammers_client::session::SessionData;
use grammers_client::session::storages::MemorySession;
use grammers_client::session::types::DcOption;
use grammers_client::update::Update;
use grammers_client::{Client, InvocationError, tl};
use rand::RngCore;
use tezgram_sandbox::{
    AdminApiOptions, DC_ID, Error, MAX_TEXT, NewUser, Peer, RemoteLink, SandboxDc, SandboxDcHandle,
    SandboxDcOptions, SandboxLink, UserRef, auth_key_id, login_code, serve,
};
use tokio::sync::oneshot;
use tokio::time::timeout;
use zeroize::Zeroizing;

const WAIT: Duration = Duration::from_secs(10);
const API_ID: i32 = 12345;
const API_HASH: &str = "0123456789abcdef0123456789abcdef";
const ADMIN_TOKEN: &str = "link-test-admin-token-0123456789";

/// Sandbox is one sandbox DC and a link to it; dropping it stops it.
enum Sandbox {
    InProcess(SandboxDcHandle),
    Standalone {
        link: Box<RemoteLink>,
        admin: SocketAddr,
        stop: Option<oneshot::Sender<()>>,
        served: tokio::task::JoinHandle<Result<(), tezgram_sandbox::DcError>>,
    },
}

impl Sandbox {
    async fn in_process() -> Sandbox {
        Sandbox::InProcess(
            SandboxDc::start(SandboxDcOptions::default())
                .await
                .expect("the sandbox dc starts"),
        )
    }

    /// standalone serves a sandbox with its admin API, as `tezgram sandbox`
    /// does, and links to it.
    async fn standalone() -> Sandbox {
        let admin = free_port();
        let (stop, stopped) = oneshot::channel::<()>();
        let served = tokio::spawn(serve(
            SandboxDcOptions::default(),
            AdminApiOptions {
                listen: admin,
                token: Zeroizing::new(ADMIN_TOKEN.to_owned()),
                allow_remote: false,
            },
            async {
                let _ = stopped.await;
            },
        ));
        let url = format!("http://{admin}");
        let link = timeout(WAIT, async {
            loop {
                match RemoteLink::connect(&url, ADMIN_TOKEN).await {
                    Ok(link) => return link,
                    Err(Error::Unavailable(_)) => {
                        tokio::time::sleep(Duration::from_millis(20)).await
                    }
                    Err(err) => panic!("linking to the standalone sandbox: {err}"),
                }
            }
        })
        .await
        .expect("the admin api answers");
        Sandbox::Standalone {
            link: Box::new(link),
            admin,
            stop: Some(stop),
            served,
        }
    }

    /// both is each implementation, in-process first.
    async fn both() -> [(&'static str, Sandbox); 2] {
        [
            ("in-process", Sandbox::in_process().await),
            ("standalone", Sandbox::standalone().await),
        ]
    }

    fn link(&self) -> &dyn SandboxLink {
        match self {
            Sandbox::InProcess(dc) => dc,
            Sandbox::Standalone { link, .. } => link.as_ref(),
        }
    }

    async fn stop(self) {
        match self {
            Sandbox::InProcess(dc) => dc.shutdown().await.expect("clean shutdown"),
            Sandbox::Standalone {
                mut stop, served, ..
            } => {
                let _ = stop.take().expect("running").send(());
                timeout(WAIT, served)
                    .await
                    .expect("the standalone sandbox stops")
                    .expect("serve did not panic")
                    .expect("clean shutdown");
            }
        }
    }
}

fn free_port() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
}

/// TENANT owns the users and sessions of these tests (OTHER is another).
const TENANT: &str = "acme";
const OTHER: &str = "globex";

fn user(phone: &str, first_name: &str) -> NewUser {
    NewUser {
        owner: TENANT.into(),
        phone: phone.into(),
        first_name: first_name.into(),
        ..NewUser::default()
    }
}

/// Device is a grammers client (no retries, so errors surface) on a fresh
/// auth key registered through the link, the way a gateway provisions a
/// session.
struct Device {
    client: Client,
    key: [u8; 256],
    auth_key_id: i64,
    updates: Option<UpdateStream>,
    runner: tokio::task::JoinHandle<()>,
}

impl Drop for Device {
    fn drop(&mut self) {
        self.runner.abort();
    }
}

impl Device {
    async fn new(link: &dyn SandboxLink) -> Device {
        Device::of(link, TENANT).await
    }

    /// of is a session provisioned for `owner` (a tenant).
    async fn of(link: &dyn SandboxLink, owner: &str) -> Device {
        let mut key = [0u8; 256];
        rand::rng().fill_bytes(&mut key);
        let auth_key_id = link
            .register_auth_key(owner, key)
            .await
            .expect("key registered");
        assert_eq!(auth_key_id, tezgram_sandbox::auth_key_id(&key));
        Device::on_key(link, key).await
    }

    /// on_key is another client on a key registered already: a second
    /// process given the same session.
    async fn on_key(link: &dyn SandboxLink, key: [u8; 256]) -> Device {
        let auth_key_id = tezgram_sandbox::auth_key_id(&key);
        let SocketAddr::V4(ipv4) = link.mtproto_addr() else {
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
        let updates = client
            .stream_updates(pool.updates, UpdatesConfiguration::default())
            .await
            .expect("an update stream");
        Device {
            client,
            key,
            auth_key_id,
            updates: Some(updates),
            runner,
        }
    }

    async fn invoke<R: tl::RemoteCall>(&self, request: &R) -> Result<R::Return, InvocationError> {
        timeout(WAIT, self.client.invoke(request))
            .await
            .expect("the sandbox answered in time")
    }

    async fn send_code(&self, phone: &str) -> Result<String, InvocationError> {
        let sent = self
            .invoke(&tl::functions::auth::SendCode {
                phone_number: phone.into(),
                api_id: API_ID,
                api_hash: API_HASH.into(),
                settings: tl::enums::CodeSettings::Settings(tl::types::CodeSettings {
                    allow_flashcall: false,
                    current_number: false,
                    allow_app_hash: false,
                    allow_missed_call: false,
                    allow_firebase: false,
                    unknown_number: false,
                    logout_tokens: None,
                    token: None,
                    app_sandbox: None,
                }),
            })
            .await?;
        let tl::enums::auth::SentCode::Code(sent) = sent else {
            panic!("expected auth.sentCode, got {sent:?}");
        };
        Ok(sent.phone_code_hash)
    }

    /// log_in logs in with the code [`login_code`] gives for the number.
    async fn log_in(&self, phone: &str) -> i64 {
        let hash = self.send_code(phone).await.unwrap();
        let code = login_code(phone).expect("a sandbox number");
        let authorization = self
            .invoke(&tl::functions::auth::SignIn {
                phone_number: phone.into(),
                phone_code_hash: hash,
                phone_code: Some(code),
                email_verification: None,
            })
            .await
            .expect("the code logs in");
        let tl::enums::auth::Authorization::Authorization(authorization) = authorization else {
            panic!("expected auth.authorization");
        };
        authorization.user.id()
    }

    async fn get_state(&self) -> Result<(), InvocationError> {
        self.invoke(&tl::functions::updates::GetState {})
            .await
            .map(drop)
    }

    /// get_state_reconnecting is `get_state` after the sandbox dropped the
    /// connection: the first call may fail on the dead connection (this
    /// client does not retry), the next one reconnects.
    async fn get_state_reconnecting(&self) -> Result<(), InvocationError> {
        match self.get_state().await {
            Err(InvocationError::Io(_)) => self.get_state().await,
            other => other,
        }
    }

    /// next_message waits for a message from someone else.
    async fn next_message(&mut self) -> grammers_client::update::Message {
        let updates = self.updates.as_mut().expect("streaming updates");
        timeout(WAIT, async {
            loop {
                match updates.next().await.expect("the update stream is alive") {
                    Update::NewMessage(message) if !message.outgoing() => return message,
                    _ => {}
                }
            }
        })
        .await
        .expect("the message arrived in time")
    }
}

/// rpc_error is the Telegram error a call failed with.
fn rpc_error<T: std::fmt::Debug>(result: Result<T, InvocationError>) -> (i32, String, Option<u32>) {
    match result {
        Err(InvocationError::Rpc(rpc)) => (rpc.code, rpc.name, rpc.value),
        other => panic!("expected an rpc error, got {other:?}"),
    }
}

#[tokio::test]
async fn users_and_bots_are_created_found_and_listed() {
    for (name, sandbox) in Sandbox::both().await {
        let link = sandbox.link();
        let ann = link
            .create_user(NewUser {
                username: Some("ann_sandbox".into()),
                password: Some((Zeroizing::new("correct horse".into()), Some("horse".into()))),
                ..user("9996621234", "Ann")
            })
            .await
            .unwrap();
        assert_eq!(ann.phone.as_deref(), Some("9996621234"), "{name}");
        assert_eq!(ann.username.as_deref(), Some("ann_sandbox"), "{name}");
        assert!(!ann.bot, "{name}");
        assert!(link.has_password(ann.id).await.unwrap(), "{name}");

        let (bot, token) = link
            .create_bot(TENANT, "Helper", "helper_bot")
            .await
            .unwrap();
        assert!(bot.bot && bot.phone.is_none(), "{name}");
        assert!(
            token.starts_with(&format!("{}:", bot.id)),
            "{name}: {token}"
        );
        assert!(!link.has_password(bot.id).await.unwrap(), "{name}");

        let by_phone = link
            .user(TENANT, &UserRef::Phone("9996621234".into()))
            .await;
        assert_eq!(by_phone.unwrap().as_ref(), Some(&ann), "{name}");
        let by_id = link.user(TENANT, &UserRef::Id(bot.id)).await;
        assert_eq!(by_id.unwrap().as_ref(), Some(&bot), "{name}");
        let nobody = link
            .user(TENANT, &UserRef::Phone("9996629999".into()))
            .await;
        assert_eq!(nobody.unwrap(), None, "{name}");

        // Listing pages through users and bots by id.
        let first = link.users(TENANT, 0, 1).await.unwrap();
        assert_eq!(first.len(), 1, "{name}");
        let rest = link.users(TENANT, first[0].id, 10).await.unwrap();
        let mut all: Vec<i64> = first.iter().chain(&rest).map(|u| u.id).collect();
        all.sort_unstable();
        let mut expected = vec![ann.id, bot.id];
        expected.sort_unstable();
        assert_eq!(all, expected, "{name}");
        sandbox.stop().await;
    }
}

#[tokio::test]
async fn another_tenants_users_are_not_seen_used_or_logged_into() {
    for (name, sandbox) in Sandbox::both().await {
        let link = sandbox.link();
        let ann = link.create_user(user("9996621234", "Ann")).await.unwrap();
        let (bot, token) = link.create_bot(TENANT, "Helper", "acme_bot").await.unwrap();
        let ours = Device::new(link).await;
        let ours_id = ours.log_in("9996622222").await;

        // Through the link, another tenant finds and lists none of them.
        for found in [
            link.user(OTHER, &UserRef::Phone("9996621234".into())).await,
            link.user(OTHER, &UserRef::Id(bot.id)).await,
        ] {
            assert_eq!(found.unwrap(), None, "{name}");
        }
        assert!(
            link.users(OTHER, 0, 100).await.unwrap().is_empty(),
            "{name}"
        );
        assert_eq!(link.users(TENANT, 0, 100).await.unwrap().len(), 3, "{name}");
        // Nor writes as them.
        let err = link
            .send_message(OTHER, ann.id, ours_id, "hi".into())
            .await
            .unwrap_err();
        assert_eq!(
            err,
            Error::Refused {
                code: 400,
                message: "USER_ID_INVALID".into()
            },
            "{name}"
        );

        // Its sessions cannot log in as them: the number does not exist for
        // them, the bot token is invalid, and a QR code they show is no use.
        let theirs = Device::of(link, OTHER).await;
        let (code, message, _) = rpc_error(theirs.send_code("9996621234").await);
        assert_eq!(
            (code, message.as_str()),
            (400, "PHONE_NUMBER_INVALID"),
            "{name}"
        );
        let (code, message, _) = rpc_error(
            theirs
                .invoke(&tl::functions::auth::ImportBotAuthorization {
                    flags: 0,
                    api_id: 1,
                    api_hash: "sandbox".into(),
                    bot_auth_token: token.clone(),
                })
                .await,
        );
        assert_eq!(
            (code, message.as_str()),
            (400, "ACCESS_TOKEN_INVALID"),
            "{name}"
        );
        let export = tl::functions::auth::ExportLoginToken {
            api_id: 1,
            api_hash: "sandbox".into(),
            except_ids: Vec::new(),
        };
        let tl::enums::auth::LoginToken::Token(shown) = theirs.invoke(&export).await.unwrap()
        else {
            panic!("{name}: a login token");
        };
        let err = link.accept_qr_login(TENANT, ann.id, &shown.token).await;
        assert!(
            matches!(err, Err(Error::Refused { code: 400, .. })),
            "{name}: {err:?}"
        );
        // The owner's own sessions still log in (the refusals were about
        // ownership, not a broken sandbox).
        let again = Device::new(link).await;
        again.send_code("9996621234").await.unwrap();
        drop(ours);
        sandbox.stop().await;
    }
}

#[tokio::test]
async fn refusals_keep_telegrams_code_and_message() {
    for (name, sandbox) in Sandbox::both().await {
        let link = sandbox.link();
        link.create_user(user("9996621234", "Ann")).await.unwrap();
        let cases = [
            (user("9996621234", "Again"), "PHONE_NUMBER_OCCUPIED"),
            (user("79161234567", "Real"), "PHONE_NUMBER_INVALID"),
        ];
        for (new, message) in cases {
            let err = link.create_user(new).await.unwrap_err();
            assert_eq!(
                err,
                Error::Refused {
                    code: 400,
                    message: message.into()
                },
                "{name}"
            );
        }
        let err = link.has_password(424_242).await.unwrap_err();
        assert!(
            matches!(err, Error::Refused { code: 400, .. }),
            "{name}: {err}"
        );
        sandbox.stop().await;
    }
}

#[tokio::test]
async fn a_message_sent_as_a_user_reaches_the_recipients_live_session() {
    for (name, sandbox) in Sandbox::both().await {
        let link = sandbox.link();
        let customer = link
            .create_user(user("9996611111", "Customer"))
            .await
            .unwrap();
        let mut agent = Device::new(link).await;
        let agent_id = agent.log_in("9996622222").await;

        let text = "Hello from the sandbox".to_owned();
        let sent = link
            .send_message(TENANT, customer.id, agent_id, text.clone())
            .await
            .unwrap();
        assert_eq!(sent.peer, Peer::User(customer.id), "{name}");
        assert_eq!(sent.from_id, customer.id, "{name}");
        assert!(!sent.out, "{name}: the recipient's copy is incoming");
        assert_eq!(sent.text, text, "{name}");

        let received = agent.next_message().await;
        assert_eq!(received.text(), text, "{name}");
        assert_eq!(received.id(), sent.id, "{name}");

        // The sender's side of the chat holds it once, outgoing.
        let history = link
            .history(TENANT, customer.id, agent_id, 100)
            .await
            .unwrap();
        assert_eq!(history.count, 1, "{name}");
        assert_eq!(history.messages.len(), 1, "{name}");
        assert!(history.messages[0].out, "{name}");
        assert_eq!(history.messages[0].text, text, "{name}");
        assert_eq!(history.messages[0].peer, Peer::User(agent_id), "{name}");
        // Another tenant reads none of it.
        let err = link
            .history(OTHER, customer.id, agent_id, 100)
            .await
            .unwrap_err();
        assert_eq!(
            err,
            Error::Refused {
                code: 400,
                message: "USER_ID_INVALID".into()
            },
            "{name}"
        );

        let too_long = "x".repeat(MAX_TEXT + 1);
        let err = link
            .send_message(TENANT, customer.id, agent_id, too_long)
            .await
            .unwrap_err();
        assert_eq!(
            err,
            Error::Refused {
                code: 400,
                message: "MESSAGE_TOO_LONG".into()
            },
            "{name}"
        );
        drop(agent);
        sandbox.stop().await;
    }
}

#[tokio::test]
async fn a_contact_imported_over_mtproto_shows_in_the_users_contact_list() {
    for (name, sandbox) in Sandbox::both().await {
        let link = sandbox.link();
        let customer = link
            .create_user(user("9996611212", "Customer"))
            .await
            .unwrap();
        let agent = Device::new(link).await;
        let agent_id = agent.log_in("9996622323").await;
        assert!(link.contacts(TENANT, agent_id).await.unwrap().is_empty());
        agent
            .invoke(&tl::functions::contacts::ImportContacts {
                contacts: vec![
                    tl::types::InputPhoneContact {
                        client_id: 1,
                        phone: "+9996611212".into(),
                        first_name: "Cust".into(),
                        last_name: String::new(),
                        note: None,
                    }
                    .into(),
                ],
            })
            .await
            .unwrap();
        let contacts = link.contacts(TENANT, agent_id).await.unwrap();
        let ids: Vec<i64> = contacts.iter().map(|u| u.id).collect();
        assert_eq!(ids, [customer.id], "{name}");
        let err = link.contacts(OTHER, agent_id).await.unwrap_err();
        assert_eq!(
            err,
            Error::Refused {
                code: 400,
                message: "USER_ID_INVALID".into()
            },
            "{name}"
        );
        sandbox.stop().await;
    }
}

#[tokio::test]
async fn injected_faults_reach_the_session_over_mtproto() {
    for (name, sandbox) in Sandbox::both().await {
        let link = sandbox.link();
        let device = Device::new(link).await;
        device.log_in("9996633333").await;
        device.get_state().await.unwrap();

        link.inject_flood_wait(device.auth_key_id, "updates.getState", 7, 1)
            .await
            .unwrap();
        assert_eq!(
            rpc_error(device.get_state().await),
            (420, "FLOOD_WAIT".into(), Some(7)),
            "{name}"
        );
        device.get_state().await.unwrap();

        assert_eq!(
            link.drop_connections(device.auth_key_id).await.unwrap(),
            1,
            "{name}: the live connection is dropped"
        );
        device.get_state_reconnecting().await.unwrap();

        // Like Telegram, a revoked session is disconnected and refused.
        link.revoke_session(device.auth_key_id).await.unwrap();
        assert_eq!(
            rpc_error(device.get_state_reconnecting().await),
            (401, "AUTH_KEY_UNREGISTERED".into(), None),
            "{name}"
        );
        drop(device);
        sandbox.stop().await;
    }
}

#[tokio::test]
async fn a_key_used_from_two_connections_at_once_is_refused_and_reported() {
    for (name, sandbox) in Sandbox::both().await {
        let link = sandbox.link();
        let older = Device::new(link).await;
        let ann = older.log_in("9996621234").await;
        assert_eq!(
            link.duplicate_key_incidents().await.unwrap(),
            vec![],
            "{name}"
        );

        // A second process on the same session takes over, and the first
        // one calls again.
        let newer = Device::on_key(link, older.key).await;
        newer.get_state().await.unwrap();
        let duplicated = (406, "AUTH_KEY_DUPLICATED".to_owned(), None);
        assert_eq!(rpc_error(older.get_state().await), duplicated, "{name}");
        assert_eq!(
            rpc_error(newer.get_state().await),
            duplicated,
            "{name}: dead"
        );

        let incidents = link.duplicate_key_incidents().await.unwrap();
        let [incident] = incidents.as_slice() else {
            panic!("{name}: one incident, got {incidents:?}");
        };
        assert_eq!(incident.auth_key_id, older.auth_key_id, "{name}");
        assert_eq!(incident.user_id, Some(ann), "{name}");
        assert!(
            incident.older_connection_id < incident.newer_connection_id,
            "{name}: {incident:?}"
        );
        sandbox.stop().await;
    }
}

#[tokio::test]
async fn a_qr_login_is_accepted_from_the_users_other_device() {
    for (name, sandbox) in Sandbox::both().await {
        let link = sandbox.link();
        let owner = link.create_user(user("9996614444", "Owner")).await.unwrap();
        let desktop = Device::new(link).await;
        let export = tl::functions::auth::ExportLoginToken {
            api_id: API_ID,
            api_hash: API_HASH.into(),
            except_ids: Vec::new(),
        };
        let tl::enums::auth::LoginToken::Token(token) = desktop.invoke(&export).await.unwrap()
        else {
            panic!("{name}: expected a login token before it is accepted");
        };

        link.accept_qr_login(TENANT, owner.id, &token.token)
            .await
            .unwrap();
        let again = link.accept_qr_login(TENANT, owner.id, &token.token).await;
        assert!(
            matches!(again, Err(Error::Refused { code: 400, .. })),
            "{name}: a token answers once, got {again:?}"
        );

        let tl::enums::auth::LoginToken::Success(success) = desktop.invoke(&export).await.unwrap()
        else {
            panic!("{name}: expected loginTokenSuccess after the token was accepted");
        };
        let tl::enums::auth::Authorization::Authorization(authorization) = success.authorization
        else {
            panic!("{name}: expected auth.authorization");
        };
        assert_eq!(authorization.user.id(), owner.id, "{name}");
        drop(desktop);
        sandbox.stop().await;
    }
}

#[tokio::test]
async fn the_in_process_handle_signs_users_in_and_lists_their_sessions() {
    let dir = tempfile::tempdir().unwrap();
    let mut key = [0u8; 256];
    rand::rng().fill_bytes(&mut key);
    let user_id = {
        let dc = SandboxDc::start(SandboxDcOptions {
            data_dir: Some(dir.path().to_owned()),
            ..SandboxDcOptions::default()
        })
        .await
        .unwrap();
        let ann = dc.create_user(user("9996625555", "Ann")).await.unwrap();
        assert_eq!(dc.sign_in(ann.id, key).unwrap(), auth_key_id(&key));
        assert_eq!(dc.sessions_of(ann.id), vec![auth_key_id(&key)]);
        assert_eq!(dc.auth_keys(), vec![key]);
        dc.shutdown().await.unwrap();
        ann.id
    };
    // After a restart on the same data dir the session still works.
    let dc = SandboxDc::start(SandboxDcOptions {
        data_dir: Some(dir.path().to_owned()),
        ..SandboxDcOptions::default()
    })
    .await
    .unwrap();
    assert_eq!(dc.sessions_of(user_id), vec![auth_key_id(&key)]);
    let device = {
        let SocketAddr::V4(ipv4) = dc.mtproto_addr() else {
            panic!("the sandbox listens on IPv4 loopback");
        };
        let session = MemorySession::from(SessionData {
            home_dc: DC_ID,
            dc_options: HashMap::from([(
                DC_ID,
                DcOption {
                    id: DC_ID,
                    ipv4,
                    ipv6: SocketAddrV6::new(ipv4.ip().to_ipv6_mapped(), ipv4.port(), 0, 0),
                    auth_key: Some(key),
                },
            )]),
            ..SessionData::default()
        });
        let pool = SenderPool::new(Arc::new(session), API_ID);
        let client = Client::new(pool.handle);
        let runner = tokio::spawn(pool.runner.run());
        (client, runner)
    };
    let me = timeout(WAIT, device.0.get_me()).await.unwrap().unwrap();
    assert_eq!(me.id().bare_id(), Some(user_id));
    device.1.abort();
    dc.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_remote_link_needs_the_admin_token_and_a_sandbox_that_answers() {
    let sandbox = Sandbox::standalone().await;
    let Sandbox::Standalone { admin, .. } = &sandbox else {
        unreachable!("a standalone sandbox");
    };
    let url = format!("http://{admin}");
    let wrong = RemoteLink::connect(&url, "not-the-admin-token").await;
    assert!(
        matches!(wrong, Err(Error::Unauthorized)),
        "a wrong token is refused, got {wrong:?}"
    );
    sandbox.stop().await;

    let nobody = RemoteLink::connect(&format!("http://{}", free_port()), ADMIN_TOKEN).await;
    assert!(
        matches!(nobody, Err(Error::Unavailable(_))),
        "no sandbox answers, got {nobody:?}"
    );
    let not_http = RemoteLink::connect("https://127.0.0.1:1", ADMIN_TOKEN).await;
    assert!(
        matches!(not_http, Err(Error::Unavailable(_))),
        "only http:// urls, got {not_http:?}"
    );
}

#[tokio::test]
async fn the_admin_api_refuses_short_tokens_and_public_addresses() {
    let refused = async |listen: &str, token: &str| {
        let served = serve(
            SandboxDcOptions::default(),
            AdminApiOptions {
                listen: listen.parse().unwrap(),
                token: Zeroizing::new(token.to_owned()),
                allow_remote: false,
            },
            std::future::pending(),
        );
        timeout(WAIT, served)
            .await
            .expect("refused at once, not served")
            .expect_err("refused")
            .to_string()
    };
    let short = refused("127.0.0.1:0", "too-short-admin-token").await;
    assert!(short.contains("at least 32"), "{short}");
    let public = refused("0.0.0.0:0", ADMIN_TOKEN).await;
    assert!(public.contains("not loopback"), "{public}");
}

#[cfg(unix)]
#[tokio::test]
async fn the_snapshot_is_readable_by_its_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let dc = SandboxDc::start(SandboxDcOptions {
        data_dir: Some(dir.path().to_owned()),
        ..SandboxDcOptions::default()
    })
    .await
    .unwrap();
    dc.create_user(user("9996621234", "Ann")).await.unwrap();
    dc.shutdown().await.unwrap();
    let snapshot = std::fs::metadata(dir.path().join("sandbox.json")).expect("a snapshot");
    assert_eq!(snapshot.permissions().mode() & 0o777, 0o600);
}
