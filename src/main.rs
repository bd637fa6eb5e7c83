//! The `tezgram` command: serve the gateway, migrate, and operator tasks.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use chrono::Utc;
use clap::{Parser, Subcommand};
use tezgram::auth;
use tezgram::config::Config;
use tezgram::domain::ports::{ApiKey, ApiKeyStore};
use tezgram::domain::{Scope, TenantId};
use tezgram::server;

/// jemalloc: idle accounts cost less after a reconnect burst than with
/// glibc's per-thread arenas (see benches/accounts.rs).
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[derive(Parser)]
#[command(name = "tezgram", version, about = "Tez CRM's Telegram gateway")]
struct Cli {
    /// TOML config file (also `TEZGRAM_CONFIG`); `TEZGRAM_*` variables override it.
    #[arg(long, global = true, env = "TEZGRAM_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve gRPC and grpc-web, with /metrics on its own port.
    Serve {
        /// Do not run database migrations on start.
        #[arg(long)]
        no_migrate: bool,
    },
    /// Apply database migrations and exit.
    Migrate,
    /// Print a development JWT signed with the HS256 secret (the last line is the token alone).
    Token {
        #[arg(long, default_value = "dev")]
        tenant: String,
        #[arg(long, default_value = "dev")]
        subject: String,
        /// Lifetime in hours.
        #[arg(long, default_value_t = 24)]
        ttl_hours: u64,
    },
    /// Manage API keys for internal services.
    #[command(subcommand)]
    ApiKey(ApiKeyCommand),
    /// Run the sandbox DC (a Telegram simulator speaking MTProto) standalone,
    /// until SIGINT or SIGTERM.
    #[cfg_attr(not(feature = "sandbox"), command(hide = true))]
    Sandbox {
        /// MTProto address to listen on.
        #[arg(long, default_value = "127.0.0.1:50061")]
        listen: SocketAddr,
        /// Directory holding the sandbox's `sandbox.json` snapshot.
        #[arg(long, default_value = "./data/sandbox")]
        data_dir: PathBuf,
        /// Address of the admin API gateways use (`sandbox.remote`); it
        /// needs `sandbox.admin_token` (`TEZGRAM_SANDBOX__ADMIN_TOKEN`).
        #[arg(long, default_value = "127.0.0.1:50062")]
        admin_listen: SocketAddr,
        /// Allow a non-loopback `--admin-listen` (the admin API creates
        /// users and logs sessions out; keep it private).
        #[arg(long)]
        admin_allow_remote: bool,
    },
}

#[derive(Subcommand)]
enum ApiKeyCommand {
    /// Create a key; it is printed once and stored only as a hash.
    Create {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        name: String,
        /// Scopes, repeatable: accounts:read, accounts:write, chats:read,
        /// messages:read, messages:write, media:read, media:write,
        /// updates:read, crm:read, crm:write, audit:read, sandbox.
        #[arg(long = "scope", required = true)]
        scopes: Vec<String>,
    },
    /// List keys (never their secrets).
    List {
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Revoke a key by id.
    Revoke { id: String },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let mut config = Config::load(cli.config.as_deref()).context("loading configuration")?;
    match cli.command {
        Command::Serve { no_migrate } => {
            if no_migrate {
                config.migrate_on_start = false;
            }
            let telemetry =
                tezgram::telemetry::init(&config.log_format, config.otlp_endpoint.as_deref())?;
            let result = server::serve(config).await;
            telemetry.shutdown();
            result
        }
        Command::Migrate => {
            server::open_store(&config, true).await?;
            println!("migrations applied");
            Ok(())
        }
        Command::Token {
            tenant,
            subject,
            ttl_hours,
        } => {
            anyhow::ensure!(
                config.auth.jwt_rs256_public_key_file.is_none(),
                "tokens for RS256 are issued by your identity provider, not by tezgram"
            );
            TenantId::parse(&tenant).context("tenant must be 1-128 of [A-Za-z0-9._:-]")?;
            let secret = server::jwt_secret(&config).await?;
            let claims = auth::dev_claims(
                &config.auth,
                &tenant,
                &subject,
                Duration::from_secs(ttl_hours * 3600),
            );
            eprintln!(
                "# dev token: tenant={tenant} sub={subject} roles=admin,sandbox ttl={ttl_hours}h"
            );
            println!("{}", auth::issue_hs256(secret.as_bytes(), &claims));
            Ok(())
        }
        Command::ApiKey(command) => api_key(&config, command).await,
        Command::Sandbox {
            listen,
            data_dir,
            admin_listen,
            admin_allow_remote,
        } => sandbox(config, listen, data_dir, admin_listen, admin_allow_remote).await,
    }
}

/// sandbox runs the sandbox DC standalone with its admin API until SIGINT
/// or SIGTERM: `tezgram sandbox`.
#[cfg(feature = "sandbox")]
async fn sandbox(
    mut config: Config,
    listen: SocketAddr,
    data_dir: PathBuf,
    admin_listen: SocketAddr,
    admin_allow_remote: bool,
) -> anyhow::Result<()> {
    let token = config
        .sandbox
        .admin_token
        .take()
        .filter(|t| !t.trim().is_empty())
        .context(
            "the sandbox's admin api needs a token: set sandbox.admin_token (TEZGRAM_SANDBOX__ADMIN_TOKEN)",
        )?;
    let telemetry = tezgram::telemetry::init(&config.log_format, config.otlp_endpoint.as_deref())?;
    let result = tezgram_sandbox::serve(
        tezgram_sandbox::SandboxDcOptions {
            listen,
            data_dir: Some(data_dir),
            max_difference: config.sandbox.max_difference.map(|n| n as usize),
            // As Telegram: a key used from two gateways at once is refused.
            detect_duplicate_keys: true,
        },
        tezgram_sandbox::AdminApiOptions {
            listen: admin_listen,
            token: zeroize::Zeroizing::new(token),
            allow_remote: admin_allow_remote,
        },
        tezgram::shutdown::signal(),
    )
    .await;
    telemetry.shutdown();
    result.context("running the sandbox dc")
}

/// sandbox: this build has no sandbox DC to run.
#[cfg(not(feature = "sandbox"))]
async fn sandbox(
    _config: Config,
    _listen: SocketAddr,
    _data_dir: PathBuf,
    _admin_listen: SocketAddr,
    _admin_allow_remote: bool,
) -> anyhow::Result<()> {
    anyhow::bail!(
        "tezgram sandbox: this tezgram was built without the sandbox feature; \
         use a build with it (cargo build --features sandbox, the default)"
    )
}

async fn api_key(config: &Config, command: ApiKeyCommand) -> anyhow::Result<()> {
    let store: Arc<dyn ApiKeyStore> = Arc::new(server::open_store(config, true).await?);
    match command {
        ApiKeyCommand::Create {
            tenant,
            name,
            scopes,
        } => {
            let tenant =
                TenantId::parse(&tenant).context("tenant must be 1-128 of [A-Za-z0-9._:-]")?;
            let scopes = scopes
                .iter()
                .map(|s| Scope::parse(s).with_context(|| format!("unknown scope {s:?}")))
                .collect::<anyhow::Result<Vec<_>>>()?;
            let minted = auth::mint_api_key();
            let key = ApiKey {
                id: minted.id.clone(),
                tenant,
                name,
                scopes,
                created_at: Utc::now(),
                revoked_at: None,
            };
            store.insert_api_key(&key, &minted.secret_hash).await?;
            eprintln!("# api key {} created; it is shown only now", key.id);
            println!("{}", minted.token.as_str());
        }
        ApiKeyCommand::List { tenant } => {
            let tenant = tenant
                .map(|t| TenantId::parse(&t).context("bad tenant"))
                .transpose()?;
            for key in store.list_api_keys(tenant.as_ref()).await? {
                let scopes: Vec<_> = key.scopes.iter().map(|s| s.as_str()).collect();
                println!(
                    "{}\t{}\t{}\t{}\t{}",
                    key.id,
                    key.tenant,
                    key.name,
                    scopes.join(","),
                    key.revoked_at
                        .map_or("active".to_owned(), |t| format!("revoked {t}")),
                );
            }
        }
        ApiKeyCommand::Revoke { id } => {
            store.revoke_api_key(&id, Utc::now()).await?;
            println!("revoked {id}");
        }
    }
    Ok(())
}
