//! One standalone sandbox (`tezgram sandbox`, its own process) shared by two
//! gateways, as gateways share Telegram: users made through one are seen by
//! the other, each logs its accounts in, messages and faults go through the
//! sandbox's admin API, and a restarted gateway keeps its session.

use std::net::SocketAddr;
use std::process::Stdio;
use std::time::Duration;

use tezgram_sdk::v1 as pb;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tonic::Code;
use tonic_types::StatusExt;

use crate::clients::{Clients, eventually};
use crate::db::TestDb;
use crate::server::{TestServer, authed};

const BIN: &str = env!("CARGO_BIN_EXE_tezgram");
pub(crate) const ADMIN_TOKEN: &str = "shared-sandbox-admin-token-0123456789";
/// WAIT bounds every wait of these tests.
const WAIT: Duration = Duration::from_secs(20);

/// Sandbox is a `tezgram sandbox` process; killed when dropped.
pub(crate) struct Sandbox {
    child: tokio::process::Child,
    admin: SocketAddr,
    _data_dir: tempfile::TempDir,
}

impl Sandbox {
    /// start runs the binary on free loopback ports with a temp data dir and
    /// waits (bounded) until its admin API answers.
    pub(crate) async fn start() -> Sandbox {
        let data_dir = tempfile::tempdir().expect("temp dir");
        let (mtproto, admin) = (free_port(), free_port());
        let mut command = tokio::process::Command::new(BIN);
        command
            .args(["sandbox", "--listen", &mtproto.to_string()])
            .args(["--admin-listen", &admin.to_string()])
            .arg("--data-dir")
            .arg(data_dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true);
        for (key, _) in std::env::vars() {
            if key.starts_with("TEZGRAM_") {
                command.env_remove(key);
            }
        }
        command.env("TEZGRAM_SANDBOX__ADMIN_TOKEN", ADMIN_TOKEN);
        let child = command.spawn().expect("start tezgram sandbox");
        let sandbox = Sandbox {
            child,
            admin,
            _data_dir: data_dir,
        };
        let deadline = tokio::time::Instant::now() + WAIT;
        while tokio::time::Instant::now() < deadline {
            if let Ok(answer) = sandbox.get("/v1/info", Some(ADMIN_TOKEN)).await
                && answer.starts_with("HTTP/1.1 200")
            {
                return sandbox;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the standalone sandbox never answered on {admin}");
    }

    pub(crate) fn url(&self) -> String {
        format!("http://{}", self.admin)
    }

    /// get makes one raw HTTP/1.1 request to the admin API.
    async fn get(&self, path: &str, token: Option<&str>) -> std::io::Result<String> {
        let mut stream = tokio::net::TcpStream::connect(self.admin).await?;
        let authorization = token
            .map(|t| format!("authorization: Bearer {t}\r\n"))
            .unwrap_or_default();
        let request = format!(
            "GET {path} HTTP/1.1\r\nhost: sandbox\r\n{authorization}connection: close\r\n\r\n"
        );
        stream.write_all(request.as_bytes()).await?;
        let mut answer = String::new();
        tokio::time::timeout(WAIT, stream.read_to_string(&mut answer))
            .await
            .map_err(|_| std::io::Error::other("timed out"))??;
        Ok(answer)
    }

    pub(crate) async fn stop(mut self) {
        let _ = self.child.start_kill();
        let _ = tokio::time::timeout(WAIT, self.child.wait()).await;
    }
}

pub(crate) fn free_port() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
}

/// on_shared configures a gateway to use the standalone sandbox.
pub(crate) fn on_shared(
    sandbox: &Sandbox,
    token: &str,
) -> impl FnOnce(&mut tezgram::config::Config) {
    let url = sandbox.url();
    let token = token.to_owned();
    move |config| {
        config.sandbox.remote = Some(url);
        config.sandbox.admin_token = Some(token);
    }
}

#[tokio::test]
async fn two_gateways_share_one_standalone_sandbox() {
    let sandbox = Sandbox::start().await;
    let a = TestServer::start_with(on_shared(&sandbox, ADMIN_TOKEN)).await;
    let b = TestServer::start_with(on_shared(&sandbox, ADMIN_TOKEN)).await;
    assert!(
        a.own_sandbox().is_none() && b.own_sandbox().is_none(),
        "neither gateway starts a sandbox of its own"
    );
    let (mut ca, mut cb) = (Clients::of(&a).await, Clients::of(&b).await);

    // A user made through A is a user of the one sandbox, seen from B.
    let ann = ca.sandbox_user("9996621001", "Ann", "").await;
    assert_eq!(ann.login_code, "22222");
    let listed = cb
        .sandbox
        .list_sandbox_users(authed(pb::ListSandboxUsersRequest::default(), &cb.token))
        .await
        .expect("ListSandboxUsers through B")
        .into_inner()
        .sandbox_users;
    let seen = listed
        .iter()
        .find(|u| u.user_id == ann.user_id)
        .expect("B lists the user A created");
    assert_eq!(seen.phone_number, "9996621001");
    assert_eq!(seen.first_name, "Ann");
    // Creating the same number through B returns that user.
    assert_eq!(
        cb.sandbox_user("9996621001", "Ann", "").await.user_id,
        ann.user_id
    );

    // Each gateway logs its own account in on the shared sandbox.
    let account_a = ca.login_user(&ann).await;
    assert_eq!(account_a.state(), pb::AccountState::Authorized);
    assert_eq!(account_a.telegram_user_id, ann.user_id);
    let bob = cb.sandbox_user("9996631002", "Bob", "").await;
    let account_b = cb.login_user(&bob).await;
    assert_eq!(account_b.state(), pb::AccountState::Authorized);
    assert_eq!(account_b.telegram_user_id, bob.user_id);
    for gateway in [&a, &b] {
        eventually("the gateway's account is connected", async || {
            gateway.metric("tezgram_connected_accounts").await == 1.0
        })
        .await;
    }

    // B makes Ann (A's account's user) write to B's account.
    let message = cb
        .sandbox
        .send_as_sandbox_user(authed(
            pb::SendAsSandboxUserRequest {
                sandbox_user: Some(pb::SandboxUserRef {
                    user: Some(pb::sandbox_user_ref::User::PhoneNumber(
                        "+9996621001".into(),
                    )),
                }),
                to_account_id: account_b.account_id.clone(),
                text: "hello from Ann".into(),
            },
            &cb.token,
        ))
        .await
        .expect("SendAsSandboxUser through B")
        .into_inner()
        .message
        .expect("the message as B's account sees it");
    assert_eq!(message.text, "hello from Ann");
    assert_eq!(message.chat_id, ann.user_id);
    assert!(!message.outgoing);
    assert_eq!(message.account_id, account_b.account_id);
    // B's account is connected: the message Telegram pushed reached it.
    let received = "tezgram_telegram_updates_total{kind=\"new_message\"}";
    eventually("B's account received Ann's message", async || {
        b.metric(received).await == 1.0
    })
    .await;

    // A FLOOD_WAIT injected through B reaches B's session on the sandbox.
    let carol = cb.sandbox_user("9996611003", "Carol", "").await;
    let pending = cb.start_login(&carol.phone_number).await.unwrap();
    cb.inject_fault(
        &pending.account_id,
        "auth.sendCode",
        pb::inject_fault_request::Fault::FloodWait(pb::FloodWait {
            seconds: 31,
            count: 1,
        }),
    )
    .await;
    let err = cb.start_login(&carol.phone_number).await.unwrap_err();
    assert_eq!(err.code(), Code::ResourceExhausted);
    assert_eq!(
        err.get_details_error_info().map(|i| i.reason).as_deref(),
        Some("FLOOD_WAIT")
    );
    let retry = err.get_details_retry_info().expect("RetryInfo");
    assert_eq!(retry.retry_delay, Some(Duration::from_secs(31)));

    // A restarted on its kept data is still logged in on the shared sandbox.
    let kept = a.stop_keeping_data().await;
    let a = TestServer::start_on(kept, on_shared(&sandbox, ADMIN_TOKEN)).await;
    let mut ca = Clients::of(&a).await;
    // It is connected again: what Telegram pushes reaches it.
    eventually("A's account is connected after the restart", async || {
        a.metric("tezgram_connected_accounts").await == 1.0
    })
    .await;
    ca.send_as(&bob, &account_a.account_id, "still there?")
        .await;
    eventually("A's restarted account received Bob's message", async || {
        a.metric(received).await == 1.0
    })
    .await;
    assert_eq!(
        ca.get(&account_a.account_id).await.state(),
        pb::AccountState::Authorized
    );
    // Its session works without a new login: Telegram lists its device.
    let devices = ca
        .accounts
        .list_authorizations(authed(
            pb::ListAuthorizationsRequest {
                account_id: account_a.account_id.clone(),
            },
            &ca.token,
        ))
        .await
        .expect("ListAuthorizations after the restart")
        .into_inner()
        .authorizations;
    assert_eq!(devices.len(), 1, "{devices:?}");

    a.stop().await;
    b.stop().await;
    sandbox.stop().await;
}

#[tokio::test]
async fn the_sandbox_admin_api_and_gateways_need_the_admin_token() {
    let sandbox = Sandbox::start().await;

    // The admin API answers 401 without the token, or with another one.
    let answer = sandbox.get("/v1/info", None).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 401"), "{answer}");
    let answer = sandbox
        .get("/v1/users", Some("not-the-token"))
        .await
        .unwrap();
    assert!(answer.starts_with("HTTP/1.1 401"), "{answer}");
    assert!(!answer.contains(ADMIN_TOKEN));

    // A gateway with a wrong token refuses to start, and says why.
    let err = start_failing(on_shared(&sandbox, "not-the-token")).await;
    assert!(
        err.contains("refused sandbox.admin_token"),
        "a clear error: {err}"
    );
    assert!(!err.contains(ADMIN_TOKEN) && !err.contains("not-the-token"));
    // So does one pointed at a sandbox that is not there.
    let nowhere = format!("http://{}", free_port());
    let err = start_failing(move |c: &mut tezgram::config::Config| {
        c.sandbox.remote = Some(nowhere);
        c.sandbox.admin_token = Some(ADMIN_TOKEN.into());
    })
    .await;
    assert!(err.contains("does not answer"), "a clear error: {err}");
    sandbox.stop().await;
}

#[tokio::test]
async fn the_standalone_sandbox_refuses_to_start_without_an_admin_token() {
    let data_dir = tempfile::tempdir().unwrap();
    let mut command = std::process::Command::new(BIN);
    command
        .args(["sandbox", "--listen", &free_port().to_string()])
        .args(["--admin-listen", &free_port().to_string()])
        .arg("--data-dir")
        .arg(data_dir.path())
        .stdin(Stdio::null());
    for (key, _) in std::env::vars() {
        if key.starts_with("TEZGRAM_") {
            command.env_remove(key);
        }
    }
    let output = command.output().expect("run tezgram sandbox");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("sandbox.admin_token"), "{stderr}");
}

/// start_failing starts a gateway that must fail, and returns its error.
async fn start_failing(adjust: impl FnOnce(&mut tezgram::config::Config)) -> String {
    let db = TestDb::fresh().await;
    let data_dir = tempfile::tempdir().unwrap();
    let mut config = tezgram::config::Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        metrics_listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: data_dir.path().to_owned(),
        database_url: Some(db.url.clone()),
        ..Default::default()
    };
    config.auth.jwt_hs256_secret = Some(crate::server::JWT_SECRET.to_owned());
    adjust(&mut config);
    let result = tokio::time::timeout(WAIT, tezgram::server::start(config))
        .await
        .expect("the gateway gives up in time");
    let err = match result {
        Ok(gateway) => {
            gateway.shutdown().await.unwrap();
            panic!("the gateway started");
        }
        Err(err) => format!("{err:#}"),
    };
    db.cleanup().await;
    err
}
