//! The sandbox DC's admin side, behind SandboxService: create sandbox
//! users, make them write to an account (the inbound customer message),
//! accept a QR login from a user's "other device", and inject faults into an
//! account's session. Sandbox users belong to the tenant that created them:
//! another tenant neither sees them here nor logs in as them.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use tezgram_sandbox::{self as sandbox, Message, NewUser, SandboxLink, User, auth_key_id};

use crate::domain::ports::AccountStore;
use crate::domain::{AccountId, AccountState, Caller, Error, Scope};
use crate::telegram::accounts::Telegram;

use super::require;

pub use tezgram_sandbox::UserRef;

/// NewSandboxUser is a user to create in the sandbox.
pub struct NewSandboxUser {
    pub phone: String,
    pub first_name: String,
    pub last_name: String,
    pub username: Option<String>,
    /// Two-step verification password and hint.
    pub password: Option<(zeroize::Zeroizing<String>, Option<String>)>,
    pub bot: bool,
}

/// SandboxUser is a sandbox user with what a tester needs to log in as it.
pub struct SandboxUser {
    pub user: User,
    pub login_code: Option<String>,
    pub bot_token: Option<String>,
    pub has_password: bool,
}

/// InjectedFault is what to do to an account's session.
pub enum InjectedFault {
    FloodWait { seconds: u32, count: u32 },
    SessionRevoked,
    DropConnection,
}

/// SandboxAdmin drives the sandbox the gateway runs on, through its
/// [`SandboxLink`] (in-process or standalone).
#[derive(Clone)]
pub struct SandboxAdmin {
    link: Arc<dyn SandboxLink>,
    accounts: Arc<dyn AccountStore>,
    telegram: Arc<Telegram>,
}

fn refused(err: sandbox::Error) -> Error {
    match err {
        // Telegram's FLOOD_WAIT_<seconds>: the wait is in the name.
        sandbox::Error::Refused { code: 420, message } => Error::FloodWait {
            retry_after: std::time::Duration::from_secs(
                message
                    .rsplit('_')
                    .next()
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(1),
            ),
        },
        sandbox::Error::Refused { code: 400, message } => Error::InvalidInput {
            reason: "INVALID_ARGUMENT",
            field: "sandbox_user",
            description: message,
        },
        sandbox::Error::Refused { message, .. } | sandbox::Error::Internal(message) => {
            Error::Internal(message)
        }
        sandbox::Error::Unavailable(message) => {
            tracing::warn!(error = %message, "sandbox dc unreachable");
            Error::Unavailable("sandbox dc".into())
        }
        sandbox::Error::Unauthorized => {
            Error::Internal("the sandbox refused the admin token".into())
        }
    }
}

impl SandboxAdmin {
    pub fn new(
        link: Arc<dyn SandboxLink>,
        accounts: Arc<dyn AccountStore>,
        telegram: Arc<Telegram>,
    ) -> Self {
        Self {
            link,
            accounts,
            telegram,
        }
    }

    async fn view(&self, user: User, bot_token: Option<String>) -> Result<SandboxUser, Error> {
        let has_password = match self.link.has_password(user.id).await {
            Ok(has) => has,
            Err(sandbox::Error::Refused { .. }) => false,
            Err(err) => return Err(refused(err)),
        };
        Ok(SandboxUser {
            login_code: user.phone.as_deref().and_then(sandbox::login_code),
            has_password,
            user,
            bot_token,
        })
    }

    /// create_user makes a sandbox user (or bot). The phone number is the
    /// user's natural key: creating an existing number returns that user.
    pub async fn create_user(
        &self,
        caller: &Caller,
        new: NewSandboxUser,
    ) -> Result<SandboxUser, Error> {
        require(caller, Scope::Sandbox)?;
        if new.bot {
            let username = new
                .username
                .ok_or_else(|| Error::invalid("username", "bots need a username"))?;
            let (user, token) = self
                .link
                .create_bot(caller.tenant.as_str(), &new.first_name, &username)
                .await
                .map_err(refused)?;
            return self.view(user, Some(token)).await;
        }
        if sandbox::login_code(&new.phone).is_none() {
            return Err(Error::invalid(
                "phone_number",
                "sandbox numbers are 99966XYYYY with X in 1-3 (the login code is X five times)",
            ));
        }
        let existing = self
            .link
            .user(caller.tenant.as_str(), &UserRef::Phone(new.phone.clone()))
            .await
            .map_err(refused)?;
        if let Some(existing) = existing {
            return self.view(existing, None).await;
        }
        let user = self
            .link
            .create_user(NewUser {
                owner: caller.tenant.as_str().to_owned(),
                phone: new.phone,
                first_name: new.first_name,
                last_name: new.last_name,
                username: new.username,
                about: None,
                password: new.password,
            })
            .await
            .map_err(refused)?;
        self.view(user, None).await
    }

    pub async fn list_users(
        &self,
        caller: &Caller,
        after: i64,
        limit: u32,
    ) -> Result<Vec<SandboxUser>, Error> {
        require(caller, Scope::Sandbox)?;
        let users = self
            .link
            .users(caller.tenant.as_str(), after, limit)
            .await
            .map_err(refused)?;
        let mut views = Vec::with_capacity(users.len());
        for user in users {
            views.push(self.view(user, None).await?);
        }
        Ok(views)
    }

    /// user is one of the caller's tenant's sandbox users; another
    /// tenant's is NOT_FOUND.
    async fn user(&self, caller: &Caller, user: &UserRef) -> Result<User, Error> {
        self.link
            .user(caller.tenant.as_str(), user)
            .await
            .map_err(refused)?
            .ok_or(Error::NotFound {
                resource: "sandbox user",
            })
    }

    async fn telegram_user_of(&self, caller: &Caller, account: AccountId) -> Result<i64, Error> {
        let account = self.accounts.get_account(&caller.tenant, account).await?;
        match (account.state, account.telegram_user_id) {
            (AccountState::Authorized, Some(id)) => Ok(id),
            _ => Err(Error::FailedPrecondition {
                reason: "ACCOUNT_NOT_AUTHORIZED",
                message: format!("the account is {}, not authorized", account.state.as_str()),
            }),
        }
    }

    /// send_as_user makes a sandbox user write to an account (the inbound
    /// customer message); the account's live session receives it. Returns
    /// the message as the account sees it.
    pub async fn send_as_user(
        &self,
        caller: &Caller,
        from: &UserRef,
        to: AccountId,
        text: String,
    ) -> Result<Message, Error> {
        require(caller, Scope::Sandbox)?;
        if text.is_empty() || text.encode_utf16().count() > sandbox::MAX_TEXT {
            return Err(Error::invalid(
                "text",
                format!("must be 1 to {} UTF-16 code units", sandbox::MAX_TEXT),
            ));
        }
        let sender = self.user(caller, from).await?;
        let recipient = self.telegram_user_of(caller, to).await?;
        self.link
            .send_message(caller.tenant.as_str(), sender.id, recipient, text)
            .await
            .map_err(refused)
    }

    /// accept_qr_login accepts a QR login token as the user, from a device
    /// of theirs outside the gateway (made on first use).
    pub async fn accept_qr_login(
        &self,
        caller: &Caller,
        user: &UserRef,
        qr_url: &str,
    ) -> Result<(), Error> {
        require(caller, Scope::Sandbox)?;
        let token = qr_url
            .strip_prefix("tg://login?token=")
            .and_then(|t| B64URL.decode(t).ok())
            .ok_or_else(|| {
                Error::invalid(
                    "qr_url",
                    "must be the tg://login?token=… url StartQrLogin streamed",
                )
            })?;
        let user = self.user(caller, user).await?;
        self.link
            .accept_qr_login(caller.tenant.as_str(), user.id, &token)
            .await
            .map_err(|err| match err {
                sandbox::Error::Refused { code: 400, .. } => {
                    Error::invalid("qr_url", "the token is unknown or expired")
                }
                other => refused(other),
            })?;
        Ok(())
    }

    /// inject_fault makes the account's session misbehave: FLOOD_WAIT on
    /// the next `count` calls of `method` (a TL name like `auth.sendCode`, or
    /// empty for any), a revoked session, or a dropped connection.
    pub async fn inject_fault(
        &self,
        caller: &Caller,
        account: AccountId,
        method: &str,
        fault: InjectedFault,
    ) -> Result<(), Error> {
        require(caller, Scope::Sandbox)?;
        self.accounts.get_account(&caller.tenant, account).await?;
        let key = self
            .telegram
            .home_auth_key(account)
            .await
            .map_err(Error::from)?
            .ok_or_else(|| Error::FailedPrecondition {
                reason: "FAILED_PRECONDITION",
                message: "the account has no sandbox session yet".into(),
            })?;
        let key_id = auth_key_id(&key);
        let method = if method.is_empty() { "*" } else { method };
        match fault {
            InjectedFault::FloodWait { seconds, count } => self
                .link
                .inject_flood_wait(key_id, method, seconds, count.max(1))
                .await
                .map_err(refused)?,
            // Like Telegram, the revoked device is disconnected.
            InjectedFault::SessionRevoked => {
                self.link.revoke_session(key_id).await.map_err(refused)?
            }
            InjectedFault::DropConnection => {
                self.link.drop_connections(key_id).await.map_err(refused)?;
            }
        }
        Ok(())
    }
}
