//! Caller authentication: JWT bearer tokens (CRM users) and API keys
//! (internal services). Turns request credentials into a [`Caller`].
//!
//! Knows neither tonic nor the database: `api/` hands it header values, and
//! API keys are looked up through the [`ApiKeyStore`] port.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use chrono::Utc;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::config::AuthConfig;
use crate::domain::ports::{ApiKey, ApiKeyStore};
use crate::domain::{Caller, Error, PrincipalKind, Scope, TenantId};

/// Claims are the JWT claims tezgram reads. `exp`, `sub`, `aud`, `iss` and
/// `tenant` are required.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub tenant: String,
    #[serde(default)]
    pub roles: Vec<String>,
    pub aud: String,
    pub iss: String,
    pub exp: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
}

/// scopes_for_roles maps JWT roles to scopes. Unknown roles grant nothing.
pub fn scopes_for_roles(roles: &[String]) -> BTreeSet<Scope> {
    let mut scopes = BTreeSet::new();
    for role in roles {
        match role.as_str() {
            // Everything but the sandbox: driving simulated Telegram users
            // is a tenant-scoped feature granted on its own (`sandbox`).
            "admin" => scopes.extend(Scope::ALL.iter().copied().filter(|s| *s != Scope::Sandbox)),
            "sandbox" => {
                scopes.insert(Scope::Sandbox);
            }
            // Agents work conversations; connecting accounts is an admin's job.
            "agent" => scopes.extend([
                Scope::AccountsRead,
                Scope::ChatsRead,
                Scope::MessagesRead,
                Scope::MessagesWrite,
                Scope::MediaRead,
                Scope::MediaWrite,
                Scope::UpdatesRead,
                Scope::CrmRead,
                Scope::CrmWrite,
            ]),
            "viewer" => scopes.extend([
                Scope::AccountsRead,
                Scope::ChatsRead,
                Scope::MessagesRead,
                Scope::MediaRead,
                Scope::UpdatesRead,
                Scope::CrmRead,
            ]),
            _ => {}
        }
    }
    scopes
}

/// JwtVerifier checks signature, algorithm, `exp`, `nbf`, `aud` and `iss`.
/// Unsigned tokens (`alg: none`) and tokens signed with another algorithm
/// than the configured one are refused.
#[derive(Clone)]
pub struct JwtVerifier {
    key: DecodingKey,
    validation: Validation,
}

impl JwtVerifier {
    /// hs256 verifies with a shared secret; secrets shorter than
    /// [`MIN_HS256_SECRET_BYTES`] are refused (see [`check_hs256_secret`]).
    pub fn hs256(secret: &str, config: &AuthConfig) -> anyhow::Result<Self> {
        check_hs256_secret(secret).map_err(anyhow::Error::msg)?;
        Ok(Self::new(
            DecodingKey::from_secret(secret.as_bytes()),
            Algorithm::HS256,
            config,
        ))
    }

    pub fn rs256(public_key_pem: &[u8], config: &AuthConfig) -> anyhow::Result<Self> {
        let key = DecodingKey::from_rsa_pem(public_key_pem)?;
        Ok(Self::new(key, Algorithm::RS256, config))
    }

    fn new(key: DecodingKey, alg: Algorithm, config: &AuthConfig) -> Self {
        let mut validation = Validation::new(alg);
        validation.algorithms = vec![alg];
        validation.leeway = config.jwt_leeway_seconds;
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.set_audience(&[&config.jwt_audience]);
        validation.set_issuer(&[&config.jwt_issuer]);
        validation.set_required_spec_claims(&["exp", "sub", "aud", "iss"]);
        Self { key, validation }
    }

    pub fn verify(&self, token: &str) -> Result<Caller, Error> {
        let data =
            jsonwebtoken::decode::<Claims>(token, &self.key, &self.validation).map_err(|err| {
                tracing::debug!(error = %err, "jwt refused");
                Error::Unauthenticated("invalid or expired bearer token")
            })?;
        let claims = data.claims;
        let tenant = TenantId::parse(&claims.tenant).ok_or(Error::Unauthenticated(
            "bearer token has no valid tenant claim",
        ))?;
        if claims.sub.is_empty() {
            return Err(Error::Unauthenticated("bearer token has an empty subject"));
        }
        Ok(Caller {
            tenant,
            principal: claims.sub,
            kind: PrincipalKind::User,
            scopes: scopes_for_roles(&claims.roles),
        })
    }
}

/// issue_hs256 signs a token; used by `tezgram token` and by tests.
pub fn issue_hs256(secret: &[u8], claims: &Claims) -> String {
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(secret),
    )
    .expect("hs256 signing of serializable claims cannot fail")
}

/// dev_claims are the claims of a development token for the embedded default.
pub fn dev_claims(config: &AuthConfig, tenant: &str, sub: &str, ttl: Duration) -> Claims {
    let now = Utc::now().timestamp();
    Claims {
        sub: sub.to_owned(),
        tenant: tenant.to_owned(),
        roles: vec!["admin".to_owned(), "sandbox".to_owned()],
        aud: config.jwt_audience.clone(),
        iss: config.jwt_issuer.clone(),
        exp: now + ttl.as_secs() as i64,
        nbf: Some(now),
        iat: Some(now),
    }
}

/// API keys look like `tzk_<id>_<secret>`: the id is public (it names the key
/// in lists and logs), the secret is 32 random bytes, kept only as SHA-256.
/// A fast hash is enough because the secret has full entropy.
pub const API_KEY_PREFIX: &str = "tzk_";

/// NewApiKey is a freshly minted key: the full token is shown once, never stored.
pub struct NewApiKey {
    pub id: String,
    pub token: Zeroizing<String>,
    pub secret_hash: [u8; 32],
}

pub fn mint_api_key() -> NewApiKey {
    let mut id = [0u8; 8];
    let mut secret = Zeroizing::new([0u8; 32]);
    rand::rng().fill_bytes(&mut id);
    rand::rng().fill_bytes(secret.as_mut());
    let id = hex::encode(id);
    let secret = Zeroizing::new(B64URL.encode(secret.as_ref()));
    NewApiKey {
        token: Zeroizing::new(format!("{API_KEY_PREFIX}{id}_{}", secret.as_str())),
        secret_hash: hash_secret(&secret),
        id,
    }
}

fn hash_secret(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

/// split_api_key returns (id, secret) of a well-formed key.
fn split_api_key(token: &str) -> Option<(&str, &str)> {
    let rest = token.strip_prefix(API_KEY_PREFIX)?;
    let (id, secret) = rest.split_once('_')?;
    let well_formed = id.len() == 16
        && id.bytes().all(|b| b.is_ascii_hexdigit())
        && (40..=64).contains(&secret.len());
    well_formed.then_some((id, secret))
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Authenticator turns request credentials into a caller.
#[derive(Clone)]
pub struct Authenticator {
    jwt: JwtVerifier,
    api_keys: Arc<dyn ApiKeyStore>,
}

impl Authenticator {
    pub fn new(jwt: JwtVerifier, api_keys: Arc<dyn ApiKeyStore>) -> Self {
        Self { jwt, api_keys }
    }

    /// authenticate accepts `authorization: Bearer <jwt>` or `x-api-key`.
    /// Presenting both is refused: which one should win is ambiguous.
    pub async fn authenticate(
        &self,
        authorization: Option<&str>,
        api_key: Option<&str>,
    ) -> Result<Caller, Error> {
        match (authorization, api_key) {
            (Some(_), Some(_)) => Err(Error::Unauthenticated(
                "send either a bearer token or an api key, not both",
            )),
            (Some(header), None) => {
                let token = header
                    .strip_prefix("Bearer ")
                    .or_else(|| header.strip_prefix("bearer "))
                    .map(str::trim)
                    .filter(|t| !t.is_empty())
                    .ok_or(Error::Unauthenticated(
                        "authorization header must be `Bearer <token>`",
                    ))?;
                self.jwt.verify(token)
            }
            (None, Some(key)) => self.verify_api_key(key.trim()).await,
            (None, None) => Err(Error::Unauthenticated(
                "missing credentials: send `authorization: Bearer <token>` or `x-api-key`",
            )),
        }
    }

    async fn verify_api_key(&self, token: &str) -> Result<Caller, Error> {
        const REFUSED: Error = Error::Unauthenticated("invalid or revoked api key");
        let (id, secret) = split_api_key(token).ok_or(REFUSED)?;
        let Some((key, stored_hash)) = self.api_keys.find_api_key(id).await? else {
            return Err(REFUSED);
        };
        if key.revoked_at.is_some() || !constant_time_eq(&hash_secret(secret), &stored_hash) {
            return Err(REFUSED);
        }
        Ok(caller_for_key(&key))
    }
}

fn caller_for_key(key: &ApiKey) -> Caller {
    Caller {
        tenant: key.tenant.clone(),
        principal: format!("api-key:{}", key.id),
        kind: PrincipalKind::ApiKey,
        scopes: key.scopes.iter().copied().collect(),
    }
}

/// MIN_HS256_SECRET_BYTES is the shortest HS256 secret accepted (RFC 7518
/// §3.2: a key at least as long as the hash output). A shorter one (an empty
/// variable, a placeholder) would let anyone forge tokens for any tenant.
pub const MIN_HS256_SECRET_BYTES: usize = 32;

/// check_hs256_secret refuses secrets shorter than [`MIN_HS256_SECRET_BYTES`].
pub fn check_hs256_secret(secret: &str) -> Result<(), String> {
    if secret.len() < MIN_HS256_SECRET_BYTES {
        return Err(format!(
            "the hs256 secret is {} bytes; at least {MIN_HS256_SECRET_BYTES} are required",
            secret.len()
        ));
    }
    Ok(())
}

/// load_or_create_secret returns the secret kept in `path`, creating it with
/// `make` on first use (owner-only, written atomically, see [`crate::files`]).
/// Used for the embedded default's dev JWT secret and encryption key, so
/// restarts keep them. A file whose content `check` refuses (empty, short,
/// malformed) is an error, never used and never overwritten.
pub async fn load_or_create_secret(
    path: &Path,
    make: impl FnOnce() -> Zeroizing<String>,
    check: impl Fn(&str) -> Result<(), String>,
) -> anyhow::Result<Zeroizing<String>> {
    use anyhow::Context as _;

    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        crate::files::create_private_dir(parent)
            .await
            .with_context(|| format!("creating {}", parent.display()))?;
    }
    let secret = make();
    // A racing process may create it first: then theirs is read below.
    crate::files::create_new_atomically(path, secret.as_bytes().to_vec())
        .await
        .with_context(|| format!("writing {}", path.display()))?;
    crate::files::warn_if_loose(path, crate::files::PRIVATE_FILE);
    let stored = Zeroizing::new(
        tokio::fs::read_to_string(path)
            .await
            .with_context(|| format!("reading {}", path.display()))?,
    );
    let stored = Zeroizing::new(stored.trim().to_owned());
    check(&stored).map_err(|why| {
        anyhow::anyhow!(
            "{} is unusable ({why}); remove it to have a new one generated",
            path.display()
        )
    })?;
    Ok(stored)
}

/// random_secret makes a 32-byte random secret, base64url.
pub fn random_secret() -> Zeroizing<String> {
    let mut raw = Zeroizing::new([0u8; 32]);
    rand::rng().fill_bytes(raw.as_mut());
    Zeroizing::new(B64URL.encode(raw.as_ref()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    const SECRET: &str = "unit-test-secret-0123456789abcdef";

    fn verifier() -> (JwtVerifier, AuthConfig) {
        let config = Config::default().auth;
        (JwtVerifier::hs256(SECRET, &config).unwrap(), config)
    }

    #[test]
    fn short_hs256_secrets_are_refused() {
        let config = Config::default().auth;
        for short in ["", "secret", &"x".repeat(MIN_HS256_SECRET_BYTES - 1)] {
            assert!(JwtVerifier::hs256(short, &config).is_err(), "{short:?}");
        }
        assert!(JwtVerifier::hs256(&"x".repeat(MIN_HS256_SECRET_BYTES), &config).is_ok());
    }

    #[test]
    fn the_admin_role_does_not_imply_the_sandbox() {
        let admin = scopes_for_roles(&["admin".to_owned()]);
        assert!(admin.contains(&Scope::AccountsWrite));
        assert!(!admin.contains(&Scope::Sandbox));
        let both = scopes_for_roles(&["admin".to_owned(), "sandbox".to_owned()]);
        assert!(both.contains(&Scope::Sandbox));
    }

    #[test]
    fn a_dev_token_verifies() {
        let (verifier, config) = verifier();
        let token = issue_hs256(
            SECRET.as_bytes(),
            &dev_claims(&config, "acme", "u1", Duration::from_secs(60)),
        );
        let caller = verifier.verify(&token).unwrap();
        assert_eq!(caller.tenant.as_str(), "acme");
        assert_eq!(caller.principal, "u1");
        assert!(caller.can(Scope::Sandbox));
    }

    #[test]
    fn expired_wrong_audience_wrong_key_and_unsigned_tokens_are_refused() {
        let (verifier, config) = verifier();
        let mut expired = dev_claims(&config, "acme", "u1", Duration::from_secs(60));
        expired.exp = Utc::now().timestamp() - 3600;
        let mut wrong_aud = dev_claims(&config, "acme", "u1", Duration::from_secs(60));
        wrong_aud.aud = "other".into();
        let mut future = dev_claims(&config, "acme", "u1", Duration::from_secs(7200));
        future.nbf = Some(Utc::now().timestamp() + 3600);
        let good = dev_claims(&config, "acme", "u1", Duration::from_secs(60));
        let payload = B64URL.encode(serde_json::to_vec(&good).unwrap());
        let unsigned = format!(
            "{}.{payload}.",
            B64URL.encode(br#"{"alg":"none","typ":"JWT"}"#)
        );
        for token in [
            issue_hs256(SECRET.as_bytes(), &expired),
            issue_hs256(SECRET.as_bytes(), &wrong_aud),
            issue_hs256(SECRET.as_bytes(), &future),
            issue_hs256(b"other-secret", &good),
            unsigned,
            "garbage".to_owned(),
        ] {
            assert!(
                matches!(verifier.verify(&token), Err(Error::Unauthenticated(_))),
                "{token}"
            );
        }
    }

    #[test]
    fn minted_api_keys_parse_and_hash() {
        let key = mint_api_key();
        let (id, secret) = split_api_key(&key.token).unwrap();
        assert_eq!(id, key.id);
        assert_eq!(hash_secret(secret), key.secret_hash);
        assert!(split_api_key("tzk_short_x").is_none());
        assert!(split_api_key("nope").is_none());
    }
}
