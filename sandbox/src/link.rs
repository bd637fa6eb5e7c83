//! What a gateway needs from a sandbox DC, wherever it runs: [`SandboxLink`],
//! and the plain data it speaks in ([`User`], [`Message`], [`Peer`]). A
//! [`SandboxDcHandle`] is the link to a sandbox in the same process; the
//! standalone sandbox (`tezgram sandbox`) serves the same operations over its
//! admin API ([`crate::admin`]) to [`crate::remote::RemoteLink`], so several
//! gateway processes can share one sandbox as they share Telegram.

use std::net::SocketAddr;

use async_trait::async_trait;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::dc::SandboxDcHandle;
use crate::mtproto::crypto::auth_key_id;
use crate::network::{self, ClientInfo, Fault, FaultTarget, OutgoingMessage, TwoFactor, Update};

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

/// Peer is a dialog as one side sees it: a user, a basic group ("chat") or
/// a channel (broadcast or supergroup), by the sandbox's bare ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Peer {
    User(i64),
    Chat(i64),
    Channel(i64),
}

impl From<network::Peer> for Peer {
    fn from(peer: network::Peer) -> Self {
        match peer {
            network::Peer::User(id) => Peer::User(id),
            network::Peer::Chat(id) => Peer::Chat(id),
            network::Peer::Channel(id) => Peer::Channel(id),
        }
    }
}

/// User is a sandbox user, or bot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub id: i64,
    pub first_name: String,
    pub last_name: String,
    pub username: Option<String>,
    /// phone is the number without `+`, e.g. `9996621234`; bots have none.
    pub phone: Option<String>,
    pub bot: bool,
}

impl From<network::User> for User {
    fn from(user: network::User) -> Self {
        let network::User {
            id,
            access_hash: _,
            first_name,
            last_name,
            username,
            phone,
            bot,
            about: _,
        } = user;
        User {
            id,
            first_name,
            last_name,
            username,
            phone,
            bot,
        }
    }
}

/// Message is one message as one side of its dialog sees it: in private
/// chats each side has its own copy with its own id. Dates are Unix seconds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    pub id: i32,
    /// peer is the dialog, from the viewer's side: in a private chat, the
    /// other user.
    pub peer: Peer,
    /// from_id is the author.
    pub from_id: i64,
    /// out is true when the viewer wrote it.
    pub out: bool,
    pub date: i64,
    pub text: String,
    /// reply_to is the replied message's id in the viewer's box.
    pub reply_to: Option<i32>,
    pub edit_date: Option<i64>,
    /// media is the attached file, if any.
    #[serde(default)]
    pub media: Option<MediaFile>,
}

/// MediaFile is a file attached to a message, as its recipient can check
/// it: what it is and a digest of its bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediaFile {
    pub mime_type: String,
    pub size: i64,
    pub file_name: String,
    /// SHA-256 of the bytes, lowercase hex.
    pub sha256: String,
}

impl From<network::Message> for Message {
    fn from(message: network::Message) -> Self {
        // Entities, forwards and service actions stay inside: the
        // operations that return messages only send plain text.
        let network::Message {
            id,
            peer,
            from_id,
            out,
            date,
            text,
            entities: _,
            reply_to,
            fwd_from: _,
            edit_date,
            action: _,
            media,
        } = message;
        Message {
            id,
            peer: peer.into(),
            from_id,
            out,
            date,
            text,
            reply_to,
            edit_date,
            media: media.map(|media| match media {
                network::Media::Document(d) => MediaFile {
                    mime_type: d.mime_type,
                    size: d.size,
                    file_name: d.file_name,
                    sha256: d.sha256,
                },
            }),
        }
    }
}

/// History is a page of one side of a chat, newest first, and how many
/// messages that side holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct History {
    pub messages: Vec<Message>,
    pub count: usize,
}

/// DuplicateKeyIncident is one time the sandbox saw an auth key used from
/// two connections at once: a connection still calling after a newer one
/// had taken the key over (Telegram's rule for AUTH_KEY_DUPLICATED). The
/// older connection's call answered 406 AUTH_KEY_DUPLICATED and the key is
/// dead from then on. Connection ids count the sandbox's accepted
/// connections since it started (so they give the order they were opened
/// in); `at` is Unix seconds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DuplicateKeyIncident {
    pub auth_key_id: i64,
    /// user_id is who the key was signed in as, if anyone.
    pub user_id: Option<i64>,
    /// older_connection_id is the connection whose call was refused.
    pub older_connection_id: u64,
    /// newer_connection_id is the connection that had taken the key over.
    pub newer_connection_id: u64,
    pub at: i64,
}

impl From<network::DuplicateKeyIncident> for DuplicateKeyIncident {
    fn from(incident: network::DuplicateKeyIncident) -> Self {
        let network::DuplicateKeyIncident {
            auth_key_id,
            user_id,
            older_connection_id,
            newer_connection_id,
            at,
        } = incident;
        DuplicateKeyIncident {
            auth_key_id,
            user_id,
            older_connection_id,
            newer_connection_id,
            at,
        }
    }
}

/// UserRef names a sandbox user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UserRef {
    Phone(String),
    Id(i64),
}

/// NewUser is a sandbox user to create. The password is derived into an
/// SRP verifier on the sandbox's side, off its async runtime.
#[derive(Default)]
pub struct NewUser {
    /// owner is the tenant the user belongs to: only its sessions log in as
    /// the user, and only it sees and acts as the user through the link.
    pub owner: String,
    pub phone: String,
    pub first_name: String,
    pub last_name: String,
    pub username: Option<String>,
    /// about is the user's bio.
    pub about: Option<String>,
    /// Two-step verification password and hint.
    pub password: Option<(Zeroizing<String>, Option<String>)>,
}

/// SandboxLink is a sandbox DC as the gateway uses it: where its MTProto
/// listens, auth keys for provisioned sessions, and SandboxService's admin
/// operations. Errors keep Telegram's code and message.
///
/// Sandbox users belong to a tenant (`owner`): a key registered for a
/// tenant logs in only as its users, and the operations taking an `owner`
/// see and act as that tenant's users only (another's is not found). Implemented by
/// [`SandboxDcHandle`] (in this process) and
/// [`RemoteLink`](crate::RemoteLink) (a standalone sandbox).
#[async_trait]
pub trait SandboxLink: Send + Sync {
    /// mtproto_addr is where sessions connect (their home DC address).
    fn mtproto_addr(&self) -> SocketAddr;

    /// register_auth_key makes a provisioned key usable on the sandbox
    /// (persisted there) for `owner`'s logins; returns its auth_key_id.
    async fn register_auth_key(&self, owner: &str, key: [u8; 256]) -> Result<i64>;

    /// create_user creates a user. Errors: PHONE_NUMBER_INVALID,
    /// PHONE_NUMBER_OCCUPIED, USERNAME_INVALID, USERNAME_OCCUPIED.
    async fn create_user(&self, new: NewUser) -> Result<User>;

    /// create_bot creates a bot and returns it with its token.
    async fn create_bot(
        &self,
        owner: &str,
        first_name: &str,
        username: &str,
    ) -> Result<(User, String)>;

    /// user finds one of `owner`'s users by phone or id.
    async fn user(&self, owner: &str, user: &UserRef) -> Result<Option<User>>;

    /// users lists `owner`'s users (and bots) by id, after `after`, at most
    /// `limit`.
    async fn users(&self, owner: &str, after: i64, limit: u32) -> Result<Vec<User>>;

    /// has_password tells whether a user has two-step verification on.
    async fn has_password(&self, user_id: i64) -> Result<bool>;

    /// send_message sends `text` as user `from` to user `to`, pushes it to
    /// the live sessions concerned, and returns the recipient's copy.
    /// `from` must be `owner`'s (else USER_ID_INVALID).
    async fn send_message(&self, owner: &str, from: i64, to: i64, text: String) -> Result<Message>;

    /// history is user `user_id`'s side of its private chat with user
    /// `with`: the newest `limit` messages (at most 100), newest first, and
    /// how many the chat holds. `user_id` must be `owner`'s (else
    /// USER_ID_INVALID). What a test counts to prove a send reached Telegram
    /// once.
    async fn history(&self, owner: &str, user_id: i64, with: i64, limit: u32) -> Result<History>;

    /// contacts is user `user_id`'s contact list, as their Telegram apps
    /// show it. `user_id` must be `owner`'s (else USER_ID_INVALID). What a
    /// test reads to prove an import reached Telegram.
    async fn contacts(&self, owner: &str, user_id: i64) -> Result<Vec<User>>;

    /// accept_qr_login accepts a QR login token as the user, from a device
    /// of theirs outside the gateway (signed in for the occasion), and tells
    /// the exporting session.
    /// The user must be `owner`'s (else USER_ID_INVALID), and so must the
    /// token's exporter (else AUTH_TOKEN_INVALID).
    async fn accept_qr_login(&self, owner: &str, user_id: i64, token: &[u8]) -> Result<()>;

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

    /// duplicate_key_incidents lists every time the sandbox saw an auth key
    /// used from two connections at once, oldest first, whoever's key it
    /// was: empty is the proof that every account was used from one place
    /// at a time.
    async fn duplicate_key_incidents(&self) -> Result<Vec<DuplicateKeyIncident>>;
}

/// The in-process sandbox DC is its own link.
#[async_trait]
impl SandboxLink for SandboxDcHandle {
    fn mtproto_addr(&self) -> SocketAddr {
        self.addr()
    }

    async fn register_auth_key(&self, owner: &str, key: [u8; 256]) -> Result<i64> {
        Ok(self.register_key(key, Some(owner)))
    }

    async fn create_user(&self, new: NewUser) -> Result<User> {
        let NewUser {
            owner,
            phone,
            first_name,
            last_name,
            username,
            about,
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
        let user = self.network().create_user(network::NewUser {
            phone,
            first_name,
            last_name,
            username,
            about,
            password,
            owner: Some(owner),
        })?;
        Ok(user.into())
    }

    async fn create_bot(
        &self,
        owner: &str,
        first_name: &str,
        username: &str,
    ) -> Result<(User, String)> {
        let (bot, token) = self
            .network()
            .create_bot(first_name, username, Some(owner))?;
        Ok((bot.into(), token))
    }

    async fn user(&self, owner: &str, user: &UserRef) -> Result<Option<User>> {
        let net = self.network();
        let found = match user {
            UserRef::Phone(phone) => net.user_by_phone(phone),
            UserRef::Id(id) => net.user(*id),
        };
        Ok(found
            .filter(|user| net.owned_by(user.id, owner))
            .map(User::from))
    }

    async fn users(&self, owner: &str, after: i64, limit: u32) -> Result<Vec<User>> {
        let users = self.network().users(after, limit as usize, Some(owner));
        Ok(users.into_iter().map(User::from).collect())
    }

    async fn has_password(&self, user_id: i64) -> Result<bool> {
        Ok(self.network().has_password(user_id)?)
    }

    async fn send_message(&self, owner: &str, from: i64, to: i64, text: String) -> Result<Message> {
        if !self.network().owned_by(from, owner) {
            return Err(not_owned());
        }
        let outcome = self.network().send_message(
            from,
            network::Peer::User(to),
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
        self.deliver(outcome.deliveries);
        received
            .map(Message::from)
            .ok_or_else(|| Error::Internal("the recipient got no copy of the message".into()))
    }

    async fn history(&self, owner: &str, user_id: i64, with: i64, limit: u32) -> Result<History> {
        if !self.network().owned_by(user_id, owner) {
            return Err(not_owned());
        }
        let page = self.network().history(
            user_id,
            network::Peer::User(with),
            &network::HistoryQuery {
                limit: limit.min(network::MAX_PAGE as u32) as usize,
                ..Default::default()
            },
        )?;
        Ok(History {
            messages: page.messages.into_iter().map(Message::from).collect(),
            count: page.count,
        })
    }

    async fn contacts(&self, owner: &str, user_id: i64) -> Result<Vec<User>> {
        if !self.network().owned_by(user_id, owner) {
            return Err(not_owned());
        }
        Ok(self
            .network()
            .contacts(user_id)?
            .into_iter()
            .map(User::from)
            .collect())
    }

    async fn accept_qr_login(&self, owner: &str, user_id: i64, token: &[u8]) -> Result<()> {
        if !self.network().owned_by(user_id, owner) {
            return Err(not_owned());
        }
        let mut key = [0u8; 256];
        rand::rng().fill_bytes(&mut key);
        let device = auth_key_id(&key);
        self.network()
            .sign_in_device(user_id, key, device, sandbox_phone())?;
        self.accept_login_token(device, token)?;
        Ok(())
    }

    async fn inject_flood_wait(
        &self,
        auth_key_id: i64,
        method: &str,
        seconds: u32,
        count: u32,
    ) -> Result<()> {
        self.network().inject_fault(
            FaultTarget::AuthKey(auth_key_id),
            method,
            Fault::FloodWait { seconds },
            count.max(1),
        );
        Ok(())
    }

    async fn revoke_session(&self, auth_key_id: i64) -> Result<()> {
        self.network().revoke_session(auth_key_id)?;
        self.disconnect(auth_key_id);
        Ok(())
    }

    async fn drop_connections(&self, auth_key_id: i64) -> Result<usize> {
        Ok(self.disconnect(auth_key_id))
    }

    async fn duplicate_key_incidents(&self) -> Result<Vec<DuplicateKeyIncident>> {
        Ok(self
            .network()
            .duplicate_key_incidents()
            .into_iter()
            .map(DuplicateKeyIncident::from)
            .collect())
    }
}

/// not_owned is how the link refuses another tenant's user: as Telegram
/// refuses a user id it does not know.
fn not_owned() -> Error {
    Error::Refused {
        code: 400,
        message: "USER_ID_INVALID".into(),
    }
}

/// sandbox_phone is the device a sandbox user signs in on outside the
/// gateway (their "other device").
pub(crate) fn sandbox_phone() -> ClientInfo {
    ClientInfo {
        api_id: 0,
        device_model: "Sandbox phone".into(),
        platform: "sandbox".into(),
        system_version: "1.0".into(),
        app_name: "Telegram Sandbox".into(),
        app_version: "1.0".into(),
        ip: "127.0.0.1".into(),
    }
}
