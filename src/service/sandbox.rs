//! The sandbox DC's admin side, behind SandboxService: create sandbox
//! users, make them write to an account (the inbound customer message),
//! accept a QR login from a user's "other device", and inject faults into an
//! account's session. Sandbox users are shared by all tenants, as Telegram
//! users are; accounts stay tenant-scoped.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use rand::RngCore;

use crate::domain::ports::AccountStore;
use crate::domain::{AccountId, AccountState, Caller, Error, Scope};
use crate::sandbox::dc::SandboxDcHandle;
use crate::sandbox::mtproto::crypto::auth_key_id;
use crate::sandbox::network::{
    self, ClientInfo, Fault, FaultTarget, Message, NewUser, OutgoingMessage, Peer, TwoFactor,
    Update, User,
};
use crate::telegram::accounts::Telegram;

use super::require;

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

/// UserRef names a sandbox user.
pub enum UserRef {
    Phone(String),
    Id(i64),
}

/// InjectedFault is what to do to an account's session.
pub enum InjectedFault {
    FloodWait { seconds: u32, count: u32 },
    SessionRevoked,
    DropConnection,
}

#[derive(Clone)]
pub struct SandboxAdmin {
    dc: SandboxDcHandle,
    accounts: Arc<dyn AccountStore>,
    telegram: Arc<Telegram>,
}

fn refused(err: network::Error) -> Error {
    let message = err.message().into_owned();
    match err.code() {
        420 => Error::FloodWait {
            retry_after: std::time::Duration::from_secs(1),
        },
        400 => Error::InvalidInput {
            reason: "INVALID_ARGUMENT",
            field: "sandbox_user",
            description: message,
        },
        _ => Error::Internal(message),
    }
}

/// login_code is the code of a sandbox phone number: its DC digit five times.
fn login_code(phone: &str) -> Option<String> {
    network::sandbox_dc(phone).map(|dc| char::from(b'0' + dc).to_string().repeat(5))
}

impl SandboxAdmin {
    pub fn new(
        dc: SandboxDcHandle,
        accounts: Arc<dyn AccountStore>,
        telegram: Arc<Telegram>,
    ) -> Self {
        Self {
            dc,
            accounts,
            telegram,
        }
    }

    fn view(&self, user: User, bot_token: Option<String>) -> SandboxUser {
        SandboxUser {
            login_code: user.phone.as_deref().and_then(login_code),
            has_password: self.dc.network().has_password(user.id).unwrap_or(false),
            user,
            bot_token,
        }
    }

    /// create_user makes a sandbox user (or bot). The phone number is the
    /// user's natural key: creating an existing number returns that user.
    pub async fn create_user(
        &self,
        caller: &Caller,
        new: NewSandboxUser,
    ) -> Result<SandboxUser, Error> {
        require(caller, Scope::Sandbox)?;
        let net = self.dc.network();
        if new.bot {
            let username = new
                .username
                .ok_or_else(|| Error::invalid("username", "bots need a username"))?;
            let (user, token) = net
                .create_bot(&new.first_name, &username)
                .map_err(refused)?;
            return Ok(self.view(user, Some(token)));
        }
        if network::sandbox_dc(&new.phone).is_none() {
            return Err(Error::invalid(
                "phone_number",
                "sandbox numbers are 99966XYYYY with X in 1-3 (the login code is X five times)",
            ));
        }
        if let Some(existing) = net.user_by_phone(&new.phone) {
            return Ok(self.view(existing, None));
        }
        let password = match new.password {
            // SRP verifier derivation is PBKDF2 with 100 000 rounds.
            Some((password, hint)) => Some(
                tokio::task::spawn_blocking(move || TwoFactor::derive(&password, hint))
                    .await
                    .map_err(|err| Error::Internal(err.to_string()))?,
            ),
            None => None,
        };
        let user = net
            .create_user(NewUser {
                phone: new.phone,
                first_name: new.first_name,
                last_name: new.last_name,
                username: new.username,
                password,
            })
            .map_err(refused)?;
        Ok(self.view(user, None))
    }

    pub async fn list_users(
        &self,
        caller: &Caller,
        after: i64,
        limit: u32,
    ) -> Result<Vec<SandboxUser>, Error> {
        require(caller, Scope::Sandbox)?;
        Ok(self
            .dc
            .network()
            .users(after, limit as usize)
            .into_iter()
            .map(|user| self.view(user, None))
            .collect())
    }

    fn user(&self, user: &UserRef) -> Result<User, Error> {
        let net = self.dc.network();
        let found = match user {
            UserRef::Phone(phone) => net.user_by_phone(phone),
            UserRef::Id(id) => net.user(*id),
        };
        found.ok_or(Error::NotFound {
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
        if text.is_empty() || text.chars().count() > network::MAX_TEXT {
            return Err(Error::invalid(
                "text",
                format!("must be 1 to {} characters", network::MAX_TEXT),
            ));
        }
        let sender = self.user(from)?;
        let recipient = self.telegram_user_of(caller, to).await?;
        let outcome = self
            .dc
            .network()
            .send_message(
                sender.id,
                Peer::User(recipient),
                OutgoingMessage {
                    text,
                    entities: None,
                    reply_to: None,
                    random_id: Some(rand::rng().next_u64() as i64),
                },
            )
            .map_err(refused)?;
        let received = outcome.deliveries.iter().find_map(|d| match &d.update {
            Update::NewMessage { message } if d.user_id == recipient => Some(message.clone()),
            _ => None,
        });
        self.dc.deliver(outcome.deliveries);
        received.ok_or_else(|| Error::Internal("the recipient got no copy of the message".into()))
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
        let user = self.user(user)?;
        let mut key = [0u8; 256];
        rand::rng().fill_bytes(&mut key);
        let device = auth_key_id(&key);
        self.dc
            .network()
            .sign_in_device(
                user.id,
                key,
                device,
                ClientInfo {
                    api_id: 0,
                    device_model: "Sandbox phone".into(),
                    platform: "sandbox".into(),
                    system_version: "1.0".into(),
                    app_name: "Telegram Sandbox".into(),
                    app_version: "1.0".into(),
                    ip: "127.0.0.1".into(),
                },
            )
            .map_err(refused)?;
        self.dc
            .accept_login_token(device, &token)
            .map_err(|err| match err.code() {
                400 => Error::invalid("qr_url", "the token is unknown or expired"),
                _ => refused(err),
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
        let net = self.dc.network();
        match fault {
            InjectedFault::FloodWait { seconds, count } => {
                net.inject_fault(
                    FaultTarget::AuthKey(key_id),
                    method,
                    Fault::FloodWait { seconds },
                    count.max(1),
                );
            }
            InjectedFault::SessionRevoked => {
                net.revoke_session(key_id).map_err(refused)?;
                // Like Telegram, the revoked device is disconnected.
                self.dc.disconnect(key_id);
            }
            InjectedFault::DropConnection => {
                self.dc.disconnect(key_id);
            }
        }
        Ok(())
    }
}
