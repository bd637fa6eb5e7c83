//! Accounts: reading them, and their login life cycle — StartLogin (phone
//! or bot token), SubmitCode, SubmitPassword, QR login, LogOut,
//! DeleteAccount, and the account's Telegram devices.
//!
//! Every state change goes through [`Accounts::transition`]: the row is
//! updated, the cached copy dropped, an event appended, and the account's
//! supervision started or stopped.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use serde::{Deserialize, Serialize};

use crate::crypto::Sealer;
use crate::domain::event::EventPayload;
use crate::domain::login::{
    BotToken, CodeSent, LoginCode, Password, PhoneNumber, QrLogin, RequestId, SignIn,
    TelegramDevice, TelegramUser,
};
use crate::domain::ports::{
    AccountPage, AccountStore, Cache, EventLog, Sealed, Supervision, TelegramAccounts,
};
use crate::domain::{
    Account, AccountId, AccountKind, AccountState, Caller, Error, Scope, TenantId,
};

use super::require;

/// ACCOUNT_TTL bounds how long a cached account may be served; writes
/// invalidate it sooner.
const ACCOUNT_TTL: Duration = Duration::from_secs(300);

/// Credential is what an account logs in with.
#[derive(Debug, Clone)]
pub enum Credential {
    Phone(PhoneNumber),
    Bot(BotToken),
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
    cache: Arc<dyn Cache>,
    telegram: Arc<dyn TelegramAccounts>,
    events: Arc<dyn EventLog>,
    supervision: Arc<dyn Supervision>,
    sealer: Sealer,
}

/// The cached copy of an account lives under its current generation; every
/// write bumps the generation *after* the database write. A reader reads
/// the generation *before* the database, so a copy it caches late (after a
/// concurrent write) lands under a generation no reader uses again: a read
/// after a write never sees the old value.
fn generation_key(tenant: &TenantId, id: AccountId) -> String {
    format!("account-gen:{tenant}:{id}")
}

fn cache_key(tenant: &TenantId, id: AccountId, generation: u64) -> String {
    format!("account:{tenant}:{id}:{generation}")
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

impl Accounts {
    pub fn new(
        store: Arc<dyn AccountStore>,
        cache: Arc<dyn Cache>,
        telegram: Arc<dyn TelegramAccounts>,
        events: Arc<dyn EventLog>,
        supervision: Arc<dyn Supervision>,
        sealer: Sealer,
    ) -> Self {
        Self {
            store,
            cache,
            telegram,
            events,
            supervision,
            sealer,
        }
    }

    /// get reads through the cache. A cache failure is logged and the
    /// database answers: the cache is an accelerator, never a dependency.
    pub async fn get(&self, caller: &Caller, id: AccountId) -> Result<Account, Error> {
        require(caller, Scope::AccountsRead)?;
        let generation = match self.cache.get(&generation_key(&caller.tenant, id)).await {
            // Counters are stored as decimal text (as Redis keeps them).
            Ok(value) => value
                .and_then(|v| std::str::from_utf8(&v).ok()?.parse::<u64>().ok())
                .unwrap_or(0),
            Err(err) => {
                tracing::warn!(error = %err, "cache read failed, reading the database");
                return Ok(self.store.get_account(&caller.tenant, id).await?);
            }
        };
        let key = cache_key(&caller.tenant, id, generation);
        match self.cache.get(&key).await {
            Ok(Some(bytes)) => match serde_json::from_slice::<Account>(&bytes) {
                Ok(account) => return Ok(account),
                Err(err) => tracing::warn!(error = %err, "undecodable cached account"),
            },
            Ok(None) => {}
            Err(err) => tracing::warn!(error = %err, "cache read failed, reading the database"),
        }
        let account = self.store.get_account(&caller.tenant, id).await?;
        let bytes = serde_json::to_vec(&account).expect("accounts serialize to json");
        if let Err(err) = self.cache.set(&key, &bytes, ACCOUNT_TTL).await {
            tracing::warn!(error = %err, "cache write failed");
        }
        Ok(account)
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

    /// invalidate retires the cached copy of an account after a write, by
    /// moving to a new generation. A cache that cannot be reached is only
    /// logged: its entries expire within ACCOUNT_TTL.
    async fn invalidate(&self, tenant: &TenantId, id: AccountId) {
        if let Err(err) = self.cache.incr(&generation_key(tenant, id)).await {
            tracing::warn!(account_id = %id, error = %err, "cache invalidation failed");
        }
    }

    /// transition moves an account to `state`: row, cache, event, supervision.
    async fn transition(
        &self,
        mut account: Account,
        state: AccountState,
        reason: &str,
    ) -> Result<Account, Error> {
        let changed = account.state != state;
        account.state = state;
        account.updated_at = Utc::now();
        if state != AccountState::PasswordRequired {
            account.password_hint = None;
        }
        self.store.update_account(&account).await?;
        self.invalidate(&account.tenant, account.id).await;
        if state == AccountState::Authorized {
            self.supervision.supervise(&account.tenant, account.id);
        } else {
            self.supervision.release(account.id);
        }
        if changed {
            let payload = EventPayload::AccountStateChanged {
                state,
                reason: reason.to_owned(),
            };
            if let Err(err) = self
                .events
                .append(&account.tenant, Some(account.id), &payload)
                .await
            {
                // The state itself is stored; subscribers will see it on read.
                tracing::error!(account_id = %account.id, error = %err, "appending the state event failed");
            }
        }
        tracing::info!(account_id = %account.id, state = state.as_str(), reason, "account state");
        Ok(account)
    }

    async fn authorized(&self, mut account: Account, user: TelegramUser) -> Result<Account, Error> {
        let TelegramUser {
            user_id,
            bot,
            phone,
            username,
            display_name,
        } = user;
        account.telegram_user_id = Some(user_id);
        account.kind = if bot {
            AccountKind::Bot
        } else {
            AccountKind::User
        };
        if account.phone_number.is_none() {
            account.phone_number = phone;
        }
        account.username = username;
        account.display_name = display_name;
        self.store.save_login_state(account.id, None).await?;
        self.transition(account, AccountState::Authorized, "LOGGED_IN")
            .await
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
        let plain = self
            .sealer
            .open(&sealed.sealed, &login_aad(id))
            .map_err(|err| Error::Internal(format!("login state does not open: {err}")))?;
        serde_json::from_slice(&plain).map_err(|err| Error::Internal(format!("login state: {err}")))
    }

    /// start_login connects an account: with a phone number Telegram sends a
    /// code (LOGIN_CODE_REQUIRED); with a bot token the bot is logged in
    /// (AUTHORIZED). The tenant's account with the same phone is reused.
    /// A request_id makes retries return the first call's account. When
    /// Telegram refuses, a newly created account is removed again.
    pub async fn start_login(
        &self,
        caller: &Caller,
        credential: Credential,
        request_id: Option<RequestId>,
    ) -> Result<Account, Error> {
        require(caller, Scope::AccountsWrite)?;
        let (kind, phone) = match &credential {
            Credential::Phone(phone) => (AccountKind::User, Some(phone.as_str().to_owned())),
            Credential::Bot(_) => (AccountKind::Bot, None),
        };
        let existing = match &phone {
            Some(phone) => {
                self.store
                    .find_account_by_phone(&caller.tenant, phone)
                    .await?
            }
            None => None,
        };
        let (account, created) = match existing {
            Some(account) if account.state == AccountState::Authorized => return Ok(account),
            Some(account) => (account, false),
            None => {
                let fresh = new_account(&caller.tenant, kind, phone.clone());
                let stored = self
                    .store
                    .create_account(&fresh, request_id.as_ref().map(RequestId::as_str))
                    .await?;
                if stored.id != fresh.id {
                    // A retry of a request that already ran: same answer.
                    return Ok(stored);
                }
                (stored, true)
            }
        };
        // A login in progress keeps its session (a re-sent code, as
        // Telegram's apps do); a new, revoked or logged-out account gets a fresh one.
        let fresh_session = created
            || !matches!(
                account.state,
                AccountState::LoginCodeRequired | AccountState::PasswordRequired
            );
        let result = self.begin(account.clone(), credential, fresh_session).await;
        if result.is_err() && created {
            // Nothing of a refused login is kept.
            if let Err(err) = self.store.delete_account(&account.tenant, account.id).await {
                tracing::warn!(account_id = %account.id, error = %err, "removing a refused login failed");
            }
        }
        result
    }

    async fn begin(
        &self,
        account: Account,
        credential: Credential,
        fresh_session: bool,
    ) -> Result<Account, Error> {
        self.supervision.release(account.id);
        if fresh_session {
            self.telegram.prepare(account.id).await?;
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
                        self.transition(account, AccountState::LoginCodeRequired, "CODE_SENT")
                            .await
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

    /// submit_code finishes a phone login, or asks for the 2FA password.
    pub async fn submit_code(
        &self,
        caller: &Caller,
        id: AccountId,
        code: LoginCode,
    ) -> Result<Account, Error> {
        require(caller, Scope::AccountsWrite)?;
        let account = self
            .waiting_for(caller, id, AccountState::LoginCodeRequired, "a login code")
            .await?;
        let login = self.load_login(id).await?;
        match self
            .telegram
            .sign_in(id, &login.phone, &login.phone_code_hash, code.expose())
            .await?
        {
            SignIn::SignedIn(user) => self.authorized(account, user).await,
            SignIn::PasswordRequired { hint } => self.password_required(account, hint).await,
        }
    }

    /// password_required records that the login waits for the 2FA password.
    async fn password_required(
        &self,
        mut account: Account,
        hint: Option<String>,
    ) -> Result<Account, Error> {
        account.password_hint = hint;
        self.transition(account, AccountState::PasswordRequired, "PASSWORD_REQUIRED")
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
        let account = self
            .waiting_for(caller, id, AccountState::PasswordRequired, "a password")
            .await?;
        let user = self.telegram.check_password(id, password.expose()).await?;
        self.authorized(account, user).await
    }

    /// start_qr_login creates an account logging in by QR code; `qr_step`
    /// then polls it.
    pub async fn start_qr_login(
        &self,
        caller: &Caller,
        request_id: Option<RequestId>,
    ) -> Result<Account, Error> {
        require(caller, Scope::AccountsWrite)?;
        let fresh = new_account(&caller.tenant, AccountKind::User, None);
        let account = self
            .store
            .create_account(&fresh, request_id.as_ref().map(RequestId::as_str))
            .await?;
        if account.id == fresh.id
            && let Err(err) = self.telegram.prepare(account.id).await
        {
            let _ = self.store.delete_account(&account.tenant, account.id).await;
            return Err(err);
        }
        Ok(account)
    }

    /// qr_step exports a fresh QR token, or completes the login once the
    /// token was accepted (authorized, or PASSWORD_REQUIRED with 2FA).
    pub async fn qr_step(
        &self,
        caller: &Caller,
        id: AccountId,
    ) -> Result<(Account, Option<(String, chrono::DateTime<Utc>)>), Error> {
        let account = self.store.get_account(&caller.tenant, id).await?;
        match self.telegram.qr_login(id).await? {
            QrLogin::Token { url, expires } => Ok((account, Some((url, expires)))),
            QrLogin::SignIn(SignIn::SignedIn(user)) => {
                Ok((self.authorized(account, user).await?, None))
            }
            QrLogin::SignIn(SignIn::PasswordRequired { hint }) => {
                Ok((self.password_required(account, hint).await?, None))
            }
        }
    }

    /// abandon_qr_login removes an account whose QR login never completed.
    pub async fn abandon_qr_login(&self, tenant: &TenantId, id: AccountId) {
        match self.store.get_account(tenant, id).await {
            Ok(account) if account.state == AccountState::LoginCodeRequired => {
                if let Err(err) = self.store.delete_account(tenant, id).await {
                    tracing::warn!(account_id = %id, error = %err, "removing an abandoned qr login failed");
                }
            }
            _ => {}
        }
    }

    /// log_out ends the account's Telegram session and keeps its data.
    pub async fn log_out(&self, caller: &Caller, id: AccountId) -> Result<Account, Error> {
        require(caller, Scope::AccountsWrite)?;
        let account = self.store.get_account(&caller.tenant, id).await?;
        if account.state == AccountState::LoggedOut {
            return Ok(account);
        }
        self.supervision.release(id);
        if matches!(
            account.state,
            AccountState::Authorized | AccountState::PasswordRequired
        ) {
            self.telegram.log_out(id).await?;
        }
        self.store.save_login_state(id, None).await?;
        self.transition(account, AccountState::LoggedOut, "LOGGED_OUT")
            .await
    }

    /// delete_account logs out and erases everything stored for the account.
    /// If Telegram cannot be reached the account is kept (UNAVAILABLE): the
    /// session must not outlive the data that would let us end it.
    pub async fn delete_account(&self, caller: &Caller, id: AccountId) -> Result<(), Error> {
        require(caller, Scope::AccountsWrite)?;
        let account = self.store.get_account(&caller.tenant, id).await?;
        self.supervision.release(id);
        if matches!(
            account.state,
            AccountState::Authorized | AccountState::PasswordRequired
        ) {
            match self.telegram.log_out(id).await {
                Ok(()) | Err(Error::ReauthRequired) => {}
                Err(err) => return Err(err),
            }
        }
        self.store.delete_account(&caller.tenant, id).await?;
        self.invalidate(&caller.tenant, id).await;
        tracing::info!(account_id = %id, "account deleted");
        Ok(())
    }

    async fn authorized_account(&self, caller: &Caller, id: AccountId) -> Result<Account, Error> {
        let account = self.store.get_account(&caller.tenant, id).await?;
        match account.state {
            AccountState::Authorized => Ok(account),
            AccountState::ReauthRequired => Err(Error::ReauthRequired),
            _ => Err(Error::FailedPrecondition {
                reason: "ACCOUNT_NOT_AUTHORIZED",
                message: format!("the account is {}, not authorized", account.state.as_str()),
            }),
        }
    }

    pub async fn devices(
        &self,
        caller: &Caller,
        id: AccountId,
    ) -> Result<Vec<TelegramDevice>, Error> {
        require(caller, Scope::AccountsRead)?;
        let account = self.authorized_account(caller, id).await?;
        self.on_revocation(account, self.telegram.devices(id).await)
            .await
    }

    pub async fn terminate_device(
        &self,
        caller: &Caller,
        id: AccountId,
        hash: i64,
    ) -> Result<(), Error> {
        require(caller, Scope::AccountsWrite)?;
        let account = self.authorized_account(caller, id).await?;
        self.on_revocation(account, self.telegram.terminate_device(id, hash).await)
            .await
    }

    /// on_revocation turns the account REAUTH_REQUIRED when a call learns
    /// that Telegram revoked its session.
    async fn on_revocation<T>(
        &self,
        account: Account,
        result: Result<T, Error>,
    ) -> Result<T, Error> {
        if let Err(Error::ReauthRequired) = &result {
            self.revoked(account, "SESSION_REVOKED").await;
        }
        result
    }

    /// revoked records that Telegram revoked the account's session.
    pub async fn revoked(&self, account: Account, reason: &str) {
        if account.state == AccountState::ReauthRequired {
            return;
        }
        let id = account.id;
        if let Err(err) = self
            .transition(account, AccountState::ReauthRequired, reason)
            .await
        {
            tracing::error!(account_id = %id, error = %err, "recording a revoked session failed");
        }
    }

    /// revoked_by_id is [`Accounts::revoked`] for the supervisor, which
    /// knows only the ids.
    pub async fn revoked_by_id(&self, tenant: &TenantId, id: AccountId, reason: &str) {
        match self.store.get_account(tenant, id).await {
            Ok(account) => self.revoked(account, reason).await,
            Err(err) => {
                tracing::warn!(account_id = %id, error = %err, "revoked account not readable")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use async_trait::async_trait;
    use tokio::sync::Notify;

    use super::*;
    use crate::cache::{MemoryCache, MemoryCacheOptions};
    use crate::domain::ports::StoreError;
    use crate::domain::{PrincipalKind, login};

    /// PausingStore serves one account and can hold a reader between its
    /// database read and its return, to replay the read-through race.
    struct PausingStore {
        account: Mutex<Account>,
        pause_next_read: Mutex<bool>,
        read_done: Notify,
        resume: Notify,
    }

    #[async_trait]
    impl AccountStore for PausingStore {
        async fn get_account(&self, _: &TenantId, _: AccountId) -> Result<Account, StoreError> {
            let snapshot = self.account.lock().unwrap().clone();
            let pause = std::mem::take(&mut *self.pause_next_read.lock().unwrap());
            if pause {
                self.read_done.notify_one();
                self.resume.notified().await;
            }
            Ok(snapshot)
        }
        async fn update_account(&self, account: &Account) -> Result<(), StoreError> {
            *self.account.lock().unwrap() = account.clone();
            Ok(())
        }
        async fn list_accounts(
            &self,
            _: &TenantId,
            _: Option<AccountId>,
            _: u32,
        ) -> Result<AccountPage, StoreError> {
            unreachable!("not used by this test")
        }
        async fn insert_account(&self, _: &Account) -> Result<(), StoreError> {
            unreachable!("not used by this test")
        }
        async fn create_account(
            &self,
            _: &Account,
            _: Option<&str>,
        ) -> Result<Account, StoreError> {
            unreachable!("not used by this test")
        }
        async fn delete_account(&self, _: &TenantId, _: AccountId) -> Result<(), StoreError> {
            unreachable!("not used by this test")
        }
        async fn load_login_state(&self, _: AccountId) -> Result<Option<Sealed>, StoreError> {
            unreachable!("not used by this test")
        }
        async fn save_login_state(
            &self,
            _: AccountId,
            _: Option<&Sealed>,
        ) -> Result<(), StoreError> {
            Ok(())
        }
        async fn find_account_by_phone(
            &self,
            _: &TenantId,
            _: &str,
        ) -> Result<Option<Account>, StoreError> {
            unreachable!("not used by this test")
        }
        async fn accounts_in_state(&self, _: AccountState) -> Result<Vec<Account>, StoreError> {
            unreachable!("not used by this test")
        }
    }

    struct Quiet;

    #[async_trait]
    impl EventLog for Quiet {
        async fn append(
            &self,
            _: &TenantId,
            _: Option<AccountId>,
            _: &EventPayload,
        ) -> Result<i64, StoreError> {
            Ok(1)
        }
        async fn events_after(
            &self,
            _: &TenantId,
            _: i64,
            _: u32,
        ) -> Result<Vec<crate::domain::event::Event>, StoreError> {
            Ok(Vec::new())
        }
    }

    impl Supervision for Quiet {
        fn supervise(&self, _: &TenantId, _: AccountId) {}
        fn release(&self, _: AccountId) {}
    }

    #[async_trait]
    impl TelegramAccounts for Quiet {
        async fn prepare(&self, _: AccountId) -> Result<(), Error> {
            unreachable!()
        }
        async fn send_code(&self, _: AccountId, _: &str) -> Result<CodeSent, Error> {
            unreachable!()
        }
        async fn sign_in(&self, _: AccountId, _: &str, _: &str, _: &str) -> Result<SignIn, Error> {
            unreachable!()
        }
        async fn check_password(&self, _: AccountId, _: &str) -> Result<TelegramUser, Error> {
            unreachable!()
        }
        async fn bot_sign_in(&self, _: AccountId, _: &str) -> Result<TelegramUser, Error> {
            unreachable!()
        }
        async fn qr_login(&self, _: AccountId) -> Result<QrLogin, Error> {
            unreachable!()
        }
        async fn log_out(&self, _: AccountId) -> Result<(), Error> {
            unreachable!()
        }
        async fn devices(&self, _: AccountId) -> Result<Vec<login::TelegramDevice>, Error> {
            unreachable!()
        }
        async fn terminate_device(&self, _: AccountId, _: i64) -> Result<(), Error> {
            unreachable!()
        }
    }

    #[tokio::test]
    async fn a_read_racing_a_write_never_leaves_a_stale_copy_behind() {
        let tenant = TenantId::parse("acme").unwrap();
        let mut account = new_account(&tenant, AccountKind::User, None);
        account.state = AccountState::Authorized;
        let store = Arc::new(PausingStore {
            account: Mutex::new(account.clone()),
            pause_next_read: Mutex::new(true),
            read_done: Notify::new(),
            resume: Notify::new(),
        });
        let quiet = Arc::new(Quiet);
        let accounts = Accounts::new(
            store.clone(),
            Arc::new(MemoryCache::new(MemoryCacheOptions::default())),
            quiet.clone(),
            quiet.clone(),
            quiet,
            Sealer::from_specs(&[Sealer::generate_spec("k").to_string()], None).unwrap(),
        );
        let caller = Caller {
            tenant: tenant.clone(),
            principal: "u".into(),
            kind: PrincipalKind::User,
            scopes: [Scope::AccountsRead].into_iter().collect(),
        };

        // A reader reads AUTHORIZED from the database and stalls before caching it…
        let reader = {
            let (accounts, caller) = (accounts.clone(), caller.clone());
            tokio::spawn(async move { accounts.get(&caller, account.id).await })
        };
        store.read_done.notified().await;
        // …while a writer revokes the account and invalidates the cache.
        accounts
            .revoked(account.clone(), "AUTH_KEY_UNREGISTERED")
            .await;
        store.resume.notify_one();
        let stale = reader.await.unwrap().unwrap();
        assert_eq!(
            stale.state,
            AccountState::Authorized,
            "the racing read itself saw the old row"
        );

        // Every read after the write sees the new state, though the late copy was cached.
        for _ in 0..3 {
            let read = accounts.get(&caller, account.id).await.unwrap();
            assert_eq!(read.state, AccountState::ReauthRequired);
        }
    }
}
