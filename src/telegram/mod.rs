//! The grammers adapter: the only module that knows grammers. It keeps each
//! account's Telegram session (sealed, in the database), and will own the
//! login flows and the per-account supervisor.

pub mod connection;
pub mod error;
pub mod login;
pub mod session;

pub use error::Error;
pub use session::{SessionError, StoredSession};
