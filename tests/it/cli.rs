//! The `tezgram` binary as an operator uses it: `token`, `api-key`,
//! `migrate`, `serve` stopped by SIGTERM, exporting traces over OTLP, and
//! `sandbox` serving a data dir until SIGTERM.

use std::collections::HashMap;
use std::net::{SocketAddr, SocketAddrV6};
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use grammers_client::Client;
use grammers_client::sender::{ConnectionParams, NoRetries, SenderPool};
use grammers_client::session::SessionData;
use grammers_client::session::storages::MemorySession;
use grammers_client::session::types::DcOption;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use rand::RngCore;
use tezgram_sandbox::{DC_ID, NewUser, SandboxDc, SandboxDcOptions, SandboxLink};
use tezgram_sdk::v1 as pb;
use tezgram_sdk::v1::account_service_client::AccountServiceClient;
use tonic::Code;

use crate::db::TestDb;
use crate::server::{TestServer, authed};

const BIN: &str = env!("CARGO_BIN_EXE_tezgram");

/// tezgram runs the binary with a clean `TEZGRAM_*` environment plus `env`.
fn tezgram(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(BIN);
    command.args(args).stdin(Stdio::null());
    for (key, _) in std::env::vars() {
        if key.starts_with("TEZGRAM_") {
            command.env_remove(key);
        }
    }
    command.envs(env.iter().copied());
    command.output().expect("run the tezgram binary")
}

fn stdout_last_line(output: &Output) -> String {
    assert!(
        output.status.success(),
        "tezgram failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout.clone())
        .unwrap()
        .lines()
        .last()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn token_prints_a_token_the_gateway_accepts() {
    // The embedded default: the dev secret is created in the data dir on first use.
    let data_dir = tempfile::tempdir().unwrap();
    let dir = data_dir.path().to_str().unwrap();
    let token = stdout_last_line(&tezgram(
        &["token", "--tenant", "acme"],
        &[("TEZGRAM_DATA_DIR", dir)],
    ));
    assert_eq!(token.split('.').count(), 3, "a JWT: {token}");
    let again = stdout_last_line(&tezgram(
        &["token", "--tenant", "acme"],
        &[("TEZGRAM_DATA_DIR", dir)],
    ));
    assert_ne!(again, "", "the secret is reused, not recreated");

    let server = TestServer::start_with(|c| {
        c.data_dir = data_dir.path().to_owned();
        c.auth.jwt_hs256_secret = None;
    })
    .await;
    let mut client = AccountServiceClient::new(server.channel().await);
    for token in [&token, &again] {
        client
            .list_accounts(authed(pb::ListAccountsRequest::default(), token))
            .await
            .expect("the printed token is accepted");
    }
    let secret = std::fs::read_to_string(data_dir.path().join("jwt-secret")).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(data_dir.path().join("jwt-secret"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(
            mode & 0o077,
            0,
            "the dev secret is readable by its owner only"
        );
    }
    assert!(!secret.is_empty());
    server.stop().await;
}

#[tokio::test]
async fn api_keys_are_created_listed_and_revoked_from_the_cli() {
    let server = TestServer::start().await;
    let db = server.db.url.clone();
    let env = [("TEZGRAM_DATABASE_URL", db.as_str())];
    let key = stdout_last_line(&tezgram(
        &[
            "api-key",
            "create",
            "--tenant",
            "acme",
            "--name",
            "crm-sync",
            "--scope",
            "accounts:read",
        ],
        &env,
    ));
    assert!(key.starts_with("tzk_"), "{key}");

    let mut client = AccountServiceClient::new(server.channel().await);
    let call = |key: &str| {
        let mut request = tonic::Request::new(pb::ListAccountsRequest::default());
        request
            .metadata_mut()
            .insert("x-api-key", key.parse().unwrap());
        request
    };
    client
        .list_accounts(call(&key))
        .await
        .expect("the new key works");

    let listed = tezgram(&["api-key", "list", "--tenant", "acme"], &env);
    let listed = String::from_utf8(listed.stdout).unwrap();
    let id = key.strip_prefix("tzk_").unwrap().split('_').next().unwrap();
    assert!(
        listed.contains(id) && listed.contains("accounts:read"),
        "{listed}"
    );
    assert!(!listed.contains(&key), "list never shows the secret");

    let bad_scope = tezgram(
        &[
            "api-key",
            "create",
            "--tenant",
            "acme",
            "--name",
            "x",
            "--scope",
            "everything",
        ],
        &env,
    );
    assert!(!bad_scope.status.success());

    let revoked = tezgram(&["api-key", "revoke", id], &env);
    assert!(
        revoked.status.success(),
        "revoke failed: {}",
        String::from_utf8_lossy(&revoked.stderr)
    );
    let err = client.list_accounts(call(&key)).await.unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated);
    server.stop().await;
}

#[tokio::test]
async fn migrate_prepares_an_empty_database() {
    let db = TestDb::fresh().await;
    let output = tezgram(&["migrate"], &[("TEZGRAM_DATABASE_URL", db.url.as_str())]);
    assert_eq!(stdout_last_line(&output), "migrations applied");
    // Serving without migrating now finds every table.
    let server = TestServer::start_with(|c| {
        c.database_url = Some(db.url.clone());
        c.migrate_on_start = false;
    })
    .await;
    let mut client = AccountServiceClient::new(server.channel().await);
    client
        .list_accounts(authed(
            pb::ListAccountsRequest::default(),
            &server.token("acme"),
        ))
        .await
        .unwrap();
    server.stop().await;
    db.cleanup().await;
}

/// Collector is an OTLP/gRPC trace collector that remembers span names.
#[derive(Clone, Default)]
struct Collector(Arc<Mutex<Vec<String>>>);

#[tonic::async_trait]
impl TraceService for Collector {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let mut names = self.0.lock().unwrap();
        for resource in request.into_inner().resource_spans {
            for scope in resource.scope_spans {
                names.extend(scope.spans.into_iter().map(|s| s.name));
            }
        }
        Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
    }
}

fn free_port() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap()
}

#[tokio::test]
async fn serve_exports_rpc_spans_and_stops_cleanly_on_sigterm() {
    let collector = Collector::default();
    let collector_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let collector_addr = collector_listener.local_addr().unwrap();
    let serving = tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(TraceServiceServer::new(collector.clone()))
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(
                collector_listener,
            )),
    );

    let data_dir = tempfile::tempdir().unwrap();
    let db = TestDb::fresh().await;
    let (grpc, metrics) = (free_port(), free_port());
    let env: Vec<(String, String)> = vec![
        (
            "TEZGRAM_DATA_DIR".into(),
            data_dir.path().to_str().unwrap().into(),
        ),
        ("TEZGRAM_DATABASE_URL".into(), db.url.clone()),
        ("TEZGRAM_LISTEN".into(), grpc.to_string()),
        ("TEZGRAM_METRICS_LISTEN".into(), metrics.to_string()),
        (
            "TEZGRAM_OTLP_ENDPOINT".into(),
            format!("http://{collector_addr}"),
        ),
        // The in-process sandbox DC on a free port, never the fixed default.
        ("TEZGRAM_SANDBOX__LISTEN".into(), "127.0.0.1:0".into()),
    ];
    let mut command = tokio::process::Command::new(BIN);
    command
        .arg("serve")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    for (key, _) in std::env::vars() {
        if key.starts_with("TEZGRAM_") {
            command.env_remove(key);
        }
    }
    command.envs(env.iter().map(|(k, v)| (k, v)));
    let child = command.spawn().expect("start tezgram serve");

    // Wait (bounded) until it serves, then make one authenticated call.
    let endpoint = format!("http://{grpc}");
    let mut channel = None;
    for _ in 0..100 {
        if let Ok(c) = tonic::transport::Channel::from_shared(endpoint.clone())
            .unwrap()
            .connect()
            .await
        {
            channel = Some(c);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let token = stdout_last_line(&tezgram(
        &["token"],
        &[("TEZGRAM_DATA_DIR", data_dir.path().to_str().unwrap())],
    ));
    let mut client = AccountServiceClient::new(channel.expect("tezgram serve listens"));
    client
        .list_accounts(authed(pb::ListAccountsRequest::default(), &token))
        .await
        .unwrap();

    let pid = child.id().expect("running").to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let output = tokio::time::timeout(Duration::from_secs(30), child.wait_with_output())
        .await
        .expect("tezgram exits within 30s of SIGTERM")
        .unwrap();
    let logs = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "exit status {:?}: {logs}",
        output.status
    );
    assert!(logs.contains("shutting down"), "{logs}");
    assert!(!logs.contains(&token), "the token is never logged");

    // Spans are flushed at shutdown; the collector has the RPC's span.
    let names = collector.0.lock().unwrap().clone();
    assert!(
        names
            .iter()
            .any(|n| n == "/tez.telegram.v1.AccountService/ListAccounts"),
        "exported spans: {names:?}"
    );
    serving.abort();
    db.cleanup().await;
}

#[tokio::test]
async fn an_empty_jwt_secret_stops_serve_and_token_from_running() {
    let data_dir = tempfile::tempdir().unwrap();
    let dir = data_dir.path().to_str().unwrap();
    let (grpc, metrics, sandbox) = (free_port(), free_port(), free_port());
    let mut serve = tokio::process::Command::new(BIN);
    serve
        .arg("serve")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    for (key, _) in std::env::vars() {
        if key.starts_with("TEZGRAM_") {
            serve.env_remove(key);
        }
    }
    serve.envs([
        ("TEZGRAM_DATA_DIR", dir.to_owned()),
        ("TEZGRAM_LISTEN", grpc.to_string()),
        ("TEZGRAM_METRICS_LISTEN", metrics.to_string()),
        ("TEZGRAM_SANDBOX__LISTEN", sandbox.to_string()),
        ("TEZGRAM_AUTH__JWT_HS256_SECRET", String::new()),
    ]);
    let child = serve.spawn().expect("start tezgram serve");
    // Bounded: a server that started would never exit by itself.
    let output = tokio::time::timeout(Duration::from_secs(30), child.wait_with_output())
        .await
        .expect("serve exits instead of serving with an empty secret")
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("jwt_hs256_secret"),
        "names the setting: {stderr}"
    );
    assert!(
        tokio::net::TcpStream::connect(grpc).await.is_err(),
        "nothing listens on the gRPC port"
    );

    // Nor does `token` sign anything with it.
    let token = tezgram(
        &["token", "--tenant", "acme"],
        &[
            ("TEZGRAM_DATA_DIR", dir),
            ("TEZGRAM_AUTH__JWT_HS256_SECRET", ""),
        ],
    );
    assert!(!token.status.success(), "token signed with an empty key");
}

#[tokio::test]
async fn tezgram_sandbox_serves_a_data_dir_and_stops_on_sigterm() {
    const WAIT: Duration = Duration::from_secs(10);
    // A data dir with a logged-in session, written by an in-process sandbox.
    let dir = tempfile::tempdir().unwrap();
    let mut key = [0u8; 256];
    rand::rng().fill_bytes(&mut key);
    let user = {
        let dc = SandboxDc::start(SandboxDcOptions {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            data_dir: Some(dir.path().to_owned()),
            ..SandboxDcOptions::default()
        })
        .await
        .unwrap();
        let user = dc
            .create_user(NewUser {
                phone: "9996627777".into(),
                first_name: "Standalone".into(),
                ..NewUser::default()
            })
            .await
            .unwrap();
        dc.sign_in(user.id, key).unwrap();
        dc.shutdown().await.unwrap();
        user
    };

    let listen = free_port().to_string();
    let admin_listen = free_port().to_string();
    let mut command = tokio::process::Command::new(BIN);
    command
        .args(["sandbox", "--listen", &listen])
        .args(["--admin-listen", &admin_listen, "--data-dir"])
        .arg(dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    for (key, _) in std::env::vars() {
        if key.starts_with("TEZGRAM_") {
            command.env_remove(key);
        }
    }
    command.env(
        "TEZGRAM_SANDBOX__ADMIN_TOKEN",
        "sandbox-cli-admin-token-0123456789abcdef",
    );
    let child = command.spawn().expect("start tezgram sandbox");
    tokio::time::timeout(WAIT, async {
        while tokio::net::TcpStream::connect(&listen).await.is_err() {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("tezgram sandbox listens");

    // The standalone sandbox knows the key and its login from the snapshot.
    let SocketAddr::V4(ipv4) = listen.parse::<SocketAddr>().unwrap() else {
        unreachable!("an IPv4 address");
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
    let params = ConnectionParams {
        retry_policy: Box::new(NoRetries),
        ..ConnectionParams::default()
    };
    let pool = SenderPool::with_configuration(Arc::new(session), 12345, params);
    let client = Client::new(pool.handle);
    let runner = tokio::spawn(pool.runner.run());
    let me = tokio::time::timeout(WAIT, client.get_me())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(me.id().bare_id(), Some(user.id));
    runner.abort();

    let pid = child.id().expect("running").to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let output = tokio::time::timeout(WAIT, child.wait_with_output())
        .await
        .expect("tezgram sandbox exits within 10 s of SIGTERM")
        .unwrap();
    let logs = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{:?}: {logs}", output.status);
    assert!(logs.contains("sandbox dc stopped"), "{logs}");
    assert!(!logs.contains("sandbox-cli-admin-token"), "{logs}");
    assert!(dir.path().join("sandbox.json").exists());
}
