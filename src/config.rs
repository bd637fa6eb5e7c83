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

#[derive(Debug, Clone, Serialize, Deserialize)]
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
    /// Run database migrations when `serve` starts.
    pub migrate_on_start: bool,
    /// Origins allowed to call over grpc-web; `["*"]` allows any.
    pub cors_allowed_origins: Vec<String>,
    /// `json` (structured, the default) or `text`.
    pub log_format: String,
    /// OTLP/gRPC collector endpoint (e.g. `http://127.0.0.1:4317`); unset disables export.
    pub otlp_endpoint: Option<String>,
    pub auth: AuthConfig,
    pub rate_limit: RateLimitConfig,
    pub secrets: SecretsConfig,
    pub telegram: TelegramConfig,
    pub sandbox: SandboxConfig,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
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

#[derive(Debug, Clone, Serialize, Deserialize)]
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
}

impl std::fmt::Debug for TelegramConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // api_hash is a credential.
        f.debug_struct("TelegramConfig")
            .field("api_id", &self.api_id)
            .field("api_hash", &self.api_hash.as_ref().map(|_| ".."))
            .field("probe_interval_seconds", &self.probe_interval_seconds)
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
}

impl std::fmt::Debug for SandboxConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // admin_token is a credential.
        f.debug_struct("SandboxConfig")
            .field("enabled", &self.enabled)
            .field("listen", &self.listen)
            .field("remote", &self.remote)
            .field("admin_token", &self.admin_token.as_ref().map(|_| ".."))
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
            migrate_on_start: true,
            cors_allowed_origins: vec!["*".to_owned()],
            log_format: "json".to_owned(),
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
            secrets: SecretsConfig {
                keys: Vec::new(),
                active_key_id: None,
            },
            telegram: TelegramConfig {
                api_id: None,
                api_hash: None,
                probe_interval_seconds: 60,
            },
            sandbox: SandboxConfig {
                enabled: None,
                listen: SocketAddr::from(([127, 0, 0, 1], 50061)),
                remote: None,
                admin_token: None,
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
        config.sandbox.enabled = Some(true);
        assert!(config.sandbox_enabled());
        config.sandbox.admin_token = Some("sandbox-admin-token-42".into());
        assert!(
            !format!("{config:?}").contains("sandbox-admin-token-42"),
            "the sandbox admin token never printed"
        );
    }

    #[test]
    fn default_database_is_sqlite_in_data_dir() {
        let config = Config::default();
        assert_eq!(config.database_url(), "sqlite://./data/tezgram.db?mode=rwc");
    }
}
