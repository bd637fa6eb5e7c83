//! A real gateway on 127.0.0.1:0 for each test, with a fresh database (SQLite,
//! or PostgreSQL when `TEZGRAM_TEST_DATABASE_URL` is set) and the Redis cache
//! when `TEZGRAM_TEST_REDIS_URL` is set, else the in-process one.

use std::time::Duration;

use tezgram::auth::{self, Claims};
use tezgram::config::Config;
use tezgram::domain::ports::{ApiKey, ApiKeyStore};
use tezgram::domain::{Scope, TenantId};
use tezgram::server::{self, Gateway};
use tezgram::storage::Store;
use tonic::transport::Channel;
use zeroize::Zeroizing;

use crate::db::TestDb;

pub const REDIS_URL_ENV: &str = "TEZGRAM_TEST_REDIS_URL";
/// The S3-compatible server and bucket files go to (`http://host:port/bucket`);
/// unset: the local filesystem under the data dir.
pub const S3_URL_ENV: &str = "TEZGRAM_TEST_S3_URL";
pub const JWT_SECRET: &str = "integration-test-secret-0123456789abcdef";

pub struct TestServer {
    gateway: Option<Gateway>,
    pub config: Config,
    pub db: TestDb,
    _data_dir: tempfile::TempDir,
}

impl TestServer {
    pub async fn start() -> TestServer {
        Self::start_with(|_| {}).await
    }

    /// start_with lets a test adjust the configuration before the gateway starts.
    pub async fn start_with(adjust: impl FnOnce(&mut Config)) -> TestServer {
        Self::start_on(Kept::fresh().await, adjust).await
    }

    /// start_on starts a gateway on a database (and data dir) kept from an
    /// earlier one: a restart.
    pub async fn start_on(kept: Kept, adjust: impl FnOnce(&mut Config)) -> TestServer {
        // Gateway logs go to the test's captured output: shown when it fails.
        let _ = tracing_subscriber::fmt()
            .with_env_filter(
                tracing_subscriber::EnvFilter::try_from_default_env()
                    .unwrap_or_else(|_| "info,sqlx=warn,tezgram_sandbox=debug".into()),
            )
            .with_test_writer()
            .try_init();
        let Kept { db, data_dir } = kept;
        let mut config = Config {
            listen: "127.0.0.1:0".parse().unwrap(),
            metrics_listen: "127.0.0.1:0".parse().unwrap(),
            data_dir: data_dir.path().to_owned(),
            database_url: Some(db.url.clone()),
            redis_url: std::env::var(REDIS_URL_ENV).ok().filter(|u| !u.is_empty()),
            // Tests share one Redis: each gateway is a deployment of its
            // own (tests with several instances give them one prefix).
            redis_key_prefix: format!("tezgram-test-{}:", uuid::Uuid::new_v4().simple()),
            ..Config::default()
        };
        config.auth.jwt_hs256_secret = Some(JWT_SECRET.to_owned());
        if let Some(url) = std::env::var(S3_URL_ENV).ok().filter(|u| !u.is_empty()) {
            let (endpoint, bucket) = url.rsplit_once('/').expect("http://host:port/bucket");
            config.media.s3_endpoint = Some(endpoint.to_owned());
            config.media.s3_bucket = Some(bucket.to_owned());
            config.media.s3_allow_http = true;
            config.media.s3_access_key_id = Some("tezgram-test".into());
            config.media.s3_secret_access_key = Some("tezgram-test".into());
            // Gateways share the bucket; a restarted one (same data dir)
            // finds its files again.
            let dir = data_dir.path().file_name().expect("a temp dir's name");
            let dir = dir.to_string_lossy();
            config.media.s3_prefix = format!("gw-{}", dir.trim_start_matches('.'));
        }
        config.sandbox.listen = "127.0.0.1:0".parse().unwrap();
        config.media.links_listen = Some("127.0.0.1:0".parse().unwrap());
        // Idle accounts probe their session every second, so a revoked
        // session is noticed quickly.
        config.telegram.probe_interval_seconds = 1;
        adjust(&mut config);
        let gateway = server::start(config.clone()).await.expect("gateway starts");
        TestServer {
            gateway: Some(gateway),
            config,
            db,
            _data_dir: data_dir,
        }
    }

    fn gateway(&self) -> &Gateway {
        self.gateway.as_ref().expect("gateway is running")
    }

    pub fn grpc_addr(&self) -> std::net::SocketAddr {
        self.gateway().grpc_addr
    }

    /// ownership is the gateway's share of the accounts (its leases).
    pub fn ownership(&self) -> &tezgram::service::Ownership {
        self.gateway().ownership()
    }

    /// sandbox is the gateway's in-process sandbox DC.
    pub fn sandbox(&self) -> &tezgram_sandbox::SandboxDcHandle {
        self.gateway().sandbox().expect("the sandbox dc is on")
    }

    /// own_sandbox is the gateway's in-process sandbox DC, if it started one
    /// (not when it uses a standalone sandbox).
    pub fn own_sandbox(&self) -> Option<&tezgram_sandbox::SandboxDcHandle> {
        self.gateway().sandbox()
    }

    /// live_sessions lists the auth keys signed in as `user_id` that hold a
    /// live connection to the sandbox DC (with how many each): what proves
    /// an account is connected, and connected once.
    pub fn live_sessions(&self, user_id: i64) -> Vec<(i64, usize)> {
        self.sandbox().live_sessions(user_id)
    }

    /// connected is true when exactly one auth key of `user_id` holds
    /// exactly one live connection.
    pub fn connected(&self, user_id: i64) -> bool {
        matches!(self.live_sessions(user_id).as_slice(), [(_, 1)])
    }

    /// metric reads one sample (`name` with its labels, as exposed) from the
    /// gateway's /metrics, 0 when absent.
    pub async fn metric(&self, sample: &str) -> f64 {
        let (head, body) = crate::api::http1(
            self.metrics_addr(),
            "GET /metrics HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n",
            b"",
        )
        .await;
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        String::from_utf8_lossy(&body)
            .lines()
            .filter_map(|l| l.strip_prefix(sample)?.strip_prefix(' '))
            .find_map(|v| v.trim().parse().ok())
            .unwrap_or(0.0)
    }

    pub fn inbox_addr(&self) -> Option<std::net::SocketAddr> {
        self.gateway().inbox_addr
    }

    /// blobs is the gateway's blob store, opened as the gateway opens it.
    pub async fn blobs(&self) -> tezgram::storage::Blobs {
        server::blob_store(&self.config)
            .await
            .expect("the blob store")
    }

    pub fn metrics_addr(&self) -> std::net::SocketAddr {
        self.gateway().metrics_addr
    }

    pub async fn channel(&self) -> Channel {
        Channel::from_shared(format!("http://{}", self.grpc_addr()))
            .unwrap()
            .connect_timeout(Duration::from_secs(5))
            .connect()
            .await
            .expect("connect to the gateway")
    }

    /// claims are valid claims for `tenant` with role admin; tests alter them.
    pub fn claims(&self, tenant: &str) -> Claims {
        auth::dev_claims(
            &self.config.auth,
            tenant,
            "user-1",
            Duration::from_secs(600),
        )
    }

    pub fn token(&self, tenant: &str) -> String {
        auth::issue_hs256(JWT_SECRET.as_bytes(), &self.claims(tenant))
    }

    /// api_key stores a new API key of `tenant` with `scopes` and returns
    /// its token (for [`with_api_key`]).
    pub async fn api_key(&self, tenant: &str, scopes: Vec<Scope>) -> Zeroizing<String> {
        let minted = auth::mint_api_key();
        let key = ApiKey {
            id: minted.id.clone(),
            tenant: TenantId::parse(tenant).expect("a valid tenant"),
            name: "crm".into(),
            scopes,
            created_at: chrono::Utc::now(),
            revoked_at: None,
        };
        self.store()
            .await
            .insert_api_key(&key, &minted.secret_hash)
            .await
            .expect("store the api key");
        minted.token
    }

    /// store is a second connection to the gateway's database, for arranging
    /// rows no RPC can create yet and for inspecting what was written.
    pub async fn store(&self) -> Store {
        let url = self.config.database_url.as_deref().unwrap_or(&self.db.url);
        Store::connect(url)
            .await
            .expect("connect to the test database")
    }

    pub async fn stop(mut self) {
        if let Some(gateway) = self.gateway.take() {
            gateway.shutdown().await.expect("clean shutdown");
        }
        self.db.cleanup().await;
    }

    /// restart_after stops the gateway, runs `meanwhile` against Telegram
    /// alone (the sandbox DC on the gateway's sandbox data, as Telegram
    /// goes on while a gateway is down), then starts the gateway again on
    /// the same database and data dir, `adjust`ed.
    pub async fn restart_after(
        self,
        meanwhile: impl AsyncFnOnce(&tezgram_sandbox::SandboxDcHandle),
        adjust: impl FnOnce(&mut Config),
    ) -> TestServer {
        let (data_dir, database_url) = (
            self.config.data_dir.clone(),
            self.config.database_url.clone(),
        );
        let kept = self.stop_keeping_data().await;
        let dc = tezgram_sandbox::SandboxDc::start(tezgram_sandbox::SandboxDcOptions {
            data_dir: Some(data_dir.join("sandbox")),
            ..Default::default()
        })
        .await
        .expect("the sandbox alone");
        meanwhile(&dc).await;
        dc.shutdown().await.expect("sandbox stops");
        TestServer::start_on(kept, |config| {
            config.data_dir = data_dir;
            config.database_url = database_url;
            adjust(config);
        })
        .await
    }

    /// stop_keeping_data stops the gateway and keeps its database and data
    /// dir for a restart with [`TestServer::start_on`].
    pub async fn stop_keeping_data(mut self) -> Kept {
        if let Some(gateway) = self.gateway.take() {
            gateway.shutdown().await.expect("clean shutdown");
        }
        Kept {
            db: self.db,
            data_dir: self._data_dir,
        }
    }
}

/// Kept is a database and data dir that outlive one gateway.
pub struct Kept {
    db: TestDb,
    data_dir: tempfile::TempDir,
}

impl Kept {
    async fn fresh() -> Kept {
        Kept {
            db: TestDb::fresh().await,
            data_dir: tempfile::tempdir().expect("temp dir"),
        }
    }
}

/// with_api_key wraps a message in a request with an API key.
pub fn with_api_key<T>(message: T, key: &str) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request
        .metadata_mut()
        .insert("x-api-key", key.parse().expect("ascii key"));
    request
}

/// authed wraps a message in a request with a bearer token.
pub fn authed<T>(message: T, token: &str) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request.metadata_mut().insert(
        "authorization",
        format!("Bearer {token}").parse().expect("ascii token"),
    );
    request
}
