//! A real gateway on 127.0.0.1:0 for each test, with a fresh database (SQLite,
//! or PostgreSQL when `TEZGRAM_TEST_DATABASE_URL` is set) and the Redis cache
//! when `TEZGRAM_TEST_REDIS_URL` is set, else the in-process one.

use std::time::Duration;

use tezgram::auth::{self, Claims};
use tezgram::config::Config;
use tezgram::server::{self, Gateway};
use tezgram::storage::Store;
use tonic::transport::Channel;

use crate::db::TestDb;

pub const REDIS_URL_ENV: &str = "TEZGRAM_TEST_REDIS_URL";
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
        let db = TestDb::fresh().await;
        let data_dir = tempfile::tempdir().expect("temp dir");
        let mut config = Config {
            listen: "127.0.0.1:0".parse().unwrap(),
            metrics_listen: "127.0.0.1:0".parse().unwrap(),
            data_dir: data_dir.path().to_owned(),
            database_url: Some(db.url.clone()),
            redis_url: std::env::var(REDIS_URL_ENV).ok().filter(|u| !u.is_empty()),
            ..Config::default()
        };
        config.auth.jwt_hs256_secret = Some(JWT_SECRET.to_owned());
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
