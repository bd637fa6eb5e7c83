//! Accounts: reading them, and their login life cycle — StartLogin (phone
//! or bot token), SubmitCode, SubmitPassword, QR login, LogOut,
//! DeleteAccount, and the account's Telegram devices.
//!
//! Every state change goes through [`Accounts::transition`], which asks the
//! domain's state machine ([`AccountState::after`]) and writes the row by
//! compare-and-set on the state it read, with its event in the same
//! transaction: a writer that raced it (a log-out against a revocation, two
//! login steps) is refused instead of overwriting. Then the cached copy is
//! retired and the account's supervision started or stopped.
//!
//! Who changes an account, and how racing writers are kept apart:
//! - login steps and log-out/delete hold the account's login lock (one step
//!   at a time per account in this process) and write by compare-and-set;
//! - revocations take no lock (they arrive from inside the supervisor,
//!   which `release` waits for) and apply only to the session epoch they
//!   were learnt on, by compare-and-set;
//! - one account per (tenant, Telegram user) and per (tenant, phone) is held
//!   by unique indexes: a login that turns out to be an existing account's
//!   user re-authorizes that account or answers ALREADY_EXISTS with its id.

use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use serde::{Deserialize, Serialize};
use tokio::sync::{OwnedMutexGuard, OwnedSemaphorePermit, Semaphore};

use crate::crypto::Sealer;
use crate::domain::account::Transition;
use crate::domain::event::{EventPayload, NewEvent};
use crate::domain::login::{
    BotToken, CodeSent, LoginCode, Password, PhoneNumber, QrLogin, RequestId, SignIn,
    TelegramDevice, TelegramUser,
};
use crate::domain::media::account_prefix;
use crate::domain::ports::{
    AccountPage, AccountStore, BlobStore, Cache, Expect, QrLoginFlow, Sealed, StoreError,
    Supervision, TelegramAccounts,
};
use crate::domain::{
    Account, AccountId, AccountKind, AccountState, Caller, Error, Scope, TenantId,
};

use super::cached::Generations;
use super::locks::KeyedLocks;
use super::{Audit, require};
use crate::domain::audit::{AuditAction, NewAuditEntry};

/// ACCOUNT_TTL bounds how long a cached account may be served; writes
/// invalidate it sooner.
const ACCOUNT_TTL: Duration = Duration::from_secs(300);

/// Credential is what an account logs in with.
#[derive(Debug, Clone)]
pub enum Credential {
    Phone(PhoneNumber),
    Bot(BotToken),
}

/// AccountLimits are the per-tenant caps on logins.
#[derive(Debug, Clone, Copy)]
pub struct AccountLimits {
    /// StartLogin / StartQrLogin calls per tenant per minute.
    pub login_starts_per_minute: u32,
    /// StartQrLogin streams open at once per tenant.
    pub concurrent_qr_logins: u32,
    /// Accounts a tenant may have (in any state).
    pub accounts_per_tenant: u32,
    /// How long a login step waits for another step of the same account.
    pub step_timeout: Duration,
}

impl Default for AccountLimits {
    fn default() -> Self {
        Self {
            login_starts_per_minute: 30,
            concurrent_qr_logins: 5,
            accounts_per_tenant: 1000,
            step_timeout: Duration::from_secs(60),
        }
    }
}

/// LoginState is what a login in progress must remember between calls;
/// sealed at rest (the code hash lets whoever holds it finish the login).
#[derive(Serialize, Deserialize)]
struct LoginState {
    phone: String,
    phone_code_hash: String,
}

#[derive(Clone)]
pub struct Accounts {
    store: Arc<dyn AccountStore>,
    generations: Generations,
    telegram: Arc<dyn TelegramAccounts>,
    supervision: Arc<dyn Supervision>,
    sealer: Sealer,
    /// Where a deleted account's files are erased.
    blobs: Arc<dyn BlobStore>,
    limits: AccountLimits,
    audit: Audit,
    login_locks: Arc<KeyedLocks<AccountId>>,
    /// Serializes account creation per tenant, so concurrent logins cannot
    /// both pass the accounts cap.
    creation_locks: Arc<KeyedLocks<TenantId>>,
    login_rate: Arc<DefaultKeyedRateLimiter<TenantId>>,
    qr_slots: Arc<Mutex<std::collections::HashMap<TenantId, Arc<Semaphore>>>>,
}

/// cached_account reads an account through the cache that every account
/// write retires (see [`Accounts::invalidate`]): what GetAccount serves,
/// and what every other service checks an account against.
pub(crate) async fn cached_account(
    generations: &Generations,
    store: &dyn AccountStore,
    tenant: &TenantId,
    id: AccountId,
) -> Result<Account, Error> {
    generations
        .read_through(
            &generation_key(tenant, id),
            &cache_key(tenant, id),
            ACCOUNT_TTL,
            async { Ok(store.get_account(tenant, id).await?) },
        )
        .await
}

fn generation_key(tenant: &TenantId, id: AccountId) -> String {
    format!("account-gen:{tenant}:{id}")
}

fn cache_key(tenant: &TenantId, id: AccountId) -> String {
    format!("account:{tenant}:{id}")
}

fn login_aad(id: AccountId) -> Vec<u8> {
    format!("accounts.login_state:{id}").into_bytes()
}

/// new_account is an account about to log in (no Telegram user yet).
fn new_account(tenant: &TenantId, kind: AccountKind, phone: Option<String>) -> Account {
    let now = Utc::now();
    Account {
        id: AccountId::new(),
        tenant: tenant.clone(),
        kind,
        state: AccountState::LoginCodeRequired,
        phone_number: phone,
        telegram_user_id: None,
        username: None,
        display_name: String::new(),
        password_hint: None,
        created_at: now,
        updated_at: now,
    }
}

fn not_in_state(account: &Account, what: &str) -> Error {
    Error::FailedPrecondition {
        reason: "FAILED_PRECONDITION",
        message: format!(
            "the account is {}, not waiting for {what}",
            account.state.as_str()
        ),
    }
}

/// fill records the signed-in Telegram user on the account.
fn fill(account: &mut Account, user: &TelegramUser) {
    let TelegramUser {
        user_id,
        bot,
        phone,
        username,
        display_name,
    } = user;
    account.telegram_user_id = Some(*user_id);
    account.kind = if *bot {
        AccountKind::Bot
    } else {
        AccountKind::User
    };
    if account.phone_number.is_none() {
        account.phone_number = phone.clone();
    }
    account.username = username.clone();
    account.display_name = display_name.clone();
}

/// QrStep is what a QR login stream shows next.
#[derive(Debug)]
pub enum QrStep {
    /// A code to show until `expires`.
    Code {
        url: String,
        expires: chrono::DateTime<Utc>,
    },
    /// The login ended: the account (AUTHORIZED, or PASSWORD_REQUIRED).
    Done(Account),
}

/// QrLoginRun is one StartQrLogin stream's login. It holds the account's
/// login lock and one of the tenant's QR slots while it lives; `end`
/// removes an account whose login never completed.
pub struct QrLoginRun {
    accounts: Accounts,
    /// Who started the login (the audit log names them when it completes).
    caller: Caller,
    account: Account,
    flow: Option<Box<dyn QrLoginFlow>>,
    done: Option<Account>,
    completed: bool,
    _lock: OwnedMutexGuard<()>,
    _slot: OwnedSemaphorePermit,
}

impl QrLoginRun {
    pub fn account_id(&self) -> AccountId {
        self.account.id
    }

    /// next waits for the next code, or the login's outcome.
    pub async fn next(&mut self) -> Result<QrStep, Error> {
        if let Some(account) = self.done.take() {
            self.completed = true;
            return Ok(QrStep::Done(account));
        }
        let flow = self
            .flow
            .as_mut()
            .ok_or_else(|| Error::FailedPrecondition {
                reason: "FAILED_PRECONDITION",
                message: "the qr login already ended".into(),
            })?;
        let signed_in = match flow.next().await? {
            QrLogin::Token { url, expires } => return Ok(QrStep::Code { url, expires }),
            QrLogin::SignIn(signed_in) => signed_in,
        };
        self.completed = true;
        let account = self
            .accounts
            .store
            .get_account(&self.account.tenant, self.account.id)
            .await?;
        let account = match signed_in {
            SignIn::SignedIn(user) => self.accounts.authorized(account, user).await?,
            SignIn::PasswordRequired { hint } => {
                self.accounts.password_required(account, hint).await?
            }
        };
        self.accounts
            .audit_login(&self.caller, &account, "qr")
            .await;
        Ok(QrStep::Done(account))
    }

    /// end closes the login's connection and, unless it completed, removes
    /// the half-made account.
    pub async fn end(mut self) {
        if let Some(mut flow) = self.flow.take() {
            flow.close().await;
        }
        if self.completed {
            return;
        }
        match self
            .accounts
            .store
            .get_account(&self.account.tenant, self.account.id)
            .await
        {
            Ok(account)
                if account.state == AccountState::LoginCodeRequired
                    && account.telegram_user_id.is_none() =>
            {
                self.accounts.erase(&account).await;
            }
            _ => {}
        }
    }
}

impl Accounts {
    #[expect(
        clippy::too_many_arguments,
        reason = "each is a port or handle the life cycle writes through; a struct of them would only rename this list"
    )]
    pub fn new(
        store: Arc<dyn AccountStore>,
        cache: Arc<dyn Cache>,
        telegram: Arc<dyn TelegramAccounts>,
        supervision: Arc<dyn Supervision>,
        sealer: Sealer,
        blobs: Arc<dyn BlobStore>,
        limits: AccountLimits,
        audit: Audit,
    ) -> Self {
        let per_minute =
            NonZeroU32::new(limits.login_starts_per_minute.max(1)).expect("max(1) is non-zero");
        Self {
            store,
            generations: Generations::new(cache),
            telegram,
            supervision,
            sealer,
            blobs,
            limits,
            audit,
            login_locks: Arc::new(KeyedLocks::default()),
            creation_locks: Arc::new(KeyedLocks::default()),
            login_rate: Arc::new(RateLimiter::keyed(Quota::per_minute(per_minute))),
            qr_slots: Arc::default(),
        }
    }

    /// get reads through the cache (see [`Generations`]).
    pub async fn get(&self, caller: &Caller, id: AccountId) -> Result<Account, Error> {
        require(caller, Scope::AccountsRead)?;
        cached_account(&self.generations, &*self.store, &caller.tenant, id).await
    }

    pub async fn list(
        &self,
        caller: &Caller,
        after: Option<AccountId>,
        limit: u32,
    ) -> Result<AccountPage, Error> {
        require(caller, Scope::AccountsRead)?;
        Ok(self
            .store
            .list_accounts(&caller.tenant, after, limit)
            .await?)
    }

    /// invalidate retires the cached copy of an account after a write.
    async fn invalidate(&self, tenant: &TenantId, id: AccountId) {
        self.generations
            .invalidate(&generation_key(tenant, id), ACCOUNT_TTL)
            .await;
    }

    /// step_lock takes the account's login lock: one login step (or
    /// log-out, delete) of an account at a time in this process.
    async fn step_lock(&self, id: AccountId) -> Result<OwnedMutexGuard<()>, Error> {
        self.login_locks
            .lock(&id, self.limits.step_timeout)
            .await
            .ok_or(Error::Store(StoreError::Conflict {
                resource: "account",
            }))
    }

    /// transition applies `transition` to `account` (as read, with any new
    /// field values set by the caller): row by compare-and-set on the state
    /// read (and on the session epoch, for revocations), cache, supervision,
    /// event. Impossible transitions are refused with FAILED_PRECONDITION.
    async fn transition(
        &self,
        mut account: Account,
        transition: Transition,
        session_epoch: Option<i64>,
    ) -> Result<Account, Error> {
        let from = account.state;
        let to = from
            .after(transition)
            .ok_or_else(|| not_in_state(&account, transition.name()))?;
        account.state = to;
        account.updated_at = Utc::now();
        if to != AccountState::PasswordRequired {
            account.password_hint = None;
        }
        // The event is appended in the row's transaction: a subscriber
        // sees every state the row took, and no state it did not.
        let event = (from != to).then(|| NewEvent {
            tenant: account.tenant.clone(),
            account: Some(account.id),
            payload: EventPayload::AccountStateChanged {
                state: to,
                previous_state: Some(from),
                reason: transition.name().to_owned(),
                account: Some(Box::new(account.clone())),
            },
        });
        self.store
            .update_account(
                &account,
                Expect {
                    state: from,
                    session_epoch,
                },
                event.as_slice(),
            )
            .await?;
        self.invalidate(&account.tenant, account.id).await;
        if to == AccountState::Authorized {
            self.supervision.supervise(&account.tenant, account.id);
        } else {
            self.supervision.release(account.id).await;
        }
        tracing::info!(account_id = %account.id, from = from.as_str(), to = to.as_str(), transition = transition.name(), "account state");
        Ok(account)
    }

    /// erase removes an account's row (and by cascade what belongs to it),
    /// stops its supervision and retires its cached copy. Every delete goes
    /// through here, so none can leave a cached copy behind.
    async fn erase(&self, account: &Account) {
        self.supervision.release(account.id).await;
        if let Err(err) = self.store.delete_account(&account.tenant, account.id).await {
            tracing::warn!(account_id = %account.id, error = %err, "removing an account failed");
        }
        self.invalidate(&account.tenant, account.id).await;
    }

    async fn save_login(&self, id: AccountId, state: &LoginState) -> Result<(), Error> {
        let plain =
            zeroize::Zeroizing::new(serde_json::to_vec(state).expect("login state serializes"));
        let sealed = Sealed {
            sealed: self.sealer.seal(&plain, &login_aad(id)),
            key_id: self.sealer.active_key_id().to_owned(),
        };
        Ok(self.store.save_login_state(id, Some(&sealed)).await?)
    }

    async fn load_login(&self, id: AccountId) -> Result<LoginState, Error> {
        let missing = || Error::FailedPrecondition {
            reason: "FAILED_PRECONDITION",
            message: "no login is in progress for this account; call StartLogin".into(),
        };
        let sealed = self.store.load_login_state(id).await?.ok_or_else(missing)?;
        let plain = zeroize::Zeroizing::new(
            self.sealer
                .open(&sealed.sealed, &login_aad(id))
                .map_err(|err| Error::Internal(format!("login state does not open: {err}")))?,
        );
        serde_json::from_slice(&plain).map_err(|err| Error::Internal(format!("login state: {err}")))
    }

    /// check_login_rate counts a login start against the tenant's cap.
    fn check_login_rate(&self, tenant: &TenantId) -> Result<(), Error> {
        self.login_rate
            .check_key(tenant)
            .map_err(|not_until| Error::RateLimited {
                retry_after: not_until.wait_time_from(DefaultClock::default().now()),
            })
    }

    /// create_for_login stores a new account for a login, within the
    /// tenant's cap; `Ok(None)` when a concurrent login took its phone
    /// number or request id first (look the account up again).
    async fn create_for_login(
        &self,
        tenant: &TenantId,
        fresh: Account,
        request_id: Option<&RequestId>,
    ) -> Result<Option<Account>, Error> {
        let _creating = self
            .creation_locks
            .lock(tenant, self.limits.step_timeout)
            .await
            .ok_or_else(|| Error::Unavailable("too many logins are starting at once".into()))?;
        let count = self.store.count_accounts(tenant).await?;
        if count >= u64::from(self.limits.accounts_per_tenant) {
            return Err(Error::QuotaExceeded {
                quota: "accounts_per_tenant",
                limit: self.limits.accounts_per_tenant,
            });
        }
        match self
            .store
            .create_account(&fresh, request_id.map(RequestId::as_str))
            .await
        {
            Ok(account) => Ok(Some(account)),
            Err(StoreError::AlreadyExists { .. }) => Ok(None),
            Err(err) => Err(err.into()),
        }
    }

    /// existing_for is the tenant's account a credential belongs to, as far
    /// as it can be told before logging in: by phone, or by the bot id in
    /// a bot token.
    async fn existing_for(
        &self,
        tenant: &TenantId,
        credential: &Credential,
    ) -> Result<Option<Account>, Error> {
        Ok(match credential {
            Credential::Phone(phone) => {
                self.store
                    .find_account_by_phone(tenant, phone.as_str())
                    .await?
            }
            Credential::Bot(token) => match token.bot_id() {
                Some(bot_id) => {
                    self.store
                        .find_account_by_telegram_user(tenant, bot_id)
                        .await?
                }
                None => None,
            },
        })
    }

    /// by_request_id is the account a request id created or last logged in.
    async fn by_request_id(
        &self,
        tenant: &TenantId,
        request_id: Option<&RequestId>,
    ) -> Result<Option<Account>, Error> {
        match request_id {
            Some(id) => Ok(self
                .store
                .find_account_by_request_id(tenant, id.as_str())
                .await?),
            None => Ok(None),
        }
    }

    /// start_login connects an account: with a phone number Telegram sends a
    /// code (LOGIN_CODE_REQUIRED); with a bot token the bot is logged in
    /// (AUTHORIZED). A request_id is looked up first, so a retry returns the
    /// first call's account and never sends a second code. The tenant's
    /// account of the same phone or bot is logged in again when it is not
    /// authorized; an authorized one answers ALREADY_EXISTS with its id.
    /// When Telegram refuses, a newly created account is removed again.
    pub async fn start_login(
        &self,
        caller: &Caller,
        credential: Credential,
        request_id: Option<RequestId>,
    ) -> Result<Account, Error> {
        require(caller, Scope::AccountsWrite)?;
        let tenant = &caller.tenant;
        if let Some(account) = self.by_request_id(tenant, request_id.as_ref()).await? {
            return Ok(account);
        }
        self.check_login_rate(tenant)?;
        let (kind, phone) = match &credential {
            Credential::Phone(phone) => (AccountKind::User, Some(phone.as_str().to_owned())),
            Credential::Bot(_) => (AccountKind::Bot, None),
        };
        // Twice at most: a concurrent login may create the account between
        // our lookup and our insert, and the second lookup finds it.
        let mut found = None;
        for _ in 0..2 {
            if let Some(existing) = self.existing_for(tenant, &credential).await? {
                found = Some((existing, None));
                break;
            }
            let fresh = new_account(tenant, kind, phone.clone());
            // Locked before its row exists: a concurrent login that finds the
            // new account waits until this one has given it a session.
            let birth_lock = self.step_lock(fresh.id).await?;
            if let Some(created) = self
                .create_for_login(tenant, fresh, request_id.as_ref())
                .await?
            {
                found = Some((created, Some(birth_lock)));
                break;
            }
            if let Some(account) = self.by_request_id(tenant, request_id.as_ref()).await? {
                return Ok(account);
            }
        }
        let Some((account, birth_lock)) = found else {
            return Err(Error::Store(StoreError::Conflict {
                resource: "account",
            }));
        };
        if account.state == AccountState::Authorized {
            return Err(Error::AccountExists {
                account_id: account.id,
            });
        }
        let created = birth_lock.is_some();
        let _lock = match birth_lock {
            Some(lock) => lock,
            None => self.step_lock(account.id).await?,
        };
        // Under the lock, look again: the same request, or another login of
        // this account, may have finished while we waited.
        if let Some(done) = self.by_request_id(tenant, request_id.as_ref()).await?
            && !created
        {
            return Ok(done);
        }
        let account = self.store.get_account(tenant, account.id).await?;
        if account.state == AccountState::Authorized {
            return Err(Error::AccountExists {
                account_id: account.id,
            });
        }
        // A login in progress keeps its session (a re-sent code, as
        // Telegram's apps do); a new, revoked or logged-out account gets a fresh one.
        let fresh_session = created
            || !matches!(
                account.state,
                AccountState::LoginCodeRequired | AccountState::PasswordRequired
            );
        let method = match &credential {
            Credential::Phone(_) => "phone",
            Credential::Bot(_) => "bot",
        };
        let result = self.begin(account.clone(), credential, fresh_session).await;
        if let Ok(done) = &result {
            self.audit_login(caller, done, method).await;
        }
        match (&result, &request_id) {
            (Err(_), _) if created => self.erase(&account).await,
            (Ok(done), Some(request_id)) if !created => {
                // Retries of this request now find the account first.
                if let Err(err) = self
                    .store
                    .set_request_id(tenant, done.id, request_id.as_str())
                    .await
                {
                    tracing::warn!(account_id = %done.id, error = %err, "recording the request id failed");
                }
            }
            _ => {}
        }
        result
    }

    async fn begin(
        &self,
        account: Account,
        credential: Credential,
        fresh_session: bool,
    ) -> Result<Account, Error> {
        if fresh_session {
            self.telegram.prepare(&account.tenant, account.id).await?;
        }
        match credential {
            Credential::Phone(phone) => {
                match self.telegram.send_code(account.id, phone.as_str()).await? {
                    CodeSent::Code { phone_code_hash } => {
                        let state = LoginState {
                            phone: phone.as_str().to_owned(),
                            phone_code_hash,
                        };
                        self.save_login(account.id, &state).await?;
                        self.transition(account, Transition::CodeSent, None).await
                    }
                    CodeSent::SignedIn(user) => self.authorized(account, user).await,
                }
            }
            Credential::Bot(token) => {
                let user = self
                    .telegram
                    .bot_sign_in(account.id, token.expose())
                    .await?;
                self.authorized(account, user).await
            }
        }
    }

    /// twin_of is another account of the tenant for the same Telegram user
    /// (by user id, else by phone number), if any.
    async fn twin_of(
        &self,
        account: &Account,
        user: &TelegramUser,
    ) -> Result<Option<Account>, Error> {
        let tenant = &account.tenant;
        if let Some(twin) = self
            .store
            .find_account_by_telegram_user(tenant, user.user_id)
            .await?
            .filter(|twin| twin.id != account.id)
        {
            return Ok(Some(twin));
        }
        let Some(phone) = user.phone.as_deref() else {
            return Ok(None);
        };
        Ok(self
            .store
            .find_account_by_phone(tenant, phone)
            .await?
            .filter(|twin| twin.id != account.id))
    }

    /// authorized completes a login of `user` on `account` — or, when the
    /// user already has an account in the tenant, re-authorizes that one
    /// with this login's session (it was not authorized) or ends this login
    /// and answers ALREADY_EXISTS (it was).
    async fn authorized(&self, account: Account, user: TelegramUser) -> Result<Account, Error> {
        if let Some(other) = account.telegram_user_id.filter(|id| *id != user.user_id) {
            self.end_session(account.id).await;
            return Err(Error::FailedPrecondition {
                reason: "FAILED_PRECONDITION",
                message: format!(
                    "this account is telegram user {other}, but the login was of user {}; delete the account to connect that user",
                    user.user_id
                ),
            });
        }
        // Twice at most: a concurrent login of the same user can take the
        // unique (tenant, user) first; the second look finds its account.
        for _ in 0..2 {
            match self.twin_of(&account, &user).await? {
                None => {
                    let mut signed_in = account.clone();
                    fill(&mut signed_in, &user);
                    self.store.save_login_state(account.id, None).await?;
                    match self.transition(signed_in, Transition::LoggedIn, None).await {
                        Err(Error::Store(StoreError::AlreadyExists { .. })) => continue,
                        other => return other,
                    }
                }
                Some(twin) if twin.state == AccountState::Authorized => {
                    return Err(self.duplicate_login(account, twin).await);
                }
                Some(twin) => return self.reauthorize_twin(account, twin, user).await,
            }
        }
        Err(Error::Store(StoreError::Conflict {
            resource: "account",
        }))
    }

    /// end_session logs a session out at Telegram, best effort (a login we
    /// will not keep must not linger among the user's devices).
    async fn end_session(&self, id: AccountId) {
        if let Err(err) = self.telegram.log_out(id).await {
            tracing::warn!(account_id = %id, error = %err, "ending an unwanted telegram session failed");
        }
    }

    /// duplicate_login ends a login of a user already connected as `twin`.
    async fn duplicate_login(&self, account: Account, twin: Account) -> Error {
        tracing::info!(account_id = %account.id, existing = %twin.id, "login of an already connected telegram user");
        self.end_session(account.id).await;
        if account.telegram_user_id.is_none() {
            self.erase(&account).await;
        }
        Error::AccountExists {
            account_id: twin.id,
        }
    }

    /// reauthorize_twin moves this login's session to the user's existing,
    /// not authorized account, and removes the login's own account.
    async fn reauthorize_twin(
        &self,
        account: Account,
        twin: Account,
        user: TelegramUser,
    ) -> Result<Account, Error> {
        let _twin_lock = self.step_lock(twin.id).await?;
        let twin = self.store.get_account(&twin.tenant, twin.id).await?;
        if twin.state == AccountState::Authorized {
            return Err(self.duplicate_login(account, twin).await);
        }
        tracing::info!(account_id = %twin.id, login = %account.id, "login re-authorizes the user's existing account");
        self.telegram.adopt_session(account.id, twin.id).await?;
        if account.telegram_user_id.is_none() {
            self.erase(&account).await;
        }
        self.store.save_login_state(twin.id, None).await?;
        let mut signed_in = twin;
        fill(&mut signed_in, &user);
        self.transition(signed_in, Transition::LoggedIn, None).await
    }

    /// submit_code finishes a phone login, or asks for the 2FA password.
    pub async fn submit_code(
        &self,
        caller: &Caller,
        id: AccountId,
        code: LoginCode,
    ) -> Result<Account, Error> {
        require(caller, Scope::AccountsWrite)?;
        let _lock = self.step_lock(id).await?;
        let account = self
            .waiting_for(caller, id, AccountState::LoginCodeRequired, "a login code")
            .await?;
        let login = self.load_login(id).await?;
        match self
            .telegram
            .sign_in(id, &login.phone, &login.phone_code_hash, code.expose())
            .await?
        {
            SignIn::SignedIn(user) => {
                let account = self.authorized(account, user).await?;
                self.audit_login(caller, &account, "code").await;
                Ok(account)
            }
            SignIn::PasswordRequired { hint } => self.password_required(account, hint).await,
        }
    }

    /// audit_login records a login step's outcome: an account that is
    /// AUTHORIZED now logged in; one that waits for its code started a
    /// login; a step that asks for the password records nothing yet.
    async fn audit_login(&self, caller: &Caller, account: &Account, method: &str) {
        let action = match account.state {
            AccountState::Authorized => AuditAction::LoggedIn,
            AccountState::LoginCodeRequired => AuditAction::LoginStarted,
            _ => return,
        };
        self.audit
            .record(
                NewAuditEntry::by(caller, action)
                    .account(account.id)
                    .detail("method", method),
            )
            .await;
    }

    /// password_required records that the login waits for the 2FA password.
    async fn password_required(
        &self,
        mut account: Account,
        hint: Option<String>,
    ) -> Result<Account, Error> {
        account.password_hint = hint;
        self.transition(account, Transition::PasswordRequired, None)
            .await
    }

    /// waiting_for loads an account that must be in `state` (a login step).
    async fn waiting_for(
        &self,
        caller: &Caller,
        id: AccountId,
        state: AccountState,
        what: &str,
    ) -> Result<Account, Error> {
        let account = self.store.get_account(&caller.tenant, id).await?;
        if account.state != state {
            return Err(not_in_state(&account, what));
        }
        Ok(account)
    }

    /// submit_password finishes a login that needs the 2FA password.
    pub async fn submit_password(
        &self,
        caller: &Caller,
        id: AccountId,
        password: Password,
    ) -> Result<Account, Error> {
        require(caller, Scope::AccountsWrite)?;
        let _lock = self.step_lock(id).await?;
        let account = self
            .waiting_for(caller, id, AccountState::PasswordRequired, "a password")
            .await?;
        let user = self.telegram.check_password(id, password.expose()).await?;
        let account = self.authorized(account, user).await?;
        self.audit_login(caller, &account, "password").await;
        Ok(account)
    }

    /// qr_slot takes one of the tenant's concurrent QR login slots.
    fn qr_slot(&self, tenant: &TenantId) -> Result<OwnedSemaphorePermit, Error> {
        let limit = self.limits.concurrent_qr_logins;
        let semaphore = {
            let mut slots = self.qr_slots.lock().expect("qr slots lock");
            slots.retain(|_, s| s.available_permits() < limit as usize || Arc::strong_count(s) > 1);
            slots
                .entry(tenant.clone())
                .or_insert_with(|| Arc::new(Semaphore::new(limit as usize)))
                .clone()
        };
        semaphore
            .try_acquire_owned()
            .map_err(|_| Error::QuotaExceeded {
                quota: "concurrent_qr_logins",
                limit,
            })
    }

    /// start_qr_login starts a QR login: a new account (or, for a retried
    /// request_id, the one it made) with a login flow on one connection.
    pub async fn start_qr_login(
        &self,
        caller: &Caller,
        request_id: Option<RequestId>,
    ) -> Result<QrLoginRun, Error> {
        require(caller, Scope::AccountsWrite)?;
        let tenant = &caller.tenant;
        let slot = self.qr_slot(tenant)?;
        if let Some(account) = self.by_request_id(tenant, request_id.as_ref()).await? {
            let lock = self.login_locks.try_lock(&account.id).ok_or_else(|| {
                Error::FailedPrecondition {
                    reason: "FAILED_PRECONDITION",
                    message: "a qr login with this request_id is streaming already".into(),
                }
            })?;
            if account.state != AccountState::LoginCodeRequired {
                // It completed: the retry gets its outcome.
                return Ok(QrLoginRun {
                    accounts: self.clone(),
                    caller: caller.clone(),
                    account: account.clone(),
                    flow: None,
                    done: Some(account),
                    completed: true,
                    _lock: lock,
                    _slot: slot,
                });
            }
            // An earlier stream ended without cleaning up (a crash): start over on it.
            return self.run_qr(caller, account, lock, slot, true).await;
        }
        self.check_login_rate(tenant)?;
        let fresh = new_account(tenant, AccountKind::User, None);
        // Locked before its row exists, so a retry that finds it by its
        // request_id waits for (or is refused by) this stream.
        let lock = self.step_lock(fresh.id).await?;
        let Some(account) = self
            .create_for_login(tenant, fresh, request_id.as_ref())
            .await?
        else {
            return Err(Error::Store(StoreError::Conflict {
                resource: "account",
            }));
        };
        self.run_qr(caller, account, lock, slot, true).await
    }

    async fn run_qr(
        &self,
        caller: &Caller,
        account: Account,
        lock: OwnedMutexGuard<()>,
        slot: OwnedSemaphorePermit,
        fresh_session: bool,
    ) -> Result<QrLoginRun, Error> {
        let flow = async {
            if fresh_session {
                self.telegram.prepare(&account.tenant, account.id).await?;
            }
            self.telegram.qr_login(account.id).await
        };
        match flow.await {
            Ok(flow) => {
                self.audit
                    .record(
                        NewAuditEntry::by(caller, AuditAction::LoginStarted)
                            .account(account.id)
                            .detail("method", "qr"),
                    )
                    .await;
                Ok(QrLoginRun {
                    accounts: self.clone(),
                    caller: caller.clone(),
                    account,
                    flow: Some(flow),
                    done: None,
                    completed: false,
                    _lock: lock,
                    _slot: slot,
                })
            }
            Err(err) => {
                self.erase(&account).await;
                Err(err)
            }
        }
    }

    /// log_out ends the account's Telegram session and keeps its data.
    pub async fn log_out(&self, caller: &Caller, id: AccountId) -> Result<Account, Error> {
        require(caller, Scope::AccountsWrite)?;
        let _lock = self.step_lock(id).await?;
        let account = self.store.get_account(&caller.tenant, id).await?;
        if account.state == AccountState::LoggedOut {
            return Ok(account);
        }
        // The supervisor's connection closes first, so its probe cannot
        // mistake the log-out for a revocation (which would be refused anyway).
        self.supervision.release(id).await;
        if matches!(
            account.state,
            AccountState::Authorized | AccountState::PasswordRequired
        ) {
            self.telegram.log_out(id).await?;
        }
        self.store.save_login_state(id, None).await?;
        // A revocation may have landed meanwhile (REAUTH_REQUIRED): the
        // log-out still wins, from whatever state is stored now.
        let account = self.store.get_account(&caller.tenant, id).await?;
        if account.state == AccountState::LoggedOut {
            return Ok(account);
        }
        let account = self
            .transition(account, Transition::LoggedOut, None)
            .await?;
        self.audit
            .record(NewAuditEntry::by(caller, AuditAction::LoggedOut).account(id))
            .await;
        Ok(account)
    }

    /// delete_account logs out and erases everything stored for the account.
    /// If Telegram cannot be reached the account is kept (UNAVAILABLE): the
    /// session must not outlive the data that would let us end it.
    pub async fn delete_account(&self, caller: &Caller, id: AccountId) -> Result<(), Error> {
        require(caller, Scope::AccountsWrite)?;
        let _lock = self.step_lock(id).await?;
        let account = self.store.get_account(&caller.tenant, id).await?;
        self.supervision.release(id).await;
        if matches!(
            account.state,
            AccountState::Authorized | AccountState::PasswordRequired
        ) {
            match self.telegram.log_out(id).await {
                Ok(()) | Err(Error::ReauthRequired) => {}
                Err(err) => return Err(err),
            }
        }
        // Its files go first: a failure here keeps the account, so the
        // call can be retried; after the rows are gone, again, for a chunk
        // that was being written meanwhile.
        let files = account_prefix(id);
        self.blobs.delete_prefix(&files).await?;
        self.store.delete_account(&caller.tenant, id).await?;
        self.audit
            .record(NewAuditEntry::by(caller, AuditAction::AccountDeleted).account(id))
            .await;
        if let Err(err) = self.blobs.delete_prefix(&files).await {
            tracing::warn!(account_id = %id, error = %err, "erasing a deleted account's files again failed");
        }
        self.invalidate(&caller.tenant, id).await;
        tracing::info!(account_id = %id, "account deleted");
        Ok(())
    }

    async fn authorized_account(&self, caller: &Caller, id: AccountId) -> Result<Account, Error> {
        let account = self.store.get_account(&caller.tenant, id).await?;
        account.require_authorized()?;
        Ok(account)
    }

    pub async fn devices(
        &self,
        caller: &Caller,
        id: AccountId,
    ) -> Result<Vec<TelegramDevice>, Error> {
        require(caller, Scope::AccountsRead)?;
        self.authorized_account(caller, id).await?;
        // A revocation this call learns of is reported by the adapter.
        self.telegram.devices(id).await
    }

    pub async fn terminate_device(
        &self,
        caller: &Caller,
        id: AccountId,
        hash: i64,
    ) -> Result<(), Error> {
        require(caller, Scope::AccountsWrite)?;
        self.authorized_account(caller, id).await?;
        self.telegram.terminate_device(id, hash).await?;
        self.audit
            .record(
                NewAuditEntry::by(caller, AuditAction::AuthorizationTerminated)
                    .account(id)
                    .detail("authorization_hash", hash),
            )
            .await;
        Ok(())
    }

    /// revoked records that Telegram revoked the session of `epoch` of an
    /// account. It applies only while that session is the account's and the
    /// account is AUTHORIZED; anything else (a log-out or re-login won the
    /// race, a late report) is ignored.
    pub async fn revoked(&self, id: AccountId, epoch: i64, reason: &str) {
        let account = match self.store.find_account(id).await {
            Ok(Some(account)) => account,
            Ok(None) => return,
            Err(err) => {
                tracing::warn!(account_id = %id, error = %err, "revoked account not readable");
                return;
            }
        };
        match self
            .transition(account, Transition::Revoked, Some(epoch))
            .await
        {
            Ok(_) => {
                tracing::warn!(account_id = %id, reason, "session revoked, the account must log in again")
            }
            Err(Error::FailedPrecondition { .. } | Error::Store(StoreError::Conflict { .. })) => {
                tracing::info!(account_id = %id, epoch, reason, "a revocation report no longer applies");
            }
            Err(err) => {
                tracing::error!(account_id = %id, error = %err, "recording a revoked session failed");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    //! The state machine's races, replayed deterministically on a real
    //! (in-memory SQLite) store: a paused fake Telegram holds one side at
    //! the point where the other lands.
    use std::sync::Mutex;

    use async_trait::async_trait;
    use tokio::sync::Notify;

    use super::*;
    use crate::cache::{MemoryCache, MemoryCacheOptions};
    use crate::domain::PrincipalKind;
    use crate::domain::ports::{FIRST_SESSION_VERSION, SessionStore};
    use crate::storage::{Blobs, Store};

    /// FakeTelegram answers log-outs, optionally pausing inside one.
    #[derive(Default)]
    struct FakeTelegram {
        pause_log_out: Mutex<bool>,
        in_log_out: Notify,
        resume: Notify,
    }

    #[async_trait]
    impl TelegramAccounts for FakeTelegram {
        async fn prepare(&self, _: &TenantId, _: AccountId) -> Result<(), Error> {
            Ok(())
        }
        async fn adopt_session(&self, _: AccountId, _: AccountId) -> Result<(), Error> {
            unreachable!("not used by these tests")
        }
        async fn send_code(&self, _: AccountId, _: &str) -> Result<CodeSent, Error> {
            unreachable!("not used by these tests")
        }
        async fn sign_in(&self, _: AccountId, _: &str, _: &str, _: &str) -> Result<SignIn, Error> {
            unreachable!("not used by these tests")
        }
        async fn check_password(&self, _: AccountId, _: &str) -> Result<TelegramUser, Error> {
            unreachable!("not used by these tests")
        }
        async fn bot_sign_in(&self, _: AccountId, _: &str) -> Result<TelegramUser, Error> {
            unreachable!("not used by these tests")
        }
        async fn qr_login(&self, _: AccountId) -> Result<Box<dyn QrLoginFlow>, Error> {
            unreachable!("not used by these tests")
        }
        async fn log_out(&self, _: AccountId) -> Result<(), Error> {
            let pause = std::mem::take(&mut *self.pause_log_out.lock().unwrap());
            if pause {
                self.in_log_out.notify_one();
                self.resume.notified().await;
            }
            Ok(())
        }
        async fn devices(&self, _: AccountId) -> Result<Vec<TelegramDevice>, Error> {
            unreachable!("not used by these tests")
        }
        async fn terminate_device(&self, _: AccountId, _: i64) -> Result<(), Error> {
            unreachable!("not used by these tests")
        }
    }

    /// Supervised records which accounts are supervised.
    #[derive(Default)]
    struct Supervised(Mutex<std::collections::HashSet<AccountId>>);

    #[async_trait]
    impl Supervision for Supervised {
        fn supervise(&self, _: &TenantId, account: AccountId) {
            self.0.lock().unwrap().insert(account);
        }
        async fn release(&self, account: AccountId) {
            self.0.lock().unwrap().remove(&account);
        }
    }

    struct Setup {
        accounts: Accounts,
        _files: tempfile::TempDir,
        store: Store,
        telegram: Arc<FakeTelegram>,
        supervised: Arc<Supervised>,
        caller: Caller,
        account: Account,
    }

    /// setup stores an AUTHORIZED account whose session is in epoch 1.
    async fn setup() -> Setup {
        let store = Store::connect("sqlite::memory:").await.unwrap();
        store.migrate().await.unwrap();
        let tenant = TenantId::parse("acme").unwrap();
        let mut account = new_account(&tenant, AccountKind::User, Some("9996611111".into()));
        account.state = AccountState::Authorized;
        account.telegram_user_id = Some(42);
        store.insert_account(&account).await.unwrap();
        let sealed = Sealed {
            sealed: vec![1, 2, 3],
            key_id: "k".into(),
        };
        assert_eq!(
            store.replace_session(account.id, 0, &sealed).await.unwrap(),
            1
        );
        let telegram = Arc::new(FakeTelegram::default());
        let supervised = Arc::new(Supervised::default());
        supervised.supervise(&tenant, account.id);
        let files = tempfile::tempdir().unwrap();
        let accounts = Accounts::new(
            Arc::new(store.clone()),
            Arc::new(MemoryCache::new(MemoryCacheOptions::default())),
            telegram.clone(),
            supervised.clone(),
            Sealer::from_specs(&[Sealer::generate_spec("k").to_string()], None).unwrap(),
            Arc::new(Blobs::local(files.path()).await.unwrap()),
            AccountLimits::default(),
            Audit::new(Arc::new(store.clone()), crate::telemetry::Metrics::new()),
        );
        let caller = Caller {
            tenant,
            principal: "u".into(),
            kind: PrincipalKind::User,
            scopes: [Scope::AccountsRead, Scope::AccountsWrite]
                .into_iter()
                .collect(),
        };
        Setup {
            accounts,
            _files: files,
            store,
            telegram,
            supervised,
            caller,
            account,
        }
    }

    async fn state(s: &Setup) -> AccountState {
        s.accounts.get(&s.caller, s.account.id).await.unwrap().state
    }

    #[tokio::test]
    async fn a_revocation_of_the_current_session_requires_a_new_login() {
        let s = setup().await;
        s.accounts
            .revoked(s.account.id, 1, "AUTH_KEY_UNREGISTERED")
            .await;
        assert_eq!(state(&s).await, AccountState::ReauthRequired);
        assert!(
            !s.supervised.0.lock().unwrap().contains(&s.account.id),
            "a revoked account is no longer supervised"
        );
    }

    #[tokio::test]
    async fn a_late_revocation_of_an_older_session_changes_nothing() {
        let s = setup().await;
        // A re-login replaced the session (epoch 2) before the report of
        // epoch 1's revocation arrived.
        let sealed = Sealed {
            sealed: vec![4],
            key_id: "k".into(),
        };
        assert_eq!(
            s.store
                .replace_session(s.account.id, 1, &sealed)
                .await
                .unwrap(),
            2
        );
        s.accounts
            .revoked(s.account.id, 1, "AUTH_KEY_UNREGISTERED")
            .await;
        assert_eq!(state(&s).await, AccountState::Authorized);
        assert!(s.supervised.0.lock().unwrap().contains(&s.account.id));
    }

    #[tokio::test]
    async fn a_revocation_after_a_log_out_leaves_it_logged_out() {
        let s = setup().await;
        s.accounts.log_out(&s.caller, s.account.id).await.unwrap();
        s.accounts
            .revoked(s.account.id, 1, "AUTH_KEY_UNREGISTERED")
            .await;
        assert_eq!(state(&s).await, AccountState::LoggedOut);
    }

    #[tokio::test]
    async fn a_revocation_landing_inside_a_log_out_still_ends_logged_out() {
        let s = setup().await;
        *s.telegram.pause_log_out.lock().unwrap() = true;
        let log_out = {
            let (accounts, caller, id) = (s.accounts.clone(), s.caller.clone(), s.account.id);
            tokio::spawn(async move { accounts.log_out(&caller, id).await })
        };
        // The log-out read AUTHORIZED and is at Telegram; the probe notices
        // the session is gone and reports it now.
        s.telegram.in_log_out.notified().await;
        s.accounts
            .revoked(s.account.id, 1, "AUTH_KEY_UNREGISTERED")
            .await;
        assert_eq!(state(&s).await, AccountState::ReauthRequired);
        s.telegram.resume.notify_one();
        let done = log_out.await.unwrap().unwrap();
        assert_eq!(done.state, AccountState::LoggedOut);
        assert_eq!(state(&s).await, AccountState::LoggedOut);
    }

    #[tokio::test]
    async fn a_stale_writer_of_a_session_is_refused() {
        let s = setup().await;
        let sealed = |b: u8| Sealed {
            sealed: vec![b],
            key_id: "k".into(),
        };
        let id = s.account.id;
        s.store
            .save_session(id, 1, 2, &sealed(1), None)
            .await
            .unwrap();
        // An older version of the same epoch, and any version of an old epoch.
        assert!(matches!(
            s.store.save_session(id, 1, 2, &sealed(2), None).await,
            Err(StoreError::Conflict { .. })
        ));
        assert_eq!(s.store.replace_session(id, 1, &sealed(3)).await.unwrap(), 2);
        assert!(matches!(
            s.store.save_session(id, 1, 99, &sealed(4), None).await,
            Err(StoreError::Conflict { .. })
        ));
        assert!(matches!(
            s.store.replace_session(id, 1, &sealed(5)).await,
            Err(StoreError::Conflict { .. })
        ));
        let row = s.store.load_session(id).await.unwrap();
        assert_eq!((row.epoch, row.version), (2, FIRST_SESSION_VERSION));
        assert_eq!(row.sealed.unwrap().sealed, vec![3]);
    }
}
