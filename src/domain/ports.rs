//! Ports: what the domain needs from the outside world. `storage/` and
//! `cache/` implement them; services hold them as `Arc<dyn ...>`.

use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use chrono::{DateTime, Utc};

use super::account::{Account, AccountId, AccountState};
use super::caller::{Scope, TenantId};
use super::chat::{
    Change, Chat, ChatCursor, ChatFilter, ChatPage, ChatProfile, Dialog, HistoryDirection, Message,
    Touched,
};
use super::login::{CodeSent, QrLogin, SignIn, TelegramDevice, TelegramUser};
use super::media::{Media, RemoteFile, Upload, UploadId};

/// StoreError is a database failure, classified where it is born.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{resource} not found")]
    NotFound { resource: &'static str },
    /// A unique key is taken (SQLSTATE 23505 / SQLite constraint).
    #[error("{resource} already exists")]
    AlreadyExists { resource: &'static str },
    /// A compare-and-set lost: a concurrent writer changed the row first
    /// (another state transition, a newer session). Re-read and decide again.
    #[error("{resource} was changed concurrently")]
    Conflict { resource: &'static str },
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

/// Expect is what a compare-and-set write expects to find stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Expect {
    pub state: AccountState,
    /// The session epoch, when the write is about one session (a revocation).
    pub session_epoch: Option<i64>,
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
    /// Telegram user, names, hint, update time) if the stored row still is
    /// as `expect` says (compare-and-set); `Conflict` if it moved on,
    /// `NotFound` if it is gone, `AlreadyExists` if the Telegram user or
    /// phone number belongs to another account of the tenant.
    async fn update_account(
        &self,
        account: &Account,
        expect: Expect,
        events: &[crate::domain::event::NewEvent],
    ) -> Result<(), StoreError>;

    /// find_account reads an account by id in any tenant. Only for callers
    /// that learnt the id internally (a revocation report), never for ids
    /// from a request.
    async fn find_account(&self, id: AccountId) -> Result<Option<Account>, StoreError>;

    /// find_account_by_request_id is the tenant's account a request id
    /// created (or last logged in).
    async fn find_account_by_request_id(
        &self,
        tenant: &TenantId,
        request_id: &str,
    ) -> Result<Option<Account>, StoreError>;

    /// find_account_by_telegram_user is the tenant's account of a Telegram
    /// user (or bot), if any.
    async fn find_account_by_telegram_user(
        &self,
        tenant: &TenantId,
        telegram_user_id: i64,
    ) -> Result<Option<Account>, StoreError>;

    /// set_request_id records the request id of the login that last
    /// succeeded on an existing account; `AlreadyExists` if another account
    /// of the tenant has it.
    async fn set_request_id(
        &self,
        tenant: &TenantId,
        id: AccountId,
        request_id: &str,
    ) -> Result<(), StoreError>;

    /// count_accounts counts the tenant's accounts, in any state.
    async fn count_accounts(&self, tenant: &TenantId) -> Result<u64, StoreError>;

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

/// SessionRow is an account's stored session and its position: `epoch`
/// counts fresh sessions (each login gets one), `version` counts saves
/// within an epoch.
#[derive(Debug, Clone)]
pub struct SessionRow {
    pub sealed: Option<Sealed>,
    pub epoch: i64,
    pub version: i64,
}

/// FIRST_SESSION_VERSION is the version a session is stored with when
/// `replace_session` starts its epoch.
pub const FIRST_SESSION_VERSION: i64 = 1;

/// SessionStore keeps accounts' Telegram sessions (auth keys, DC addresses,
/// peer cache, update state), sealed. Writes are compare-and-set, so a
/// stale writer is refused with `Conflict` instead of overwriting.
#[async_trait]
pub trait SessionStore: Send + Sync + 'static {
    /// load_session returns the account's session row; `NotFound` when the
    /// account does not exist.
    async fn load_session(&self, account: AccountId) -> Result<SessionRow, StoreError>;

    /// save_session stores `version` of the session of `epoch`, only if the
    /// stored epoch is still `epoch` and the stored version is older — and,
    /// with a `fence`, only while the account's lease is still that one;
    /// `Conflict` otherwise, `NotFound` when the account is gone.
    async fn save_session(
        &self,
        account: AccountId,
        epoch: i64,
        version: i64,
        session: &Sealed,
        fence: Option<&crate::domain::lease::Fence>,
    ) -> Result<(), StoreError>;

    /// replace_session stores a fresh session in a new epoch (returned), as
    /// [`FIRST_SESSION_VERSION`],
    /// only if the stored epoch is still `expected_epoch`; `Conflict`
    /// otherwise, `NotFound` when the account is gone.
    async fn replace_session(
        &self,
        account: AccountId,
        expected_epoch: i64,
        session: &Sealed,
    ) -> Result<i64, StoreError>;
}

/// TelegramAccounts is Telegram as the account services see it: every call
/// runs on the account's own Telegram session (created by `prepare`).
#[async_trait]
pub trait TelegramAccounts: Send + Sync + 'static {
    /// prepare gives an account a fresh Telegram session to log in with,
    /// replacing any old one (after a revocation or a log-out).
    async fn prepare(
        &self,
        tenant: &TenantId,
        account: AccountId,
    ) -> Result<(), crate::domain::Error>;

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

    /// adopt_session moves the signed-in session of `from` (a login that
    /// turned out to be the user of an existing account) to `to`, replacing
    /// `to`'s. `from` is left without a usable session.
    async fn adopt_session(
        &self,
        from: AccountId,
        to: AccountId,
    ) -> Result<(), crate::domain::Error>;

    /// qr_login starts a QR login on one connection (see [`QrLoginFlow`]).
    async fn qr_login(
        &self,
        account: AccountId,
    ) -> Result<Box<dyn QrLoginFlow>, crate::domain::Error>;

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

/// QrLoginFlow is one QR login in progress, on one connection.
#[async_trait]
pub trait QrLoginFlow: Send {
    /// next waits for what the user must see next: the first code, a new
    /// code once the shown one expired, or the outcome once a code was
    /// accepted (signed in, or the 2FA password is needed).
    async fn next(&mut self) -> Result<QrLogin, crate::domain::Error>;

    /// close ends the login's connection.
    async fn close(&mut self);
}

/// EventLog is the ordered, tenant-scoped log of events. Positions are
/// committed in order: a reader that has seen a position never finds a
/// smaller one committed later.
#[async_trait]
pub trait EventLog: Send + Sync + 'static {
    /// append adds events in their own transaction. Stores that write the
    /// data an event describes append it in that write's transaction
    /// instead; this is for events about nothing stored.
    async fn append(&self, events: &[crate::domain::event::NewEvent]) -> Result<(), StoreError>;

    /// events_after lists a tenant's events after `position`, oldest first.
    async fn events_after(
        &self,
        tenant: &TenantId,
        position: i64,
        limit: u32,
    ) -> Result<Vec<crate::domain::event::Event>, StoreError>;

    /// head is the newest position of the whole log (0 when nothing was
    /// ever appended): a stream that starts now starts after it.
    async fn head(&self) -> Result<i64, StoreError>;

    /// horizon is the position the log was pruned through: events at or
    /// below it may be gone.
    async fn horizon(&self) -> Result<i64, StoreError>;

    /// prune deletes the events recorded before `before` and moves the
    /// horizon past them; the number deleted.
    async fn prune(&self, before: DateTime<Utc>) -> Result<u64, StoreError>;

    /// appended tells, after each commit that appended events, whose
    /// tenant they were (a lagging listener must read every tenant).
    fn appended(&self) -> tokio::sync::broadcast::Receiver<TenantId>;
}

/// Notice is what the event bus tells a process.
#[derive(Debug, Clone, PartialEq)]
pub enum Notice {
    /// Another process appended events of this tenant.
    News(TenantId),
    /// Notices may have been lost (a reconnect, a listener that lagged):
    /// read every log followed.
    Missed,
    /// An event of another process that is streamed, not stored (typing).
    Ephemeral(crate::domain::event::NewEvent),
}

/// EventBus carries "a tenant's event log has news" between processes.
/// At most once: the log is the source of truth, notices save reads.
#[async_trait]
pub trait EventBus: Send + Sync + 'static {
    /// publish tells the other processes that the tenant has news.
    async fn publish(&self, tenant: &TenantId) -> Result<(), CacheError>;
    /// publish_ephemeral hands the other processes an event that is not
    /// stored (typing).
    async fn publish_ephemeral(
        &self,
        event: &crate::domain::event::NewEvent,
    ) -> Result<(), CacheError>;
    /// notices are what other processes published, and reports of loss.
    fn notices(&self) -> tokio::sync::broadcast::Receiver<Notice>;
}

/// Ephemera takes the events that are streamed but never stored (typing,
/// from the account supervisors). It must not block: an event it cannot
/// take at once is dropped, as Telegram's own typing updates may be.
pub trait Ephemera: Send + Sync + 'static {
    fn ephemeral(&self, event: crate::domain::event::NewEvent);
}

/// Supervision is what the account life cycle asks of whoever keeps
/// authorized accounts connected (`Ownership`, which takes the account's
/// lease and then supervises it here).
#[async_trait]
pub trait Supervision: Send + Sync + 'static {
    /// supervise keeps the account connected, draining its updates.
    fn supervise(&self, tenant: &TenantId, account: AccountId);
    /// release disconnects the account (logged out, deleted, revoked) and
    /// returns once its task has stopped and closed its connection, so the
    /// caller may replace the account's session.
    async fn release(&self, account: AccountId);
}

/// LocalSupervision runs accounts' connections in this process (the
/// `AccountSupervisor`), each under the lease this instance holds for it.
#[async_trait]
pub trait LocalSupervision: Send + Sync + 'static {
    /// start keeps the account connected under `fence` (a registration
    /// already running is left as it is).
    fn start(&self, tenant: &TenantId, account: AccountId, fence: crate::domain::lease::Fence);
    /// stop disconnects the account and returns once its task has closed
    /// its connection.
    async fn stop(&self, account: AccountId);
    /// running says whether the account has a task here.
    fn running(&self, account: AccountId) -> bool;
}

/// LEASE_RESOURCE is the resource a write refused for a lease that moved
/// on names (`StoreError::Conflict`).
pub const LEASE_RESOURCE: &str = "account lease";

/// LeaseStore keeps which instance owns which account, and the instances.
/// Times come from [`LeaseStore::now`], the store's clock (PostgreSQL's,
/// shared by every instance), so instances' clocks may differ.
#[async_trait]
pub trait LeaseStore: Send + Sync + 'static {
    /// now is the store's clock.
    async fn now(&self) -> Result<DateTime<Utc>, StoreError>;
    /// heartbeat records that the instance is alive (and how).
    async fn heartbeat(&self, instance: &crate::domain::lease::Instance) -> Result<(), StoreError>;
    /// leave removes the instance.
    async fn leave(&self, id: &crate::domain::lease::InstanceId) -> Result<(), StoreError>;
    /// instances are those whose heartbeat is at `since` or later.
    async fn instances(
        &self,
        since: DateTime<Utc>,
    ) -> Result<Vec<crate::domain::lease::Instance>, StoreError>;
    /// count_authorized counts the AUTHORIZED accounts of every tenant.
    async fn count_authorized(&self) -> Result<u64, StoreError>;
    /// unowned are up to `limit` AUTHORIZED accounts whose lease is
    /// missing, given up or expired at `now`, oldest first.
    async fn unowned(
        &self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<(TenantId, AccountId)>, StoreError>;
    /// acquire gives `owner` the lease of an AUTHORIZED account until
    /// `until` in a new epoch, unless another instance's lease still holds
    /// at `now` (then `None`). It waits for the account's writers in
    /// flight (their transactions lock the account), so none of theirs
    /// lands after it.
    async fn acquire(
        &self,
        account: AccountId,
        owner: &crate::domain::lease::InstanceId,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Option<crate::domain::lease::Fence>, StoreError>;
    /// renew moves the leases that are still `fences` to `until`; returns
    /// the accounts renewed (the others are lost).
    async fn renew(
        &self,
        fences: &[(AccountId, crate::domain::lease::Fence)],
        until: DateTime<Utc>,
    ) -> Result<Vec<AccountId>, StoreError>;
    /// release gives the lease up at once, if it is still `fence`.
    async fn release(
        &self,
        account: AccountId,
        fence: &crate::domain::lease::Fence,
    ) -> Result<(), StoreError>;
    /// lease is the account's lease as stored.
    async fn lease(
        &self,
        account: AccountId,
    ) -> Result<Option<crate::domain::lease::Lease>, StoreError>;
    /// holder is the instance whose lease on the account holds now (by
    /// the store's clock), with the address it serves, if it has one.
    async fn holder(
        &self,
        account: AccountId,
    ) -> Result<Option<(crate::domain::lease::InstanceId, String)>, StoreError>;
    /// not_authorized are those of `accounts` that are no longer
    /// AUTHORIZED (or gone).
    async fn not_authorized(&self, accounts: &[AccountId]) -> Result<Vec<AccountId>, StoreError>;
}

/// HistoryCoverage is how much of a chat's history the store holds without
/// gaps: every message with an id at or above `floor` is stored (or was
/// deleted); `complete` when the floor reached the chat's first message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct HistoryCoverage {
    pub floor: Option<i64>,
    pub complete: bool,
    /// Telegram's count of the chat's messages, when a history load told.
    pub total_count: Option<i32>,
}

/// ChatStore keeps an account's chats and messages. Written by ingest (the
/// account's supervisor, in update order), dialog loads and history
/// backfills; every write is an idempotent upsert, so a change applied
/// twice (a catch-up after a crash) leaves the same rows.
#[async_trait]
pub trait ChatStore: Send + Sync + 'static {
    /// apply stores a batch of changes in one transaction; returns the
    /// chats it touched. A migration's service message (see
    /// [`crate::domain::chat::Migration`]) moves the basic group's CRM
    /// links to its supergroup in that transaction, once.
    async fn apply(
        &self,
        tenant: &TenantId,
        account: AccountId,
        changes: &[Change],
    ) -> Result<Touched, StoreError>;

    /// apply_fenced is `apply` made under a lease: refused (`Conflict`)
    /// unless the account's lease is still `fence`, checked in the
    /// transaction (which waits for, or is waited on by, an acquisition).
    async fn apply_fenced(
        &self,
        tenant: &TenantId,
        account: AccountId,
        changes: &[Change],
        fence: &crate::domain::lease::Fence,
    ) -> Result<Touched, StoreError>;

    /// store_dialogs stores a dialogs load (chats, their list state and top
    /// messages) and marks the account's chat list loaded.
    async fn store_dialogs(
        &self,
        tenant: &TenantId,
        account: AccountId,
        dialogs: &[Dialog],
    ) -> Result<(), StoreError>;

    /// dialogs_loaded says whether the account's chat list was loaded.
    async fn dialogs_loaded(&self, account: AccountId) -> Result<bool, StoreError>;

    /// store_history stores messages backfilled from Telegram (and their
    /// chats' profiles) and moves the chat's coverage to `coverage`; a
    /// migration's service message among them moves links as in `apply`.
    async fn store_history(
        &self,
        tenant: &TenantId,
        account: AccountId,
        chat_id: i64,
        messages: &[Message],
        profiles: &[ChatProfile],
        coverage: HistoryCoverage,
    ) -> Result<(), StoreError>;

    /// list_chats lists chats of one account, or of every account of the
    /// tenant, in chat-list order after `after`.
    async fn list_chats(
        &self,
        tenant: &TenantId,
        account: Option<AccountId>,
        filter: &ChatFilter,
        after: Option<ChatCursor>,
        limit: u32,
    ) -> Result<ChatPage, StoreError>;

    /// get_chat is one chat; `NotFound` for other tenants' accounts too.
    async fn get_chat(
        &self,
        tenant: &TenantId,
        account: AccountId,
        chat_id: i64,
    ) -> Result<Chat, StoreError>;

    /// coverage is how much of the chat's history is stored.
    async fn coverage(
        &self,
        account: AccountId,
        chat_id: i64,
    ) -> Result<HistoryCoverage, StoreError>;

    /// messages lists up to `limit` stored messages of a chat beyond
    /// `anchor` in `direction` (newest first for `Older`, below the
    /// anchor; oldest first for `Newer`, above it; no anchor: the newest).
    async fn messages(
        &self,
        tenant: &TenantId,
        account: AccountId,
        chat_id: i64,
        anchor: Option<i64>,
        direction: HistoryDirection,
        limit: u32,
    ) -> Result<Vec<Message>, StoreError>;

    /// store_full_profile records a chat's full profile, read from Telegram
    /// `at` (a member count Telegram did not tell stays as stored).
    async fn store_full_profile(
        &self,
        tenant: &TenantId,
        account: AccountId,
        chat_id: i64,
        full: &crate::domain::chat::FullProfile,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// newest_before is the id of the newest stored message of a chat sent
    /// before `time`.
    async fn newest_before(
        &self,
        account: AccountId,
        chat_id: i64,
        time: DateTime<Utc>,
    ) -> Result<Option<i64>, StoreError>;

    /// search_messages finds stored messages of the account (or of one of
    /// its chats) matching `query`, newest first, after `after`.
    async fn search_messages(
        &self,
        tenant: &TenantId,
        account: AccountId,
        chat_id: Option<i64>,
        query: &crate::domain::chat::SearchQuery,
        after: Option<crate::domain::chat::SearchCursor>,
        limit: u32,
    ) -> Result<crate::domain::chat::SearchPage, StoreError>;

    /// get_message is one stored message.
    async fn get_message(
        &self,
        tenant: &TenantId,
        account: AccountId,
        chat_id: i64,
        message_id: i64,
    ) -> Result<Message, StoreError>;
}

/// LinkStore keeps the links between chats and CRM records. Every change
/// appends its event in the same transaction.
#[async_trait]
pub trait LinkStore: Send + Sync + 'static {
    /// link stores `link` and appends its ChatLinked event, unless a link
    /// with its request id is stored already: then that one is returned
    /// (the caller compares it with the request). The chat must be a
    /// stored chat or the private chat of a stored contact of the account
    /// (else NotFound); the same chat and record linked by another request
    /// is AlreadyExists.
    async fn link(
        &self,
        tenant: &TenantId,
        link: &crate::domain::crm::ChatLink,
    ) -> Result<crate::domain::crm::ChatLink, StoreError>;

    /// unlink removes the link between a chat and a record and appends its
    /// ChatUnlinked event; NotFound when there is none.
    async fn unlink(
        &self,
        tenant: &TenantId,
        account: AccountId,
        chat_id: i64,
        entity: &crate::domain::crm::Entity,
    ) -> Result<(), StoreError>;

    /// links lists up to `limit` links, newest first, older than the link
    /// `after` (its id).
    async fn links(
        &self,
        tenant: &TenantId,
        filter: &crate::domain::crm::LinkFilter,
        after: Option<&str>,
        limit: u32,
    ) -> Result<crate::domain::crm::LinkPage, StoreError>;

    /// suggest finds the chats (and contacts without a chat) of one account
    /// or of the whole tenant that match `contact`, best first, at most
    /// [`crate::domain::crm::MAX_SUGGESTIONS`].
    async fn suggest(
        &self,
        tenant: &TenantId,
        account: Option<AccountId>,
        contact: &crate::domain::crm::EntityContact,
    ) -> Result<Vec<crate::domain::crm::Suggestion>, StoreError>;
}

/// AuditStore keeps the audit log (never changed once written; it
/// outlives the accounts it names).
#[async_trait]
pub trait AuditStore: Send + Sync + 'static {
    /// record appends an entry.
    async fn record(&self, entry: &crate::domain::audit::NewAuditEntry) -> Result<(), StoreError>;

    /// audit_entries lists up to `limit` of a tenant's entries that match
    /// `filter`, newest first, older than the entry `before` (its id).
    async fn audit_entries(
        &self,
        tenant: &TenantId,
        filter: &crate::domain::audit::AuditFilter,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Vec<crate::domain::audit::AuditEntry>, StoreError>;
}

/// PreferenceStore keeps each (tenant, principal)'s preferences.
#[async_trait]
pub trait PreferenceStore: Send + Sync + 'static {
    /// preferences are the stored ones; `None` when never set.
    async fn preferences(
        &self,
        tenant: &TenantId,
        principal: &str,
    ) -> Result<Option<crate::domain::audit::Preferences>, StoreError>;

    /// update_preferences writes only the fields `change` names, in one
    /// statement (a racing change of other fields keeps its own), and
    /// returns the preferences after it.
    async fn update_preferences(
        &self,
        tenant: &TenantId,
        principal: &str,
        change: &crate::domain::audit::PreferencesChange,
    ) -> Result<crate::domain::audit::Preferences, StoreError>;
}

/// TriggerStore keeps triggers, how far they evaluated the event log, and
/// their webhook deliveries.
#[async_trait]
pub trait TriggerStore: Send + Sync + 'static {
    /// create_trigger stores a trigger, unless one with its request id is
    /// stored already (then that one is returned, for the caller to
    /// compare), or the tenant has [`crate::domain::trigger::MAX_TRIGGERS`]
    /// (`Conflict`). Its `after_position` is set to the log's head.
    async fn create_trigger(
        &self,
        trigger: &crate::domain::trigger::Trigger,
    ) -> Result<crate::domain::trigger::Trigger, StoreError>;

    async fn trigger(
        &self,
        tenant: &TenantId,
        id: &str,
    ) -> Result<Option<crate::domain::trigger::Trigger>, StoreError>;

    /// triggers lists up to `limit` triggers after the one `after`, oldest
    /// first.
    async fn triggers(
        &self,
        tenant: &TenantId,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<crate::domain::trigger::Trigger>, StoreError>;

    /// update_trigger replaces a trigger, if it still is as last read
    /// (`expected_update` is its `updated_at` then): else `Conflict`.
    async fn update_trigger(
        &self,
        trigger: &crate::domain::trigger::Trigger,
        expected_update: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// delete_trigger deletes a trigger and its deliveries.
    async fn delete_trigger(&self, tenant: &TenantId, id: &str) -> Result<(), StoreError>;

    /// enabled_triggers is every enabled trigger of these tenants.
    async fn enabled_triggers(
        &self,
        tenants: &[TenantId],
    ) -> Result<Vec<crate::domain::trigger::Trigger>, StoreError>;

    /// progress is how far triggers evaluated the log; the log's head the
    /// first time (triggers never look at events from before they existed).
    async fn trigger_progress(&self) -> Result<i64, StoreError>;

    /// events_after_all reads up to `limit` events of every tenant after
    /// `position`, in log order.
    async fn events_after_all(
        &self,
        position: i64,
        limit: u32,
    ) -> Result<Vec<crate::domain::event::Event>, StoreError>;

    /// chat_facts is what trigger conditions read about an event's chat.
    async fn chat_facts(
        &self,
        tenant: &TenantId,
        account: AccountId,
        chat_id: i64,
        message_id: Option<i64>,
    ) -> Result<crate::domain::trigger::ChatFacts, StoreError>;

    /// record_firings moves the progress from `from` to `to` and, in the
    /// same transaction, appends each firing's trigger_fired event and
    /// stores its delivery; `Conflict` when the progress is no longer
    /// `from` (another process recorded this stretch of the log).
    async fn record_firings(
        &self,
        from: i64,
        to: i64,
        firings: &[crate::domain::trigger::Firing],
        give_up_after: std::time::Duration,
    ) -> Result<(), StoreError>;

    /// due_deliveries lists up to `limit` deliveries due at `now`.
    async fn due_deliveries(
        &self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<crate::domain::trigger::Delivery>, StoreError>;

    /// claim_delivery takes a due delivery for one attempt: its attempts
    /// move from `attempts` to `attempts + 1` and it is not due again
    /// before `lease_until`. `false` when another worker took it first.
    async fn claim_delivery(
        &self,
        id: &str,
        attempts: i32,
        lease_until: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    /// set_delivery_body fixes the body every attempt of a delivery sends.
    async fn set_delivery_body(&self, id: &str, body: &str) -> Result<(), StoreError>;

    /// finish_delivery records an attempt's outcome, if the delivery is
    /// still at `attempts` (the claimed attempt). A `GiveUp { disable }`
    /// also disables its trigger with `reason`.
    async fn finish_delivery(
        &self,
        id: &str,
        attempts: i32,
        attempt: &crate::domain::trigger::Attempt,
        outcome: &crate::domain::trigger::Outcome,
        reason: &str,
    ) -> Result<(), StoreError>;

    /// deliveries lists a trigger's deliveries, newest first, older than
    /// the one `after`.
    async fn deliveries(
        &self,
        tenant: &TenantId,
        trigger_id: &str,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<crate::domain::trigger::Delivery>, StoreError>;

    /// redeliver makes a delivery due now, tried until `give_up_at`.
    async fn redeliver(
        &self,
        tenant: &TenantId,
        trigger_id: &str,
        id: &str,
        give_up_at: DateTime<Utc>,
    ) -> Result<crate::domain::trigger::Delivery, StoreError>;

    /// prune_deliveries deletes deliveries created before `before`.
    async fn prune_deliveries(&self, before: DateTime<Utc>) -> Result<u64, StoreError>;
}

/// ContactStore keeps the accounts' contact lists, as last synced from
/// Telegram (and extended by the contacts ResolveChat imports).
#[async_trait]
pub trait ContactStore: Send + Sync + 'static {
    /// contacts_synced_at is when the account's contact list was last
    /// replaced from Telegram; `None` if never.
    async fn contacts_synced_at(
        &self,
        account: AccountId,
    ) -> Result<Option<DateTime<Utc>>, StoreError>;

    /// replace_contacts makes the stored list exactly `contacts` and records
    /// the sync time.
    async fn replace_contacts(
        &self,
        tenant: &TenantId,
        account: AccountId,
        contacts: &[crate::domain::chat::Contact],
        synced_at: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// add_contact stores (or updates) one contact.
    async fn add_contact(
        &self,
        tenant: &TenantId,
        account: AccountId,
        contact: &crate::domain::chat::Contact,
    ) -> Result<(), StoreError>;

    /// list_contacts lists up to `limit` contacts after `after`, by name.
    async fn list_contacts(
        &self,
        tenant: &TenantId,
        account: AccountId,
        after: Option<&crate::domain::chat::ContactCursor>,
        limit: u32,
    ) -> Result<crate::domain::chat::ContactPage, StoreError>;

    /// contact_by_phone is the account's contact with that phone number.
    async fn contact_by_phone(
        &self,
        tenant: &TenantId,
        account: AccountId,
        phone: &str,
    ) -> Result<Option<crate::domain::chat::Contact>, StoreError>;
}

/// TelegramChats is Telegram's side of chats and history, for one account.
#[async_trait]
pub trait TelegramChats: Send + Sync + 'static {
    /// dialogs loads the account's chat list (up to `limit` chats), caching
    /// the peers in the session; it never moves the stored update state.
    async fn dialogs(
        &self,
        account: AccountId,
        limit: u32,
    ) -> Result<Vec<Dialog>, crate::domain::Error>;

    /// history fetches up to `limit` messages of a chat with ids below
    /// `offset_id` (0: from the newest) and above `min_id`, newest first.
    async fn history(
        &self,
        account: AccountId,
        chat: &ChatProfile,
        offset_id: i64,
        min_id: i64,
        limit: u32,
    ) -> Result<crate::domain::chat::History, crate::domain::Error>;

    /// full_profile reads the chat's full profile (`users.getFullUser`,
    /// `messages.getFullChat`, `channels.getFullChannel`).
    async fn full_profile(
        &self,
        account: AccountId,
        chat: &ChatProfile,
    ) -> Result<crate::domain::chat::FullProfile, crate::domain::Error>;

    /// newest_before is the id of the chat's newest message sent before
    /// `time`, if any.
    async fn newest_before(
        &self,
        account: AccountId,
        chat: &ChatProfile,
        time: DateTime<Utc>,
    ) -> Result<Option<i64>, crate::domain::Error>;

    /// read_history marks the chat's incoming messages read on Telegram up
    /// to `max_id` (0: all of them); the peer sees them read.
    async fn read_history(
        &self,
        account: AccountId,
        chat: &ChatProfile,
        max_id: i64,
    ) -> Result<(), crate::domain::Error>;

    /// set_typing shows a chat action to the chat.
    async fn set_typing(
        &self,
        account: AccountId,
        chat: &ChatProfile,
        action: crate::domain::chat::TypingAction,
    ) -> Result<(), crate::domain::Error>;

    /// edit_message replaces a message's text and entities; `None` when the
    /// message has that content already.
    async fn edit_message(
        &self,
        account: AccountId,
        chat: &ChatProfile,
        message_id: i64,
        text: &str,
        entities: &[crate::domain::chat::Entity],
    ) -> Result<Option<crate::domain::chat::Edited>, crate::domain::Error>;

    /// search asks Telegram for up to `limit` messages matching `query`: in
    /// one chat with ids below `max_id` (0: all), or in every chat of the
    /// account (`chat` none), newest first.
    async fn search(
        &self,
        account: AccountId,
        chat: Option<&ChatProfile>,
        query: &crate::domain::chat::SearchQuery,
        max_id: i64,
        limit: u32,
    ) -> Result<crate::domain::chat::History, crate::domain::Error>;

    /// contacts reads the account's whole contact list, caching the users'
    /// access hashes in the session.
    async fn contacts(
        &self,
        account: AccountId,
    ) -> Result<Vec<crate::domain::chat::Contact>, crate::domain::Error>;

    /// resolve_username finds the user, bot, group or channel with a public
    /// username; NOT_FOUND when nobody has it.
    async fn resolve_username(
        &self,
        account: AccountId,
        username: &str,
    ) -> Result<ChatProfile, crate::domain::Error>;

    /// import_contact adds a phone number to the account's contacts under
    /// these names; `None` when no Telegram user has it (or they hide it).
    async fn import_contact(
        &self,
        account: AccountId,
        phone: &str,
        first_name: &str,
        last_name: &str,
    ) -> Result<Option<crate::domain::chat::Contact>, crate::domain::Error>;

    /// delete_messages deletes messages of the chat (for everyone with
    /// `revoke`) and returns the ids it deleted: ids that do not exist, or
    /// belong to another chat, are left alone.
    async fn delete_messages(
        &self,
        account: AccountId,
        chat: &ChatProfile,
        ids: &[i64],
        revoke: bool,
    ) -> Result<Vec<i64>, crate::domain::Error>;
}

/// Ingest stores what an account's updates report, before the update state
/// that covers them is saved (so a crash in between re-delivers, never
/// loses). The account's supervisor is its only caller for that account.
#[async_trait]
pub trait Ingest: Send + Sync + 'static {
    /// ingest stores what one update reported, under the lease the
    /// supervisor holds (refused with CONFLICT once it moved on).
    async fn ingest(
        &self,
        tenant: &TenantId,
        account: AccountId,
        changes: Vec<Change>,
        fence: Option<&crate::domain::lease::Fence>,
    ) -> Result<(), crate::domain::Error>;

    /// fill_gap stores what Telegram's updates skipped when it answered
    /// that the difference was too long (after long downtime): every chat
    /// whose newest message is beyond the stored one gets the messages in
    /// between from history, and its list state (unread count, read marks)
    /// from the chat list.
    async fn fill_gap(
        &self,
        tenant: &TenantId,
        account: AccountId,
    ) -> Result<(), crate::domain::Error>;
}

/// Enqueued is the row a SendMessage wrote, or the one its request id
/// already had (`created` false).
#[derive(Debug, Clone)]
pub struct Enqueued {
    pub item: crate::domain::outbox::OutboxItem,
    pub created: bool,
}

/// FLOOD_WAIT is the last error of outbox rows a FLOOD_WAIT paused.
pub const FLOOD_WAIT: &str = "FLOOD_WAIT";

/// OutboxStore keeps the send queue. The dispatcher is the only writer of
/// a row after it is enqueued, and it sends an account's rows one at a time.
#[async_trait]
pub trait OutboxStore: Send + Sync + 'static {
    /// enqueue writes a new row, or returns the tenant's row with the same
    /// request id (nothing written).
    async fn enqueue(
        &self,
        item: &crate::domain::outbox::OutboxItem,
    ) -> Result<Enqueued, StoreError>;

    /// request_item is the tenant's row written for `request_id`, if any.
    async fn request_item(
        &self,
        tenant: &TenantId,
        request_id: &str,
    ) -> Result<Option<crate::domain::outbox::OutboxItem>, StoreError>;

    /// outbox_item reads one row of the tenant.
    async fn outbox_item(
        &self,
        tenant: &TenantId,
        id: &str,
    ) -> Result<crate::domain::outbox::OutboxItem, StoreError>;

    /// due lists pending rows whose next attempt is due, oldest first, of
    /// authorized accounts only — with an `owner`, only of the accounts it
    /// holds the lease of, each row carrying that lease (its outcome is
    /// recorded only while the lease holds).
    async fn due(
        &self,
        now: DateTime<Utc>,
        limit: u32,
        owner: Option<&crate::domain::lease::InstanceId>,
    ) -> Result<Vec<crate::domain::outbox::OutboxItem>, StoreError>;

    /// mark_sent records the send: the row becomes SENT with the messages'
    /// ids, and the messages are stored (with the row's request id), in one
    /// transaction. A row read under a lease (`item.fence`) is recorded
    /// only while that lease holds (`Conflict` otherwise), as are
    /// `mark_scheduled` and `mark_failed`.
    async fn mark_sent(
        &self,
        item: &crate::domain::outbox::OutboxItem,
        messages: &[Message],
    ) -> Result<(), StoreError>;

    /// mark_scheduled records that Telegram holds the row's message until
    /// its schedule, under `scheduled_id` in the chat's schedule.
    async fn mark_scheduled(
        &self,
        item: &crate::domain::outbox::OutboxItem,
        scheduled_id: i64,
    ) -> Result<(), StoreError>;

    /// mark_failed ends the row FAILED with a reason, announcing it
    /// (MessageSendFailed) in the same transaction; a row already ended
    /// is left as it is.
    async fn mark_failed(
        &self,
        item: &crate::domain::outbox::OutboxItem,
        reason: &str,
    ) -> Result<(), StoreError>;

    /// save_file_upload records how far a pending media send's file has
    /// gone to Telegram.
    async fn save_file_upload(
        &self,
        id: &str,
        upload: &crate::domain::outbox::FileUpload,
    ) -> Result<(), StoreError>;

    /// retry_later counts a failed attempt and moves the row's next attempt.
    async fn retry_later(&self, id: &str, at: DateTime<Utc>, error: &str)
    -> Result<(), StoreError>;

    /// pause_account moves every pending row of the account to `until` at
    /// the earliest (a FLOOD_WAIT pauses the whole queue), their last error
    /// becoming [`FLOOD_WAIT`].
    async fn pause_account(
        &self,
        account: AccountId,
        until: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// pending_count is how many rows wait to be sent (a metric).
    async fn pending_count(&self) -> Result<u64, StoreError>;
}

/// TelegramSender sends for an account, with the caller's random_id.
#[async_trait]
pub trait TelegramSender: Send + Sync + 'static {
    async fn send_text(
        &self,
        account: AccountId,
        chat: &ChatProfile,
        random_id: i64,
        text: &crate::domain::outbox::OutgoingText,
    ) -> Result<crate::domain::outbox::Sent, crate::domain::outbox::SendError>;

    /// forward forwards messages of `from` to `to`, each with its
    /// random_id; returns the new messages, in the order sent.
    async fn forward(
        &self,
        account: AccountId,
        from: &ChatProfile,
        to: &ChatProfile,
        message_ids: &[i64],
        random_ids: &[i64],
    ) -> Result<Vec<Message>, crate::domain::outbox::SendError>;

    /// save_file_part hands Telegram one part of a file to send later.
    async fn save_file_part(
        &self,
        account: AccountId,
        part: &crate::domain::outbox::FilePart,
    ) -> Result<(), crate::domain::outbox::SendError>;

    /// send_media sends a file whose parts Telegram has, as `media.kind`,
    /// with its caption.
    async fn send_media(
        &self,
        account: AccountId,
        chat: &ChatProfile,
        random_id: i64,
        media: &crate::domain::outbox::OutgoingMedia,
        file: &crate::domain::outbox::UploadedFile,
    ) -> Result<crate::domain::outbox::Sent, crate::domain::outbox::SendError>;
}

/// MediaStore keeps uploads and the media they become (see
/// `storage::media` for who may write what).
#[async_trait]
pub trait MediaStore: Send + Sync + 'static {
    /// create_upload stores `upload`, or returns the upload its request id
    /// made earlier (for the same tenant and account).
    async fn create_upload(&self, upload: &Upload) -> Result<Upload, StoreError>;
    async fn upload(&self, tenant: &TenantId, id: UploadId) -> Result<Option<Upload>, StoreError>;
    /// advance_upload moves an uploading upload's received bytes from
    /// `from` to `to`; `Conflict` when they are not `from` any more or the
    /// upload is no longer uploading.
    async fn advance_upload(
        &self,
        tenant: &TenantId,
        id: UploadId,
        from: i64,
        to: i64,
    ) -> Result<(), StoreError>;
    /// fail_upload marks an uploading upload FAILED; `Conflict` otherwise.
    async fn fail_upload(&self, tenant: &TenantId, id: UploadId) -> Result<(), StoreError>;
    /// complete_upload marks an uploading upload COMPLETED and stores the
    /// media it made, in one transaction; `Conflict` (and no media) when
    /// it is not uploading any more.
    async fn complete_upload(
        &self,
        tenant: &TenantId,
        id: UploadId,
        media: &Media,
    ) -> Result<(), StoreError>;
    async fn media(&self, tenant: &TenantId, id: &str) -> Result<Option<Media>, StoreError>;
    /// expired_uploads lists unfinished uploads that expired before
    /// `before`, of every tenant, oldest first.
    async fn expired_uploads(
        &self,
        before: DateTime<Utc>,
        limit: u64,
    ) -> Result<Vec<Upload>, StoreError>;
    /// delete_upload deletes an upload unless it completed meanwhile.
    async fn delete_upload(&self, upload: &Upload) -> Result<(), StoreError>;
    /// add_media stores media, or keeps the row already stored under its
    /// id (a racing writer's); returns what is stored.
    async fn add_media(&self, media: &Media) -> Result<Media, StoreError>;
}

/// TelegramFiles reads the files of messages from Telegram.
#[async_trait]
pub trait TelegramFiles: Send + Sync + 'static {
    /// message_file is where Telegram serves a message's file now;
    /// `None` when the message is gone or has no file.
    async fn message_file(
        &self,
        account: AccountId,
        chat: &ChatProfile,
        message_id: i64,
    ) -> Result<Option<RemoteFile>, crate::domain::Error>;
    /// file_chunk is chunk `index` (512 KiB, the last shorter) of a file;
    /// FAILED_PRECONDITION FILE_REFERENCE_EXPIRED when the location must
    /// be fetched again.
    async fn file_chunk(
        &self,
        account: AccountId,
        file: &RemoteFile,
        index: i64,
    ) -> Result<Bytes, crate::domain::Error>;
}

/// BlobStore keeps files' bytes: whole objects, one per chunk
/// (`domain::media::chunk_path`). Failures are `StoreError::Unavailable`.
#[async_trait]
pub trait BlobStore: Send + Sync + 'static {
    /// put writes an object whole, replacing one at the same path.
    async fn put(&self, path: &str, bytes: Bytes) -> Result<(), StoreError>;
    /// get reads an object; `None` when there is none.
    async fn get(&self, path: &str) -> Result<Option<Bytes>, StoreError>;
    /// delete_prefix deletes every object under `prefix`; how many.
    async fn delete_prefix(&self, prefix: &str) -> Result<u64, StoreError>;
}
