//! What a gateway needs from a sandbox DC, wherever it runs: [`SandboxLink`].
//! [`LocalLink`] drives a sandbox in the same process; the standalone sandbox
//! (`tezgram sandbox`) serves the same operations over its admin API
//! ([`super::admin`]) to [`super::remote::RemoteLink`], so several gateway
//! processes can share one sandbox as they share Telegram.

use std::net::SocketAddr;

use async_trait::async_trait;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::dc::SandboxDcHandle;
use super::mtproto::crypto::auth_key_id;
use super::network::{
    self, ClientInfo, Fault, FaultTarget, Message, OutgoingMessage, Peer, TwoFactor, Update, User,
};

/// Error is why a sandbox operation did not happen.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The sandbox refused, with Telegram's rpc_error code and message
    /// (e.g. 400 `USERNAME_OCCUPIED`), so callers map it as Telegram's.
    #[error("sandbox refused: {code} {message}")]
    Refused { code: i32, message: String },
    /// The sandbox's admin API refused the admin token.
    #[error("the sandbox admin api refused the admin token")]
    Unauthorized,
    /// The sandbox could not be reached, or answered what we cannot read.
    #[error("sandbox unreachable: {0}")]
    Unavailable(String),
    /// A bug on the sandbox side.
    #[error("sandbox internal error: {0}")]
    Internal(String),
}

impl From<network::Error> for Error {
    fn from(err: network::Error) -> Self {
        Error::Refused {
            code: err.code(),
            message: err.message().into_owned(),
        }
    }
}

/// Result is the link's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// UserRef names a sandbox user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UserRef {
    Phone(String),
    Id(i64),
}

/// NewUser is a sandbox user to create. The password is derived into an
/// SRP verifier on the sandbox's side, off its async runtime.
pub struct NewUser {
    pub phone: String,
    pub first_name: String,
    pub last_name: String,
    pub username: Option<String>,
    /// Two-step verification password and hint.
    pub password: Option<(Zeroizing<String>, Option<String>)>,
}

/// SandboxLink is a sandbox DC as the gateway uses it: where its MTProto
/// listens, auth keys for provisioned sessions, and SandboxService's admin
/// operations. Errors keep Telegram's code and message.
#[async_trait]
pub trait SandboxLink: Send + Sync {
    /// mtproto_addr is where sessions connect (their home DC address).
    fn mtproto_addr(&self) -> SocketAddr;

    /// register_auth_key makes a provisioned key usable on the sandbox
    /// (persisted there); returns its auth_key_id.
    async fn register_auth_key(&self, key: [u8; 256]) -> Result<i64>;

    /// create_user creates a user. Errors: PHONE_NUMBER_INVALID,
    /// PHONE_NUMBER_OCCUPIED, USERNAME_INVALID, USERNAME_OCCUPIED.
    async fn create_user(&self, new: NewUser) -> Result<User>;

    /// create_bot creates a bot and returns it with its token.
    async fn create_bot(&self, first_name: &str, username: &str) -> Result<(User, String)>;

    /// user finds a user by phone or id.
    async fn user(&self, user: &UserRef) -> Result<Option<User>>;

    /// users lists users (and bots) by id, after `after`, at most `limit`.
    async fn users(&self, after: i64, limit: u32) -> Result<Vec<User>>;

    /// has_password tells whether a user has two-step verification on.
    async fn has_password(&self, user_id: i64) -> Result<bool>;

    /// send_message sends `text` as user `from` to user `to`, pushes it to
    /// the live sessions concerned, and returns the recipient's copy.
    async fn send_message(&self, from: i64, to: i64, text: String) -> Result<Message>;

    /// accept_qr_login accepts a QR login token as the user, from a device
    /// of theirs outside the gateway (signed in for the occasion), and tells
    /// the exporting session.
    async fn accept_qr_login(&self, user_id: i64, token: &[u8]) -> Result<()>;

    /// inject_flood_wait answers FLOOD_WAIT_`seconds` to the next `count`
    /// calls of `method` (a TL name, or `*` for any) on a key.
    async fn inject_flood_wait(
        &self,
        auth_key_id: i64,
        method: &str,
        seconds: u32,
        count: u32,
    ) -> Result<()>;

    /// revoke_session logs a key out from outside and, like Telegram,
    /// disconnects it.
    async fn revoke_session(&self, auth_key_id: i64) -> Result<()>;

    /// drop_connections drops every live connection of a key; returns how
    /// many.
    async fn drop_connections(&self, auth_key_id: i64) -> Result<usize>;
}

/// LocalLink is a [`SandboxLink`] over a sandbox DC in this process.
#[derive(Clone, Debug)]
pub struct LocalLink {
    dc: SandboxDcHandle,
}

impl LocalLink {
    pub fn new(dc: SandboxDcHandle) -> Self {
        Self { dc }
    }
}

#[async_trait]
impl SandboxLink for LocalLink {
    fn mtproto_addr(&self) -> SocketAddr {
        self.dc.addr()
    }

    async fn register_auth_key(&self, key: [u8; 256]) -> Result<i64> {
        Ok(self.dc.register_auth_key(key))
    }

    async fn create_user(&self, new: NewUser) -> Result<User> {
        let NewUser {
            phone,
            first_name,
            last_name,
            username,
            password,
        } = new;
        let password = match password {
            // SRP verifier derivation is PBKDF2 with 100 000 rounds.
            Some((password, hint)) => Some(
                tokio::task::spawn_blocking(move || TwoFactor::derive(&password, hint))
                    .await
                    .map_err(|err| Error::Internal(err.to_string()))?,
            ),
            None => None,
        };
        Ok(self.dc.network().create_user(network::NewUser {
            phone,
            first_name,
            last_name,
            username,
            password,
        })?)
    }

    async fn create_bot(&self, first_name: &str, username: &str) -> Result<(User, String)> {
        Ok(self.dc.network().create_bot(first_name, username)?)
    }

    async fn user(&self, user: &UserRef) -> Result<Option<User>> {
        let net = self.dc.network();
        Ok(match user {
            UserRef::Phone(phone) => net.user_by_phone(phone),
            UserRef::Id(id) => net.user(*id),
        })
    }

    async fn users(&self, after: i64, limit: u32) -> Result<Vec<User>> {
        Ok(self.dc.network().users(after, limit as usize))
    }

    async fn has_password(&self, user_id: i64) -> Result<bool> {
        Ok(self.dc.network().has_password(user_id)?)
    }

    async fn send_message(&self, from: i64, to: i64, text: String) -> Result<Message> {
        let outcome = self.dc.network().send_message(
            from,
            Peer::User(to),
            OutgoingMessage {
                text,
                entities: None,
                reply_to: None,
                random_id: Some(rand::rng().next_u64() as i64),
                media: None,
            },
        )?;
        let received = outcome.deliveries.iter().find_map(|d| match &d.update {
            Update::NewMessage { message } if d.user_id == to => Some(message.clone()),
            _ => None,
        });
        self.dc.deliver(outcome.deliveries);
        received.ok_or_else(|| Error::Internal("the recipient got no copy of the message".into()))
    }

    async fn accept_qr_login(&self, user_id: i64, token: &[u8]) -> Result<()> {
        let mut key = [0u8; 256];
        rand::rng().fill_bytes(&mut key);
        let device = auth_key_id(&key);
        self.dc.network().sign_in_device(
            user_id,
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
        )?;
        self.dc.accept_login_token(device, token)?;
        Ok(())
    }

    async fn inject_flood_wait(
        &self,
        auth_key_id: i64,
        method: &str,
        seconds: u32,
        count: u32,
    ) -> Result<()> {
        self.dc.network().inject_fault(
            FaultTarget::AuthKey(auth_key_id),
            method,
            Fault::FloodWait { seconds },
            count.max(1),
        );
        Ok(())
    }

    async fn revoke_session(&self, auth_key_id: i64) -> Result<()> {
        self.dc.network().revoke_session(auth_key_id)?;
        self.dc.disconnect(auth_key_id);
        Ok(())
    }

    async fn drop_connections(&self, auth_key_id: i64) -> Result<usize> {
        Ok(self.dc.disconnect(auth_key_id))
    }
}
