//! The sandbox DC: a Telegram data-center simulator speaking real MTProto
//! 2.0, so the production path (grammers, MTProto framing and encryption,
//! TL, errors, updates) runs unchanged in tests, demos and `make run`.
//!
//! # Using it
//!
//! This file is the whole public API; everything else is private to the
//! crate. A gateway needs three things from a sandbox:
//!
//! - **A DC to talk to.** [`SandboxDc::start`] runs one in this process and
//!   returns its [`SandboxDcHandle`]; [`RemoteLink::connect`] links to a
//!   standalone one (see [`serve`]) through its admin API.
//! - **Control.** Both implement [`SandboxLink`]: the DC's MTProto address,
//!   registering the auth key of a session the gateway provisions, and the
//!   operations behind SandboxService (create users and bots, write as a
//!   user, accept a QR login, inject faults), and the auth keys it saw
//!   used from two connections at once. Refusals are
//!   [`Error::Refused`] with Telegram's code and message.
//! - **MTProto.** Sessions connect to [`SandboxLink::mtproto_addr`] as their
//!   home DC [`DC_ID`], with a key registered through the link; from then on
//!   they are ordinary Telegram clients.
//!
//! Users and messages come back as plain data ([`User`], [`Message`]).
//! Sandbox phone numbers are `99966XYYYY` (X = 1–3) and log in with the
//! code [`login_code`] gives (X five times).
//!
//! # Inside
//!
//! - `mtproto` is the wire: transport framing, AES-IGE with the server-side
//!   key derivation, message envelopes and containers, and connections.
//! - `network` is the simulated Telegram: users, chats, messages, contacts,
//!   read state, 2FA passwords (SRP), updates, and its persistence.
//! - `rpc` answers the TL methods from the network.
//! - `dc` puts them together on one port; `link` is [`SandboxLink`] and its
//!   in-process implementation; `admin` serves the link's operations over
//!   HTTP for [`RemoteLink`] (`remote`).

mod admin;
mod dc;
mod link;
// Some of the wire's and the network's operations are used only by the
// crate's tests (message containers, a manual clock, groups and channels
// made from outside): dead code in the library build, not in the tests.
#[cfg_attr(not(test), allow(dead_code))]
mod mtproto;
#[cfg_attr(not(test), allow(dead_code))]
mod network;
mod remote;
mod rpc;

#[cfg(test)]
mod tests;

pub use admin::AdminApiOptions;
pub use dc::{DcError, SandboxDc, SandboxDcHandle, SandboxDcOptions, serve};
pub use link::{
    DuplicateKeyIncident, Error, History, MediaFile, Message, NewUser, Peer, Result, SandboxLink,
    User, UserRef,
};
pub use remote::RemoteLink;

/// DC_ID is the data-center id the sandbox answers as; sessions for the
/// sandbox have it as their home DC.
pub const DC_ID: i32 = 2;

/// MAX_TEXT is the longest message text the sandbox accepts, in characters
/// (Telegram's limit).
pub const MAX_TEXT: usize = network::MAX_TEXT;

/// auth_key_id is the id MTProto derives from an auth key (the low 64 bits
/// of its SHA-1): how the link's fault operations name a session.
pub fn auth_key_id(key: &[u8; 256]) -> i64 {
    mtproto::crypto::auth_key_id(key)
}

/// login_code is the code a sandbox phone number logs in with: its DC
/// digit five times (`9996621234` logs in with `22222`); `None` when the
/// number is not a sandbox number (`99966XYYYY`, X = 1–3).
pub fn login_code(phone: &str) -> Option<String> {
    network::login_code(phone)
}
