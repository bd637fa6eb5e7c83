//! The account spine under pressure, through the real server: one account
//! per Telegram user, retries that send nothing twice, per-tenant caps, a
//! QR code that stays valid until it expires, one live session per account
//! while RPCs and supervisor restarts race, transport limits, and the
//! secrets and scopes that keep tenants apart.

use std::time::Duration;

use tezgram_sdk::v1 as pb;
use tezgram_sdk::v1::sandbox_service_client::SandboxServiceClient;
use tonic::Code;
use tonic_types::StatusExt;

use crate::clients::{Clients, eventually, reason};
use crate::server::{JWT_SECRET, TestServer, authed};

/// already_exists asserts ALREADY_EXISTS naming `account_id`.
fn assert_already_exists(status: &tonic::Status, account_id: &str) {
    assert_eq!(status.code(), Code::AlreadyExists, "{status:?}");
    let info = status.get_details_error_info().expect("ErrorInfo");
    assert_eq!(info.reason, "ALREADY_EXISTS");
    assert_eq!(info.metadata["account_id"], account_id);
}

type QrStream = tonic::Streaming<pb::StartQrLoginResponse>;

async fn start_qr(c: &mut Clients) -> Result<QrStream, tonic::Status> {
    c.accounts
        .start_qr_login(authed(
            pb::StartQrLoginRequest {
                request_id: String::new(),
            },
            &c.token,
        ))
        .await
        .map(tonic::Response::into_inner)
}

/// next_qr is the stream's next event (bounded wait), or its error.
async fn next_qr(
    stream: &mut QrStream,
) -> Result<pb::start_qr_login_response::Event, tonic::Status> {
    let message = tokio::time::timeout(Duration::from_secs(15), stream.message())
        .await
        .expect("a qr event within 15s")?;
    Ok(message.expect("the stream goes on").event.unwrap())
}

async fn first_code(stream: &mut QrStream) -> pb::QrCode {
    match next_qr(stream).await.unwrap() {
        pb::start_qr_login_response::Event::QrCode(code) => code,
        other => panic!("a qr code comes first, not {other:?}"),
    }
}

async fn accept_qr(c: &mut Clients, user: &pb::SandboxUser, code: &pb::QrCode) {
    c.sandbox
        .accept_qr_login(authed(
            pb::AcceptQrLoginRequest {
                sandbox_user: Some(pb::SandboxUserRef {
                    user: Some(pb::sandbox_user_ref::User::UserId(user.user_id)),
                }),
                qr_url: code.qr_url.clone(),
            },
            &c.token,
        ))
        .await
        .expect("AcceptQrLogin");
}

async fn log_out(c: &mut Clients, account_id: &str) -> pb::Account {
    c.accounts
        .log_out(authed(
            pb::LogOutRequest {
                account_id: account_id.into(),
            },
            &c.token,
        ))
        .await
        .expect("LogOut")
        .into_inner()
        .account
        .unwrap()
}

#[tokio::test]
async fn a_connected_bot_or_qr_user_logging_in_again_stays_one_account() {
    let server = TestServer::start().await;
    let mut c = Clients::of(&server).await;

    // A bot token used twice (a new request each time).
    let bot = c.sandbox_bot("Helper", "twice_bot").await;
    let first = c.start_bot_login(&bot.bot_token, "bot-1").await.unwrap();
    assert_eq!(first.state(), pb::AccountState::Authorized);
    let err = c
        .start_bot_login(&bot.bot_token, "bot-2")
        .await
        .unwrap_err();
    assert_already_exists(&err, &first.account_id);

    // A phone user, connected, who then scans a QR code of this tenant.
    let ann = c.sandbox_user("9996617001", "Ann", "").await;
    let by_phone = c.login_user(&ann).await;
    let mut stream = start_qr(&mut c).await.unwrap();
    let code = first_code(&mut stream).await;
    accept_qr(&mut c, &ann, &code).await;
    let err = loop {
        match next_qr(&mut stream).await {
            Ok(pb::start_qr_login_response::Event::QrCode(_)) => continue,
            Ok(other) => panic!("the qr login must not yield an account: {other:?}"),
            Err(status) => break status,
        }
    };
    assert_already_exists(&err, &by_phone.account_id);

    let accounts = c.list().await;
    assert_eq!(accounts.len(), 2, "{accounts:?}");
    // The QR login's own session was logged out at Telegram: Ann keeps the
    // gateway's first session only.
    eventually("ann holds one live session", async || {
        server.connected(ann.user_id)
    })
    .await;
    let devices = c.devices(&by_phone.account_id).await;
    assert_eq!(
        devices
            .iter()
            .filter(|d| d.device_model != "Sandbox phone")
            .count(),
        1,
        "{devices:?}"
    );
    server.stop().await;
}

#[tokio::test]
async fn a_qr_login_reauthorizes_the_users_logged_out_account() {
    let server = TestServer::start().await;
    let mut c = Clients::of(&server).await;
    let ann = c.sandbox_user("9996617002", "Ann", "").await;
    let account = c.login_user(&ann).await;
    let logged_out = log_out(&mut c, &account.account_id).await;
    assert_eq!(logged_out.state(), pb::AccountState::LoggedOut);

    let mut stream = start_qr(&mut c).await.unwrap();
    let code = first_code(&mut stream).await;
    accept_qr(&mut c, &ann, &code).await;
    let again = loop {
        match next_qr(&mut stream).await.unwrap() {
            pb::start_qr_login_response::Event::QrCode(_) => continue,
            pb::start_qr_login_response::Event::Account(account) => break account,
        }
    };
    assert_eq!(
        again.account_id, account.account_id,
        "the same account, not a new one"
    );
    assert_eq!(again.state(), pb::AccountState::Authorized);
    assert_eq!(c.list().await.len(), 1);
    eventually("the account is connected again", async || {
        server.connected(ann.user_id)
    })
    .await;
    server.stop().await;
}

#[tokio::test]
async fn a_retried_start_login_returns_the_login_without_sending_another_code() {
    let server = TestServer::start().await;
    let mut c = Clients::of(&server).await;
    let ann = c.sandbox_user("9996617003", "Ann", "").await;
    let pending = c
        .start_phone_login(&ann.phone_number, "login-ann-1")
        .await
        .unwrap();
    assert_eq!(pending.state(), pb::AccountState::LoginCodeRequired);
    // Telegram would now answer another auth.sendCode with FLOOD_WAIT.
    c.inject_fault(
        &pending.account_id,
        "auth.sendCode",
        pb::inject_fault_request::Fault::FloodWait(pb::FloodWait {
            seconds: 40,
            count: 1,
        }),
    )
    .await;

    // The retry of the same request sends nothing: it is answered from the
    // account the first one created.
    let retried = c
        .start_phone_login(&ann.phone_number, "login-ann-1")
        .await
        .unwrap();
    assert_eq!(retried.account_id, pending.account_id);
    assert_eq!(retried.state(), pb::AccountState::LoginCodeRequired);

    // A new request for the phone does ask Telegram again (so the fault was
    // armed), and still creates no second account.
    let err = c
        .start_phone_login(&ann.phone_number, "login-ann-2")
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::ResourceExhausted);
    assert_eq!(reason(&err), "FLOOD_WAIT");
    assert_eq!(c.list().await.len(), 1);

    // The code of the first request still logs in.
    let authorized = c
        .submit_code(&pending.account_id, &ann.login_code)
        .await
        .unwrap();
    assert_eq!(authorized.state(), pb::AccountState::Authorized);
    server.stop().await;
}

#[tokio::test]
async fn tenant_caps_answer_resource_exhausted_and_write_nothing() {
    let server = TestServer::start_with(|config| {
        config.limits.login_starts_per_minute = 3;
        config.limits.accounts_per_tenant = 2;
        config.limits.concurrent_qr_logins = 1;
    })
    .await;
    let mut c = Clients::of(&server).await;
    let users = [
        c.sandbox_user("9996617011", "Ann", "").await,
        c.sandbox_user("9996617012", "Bob", "").await,
        c.sandbox_user("9996617013", "Cid", "").await,
    ];

    // Accounts per tenant: the third phone is refused, nothing written.
    for user in &users[..2] {
        c.start_phone_login(&user.phone_number, "").await.unwrap();
    }
    let err = c
        .start_phone_login(&users[2].phone_number, "")
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::ResourceExhausted, "{err:?}");
    assert_eq!(reason(&err), "QUOTA_EXCEEDED");
    assert!(
        err.get_details_retry_info().is_none(),
        "waiting does not help"
    );
    assert_eq!(c.list().await.len(), 2);

    // Login starts per minute (three used): the next waits, and says how long.
    let err = c
        .start_phone_login(&users[0].phone_number, "")
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::ResourceExhausted, "{err:?}");
    assert_eq!(reason(&err), "RATE_LIMITED");
    let retry = err.get_details_retry_info().expect("RetryInfo");
    assert!(
        retry
            .retry_delay
            .is_some_and(|d| d > Duration::ZERO && d <= Duration::from_secs(60))
    );

    // Another tenant has its own caps.
    let mut globex = Clients::of(&server).await;
    globex.token = server.token("globex");
    let dan = globex.sandbox_user("9996617014", "Dan", "").await;
    globex
        .start_phone_login(&dan.phone_number, "")
        .await
        .unwrap();

    // Concurrent QR logins: one at a time; the slot frees when it ends.
    let mut g = Clients::of(&server).await;
    g.token = server.token("initech");
    let mut first = start_qr(&mut g).await.unwrap();
    first_code(&mut first).await;
    let err = start_qr(&mut g).await.unwrap_err();
    assert_eq!(err.code(), Code::ResourceExhausted, "{err:?}");
    assert_eq!(reason(&err), "QUOTA_EXCEEDED");
    drop(first);
    eventually("the qr slot is free again", async || {
        start_qr(&mut g).await.is_ok()
    })
    .await;
    server.stop().await;
}

#[tokio::test]
async fn a_qr_code_stays_valid_until_it_expires() {
    let server = TestServer::start().await;
    let mut c = Clients::of(&server).await;
    let ann = c.sandbox_user("9996617021", "Ann", "").await;
    let mut stream = start_qr(&mut c).await.unwrap();
    let code = first_code(&mut stream).await;
    let expires = code.expire_time.expect("expire_time");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    assert!(
        expires.seconds > now + 5,
        "the code lives longer than a scan: {expires:?}"
    );

    // A phone camera takes a few seconds: no new code replaces the shown one.
    let more = tokio::time::timeout(Duration::from_secs(3), stream.message()).await;
    assert!(
        more.is_err(),
        "a second event before the code expired: {more:?}"
    );
    accept_qr(&mut c, &ann, &code).await;
    match next_qr(&mut stream).await.unwrap() {
        pb::start_qr_login_response::Event::Account(account) => {
            assert_eq!(account.state(), pb::AccountState::Authorized);
            assert_eq!(account.telegram_user_id, ann.user_id);
        }
        other => panic!("the scanned code logs in, not {other:?}"),
    }
    server.stop().await;
}

#[tokio::test]
async fn racing_rpcs_and_supervisor_restarts_keep_one_live_session() {
    let server = TestServer::start().await;
    let mut c = Clients::of(&server).await;
    let ann = c.sandbox_user("9996617031", "Ann", "").await;
    let account = c.login_user(&ann).await;
    eventually("the account is connected", async || {
        server.connected(ann.user_id)
    })
    .await;

    let watcher = async {
        let mut keys = std::collections::BTreeSet::new();
        for _ in 0..200 {
            for (key, _) in server.live_sessions(ann.user_id) {
                keys.insert(key);
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        keys
    };
    let storm = async {
        let mut calls = Vec::new();
        for i in 0..24 {
            let mut c = Clients::of(&server).await;
            let id = account.account_id.clone();
            calls.push(async move {
                if i % 8 == 0 {
                    // The supervisor loses its connection and restarts.
                    c.inject_fault(
                        &id,
                        "",
                        pb::inject_fault_request::Fault::DropConnection(pb::DropConnection {}),
                    )
                    .await;
                }
                c.devices(&id).await.len()
            });
        }
        futures::future::join_all(calls).await
    };
    let (keys, devices) = tokio::join!(watcher, storm);
    assert!(devices.iter().all(|n| *n == 1), "{devices:?}");
    assert_eq!(
        keys.len(),
        1,
        "one auth key for the account, ever: {keys:?}"
    );
    eventually("exactly one live connection again", async || {
        server.connected(ann.user_id)
    })
    .await;
    server.stop().await;
}

#[tokio::test]
async fn an_admin_without_the_sandbox_role_cannot_drive_the_sandbox() {
    let server = TestServer::start().await;
    let mut claims = server.claims("acme");
    claims.roles = vec!["admin".into()];
    let admin_only = tezgram::auth::issue_hs256(JWT_SECRET.as_bytes(), &claims);
    let mut sandbox = SandboxServiceClient::new(server.channel().await);
    let err = sandbox
        .list_sandbox_users(authed(pb::ListSandboxUsersRequest::default(), &admin_only))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied, "{err:?}");
    claims.roles.push("sandbox".into());
    let with_sandbox = tezgram::auth::issue_hs256(JWT_SECRET.as_bytes(), &claims);
    sandbox
        .list_sandbox_users(authed(
            pb::ListSandboxUsersRequest::default(),
            &with_sandbox,
        ))
        .await
        .expect("the sandbox role grants the sandbox");
    server.stop().await;
}

/// loopback_config is the embedded default on free loopback ports, in `data_dir`.
fn loopback_config(data_dir: &std::path::Path) -> tezgram::config::Config {
    let mut config = tezgram::config::Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        metrics_listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: data_dir.to_owned(),
        ..Default::default()
    };
    config.sandbox.listen = "127.0.0.1:0".parse().unwrap();
    config
}

/// start_refused starts a gateway that must refuse to start, and returns
/// why; one that starts is shut down, then the test fails as `what`.
async fn start_refused(config: tezgram::config::Config, what: &str) -> String {
    match tezgram::server::start(config).await {
        Ok(gateway) => {
            gateway.shutdown().await.unwrap();
            panic!("started with {what}");
        }
        Err(err) => format!("{err:#}"),
    }
}

#[tokio::test]
async fn the_server_refuses_to_start_with_an_empty_or_short_jwt_secret() {
    for secret in ["", "short-secret", &"x".repeat(31)] {
        let data_dir = tempfile::tempdir().unwrap();
        let mut config = loopback_config(data_dir.path());
        config.auth.jwt_hs256_secret = Some(secret.to_owned());
        let what = format!("a {}-byte secret", secret.len());
        let err = start_refused(config, &what).await;
        assert!(err.contains("32"), "the error says what is needed: {err}");
    }

    // An empty or short dev secret file is refused too, never used.
    for contents in ["", "0123"] {
        let data_dir = tempfile::tempdir().unwrap();
        std::fs::write(data_dir.path().join("jwt-secret"), contents).unwrap();
        let what = format!("a {}-byte secret file", contents.len());
        start_refused(loopback_config(data_dir.path()), &what).await;
    }
}

/// h2_connect opens a raw HTTP/2 connection to the gateway and returns the
/// client half and the connection (which must be polled).
async fn h2_connect(
    server: &TestServer,
) -> (
    h2::client::SendRequest<bytes::Bytes>,
    h2::client::Connection<tokio::net::TcpStream, bytes::Bytes>,
) {
    let tcp = tokio::net::TcpStream::connect(server.grpc_addr())
        .await
        .unwrap();
    h2::client::handshake(tcp).await.expect("h2 handshake")
}

#[tokio::test]
async fn the_transport_caps_streams_per_connection_and_connection_age() {
    let server = TestServer::start_with(|config| {
        config.transport.max_concurrent_streams = 7;
        config.transport.max_connection_age_seconds = 1;
    })
    .await;
    let (_send, mut connection) = h2_connect(&server).await;
    // The server's SETTINGS arrive once the connection is polled.
    let _ = tokio::time::timeout(Duration::from_millis(300), &mut connection).await;
    assert_eq!(connection.max_concurrent_send_streams(), 7);
    // An idle connection older than its max age is closed by the server.
    let closed = tokio::time::timeout(Duration::from_secs(15), connection).await;
    assert!(closed.is_ok(), "the connection outlived its max age");
    server.stop().await;
}

#[tokio::test]
async fn another_tenants_admin_cannot_see_use_or_log_into_a_sandbox_user() {
    let server = TestServer::start().await;
    let mut acme = Clients::of(&server).await;
    let ann = acme.sandbox_user("9996617041", "Ann", "").await;
    let account = acme.login_user(&ann).await;
    let mut globex = Clients::of(&server).await;
    globex.token = server.token("globex");

    // Not listed (with its login code), not found by phone or id.
    let listed = globex
        .sandbox
        .list_sandbox_users(authed(
            pb::ListSandboxUsersRequest::default(),
            &globex.token,
        ))
        .await
        .unwrap()
        .into_inner()
        .sandbox_users;
    assert!(listed.is_empty(), "{listed:?}");
    let ann_ref = || pb::SandboxUserRef {
        user: Some(pb::sandbox_user_ref::User::UserId(ann.user_id)),
    };

    // Cannot write as Ann to globex's own account.
    let bob = globex.sandbox_user("9996617042", "Bob", "").await;
    let globex_account = globex.login_user(&bob).await;
    let err = globex
        .sandbox
        .send_as_sandbox_user(authed(
            pb::SendAsSandboxUserRequest {
                sandbox_user: Some(ann_ref()),
                to_account_id: globex_account.account_id.clone(),
                text: "it's me, Ann".into(),
            },
            &globex.token,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound, "{err:?}");

    // Cannot accept a QR login as Ann (and so take her over).
    let mut stream = start_qr(&mut globex).await.unwrap();
    let code = first_code(&mut stream).await;
    let err = globex
        .sandbox
        .accept_qr_login(authed(
            pb::AcceptQrLoginRequest {
                sandbox_user: Some(ann_ref()),
                qr_url: code.qr_url.clone(),
            },
            &globex.token,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound, "{err:?}");

    // Cannot log in with Ann's phone number.
    let err = globex.start_login(&ann.phone_number).await.unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument, "{err:?}");
    assert_eq!(reason(&err), "INVALID_PHONE_NUMBER");

    // Nor inject faults into acme's account.
    let err = globex
        .sandbox
        .inject_fault(authed(
            pb::InjectFaultRequest {
                account_id: account.account_id.clone(),
                method: String::new(),
                fault: Some(pb::inject_fault_request::Fault::DropConnection(
                    pb::DropConnection {},
                )),
            },
            &globex.token,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound, "{err:?}");

    // Ann's own tenant still sees her, and her account is untouched.
    assert_eq!(
        acme.get(&account.account_id).await.state(),
        pb::AccountState::Authorized
    );
    // The refused login left nothing behind; the abandoned QR login's
    // account goes when its stream does.
    drop(stream);
    eventually("globex keeps only bob's account", async || {
        globex.list().await.len() == 1
    })
    .await;
    server.stop().await;
}

/// raw_h2 opens a TCP connection, sends the HTTP/2 client preface and an
/// empty SETTINGS frame, and then never answers anything.
async fn raw_h2(server: &TestServer) -> tokio::net::TcpStream {
    use tokio::io::AsyncWriteExt;
    let mut tcp = tokio::net::TcpStream::connect(server.grpc_addr())
        .await
        .unwrap();
    tcp.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
        .await
        .unwrap();
    tcp.write_all(&[0, 0, 0, 4, 0, 0, 0, 0, 0]).await.unwrap();
    tcp
}

#[tokio::test]
async fn a_peer_that_does_not_answer_keepalive_pings_is_disconnected() {
    use tokio::io::AsyncReadExt;
    let server = TestServer::start_with(|config| {
        config.transport.http2_keepalive_interval_seconds = 1;
        config.transport.http2_keepalive_timeout_seconds = 1;
    })
    .await;
    let mut tcp = raw_h2(&server).await;
    // Read frames (never acknowledging a PING) until the server closes.
    let mut pinged = false;
    let closed = tokio::time::timeout(Duration::from_secs(15), async {
        let mut buffer = Vec::new();
        let mut chunk = [0u8; 4096];
        loop {
            let n = tcp.read(&mut chunk).await.unwrap_or(0);
            if n == 0 {
                return;
            }
            buffer.extend_from_slice(&chunk[..n]);
            // Frames: 3-byte length, type, flags, 4-byte stream id, payload.
            while buffer.len() >= 9 {
                let len = (usize::from(buffer[0]) << 16)
                    | (usize::from(buffer[1]) << 8)
                    | usize::from(buffer[2]);
                if buffer.len() < 9 + len {
                    break;
                }
                let (kind, flags) = (buffer[3], buffer[4]);
                if kind == 6 && flags & 1 == 0 {
                    pinged = true;
                }
                buffer.drain(..9 + len);
            }
        }
    })
    .await;
    assert!(pinged, "the server pinged the idle connection");
    assert!(
        closed.is_ok(),
        "a peer that never acks pings is disconnected"
    );
    server.stop().await;
}

#[tokio::test]
async fn concurrent_logins_of_one_phone_make_one_account() {
    let server = TestServer::start().await;
    let mut c = Clients::of(&server).await;
    let ann = c.sandbox_user("9996617051", "Ann", "").await;
    let mut logins = Vec::new();
    for i in 0..8 {
        let mut c = Clients::of(&server).await;
        let phone = ann.phone_number.clone();
        logins.push(async move { c.start_phone_login(&phone, &format!("race-{i}")).await });
    }
    let answers = futures::future::join_all(logins).await;
    let ids: std::collections::BTreeSet<String> = answers
        .into_iter()
        .map(|answer| {
            answer
                .expect("every login answers with the account")
                .account_id
        })
        .collect();
    assert_eq!(ids.len(), 1, "one account for one phone: {ids:?}");
    assert_eq!(c.list().await.len(), 1);
    // And it logs in.
    let id = ids.into_iter().next().unwrap();
    let authorized = c.submit_code(&id, &ann.login_code).await.unwrap();
    assert_eq!(authorized.state(), pb::AccountState::Authorized);
    server.stop().await;
}
