//! [`Telegram`]: the adapter behind the domain's `TelegramAccounts` port.
//! Each account has one [`StoredSession`] per process (shared by login calls
//! and, once authorized, its supervisor); login calls run on a short-lived
//! [`Connection`] over it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use chrono::{DateTime, Utc};

use super::connection::Connection;
use super::login::{self, App, QrToken};
use super::session::SessionData;
use super::{Error, SessionError, StoredSession};
use crate::crypto::Sealer;
use crate::domain::login::{CodeSent, QrLogin, SignIn, TelegramDevice, TelegramUser};
use crate::domain::ports::{SessionStore, TelegramAccounts};
use crate::domain::{self, AccountId};

/// Provisioner decides where new sessions connect: Telegram's data centers
/// (the client then creates its auth key by DH), or the sandbox DC (which
/// cannot do DH with Telegram's keys, so the key is made here and registered).
#[async_trait]
pub trait Provisioner: Send + Sync + 'static {
    async fn new_session(&self) -> Result<SessionData, Error>;

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
    async fn new_session(&self) -> Result<SessionData, Error> {
        let known = grammers_session::SessionData::default();
        Ok(SessionData {
            home_dc: known.home_dc,
            dc_options: known.dc_options.into_iter().collect(),
            ..SessionData::default()
        })
    }
}

/// Telegram talks to Telegram (or the sandbox DC) for every account.
pub struct Telegram {
    app: App,
    provisioner: Arc<dyn Provisioner>,
    store: Arc<dyn SessionStore>,
    sealer: Sealer,
    sessions: Mutex<HashMap<AccountId, Weak<StoredSession>>>,
}

impl From<SessionError> for Error {
    fn from(err: SessionError) -> Self {
        match err {
            SessionError::Store(crate::domain::ports::StoreError::Unavailable(detail)) => {
                Error::Unavailable(detail)
            }
            other => Error::Client(other.to_string()),
        }
    }
}

impl Telegram {
    pub fn new(
        app: App,
        provisioner: Arc<dyn Provisioner>,
        store: Arc<dyn SessionStore>,
        sealer: Sealer,
    ) -> Self {
        Self {
            app,
            provisioner,
            store,
            sealer,
            sessions: Mutex::new(HashMap::new()),
        }
    }

    pub fn app(&self) -> &App {
        &self.app
    }

    fn cached(&self, account: AccountId) -> Option<Arc<StoredSession>> {
        let mut sessions = self.sessions.lock().expect("session registry lock");
        sessions.retain(|_, weak| weak.strong_count() > 0);
        sessions.get(&account).and_then(Weak::upgrade)
    }

    fn remember(&self, session: &Arc<StoredSession>) {
        self.sessions
            .lock()
            .expect("session registry lock")
            .insert(session.account(), Arc::downgrade(session));
    }

    /// session is the account's session: the one already open in this
    /// process, or the stored one. An account never prepared has none.
    pub async fn session(&self, account: AccountId) -> Result<Arc<StoredSession>, Error> {
        if let Some(session) = self.cached(account) {
            return Ok(session);
        }
        let Some(session) =
            StoredSession::load(account, self.store.clone(), self.sealer.clone()).await?
        else {
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
        self.remember(&session);
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
        Ok(Connection::open(
            self.session(account).await?,
            self.app.api_id,
        ))
    }

    /// with runs one call on a short-lived connection and closes it.
    async fn with<T>(
        &self,
        account: AccountId,
        call: impl AsyncFnOnce(&Connection) -> Result<T, Error>,
    ) -> Result<T, domain::Error> {
        let conn = self.connect(account).await?;
        let result = call(&conn).await;
        conn.close().await;
        Ok(result?)
    }
}

fn time(unix: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(unix, 0).unwrap_or_default()
}

#[async_trait]
impl TelegramAccounts for Telegram {
    async fn prepare(&self, account: AccountId) -> Result<(), domain::Error> {
        let data = self.provisioner.new_session().await?;
        let session = StoredSession::create(account, self.store.clone(), self.sealer.clone(), data)
            .await
            .map_err(Error::from)?;
        self.remember(&session);
        Ok(())
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

    async fn qr_login(&self, account: AccountId) -> Result<QrLogin, domain::Error> {
        let app = self.app.clone();
        self.with(account, async |conn| {
            match login::export_login_token(conn, &app).await {
                Ok(QrToken::Token { token, expires }) => Ok(QrLogin::Token {
                    url: format!("tg://login?token={}", B64URL.encode(token)),
                    expires: time(expires),
                }),
                Ok(QrToken::SignedIn(user)) => Ok(QrLogin::SignIn(SignIn::SignedIn(user))),
                Err(Error::PasswordRequired) => Ok(QrLogin::SignIn(SignIn::PasswordRequired {
                    hint: login::password_hint(conn).await?,
                })),
                Err(err) => Err(err),
            }
        })
        .await
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
