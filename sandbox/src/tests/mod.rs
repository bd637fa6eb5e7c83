//! The sandbox DC end to end, driven by the real grammers 0.11 client over
//! loopback: the wire ([`wire`]), logins ([`login`]), messaging
//! ([`messages`]) and one auth key used from two connections
//! ([`duplicate_keys`]). They reach into the DC's internals (the network, the
//! MTProto server with a dispatcher of their own), so they live inside the
//! crate.

mod duplicate_keys;
mod login;
mod messages;
mod wire;
