//! `tezgram serve`: wires config, storage, cache, auth and the API into a
//! running gateway — gRPC and grpc-web on one port, `/metrics` on another.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use http::{HeaderName, Method};
#[cfg(feature = "sandbox")]
use tezgram_sandbox::{RemoteLink, SandboxDc, SandboxDcHandle, SandboxDcOptions, SandboxLink};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_stream::StreamExt as _;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::transport::Server;
use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;
use tower_governor::GovernorLayer;
use tower_governor::governor::GovernorConfigBuilder;
use tower_http::cors::{AllowOrigin, CorsLayer};
use zeroize::Zeroizing;

use crate::api::forward::{ForwardLayer, Forwarder, InternalAuthLayer, InternalSecret};
use crate::api::layers::{
    AuthLayer, KnownMethods, PeerIpKey, PrincipalKey, RpcLayer, rate_limited,
};
use crate::api::{self, SERVICE_NAMES, Services};
use crate::auth::{self, Authenticator, JwtVerifier};
use crate::config::Config;
use crate::crypto::Sealer;
use crate::domain::ports::{AccountStore, ApiKeyStore, BlobStore, SessionStore, Supervision};
use crate::links::Links;
use crate::service::accounts::AccountLimits;
use crate::service::cached::Generations;
use crate::service::chats::ChatOptions;
use crate::service::media::MediaOptions;
use crate::service::outbox::OutboxOptions;
use crate::service::ownership::OwnershipOptions;
use crate::service::routing::Routed;
#[cfg(feature = "sandbox")]
use crate::service::sandbox::SandboxAdmin;
use crate::service::triggers::TriggerOptions;
use crate::service::updates::UpdateOptions;
use crate::service::{
    Accounts, Audit, Chats, Contacts, Crm, Files, Outbox, Ownership, Triggers, Updates,
    UserPreferences,
};
use crate::storage::{Blobs, S3Settings, Store};
use crate::telegram::accounts::{Provisioner, RealTelegram, Telegram, TelegramOptions};
use crate::telegram::login::App;
#[cfg(feature = "sandbox")]
use crate::telegram::provision::SandboxSessions;
use crate::telegram::session::SessionOptions;
use crate::telegram::supervisor::{AccountSupervisor, SupervisorOptions};
use crate::telemetry::Metrics;
use crate::webhooks::{TargetPolicy, WebhookClient};

/// HEALTH_INTERVAL is how often the database is pinged for the health status.
const HEALTH_INTERVAL: Duration = Duration::from_secs(2);
/// DRAIN_TIMEOUT bounds how long shutdown waits for in-flight calls.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// Gateway is a running gateway. Dropping it does not stop it; call
/// [`Gateway::shutdown`].
pub struct Gateway {
    pub grpc_addr: SocketAddr,
    pub metrics_addr: SocketAddr,
    /// Where the inbox page is served (`inbox_listen`), if it is.
    pub inbox_addr: Option<SocketAddr>,
    /// Where signed download links are served (`media.links_listen`).
    pub links_addr: Option<SocketAddr>,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<anyhow::Result<()>>>,
    supervisor: AccountSupervisor,
    ownership: Ownership,
    /// Held while the gateway runs: its claim on the data dir's instance id.
    _instance_lock: Option<crate::files::InstanceLock>,
    #[cfg(feature = "sandbox")]
    sandbox: Option<SandboxDcHandle>,
}

impl Gateway {
    /// sandbox is the in-process sandbox DC, when the gateway runs on one
    /// (not on real Telegram, nor on a standalone sandbox).
    #[cfg(feature = "sandbox")]
    pub fn sandbox(&self) -> Option<&SandboxDcHandle> {
        self.sandbox.as_ref()
    }

    /// supervised counts the accounts whose connection is kept up.
    pub fn supervised(&self) -> usize {
        self.supervisor.supervised()
    }

    /// ownership is this instance's share of the accounts.
    pub fn ownership(&self) -> &Ownership {
        &self.ownership
    }

    /// shutdown stops accepting calls, drains in-flight ones, disconnects the
    /// accounts, stops the sandbox DC, and waits.
    pub async fn shutdown(self) -> anyhow::Result<()> {
        let _ = self.shutdown.send(true);
        for task in self.tasks {
            task.await.context("gateway task panicked")??;
        }
        self.supervisor.shutdown().await;
        #[cfg(feature = "sandbox")]
        if let Some(sandbox) = self.sandbox {
            sandbox
                .shutdown()
                .await
                .context("stopping the sandbox dc")?;
        }
        Ok(())
    }
}

/// SANDBOX_APP is the application the gateway logs in as on the sandbox DC.
#[cfg(feature = "sandbox")]
const SANDBOX_API_ID: i32 = 1;

/// SandboxParts is the sandbox a gateway runs on: the DC it started
/// in-process (none for a standalone one) and the link to it.
#[cfg(feature = "sandbox")]
struct SandboxParts {
    dc: Option<SandboxDcHandle>,
    link: Arc<dyn SandboxLink>,
}

/// SandboxParts: built without the sandbox feature, a gateway never runs on
/// a sandbox.
#[cfg(not(feature = "sandbox"))]
enum SandboxParts {}

/// sandbox starts the sandbox DC in-process, or links to the standalone
/// one at `sandbox.remote`, checking its admin API answers our token.
#[cfg(feature = "sandbox")]
async fn sandbox(config: &Config) -> anyhow::Result<SandboxParts> {
    if let Some(remote) = config.sandbox.remote.as_deref().filter(|r| !r.is_empty()) {
        let token = config
            .sandbox
            .admin_token
            .as_deref()
            .filter(|t| !t.is_empty())
            .context("sandbox.remote is set: set sandbox.admin_token (TEZGRAM_SANDBOX__ADMIN_TOKEN) to the standalone sandbox's admin token")?;
        let link = match RemoteLink::connect(remote, token).await {
            Ok(link) => link,
            Err(tezgram_sandbox::Error::Unauthorized) => anyhow::bail!(
                "the sandbox at {remote} refused sandbox.admin_token: the gateway and `tezgram sandbox` must share the same admin token"
            ),
            Err(err) => {
                return Err(anyhow::Error::new(err)).with_context(|| {
                    format!("the sandbox at {remote} (sandbox.remote) does not answer")
                });
            }
        };
        tracing::info!(admin = %remote, addr = %link.mtproto_addr(), "sandbox dc linked");
        return Ok(SandboxParts {
            dc: None,
            link: Arc::new(link),
        });
    }
    let dc = SandboxDc::start(SandboxDcOptions {
        listen: config.sandbox.listen,
        data_dir: Some(config.data_dir.join("sandbox")),
        max_difference: config.sandbox.max_difference.map(|n| n as usize),
        // As Telegram: a key used from two connections at once is refused
        // and dead (no config field: nothing in the gateway needs it off).
        detect_duplicate_keys: true,
    })
    .await
    .context("starting the sandbox dc")?;
    tracing::info!(addr = %dc.mtproto_addr(), "sandbox dc serving");
    Ok(SandboxParts {
        link: Arc::new(dc.clone()),
        dc: Some(dc),
    })
}

/// on_sandbox is where sessions live when the sandbox is on: the sandbox DC
/// (in-process or standalone).
#[cfg(feature = "sandbox")]
async fn on_sandbox(config: &Config) -> anyhow::Result<(App, Arc<dyn Provisioner>, SandboxParts)> {
    let parts = sandbox(config).await?;
    let app = App {
        api_id: SANDBOX_API_ID,
        api_hash: "sandbox".to_owned(),
    };
    let provisioner = Arc::new(SandboxSessions {
        link: parts.link.clone(),
    });
    Ok((app, provisioner, parts))
}

/// on_sandbox refuses to start: the configuration asks for the sandbox
/// (explicitly, or by giving no Telegram credentials), which this build
/// does not have.
#[cfg(not(feature = "sandbox"))]
async fn on_sandbox(config: &Config) -> anyhow::Result<(App, Arc<dyn Provisioner>, SandboxParts)> {
    if config.sandbox.enabled == Some(true) {
        anyhow::bail!(
            "sandbox.enabled is true, but this gateway was built without the sandbox feature: \
             turn sandbox.enabled off and set telegram.api_id and telegram.api_hash, \
             or use a build with the sandbox (cargo build --features sandbox)"
        );
    }
    anyhow::bail!(
        "this gateway was built without the sandbox feature and talks to real Telegram only: \
         set telegram.api_id and telegram.api_hash (TEZGRAM_TELEGRAM__API_ID, TEZGRAM_TELEGRAM__API_HASH)"
    )
}

/// telegram builds the Telegram adapter: on the sandbox DC (in-process or
/// standalone) or on real Telegram with the configured credentials.
async fn telegram(
    config: &Config,
    sessions: Arc<dyn SessionStore>,
    sealer: Sealer,
) -> anyhow::Result<(Arc<Telegram>, Option<SandboxParts>)> {
    let (app, provisioner, sandbox): (App, Arc<dyn Provisioner>, _) = if config.sandbox_enabled() {
        let (app, provisioner, parts) = on_sandbox(config).await?;
        (app, provisioner, Some(parts))
    } else {
        let (api_id, api_hash) = config.telegram_credentials().context(
            "the sandbox is off: set telegram.api_id and telegram.api_hash, or turn sandbox.enabled on",
        )?;
        let app = App {
            api_id,
            api_hash: api_hash.to_owned(),
        };
        (app, Arc::new(RealTelegram), None)
    };
    let options = TelegramOptions {
        call_timeout: seconds(config.telegram.call_timeout_seconds),
        session: SessionOptions {
            flush_timeout: seconds(config.telegram.session_flush_timeout_seconds),
        },
    };
    Ok((
        Arc::new(Telegram::new(app, provisioner, sessions, sealer, options)),
        sandbox,
    ))
}

/// jwt_secret is the configured HS256 secret, or the dev secret kept in the
/// data dir (created on first use). Either must be at least
/// [`auth::MIN_HS256_SECRET_BYTES`] long.
pub async fn jwt_secret(config: &Config) -> anyhow::Result<Zeroizing<String>> {
    match &config.auth.jwt_hs256_secret {
        Some(secret) => {
            auth::check_hs256_secret(secret)
                .map_err(anyhow::Error::msg)
                .context("auth.jwt_hs256_secret (TEZGRAM_AUTH__JWT_HS256_SECRET) is too short")?;
            Ok(Zeroizing::new(secret.clone()))
        }
        None => auth::load_or_create_secret(
            &config.data_dir.join("jwt-secret"),
            auth::random_secret,
            auth::check_hs256_secret,
        )
        .await
        .context("the dev jwt secret"),
    }
}

/// link_secret is the key download links are signed with: configured, or
/// the dev key kept in the data dir.
async fn link_secret(config: &Config) -> anyhow::Result<Zeroizing<String>> {
    match &config.media.link_secret {
        Some(secret) => {
            auth::check_hs256_secret(secret)
                .map_err(anyhow::Error::msg)
                .context("media.link_secret is too short")?;
            Ok(Zeroizing::new(secret.clone()))
        }
        None => auth::load_or_create_secret(
            &config.data_dir.join("media-link-secret"),
            auth::random_secret,
            auth::check_hs256_secret,
        )
        .await
        .context("the dev media link secret"),
    }
}

async fn jwt_verifier(config: &Config) -> anyhow::Result<JwtVerifier> {
    if let Some(path) = &config.auth.jwt_rs256_public_key_file {
        let pem = tokio::fs::read(path)
            .await
            .with_context(|| format!("reading {}", path.display()))?;
        return JwtVerifier::rs256(&pem, &config.auth);
    }
    let secret = jwt_secret(config).await?;
    JwtVerifier::hs256(&secret, &config.auth)
}

/// sealer builds the at-rest encryption from configured keys, or from a key
/// generated once into the data dir.
pub async fn sealer(config: &Config) -> anyhow::Result<Sealer> {
    let specs = if config.secrets.keys.is_empty() {
        let spec = auth::load_or_create_secret(
            &config.data_dir.join("secret-keys"),
            || Sealer::generate_spec("local-1"),
            |spec| {
                let specs: Vec<String> = spec.lines().map(str::to_owned).collect();
                Sealer::from_specs(&specs, None)
                    .map(|_| ())
                    .map_err(|err| err.to_string())
            },
        )
        .await
        .context("the data dir encryption key")?;
        spec.lines().map(str::to_owned).collect()
    } else {
        config.secrets.keys.clone()
    };
    Sealer::from_specs(&specs, config.secrets.active_key_id.as_deref())
        .context("loading encryption keys (secrets.keys)")
}

/// open_store connects to the configured database and migrates it if asked.
pub async fn open_store(config: &Config, migrate: bool) -> anyhow::Result<Store> {
    if config.database_url.is_none() {
        crate::files::create_private_dir(&config.data_dir)
            .await
            .with_context(|| format!("creating data dir {}", config.data_dir.display()))?;
    }
    let store = Store::connect(&config.database_url())
        .await
        .context("connecting to the database")?;
    if migrate {
        store.migrate().await.context("migrating the database")?;
    }
    Ok(store)
}

/// blob_store is where the gateway keeps files: the configured S3 bucket,
/// else the local filesystem (`media.dir`, or `media` in the data dir).
pub async fn blob_store(config: &Config) -> anyhow::Result<Blobs> {
    let media = &config.media;
    let blobs = match &media.s3_bucket {
        Some(bucket) => Blobs::s3(&S3Settings {
            bucket: bucket.clone(),
            endpoint: media.s3_endpoint.clone(),
            region: media.s3_region.clone(),
            access_key_id: media.s3_access_key_id.clone(),
            secret_access_key: media.s3_secret_access_key.clone(),
            allow_http: media.s3_allow_http,
            prefix: media.s3_prefix.clone(),
        }),
        None => {
            let dir = media
                .dir
                .clone()
                .unwrap_or_else(|| config.data_dir.join("media"));
            Blobs::local(&dir).await
        }
    };
    blobs.context("opening the blob store")
}

/// start binds both listeners and serves until [`Gateway::shutdown`].
pub async fn start(config: Config) -> anyhow::Result<Gateway> {
    config.validate().map_err(anyhow::Error::msg)?;
    let sealer = sealer(&config).await?;
    let store = open_store(&config, config.migrate_on_start).await?;
    let cache = crate::cache::connect(config.redis_url.as_deref(), &config.redis_key_prefix)
        .await
        .context("connecting to the cache")?;
    let api_keys: Arc<dyn ApiKeyStore> = Arc::new(store.clone());
    let accounts_store: Arc<dyn AccountStore> = Arc::new(store.clone());
    let authenticator = Authenticator::new(jwt_verifier(&config).await?, api_keys);
    let metrics = Metrics::new();
    crate::files::create_private_dir(&config.data_dir)
        .await
        .with_context(|| format!("creating the data dir {}", config.data_dir.display()))?;
    let (instance, instance_lock) = crate::files::instance_id(&config.data_dir)
        .await
        .context("this instance's id")?;

    let (telegram, sandbox) = telegram(&config, Arc::new(store.clone()), sealer.clone()).await?;
    // The services reach Telegram through the router, which sends a call
    // for an account another instance owns to that instance; the
    // supervisor (the owner) and the outbox's sender (run for owned
    // accounts only) use the adapter itself.
    let routed = Arc::new(Routed::new(telegram.clone()));
    // One set of decoded copies serves every service reading through it.
    let generations = Generations::new(cache.clone());
    let audit = Audit::new(Arc::new(store.clone()), metrics.clone());
    let preferences = UserPreferences::new(
        Arc::new(store.clone()),
        generations.clone(),
        accounts_store.clone(),
    );
    let chats = Chats::new(
        Arc::new(store.clone()),
        accounts_store.clone(),
        routed.clone(),
        generations.clone(),
        ChatOptions::default(),
        audit.clone(),
    );
    let contacts = Contacts::new(
        Arc::new(store.clone()),
        accounts_store.clone(),
        routed.clone(),
        chats.clone(),
        generations.clone(),
    );
    let crm = Crm::new(Arc::new(store.clone()), chats.clone());
    let hooks = &config.webhooks;
    let webhook_client = WebhookClient::new(
        TargetPolicy {
            // Local development (the sandbox) reaches its own machine.
            allow_private: hooks
                .allow_private_targets
                .unwrap_or(config.sandbox_enabled()),
        },
        seconds(hooks.timeout_seconds),
    )?;
    let triggers = Triggers::new(
        Arc::new(store.clone()),
        Arc::new(store.clone()),
        sealer.clone(),
        webhook_client,
        Arc::new(api::crm::webhook_body),
        TriggerOptions {
            secret_overlap: seconds(hooks.secret_overlap_seconds),
            give_up_after: seconds(hooks.give_up_after_seconds),
            first_retry: seconds(hooks.first_retry_seconds),
            max_retry: seconds(hooks.max_retry_seconds),
            timeout: seconds(hooks.timeout_seconds),
            retention: seconds(hooks.retention_seconds),
            concurrency: hooks.concurrency,
            poll: Duration::from_millis(hooks.poll_interval_ms.max(10)),
        },
        audit.clone(),
    );
    let blobs: Arc<dyn BlobStore> = Arc::new(blob_store(&config).await?);
    let files = Files::new(
        Arc::new(store.clone()),
        blobs.clone(),
        routed.clone(),
        chats.clone(),
        MediaOptions {
            upload_ttl: seconds(config.media.upload_expiry_seconds),
            sweep_interval: seconds(config.media.sweep_interval_seconds),
            sweep_grace: seconds(config.media.sweep_grace_seconds),
        },
    );
    let outbox = Outbox::new(
        Arc::new(store.clone()),
        chats.clone(),
        files.clone(),
        telegram.clone(),
        OutboxOptions {
            send_wait: Duration::from_millis(config.telegram.send_wait_ms),
            per_chat_interval: Duration::from_millis(config.telegram.send_interval_per_chat_ms),
            owner: Some(instance.clone()),
            ..OutboxOptions::default()
        },
        metrics.clone(),
        preferences.clone(),
    );
    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    let events = &config.events;
    let bus = crate::cache::bus(config.redis_url.as_deref(), &config.redis_key_prefix)
        .await
        .context("connecting to the event bus")?;
    let updates = Updates::new(
        Arc::new(store.clone()),
        bus,
        chats.clone(),
        UpdateOptions {
            heartbeat: seconds(events.heartbeat_seconds),
            retention: seconds(events.retention_seconds),
            sweep_interval: seconds(events.sweep_interval_seconds),
            streams_per_caller: events.streams_per_caller,
            window: events.stream_window,
            poll_interval: Duration::from_millis(events.poll_interval_ms.max(10)),
            ..UpdateOptions::default()
        },
        shutdown_rx.clone(),
        metrics.clone(),
    );
    let supervisor = AccountSupervisor::new(
        telegram.clone(),
        Arc::new(chats.clone()),
        Arc::new(updates.clone()),
        SupervisorOptions {
            probe_interval: seconds(config.telegram.probe_interval_seconds),
            ..SupervisorOptions::default()
        },
        metrics.clone(),
    );
    let cluster = &config.cluster;
    // Where the other instances send the calls of the accounts this one
    // owns (and whether it can send them theirs: the secret signs).
    let internal_listener = match cluster.internal_listen {
        Some(listen) => Some(
            TcpListener::bind(listen)
                .await
                .with_context(|| format!("binding the internal {listen}"))?,
        ),
        None => None,
    };
    let internal_address = match (&internal_listener, &cluster.internal_address) {
        (Some(_), Some(address)) => address.clone(),
        (Some(listener), None) => listener.local_addr()?.to_string(),
        (None, _) => String::new(),
    };
    let internal_secret = cluster.internal_secret.as_deref().map(InternalSecret::new);
    if internal_listener.is_some() && config.redis_url.is_none() {
        tracing::warn!(
            "several instances without redis: each keeps its own cache, which the others' writes do not retire; configure redis_url (the same on every instance)"
        );
    }
    let forwarder = Forwarder::new(internal_secret.clone(), metrics.clone());
    let ownership = Ownership::new(
        instance.clone(),
        Arc::new(store.clone()),
        Arc::new(supervisor.clone()),
        OwnershipOptions {
            ttl: seconds(cluster.lease_ttl_seconds),
            renew_every: Duration::from_millis(cluster.lease_renew_ms.max(1)),
            acquire_batch: cluster.acquire_batch.max(1),
            supervises: config.telegram.supervise_accounts,
            address: internal_address.clone(),
        },
        metrics.clone(),
    );
    routed.route_by(ownership.clone());
    let limits = &config.limits;
    let accounts = Accounts::new(
        accounts_store.clone(),
        cache,
        routed.clone(),
        Arc::new(ownership.clone()) as Arc<dyn Supervision>,
        sealer,
        blobs,
        AccountLimits {
            login_starts_per_minute: limits.login_starts_per_minute,
            concurrent_qr_logins: limits.concurrent_qr_logins,
            accounts_per_tenant: limits.accounts_per_tenant,
            step_timeout: telegram.options().call_timeout * 2,
        },
        audit.clone(),
    );
    {
        // Whoever learns of a revocation (the supervisor's probe, an RPC's
        // call) reports it through the adapter, with the session's epoch.
        let accounts = accounts.clone();
        telegram.on_revoked(Arc::new(move |id, epoch, reason| {
            let accounts = accounts.clone();
            Box::pin(async move { accounts.revoked(id, epoch, &reason).await })
        }));
    }
    #[cfg(feature = "sandbox")]
    let sandbox_admin = sandbox.as_ref().map(|parts| {
        SandboxAdmin::new(parts.link.clone(), accounts_store.clone(), telegram.clone())
    });
    #[cfg(feature = "sandbox")]
    let sandbox = sandbox.and_then(|parts| parts.dc);
    // Built without the sandbox feature, there is never one to serve.
    #[cfg(not(feature = "sandbox"))]
    let None = sandbox;

    let grpc_listener = TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("binding {}", config.listen))?;
    // Links need their listener's address before any is signed.
    let (links, links_listener) = match config.media.links_listen {
        Some(listen) => {
            let listener = TcpListener::bind(listen)
                .await
                .with_context(|| format!("binding the media links' {listen}"))?;
            let base = match &config.media.links_base_url {
                Some(base) => base.clone(),
                None => format!("http://{}", listener.local_addr()?),
            };
            let secret = link_secret(&config).await?;
            let links = Links::new(
                secret.as_bytes(),
                &base,
                seconds(config.media.link_ttl_seconds),
            );
            (Some(links), Some(listener))
        }
        None => (None, None),
    };
    let metrics_listener = TcpListener::bind(config.metrics_listen)
        .await
        .with_context(|| format!("binding {}", config.metrics_listen))?;
    let grpc_addr = grpc_listener.local_addr()?;
    let metrics_addr = metrics_listener.local_addr()?;

    let (health_reporter, health_service) = tonic_health::server::health_reporter();
    update_health(&health_reporter, &metrics, &store).await;

    let reflection_v1 = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(tezgram_sdk::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()?;
    let reflection_v1alpha = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(tezgram_sdk::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1alpha()?;

    let routes = api::routes(Services {
        accounts,
        chats,
        contacts,
        crm,
        triggers: triggers.clone(),
        outbox: outbox.clone(),
        updates: updates.clone(),
        files: files.clone(),
        audit,
        preferences,
        links: links.clone(),
        #[cfg(feature = "sandbox")]
        sandbox: sandbox_admin,
    })
    .add_service(health_service)
    .add_service(reflection_v1)
    .add_service(reflection_v1alpha);
    let internal_routes = routes.clone();

    let limits = &config.rate_limit;
    let ip_limit = Arc::new(
        GovernorConfigBuilder::default()
            .period(period(limits.per_ip_per_second))
            .burst_size(limits.per_ip_burst.max(1))
            .key_extractor(PeerIpKey)
            .finish()
            .context("rate_limit.per_ip_* must be positive")?,
    );
    let principal_limit = Arc::new(
        GovernorConfigBuilder::default()
            .period(period(limits.per_principal_per_second))
            .burst_size(limits.per_principal_burst.max(1))
            .key_extractor(PrincipalKey)
            .finish()
            .context("rate_limit.per_principal_* must be positive")?,
    );

    let mut tasks = Vec::new();

    // Forget idle rate-limit keys so the limiter's memory stays bounded.
    {
        let (ip_limit, principal_limit) = (ip_limit.clone(), principal_limit.clone());
        let mut stop = shutdown_rx.clone();
        tasks.push(tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(60));
            loop {
                tokio::select! {
                    _ = tick.tick() => {
                        ip_limit.limiter().retain_recent();
                        principal_limit.limiter().retain_recent();
                    }
                    _ = stop.changed() => return Ok(()),
                }
            }
        }));
    }

    // Health follows the database: NOT_SERVING while it does not answer.
    {
        let (reporter, metrics, store) = (health_reporter.clone(), metrics.clone(), store.clone());
        let mut stop = shutdown_rx.clone();
        tasks.push(tokio::spawn(async move {
            let mut tick = tokio::time::interval(HEALTH_INTERVAL);
            loop {
                tokio::select! {
                    _ = tick.tick() => update_health(&reporter, &metrics, &store).await,
                    _ = stop.changed() => {
                        set_health(&reporter, ServingStatus::NotServing).await;
                        return Ok(());
                    }
                }
            }
        }));
    }

    // Feeds learn of appended events, and the log is pruned, until shutdown.
    tasks.push(tokio::spawn(async move {
        updates.run().await;
        Ok(())
    }));

    // Triggers fire from the log, and their webhooks are delivered, until
    // shutdown (on every instance: the store lets one record each firing
    // and one make each attempt).
    {
        let (evaluator, stop) = (triggers.clone(), shutdown_rx.clone());
        tasks.push(tokio::spawn(async move {
            evaluator.run_evaluation(stop).await;
            Ok(())
        }));
        let (deliverer, stop) = (triggers.clone(), shutdown_rx.clone());
        tasks.push(tokio::spawn(async move {
            deliverer.run_deliveries(stop).await;
            Ok(())
        }));
    }

    // Expired uploads are collected until shutdown.
    {
        let (files, stop) = (files.clone(), shutdown_rx.clone());
        tasks.push(tokio::spawn(async move {
            files.run(stop).await;
            Ok(())
        }));
    }

    // Authorized accounts are kept connected by the instances that own
    // them: this one takes its share at once and keeps its leases until
    // shutdown, when it hands them over (the loop drains on the way out).
    {
        let (ownership, stop) = (ownership.clone(), shutdown_rx.clone());
        tasks.push(tokio::spawn(async move {
            ownership.run(stop).await;
            Ok(())
        }));
    }

    // The outbox's dispatcher sends queued messages until shutdown (on the
    // instances that own connections: each the rows of the accounts it
    // owns).
    if config.telegram.supervise_accounts {
        let (outbox, stop) = (outbox.clone(), shutdown_rx.clone());
        tasks.push(tokio::spawn(async move {
            outbox.run(stop).await;
            Ok(())
        }));
    }

    let transport = &config.transport;
    let keepalive = transport.http2_keepalive_interval_seconds;
    // The request timeout covers a call until its response starts: unary
    // calls entirely, streams only until they open (they end themselves).
    let mut builder = Server::builder()
        .timeout(seconds(transport.request_timeout_seconds))
        .http2_keepalive_interval((keepalive > 0).then(|| Duration::from_secs(keepalive)))
        .http2_keepalive_timeout(Some(seconds(transport.http2_keepalive_timeout_seconds)))
        .max_concurrent_streams(Some(transport.max_concurrent_streams.max(1)));
    if transport.max_connection_age_seconds > 0 {
        builder =
            builder.max_connection_age(Duration::from_secs(transport.max_connection_age_seconds));
    }
    let grpc = builder
        .accept_http1(true)
        .layer(cors(&config.cors_allowed_origins)?)
        .layer(tonic_web::GrpcWebLayer::new())
        .layer(RpcLayer::new(
            metrics.clone(),
            KnownMethods::from_descriptors(tezgram_sdk::FILE_DESCRIPTOR_SET),
        ))
        .layer(GovernorLayer::new(ip_limit).error_handler(rate_limited))
        .layer(AuthLayer::new(authenticator))
        .layer(GovernorLayer::new(principal_limit).error_handler(rate_limited))
        .layer(ForwardLayer::new(forwarder.clone()))
        .add_routes(routes);
    {
        let (stop, drain_deadline) = (shutdown_rx.clone(), shutdown_rx.clone());
        tasks.push(tokio::spawn(async move {
            // tonic sets TCP_NODELAY only on listeners it binds itself.
            // Without it, a response written in several pieces waits for
            // the client's delayed ACK (Nagle): ~40 ms per call.
            let incoming = TcpListenerStream::new(grpc_listener).map(|accepted| {
                accepted.and_then(|stream| {
                    stream.set_nodelay(true)?;
                    Ok(stream)
                })
            });
            let serve = grpc.serve_with_incoming_shutdown(incoming, signalled(stop));
            // Once shutdown is signalled, in-flight calls get DRAIN_TIMEOUT to
            // finish; long-lived streams would otherwise hold shutdown open.
            tokio::select! {
                result = serve => result.context("serving grpc"),
                _ = async {
                    signalled(drain_deadline).await;
                    tokio::time::sleep(DRAIN_TIMEOUT).await;
                } => {
                    tracing::warn!("in-flight calls did not finish in time, closing them");
                    Ok(())
                }
            }
        }));
    }

    // Calls forwarded by the other instances, for the accounts this one
    // owns: signed callers only, never forwarded again.
    if let (Some(listener), Some(secret)) = (internal_listener, internal_secret) {
        let internal = Server::builder()
            .layer(InternalAuthLayer::new(secret))
            .layer(ForwardLayer::new(forwarder.clone()))
            .add_routes(internal_routes);
        let stop = shutdown_rx.clone();
        tracing::info!(address = %internal_address, "serving forwarded calls");
        tasks.push(tokio::spawn(async move {
            let incoming = TcpListenerStream::new(listener).map(|accepted| {
                accepted.and_then(|stream| {
                    stream.set_nodelay(true)?;
                    Ok(stream)
                })
            });
            internal
                .serve_with_incoming_shutdown(incoming, signalled(stop))
                .await
                .context("serving forwarded calls")
        }));
    }

    let metrics_router = axum::Router::new().route(
        "/metrics",
        axum::routing::get(move || {
            let metrics = metrics.clone();
            async move { metrics.render() }
        }),
    );
    {
        let stop = signalled(shutdown_rx.clone());
        tasks.push(tokio::spawn(async move {
            axum::serve(metrics_listener, metrics_router)
                .with_graceful_shutdown(stop)
                .await
                .context("serving metrics")
        }));
    }

    let links_addr = match (links, links_listener) {
        (Some(links), Some(listener)) => {
            let addr = listener.local_addr()?;
            let stop = signalled(shutdown_rx.clone());
            let router = crate::links::router(links, files.clone());
            tasks.push(tokio::spawn(async move {
                axum::serve(listener, router)
                    .with_graceful_shutdown(stop)
                    .await
                    .context("serving media links")
            }));
            Some(addr)
        }
        _ => None,
    };

    let inbox_addr = match config.inbox_listen {
        Some(listen) => {
            let listener = TcpListener::bind(listen)
                .await
                .with_context(|| format!("binding the inbox page's {listen}"))?;
            let addr = listener.local_addr()?;
            let stop = signalled(shutdown_rx.clone());
            tasks.push(tokio::spawn(async move {
                axum::serve(listener, crate::inbox::router())
                    .with_graceful_shutdown(stop)
                    .await
                    .context("serving the inbox page")
            }));
            Some(addr)
        }
        None => None,
    };

    tracing::info!(%grpc_addr, %metrics_addr, inbox = ?inbox_addr, links = ?links_addr, database = store.backend_name(), "serving");
    Ok(Gateway {
        grpc_addr,
        metrics_addr,
        inbox_addr,
        links_addr,
        shutdown: shutdown_tx,
        tasks,
        supervisor,
        ownership,
        _instance_lock: instance_lock,
        #[cfg(feature = "sandbox")]
        sandbox,
    })
}

async fn signalled(mut rx: watch::Receiver<bool>) {
    while !*rx.borrow_and_update() {
        if rx.changed().await.is_err() {
            return;
        }
    }
}

/// seconds turns a configured number of seconds into a duration of at least one.
fn seconds(n: u64) -> Duration {
    Duration::from_secs(n.max(1))
}

fn period(per_second: u32) -> Duration {
    Duration::from_nanos(1_000_000_000 / u64::from(per_second.max(1)))
}

fn cors(origins: &[String]) -> anyhow::Result<CorsLayer> {
    let allow_origin = if origins.iter().any(|o| o == "*") {
        AllowOrigin::any()
    } else {
        let origins = origins
            .iter()
            .map(|o| o.parse().with_context(|| format!("bad cors origin {o:?}")))
            .collect::<anyhow::Result<Vec<http::HeaderValue>>>()?;
        AllowOrigin::list(origins)
    };
    let header = HeaderName::from_static;
    Ok(CorsLayer::new()
        .allow_origin(allow_origin)
        .allow_methods([Method::POST, Method::OPTIONS])
        .allow_headers([
            header("authorization"),
            header("x-api-key"),
            header("content-type"),
            header("x-grpc-web"),
            header("x-user-agent"),
            header("grpc-timeout"),
        ])
        .expose_headers([
            header("grpc-status"),
            header("grpc-message"),
            header("grpc-status-details-bin"),
        ])
        .max_age(Duration::from_secs(86_400)))
}

async fn update_health(reporter: &HealthReporter, metrics: &Metrics, store: &Store) {
    let up = match tokio::time::timeout(HEALTH_INTERVAL, store.ping()).await {
        Ok(Ok(())) => true,
        Ok(Err(err)) => {
            tracing::warn!(error = %err, "database ping failed");
            false
        }
        Err(_) => {
            tracing::warn!("database ping timed out");
            false
        }
    };
    metrics.database_up.set(i64::from(up));
    let status = if up {
        ServingStatus::Serving
    } else {
        ServingStatus::NotServing
    };
    set_health(reporter, status).await;
}

async fn set_health(reporter: &HealthReporter, status: ServingStatus) {
    reporter.set_service_status("", status).await;
    for name in SERVICE_NAMES {
        reporter.set_service_status(*name, status).await;
    }
}

/// serve runs the gateway until SIGINT or SIGTERM.
pub async fn serve(config: Config) -> anyhow::Result<()> {
    let gateway = start(config).await?;
    crate::shutdown::signal().await;
    tracing::info!("shutting down");
    gateway.shutdown().await
}

#[cfg(all(test, not(feature = "sandbox")))]
mod tests {
    use super::*;

    /// config is the embedded default in a fresh data dir, on free ports.
    fn config(data_dir: &std::path::Path) -> Config {
        let mut config = Config {
            listen: "127.0.0.1:0".parse().unwrap(),
            metrics_listen: "127.0.0.1:0".parse().unwrap(),
            data_dir: data_dir.to_owned(),
            ..Config::default()
        };
        config.sandbox.listen = "127.0.0.1:0".parse().unwrap();
        config
    }

    #[tokio::test]
    async fn a_gateway_built_without_the_sandbox_refuses_a_config_that_needs_it() {
        let dir = tempfile::tempdir().unwrap();
        let mut asked = config(dir.path());
        asked.sandbox.enabled = Some(true);
        let err = format!("{:#}", start(asked).await.err().expect("refused"));
        assert!(err.contains("sandbox.enabled is true"), "{err}");
        assert!(err.contains("built without the sandbox feature"), "{err}");

        // Without Telegram credentials the sandbox would be the default.
        let err = format!(
            "{:#}",
            start(config(dir.path())).await.err().expect("refused")
        );
        assert!(
            err.contains("telegram.api_id and telegram.api_hash"),
            "{err}"
        );
        assert!(err.contains("built without the sandbox feature"), "{err}");

        // With them it serves, on real Telegram.
        let mut real = config(dir.path());
        real.telegram.api_id = Some(12345);
        real.telegram.api_hash = Some("0123456789abcdef0123456789abcdef".into());
        let gateway = start(real)
            .await
            .expect("a gateway on real Telegram starts");
        gateway.shutdown().await.unwrap();
    }
}
