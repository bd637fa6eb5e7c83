//! The simulated Telegram network of the sandbox DC: users and bots, logins
//! (code, bot token, QR), sessions bound to auth keys, 2FA with real SRP,
//! contacts, private chats, basic groups and channels, read state, dialogs,
//! history, search, documents (files attached to messages), the pts update
//! sequences with `getDifference`, injected faults, and a JSON snapshot in a
//! data directory (with the documents' bytes beside it, one file each).
//!
//! [`Network`] is a cheap-to-clone handle over one `Mutex`-guarded state.
//! Every operation is a short synchronous method (no IO, no await, no
//! PBKDF2), so the TL layer may call them from async code directly; the two
//! CPU-heavy steps of 2FA — [`TwoFactor::derive`] — must run in
//! `spawn_blocking`. Operations that change what users see return an
//! [`Outcome`] with the [`Delivery`]s the wire layer pushes to connected
//! sessions.
//!
//! The model knows no TL: peers, messages and updates are plain structs; the
//! TL layer converts. Errors are [`Error`], named and numbered as Telegram's.
//!
//! Ids follow Telegram: private chats and basic groups keep a message box per
//! user (a message has a different id in each participant's box), channels
//! one sequence per channel; each user has a common pts sequence, each
//! channel its own.

mod error;
mod files;
mod messages;
mod persist;
mod srp;
mod state;
mod types;

#[cfg(test)]
mod tests;

use std::path::PathBuf;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

pub use error::{Error, Result};
pub use files::image_size;
pub use messages::{MAX_PAGE, MAX_TEXT};
pub use persist::SNAPSHOT_FILE;
pub use srp::{G as SRP_G, P_HEX as SRP_P_HEX, TwoFactor};
pub use state::{AuthKeyBytes, login_code, normalize_phone};
pub use types::*;

use state::State;

/// Clock tells the network the time in Unix seconds. Tests use a manual one.
#[derive(Clone, Debug, Default)]
pub enum Clock {
    #[default]
    System,
    Manual(Arc<AtomicI64>),
}

impl Clock {
    /// manual starts a clock at `now` that moves only when told.
    pub fn manual(now: i64) -> Self {
        Clock::Manual(Arc::new(AtomicI64::new(now)))
    }

    pub fn now(&self) -> i64 {
        match self {
            Clock::System => chrono::Utc::now().timestamp(),
            Clock::Manual(now) => now.load(Ordering::SeqCst),
        }
    }

    /// advance moves a manual clock forward (no-op for the system clock).
    pub fn advance(&self, seconds: i64) {
        if let Clock::Manual(now) = self {
            now.fetch_add(seconds, Ordering::SeqCst);
        }
    }
}

/// Options configure a [`Network`].
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// data_dir holds `sandbox.json` and `files/`; `None` keeps everything
    /// in memory.
    pub data_dir: Option<PathBuf>,
    /// seed makes access hashes, code hashes, tokens and SRP secrets
    /// reproducible; `None` draws from the OS.
    pub seed: Option<u64>,
    pub clock: Clock,
    /// max_difference is how many updates a getDifference may be behind
    /// before it answers `updates.differenceTooLong`, as Telegram does for
    /// long gaps; `None` is [`DEFAULT_MAX_DIFFERENCE`].
    pub max_difference: Option<usize>,
}

/// DEFAULT_MAX_DIFFERENCE is how far behind a getDifference may be before
/// the sandbox, like Telegram, answers that the difference is too long.
pub const DEFAULT_MAX_DIFFERENCE: usize = 100_000;

/// Network is the handle to the simulated Telegram network.
#[derive(Clone)]
pub struct Network {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    state: Mutex<State>,
    clock: Clock,
    store: Option<persist::Store>,
    max_difference: usize,
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, State> {
        // Operations validate before they write, so a panic mid-operation
        // (a bug) leaves at worst one half-applied change; keep serving.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl std::fmt::Debug for Network {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Network").finish_non_exhaustive()
    }
}

impl Network {
    /// in_memory starts an empty network without persistence (`data_dir`
    /// is ignored). Needs no runtime.
    pub fn in_memory(options: Options) -> Self {
        Self {
            inner: Arc::new(Inner {
                state: Mutex::new(State::new(options.seed)),
                clock: options.clock,
                store: None,
                max_difference: options.max_difference.unwrap_or(DEFAULT_MAX_DIFFERENCE),
            }),
        }
    }

    /// open loads `<data_dir>/sandbox.json` (or starts empty) and keeps it
    /// up to date from a background task. Call [`Network::shutdown`] before
    /// exit to write the last changes. Without a data_dir this is
    /// [`Network::in_memory`].
    pub async fn open(options: Options) -> Result<Self> {
        let Some(dir) = options.data_dir.clone() else {
            return Ok(Self::in_memory(options));
        };
        let path = dir.join(SNAPSHOT_FILE);
        let state = match persist::load(path.clone()).await? {
            Some(mut state) => {
                if let Some(seed) = options.seed {
                    state.reseed(seed);
                }
                state
            }
            None => State::new(options.seed),
        };
        let signals = Arc::new(persist::Signals::default());
        let inner = Arc::new(Inner {
            state: Mutex::new(state),
            max_difference: options.max_difference.unwrap_or(DEFAULT_MAX_DIFFERENCE),
            clock: options.clock,
            store: Some(persist::Store {
                path,
                signals: signals.clone(),
                write_lock: tokio::sync::Mutex::new(()),
                task: Mutex::new(None),
            }),
        });
        let task = tokio::spawn(persist::run(Arc::downgrade(&inner), signals));
        if let Some(store) = &inner.store {
            *store.task.lock().unwrap_or_else(|p| p.into_inner()) = Some(task);
        }
        Ok(Self { inner })
    }

    /// flush writes the snapshot now (no-op in memory).
    pub async fn flush(&self) -> Result<()> {
        persist::flush(&self.inner).await
    }

    /// shutdown stops the background writer and writes the last snapshot.
    pub async fn shutdown(&self) -> Result<()> {
        if let Some(store) = &self.inner.store {
            store
                .signals
                .stopping
                .store(true, std::sync::atomic::Ordering::Release);
            store.signals.dirty.notify_one();
            let task = store.task.lock().unwrap_or_else(|p| p.into_inner()).take();
            if let Some(task) = task {
                // The writer finishes at most one coalesced write.
                let _ = task.await;
            }
        }
        self.flush().await
    }

    /// now is the network's clock.
    pub fn now(&self) -> i64 {
        self.inner.clock.now()
    }

    fn read<T>(&self, f: impl FnOnce(&State, i64) -> T) -> T {
        let now = self.now();
        f(&self.inner.lock(), now)
    }

    /// write runs a change and schedules a snapshot. Failed operations may
    /// have changed state too (a spent code, a pending password), so every
    /// write schedules one.
    fn write<T>(&self, f: impl FnOnce(&mut State, i64) -> T) -> T {
        let now = self.now();
        let result = f(&mut self.inner.lock(), now);
        if let Some(store) = &self.inner.store {
            store.signals.dirty.notify_one();
        }
        result
    }

    // ---- users and contacts ----

    /// create_user adds a sandbox user. Errors: PHONE_NUMBER_INVALID (not
    /// `99966XYYYY`), PHONE_NUMBER_OCCUPIED, USERNAME_INVALID,
    /// USERNAME_OCCUPIED.
    pub fn create_user(&self, new: NewUser) -> Result<User> {
        self.write(|s, _| s.create_user(new))
    }

    /// create_bot adds a bot (its username must end in "bot") and returns
    /// it with its token `"<bot_id>:<random>"`.
    pub fn create_bot(
        &self,
        first_name: &str,
        username: &str,
        owner: Option<&str>,
    ) -> Result<(User, String)> {
        self.write(|s, _| {
            s.create_bot(
                first_name.to_owned(),
                username.to_owned(),
                owner.map(str::to_owned),
            )
        })
    }

    /// owned_by tells whether a user exists and belongs to `owner` (a
    /// tenant); unowned users belong to everyone.
    pub fn owned_by(&self, user_id: i64, owner: &str) -> bool {
        self.read(|s, _| s.owned_by(user_id, Some(owner)))
    }

    /// set_password sets or clears a user's 2FA password (derive it with
    /// [`TwoFactor::derive`] off the runtime).
    #[allow(
        dead_code,
        reason = "the network models it; no TL method or link operation reaches it yet"
    )]
    pub fn set_password(&self, user_id: i64, password: Option<TwoFactor>) -> Result<()> {
        self.write(|s, _| s.set_password(user_id, password))
    }

    /// set_username changes or clears a user's username.
    #[allow(
        dead_code,
        reason = "the network models it; no TL method or link operation reaches it yet"
    )]
    pub fn set_username(&self, user_id: i64, username: Option<&str>) -> Result<User> {
        self.write(|s, _| s.set_username(user_id, username))
    }

    pub fn user(&self, user_id: i64) -> Option<User> {
        self.read(|s, _| s.users.get(&user_id).map(|r| r.user.clone()))
    }

    pub fn user_by_phone(&self, phone: &str) -> Option<User> {
        self.read(|s, _| s.user_by_phone(phone))
    }

    pub fn user_by_username(&self, username: &str) -> Option<User> {
        self.read(|s, _| match s.resolve_username(username) {
            Ok(Peer::User(id)) => s.users.get(&id).map(|r| r.user.clone()),
            _ => None,
        })
    }

    /// has_password tells whether a user has 2FA on.
    pub fn has_password(&self, user_id: i64) -> Result<bool> {
        self.read(|s, _| Ok(s.user_rec(user_id)?.password.is_some()))
    }

    /// resolve_username is `contacts.resolveUsername`: the user or channel.
    /// Errors: USERNAME_NOT_OCCUPIED.
    pub fn resolve_username(&self, username: &str) -> Result<Peer> {
        self.read(|s, _| s.resolve_username(username))
    }

    /// import_contacts is `contacts.importContacts`: phones of existing
    /// users become the user's contacts; the rest are ignored.
    pub fn import_contacts(&self, user_id: i64, phones: &[String]) -> Result<Vec<User>> {
        self.write(|s, _| s.import_contacts(user_id, phones))
    }

    /// add_contact adds a known user (`contacts.addContact`).
    #[allow(
        dead_code,
        reason = "the network models it; no TL method or link operation reaches it yet"
    )]
    pub fn add_contact(&self, user_id: i64, contact_id: i64) -> Result<User> {
        self.write(|s, _| s.add_contact(user_id, contact_id))
    }

    pub fn contacts(&self, user_id: i64) -> Result<Vec<User>> {
        self.read(|s, _| s.contacts(user_id))
    }

    pub fn chat(&self, chat_id: i64) -> Option<Chat> {
        self.read(|s, _| s.chats.get(&chat_id).cloned())
    }

    pub fn channel(&self, channel_id: i64) -> Option<Channel> {
        self.read(|s, _| s.channels.get(&channel_id).map(|c| c.channel.clone()))
    }

    /// full_channel is a channel as a member sees its full profile: the
    /// channel and how many members it has. Errors: CHANNEL_INVALID,
    /// CHANNEL_PRIVATE (not a member).
    pub fn full_channel(&self, user_id: i64, channel_id: i64) -> Result<(Channel, usize)> {
        self.read(|s, _| {
            let channel = s.channels.get(&channel_id).ok_or(Error::ChannelInvalid)?;
            if !channel.members.contains(&user_id) {
                return Err(Error::ChannelPrivate);
            }
            Ok((channel.channel.clone(), channel.members.len()))
        })
    }

    /// check_access_hash checks an input peer's access hash (basic groups
    /// have none). Errors: PEER_ID_INVALID, CHANNEL_INVALID.
    pub fn check_access_hash(&self, peer: Peer, access_hash: i64) -> Result<()> {
        self.read(|s, _| s.check_access_hash(peer, access_hash))
    }

    // ---- auth keys, logins and sessions ----

    /// register_auth_key records a 256-byte auth key under its id
    /// (SHA1(key)[12..20] as little-endian i64, as
    /// `sandbox::mtproto::crypto::auth_key_id` computes it). The key is stored in the
    /// snapshot, like Telegram's servers keep it, and never logged.
    /// `owner` is the tenant the key's sessions log in for: such a key
    /// signs in only as that tenant's users (and unowned ones).
    pub fn register_auth_key(&self, auth_key_id: i64, key: [u8; 256], owner: Option<&str>) {
        self.write(|s, _| s.register_auth_key(auth_key_id, key, owner.map(str::to_owned)))
    }

    /// auth_key returns a registered key for the wire layer to decrypt with.
    pub fn auth_key(&self, auth_key_id: i64) -> Option<AuthKeyBytes> {
        self.read(|s, _| s.auth_keys.get(&auth_key_id).map(|r| r.key.clone()))
    }

    /// auth_keys lists every registered key, e.g. to fill the wire layer's
    /// key registry after a restart.
    pub fn auth_keys(&self) -> Vec<(i64, AuthKeyBytes)> {
        self.read(|s, _| {
            s.auth_keys
                .iter()
                .map(|(id, rec)| (*id, rec.key.clone()))
                .collect()
        })
    }

    /// authorized_user is the user logged in on a key; AUTH_KEY_UNREGISTERED
    /// when the key is unknown, logged out, terminated or waits for its 2FA
    /// password.
    pub fn authorized_user(&self, auth_key_id: i64) -> Result<i64> {
        self.read(|s, _| s.authorized_user(auth_key_id))
    }

    /// sign_in_device registers `key` as a device already logged in as
    /// the user (their own phone, say): how SandboxService accepts a QR code
    /// "from the user's other device".
    pub fn sign_in_device(
        &self,
        user_id: i64,
        key: [u8; 256],
        auth_key_id: i64,
        client: ClientInfo,
    ) -> Result<Authorization> {
        self.write(|s, now| s.sign_in_device(auth_key_id, key, user_id, client, now))
    }

    /// users lists users (and bots) by id, after `after`, at most `limit`;
    /// with an `owner`, only that tenant's (and unowned ones).
    pub fn users(&self, after: i64, limit: usize, owner: Option<&str>) -> Vec<User> {
        self.read(|s, _| s.users_after(after, limit, owner))
    }

    /// authorized_keys_of lists the keys a user is logged in on, i.e. the
    /// sessions live updates for that user are pushed to.
    pub fn authorized_keys_of(&self, user_id: i64) -> Vec<i64> {
        self.read(|s, _| {
            s.auth_keys
                .iter()
                .filter(|(_, rec)| matches!(&rec.login, Some(state::Login::Authorized(auth)) if auth.user_id == user_id))
                .map(|(id, _)| *id)
                .collect()
        })
    }

    /// touch records activity on a key and, from `initConnection`, the
    /// client's app and device.
    pub fn touch(&self, auth_key_id: i64, client: Option<ClientInfo>) -> Result<()> {
        self.write(|s, now| s.touch(auth_key_id, client, now))
    }

    /// send_code is `auth.sendCode`. The code is the number's DC digit five
    /// times (9996621234 → "22222") and works for [`CODE_TTL`] seconds.
    /// Errors: PHONE_NUMBER_INVALID for non-sandbox numbers.
    /// Another tenant's number is PHONE_NUMBER_INVALID for an owned key.
    pub fn send_code(&self, auth_key_id: i64, phone: &str) -> Result<SentCode> {
        self.write(|s, now| s.send_code(auth_key_id, phone, now))
    }

    /// sign_in is `auth.signIn`; an unknown sandbox number gets a user with
    /// a default name. Errors: PHONE_CODE_EMPTY, PHONE_CODE_INVALID,
    /// PHONE_CODE_EXPIRED (also for an unknown hash), SESSION_PASSWORD_NEEDED
    /// (then [`Network::check_password`] on the same key), AUTH_KEY_UNREGISTERED.
    pub fn sign_in(
        &self,
        auth_key_id: i64,
        phone: &str,
        phone_code_hash: &str,
        code: &str,
    ) -> Result<User> {
        self.write(|s, now| s.sign_in(auth_key_id, phone, phone_code_hash, code, now))
    }

    /// import_bot_authorization is `auth.importBotAuthorization`.
    /// Errors: ACCESS_TOKEN_INVALID.
    pub fn import_bot_authorization(&self, auth_key_id: i64, token: &str) -> Result<User> {
        self.write(|s, now| s.import_bot_authorization(auth_key_id, token, now))
    }

    /// log_out is `auth.logOut`: the key stays registered but unauthorized.
    pub fn log_out(&self, auth_key_id: i64) -> Result<()> {
        self.write(|s, _| s.log_out(auth_key_id))
    }

    /// authorizations is `account.getAuthorizations`, the caller's first.
    pub fn authorizations(&self, auth_key_id: i64) -> Result<Vec<Authorization>> {
        self.read(|s, _| s.authorizations(auth_key_id))
    }

    /// terminate_authorization is `account.resetAuthorization`: another
    /// session of the caller's user is logged out and its key answers
    /// AUTH_KEY_UNREGISTERED. Errors: HASH_INVALID (unknown, or the caller's own).
    pub fn terminate_authorization(&self, auth_key_id: i64, hash: i64) -> Result<()> {
        self.write(|s, _| s.terminate_authorization(auth_key_id, hash))
    }

    /// revoke_session logs a key out from outside (SandboxService's
    /// "session revoked" fault).
    pub fn revoke_session(&self, auth_key_id: i64) -> Result<()> {
        self.write(|s, _| s.revoke_session(auth_key_id))
    }

    /// invalidate_duplicated_key kills a key that was used from two
    /// connections at once (`older_connection_id` calling after
    /// `newer_connection_id` took it over), as Telegram does: it is logged
    /// out for good and answers AUTH_KEY_DUPLICATED from now on (see
    /// [`Network::key_duplicated`]). Returns the incident it recorded.
    pub fn invalidate_duplicated_key(
        &self,
        auth_key_id: i64,
        older_connection_id: u64,
        newer_connection_id: u64,
    ) -> Result<DuplicateKeyIncident> {
        self.write(|s, now| {
            s.invalidate_duplicated(auth_key_id, older_connection_id, newer_connection_id, now)
        })
    }

    /// key_duplicated tells whether a key was invalidated for being used
    /// from two connections at once (persisted: it stays dead after a
    /// restart).
    pub fn key_duplicated(&self, auth_key_id: i64) -> bool {
        self.read(|s, _| s.key_duplicated(auth_key_id))
    }

    /// duplicate_key_incidents lists every time a key was used from two
    /// connections at once, oldest first.
    pub fn duplicate_key_incidents(&self) -> Vec<DuplicateKeyIncident> {
        self.read(|s, _| s.duplicate_key_incidents.clone())
    }

    /// revoke_user_sessions logs out every key of a user; returns how many.
    #[allow(
        dead_code,
        reason = "the network models it; no TL method or link operation reaches it yet"
    )]
    pub fn revoke_user_sessions(&self, user_id: i64) -> usize {
        self.write(|s, _| s.revoke_user_sessions(user_id))
    }

    /// export_login_token is `auth.exportLoginToken`: a fresh token valid
    /// for [`LOGIN_TOKEN_TTL`] seconds, or `Success` once another session
    /// accepted one (SESSION_PASSWORD_NEEDED if the user has 2FA).
    pub fn export_login_token(&self, auth_key_id: i64) -> Result<LoginToken> {
        self.write(|s, now| s.export_login_token(auth_key_id, now))
    }

    /// accept_login_token is `auth.acceptLoginToken` from a logged-in
    /// session. Errors: AUTH_TOKEN_INVALID, AUTH_TOKEN_EXPIRED,
    /// AUTH_TOKEN_ALREADY_ACCEPTED. With 2FA on, the exporter must still
    /// check the password; the returned authorization then has hash 0.
    pub fn accept_login_token(
        &self,
        by_auth_key_id: i64,
        token: &[u8],
    ) -> Result<AcceptedLoginToken> {
        self.write(|s, now| s.accept_login_token(by_auth_key_id, token, now))
    }

    /// get_password is `account.getPassword` for the key's user (logged in,
    /// or waiting for its password): a fresh SRP challenge per call.
    pub fn get_password(&self, auth_key_id: i64) -> Result<PasswordInfo> {
        self.write(|s, now| s.get_password(auth_key_id, now))
    }

    /// check_password is `auth.checkPassword` with `inputCheckPasswordSRP`
    /// (A and M1); a key waiting for its password becomes logged in. Each
    /// challenge answers once. Errors: SRP_ID_INVALID,
    /// PASSWORD_HASH_INVALID. Costs two modpows, no PBKDF2.
    pub fn check_password(
        &self,
        auth_key_id: i64,
        srp_id: i64,
        a: &[u8],
        m1: &[u8],
    ) -> Result<User> {
        self.write(|s, now| s.check_password(auth_key_id, srp_id, a, m1, now))
    }

    // ---- faults ----

    /// inject_fault makes the next `times` calls of `method` (a TL method
    /// name such as "messages.sendMessage", or "*") by the target fail.
    /// Faults are not persisted.
    pub fn inject_fault(&self, target: FaultTarget, method: &str, fault: Fault, times: u32) {
        self.inner.lock().inject_fault(target, method, fault, times)
    }

    /// faults_pending is how many injected faults a user's calls have not
    /// met yet.
    pub fn faults_pending(&self, target: FaultTarget) -> u32 {
        self.inner.lock().faults_pending(target)
    }

    /// take_fault is asked by the wire layer before each call.
    pub fn take_fault(&self, auth_key_id: i64, method: &str) -> Option<Fault> {
        self.inner.lock().take_fault(auth_key_id, method)
    }

    // ---- chats and messages ----

    /// create_chat creates a basic group with a "created" service message.
    /// Errors: CHAT_TITLE_EMPTY, USERS_TOO_FEW, USER_ID_INVALID.
    pub fn create_chat(&self, creator: i64, title: &str, members: &[i64]) -> Result<Outcome<Chat>> {
        self.write(|s, now| s.create_chat(creator, title, members, now))
    }

    /// migrate_chat is `messages.migrateChat`: the basic group becomes a
    /// supergroup with its title and members, and is deactivated (see
    /// `State::migrate_chat`). Errors: CHAT_ID_INVALID (unknown, or
    /// migrated already), CHAT_ADMIN_REQUIRED (not the creator).
    pub fn migrate_chat(&self, by_user: i64, chat_id: i64) -> Result<Outcome<Migrated>> {
        self.write(|s, now| s.migrate_chat(by_user, chat_id, now))
    }

    /// create_channel creates a broadcast channel or a supergroup
    /// (`megagroup`) with members.
    pub fn create_channel(
        &self,
        creator: i64,
        title: &str,
        megagroup: bool,
        username: Option<&str>,
        members: &[i64],
    ) -> Result<Outcome<Channel>> {
        self.write(|s, now| s.create_channel(creator, title, megagroup, username, members, now))
    }

    /// join_channel adds a member; older messages count as read.
    #[allow(
        dead_code,
        reason = "the network models it; no TL method or link operation reaches it yet"
    )]
    pub fn join_channel(&self, user_id: i64, channel_id: i64) -> Result<Channel> {
        self.write(|s, _| s.join_channel(user_id, channel_id))
    }

    /// send_message is `messages.sendMessage`. Errors: MESSAGE_EMPTY,
    /// MESSAGE_TOO_LONG (> 4096 characters), PEER_ID_INVALID,
    /// CHANNEL_PRIVATE, CHAT_WRITE_FORBIDDEN.
    pub fn send_message(
        &self,
        sender: i64,
        peer: Peer,
        message: OutgoingMessage,
    ) -> Result<Outcome<Sent>> {
        self.write(|s, now| s.send_message(sender, peer, message, now))
    }

    /// schedule_message is `messages.sendMessage` with a `schedule_date`
    /// (text only). Errors: SCHEDULE_DATE_INVALID (not in the future),
    /// SCHEDULE_DATE_TOO_LATE (over a year ahead), and those of
    /// [`Network::send_message`].
    pub fn schedule_message(
        &self,
        sender: i64,
        peer: Peer,
        message: OutgoingMessage,
        date: i64,
    ) -> Result<Outcome<Scheduled>> {
        self.write(|s, now| s.schedule_message(sender, peer, message, date, now))
    }

    /// next_scheduled is when the earliest scheduled message is due.
    pub fn next_scheduled(&self) -> Option<i64> {
        self.read(|s, _| s.next_scheduled())
    }

    /// fire_scheduled sends the scheduled messages that are due; the
    /// deliveries are for live sessions.
    pub fn fire_scheduled(&self) -> Vec<Delivery> {
        if self.next_scheduled().is_none_or(|at| at > self.now()) {
            return Vec::new();
        }
        self.write(|s, now| s.fire_scheduled(now))
    }

    /// edit_message is `messages.editMessage` (author only). Errors:
    /// MESSAGE_ID_INVALID, MESSAGE_AUTHOR_REQUIRED, MESSAGE_NOT_MODIFIED.
    pub fn edit_message(
        &self,
        editor: i64,
        peer: Peer,
        id: i32,
        text: &str,
        entities: Option<serde_json::Value>,
    ) -> Result<Outcome<Edited>> {
        self.write(|s, now| s.edit_message(editor, peer, id, text, entities, now))
    }

    /// delete_messages is `messages.deleteMessages` (private chats and basic
    /// groups). With `revoke`, private-chat messages vanish for both sides,
    /// group messages for everyone when the caller wrote them or created
    /// the group; unknown ids are ignored.
    pub fn delete_messages(
        &self,
        user_id: i64,
        ids: &[i32],
        revoke: bool,
    ) -> Result<Outcome<AffectedMessages>> {
        self.write(|s, now| s.delete_messages(user_id, ids, revoke, now))
    }

    /// delete_channel_messages is `channels.deleteMessages` (author or
    /// creator). Errors: MESSAGE_DELETE_FORBIDDEN, CHANNEL_PRIVATE.
    pub fn delete_channel_messages(
        &self,
        user_id: i64,
        channel_id: i64,
        ids: &[i32],
    ) -> Result<Outcome<AffectedMessages>> {
        self.write(|s, now| s.delete_channel_messages(user_id, channel_id, ids, now))
    }

    /// forward_messages is `messages.forwardMessages`: new messages with a
    /// forward header; `random_ids` is empty or one per id.
    pub fn forward_messages(
        &self,
        sender: i64,
        from_peer: Peer,
        ids: &[i32],
        to_peer: Peer,
        random_ids: &[i64],
    ) -> Result<Outcome<Vec<Sent>>> {
        self.write(|s, now| s.forward_messages(sender, from_peer, ids, to_peer, random_ids, now))
    }

    /// read_history is `messages.readHistory` (max_id 0 = everything): moves
    /// the reader's read_inbox_max_id and the authors' read_outbox_max_id.
    pub fn read_history(
        &self,
        reader: i64,
        peer: Peer,
        max_id: i32,
    ) -> Result<Outcome<AffectedMessages>> {
        self.write(|s, now| s.read_history(reader, peer, max_id, now))
    }

    /// read_channel_history is `channels.readHistory`; true when it moved.
    pub fn read_channel_history(
        &self,
        reader: i64,
        channel_id: i64,
        max_id: i32,
    ) -> Result<Outcome<bool>> {
        self.write(|s, now| s.read_channel_history(reader, channel_id, max_id, now))
    }

    /// set_typing is `messages.setTyping`: deliveries only, no pts, no state.
    pub fn set_typing(
        &self,
        user_id: i64,
        peer: Peer,
        action: TypingAction,
    ) -> Result<Vec<Delivery>> {
        self.read(|s, now| s.set_typing(user_id, peer, action, now))
    }

    /// dialogs is `messages.getDialogs`: by top message date, newest first.
    pub fn dialogs(&self, user_id: i64, query: &DialogsQuery) -> Result<DialogsPage> {
        self.read(|s, _| s.dialogs(user_id, query))
    }

    /// history is `messages.getHistory` (see [`HistoryQuery`]).
    pub fn history(&self, user_id: i64, peer: Peer, query: &HistoryQuery) -> Result<HistoryPage> {
        self.read(|s, _| s.history(user_id, peer, query))
    }

    /// messages is `messages.getMessages` (channel_id `None`) or
    /// `channels.getMessages`; unknown ids are skipped.
    pub fn messages(
        &self,
        user_id: i64,
        channel_id: Option<i64>,
        ids: &[i32],
    ) -> Result<Vec<Message>> {
        self.read(|s, _| s.messages_by_id(user_id, channel_id, ids))
    }

    /// search is `messages.search` (with a peer) or `messages.searchGlobal`:
    /// newest first.
    pub fn search(&self, user_id: i64, query: &SearchQuery) -> Result<Vec<Message>> {
        self.read(|s, _| s.search(user_id, query))
    }

    // ---- updates ----

    /// updates_state is `updates.getState`.
    pub fn updates_state(&self, user_id: i64) -> Result<UpdatesState> {
        self.read(|s, now| s.updates_state(user_id, now))
    }

    /// difference is `updates.getDifference` from `pts`, at most `limit`
    /// updates (0 or more than [`MAX_PAGE`] means [`MAX_PAGE`]).
    pub fn difference(&self, user_id: i64, pts: i32, limit: usize) -> Result<Difference> {
        self.difference_within(user_id, pts, limit, None)
    }

    /// difference_within is [`Network::difference`] that answers
    /// [`Difference::TooLong`] when the user is more than `total_limit`
    /// updates (or the network's `max_difference`) behind.
    pub fn difference_within(
        &self,
        user_id: i64,
        pts: i32,
        limit: usize,
        total_limit: Option<usize>,
    ) -> Result<Difference> {
        let limit = if limit == 0 { MAX_PAGE } else { limit };
        let too_long_after = total_limit
            .unwrap_or(usize::MAX)
            .min(self.inner.max_difference);
        self.read(|s, now| s.difference(user_id, pts, now, limit, too_long_after))
    }

    /// channel_difference is `updates.getChannelDifference` for a member;
    /// [`ChannelDifference::TooLong`] when it is more than the network's
    /// `max_difference` updates behind.
    pub fn channel_difference(
        &self,
        user_id: i64,
        channel_id: i64,
        pts: i32,
        limit: usize,
    ) -> Result<ChannelDifference> {
        let limit = if limit == 0 { MAX_PAGE } else { limit };
        let too_long_after = self.inner.max_difference;
        self.read(|s, _| s.channel_difference(user_id, channel_id, pts, limit, too_long_after))
    }

    // ---- lookups for the TL layer ----

    /// is_contact tells whether `contact_id` is in `user_id`'s contacts.
    pub fn is_contact(&self, user_id: i64, contact_id: i64) -> bool {
        self.read(|s, _| {
            s.users
                .get(&user_id)
                .is_some_and(|rec| rec.contacts.contains(&contact_id))
        })
    }

    /// is_channel_member tells whether a user is a member of a channel.
    pub fn is_channel_member(&self, user_id: i64, channel_id: i64) -> bool {
        self.read(|s, _| {
            s.channels
                .get(&channel_id)
                .is_some_and(|rec| rec.members.contains(&user_id))
        })
    }

    // ---- additions for the TL layer ----

    /// has_sent_random tells whether `user_id` already sent a message with
    /// this random_id (a repeated send only returns the first message).
    pub fn has_sent_random(&self, user_id: i64, random_id: i64) -> bool {
        self.read(|s, _| {
            s.users
                .get(&user_id)
                .is_some_and(|rec| rec.sent_random.contains_key(&random_id))
        })
    }

    /// channel_pts is a channel's current pts (for updates outside its
    /// sequence, such as read marks, which carry it with a count of 0).
    pub fn channel_pts(&self, channel_id: i64) -> Option<i32> {
        self.read(|s, _| s.channels.get(&channel_id).map(|c| c.pts))
    }
}
