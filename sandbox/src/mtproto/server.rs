//! The MTProto server: accepts TCP connections, decrypts, dispatches, answers.

use std::collections::{BTreeSet, HashMap};
use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use futures::FutureExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, mpsc, watch};
use tracing::{debug, info, warn};

use super::Error;
use super::crypto::{AuthKey, Direction};
use super::envelope::{
    self, Call, ClientInfo, Envelope, EnvelopeError, Inbound, Message, MsgKind, OutboundSequence,
};
use super::frame::{FrameReader, FrameWriter};

/// An RPC error answered to the client as `rpc_error{code, message}`.
///
/// grammers splits a trailing number off the message: `FLOOD_WAIT_3` reaches
/// callers as `{name: "FLOOD_WAIT", value: Some(3)}`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RpcError {
    pub code: i32,
    pub message: String,
}

impl RpcError {
    /// An error with any code and message.
    pub fn new(code: i32, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    /// 420 `FLOOD_WAIT_<seconds>`.
    pub fn flood_wait(seconds: u32) -> Self {
        Self::new(420, format!("FLOOD_WAIT_{seconds}"))
    }

    /// 406 `AUTH_KEY_DUPLICATED`: the key was used from two connections at
    /// once (see [`KeyCallers`]) and is dead for good.
    pub fn auth_key_duplicated() -> Self {
        Self::new(406, "AUTH_KEY_DUPLICATED")
    }

    /// 500 `INTERNAL`: what a panicking dispatcher answers.
    pub fn internal() -> Self {
        Self::new(500, "INTERNAL")
    }

    /// 400 `INPUT_FETCH_ERROR`: the request could not be decoded.
    pub fn input_fetch_error() -> Self {
        Self::new(400, "INPUT_FETCH_ERROR")
    }

    /// 400 `INPUT_METHOD_INVALID_<constructor>` (decimal): a method the
    /// dispatcher does not implement. grammers reports it as
    /// `{name: "INPUT_METHOD_INVALID", value: Some(constructor)}`.
    pub fn method_invalid(request: &[u8]) -> Self {
        let constructor = request_constructor(request).unwrap_or(0);
        Self::new(400, format!("INPUT_METHOD_INVALID_{constructor}"))
    }
}

/// The constructor id of a serialized request, `None` if it is shorter than 4 bytes.
pub fn request_constructor(request: &[u8]) -> Option<u32> {
    envelope::constructor_id(request)
}

/// Who is calling: available to the dispatcher with every request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallContext {
    /// The authorization key the request was encrypted with.
    pub auth_key_id: i64,
    /// The client's MTProto session (one per grammers connection).
    pub session_id: i64,
    /// The layer from the connection's latest `invokeWithLayer`.
    pub layer: Option<i32>,
    /// The connection's latest `initConnection` fields.
    pub client: Option<ClientInfo>,
    /// Identifies the TCP connection, unique for the server's lifetime.
    pub connection_id: u64,
    /// The msg_id of the request.
    pub msg_id: i64,
}

/// The simulated Telegram behind the wire.
#[async_trait]
pub trait Dispatch: Send + Sync + 'static {
    /// Answers one call. `request` is the TL-serialized function, constructor
    /// id first, wrappers removed; `Ok` is the TL-serialized boxed result (with
    /// its constructor id, i.e. serialized through `tl::enums`).
    async fn call(&self, ctx: &CallContext, request: &[u8]) -> Result<Vec<u8>, RpcError>;

    /// concurrent_use is told, instead of [`Dispatch::call`], of a call
    /// (`request`, as for `call`) that uses its auth key concurrently with
    /// the newer connection `newer_connection_id` (the rule is
    /// [`KeyCallers`]'s), and returns what the call answers. It runs on the
    /// connection's own task before any later call of that connection is
    /// read, so whatever it does to the key (Telegram invalidates it) is in
    /// place for every later call; it must be quick and must not block.
    fn concurrent_use(
        &self,
        ctx: &CallContext,
        request: &[u8],
        newer_connection_id: u64,
    ) -> RpcError {
        let _ = (ctx, request, newer_connection_id);
        RpcError::auth_key_duplicated()
    }
}

/// The registered authorization keys, shared by the server and whoever
/// provisions sandbox accounts. Cheap to clone.
#[derive(Clone, Default)]
pub struct AuthKeys {
    keys: Arc<RwLock<HashMap<i64, Arc<AuthKey>>>>,
}

impl std::fmt::Debug for AuthKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthKeys")
            .field("ids", &self.ids())
            .finish()
    }
}

impl AuthKeys {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers a key and returns its auth_key_id.
    pub fn register(&self, key: [u8; 256]) -> i64 {
        let key = AuthKey::from_bytes(key);
        let id = key.id();
        self.write().insert(id, Arc::new(key));
        id
    }

    /// Forgets a key; its live connections are closed on their next frame.
    /// Returns whether it was registered.
    #[allow(dead_code, reason = "no operation forgets a key on the wire yet")]
    pub fn remove(&self, auth_key_id: i64) -> bool {
        self.write().remove(&auth_key_id).is_some()
    }

    /// Whether a key is registered.
    #[allow(dead_code, reason = "no operation forgets a key on the wire yet")]
    pub fn contains(&self, auth_key_id: i64) -> bool {
        self.read().contains_key(&auth_key_id)
    }

    /// All registered key ids.
    pub fn ids(&self) -> Vec<i64> {
        self.read().keys().copied().collect()
    }

    fn get(&self, auth_key_id: i64) -> Option<Arc<AuthKey>> {
        self.read().get(&auth_key_id).cloned()
    }

    // A poisoned lock only means a panic elsewhere while holding it; the map
    // itself is always consistent (single inserts/removes), so keep going.
    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<i64, Arc<AuthKey>>> {
        self.keys.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<i64, Arc<AuthKey>>> {
        self.keys.write().unwrap_or_else(|e| e.into_inner())
    }
}

/// How to run the server.
#[derive(Clone, Debug)]
pub struct MtprotoServerOptions {
    /// Where to listen; loopback with an ephemeral port by default.
    pub listen: SocketAddr,
    /// Outgoing messages buffered per connection before pushes are dropped
    /// and answers wait.
    pub outbound_queue: usize,
    /// The largest transport frame accepted, in bytes.
    pub max_frame_len: usize,
    /// Refuse a call that uses its auth key concurrently with another
    /// connection ([`KeyCallers`]), as Telegram does; on by default.
    pub detect_duplicate_keys: bool,
}

impl Default for MtprotoServerOptions {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            outbound_queue: 256,
            // grammers caps a container at ~1 MiB (`MessageContainer::MAXIMUM_SIZE`).
            max_frame_len: 2 << 20,
            detect_duplicate_keys: true,
        }
    }
}

/// One message for a connection's writer.
struct Outbound {
    body: Vec<u8>,
    kind: MsgKind,
    content_related: bool,
}

struct LiveConnection {
    auth_key_id: Option<i64>,
    tx: mpsc::Sender<Outbound>,
    kill: Arc<Notify>,
}

/// Connections is what the server knows of its open connections, under one
/// lock: a connection stops being a key's caller in the same critical
/// section that forgets it, so a closed connection never counts.
#[derive(Default)]
struct Connections {
    live: HashMap<u64, LiveConnection>,
    callers: KeyCallers,
}

/// KeyCallers tells one client that reconnected from two clients sharing an
/// auth key, which Telegram punishes: the offending call answers 406
/// `AUTH_KEY_DUPLICATED` and the key is dead for good.
///
/// Per auth key it remembers which open connections have made calls (RPC
/// calls: acks, pings and `get_future_salts` never reach it, since a
/// connection being given up may still send them). Connection ids are given
/// out in accept order, so they are the order connections were opened in. A
/// call on connection Y is
///
/// - fine when no connection opened after Y has called on the key and is
///   still open: Y takes over, and older ones that called are presumably
///   dying (a client that reconnected, whose old connection the server has
///   not seen close yet: its FIN is on the way, or it is half-open after a
///   network change);
/// - **concurrent usage** when a connection opened after Y has called on the
///   key and is still open: an older connection still calling after a newer
///   one took over is a second client.
///
/// A connection that closes is forgotten ([`KeyCallers::closed`]), so it
/// never counts.
///
/// Checking this one direction is enough. Take two clients on one key with
/// open connections X (older) and Y (newer). While all of X's calls come
/// before all of Y's, the server sees exactly what a reconnect looks like
/// (X went quiet, Y took over) and the key was never used from both at
/// once. Two processes calling alternately, or at the same time, break
/// that order on X's first call after any call of Y, and that call is
/// refused. Refusing the other direction too (Y calling while an older X
/// that called is open) would catch no further pair of live clients, and
/// would refuse every ordinary reconnect whose old connection's close the
/// server has not processed yet.
///
/// Why all open callers and not only the key's last one: with X < Y < Z all
/// calling, Z closing and X calling again, X is still concurrent with Y;
/// remembering only the last caller (Z, then nobody once it closed) would
/// let that through.
#[derive(Default)]
struct KeyCallers {
    by_key: HashMap<i64, BTreeSet<u64>>,
}

impl KeyCallers {
    /// call records a call on `connection` with `auth_key_id`; `Err` names
    /// the newest open connection, opened after this one, that has called
    /// on the key: the call is concurrent usage, and is not recorded.
    fn call(&mut self, auth_key_id: i64, connection: u64) -> Result<(), u64> {
        let callers = self.by_key.entry(auth_key_id).or_default();
        if let Some(&newer) = callers.range(connection + 1..).next_back() {
            return Err(newer);
        }
        callers.insert(connection);
        Ok(())
    }

    /// closed forgets a connection that was bound to `auth_key_id`.
    fn closed(&mut self, auth_key_id: i64, connection: u64) {
        if let Some(callers) = self.by_key.get_mut(&auth_key_id) {
            callers.remove(&connection);
            if callers.is_empty() {
                self.by_key.remove(&auth_key_id);
            }
        }
    }
}

struct Shared {
    keys: AuthKeys,
    dispatch: Arc<dyn Dispatch>,
    options: MtprotoServerOptions,
    connections: Mutex<Connections>,
    next_connection_id: AtomicU64,
    shutdown: watch::Sender<bool>,
}

impl Shared {
    fn connections(&self) -> std::sync::MutexGuard<'_, Connections> {
        // See `AuthKeys::read`: every critical section leaves the maps consistent.
        self.connections.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The sandbox DC's MTProto endpoint (Options → Service → Handle).
pub struct MtprotoServer {
    listener: TcpListener,
    shared: Arc<Shared>,
}

/// Controls a running [`MtprotoServer`]. Cheap to clone.
#[derive(Clone)]
pub struct MtprotoServerHandle {
    local_addr: SocketAddr,
    shared: Arc<Shared>,
}

impl MtprotoServer {
    /// Binds the listening socket.
    pub async fn bind(
        options: MtprotoServerOptions,
        keys: AuthKeys,
        dispatch: Arc<dyn Dispatch>,
    ) -> Result<Self, Error> {
        let listener = TcpListener::bind(options.listen).await?;
        let (shutdown, _) = watch::channel(false);
        Ok(Self {
            listener,
            shared: Arc::new(Shared {
                keys,
                dispatch,
                options,
                connections: Mutex::new(Connections::default()),
                next_connection_id: AtomicU64::new(1),
                shutdown,
            }),
        })
    }

    /// A handle to the server.
    pub fn handle(&self) -> MtprotoServerHandle {
        MtprotoServerHandle {
            local_addr: self
                .listener
                .local_addr()
                .expect("a bound listener has a local address"),
            shared: Arc::clone(&self.shared),
        }
    }

    /// Accepts connections until [`MtprotoServerHandle::shutdown`].
    pub async fn run(self) {
        let mut shutdown = self.shared.shutdown.subscribe();
        let local_addr = self.listener.local_addr().ok();
        info!(?local_addr, "sandbox mtproto server listening");
        loop {
            tokio::select! {
                _ = stopped(&mut shutdown) => break,
                accepted = self.listener.accept() => match accepted {
                    Ok((stream, peer)) => {
                        let id = self.shared.next_connection_id.fetch_add(1, Ordering::Relaxed);
                        let shared = Arc::clone(&self.shared);
                        tokio::spawn(serve_connection(shared, stream, peer, id));
                    }
                    Err(error) => {
                        warn!(%error, "accept failed");
                        // Out of file descriptors and the like: don't spin.
                        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    }
                },
            }
        }
        info!(?local_addr, "sandbox mtproto server stopped");
    }
}

impl MtprotoServerHandle {
    /// The address clients connect to.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The registry of authorization keys the server accepts.
    pub fn keys(&self) -> &AuthKeys {
        &self.shared.keys
    }

    /// Sends serialized `tl::enums::Updates` unsolicited to every live
    /// connection of the key. Returns how many connections took it; a
    /// connection whose queue is full drops it (the client recovers through
    /// getDifference, as with real Telegram).
    pub fn push(&self, auth_key_id: i64, updates: Vec<u8>) -> usize {
        let connections = self.shared.connections();
        let mut delivered = 0;
        for (id, connection) in connections.live.iter() {
            if connection.auth_key_id != Some(auth_key_id) {
                continue;
            }
            let outbound = Outbound {
                body: updates.clone(),
                kind: MsgKind::Unsolicited,
                content_related: true,
            };
            match connection.tx.try_send(outbound) {
                Ok(()) => delivered += 1,
                Err(_) => warn!(
                    connection_id = id,
                    auth_key_id, "outbound queue full, update dropped"
                ),
            }
        }
        delivered
    }

    /// Drops every live connection of the key (the "dropped connection"
    /// fault). Returns how many were dropped.
    pub fn disconnect(&self, auth_key_id: i64) -> usize {
        let connections = self.shared.connections();
        let mut dropped = 0;
        for connection in connections.live.values() {
            if connection.auth_key_id == Some(auth_key_id) {
                connection.kill.notify_one();
                dropped += 1;
            }
        }
        dropped
    }

    /// How many connections of the key are live.
    pub fn connection_count(&self, auth_key_id: i64) -> usize {
        self.shared
            .connections()
            .live
            .values()
            .filter(|c| c.auth_key_id == Some(auth_key_id))
            .count()
    }

    /// How many connections each key bound so far has live (keys without
    /// one are absent).
    pub fn live_keys(&self) -> HashMap<i64, usize> {
        let mut live = HashMap::new();
        for connection in self.shared.connections().live.values() {
            if let Some(key) = connection.auth_key_id {
                *live.entry(key).or_default() += 1;
            }
        }
        live
    }

    /// Stops accepting and closes every connection.
    pub fn shutdown(&self) {
        self.shared.shutdown.send_replace(true);
    }
}

/// Resolves once shutdown was requested (or the server is gone).
async fn stopped(shutdown: &mut watch::Receiver<bool>) {
    // The borrow guard `wait_for` returns is not `Send`; drop it right here.
    let _ = shutdown.wait_for(|stop| *stop).await.map(|_| ());
}

/// Per-connection state owned by its task.
struct Connection {
    id: u64,
    peer: SocketAddr,
    shared: Arc<Shared>,
    writer: OwnedWriteHalf,
    frames: FrameWriter,
    tx: mpsc::Sender<Outbound>,
    key: Option<Arc<AuthKey>>,
    session_id: Option<i64>,
    salt: i64,
    sequence: OutboundSequence,
    layer: Option<i32>,
    client: Option<ClientInfo>,
}

async fn serve_connection(shared: Arc<Shared>, stream: TcpStream, peer: SocketAddr, id: u64) {
    let _ = stream.set_nodelay(true);
    let (mut reader, writer) = stream.into_split();
    let (tx, mut rx) = mpsc::channel(shared.options.outbound_queue.max(1));
    let kill = Arc::new(Notify::new());
    shared.connections().live.insert(
        id,
        LiveConnection {
            auth_key_id: None,
            tx: tx.clone(),
            kill: Arc::clone(&kill),
        },
    );
    let mut shutdown = shared.shutdown.subscribe();
    let mut frames_in = FrameReader::new(shared.options.max_frame_len);
    let mut connection = Connection {
        id,
        peer,
        shared: Arc::clone(&shared),
        writer,
        frames: FrameWriter::new(),
        tx,
        key: None,
        session_id: None,
        salt: 0,
        sequence: OutboundSequence::default(),
        layer: None,
        client: None,
    };
    debug!(connection_id = id, %peer, "connection accepted");

    let mut chunk = vec![0u8; 64 * 1024];
    let outcome: Result<&'static str, Error> = loop {
        tokio::select! {
            _ = kill.notified() => break Ok("dropped by the server"),
            _ = stopped(&mut shutdown) => break Ok("server shutdown"),
            read = reader.read(&mut chunk) => {
                let n = match read {
                    Ok(0) => break Ok("closed by the peer"),
                    Ok(n) => n,
                    Err(error) => break Err(error.into()),
                };
                frames_in.feed(&chunk[..n]);
                if let Err(error) = connection.drain_frames(&mut frames_in).await {
                    break Err(error);
                }
            }
            Some(outbound) = rx.recv() => {
                if let Err(error) = connection.write(outbound.body, outbound.kind, outbound.content_related).await {
                    break Err(error);
                }
            }
        }
    };

    let auth_key_id = connection.key.as_ref().map(|k| k.id());
    {
        let mut connections = shared.connections();
        connections.live.remove(&id);
        if let Some(auth_key_id) = auth_key_id {
            connections.callers.closed(auth_key_id, id);
        }
    }
    match outcome {
        Ok(reason) => debug!(connection_id = id, %peer, ?auth_key_id, reason, "connection closed"),
        Err(Error::Io(error)) => {
            debug!(connection_id = id, %peer, ?auth_key_id, %error, "connection failed")
        }
        Err(error) => {
            warn!(connection_id = id, %peer, ?auth_key_id, %error, "closing connection")
        }
    }
    let _ = connection.writer.shutdown().await;
}

impl Connection {
    async fn drain_frames(&mut self, frames: &mut FrameReader) -> Result<(), Error> {
        while let Some(payload) = frames.next_frame()? {
            self.handle_payload(&payload).await?;
        }
        Ok(())
    }

    async fn handle_payload(&mut self, payload: &[u8]) -> Result<(), Error> {
        let key = self.key_for(payload)?;
        let Envelope {
            salt,
            session_id,
            message,
        } = envelope::open(&key, Direction::ClientToServer, payload)?;
        if self.session_id != Some(session_id) {
            if self.session_id.is_some() {
                debug!(
                    connection_id = self.id,
                    "client switched session on a live connection"
                );
            }
            self.session_id = Some(session_id);
            self.sequence = OutboundSequence::default();
        }
        // Any salt is accepted, 0 included; answers echo it.
        self.salt = salt;

        for message in envelope::flatten(message)? {
            self.handle_message(message).await?;
        }
        Ok(())
    }

    /// The key a payload is encrypted with; binds the connection to it.
    fn key_for(&mut self, payload: &[u8]) -> Result<Arc<AuthKey>, Error> {
        let auth_key_id = envelope::payload_auth_key_id(payload)
            .ok_or(EnvelopeError::BadPayloadLength { len: payload.len() })?;
        if auth_key_id == 0 {
            return Err(EnvelopeError::Plaintext.into());
        }
        if let Some(key) = &self.key
            && key.id() != auth_key_id
        {
            return Err(Error::AuthKeyChanged);
        }
        // Looked up on every frame, so removing a key cuts its connections off.
        let key = self
            .shared
            .keys
            .get(auth_key_id)
            .ok_or(Error::UnknownAuthKey { auth_key_id })?;
        if self.key.is_none() {
            if let Some(live) = self.shared.connections().live.get_mut(&self.id) {
                live.auth_key_id = Some(auth_key_id);
            }
            debug!(connection_id = self.id, peer = %self.peer, auth_key_id, "connection bound to key");
            self.key = Some(Arc::clone(&key));
        }
        Ok(key)
    }

    async fn handle_message(&mut self, message: Message) -> Result<(), Error> {
        match envelope::classify(message)? {
            Inbound::NoAnswer { .. } => Ok(()),
            // Written directly: this task is the queue's only consumer, so it
            // must never wait on the queue itself.
            Inbound::Ping { msg_id, ping_id } => {
                self.write(
                    envelope::pong_body(msg_id, ping_id),
                    MsgKind::Response,
                    false,
                )
                .await
            }
            Inbound::GetFutureSalts { msg_id, .. } => {
                let now = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map(|d| d.as_secs() as i32)
                    .unwrap_or_default();
                self.write(
                    envelope::future_salts_body(msg_id, now),
                    MsgKind::Response,
                    false,
                )
                .await
            }
            Inbound::Call(call) => {
                let Call {
                    msg_id,
                    layer,
                    client,
                    body,
                    malformed,
                } = call;
                if layer.is_some() {
                    self.layer = layer;
                }
                if client.is_some() {
                    self.client = client;
                }
                let ctx = CallContext {
                    auth_key_id: self.key.as_ref().map(|k| k.id()).unwrap_or_default(),
                    session_id: self.session_id.unwrap_or_default(),
                    layer: self.layer,
                    client: self.client.clone(),
                    connection_id: self.id,
                    msg_id,
                };
                if let Err(newer_connection_id) = self.note_call(ctx.auth_key_id) {
                    // Answered here, on the connection's task, so that what
                    // the dispatcher does to the key holds for every call
                    // read after this one.
                    let error =
                        self.shared
                            .dispatch
                            .concurrent_use(&ctx, &body, newer_connection_id);
                    let body = envelope::rpc_error_body(msg_id, error.code, &error.message);
                    return self.write(body, MsgKind::Response, true).await;
                }
                self.spawn_call(ctx, body, malformed);
                Ok(())
            }
        }
    }

    /// note_call tells the key's callers of a call on this connection (see
    /// [`KeyCallers`]); `Err` is the newer connection it is concurrent with.
    fn note_call(&self, auth_key_id: i64) -> Result<(), u64> {
        if !self.shared.options.detect_duplicate_keys {
            return Ok(());
        }
        self.shared.connections().callers.call(auth_key_id, self.id)
    }

    fn spawn_call(&mut self, ctx: CallContext, body: Vec<u8>, malformed: bool) {
        let msg_id = ctx.msg_id;
        let dispatch = Arc::clone(&self.shared.dispatch);
        let tx = self.tx.clone();
        tokio::spawn(async move {
            let result = if malformed {
                Err(RpcError::input_fetch_error())
            } else {
                match AssertUnwindSafe(dispatch.call(&ctx, &body))
                    .catch_unwind()
                    .await
                {
                    Ok(result) => result,
                    Err(_) => {
                        let constructor = request_constructor(&body).unwrap_or_default();
                        warn!(
                            connection_id = ctx.connection_id,
                            auth_key_id = ctx.auth_key_id,
                            constructor = format_args!("{constructor:#010x}"),
                            "dispatcher panicked"
                        );
                        Err(RpcError::internal())
                    }
                }
            };
            let body = match result {
                Ok(answer) => envelope::rpc_result_body(msg_id, &answer),
                Err(error) => envelope::rpc_error_body(msg_id, error.code, &error.message),
            };
            // A closed queue means the connection is gone; the client will
            // resend on its next connection.
            let _ = tx
                .send(Outbound {
                    body,
                    kind: MsgKind::Response,
                    content_related: true,
                })
                .await;
        });
    }

    async fn write(
        &mut self,
        body: Vec<u8>,
        kind: MsgKind,
        content_related: bool,
    ) -> Result<(), Error> {
        let (Some(key), Some(session_id)) = (self.key.as_ref(), self.session_id) else {
            // Nothing can be sent before the client has spoken.
            return Ok(());
        };
        let envelope = Envelope {
            salt: self.salt,
            session_id,
            message: Message {
                msg_id: self.sequence.next_msg_id(kind),
                seq_no: self.sequence.next_seq_no(content_related),
                body,
            },
        };
        let payload = envelope::seal(key, Direction::ServerToClient, &envelope);
        let frame = self.frames.pack(&payload);
        self.writer.write_all(&frame).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::KeyCallers;

    const KEY: i64 = 7;

    #[test]
    fn a_reconnect_takes_the_key_over_whatever_the_old_connection_does_after() {
        let mut callers = KeyCallers::default();
        callers.call(KEY, 1).unwrap();
        // The new connection calls before the server saw the old one close.
        callers.call(KEY, 2).unwrap();
        callers.closed(KEY, 1);
        callers.call(KEY, 2).unwrap();
        callers.call(KEY, 3).unwrap();
    }

    #[test]
    fn an_older_connection_calling_after_a_newer_one_is_concurrent_usage() {
        let mut callers = KeyCallers::default();
        callers.call(KEY, 1).unwrap();
        callers.call(KEY, 2).unwrap();
        assert_eq!(callers.call(KEY, 1), Err(2), "alternating callers");

        // The newer one calling first makes no difference.
        let mut callers = KeyCallers::default();
        callers.call(KEY, 2).unwrap();
        assert_eq!(callers.call(KEY, 1), Err(2));
    }

    #[test]
    fn a_closed_connection_never_counts() {
        let mut callers = KeyCallers::default();
        callers.call(KEY, 1).unwrap();
        callers.call(KEY, 2).unwrap();
        callers.closed(KEY, 2);
        callers.call(KEY, 1).unwrap();
    }

    #[test]
    fn every_open_newer_caller_counts_not_only_the_last() {
        let mut callers = KeyCallers::default();
        for connection in 1..=3 {
            callers.call(KEY, connection).unwrap();
        }
        callers.closed(KEY, 3);
        assert_eq!(callers.call(KEY, 1), Err(2));
    }

    #[test]
    fn keys_are_independent() {
        let mut callers = KeyCallers::default();
        callers.call(KEY, 2).unwrap();
        callers.call(KEY + 1, 1).unwrap();
    }
}
