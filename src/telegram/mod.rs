//! The grammers adapter: the only module that knows grammers. It keeps each
//! account's Telegram session (sealed, in the database), and will own the
//! login flows and the per-account supervisor.

pub mod accounts;
pub mod chats;
pub mod connection;
pub(crate) mod convert;
pub mod error;
pub mod files;
pub mod login;
#[cfg(feature = "sandbox")]
pub mod provision;
pub mod send;
pub mod session;
pub mod supervisor;

pub use error::Error;
pub use session::{SessionError, StoredSession};
