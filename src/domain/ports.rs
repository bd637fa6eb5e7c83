//! Ports: what the domain needs from the outside world. `storage/` and
//! `cache/` implement them; services hold them as `Arc<dyn ...>`.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::account::{Account, AccountId, AccountState};
use super::caller::{Scope, TenantId};
use super::login::{CodeSent, QrLogin, SignIn, TelegramDevice, TelegramUser};

/// StoreError is a database failure, classified where it is born.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{resource} not found")]
    NotFound { resource: &'static str },
    /// A unique key is taken (SQLSTATE 23505 / SQLite constraint).
    #[error("{resource} already exists")]
    AlreadyExists { resource: &'static str },
    /// The database cannot be reached or timed out; retryable.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// A stored value this build cannot read (e.g. an unknown enum name).
    #[error("corrupt row: {0}")]
    Corrupt(String),
    #[error("database error: {0}")]
    Other(String),
}

/// CacheError is a cache failure. Callers treat the cache as optional: a
/// failed read falls back to the database.
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    #[error("cache unavailable: {0}")]
    Unavailable(String),
    #[error("cache error: {0}")]
    Other(String),
}

/// AccountPage is one page of accounts, oldest first.
#[derive(Debug, Clone)]
pub struct AccountPage {
    pub accounts: Vec<Account>,
    /// Set when more accounts follow: the last id of this page.
    pub next_after: Option<AccountId>,
}

/// AccountStore persists accounts, scoped to a tenant.
#[async_trait]
pub trait AccountStore: Send + Sync + 'static {
    /// list_accounts returns up to `limit` accounts with ids after `after`,
    /// oldest first.
    async fn list_accounts(
        &self,
        tenant: &TenantId,
        after: Option<AccountId>,
        limit: u32,
    ) -> Result<AccountPage, StoreError>;

    /// get_account fails `NotFound` for ids of other tenants too.
    async fn get_account(&self, tenant: &TenantId, id: AccountId) -> Result<Account, StoreError>;

    /// insert_account stores a new account (without a session yet).
    async fn insert_account(&self, account: &Account) -> Result<(), StoreError>;

    /// create_account stores a new account, idempotently: when the tenant
    /// already created an account with this `request_id`, that account is
    /// returned and nothing is written.
    async fn create_account(
        &self,
        account: &Account,
        request_id: Option<&str>,
    ) -> Result<Account, StoreError>;

    /// update_account writes the account's mutable fields (state, phone,
    /// Telegram user, names, hint, update time); `NotFound` if it is gone.
    async fn update_account(&self, account: &Account) -> Result<(), StoreError>;

    /// delete_account erases the account and, by cascade, everything stored
    /// for it; `NotFound` if there is no such account in the tenant.
    async fn delete_account(&self, tenant: &TenantId, id: AccountId) -> Result<(), StoreError>;

    /// load_login_state returns the sealed state of a login in progress.
    async fn load_login_state(&self, id: AccountId) -> Result<Option<Sealed>, StoreError>;

    /// save_login_state replaces (or with `None` clears) the login state.
    async fn save_login_state(
        &self,
        id: AccountId,
        state: Option<&Sealed>,
    ) -> Result<(), StoreError>;

    /// find_account_by_phone is the tenant's user account with that phone
    /// number (E.164 digits), if any.
    async fn find_account_by_phone(
        &self,
        tenant: &TenantId,
        phone: &str,
    ) -> Result<Option<Account>, StoreError>;

    /// accounts_in_state lists the accounts (of every tenant) in `state`,
    /// e.g. the authorized ones a starting gateway reconnects.
    async fn accounts_in_state(&self, state: AccountState) -> Result<Vec<Account>, StoreError>;
}

/// ApiKey is a stored API key, minus the secret (only its hash is kept).
#[derive(Debug, Clone, PartialEq)]
pub struct ApiKey {
    /// Public id, also the key's prefix (`tzk_<id>_<secret>`).
    pub id: String,
    pub tenant: TenantId,
    pub name: String,
    pub scopes: Vec<Scope>,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// ApiKeyStore persists API keys. Secrets are stored as SHA-256 hashes only.
#[async_trait]
pub trait ApiKeyStore: Send + Sync + 'static {
    async fn insert_api_key(&self, key: &ApiKey, secret_hash: &[u8; 32]) -> Result<(), StoreError>;

    /// find_api_key returns the key with that id and its secret hash, revoked or not.
    async fn find_api_key(&self, id: &str) -> Result<Option<(ApiKey, [u8; 32])>, StoreError>;

    /// list_api_keys lists keys of one tenant, or of all tenants (operator CLI).
    async fn list_api_keys(&self, tenant: Option<&TenantId>) -> Result<Vec<ApiKey>, StoreError>;

    /// revoke_api_key marks a key revoked; `NotFound` if there is no such key.
    async fn revoke_api_key(&self, id: &str, at: DateTime<Utc>) -> Result<(), StoreError>;
}

/// Cache is a byte cache with TTLs, shared by all instances when it is Redis.
#[async_trait]
pub trait Cache: Send + Sync + 'static {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, CacheError>;
    /// set stores `value` under `key` for `ttl` (which must be at least 1 ms).
    async fn set(&self, key: &str, value: &[u8], ttl: Duration) -> Result<(), CacheError>;
    /// delete removes keys; missing keys are not an error.
    async fn delete(&self, keys: &[String]) -> Result<(), CacheError>;
    /// incr atomically adds one to a counter (created at 0, no expiry) and
    /// returns the new value. Used as a generation number that invalidates a
    /// whole family of keys in one write.
    async fn incr(&self, key: &str) -> Result<u64, CacheError>;
    /// ping checks the cache answers.
    async fn ping(&self) -> Result<(), CacheError>;
}

/// Sealed is a secret as stored: AEAD-sealed bytes and the id of the key
/// that sealed them (an account's Telegram session, its login state).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    pub sealed: Vec<u8>,
    pub key_id: String,
}

/// SessionStore keeps accounts' Telegram sessions (auth keys, DC addresses,
/// peer cache, update state), sealed.
#[async_trait]
pub trait SessionStore: Send + Sync + 'static {
    /// load_session returns the account's sealed session, if it has one.
    async fn load_session(&self, account: AccountId) -> Result<Option<Sealed>, StoreError>;

    /// save_session replaces the account's sealed session; `NotFound` if the
    /// account no longer exists (deleted meanwhile).
    async fn save_session(&self, account: AccountId, session: &Sealed) -> Result<(), StoreError>;
}

/// TelegramAccounts is Telegram as the account services see it: every call
/// runs on the account's own Telegram session (created by `prepare`).
#[async_trait]
pub trait TelegramAccounts: Send + Sync + 'static {
    /// prepare gives an account a fresh Telegram session to log in with,
    /// replacing any old one (after a revocation or a log-out).
    async fn prepare(&self, account: AccountId) -> Result<(), crate::domain::Error>;

    async fn send_code(
        &self,
        account: AccountId,
        phone: &str,
    ) -> Result<CodeSent, crate::domain::Error>;

    async fn sign_in(
        &self,
        account: AccountId,
        phone: &str,
        phone_code_hash: &str,
        code: &str,
    ) -> Result<SignIn, crate::domain::Error>;

    async fn check_password(
        &self,
        account: AccountId,
        password: &str,
    ) -> Result<TelegramUser, crate::domain::Error>;

    async fn bot_sign_in(
        &self,
        account: AccountId,
        token: &str,
    ) -> Result<TelegramUser, crate::domain::Error>;

    /// qr_login exports a login token, or reports that it was accepted.
    async fn qr_login(&self, account: AccountId) -> Result<QrLogin, crate::domain::Error>;

    /// log_out ends the session at Telegram (best effort: a session Telegram
    /// already revoked is logged out too).
    async fn log_out(&self, account: AccountId) -> Result<(), crate::domain::Error>;

    async fn devices(
        &self,
        account: AccountId,
    ) -> Result<Vec<TelegramDevice>, crate::domain::Error>;

    async fn terminate_device(
        &self,
        account: AccountId,
        hash: i64,
    ) -> Result<(), crate::domain::Error>;
}

/// EventLog is the ordered, tenant-scoped log of events.
#[async_trait]
pub trait EventLog: Send + Sync + 'static {
    /// append adds an event and returns its position.
    async fn append(
        &self,
        tenant: &TenantId,
        account: Option<AccountId>,
        payload: &crate::domain::event::EventPayload,
    ) -> Result<i64, StoreError>;

    /// events_after lists a tenant's events after `position`, oldest first.
    async fn events_after(
        &self,
        tenant: &TenantId,
        position: i64,
        limit: u32,
    ) -> Result<Vec<crate::domain::event::Event>, StoreError>;
}

/// Supervision starts and stops the long-lived connection of authorized
/// accounts (the `AccountSupervisor`).
pub trait Supervision: Send + Sync + 'static {
    /// supervise keeps the account connected, draining its updates.
    fn supervise(&self, tenant: &TenantId, account: AccountId);
    /// release disconnects the account (logged out, deleted, revoked).
    fn release(&self, account: AccountId);
}
