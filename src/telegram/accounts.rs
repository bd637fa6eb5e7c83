//! [`Telegram`]: the adapter behind the domain's `TelegramAccounts` port.
//!
//! The session registry: each account has at most one [`StoredSession`] per
//! process, shared by login calls, RPCs and, once authorized, its
//! supervisor. Who may write what:
//! - Loading and replacing an account's session happen under the account's
//!   slot lock, so concurrent callers share one load (never two sessions
//!   with two flushers for one account).
//! - A replacement (`prepare`, a re-login) waits, still under the lock,
//!   until every holder of the old session has dropped it and its flusher
//!   has made its final save; the new session is stored in a new epoch by
//!   compare-and-set, so anything the old one might still try to write is
//!   refused by the database.
//! - A revocation learnt by any call is reported with the epoch of the
//!   session it was learnt on, so a late report about an old session can
//!   never mark a newer login revoked.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Duration;

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use grammers_session::updates::UpdatesLike;
use grammers_tl_types as tl;
use tokio::sync::mpsc;

use super::connection::{Connection, Link};
use super::login::{self, App, QrToken};
use super::session::{Finished, SessionData, SessionOptions};
use super::{Error, StoredSession};
use crate::crypto::Sealer;
use crate::domain::login::{CodeSent, QrLogin, SignIn, TelegramDevice, TelegramUser};
use crate::domain::ports::{QrLoginFlow, SessionStore, TelegramAccounts};
use crate::domain::{self, AccountId, TenantId};

/// Provisioner decides where new sessions connect: Telegram's data centers
/// (the client then creates its auth key by DH), or the sandbox DC (which
/// cannot do DH with Telegram's keys, so the key is made here and registered).
#[async_trait]
pub trait Provisioner: Send + Sync + 'static {
    /// new_session makes a session for one of `tenant`'s accounts.
    async fn new_session(&self, tenant: &TenantId) -> Result<SessionData, Error>;

    /// rehome fixes a stored session's DC address when it moved (an
    /// in-process sandbox listening on another port after a restart);
    /// returns the corrected DC option, if any.
    fn rehome(&self, _data: &SessionData) -> Option<grammers_session::types::DcOption> {
        None
    }
}

/// RealTelegram provisions sessions for Telegram's production DCs.
pub struct RealTelegram;

#[async_trait]
impl Provisioner for RealTelegram {
    async fn new_session(&self, _: &TenantId) -> Result<SessionData, Error> {
        let known = grammers_session::SessionData::default();
        Ok(SessionData {
            home_dc: known.home_dc,
            dc_options: known.dc_options.into_iter().collect(),
            ..SessionData::default()
        })
    }
}

/// TelegramOptions bound every Telegram call and session write.
#[derive(Debug, Clone, Copy)]
pub struct TelegramOptions {
    /// Deadline of one Telegram call (or one bounded sequence of calls).
    pub call_timeout: Duration,
    pub session: SessionOptions,
}

impl Default for TelegramOptions {
    fn default() -> Self {
        Self {
            call_timeout: Duration::from_secs(30),
            session: SessionOptions::default(),
        }
    }
}

/// OnRevoked is told when a call learnt that Telegram revoked the session
/// of `epoch` of an account (with Telegram's error name).
pub type OnRevoked = Arc<dyn Fn(AccountId, i64, String) -> BoxFuture<'static, ()> + Send + Sync>;

/// Slot is one account's place in the registry.
#[derive(Default)]
struct Slot {
    state: tokio::sync::Mutex<SlotState>,
}

#[derive(Default)]
struct SlotState {
    /// The live session, while anyone holds it.
    session: Weak<StoredSession>,
    /// Resolves once the last session's flusher has stopped.
    finished: Option<Finished>,
}

impl SlotState {
    fn idle(&self) -> bool {
        self.session.strong_count() == 0 && self.finished.as_ref().is_none_or(Finished::is_done)
    }
}

/// Telegram talks to Telegram (or the sandbox DC) for every account.
pub struct Telegram {
    app: App,
    provisioner: Arc<dyn Provisioner>,
    store: Arc<dyn SessionStore>,
    sealer: Sealer,
    options: TelegramOptions,
    slots: Mutex<HashMap<AccountId, Arc<Slot>>>,
    /// The links of supervised accounts' live connections: calls for an
    /// account that is connected share its connection (and its answers
    /// reach its updates stream) instead of opening another.
    live: Mutex<HashMap<AccountId, Link>>,
    /// One connection per account at a time in this process (see `gate`).
    gates: Mutex<HashMap<AccountId, Arc<tokio::sync::Mutex<()>>>>,
    on_revoked: OnceLock<OnRevoked>,
}

impl Telegram {
    pub fn new(
        app: App,
        provisioner: Arc<dyn Provisioner>,
        store: Arc<dyn SessionStore>,
        sealer: Sealer,
        options: TelegramOptions,
    ) -> Self {
        Self {
            app,
            provisioner,
            store,
            sealer,
            options,
            slots: Mutex::new(HashMap::new()),
            live: Mutex::new(HashMap::new()),
            gates: Mutex::new(HashMap::new()),
            on_revoked: OnceLock::new(),
        }
    }

    pub fn app(&self) -> &App {
        &self.app
    }

    pub fn options(&self) -> &TelegramOptions {
        &self.options
    }

    /// on_revoked sets who is told about revocations (once, at wiring time).
    pub fn on_revoked(&self, callback: OnRevoked) {
        let _ = self.on_revoked.set(callback);
    }

    /// report_revoked tells the wiring that the session of `epoch` was revoked.
    pub async fn report_revoked(&self, account: AccountId, epoch: i64, name: String) {
        if let Some(callback) = self.on_revoked.get() {
            callback(account, epoch, name).await;
        }
    }

    /// slot is the account's registry slot. Slots nobody uses any more are
    /// dropped on the way, so the registry stays as small as the live set.
    fn slot(&self, account: AccountId) -> Arc<Slot> {
        let mut slots = self.slots.lock().expect("session registry lock");
        slots.retain(|_, slot| {
            Arc::strong_count(slot) > 1 || slot.state.try_lock().map_or(true, |s| !s.idle())
        });
        slots.entry(account).or_default().clone()
    }

    /// lock_slot takes the account's slot lock within the call deadline.
    async fn lock_slot<'a>(
        &self,
        slot: &'a Slot,
    ) -> Result<tokio::sync::MutexGuard<'a, SlotState>, Error> {
        tokio::time::timeout(self.replace_timeout(), slot.state.lock())
            .await
            .map_err(|_| Error::Unavailable("the account's session is busy".into()))
    }

    /// replace_timeout bounds the wait for an old session to stop: its
    /// holders finish their calls, then its flusher saves.
    fn replace_timeout(&self) -> Duration {
        self.options.call_timeout + self.options.session.flush_timeout
    }

    /// settle waits (with the slot locked) until the slot's last session
    /// is dropped by everyone and its flusher has stopped.
    async fn settle(&self, state: &mut SlotState) -> Result<(), Error> {
        let Some(finished) = state.finished.clone() else {
            return Ok(());
        };
        tokio::time::timeout(self.replace_timeout(), finished.wait())
            .await
            .map_err(|_| {
                Error::Unavailable("the account's previous session is still in use".into())
            })?;
        state.finished = None;
        Ok(())
    }

    /// session is the account's session: the one already open in this
    /// process, or the stored one. An account never prepared has none.
    pub async fn session(&self, account: AccountId) -> Result<Arc<StoredSession>, Error> {
        let slot = self.slot(account);
        let mut state = self.lock_slot(&slot).await?;
        if let Some(session) = state.session.upgrade() {
            return Ok(session);
        }
        // The previous session may still be making its final save: the
        // load must see it, or this session would start from an older version.
        self.settle(&mut state).await?;
        let loaded = tokio::time::timeout(
            self.options.call_timeout,
            StoredSession::load(
                account,
                self.store.clone(),
                self.sealer.clone(),
                self.options.session,
            ),
        )
        .await
        .map_err(|_| Error::Unavailable("loading the session timed out".into()))?;
        let Some(session) = loaded? else {
            return Err(Error::Client(format!(
                "account {account} has no telegram session"
            )));
        };
        let data = session.snapshot()?;
        if let Some(moved) = self.provisioner.rehome(&data) {
            use grammers_session::Session as _;
            tracing::info!(account_id = %account, "session's dc moved, updating its address");
            session.set_dc_option(&moved).await?;
        }
        state.session = Arc::downgrade(&session);
        state.finished = Some(session.finished());
        Ok(session)
    }

    /// home_auth_key is the auth key of the account's home DC, if it has one
    /// (how the sandbox tells which session to inject a fault into).
    pub async fn home_auth_key(&self, account: AccountId) -> Result<Option<[u8; 256]>, Error> {
        let data = self.session(account).await?.snapshot()?;
        Ok(data
            .dc_options
            .get(&data.home_dc)
            .and_then(|dc| dc.auth_key))
    }

    /// connect opens a connection on the account's session.
    pub async fn connect(&self, account: AccountId) -> Result<Connection, Error> {
        let gate = self.gate(account).await?;
        self.open(account, gate).await
    }

    async fn open(
        &self,
        account: AccountId,
        gate: tokio::sync::OwnedMutexGuard<()>,
    ) -> Result<Connection, Error> {
        Ok(Connection::open(
            self.session(account).await?,
            self.app.api_id,
            self.options.call_timeout,
        )
        .gated(gate))
    }

    /// gate waits until no other connection of the account is open in this
    /// process: Telegram takes one auth key used from two connections at
    /// once for two clients (AUTH_KEY_DUPLICATED) and drops it. A connection
    /// holds its gate until it is closed; calls for an account whose
    /// connection is live share it instead ([`Telegram::with`]).
    async fn gate(&self, account: AccountId) -> Result<tokio::sync::OwnedMutexGuard<()>, Error> {
        let gate = {
            let mut gates = self.gates.lock().expect("connection gates lock");
            gates.retain(|_, gate| Arc::strong_count(gate) > 1);
            gates.entry(account).or_default().clone()
        };
        // A supervisor's connection holds it for as long as it runs; its
        // calls go on its live link meanwhile, so only a wait for another
        // short call or a closing connection ends up here.
        tokio::time::timeout(self.options.call_timeout, gate.lock_owned())
            .await
            .map_err(|_| Error::Unavailable("the account's telegram connection is busy".into()))
    }

    /// go_live shares a supervised account's live connection (until
    /// [`Telegram::go_offline`]).
    pub fn go_live(&self, account: AccountId, link: Link) {
        self.live
            .lock()
            .expect("live links lock")
            .insert(account, link);
    }

    /// go_offline stops sharing the account's live connection.
    pub fn go_offline(&self, account: AccountId) {
        self.live.lock().expect("live links lock").remove(&account);
    }

    fn live_link(&self, account: AccountId) -> Option<Link> {
        self.live
            .lock()
            .expect("live links lock")
            .get(&account)
            .cloned()
    }

    /// with runs one call on the account's live connection, or else on a
    /// short-lived one that it closes. A revocation it learns of is
    /// reported with the session's epoch.
    pub(super) async fn with<T>(
        &self,
        account: AccountId,
        call: impl AsyncFnOnce(&Link) -> Result<T, Error>,
    ) -> Result<T, domain::Error> {
        Ok(self.with_raw(account, call).await?)
    }

    /// with_raw is [`Telegram::with`] keeping the adapter's error, for
    /// callers that tell Telegram's refusals apart themselves.
    pub(super) async fn with_raw<T>(
        &self,
        account: AccountId,
        call: impl AsyncFnOnce(&Link) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let (result, epoch) = match self.live_link(account) {
            Some(link) => (call(&link).await, link.session().epoch()),
            None => {
                let gate = self.gate(account).await?;
                // It may have gone live while this waited.
                match self.live_link(account) {
                    Some(link) => {
                        drop(gate);
                        (call(&link).await, link.session().epoch())
                    }
                    None => {
                        let conn = self.open(account, gate).await?;
                        let epoch = conn.session().epoch();
                        let result = call(&conn).await;
                        conn.close().await;
                        (result, epoch)
                    }
                }
            }
        };
        if let Err(Error::SessionRevoked { name }) = &result {
            self.report_revoked(account, epoch, name.clone()).await;
        }
        result
    }

    /// replace gives the account a fresh session with `data`, once the old
    /// one has stopped everywhere in this process (see the module docs).
    async fn replace(&self, account: AccountId, data: SessionData) -> Result<(), Error> {
        let slot = self.slot(account);
        let mut state = self.lock_slot(&slot).await?;
        self.settle(&mut state).await?;
        if state.session.strong_count() > 0 {
            // settle only returns once the flusher stopped, which needs every
            // handle gone; a handle taken meanwhile would need the lock we hold.
            return Err(Error::Client("a session outlived its flusher".into()));
        }
        let row = tokio::time::timeout(self.options.call_timeout, self.store.load_session(account))
            .await
            .map_err(|_| Error::Unavailable("loading the session timed out".into()))??;
        let session = StoredSession::create(
            account,
            self.store.clone(),
            self.sealer.clone(),
            self.options.session,
            data,
            row.epoch,
        )
        .await?;
        state.session = Arc::downgrade(&session);
        state.finished = Some(session.finished());
        Ok(())
    }
}

fn time(unix: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(unix, 0).unwrap_or_default()
}

#[async_trait]
impl TelegramAccounts for Telegram {
    async fn prepare(&self, tenant: &TenantId, account: AccountId) -> Result<(), domain::Error> {
        let data = self.provisioner.new_session(tenant).await?;
        Ok(self.replace(account, data).await?)
    }

    async fn adopt_session(&self, from: AccountId, to: AccountId) -> Result<(), domain::Error> {
        // `from` is a login that turned out to be an existing account's
        // user: its signed-in session moves over (re-sealed for `to`).
        let data = {
            let session = self.session(from).await?;
            let data = session.snapshot().map_err(Error::from)?;
            session.flush().await.map_err(Error::from)?;
            data
        };
        Ok(self.replace(to, data).await?)
    }

    async fn send_code(&self, account: AccountId, phone: &str) -> Result<CodeSent, domain::Error> {
        let app = self.app.clone();
        self.with(account, async |conn| {
            login::send_code(conn, &app, phone).await
        })
        .await
    }

    async fn sign_in(
        &self,
        account: AccountId,
        phone: &str,
        phone_code_hash: &str,
        code: &str,
    ) -> Result<SignIn, domain::Error> {
        self.with(account, async |conn| {
            match login::sign_in(conn, phone, phone_code_hash, code).await {
                Ok(user) => Ok(SignIn::SignedIn(user)),
                Err(Error::PasswordRequired) => Ok(SignIn::PasswordRequired {
                    hint: login::password_hint(conn).await?,
                }),
                Err(err) => Err(err),
            }
        })
        .await
    }

    async fn check_password(
        &self,
        account: AccountId,
        password: &str,
    ) -> Result<TelegramUser, domain::Error> {
        self.with(account, async |conn| {
            login::check_password(conn, password).await
        })
        .await
    }

    async fn bot_sign_in(
        &self,
        account: AccountId,
        token: &str,
    ) -> Result<TelegramUser, domain::Error> {
        let app = self.app.clone();
        self.with(account, async |conn| {
            login::bot_sign_in(conn, &app, token).await
        })
        .await
    }

    async fn qr_login(&self, account: AccountId) -> Result<Box<dyn QrLoginFlow>, domain::Error> {
        let mut conn = self.connect(account).await?;
        let Some(updates) = conn.take_updates() else {
            return Err(Error::Client("updates channel already taken".into()).into());
        };
        Ok(Box::new(QrFlow {
            conn: Some(conn),
            updates,
            app: self.app.clone(),
            shown_until: None,
        }))
    }

    async fn log_out(&self, account: AccountId) -> Result<(), domain::Error> {
        self.with(account, async |conn| match login::log_out(conn).await {
            // Already revoked or logged out: the goal is reached.
            Ok(()) | Err(Error::SessionRevoked { .. }) => Ok(()),
            Err(err) => Err(err),
        })
        .await
    }

    async fn devices(&self, account: AccountId) -> Result<Vec<TelegramDevice>, domain::Error> {
        self.with(account, async |conn| login::devices(conn).await)
            .await
    }

    async fn terminate_device(&self, account: AccountId, hash: i64) -> Result<(), domain::Error> {
        self.with(account, async |conn| {
            login::terminate_device(conn, hash).await
        })
        .await
    }
}

/// QrFlow is one QR login on one connection: it shows a code, keeps it
/// until Telegram's `expires` (exporting again would invalidate the code a
/// user may be scanning right now), and learns of its acceptance from the
/// `updateLoginToken` Telegram pushes, not by polling.
struct QrFlow {
    conn: Option<Connection>,
    updates: mpsc::Receiver<UpdatesLike>,
    app: App,
    /// When the code shown now expires (unix seconds, Telegram's clock).
    shown_until: Option<i64>,
}

/// MIN_QR_WAIT keeps a code whose expiry is already past (clock skew) from
/// turning into a busy loop of exports.
const MIN_QR_WAIT: Duration = Duration::from_secs(1);

fn is_login_token_update(update: &UpdatesLike) -> bool {
    let UpdatesLike::Updates(updates) = update else {
        return false;
    };
    match updates {
        tl::enums::Updates::UpdateShort(short) => {
            matches!(short.update, tl::enums::Update::LoginToken)
        }
        tl::enums::Updates::Updates(many) => many
            .updates
            .iter()
            .any(|u| matches!(u, tl::enums::Update::LoginToken)),
        tl::enums::Updates::Combined(many) => many
            .updates
            .iter()
            .any(|u| matches!(u, tl::enums::Update::LoginToken)),
        _ => false,
    }
}

impl QrFlow {
    /// accepted_or_expired waits until the shown code was accepted or ran out.
    async fn accepted_or_expired(&mut self, until: i64) -> Result<(), Error> {
        let left = (until - Utc::now().timestamp()).max(0) as u64;
        let expiry = tokio::time::sleep(Duration::from_secs(left).max(MIN_QR_WAIT));
        tokio::pin!(expiry);
        loop {
            tokio::select! {
                _ = &mut expiry => return Ok(()),
                update = self.updates.recv() => match update {
                    Some(update) if is_login_token_update(&update) => return Ok(()),
                    Some(_) => {}
                    None => return Err(Error::Unavailable("the qr login connection closed".into())),
                },
            }
        }
    }
}

#[async_trait]
impl QrLoginFlow for QrFlow {
    async fn next(&mut self) -> Result<QrLogin, domain::Error> {
        if let Some(until) = self.shown_until.take() {
            self.accepted_or_expired(until).await?;
        }
        let conn = self
            .conn
            .as_ref()
            .ok_or_else(|| Error::Client("the qr login already ended".into()))?;
        let step = match login::export_login_token(conn, &self.app).await {
            Ok(QrToken::Token { token, expires }) => {
                self.shown_until = Some(expires);
                return Ok(QrLogin::Token {
                    url: format!("tg://login?token={}", B64URL.encode(token)),
                    expires: time(expires),
                });
            }
            Ok(QrToken::SignedIn(user)) => QrLogin::SignIn(SignIn::SignedIn(user)),
            Err(Error::PasswordRequired) => QrLogin::SignIn(SignIn::PasswordRequired {
                hint: login::password_hint(conn).await?,
            }),
            Err(err) => return Err(err.into()),
        };
        // Signed in (or waiting for the password, which SubmitPassword
        // finishes on a connection of its own): this one is done.
        if let Some(conn) = self.conn.take() {
            conn.close().await;
        }
        Ok(step)
    }

    async fn close(&mut self) {
        if let Some(conn) = self.conn.take() {
            conn.close().await;
        }
    }
}
