//! The sandbox DC: a Telegram data-center simulator speaking real MTProto
//! 2.0, so the production path (grammers, MTProto framing and encryption,
//! TL, errors, updates) runs unchanged in tests and in `make run`.
//!
//! - [`mtproto`] is the wire: transport framing, AES-IGE with the server-side
//!   key derivation, message envelopes and containers, and connections.
//! - [`network`] is the simulated Telegram: users, chats, messages, contacts,
//!   read state, 2FA passwords (SRP), updates, and its persistence.
//! - [`rpc`] answers the TL methods from the network.
//! - [`dc`] puts them together: [`dc::SandboxDc`] starts one on a port.
//! - [`link`] is what a gateway needs from a sandbox ([`link::SandboxLink`]):
//!   in-process ([`link::LocalLink`]) or standalone, through the admin API
//!   ([`admin`]) with [`remote::RemoteLink`].

/// DC_ID is the data-center id the sandbox answers as; sessions for the
/// sandbox have it as their home DC.
pub const DC_ID: i32 = 2;

pub mod admin;
pub mod dc;
pub mod link;
pub mod mtproto;
pub mod network;
pub mod remote;
pub mod rpc;

#[cfg(test)]
mod tests;
