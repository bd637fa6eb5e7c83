//! The network's state: every record, and the operations on users, logins,
//! sessions, passwords and faults. Messaging lives in `messages.rs`.
//! Everything here is synchronous and deterministic given `now` and the
//! random generator's seed.

use std::collections::{BTreeMap, BTreeSet};

use rand::rngs::StdRng;
use rand::{Rng, RngCore, SeedableRng};
use serde::{Deserialize, Serialize};

use super::error::{Error, Result};
use super::srp::{self, SrpSecret, TwoFactor};
use super::types::*;

/// CODE_TTL is how long a login code works (Telegram: a few minutes).
pub const CODE_TTL: i64 = 300;
/// LOGIN_TOKEN_TTL is how long a QR login token works.
pub const LOGIN_TOKEN_TTL: i64 = 30;
/// SRP_TTL is how long an `account.getPassword` challenge can be answered.
const SRP_TTL: i64 = 600;

#[derive(Serialize, Deserialize)]
pub(super) struct State {
    pub(super) next_user_id: i64,
    pub(super) next_chat_id: i64,
    pub(super) next_channel_id: i64,
    pub(super) next_link: u64,
    pub(super) users: BTreeMap<i64, UserRecord>,
    pub(super) chats: BTreeMap<i64, Chat>,
    pub(super) channels: BTreeMap<i64, ChannelRecord>,
    /// phones maps a phone number to its user.
    pub(super) phones: BTreeMap<String, i64>,
    /// usernames maps a lowercase username to its user or channel.
    pub(super) usernames: BTreeMap<String, Peer>,
    pub(super) auth_keys: BTreeMap<i64, AuthKeyRecord>,
    /// codes maps a phone_code_hash to its pending code.
    pub(super) codes: BTreeMap<String, PendingCode>,
    /// login_tokens maps a hex QR token to its record.
    pub(super) login_tokens: BTreeMap<String, LoginTokenRecord>,
    /// links maps a message's link to its copies (owner, id) in the
    /// per-user boxes of private chats and basic groups.
    pub(super) links: BTreeMap<u64, Vec<(i64, i32)>>,
    /// documents are the stored files by id (their bytes are in the data
    /// directory, or in `blobs`).
    #[serde(default)]
    pub(super) documents: BTreeMap<i64, Document>,
    /// blobs hold the documents' bytes when there is no data directory.
    #[serde(skip)]
    pub(super) blobs: BTreeMap<i64, std::sync::Arc<Vec<u8>>>,
    /// srp holds open password challenges; they die with the process.
    #[serde(skip)]
    pub(super) srp: BTreeMap<i64, PendingSrp>,
    /// duplicate_key_incidents are the times a key was used from two
    /// connections at once, oldest first.
    #[serde(default)]
    pub(super) duplicate_key_incidents: Vec<DuplicateKeyIncident>,
    /// faults are transient: a restart clears them.
    #[serde(skip)]
    pub(super) faults: Vec<FaultRule>,
    #[serde(skip, default = "os_rng")]
    pub(super) rng: StdRng,
}

fn os_rng() -> StdRng {
    StdRng::from_os_rng()
}

#[derive(Serialize, Deserialize)]
pub(super) struct UserRecord {
    pub(super) user: User,
    pub(super) password: Option<TwoFactor>,
    pub(super) bot_token: Option<String>,
    pub(super) contacts: BTreeSet<i64>,
    pub(super) next_message_id: i32,
    /// messages is the user's box: private chats and basic groups.
    pub(super) messages: BTreeMap<i32, BoxedMessage>,
    #[serde(with = "peer_map")]
    pub(super) dialogs: BTreeMap<Peer, DialogState>,
    pub(super) pts: i32,
    pub(super) updates: Vec<LoggedUpdate>,
    /// sent_random maps a send's random_id to what it produced.
    pub(super) sent_random: BTreeMap<i64, SentRef>,
    /// owner is the tenant the user belongs to (see `NewUser::owner`).
    #[serde(default)]
    pub(super) owner: Option<String>,
    /// scheduled holds the messages the user scheduled, by their id in the
    /// schedule (a sequence of its own, as Telegram keeps it).
    #[serde(default)]
    pub(super) scheduled: BTreeMap<i32, ScheduledRecord>,
    #[serde(default)]
    pub(super) next_scheduled_id: i32,
}

/// ScheduledRecord is a message waiting in its sender's schedule.
#[derive(Clone, Serialize, Deserialize)]
pub(super) struct ScheduledRecord {
    pub(super) peer: Peer,
    pub(super) text: String,
    pub(super) entities: Option<serde_json::Value>,
    pub(super) reply_to: Option<i32>,
    pub(super) random_id: Option<i64>,
    /// date is when it is sent.
    pub(super) date: i64,
}

#[derive(Clone, Serialize, Deserialize)]
pub(super) struct BoxedMessage {
    pub(super) message: Message,
    pub(super) link: u64,
}

#[derive(Default, Serialize, Deserialize)]
pub(super) struct DialogState {
    pub(super) read_inbox_max_id: i32,
    pub(super) read_outbox_max_id: i32,
    /// message_ids indexes the box's messages of this dialog (unused for
    /// channels, whose messages live in the channel).
    pub(super) message_ids: BTreeSet<i32>,
}

#[derive(Clone, Copy, Serialize, Deserialize)]
pub(super) struct SentRef {
    pub(super) peer: Peer,
    pub(super) id: i32,
    pub(super) pts: Pts,
}

#[derive(Clone, Serialize, Deserialize)]
pub(super) struct LoggedUpdate {
    /// pts is the sequence's pts after this update.
    pub(super) pts: i32,
    pub(super) pts_count: i32,
    pub(super) date: i64,
    pub(super) update: Update,
}

#[derive(Serialize, Deserialize)]
pub(super) struct ChannelRecord {
    pub(super) channel: Channel,
    pub(super) members: BTreeSet<i64>,
    pub(super) next_message_id: i32,
    /// messages are stored with `out = false`; views set it per viewer.
    pub(super) messages: BTreeMap<i32, Message>,
    pub(super) pts: i32,
    pub(super) updates: Vec<LoggedUpdate>,
}

#[derive(Serialize, Deserialize)]
pub(super) struct AuthKeyRecord {
    pub(super) key: AuthKeyBytes,
    pub(super) client: ClientInfo,
    pub(super) login: Option<Login>,
    /// owner is the tenant whose gateway registered the key: it logs in only
    /// as that tenant's users (and unowned ones).
    #[serde(default)]
    pub(super) owner: Option<String>,
    /// duplicated is set for good once the key was used from two
    /// connections at once: every call on it answers AUTH_KEY_DUPLICATED.
    #[serde(default)]
    pub(super) duplicated: bool,
}

#[derive(Clone, Serialize, Deserialize)]
pub(super) enum Login {
    /// The code was right but the user has a 2FA password.
    PasswordPending {
        user_id: i64,
    },
    Authorized(Authorization),
}

#[derive(Serialize, Deserialize)]
pub(super) struct PendingCode {
    pub(super) phone: String,
    pub(super) code: String,
    pub(super) expires: i64,
}

#[derive(Serialize, Deserialize)]
pub(super) struct LoginTokenRecord {
    pub(super) auth_key_id: i64,
    pub(super) expires: i64,
    pub(super) accepted: bool,
}

pub(super) struct PendingSrp {
    pub(super) user_id: i64,
    pub(super) secret: SrpSecret,
    pub(super) expires: i64,
}

pub(super) struct FaultRule {
    pub(super) target: FaultTarget,
    pub(super) method: String,
    pub(super) fault: Fault,
    pub(super) remaining: u32,
}

/// AuthKeyBytes is a registered 2048-bit MTProto auth key. Its Debug never
/// shows the bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct AuthKeyBytes(pub [u8; 256]);

impl std::fmt::Debug for AuthKeyBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuthKeyBytes(..)")
    }
}

impl Serialize for AuthKeyBytes {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(self.0))
    }
}

impl<'de> Deserialize<'de> for AuthKeyBytes {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        let mut key = [0u8; 256];
        hex::decode_to_slice(text, &mut key).map_err(serde::de::Error::custom)?;
        Ok(Self(key))
    }
}

/// peer_map (de)serializes a map keyed by [`Peer`] as a list of pairs, since
/// JSON object keys must be strings.
mod peer_map {
    use std::collections::BTreeMap;

    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use super::Peer;

    pub fn serialize<V: Serialize, S: Serializer>(
        map: &BTreeMap<Peer, V>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.collect_seq(map.iter())
    }

    pub fn deserialize<'de, V: Deserialize<'de>, D: Deserializer<'de>>(
        d: D,
    ) -> Result<BTreeMap<Peer, V>, D::Error> {
        Ok(Vec::<(Peer, V)>::deserialize(d)?.into_iter().collect())
    }
}

/// sandbox_dc returns the DC digit of a sandbox phone number `99966XYYYY`.
pub fn sandbox_dc(phone: &str) -> Option<u8> {
    let bytes = phone.as_bytes();
    if bytes.len() != 10 || !phone.starts_with("99966") || !bytes.iter().all(u8::is_ascii_digit) {
        return None;
    }
    match bytes[5] {
        d @ b'1'..=b'3' => Some(d - b'0'),
        _ => None,
    }
}

/// login_code is the code a sandbox phone number logs in with: its DC
/// digit five times (`9996621234` logs in with `22222`); `None` for a
/// number that is not a sandbox number.
pub fn login_code(phone: &str) -> Option<String> {
    sandbox_dc(phone).map(code_of_dc)
}

fn code_of_dc(dc: u8) -> String {
    char::from(b'0' + dc).to_string().repeat(5)
}

/// normalize_phone drops `+`, spaces, dashes and parentheses.
pub fn normalize_phone(phone: &str) -> String {
    phone
        .chars()
        .filter(|c| !matches!(c, '+' | ' ' | '-' | '(' | ')'))
        .collect()
}

fn sandbox_phone(phone: &str) -> Result<(String, u8)> {
    let phone = normalize_phone(phone);
    let dc = sandbox_dc(&phone).ok_or(Error::PhoneNumberInvalid)?;
    Ok((phone, dc))
}

fn valid_username(username: &str) -> bool {
    let bytes = username.as_bytes();
    (5..=32).contains(&bytes.len())
        && bytes[0].is_ascii_alphabetic()
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'_')
}

/// INITIAL_PTS is where a new user's or channel's update sequence starts.
pub(super) const INITIAL_PTS: i32 = 1;

impl UserRecord {
    fn new(user: User) -> Self {
        Self {
            user,
            password: None,
            bot_token: None,
            contacts: BTreeSet::new(),
            next_message_id: 0,
            messages: BTreeMap::new(),
            dialogs: BTreeMap::new(),
            // Telegram's sequences start at 1: clients (grammers among
            // them) read a pts of 0 as "no state yet" and would take a
            // fresh getState instead of the difference since login.
            pts: INITIAL_PTS,
            updates: Vec::new(),
            sent_random: BTreeMap::new(),
            owner: None,
            scheduled: BTreeMap::new(),
            next_scheduled_id: 0,
        }
    }

    /// log appends an update to the user's common sequence.
    pub(super) fn log(&mut self, update: Update, pts_count: i32, date: i64) -> Pts {
        debug_assert!(pts_count > 0, "only pts-bearing updates are logged");
        self.pts += pts_count;
        self.updates.push(LoggedUpdate {
            pts: self.pts,
            pts_count,
            date,
            update,
        });
        Pts {
            pts: self.pts,
            pts_count,
        }
    }
}

impl State {
    pub(super) fn new(seed: Option<u64>) -> Self {
        Self {
            next_user_id: 1_000_000,
            next_chat_id: 2_000_000,
            next_channel_id: 3_000_000,
            next_link: 0,
            users: BTreeMap::new(),
            chats: BTreeMap::new(),
            channels: BTreeMap::new(),
            phones: BTreeMap::new(),
            usernames: BTreeMap::new(),
            auth_keys: BTreeMap::new(),
            codes: BTreeMap::new(),
            login_tokens: BTreeMap::new(),
            links: BTreeMap::new(),
            documents: BTreeMap::new(),
            blobs: BTreeMap::new(),
            srp: BTreeMap::new(),
            duplicate_key_incidents: Vec::new(),
            faults: Vec::new(),
            rng: seed.map_or_else(os_rng, StdRng::seed_from_u64),
        }
    }

    pub(super) fn reseed(&mut self, seed: u64) {
        self.rng = StdRng::seed_from_u64(seed);
    }

    pub(super) fn random_i64(&mut self) -> i64 {
        // Telegram's hashes and ids are never 0 in practice.
        loop {
            let value: i64 = self.rng.random();
            if value != 0 {
                return value;
            }
        }
    }

    pub(super) fn random_bytes(&mut self, bytes: usize) -> Vec<u8> {
        let mut buf = vec![0u8; bytes];
        self.rng.fill_bytes(&mut buf);
        buf
    }

    fn random_hex(&mut self, bytes: usize) -> String {
        let mut buf = vec![0u8; bytes];
        self.rng.fill_bytes(&mut buf);
        hex::encode(buf)
    }

    pub(super) fn user_rec(&self, id: i64) -> Result<&UserRecord> {
        self.users.get(&id).ok_or(Error::UserIdInvalid)
    }

    pub(super) fn user_rec_mut(&mut self, id: i64) -> Result<&mut UserRecord> {
        self.users.get_mut(&id).ok_or(Error::UserIdInvalid)
    }

    // ---- users and contacts ----

    fn claim_username(&mut self, username: Option<&str>, owner: Peer) -> Result<Option<String>> {
        let Some(username) = username else {
            return Ok(None);
        };
        let username = username.trim_start_matches('@');
        if !valid_username(username) {
            return Err(Error::UsernameInvalid);
        }
        let key = username.to_ascii_lowercase();
        if self.usernames.contains_key(&key) {
            return Err(Error::UsernameOccupied);
        }
        self.usernames.insert(key, owner);
        Ok(Some(username.to_owned()))
    }

    fn insert_user(
        &mut self,
        mut user: User,
        password: Option<TwoFactor>,
        owner: Option<String>,
    ) -> User {
        self.next_user_id += 1;
        user.id = self.next_user_id;
        user.access_hash = self.random_i64();
        if let Some(phone) = &user.phone {
            self.phones.insert(phone.clone(), user.id);
        }
        if let Some(username) = &user.username {
            self.usernames
                .insert(username.to_ascii_lowercase(), Peer::User(user.id));
        }
        let mut record = UserRecord::new(user.clone());
        record.password = password;
        record.owner = owner;
        self.users.insert(user.id, record);
        user
    }

    pub(super) fn create_user(&mut self, new: NewUser) -> Result<User> {
        let (phone, _) = sandbox_phone(&new.phone)?;
        if self.phones.contains_key(&phone) {
            return Err(Error::PhoneNumberOccupied);
        }
        if let Some(username) = &new.username {
            let username = username.trim_start_matches('@');
            if !valid_username(username) {
                return Err(Error::UsernameInvalid);
            }
            if self.usernames.contains_key(&username.to_ascii_lowercase()) {
                return Err(Error::UsernameOccupied);
            }
        }
        let user = User {
            id: 0,
            access_hash: 0,
            first_name: new.first_name,
            last_name: new.last_name,
            username: new.username.map(|u| u.trim_start_matches('@').to_owned()),
            phone: Some(phone),
            bot: false,
            about: new.about.filter(|about| !about.is_empty()),
        };
        Ok(self.insert_user(user, new.password, new.owner))
    }

    pub(super) fn create_bot(
        &mut self,
        first_name: String,
        username: String,
        owner: Option<String>,
    ) -> Result<(User, String)> {
        let username = username.trim_start_matches('@').to_owned();
        if !valid_username(&username) || !username.to_ascii_lowercase().ends_with("bot") {
            return Err(Error::UsernameInvalid);
        }
        if self.usernames.contains_key(&username.to_ascii_lowercase()) {
            return Err(Error::UsernameOccupied);
        }
        let user = User {
            id: 0,
            access_hash: 0,
            first_name,
            last_name: String::new(),
            username: Some(username),
            phone: None,
            bot: true,
            about: None,
        };
        let user = self.insert_user(user, None, owner);
        // Telegram's tokens look like `123456:AAH…` (35 characters after the colon).
        let token = format!("{}:AA{}", user.id, &self.random_hex(17)[..33]);
        self.users
            .get_mut(&user.id)
            .expect("just inserted")
            .bot_token = Some(token.clone());
        Ok((user, token))
    }

    pub(super) fn set_password(&mut self, user_id: i64, password: Option<TwoFactor>) -> Result<()> {
        self.user_rec_mut(user_id)?.password = password;
        // Open challenges were computed from the old verifier.
        self.srp.retain(|_, pending| pending.user_id != user_id);
        Ok(())
    }

    pub(super) fn set_username(&mut self, user_id: i64, username: Option<&str>) -> Result<User> {
        let old = self.user_rec(user_id)?.user.username.clone();
        if old.as_deref().map(str::to_ascii_lowercase)
            == username.map(|u| u.trim_start_matches('@').to_ascii_lowercase())
        {
            let rec = self.user_rec_mut(user_id)?;
            rec.user.username = username.map(|u| u.trim_start_matches('@').to_owned());
            return Ok(rec.user.clone());
        }
        let claimed = self.claim_username(username, Peer::User(user_id))?;
        if let Some(old) = old {
            self.usernames.remove(&old.to_ascii_lowercase());
        }
        let rec = self.user_rec_mut(user_id)?;
        rec.user.username = claimed;
        Ok(rec.user.clone())
    }

    pub(super) fn user_by_phone(&self, phone: &str) -> Option<User> {
        let id = self.phones.get(&normalize_phone(phone))?;
        Some(self.users.get(id)?.user.clone())
    }

    pub(super) fn resolve_username(&self, username: &str) -> Result<Peer> {
        self.usernames
            .get(&username.trim_start_matches('@').to_ascii_lowercase())
            .copied()
            .ok_or(Error::UsernameNotOccupied)
    }

    pub(super) fn import_contacts(&mut self, user_id: i64, phones: &[String]) -> Result<Vec<User>> {
        self.user_rec(user_id)?;
        let found: Vec<User> = phones
            .iter()
            .filter_map(|phone| self.user_by_phone(phone))
            .filter(|user| user.id != user_id)
            .collect();
        let rec = self.user_rec_mut(user_id)?;
        rec.contacts.extend(found.iter().map(|u| u.id));
        Ok(found)
    }

    pub(super) fn add_contact(&mut self, user_id: i64, contact_id: i64) -> Result<User> {
        let contact = self.user_rec(contact_id)?.user.clone();
        self.user_rec_mut(user_id)?.contacts.insert(contact_id);
        Ok(contact)
    }

    pub(super) fn contacts(&self, user_id: i64) -> Result<Vec<User>> {
        let rec = self.user_rec(user_id)?;
        Ok(rec
            .contacts
            .iter()
            .filter_map(|id| self.users.get(id).map(|r| r.user.clone()))
            .collect())
    }

    // ---- auth keys and sessions ----

    pub(super) fn register_auth_key(
        &mut self,
        auth_key_id: i64,
        key: [u8; 256],
        owner: Option<String>,
    ) {
        match self.auth_keys.get_mut(&auth_key_id) {
            Some(rec) if rec.key.0 == key => {}
            _ => {
                self.auth_keys.insert(
                    auth_key_id,
                    AuthKeyRecord {
                        key: AuthKeyBytes(key),
                        client: ClientInfo::default(),
                        login: None,
                        owner,
                        duplicated: false,
                    },
                );
            }
        }
    }

    /// owned_by tells whether a user belongs to `owner` (unowned users
    /// belong to everyone).
    pub(super) fn owned_by(&self, user_id: i64, owner: Option<&str>) -> bool {
        self.users
            .get(&user_id)
            .is_some_and(|rec| rec.owner.is_none() || rec.owner.as_deref() == owner)
    }

    /// key_may_use tells whether a key may log in as a user: a key
    /// registered for a tenant never becomes another tenant's user.
    fn key_may_use(&self, auth_key_id: i64, user_id: i64) -> Result<bool> {
        let owner = self.key_rec(auth_key_id)?.owner.clone();
        Ok(self.owned_by(user_id, owner.as_deref()))
    }

    fn key_rec(&self, auth_key_id: i64) -> Result<&AuthKeyRecord> {
        self.auth_keys
            .get(&auth_key_id)
            .ok_or(Error::AuthKeyUnregistered)
    }

    fn key_rec_mut(&mut self, auth_key_id: i64) -> Result<&mut AuthKeyRecord> {
        self.auth_keys
            .get_mut(&auth_key_id)
            .ok_or(Error::AuthKeyUnregistered)
    }

    pub(super) fn authorized_user(&self, auth_key_id: i64) -> Result<i64> {
        match &self.key_rec(auth_key_id)?.login {
            Some(Login::Authorized(auth)) => Ok(auth.user_id),
            _ => Err(Error::AuthKeyUnregistered),
        }
    }

    pub(super) fn touch(
        &mut self,
        auth_key_id: i64,
        client: Option<ClientInfo>,
        now: i64,
    ) -> Result<()> {
        let rec = self.key_rec_mut(auth_key_id)?;
        if let Some(client) = client {
            rec.client = client.clone();
            if let Some(Login::Authorized(auth)) = &mut rec.login {
                auth.client = client;
            }
        }
        if let Some(Login::Authorized(auth)) = &mut rec.login {
            auth.date_active = now;
        }
        Ok(())
    }

    /// log_in binds a key to a user, or leaves it waiting for the password.
    fn log_in(&mut self, auth_key_id: i64, user_id: i64, now: i64) -> Result<Authorization> {
        if self.user_rec(user_id)?.password.is_some() {
            self.key_rec_mut(auth_key_id)?.login = Some(Login::PasswordPending { user_id });
            return Err(Error::SessionPasswordNeeded);
        }
        Ok(self.authorize(auth_key_id, user_id, now))
    }

    /// sign_in_device registers a key already logged in as the user (a
    /// device the user owns outside the gateway, e.g. their phone), skipping
    /// the code and password.
    pub(super) fn sign_in_device(
        &mut self,
        auth_key_id: i64,
        key: [u8; 256],
        user_id: i64,
        client: ClientInfo,
        now: i64,
    ) -> Result<Authorization> {
        // The user's own device: registered for the user's tenant.
        let owner = self.user_rec(user_id)?.owner.clone();
        self.register_auth_key(auth_key_id, key, owner);
        self.touch(auth_key_id, Some(client), now)?;
        Ok(self.authorize(auth_key_id, user_id, now))
    }

    /// users lists users by id, after `after`.
    pub(super) fn users_after(&self, after: i64, limit: usize, owner: Option<&str>) -> Vec<User> {
        self.users
            .range(after.saturating_add(1)..)
            .filter(|(id, _)| owner.is_none() || self.owned_by(**id, owner))
            .take(limit)
            .map(|(_, rec)| rec.user.clone())
            .collect()
    }

    fn authorize(&mut self, auth_key_id: i64, user_id: i64, now: i64) -> Authorization {
        let hash = self.random_i64();
        let rec = self
            .auth_keys
            .get_mut(&auth_key_id)
            .expect("callers checked the key");
        let auth = Authorization {
            hash,
            user_id,
            client: rec.client.clone(),
            date_created: now,
            date_active: now,
            current: false,
        };
        rec.login = Some(Login::Authorized(auth.clone()));
        auth
    }

    pub(super) fn send_code(
        &mut self,
        auth_key_id: i64,
        phone: &str,
        now: i64,
    ) -> Result<SentCode> {
        let (phone, dc) = sandbox_phone(phone)?;
        // Another tenant's number does not exist for this key.
        if let Some(user_id) = self.phones.get(&phone).copied()
            && !self.key_may_use(auth_key_id, user_id)?
        {
            return Err(Error::PhoneNumberInvalid);
        }
        let hash = self.random_hex(9);
        let code = code_of_dc(dc);
        let expires = now + CODE_TTL;
        self.codes.retain(|_, pending| pending.expires > now);
        self.codes.insert(
            hash.clone(),
            PendingCode {
                phone,
                code,
                expires,
            },
        );
        Ok(SentCode {
            phone_code_hash: hash,
            code_length: 5,
            expires,
        })
    }

    pub(super) fn sign_in(
        &mut self,
        auth_key_id: i64,
        phone: &str,
        phone_code_hash: &str,
        code: &str,
        now: i64,
    ) -> Result<User> {
        self.key_rec(auth_key_id)?;
        let (phone, dc) = sandbox_phone(phone)?;
        if code.is_empty() {
            return Err(Error::PhoneCodeEmpty);
        }
        let pending = match self.codes.get(phone_code_hash) {
            Some(pending) if pending.phone == phone => pending,
            _ => return Err(Error::PhoneCodeExpired),
        };
        if pending.expires <= now {
            self.codes.remove(phone_code_hash);
            return Err(Error::PhoneCodeExpired);
        }
        if pending.code != code {
            return Err(Error::PhoneCodeInvalid);
        }
        self.codes.remove(phone_code_hash);
        let user_id = match self.phones.get(&phone) {
            Some(id) if !self.key_may_use(auth_key_id, *id)? => {
                return Err(Error::PhoneNumberInvalid);
            }
            Some(id) => *id,
            None => {
                let user = User {
                    id: 0,
                    access_hash: 0,
                    first_name: format!("Sandbox {}", &phone[6..]),
                    last_name: format!("DC{dc}"),
                    username: None,
                    phone: Some(phone),
                    bot: false,
                    about: None,
                };
                // Signed up through a tenant's key: the tenant's user.
                let owner = self.key_rec(auth_key_id)?.owner.clone();
                self.insert_user(user, None, owner).id
            }
        };
        self.log_in(auth_key_id, user_id, now)?;
        Ok(self.user_rec(user_id)?.user.clone())
    }

    pub(super) fn import_bot_authorization(
        &mut self,
        auth_key_id: i64,
        token: &str,
        now: i64,
    ) -> Result<User> {
        self.key_rec(auth_key_id)?;
        let user_id: i64 = token
            .split_once(':')
            .and_then(|(id, _)| id.parse().ok())
            .ok_or(Error::AccessTokenInvalid)?;
        let rec = self.users.get(&user_id).ok_or(Error::AccessTokenInvalid)?;
        if rec.bot_token.as_deref() != Some(token) || !self.key_may_use(auth_key_id, user_id)? {
            return Err(Error::AccessTokenInvalid);
        }
        let user = rec.user.clone();
        self.authorize(auth_key_id, user_id, now);
        Ok(user)
    }

    pub(super) fn log_out(&mut self, auth_key_id: i64) -> Result<()> {
        self.authorized_user(auth_key_id)?;
        self.key_rec_mut(auth_key_id)?.login = None;
        Ok(())
    }

    pub(super) fn authorizations(&self, auth_key_id: i64) -> Result<Vec<Authorization>> {
        let user_id = self.authorized_user(auth_key_id)?;
        let mut list: Vec<Authorization> = self
            .auth_keys
            .iter()
            .filter_map(|(key_id, rec)| match &rec.login {
                Some(Login::Authorized(auth)) if auth.user_id == user_id => {
                    let mut auth = auth.clone();
                    auth.current = *key_id == auth_key_id;
                    Some(auth)
                }
                _ => None,
            })
            .collect();
        list.sort_by_key(|a| (!a.current, std::cmp::Reverse(a.date_active), a.hash));
        Ok(list)
    }

    /// terminate_authorization logs out another device of the caller's user
    /// (`account.resetAuthorization`).
    pub(super) fn terminate_authorization(&mut self, auth_key_id: i64, hash: i64) -> Result<()> {
        let user_id = self.authorized_user(auth_key_id)?;
        let target = self.auth_keys.iter_mut().find(|(key_id, rec)| {
            **key_id != auth_key_id
                && matches!(&rec.login, Some(Login::Authorized(a)) if a.user_id == user_id && a.hash == hash)
        });
        let Some((_, rec)) = target else {
            return Err(Error::HashInvalid);
        };
        rec.login = None;
        Ok(())
    }

    /// revoke_session logs an auth key out from the outside (a fault, or
    /// the user's other device): its calls answer AUTH_KEY_UNREGISTERED.
    pub(super) fn revoke_session(&mut self, auth_key_id: i64) -> Result<()> {
        self.key_rec_mut(auth_key_id)?.login = None;
        Ok(())
    }

    /// invalidate_duplicated kills a key used from two connections at once,
    /// as Telegram does: it is logged out (its user's device list no longer
    /// shows it, updates stop) and answers AUTH_KEY_DUPLICATED from now on.
    pub(super) fn invalidate_duplicated(
        &mut self,
        auth_key_id: i64,
        older_connection_id: u64,
        newer_connection_id: u64,
        now: i64,
    ) -> Result<DuplicateKeyIncident> {
        let rec = self.key_rec_mut(auth_key_id)?;
        let user_id = match rec.login.take() {
            Some(Login::Authorized(auth)) => Some(auth.user_id),
            Some(Login::PasswordPending { .. }) | None => None,
        };
        rec.duplicated = true;
        let incident = DuplicateKeyIncident {
            auth_key_id,
            user_id,
            older_connection_id,
            newer_connection_id,
            at: now,
        };
        self.duplicate_key_incidents.push(incident.clone());
        Ok(incident)
    }

    /// key_duplicated tells whether a key was invalidated for concurrent use.
    pub(super) fn key_duplicated(&self, auth_key_id: i64) -> bool {
        self.auth_keys
            .get(&auth_key_id)
            .is_some_and(|rec| rec.duplicated)
    }

    pub(super) fn revoke_user_sessions(&mut self, user_id: i64) -> usize {
        let mut revoked = 0;
        for rec in self.auth_keys.values_mut() {
            let owned = match &rec.login {
                Some(Login::Authorized(a)) => a.user_id == user_id,
                Some(Login::PasswordPending { user_id: id }) => *id == user_id,
                None => false,
            };
            if owned {
                rec.login = None;
                revoked += 1;
            }
        }
        revoked
    }

    // ---- QR login ----

    pub(super) fn export_login_token(&mut self, auth_key_id: i64, now: i64) -> Result<LoginToken> {
        match &self.key_rec(auth_key_id)?.login {
            Some(Login::Authorized(auth)) => {
                let user = self.user_rec(auth.user_id)?.user.clone();
                self.login_tokens
                    .retain(|_, t| t.auth_key_id != auth_key_id);
                return Ok(LoginToken::Success(user));
            }
            Some(Login::PasswordPending { .. }) => return Err(Error::SessionPasswordNeeded),
            None => {}
        }
        self.login_tokens
            .retain(|_, t| t.auth_key_id != auth_key_id && t.expires > now);
        let mut token = vec![0u8; 32];
        self.rng.fill_bytes(&mut token);
        let expires = now + LOGIN_TOKEN_TTL;
        self.login_tokens.insert(
            hex::encode(&token),
            LoginTokenRecord {
                auth_key_id,
                expires,
                accepted: false,
            },
        );
        Ok(LoginToken::Token { token, expires })
    }

    pub(super) fn accept_login_token(
        &mut self,
        by_auth_key_id: i64,
        token: &[u8],
        now: i64,
    ) -> Result<AcceptedLoginToken> {
        let user_id = self.authorized_user(by_auth_key_id)?;
        let record = self
            .login_tokens
            .get_mut(&hex::encode(token))
            .ok_or(Error::AuthTokenInvalid)?;
        if record.accepted {
            return Err(Error::AuthTokenAlreadyAccepted);
        }
        if record.expires <= now {
            return Err(Error::AuthTokenExpired);
        }
        let exporter = record.auth_key_id;
        // A code shown to one tenant's gateway is no use to another's user.
        if !self.key_may_use(exporter, user_id)? {
            return Err(Error::AuthTokenInvalid);
        }
        let record = self
            .login_tokens
            .get_mut(&hex::encode(token))
            .ok_or(Error::AuthTokenInvalid)?;
        record.accepted = true;
        if self.user_rec(user_id)?.password.is_some() {
            // The exporter learns it must send the password on its next poll.
            self.key_rec_mut(exporter)?.login = Some(Login::PasswordPending { user_id });
            let rec = self.key_rec(exporter)?;
            let authorization = Authorization {
                hash: 0,
                user_id,
                client: rec.client.clone(),
                date_created: now,
                date_active: now,
                current: false,
            };
            return Ok(AcceptedLoginToken {
                authorization,
                exporter_auth_key_id: exporter,
            });
        }
        let authorization = self.authorize(exporter, user_id, now);
        Ok(AcceptedLoginToken {
            authorization,
            exporter_auth_key_id: exporter,
        })
    }

    // ---- 2FA ----

    fn password_user(&self, auth_key_id: i64) -> Result<i64> {
        match &self.key_rec(auth_key_id)?.login {
            Some(Login::Authorized(auth)) => Ok(auth.user_id),
            Some(Login::PasswordPending { user_id }) => Ok(*user_id),
            None => Err(Error::AuthKeyUnregistered),
        }
    }

    pub(super) fn get_password(&mut self, auth_key_id: i64, now: i64) -> Result<PasswordInfo> {
        let user_id = self.password_user(auth_key_id)?;
        let Some(password) = self.user_rec(user_id)?.password.clone() else {
            return Ok(PasswordInfo {
                challenge: None,
                hint: None,
            });
        };
        let secret = password.challenge(&mut self.rng);
        let srp_id = self.random_i64();
        let srp_b = secret.g_b.clone();
        self.srp.retain(|_, pending| pending.expires > now);
        self.srp.insert(
            srp_id,
            PendingSrp {
                user_id,
                secret,
                expires: now + SRP_TTL,
            },
        );
        Ok(PasswordInfo {
            challenge: Some(SrpChallenge {
                salt1: password.salt1.clone(),
                salt2: password.salt2.clone(),
                g: srp::G,
                p: srp::p_bytes().to_vec(),
                srp_b,
                srp_id,
            }),
            hint: password.hint.clone(),
        })
    }

    pub(super) fn check_password(
        &mut self,
        auth_key_id: i64,
        srp_id: i64,
        a: &[u8],
        m1: &[u8],
        now: i64,
    ) -> Result<User> {
        let user_id = self.password_user(auth_key_id)?;
        // One attempt per challenge: clients fetch a new one after a failure.
        let pending = match self.srp.remove(&srp_id) {
            Some(p) if p.user_id == user_id && p.expires > now => p,
            _ => return Err(Error::SrpIdInvalid),
        };
        let password = self
            .user_rec(user_id)?
            .password
            .clone()
            .ok_or(Error::SrpPasswordChanged)?;
        if !password.check(&pending.secret, a, m1) {
            return Err(Error::PasswordHashInvalid);
        }
        if matches!(
            self.key_rec(auth_key_id)?.login,
            Some(Login::PasswordPending { .. })
        ) {
            self.authorize(auth_key_id, user_id, now);
        }
        Ok(self.user_rec(user_id)?.user.clone())
    }

    // ---- faults ----

    pub(super) fn inject_fault(
        &mut self,
        target: FaultTarget,
        method: &str,
        fault: Fault,
        times: u32,
    ) {
        if times == 0 {
            return;
        }
        self.faults.push(FaultRule {
            target,
            method: method.to_owned(),
            fault,
            remaining: times,
        });
    }

    pub(super) fn faults_pending(&self, target: FaultTarget) -> u32 {
        self.faults
            .iter()
            .filter(|rule| rule.target == target)
            .map(|rule| rule.remaining)
            .sum()
    }

    pub(super) fn take_fault(&mut self, auth_key_id: i64, method: &str) -> Option<Fault> {
        let user_id = self.authorized_user(auth_key_id).ok();
        let index = self.faults.iter().position(|rule| {
            let target = match rule.target {
                FaultTarget::AuthKey(id) => id == auth_key_id,
                FaultTarget::User(id) => Some(id) == user_id,
            };
            target && (rule.method == "*" || rule.method == method)
        })?;
        let rule = &mut self.faults[index];
        let fault = rule.fault;
        rule.remaining -= 1;
        if rule.remaining == 0 {
            self.faults.remove(index);
        }
        Some(fault)
    }
}
