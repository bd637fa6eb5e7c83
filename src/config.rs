//! Configuration: defaults, then an optional TOML file, then `TEZGRAM_*`
//! environment variables (nested keys with `__`, e.g. `TEZGRAM_AUTH__JWT_ISSUER`).
//!
//! The embedded default needs none of it: SQLite under `./data`, the
//! in-process cache, the sandbox DC, and a dev JWT secret generated once.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

/// Config is every setting of the gateway. Its `Debug` output (and that of
/// every section) redacts secrets, including passwords inside URLs, so a
/// config can be logged.
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// gRPC (and grpc-web) listen address.
    pub listen: SocketAddr,
    /// Prometheus `/metrics` listen address; its own port, never the API's.
    pub metrics_listen: SocketAddr,
    /// Where the embedded default keeps its database, dev secrets and sandbox state.
    pub data_dir: PathBuf,
    /// `postgres://…` or `sqlite://…`; unset means SQLite in `data_dir`.
    pub database_url: Option<String>,
    /// `redis://…`; unset means the in-process cache.
    pub redis_url: Option<String>,
    /// Prepended to every Redis key and pub/sub channel. Deployments that
    /// share one Redis need distinct prefixes; instances of one deployment
    /// need the same.
    pub redis_key_prefix: String,
    /// Run database migrations when `serve` starts.
    pub migrate_on_start: bool,
    /// Origins allowed to call over grpc-web; `["*"]` allows any.
    pub cors_allowed_origins: Vec<String>,
    /// `auto` (the default: readable text while stderr is a terminal,
    /// JSON otherwise), `json` or `text`.
    pub log_format: String,
    /// Where the inbox page (a live inbox built on the TypeScript SDK) is
    /// served; unset: not served. `make run` serves it.
    pub inbox_listen: Option<SocketAddr>,
    /// OTLP/gRPC collector endpoint (e.g. `http://127.0.0.1:4317`); unset disables export.
    pub otlp_endpoint: Option<String>,
    pub auth: AuthConfig,
    pub rate_limit: RateLimitConfig,
    pub limits: LimitsConfig,
    pub transport: TransportConfig,
    pub secrets: SecretsConfig,
    pub telegram: TelegramConfig,
    pub sandbox: SandboxConfig,
    pub events: EventsConfig,
    pub media: MediaConfig,
    pub webhooks: WebhooksConfig,
    pub cluster: ClusterConfig,
}

/// ClusterConfig tunes how instances on one database share accounts.
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterConfig {
    /// How long an account's lease lasts unless renewed, in seconds: a
    /// killed instance's accounts are taken over this long after it died
    /// at most (plus one round).
    pub lease_ttl_seconds: u64,
    /// How often an instance renews its leases and balances, in
    /// milliseconds; well under the TTL.
    pub lease_renew_ms: u64,
    /// How many accounts one round takes or hands over at most, so a
    /// restart does not reconnect every account at once.
    pub acquire_batch: u32,
    /// Where this instance serves calls forwarded by the others (the
    /// accounts it owns); unset: it serves none, and forwards none.
    pub internal_listen: Option<SocketAddr>,
    /// The address the others reach `internal_listen` at (host:port);
    /// unset: the address it is bound to.
    pub internal_address: Option<String>,
    /// The secret instances sign forwarded callers with (at least 32
    /// bytes, the same on every instance); required with
    /// `internal_listen`.
    pub internal_secret: Option<String>,
}

impl std::fmt::Debug for ClusterConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let Self {
            lease_ttl_seconds,
            lease_renew_ms,
            acquire_batch,
            internal_listen,
            internal_address,
            internal_secret,
        } = self;
        f.debug_struct("ClusterConfig")
            .field("lease_ttl_seconds", lease_ttl_seconds)
            .field("lease_renew_ms", lease_renew_ms)
            .field("acquire_batch", acquire_batch)
            .field("internal_listen", internal_listen)
            .field("internal_address", internal_address)
            .field(
                "internal_secret",
                &internal_secret.as_ref().map(|_| REDACTED),
            )
            .finish()
    }
}

/// WebhooksConfig tunes CRM triggers' webhook deliveries.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhooksConfig {
    /// Let webhooks reach loopback, private, link-local and metadata
    /// addresses, and plain `http://`. Unset: allowed exactly in sandbox
    /// mode (local development), refused with real Telegram.
    pub allow_private_targets: Option<bool>,
    /// How long one attempt may take, in seconds.
    pub timeout_seconds: u64,
    /// The wait before the first retry, in seconds; it doubles per retry.
    pub first_retry_seconds: u64,
    /// The longest wait between retries, in seconds.
    pub max_retry_seconds: u64,
    /// How long a delivery is retried before it is FAILED, in seconds.
    pub give_up_after_seconds: u64,
    /// How long a rotated secret keeps signing beside the new one, in
    /// seconds.
    pub secret_overlap_seconds: u64,
    /// How long deliveries are kept, in seconds.
    pub retention_seconds: u64,
    /// Attempts in flight at once, per process.
    pub concurrency: usize,
    /// How often the log and the due deliveries are looked at unprompted,
    /// in milliseconds.
    pub poll_interval_ms: u64,
}

/// MediaConfig says where files are kept and how long unfinished uploads
/// live.
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MediaConfig {
    /// An unfinished upload is dropped, and its bytes collected, this long
    /// after it was created.
    pub upload_expiry_seconds: u64,
    /// How often expired uploads are collected.
    pub sweep_interval_seconds: u64,
    /// How long past its expiry an upload is left alone before it is
    /// collected; keep it above `transport.request_timeout_seconds`.
    pub sweep_grace_seconds: u64,
    /// Where files are kept on the local filesystem; unset means
    /// `data_dir/media`. Ignored when `s3_bucket` is set.
    pub dir: Option<PathBuf>,
    /// An S3 bucket to keep files in instead (any S3-compatible server).
    pub s3_bucket: Option<String>,
    /// The S3 server's URL; unset means AWS (by `s3_region`).
    pub s3_endpoint: Option<String>,
    pub s3_region: String,
    pub s3_access_key_id: Option<String>,
    pub s3_secret_access_key: Option<String>,
    /// Allow a plain-HTTP `s3_endpoint` (a server on a private network).
    pub s3_allow_http: bool,
    /// Prepended to every object's key: deployments sharing a bucket need
    /// distinct prefixes.
    pub s3_prefix: String,
    /// Where signed download links are served (plain HTTP); unset: no
    /// links. `make run` serves them.
    pub links_listen: Option<SocketAddr>,
    /// The base URL links point to (a CDN in front of `links_listen`);
    /// unset: `http://` + the listener's address.
    pub links_base_url: Option<String>,
    /// How long a link is good for.
    pub link_ttl_seconds: u64,
    /// The HMAC key links are signed with, at least 32 bytes, the same on
    /// every instance; unset means one generated once in
    /// `data_dir/media-link-secret`.
    pub link_secret: Option<String>,
}

impl std::fmt::Debug for MediaConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let MediaConfig {
            upload_expiry_seconds,
            sweep_interval_seconds,
            sweep_grace_seconds,
            dir,
            s3_bucket,
            s3_endpoint,
            s3_region,
            s3_access_key_id,
            s3_secret_access_key,
            s3_allow_http,
            s3_prefix,
            links_listen,
            links_base_url,
            link_ttl_seconds,
            link_secret,
        } = self;
        f.debug_struct("MediaConfig")
            .field("upload_expiry_seconds", upload_expiry_seconds)
            .field("sweep_interval_seconds", sweep_interval_seconds)
            .field("sweep_grace_seconds", sweep_grace_seconds)
            .field("dir", dir)
            .field("s3_bucket", s3_bucket)
            .field("s3_endpoint", &s3_endpoint.as_deref().map(redact_url))
            .field("s3_region", s3_region)
            .field("s3_access_key_id", s3_access_key_id)
            .field(
                "s3_secret_access_key",
                &s3_secret_access_key.as_ref().map(|_| REDACTED),
            )
            .field("s3_allow_http", s3_allow_http)
            .field("s3_prefix", s3_prefix)
            .field("links_listen", links_listen)
            .field("links_base_url", links_base_url)
            .field("link_ttl_seconds", link_ttl_seconds)
            .field("link_secret", &link_secret.as_ref().map(|_| REDACTED))
            .finish()
    }
}

/// EventsConfig tunes the event log and Subscribe's streams.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventsConfig {
    /// How long the log keeps events; a cursor older than that is
    /// CURSOR_EXPIRED.
    pub retention_seconds: u64,
    /// How often the retention sweep runs.
    pub sweep_interval_seconds: u64,
    /// How often an idle stream gets a heartbeat.
    pub heartbeat_seconds: u64,
    /// Subscribe streams one caller (tenant and principal) may have open.
    pub streams_per_caller: u32,
    /// How many events a stream may fall behind the live feed before it
    /// reads the log itself (at its own pace).
    pub stream_window: usize,
    /// How often a tenant's feed reads the log unprompted, in
    /// milliseconds: how late events of another instance arrive when no
    /// Redis carries the news (or its notice was lost).
    pub poll_interval_ms: u64,
}

/// LimitsConfig caps what one tenant may do at once.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsConfig {
    /// StartLogin and StartQrLogin calls per tenant per minute; more answer
    /// RESOURCE_EXHAUSTED with RetryInfo.
    pub login_starts_per_minute: u32,
    /// StartQrLogin streams a tenant may have open at once.
    pub concurrent_qr_logins: u32,
    /// Accounts a tenant may have, in any state.
    pub accounts_per_tenant: u32,
}

/// TransportConfig bounds the gRPC server's connections and calls.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransportConfig {
    /// Deadline of a unary call, in seconds (streams are not cut by it).
    pub request_timeout_seconds: u64,
    /// HTTP/2 keepalive ping interval, in seconds; 0 turns pings off.
    pub http2_keepalive_interval_seconds: u64,
    /// How long a keepalive ping may go unanswered before the connection is
    /// closed, in seconds.
    pub http2_keepalive_timeout_seconds: u64,
    /// Concurrent streams (calls) one HTTP/2 connection may carry.
    pub max_concurrent_streams: u32,
    /// Connections are closed gracefully after this many seconds, so
    /// clients rebalance across instances; 0 keeps them open.
    pub max_connection_age_seconds: u64,
}

#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthConfig {
    /// HS256 shared secret. Unset (and no RS256 key) means the dev secret kept
    /// in `data_dir/jwt-secret`, created on first use.
    pub jwt_hs256_secret: Option<String>,
    /// PEM file with the RS256 public key; takes precedence over HS256.
    pub jwt_rs256_public_key_file: Option<PathBuf>,
    /// Required `iss` claim.
    pub jwt_issuer: String,
    /// Required `aud` claim.
    pub jwt_audience: String,
    /// Clock skew allowed on `exp`/`nbf`, in seconds.
    pub jwt_leeway_seconds: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitConfig {
    /// Sustained requests per second per principal (tenant + subject or key).
    pub per_principal_per_second: u32,
    pub per_principal_burst: u32,
    /// Sustained requests per second per peer IP, before authentication.
    pub per_ip_per_second: u32,
    pub per_ip_burst: u32,
}

#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecretsConfig {
    /// Encryption keys for sessions and secrets at rest, as `id:base64(32 bytes)`.
    /// Unset means a key generated once in `data_dir/secret-keys`.
    pub keys: Vec<String>,
    /// Id of the key new data is sealed with; defaults to the first key.
    pub active_key_id: Option<String>,
}

#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TelegramConfig {
    /// The application's api_id from my.telegram.org; with `api_hash`, the
    /// gateway talks to real Telegram instead of the sandbox DC.
    pub api_id: Option<i32>,
    pub api_hash: Option<String>,
    /// How often an idle account checks its session still works, so a
    /// revocation is noticed without traffic.
    pub probe_interval_seconds: u64,
    /// Deadline of one Telegram call, in seconds: a Telegram that stops
    /// answering costs a caller this much, then UNAVAILABLE.
    pub call_timeout_seconds: u64,
    /// Deadline for saving an account's session, in seconds: with the
    /// database down, logins answer UNAVAILABLE after it instead of hanging.
    pub session_flush_timeout_seconds: u64,
    /// How long SendMessage waits for Telegram's answer, in milliseconds,
    /// before it returns the message PENDING (it is sent all the same).
    pub send_wait_ms: u64,
    /// The least time between two sends to one chat, in milliseconds:
    /// Telegram allows about one message per second in a chat.
    pub send_interval_per_chat_ms: u64,
    /// Whether this instance keeps authorized accounts connected (ingest)
    /// and sends their queued messages. Off: an API-only instance, which
    /// serves reads, queues sends and streams events while another
    /// instance owns the connections.
    pub supervise_accounts: bool,
}

/// REDACTED stands in for a secret in `Debug` output.
const REDACTED: &str = "<redacted>";

/// redact_url hides the password of a `scheme://user:password@host/...` URL
/// and the values of query parameters that look like credentials.
fn redact_url(url: &str) -> String {
    let (head, query) = match url.split_once('?') {
        Some((head, query)) => (head, Some(query)),
        None => (url, None),
    };
    let head = match head.split_once("://") {
        Some((scheme, rest)) => {
            let (authority, path) = match rest.find('/') {
                Some(i) => rest.split_at(i),
                None => (rest, ""),
            };
            match authority.rsplit_once('@') {
                Some((userinfo, host)) => {
                    let user = userinfo.split_once(':').map_or(userinfo, |(u, _)| u);
                    format!("{scheme}://{user}:{REDACTED}@{host}{path}")
                }
                None => head.to_owned(),
            }
        }
        None => head.to_owned(),
    };
    let Some(query) = query else {
        return head;
    };
    let query = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((key, _))
                if ["password", "pass", "secret", "token", "key", "auth"]
                    .iter()
                    .any(|s| key.to_ascii_lowercase().contains(s)) =>
            {
                format!("{key}={REDACTED}")
            }
            _ => pair.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("&");
    format!("{head}?{query}")
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let Config {
            listen,
            metrics_listen,
            data_dir,
            database_url,
            redis_url,
            redis_key_prefix,
            migrate_on_start,
            cors_allowed_origins,
            log_format,
            inbox_listen,
            otlp_endpoint,
            auth,
            rate_limit,
            limits,
            transport,
            secrets,
            telegram,
            sandbox,
            events,
            media,
            webhooks,
            cluster,
        } = self;
        f.debug_struct("Config")
            .field("listen", listen)
            .field("metrics_listen", metrics_listen)
            .field("data_dir", data_dir)
            .field("database_url", &database_url.as_deref().map(redact_url))
            .field("redis_url", &redis_url.as_deref().map(redact_url))
            .field("redis_key_prefix", redis_key_prefix)
            .field("migrate_on_start", migrate_on_start)
            .field("cors_allowed_origins", cors_allowed_origins)
            .field("log_format", log_format)
            .field("inbox_listen", inbox_listen)
            .field("otlp_endpoint", &otlp_endpoint.as_deref().map(redact_url))
            .field("auth", auth)
            .field("rate_limit", rate_limit)
            .field("limits", limits)
            .field("transport", transport)
            .field("secrets", secrets)
            .field("telegram", telegram)
            .field("sandbox", sandbox)
            .field("events", events)
            .field("media", media)
            .field("webhooks", webhooks)
            .field("cluster", cluster)
            .finish()
    }
}

impl std::fmt::Debug for AuthConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let AuthConfig {
            jwt_hs256_secret,
            jwt_rs256_public_key_file,
            jwt_issuer,
            jwt_audience,
            jwt_leeway_seconds,
        } = self;
        f.debug_struct("AuthConfig")
            .field(
                "jwt_hs256_secret",
                &jwt_hs256_secret.as_ref().map(|_| REDACTED),
            )
            .field("jwt_rs256_public_key_file", jwt_rs256_public_key_file)
            .field("jwt_issuer", jwt_issuer)
            .field("jwt_audience", jwt_audience)
            .field("jwt_leeway_seconds", jwt_leeway_seconds)
            .finish()
    }
}

impl std::fmt::Debug for SecretsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let SecretsConfig {
            keys,
            active_key_id,
        } = self;
        // Key ids are names, the key material after the colon is the secret.
        let keys: Vec<String> = keys
            .iter()
            .map(|spec| match spec.split_once(':') {
                Some((id, _)) => format!("{id}:{REDACTED}"),
                None => REDACTED.to_owned(),
            })
            .collect();
        f.debug_struct("SecretsConfig")
            .field("keys", &keys)
            .field("active_key_id", active_key_id)
            .finish()
    }
}

impl std::fmt::Debug for TelegramConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // api_hash is a credential.
        f.debug_struct("TelegramConfig")
            .field("api_id", &self.api_id)
            .field("api_hash", &self.api_hash.as_ref().map(|_| REDACTED))
            .field("probe_interval_seconds", &self.probe_interval_seconds)
            .field("call_timeout_seconds", &self.call_timeout_seconds)
            .field(
                "session_flush_timeout_seconds",
                &self.session_flush_timeout_seconds,
            )
            .field("send_wait_ms", &self.send_wait_ms)
            .field("send_interval_per_chat_ms", &self.send_interval_per_chat_ms)
            .field("supervise_accounts", &self.supervise_accounts)
            .finish()
    }
}

#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SandboxConfig {
    /// Serve the sandbox DC (and SandboxService) instead of real Telegram.
    /// Unset: on exactly when no Telegram credentials are configured.
    pub enabled: Option<bool>,
    /// Where the in-process sandbox DC listens (loopback).
    pub listen: SocketAddr,
    /// The admin API of a standalone sandbox (`tezgram sandbox`), e.g.
    /// `http://127.0.0.1:50062`: the gateway uses it instead of starting a
    /// sandbox DC in-process, so several gateways share one sandbox.
    pub remote: Option<String>,
    /// The bearer token of the sandbox's admin API: required by
    /// `tezgram sandbox`, and by a gateway with `remote` set.
    pub admin_token: Option<String>,
    /// How many updates a session may be behind before the sandbox's
    /// getDifference answers "too long" (as Telegram does after long
    /// downtime); unset: 100 000.
    pub max_difference: Option<u32>,
}

impl std::fmt::Debug for SandboxConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // admin_token is a credential.
        f.debug_struct("SandboxConfig")
            .field("enabled", &self.enabled)
            .field("listen", &self.listen)
            .field("remote", &self.remote)
            .field("max_difference", &self.max_difference)
            .field("admin_token", &self.admin_token.as_ref().map(|_| REDACTED))
            .finish()
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 50051)),
            metrics_listen: SocketAddr::from(([127, 0, 0, 1], 9464)),
            data_dir: PathBuf::from("./data"),
            database_url: None,
            redis_url: None,
            redis_key_prefix: "tezgram:".to_owned(),
            migrate_on_start: true,
            cors_allowed_origins: vec!["*".to_owned()],
            log_format: "auto".to_owned(),
            inbox_listen: None,
            otlp_endpoint: None,
            auth: AuthConfig {
                jwt_hs256_secret: None,
                jwt_rs256_public_key_file: None,
                jwt_issuer: "tezgram-dev".to_owned(),
                jwt_audience: "tezgram".to_owned(),
                jwt_leeway_seconds: 30,
            },
            rate_limit: RateLimitConfig {
                per_principal_per_second: 100,
                per_principal_burst: 200,
                per_ip_per_second: 200,
                per_ip_burst: 400,
            },
            limits: LimitsConfig {
                login_starts_per_minute: 30,
                concurrent_qr_logins: 5,
                accounts_per_tenant: 1000,
            },
            transport: TransportConfig {
                request_timeout_seconds: 60,
                http2_keepalive_interval_seconds: 30,
                http2_keepalive_timeout_seconds: 20,
                max_concurrent_streams: 200,
                max_connection_age_seconds: 0,
            },
            secrets: SecretsConfig {
                keys: Vec::new(),
                active_key_id: None,
            },
            telegram: TelegramConfig {
                api_id: None,
                api_hash: None,
                probe_interval_seconds: 60,
                call_timeout_seconds: 30,
                session_flush_timeout_seconds: 10,
                send_wait_ms: 5000,
                send_interval_per_chat_ms: 1000,
                supervise_accounts: true,
            },
            sandbox: SandboxConfig {
                enabled: None,
                listen: SocketAddr::from(([127, 0, 0, 1], 50061)),
                remote: None,
                admin_token: None,
                max_difference: None,
            },
            events: EventsConfig {
                retention_seconds: 7 * 24 * 3600,
                sweep_interval_seconds: 600,
                heartbeat_seconds: 15,
                streams_per_caller: 16,
                stream_window: 1024,
                poll_interval_ms: 1000,
            },
            media: MediaConfig {
                upload_expiry_seconds: 24 * 3600,
                sweep_interval_seconds: 600,
                sweep_grace_seconds: 600,
                dir: None,
                s3_bucket: None,
                s3_endpoint: None,
                s3_region: "us-east-1".to_owned(),
                s3_access_key_id: None,
                s3_secret_access_key: None,
                s3_allow_http: false,
                s3_prefix: String::new(),
                links_listen: None,
                links_base_url: None,
                link_ttl_seconds: 3600,
                link_secret: None,
            },
            webhooks: WebhooksConfig {
                allow_private_targets: None,
                timeout_seconds: 10,
                first_retry_seconds: 10,
                max_retry_seconds: 3600,
                give_up_after_seconds: 24 * 3600,
                secret_overlap_seconds: 24 * 3600,
                retention_seconds: 30 * 24 * 3600,
                concurrency: 16,
                poll_interval_ms: 1000,
            },
            cluster: ClusterConfig {
                lease_ttl_seconds: 10,
                lease_renew_ms: 2000,
                acquire_batch: 20,
                internal_listen: None,
                internal_address: None,
                internal_secret: None,
            },
        }
    }
}

impl Config {
    /// load reads defaults ← `file` (if given) ← `TEZGRAM_*` environment.
    pub fn load(file: Option<&Path>) -> Result<Config, Box<figment::Error>> {
        Self::figment(file, Env::prefixed("TEZGRAM_").split("__"))
            .extract()
            .map_err(Box::new)
    }

    fn figment(file: Option<&Path>, env: Env) -> Figment {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        if let Some(file) = file {
            figment = figment.merge(Toml::file_exact(file));
        }
        // Only variables naming a setting are read: tooling shares the
        // `TEZGRAM_` prefix (`TEZGRAM_CONFIG` names the file itself, tests use
        // `TEZGRAM_TEST_*`). Inside a known section, unknown keys are still
        // refused, so `TEZGRAM_AUTH__JWT_ISSUR` is an error, not a silent no-op.
        let sections = top_level_keys();
        figment.merge(env.filter(move |key| {
            // The key arrives with `__` already turned into `.`.
            let section = key.as_str().split('.').next().unwrap_or_default();
            sections.iter().any(|s| s.eq_ignore_ascii_case(section))
        }))
    }

    /// telegram_credentials are (api_id, api_hash) when both are set.
    pub fn telegram_credentials(&self) -> Option<(i32, &str)> {
        match (&self.telegram.api_id, &self.telegram.api_hash) {
            (Some(id), Some(hash)) if !hash.is_empty() => Some((*id, hash.as_str())),
            _ => None,
        }
    }

    /// sandbox_enabled: as configured, else on when there are no credentials.
    pub fn sandbox_enabled(&self) -> bool {
        self.sandbox
            .enabled
            .unwrap_or(self.telegram_credentials().is_none())
    }

    /// validate refuses settings that contradict each other, before anything
    /// starts: a gateway with real Telegram credentials never also runs the
    /// sandbox (its users' codes are predictable, and sandbox sessions would
    /// sit beside real ones).
    pub fn validate(&self) -> Result<(), String> {
        if self.sandbox.enabled == Some(true) && self.telegram_credentials().is_some() {
            return Err(
                "telegram.api_id/api_hash and sandbox.enabled = true are both set: \
                 a gateway talks to real Telegram or to the sandbox, not both"
                    .to_owned(),
            );
        }
        let cluster = &self.cluster;
        if cluster.lease_renew_ms == 0
            || cluster.lease_renew_ms.saturating_mul(2)
                > cluster.lease_ttl_seconds.saturating_mul(1000)
        {
            return Err(format!(
                "cluster.lease_renew_ms ({}) must be positive and at most half of cluster.lease_ttl_seconds ({} s)",
                cluster.lease_renew_ms, cluster.lease_ttl_seconds
            ));
        }
        if cluster.internal_listen.is_some()
            && cluster
                .internal_secret
                .as_ref()
                .is_none_or(|secret| secret.len() < 32)
        {
            return Err(
                "cluster.internal_listen needs cluster.internal_secret, at least 32 bytes, the same on every instance"
                    .to_owned(),
            );
        }
        if !["auto", "json", "text"].contains(&self.log_format.as_str()) {
            return Err(format!(
                "log_format must be auto, json or text, not {:?}",
                self.log_format
            ));
        }
        Ok(())
    }

    /// database_url is the configured URL or SQLite in the data dir.
    pub fn database_url(&self) -> String {
        match &self.database_url {
            Some(url) => url.clone(),
            None => format!(
                "sqlite://{}?mode=rwc",
                self.data_dir.join("tezgram.db").display()
            ),
        }
    }
}

/// top_level_keys are the names of the top-level settings.
fn top_level_keys() -> Vec<String> {
    match serde_json::to_value(Config::default()) {
        Ok(serde_json::Value::Object(map)) => map.into_iter().map(|(k, _)| k).collect(),
        _ => unreachable!("Config serializes to a map"),
    }
}

#[cfg(test)]
// figment's Jail API returns its (large) error by value; that is its choice.
#[allow(clippy::result_large_err)]
mod tests {
    use super::*;

    #[test]
    fn environment_overrides_file_overrides_defaults() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "tezgram.toml",
                "listen = \"127.0.0.1:7000\"\nredis_url = \"redis://file\"\n[auth]\njwt_issuer = \"file\"\n",
            )?;
            jail.set_env("TEZGRAM_REDIS_URL", "redis://env");
            jail.set_env("TEZGRAM_AUTH__JWT_AUDIENCE", "crm");
            let config = Config::load(Some(Path::new("tezgram.toml"))).map_err(|e| *e)?;
            assert_eq!(config.listen, SocketAddr::from(([127, 0, 0, 1], 7000)));
            assert_eq!(config.redis_url.as_deref(), Some("redis://env"));
            assert_eq!(config.auth.jwt_issuer, "file");
            assert_eq!(config.auth.jwt_audience, "crm");
            assert!(config.sandbox_enabled());
            Ok(())
        });
    }

    #[test]
    fn unknown_keys_are_refused() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("tezgram.toml", "listne = \"127.0.0.1:7000\"\n")?;
            assert!(Config::load(Some(Path::new("tezgram.toml"))).is_err());
            Ok(())
        });
        figment::Jail::expect_with(|jail| {
            jail.set_env("TEZGRAM_AUTH__JWT_ISSUR", "typo");
            assert!(Config::load(None).is_err());
            Ok(())
        });
    }

    #[test]
    fn other_tezgram_variables_are_not_settings() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("TEZGRAM_TEST_DATABASE_URL", "postgres://elsewhere");
            jail.set_env("TEZGRAM_CACHE", "/tmp/tools");
            jail.set_env("TEZGRAM_LISTEN", "127.0.0.1:7001");
            let config = Config::load(None).map_err(|e| *e)?;
            assert_eq!(config.listen, SocketAddr::from(([127, 0, 0, 1], 7001)));
            assert_eq!(config.database_url, None);
            Ok(())
        });
    }

    #[test]
    fn telegram_credentials_turn_the_sandbox_off_unless_asked() {
        let mut config = Config::default();
        assert!(config.sandbox_enabled());
        config.telegram.api_id = Some(12345);
        config.telegram.api_hash = Some("0123456789abcdef".into());
        assert!(!config.sandbox_enabled());
        assert!(
            !format!("{config:?}").contains("0123456789abcdef"),
            "api_hash never printed"
        );
        assert!(config.validate().is_ok());
        config.sandbox.enabled = Some(true);
        assert!(
            config.validate().is_err(),
            "real credentials and the sandbox together are refused"
        );
        config.telegram.api_hash = None;
        assert!(config.sandbox_enabled());
        assert!(config.validate().is_ok());
    }

    #[test]
    fn debug_output_redacts_every_secret() {
        let secrets = [
            "jwt-secret-0123456789abcdef0123456789",
            "U2VjcmV0S2V5TWF0ZXJpYWwwMTIzNDU2Nzg5YWJjZA==",
            "0123456789abcdef-api-hash",
            "sandbox-admin-token-0123456789abcdef",
            "pg-password-42",
            "redis-password-42",
            "otlp-token-42",
            "s3-secret-access-key-42",
            "media-link-secret-0123456789abcdef-42",
        ];
        let mut config = Config::default();
        config.auth.jwt_hs256_secret = Some(secrets[0].into());
        config.secrets.keys = vec![format!("k1:{}", secrets[1])];
        config.secrets.active_key_id = Some("k1".into());
        config.telegram.api_id = Some(1);
        config.telegram.api_hash = Some(secrets[2].into());
        config.sandbox.admin_token = Some(secrets[3].into());
        config.sandbox.remote = Some("http://127.0.0.1:50062".into());
        config.database_url = Some(format!(
            "postgres://tezgram:{}@db.internal:5432/tezgram?sslmode=require",
            secrets[4]
        ));
        config.redis_url = Some(format!("redis://:{}@cache.internal:6379/0", secrets[5]));
        config.otlp_endpoint = Some(format!("http://collector:4317/?token={}", secrets[6]));
        config.media.s3_secret_access_key = Some(secrets[7].into());
        config.media.s3_bucket = Some("files".into());
        config.media.link_secret = Some(secrets[8].into());
        for printed in [format!("{config:?}"), format!("{config:#?}")] {
            for secret in secrets {
                assert!(!printed.contains(secret), "{secret} printed in {printed}");
            }
            // What is not secret stays readable.
            assert!(printed.contains("db.internal:5432/tezgram?sslmode=require"));
            assert!(printed.contains("cache.internal:6379"));
            assert!(printed.contains("k1:<redacted>"));
        }
    }

    #[test]
    fn default_database_is_sqlite_in_data_dir() {
        let config = Config::default();
        assert_eq!(config.database_url(), "sqlite://./data/tezgram.db?mode=rwc");
    }
}
