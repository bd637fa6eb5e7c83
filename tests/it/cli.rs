//! The `tezgram` binary as an operator uses it: `token`, `api-key`,
//! `migrate`, and `serve` stopped by SIGTERM, exporting traces over OTLP.

use std::net::SocketAddr;
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
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

    assert!(tezgram(&["api-key", "revoke", id], &env).status.success());
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
