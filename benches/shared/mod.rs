//! What the gateway benches share: logs, a fresh PostgreSQL database, a
//! gateway configured for load on loopback, bearer tokens and the table
//! file. Included by each bench with `#[path = "shared/mod.rs"] mod shared;`.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::time::Duration;

use sea_orm::{ConnectionTrait, Database, DatabaseConnection};
use tezgram::auth;
use tezgram::config::Config;
use tezgram_sandbox::login_code;
use tezgram_sdk::v1 as pb;
use tezgram_sdk::v1::account_service_client::AccountServiceClient;
use tonic::transport::Channel;

pub const TENANT: &str = "bench";
pub const JWT_SECRET: &str = "bench-secret-0123456789abcdef-0123456789";

pub fn authed<T>(message: T, token: &str) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request.metadata_mut().insert(
        "authorization",
        format!("Bearer {token}").parse().expect("ascii token"),
    );
    request
}

/// main runs a bench on PostgreSQL (`TEZGRAM_TEST_DATABASE_URL`, an admin
/// URL) and writes the table it returns to `$CARGO_TARGET_DIR/bench/<file>`.
pub fn main<F, Fut>(file: &str, run: F)
where
    F: FnOnce(String) -> Fut,
    Fut: Future<Output = String>,
{
    let admin_url = std::env::var("TEZGRAM_TEST_DATABASE_URL")
        .ok()
        .filter(|u| !u.is_empty())
        .expect("TEZGRAM_TEST_DATABASE_URL (a PostgreSQL admin URL): run `make bench`");
    // The gateway's warnings (a cache or database falling back) would
    // explain a figure: show them.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "warn,sqlx=error".into()),
        )
        .with_writer(std::io::stderr)
        .try_init();
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let table = runtime.block_on(run(admin_url));
    println!("{table}");
    let dir = PathBuf::from(std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".into()))
        .join("bench");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(file), &table).unwrap();
    eprintln!("written to {}", dir.join(file).display());
}

/// BenchDb is a database made for one run, dropped by `drop`.
pub struct BenchDb {
    admin: DatabaseConnection,
    name: String,
    pub url: String,
}

impl BenchDb {
    pub async fn create(admin_url: &str, label: &str) -> BenchDb {
        let name = format!("tezgram_bench_{label}_{}", std::process::id());
        let admin = Database::connect(admin_url).await.expect("postgres");
        admin
            .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
            .await
            .expect("create the bench database");
        let (base, _) = admin_url.rsplit_once('/').expect("a database URL");
        let url = format!("{base}/{name}");
        BenchDb { admin, name, url }
    }

    pub async fn drop(self) {
        let _ = self
            .admin
            .execute_unprepared(&format!(
                "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
                self.name
            ))
            .await;
    }
}

/// gateway_config is a gateway on loopback ports, on `database_url`, with
/// its data in `data_dir` and rate limits out of the way; and a token for
/// it.
pub fn gateway_config(data_dir: &Path, database_url: &str) -> (Config, String) {
    let mut config = Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        metrics_listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: data_dir.to_owned(),
        database_url: Some(database_url.to_owned()),
        ..Config::default()
    };
    config.auth.jwt_hs256_secret = Some(JWT_SECRET.to_owned());
    config.sandbox.listen = "127.0.0.1:0".parse().unwrap();
    config.rate_limit.per_principal_per_second = 1_000_000;
    config.rate_limit.per_principal_burst = 1_000_000;
    config.rate_limit.per_ip_per_second = 1_000_000;
    config.rate_limit.per_ip_burst = 1_000_000;
    let claims = auth::dev_claims(&config.auth, TENANT, "bench", Duration::from_secs(3600));
    let token = auth::issue_hs256(JWT_SECRET.as_bytes(), &claims);
    (config, token)
}

/// log_in logs the sandbox user with `phone` in through the gateway (phone
/// and code) and returns the account's id.
pub async fn log_in(
    accounts: &mut AccountServiceClient<Channel>,
    token: &str,
    phone: &str,
) -> String {
    let account = accounts
        .start_login(authed(
            pb::StartLoginRequest {
                credential: Some(pb::start_login_request::Credential::PhoneNumber(
                    phone.to_owned(),
                )),
                ..Default::default()
            },
            token,
        ))
        .await
        .expect("StartLogin")
        .into_inner()
        .account
        .unwrap();
    let code = login_code(phone).expect("a sandbox number");
    accounts
        .submit_code(authed(
            pb::SubmitCodeRequest {
                account_id: account.account_id.clone(),
                code,
            },
            token,
        ))
        .await
        .expect("SubmitCode");
    account.account_id
}
