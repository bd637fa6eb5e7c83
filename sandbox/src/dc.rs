//! The sandbox DC assembled: the simulated [`Network`], the TL methods
//! ([`SandboxRpc`]) and the MTProto server in front of them, on one port.
//! In-process for tests and `make run` ([`SandboxDc::start`]), or
//! standalone with its admin API ([`serve`], `tezgram sandbox`).

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use grammers_tl_types::Serializable;
use tokio::task::JoinHandle;
use tracing::info;

use crate::admin::{self, AdminApi, AdminApiOptions};
use crate::link;
use crate::mtproto::{self, AuthKeys, MtprotoServer, MtprotoServerHandle, MtprotoServerOptions};
use crate::network::{self, AcceptedLoginToken, Delivery, Fault, FaultTarget, Network};
use crate::rpc::{SandboxRpc, convert};

/// DcError is why the sandbox DC could not start, serve or stop cleanly.
#[derive(Debug, thiserror::Error)]
pub enum DcError {
    /// The network's data dir could not be read or written.
    #[error("sandbox network: {0}")]
    Network(#[from] network::Error),
    /// The listening socket could not be bound.
    #[error("sandbox listener: {0}")]
    Listen(#[from] mtproto::Error),
    /// The admin API could not start or serve.
    #[error(transparent)]
    Admin(#[from] admin::Error),
}

/// SandboxDcOptions configure a [`SandboxDc`].
#[derive(Clone, Debug)]
pub struct SandboxDcOptions {
    /// listen is the MTProto address; port 0 picks a free one.
    pub listen: SocketAddr,
    /// data_dir holds the network's `sandbox.json`; `None` keeps everything
    /// in memory.
    pub data_dir: Option<PathBuf>,
    /// max_difference is how many updates a session may be behind before
    /// getDifference answers `differenceTooLong`; `None` is the default
    /// (100 000). Small values let tests exercise a gateway's gap filling.
    pub max_difference: Option<usize>,
    /// detect_duplicate_keys makes the DC refuse an auth key used from two
    /// connections at once, as Telegram does: the offending call answers
    /// 406 AUTH_KEY_DUPLICATED, the key is dead from then on, and the
    /// incident is listed by
    /// [`SandboxLink::duplicate_key_incidents`](crate::SandboxLink::duplicate_key_incidents).
    /// On by default, so tests prove that one account is used from one
    /// place; off only for a test that uses a key twice on purpose and is
    /// about something else.
    pub detect_duplicate_keys: bool,
}

impl Default for SandboxDcOptions {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            data_dir: None,
            max_difference: None,
            detect_duplicate_keys: true,
        }
    }
}

/// SandboxDc is the running sandbox data center (Options → Service →
/// Handle; the MTProto server is its event loop, spawned by `start`).
pub struct SandboxDc;

/// SandboxDcHandle controls a sandbox DC running in this process: it is
/// the DC's [`SandboxLink`](crate::SandboxLink), plus [`shutdown`] and a
/// few inspections for tests and benchmarks. Cheap to clone.
///
/// [`shutdown`]: SandboxDcHandle::shutdown
#[derive(Clone)]
pub struct SandboxDcHandle {
    inner: Arc<Inner>,
}

struct Inner {
    network: Network,
    rpc: Arc<SandboxRpc>,
    server: MtprotoServerHandle,
    task: Mutex<Option<JoinHandle<()>>>,
    /// scheduler sends scheduled messages when they are due.
    scheduler: Mutex<Option<JoinHandle<()>>>,
}

/// SCHEDULE_TICK is how often the DC looks for due scheduled messages
/// (Telegram sends them within a few seconds of their date too).
const SCHEDULE_TICK: std::time::Duration = std::time::Duration::from_secs(1);

/// run_schedule sends due scheduled messages until the DC is gone.
async fn run_schedule(dc: std::sync::Weak<Inner>) {
    let mut tick = tokio::time::interval(SCHEDULE_TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        tick.tick().await;
        let Some(dc) = dc.upgrade() else { return };
        let deliveries = dc.network.fire_scheduled();
        if !deliveries.is_empty() {
            dc.rpc.deliver(deliveries, None);
        }
    }
}

impl std::fmt::Debug for SandboxDcHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SandboxDcHandle")
            .field("addr", &self.addr())
            .finish_non_exhaustive()
    }
}

impl SandboxDc {
    /// start opens the network (its snapshot in `data_dir`, or in memory),
    /// lets the wire accept every auth key the network knows, binds the
    /// MTProto server and spawns it.
    pub async fn start(options: SandboxDcOptions) -> Result<SandboxDcHandle, DcError> {
        let SandboxDcOptions {
            listen,
            data_dir,
            max_difference,
            detect_duplicate_keys,
        } = options;
        let network = Network::open(network::Options {
            data_dir,
            max_difference,
            ..network::Options::default()
        })
        .await?;
        let keys = AuthKeys::new();
        for (_, key) in network.auth_keys() {
            keys.register(key.0);
        }
        let rpc = SandboxRpc::new(network.clone());
        let server = match MtprotoServer::bind(
            MtprotoServerOptions {
                listen,
                detect_duplicate_keys,
                ..MtprotoServerOptions::default()
            },
            keys,
            Arc::clone(&rpc) as Arc<dyn mtproto::Dispatch>,
        )
        .await
        {
            Ok(server) => server,
            Err(err) => {
                // Stop the snapshot writer the open started.
                let _ = network.shutdown().await;
                return Err(err.into());
            }
        };
        let handle = server.handle();
        rpc.attach(handle.clone());
        let task = tokio::spawn(server.run());
        info!(addr = %handle.local_addr(), "sandbox dc started");
        let inner = Arc::new(Inner {
            network,
            rpc,
            server: handle,
            task: Mutex::new(Some(task)),
            scheduler: Mutex::new(None),
        });
        let scheduler = tokio::spawn(run_schedule(Arc::downgrade(&inner)));
        *inner
            .scheduler
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(scheduler);
        Ok(SandboxDcHandle { inner })
    }
}

impl SandboxDcHandle {
    /// addr is where clients connect (the sessions' home DC address).
    pub(crate) fn addr(&self) -> SocketAddr {
        self.inner.server.local_addr()
    }

    /// register_key makes a provisioned key usable: the wire accepts it
    /// and the network records it (persisted, so it survives restarts).
    /// Returns its auth_key_id.
    pub(crate) fn register_key(&self, key: [u8; 256], owner: Option<&str>) -> i64 {
        let auth_key_id = mtproto::crypto::auth_key_id(&key);
        self.inner
            .network
            .register_auth_key(auth_key_id, key, owner);
        self.inner.server.keys().register(key);
        auth_key_id
    }

    /// network is the simulated Telegram, the admin surface: create users,
    /// act as them, inject faults. Changes made here reach live sessions
    /// only through [`SandboxDcHandle::deliver`].
    pub(crate) fn network(&self) -> &Network {
        &self.inner.network
    }

    /// deliver pushes what an admin-side change caused (e.g. a message sent
    /// as a user) to every live session concerned.
    pub(crate) fn deliver(&self, deliveries: Vec<Delivery>) {
        self.inner.rpc.deliver(deliveries, None);
    }

    /// accept_login_token accepts a QR login token as the user logged in on
    /// `by_auth_key_id`, and tells the exporter's live sessions.
    pub(crate) fn accept_login_token(
        &self,
        by_auth_key_id: i64,
        token: &[u8],
    ) -> network::Result<AcceptedLoginToken> {
        let accepted = self
            .inner
            .network
            .accept_login_token(by_auth_key_id, token)?;
        let update = convert::users::login_token_updated(self.inner.network.now());
        self.inner
            .server
            .push(accepted.exporter_auth_key_id, update.to_bytes());
        Ok(accepted)
    }

    /// disconnect drops every live connection of a key (the "dropped
    /// connection" fault); returns how many.
    pub(crate) fn disconnect(&self, auth_key_id: i64) -> usize {
        self.inner.server.disconnect(auth_key_id)
    }

    /// expire_file_references makes a user's next `times` file downloads
    /// (`upload.getFile`) find their file reference expired, as Telegram's
    /// do once a reference is old: the client must fetch the message again.
    pub fn expire_file_references(&self, user_id: i64, times: u32) {
        self.network().inject_fault(
            FaultTarget::User(user_id),
            "upload.getFile",
            Fault::FileReferenceExpired,
            times,
        );
    }

    /// faults_pending is how many injected faults the user's calls have
    /// not met yet.
    pub fn faults_pending(&self, user_id: i64) -> u32 {
        self.network().faults_pending(FaultTarget::User(user_id))
    }

    /// sign_in logs a user in on `key`, as a device of theirs outside the
    /// gateway would be ("Sandbox phone"), and makes the key usable on the
    /// wire: for tests and benchmarks that need many logged-in sessions
    /// without the login flow. Returns the key's auth_key_id.
    pub fn sign_in(&self, user_id: i64, key: [u8; 256]) -> link::Result<i64> {
        let auth_key_id = mtproto::crypto::auth_key_id(&key);
        self.inner
            .network
            .sign_in_device(user_id, key, auth_key_id, link::sandbox_phone())?;
        self.inner.server.keys().register(key);
        Ok(auth_key_id)
    }

    /// create_supergroup makes `creator` a supergroup with `members`, as
    /// their own apps would, and tells their live sessions: for tests of
    /// group chats. Returns the channel id.
    pub fn create_supergroup(
        &self,
        creator: i64,
        title: &str,
        members: &[i64],
    ) -> link::Result<i64> {
        self.create_channel(creator, title, true, members)
    }

    /// create_broadcast makes `creator` a broadcast channel with
    /// `members` as subscribers (only the creator posts), and tells their
    /// live sessions. Returns the channel id.
    pub fn create_broadcast(
        &self,
        creator: i64,
        title: &str,
        members: &[i64],
    ) -> link::Result<i64> {
        self.create_channel(creator, title, false, members)
    }

    fn create_channel(
        &self,
        creator: i64,
        title: &str,
        megagroup: bool,
        members: &[i64],
    ) -> link::Result<i64> {
        let outcome = self
            .inner
            .network
            .create_channel(creator, title, megagroup, None, members)?;
        self.deliver(outcome.deliveries);
        Ok(outcome.value.id)
    }

    /// create_group makes `creator` a basic group with `members` (its
    /// "created" service message in every member's box), as their own apps
    /// would, and tells their live sessions. Returns the group's id (its
    /// peer is `-id` in the Bot API numbering).
    pub fn create_group(&self, creator: i64, title: &str, members: &[i64]) -> link::Result<i64> {
        let outcome = self.inner.network.create_chat(creator, title, members)?;
        self.deliver(outcome.deliveries);
        Ok(outcome.value.id)
    }

    /// migrate_chat upgrades a basic group to a supergroup as `by_user`
    /// (its creator) would with `messages.migrateChat`, and tells the
    /// members' live sessions: the group's `messageActionChatMigrateTo`,
    /// then the supergroup's `messageActionChannelMigrateFrom`. Returns the
    /// supergroup's channel id.
    pub fn migrate_chat(&self, by_user: i64, chat_id: i64) -> link::Result<i64> {
        let outcome = self.inner.network.migrate_chat(by_user, chat_id)?;
        let channel_id = outcome.value.channel.id;
        self.deliver(outcome.deliveries);
        Ok(channel_id)
    }

    /// post sends `text` as `from` to a channel or supergroup it is a
    /// member of, and tells the members' live sessions; returns the post's
    /// id.
    pub fn post(&self, from: i64, channel_id: i64, text: &str) -> link::Result<i32> {
        let outcome = self.inner.network.send_message(
            from,
            network::Peer::Channel(channel_id),
            network::OutgoingMessage {
                text: text.to_owned(),
                ..network::OutgoingMessage::default()
            },
        )?;
        let id = outcome.value.message.id;
        self.deliver(outcome.deliveries);
        Ok(id)
    }

    /// auth_keys lists every auth key the sandbox knows (registered or
    /// signed in), for tests that check keys never leak elsewhere.
    pub fn auth_keys(&self) -> Vec<[u8; 256]> {
        self.inner
            .network
            .auth_keys()
            .into_iter()
            .map(|(_, key)| key.0)
            .collect()
    }

    /// sessions_of lists the auth_key_ids a user is logged in on (the
    /// sessions updates for the user go to).
    pub fn sessions_of(&self, user_id: i64) -> Vec<i64> {
        self.inner.network.authorized_keys_of(user_id)
    }

    /// live_sessions lists the auth keys signed in as `user_id` that hold at
    /// least one live connection, with how many each: what tells a test that
    /// an account is really connected, and connected once.
    pub fn live_sessions(&self, user_id: i64) -> Vec<(i64, usize)> {
        let mut live: Vec<(i64, usize)> = self
            .inner
            .server
            .live_keys()
            .into_iter()
            .filter(|(key, _)| self.inner.network.authorized_user(*key).ok() == Some(user_id))
            .collect();
        live.sort_unstable();
        live
    }

    /// shutdown stops the server (closing every connection) and writes the
    /// network's last snapshot. Later calls only flush again.
    pub async fn shutdown(&self) -> Result<(), DcError> {
        self.inner.server.shutdown();
        if let Some(scheduler) = self
            .inner
            .scheduler
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take()
        {
            scheduler.abort();
        }
        let task = self
            .inner
            .task
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take();
        if let Some(task) = task {
            // The accept loop ends as soon as it sees the shutdown signal.
            let _ = task.await;
        }
        self.inner.network.shutdown().await?;
        info!(addr = %self.addr(), "sandbox dc stopped");
        Ok(())
    }
}

/// serve runs a sandbox DC and its admin API (for gateways in other
/// processes) until `shutdown` completes (`tezgram sandbox` passes SIGINT
/// or SIGTERM), then shuts both down (writing the last snapshot).
pub async fn serve(
    options: SandboxDcOptions,
    admin: AdminApiOptions,
    shutdown: impl Future<Output = ()>,
) -> Result<(), DcError> {
    let dc = SandboxDc::start(options).await?;
    let api = match AdminApi::bind(admin, Arc::new(dc.clone())).await {
        Ok(api) => api,
        Err(err) => {
            let _ = dc.shutdown().await;
            return Err(err.into());
        }
    };
    info!(addr = %api.local_addr().map_err(admin::Error::from)?, "sandbox admin api serving");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let mut api = tokio::spawn(api.run(async {
        let _ = stopped.await;
    }));
    // An admin API that fails stops the sandbox too, rather than leaving
    // gateways without it.
    let served = tokio::select! {
        _ = shutdown => {
            info!("shutting down");
            let _ = stop.send(());
            api.await
        }
        served = &mut api => served,
    };
    dc.shutdown().await?;
    match served {
        Ok(result) => result.map_err(DcError::from),
        Err(err) => Err(DcError::Admin(admin::Error::Io(std::io::Error::other(err)))),
    }
}
