//! The MTProto 2.0 server side of the sandbox DC: what the real grammers 0.11
//! client connects to, unchanged.
//!
//! The pieces, outside in:
//!
//! - [`frame`]: the `Full` TCP transport (`len ‖ seq ‖ payload ‖ crc32`).
//! - [`crypto`]: the MTProto 2.0 KDF in both directions, msg_key, AES-IGE.
//! - [`envelope`]: the encrypted payload, the plaintext envelope, containers,
//!   gzip_packed, service messages and RPC wrappers, and the answers.
//! - [`server`]: [`MtprotoServer`] (Options → Service → Handle), one task per
//!   connection, a [`Dispatch`] trait for the simulated Telegram behind it.
//!
//! # Protocol facts relied on, and where they were confirmed
//!
//! All paths are in the grammers 0.11.0 crates.
//!
//! - **No key exchange.** A session whose `DcOption` holds an `auth_key` is
//!   connected with `connect_with_auth`; the DH exchange (which checks
//!   Telegram's RSA keys) only runs when the first call fails with transport
//!   error -404 (`grammers-mtsender/src/sender_pool.rs`, `connect_sender`). So
//!   the server never answers -404: problems close the connection instead.
//! - **Transport.** The pool always uses `transport::Full`, with no init tag
//!   (`sender_pool.rs`, `pub(crate) type Transport = transport::Full`). `Full`
//!   keeps independent send/receive counters starting at 0, so the same type
//!   frames the server side (`grammers-mtproto/src/transport/full.rs`).
//! - **auth_key_id** = SHA1(auth_key)[12..20], written little-endian in front of
//!   each payload (`grammers-crypto/src/auth_key.rs`, `from_bytes`;
//!   `grammers-crypto/src/lib.rs`, `do_encrypt_data_v2`). One server serves many
//!   keys by looking the id up in [`AuthKeys`] on every frame.
//! - **KDF.** msg_key = SHA256(auth_key[88+x..120+x] ‖ plaintext‖padding)[8..24];
//!   aes_key/iv from SHA256(msg_key ‖ auth_key[x..x+36]) and
//!   SHA256(auth_key[40+x..76+x] ‖ msg_key); x = 0 client→server, 8
//!   server→client (`grammers-crypto/src/lib.rs`, `calc_key`, `Side`). The
//!   client pads 17..32 bytes; we accept 12..1024 and send 12..~60.
//! - **Envelope.** salt, session_id, then one message (msg_id, seq_no, length,
//!   body); the client never checks the salt, and **panics** if session_id
//!   differs from its own (`grammers-mtproto/src/mtp/encrypted.rs`,
//!   `deserialize`), so answers echo the client's session_id.
//! - **Salt.** The client starts at salt 0 and only asks for future salts once
//!   it has a non-zero one (`encrypted.rs`, `try_request_salts`). We accept
//!   any salt and never send `bad_server_salt`, nor `new_session_created`
//!   (whose `server_salt` the client would adopt, `handle_new_session_created`;
//!   it is optional in the spec). `get_future_salts` is still answered, with
//!   salt 0, because the client stops sending while one is outstanding.
//! - **What arrives.** Requests, alone or in a `msg_container` with a
//!   `msgs_ack`; bodies ≥ 512 bytes as `gzip_packed` (`encrypted.rs`, `push`;
//!   `grammers-mtproto/src/lib.rs`, `DEFAULT_COMPRESSION_THRESHOLD`); the first
//!   call on each connection is `invokeWithLayer(LAYER, initConnection(...,
//!   help.getConfig))` (`sender_pool.rs`, `connect_sender`); keepalive
//!   `ping_delay_disconnect` every 60 s (`grammers-mtsender/src/sender.rs`).
//! - **What the client expects back.** `rpc_result#f35c6d01 req_msg_id result`
//!   with the boxed result or `rpc_error` (`encrypted.rs`, `handle_rpc_result`);
//!   `pong` as a top-level message whose `msg_id` names the ping
//!   (`handle_pong`); anything unrecognised at top level is taken as `Updates`
//!   (`handle_update`) — that is how pushed updates reach `stream_updates`.
//!   Server msg_ids are time-based, increasing and odd: ≡ 1 mod 4 for answers,
//!   ≡ 3 mod 4 for unsolicited updates (the MTProto spec; grammers checks
//!   neither). Content messages (answers, updates) get odd seq_no.
//! - **help.getConfig** must answer an empty `dc_options`, or the client
//!   overwrites the session's (sandbox) address with what it is told
//!   (`sender_pool.rs`, `update_config`). That is the dispatcher's business.
//! - **Errors.** grammers turns `rpc_error{420, "FLOOD_WAIT_3"}` into
//!   `RpcError{code: 420, name: "FLOOD_WAIT", value: Some(3)}`
//!   (`grammers-mtsender/src/errors.rs`), and its default `AutoSleep` policy
//!   sleeps once through waits ≤ 60 s (`configuration.rs`).
//! - **Dropped connections.** When a connection dies, the pool forgets it and
//!   the next request opens a new one, with a fresh session_id and another
//!   `initConnection` (`sender_pool.rs`, `run`, `create_connection`); the
//!   request in flight fails with an I/O error (retried once after 1 s by
//!   `AutoSleep`).

pub mod crypto;
pub mod envelope;
pub mod frame;
pub mod server;

pub use envelope::ClientInfo;
pub use server::{
    AuthKeys, CallContext, Dispatch, MtprotoServer, MtprotoServerHandle, MtprotoServerOptions,
    RpcError, request_constructor,
};

/// Why a connection was closed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The transport frame was malformed.
    #[error(transparent)]
    Frame(#[from] frame::FrameError),
    /// The encrypted payload or a message in it was malformed.
    #[error(transparent)]
    Envelope(#[from] envelope::EnvelopeError),
    /// The payload's auth_key_id is not registered.
    #[error("unknown auth key {auth_key_id}")]
    UnknownAuthKey { auth_key_id: i64 },
    /// A connection switched keys mid-stream.
    #[error("auth key changed on a live connection")]
    AuthKeyChanged,
    /// Socket I/O failed.
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
}
