//! The network's plain data: what the TL layer reads and converts. No TL
//! types here; dates are Unix seconds.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Peer is a dialog partner: a user, a basic group ("chat") or a channel
/// (broadcast or supergroup).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Peer {
    User(i64),
    Chat(i64),
    Channel(i64),
}

/// User is a sandbox account as other users see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub id: i64,
    /// access_hash is random and stable; the sandbox uses one per user for
    /// every viewer (Telegram's differs per viewer).
    pub access_hash: i64,
    pub first_name: String,
    pub last_name: String,
    pub username: Option<String>,
    /// phone is the number without `+`, e.g. `9996621234`; bots have none.
    pub phone: Option<String>,
    pub bot: bool,
    /// about is the user's bio (`userFull.about`); absent in snapshots
    /// written before bios existed.
    #[serde(default)]
    pub about: Option<String>,
}

/// NewUser is what `Network::create_user` needs.
#[derive(Debug, Clone, Default)]
pub struct NewUser {
    /// phone must be a sandbox number `99966XYYYY` (X = DC 1–3).
    pub phone: String,
    pub first_name: String,
    pub last_name: String,
    pub username: Option<String>,
    /// about is the user's bio.
    pub about: Option<String>,
    /// password is derived in advance with `TwoFactor::derive` (CPU-heavy,
    /// off the runtime).
    pub password: Option<super::TwoFactor>,
    /// owner is the tenant the user belongs to: only sessions registered
    /// for that tenant log in as it. `None`: anyone's (users made over
    /// MTProto sign-up by an unowned key, or before owners existed).
    pub owner: Option<String>,
}

/// Chat is a basic group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Chat {
    pub id: i64,
    pub title: String,
    pub creator: i64,
    pub participants: Vec<i64>,
    pub date: i64,
    /// migrated_to is the supergroup the group became
    /// (`messages.migrateChat`). A migrated group is deactivated: its
    /// history stays readable, nobody writes to it any more. Absent in
    /// snapshots written before migrations existed.
    #[serde(default)]
    pub migrated_to: Option<i64>,
}

impl Chat {
    /// deactivated tells whether the group was migrated and so takes no
    /// more messages (Telegram's `chat.deactivated`).
    pub fn deactivated(&self) -> bool {
        self.migrated_to.is_some()
    }
}

/// Channel is a broadcast channel or, with `megagroup`, a supergroup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Channel {
    pub id: i64,
    pub access_hash: i64,
    pub title: String,
    pub username: Option<String>,
    pub megagroup: bool,
    pub creator: i64,
    pub date: i64,
    /// migrated_from is the basic group this supergroup continues, when it
    /// was made by `messages.migrateChat`. Absent in snapshots written
    /// before migrations existed.
    #[serde(default)]
    pub migrated_from: Option<MigratedFrom>,
}

/// MigratedFrom is where a migrated supergroup came from, as its full
/// profile tells members (`channelFull.migrated_from_chat_id` and
/// `migrated_from_max_id`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MigratedFrom {
    pub chat_id: i64,
    /// max_ids are each member's id of the group's last message (its
    /// `messageActionChatMigrateTo`): basic groups number messages per
    /// member's box, so the old history ends at a different id for each.
    pub max_ids: BTreeMap<i64, i32>,
}

/// ForwardHeader says where a forwarded message came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForwardHeader {
    /// from is the original author (a user), or the channel for channel posts.
    pub from: Peer,
    /// date is the original message's date.
    pub date: i64,
    /// channel_post is the id of the original post when `from` is a channel.
    pub channel_post: Option<i32>,
}

/// ServiceAction is the content of a service message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ServiceAction {
    ChatCreate {
        title: String,
        users: Vec<i64>,
    },
    ChannelCreate {
        title: String,
    },
    /// The basic group's last message: it became supergroup `channel_id`.
    ChatMigrateTo {
        channel_id: i64,
    },
    /// The supergroup's first message: it continues basic group `chat_id`,
    /// titled `title`.
    ChannelMigrateFrom {
        title: String,
        chat_id: i64,
    },
}

/// Message is one message as one viewer sees it: in private chats and basic
/// groups every participant has its own copy with its own id; in channels
/// the id is the channel's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    pub id: i32,
    /// peer is the dialog the message is in, from the viewer's side: in a
    /// private chat it is the other user.
    pub peer: Peer,
    /// from_id is the author (for broadcast channel posts, the creator who
    /// posted; the TL layer may omit it).
    pub from_id: i64,
    /// out is true when the viewer wrote it.
    pub out: bool,
    pub date: i64,
    pub text: String,
    /// entities is opaque: whatever the TL layer stored (e.g. a JSON list of
    /// MessageEntity); the sandbox only compares and returns it.
    pub entities: Option<serde_json::Value>,
    /// reply_to is the replied message's id in the viewer's box.
    pub reply_to: Option<i32>,
    pub fwd_from: Option<ForwardHeader>,
    pub edit_date: Option<i64>,
    pub action: Option<ServiceAction>,
    /// media is the attached file; the text is its caption. Absent in
    /// snapshots written before media existed.
    #[serde(default)]
    pub media: Option<Media>,
}

/// Media is what a message carries besides its text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Media {
    Document(Document),
}

/// Document is a stored file (`document`). Its bytes live in the data
/// directory (`files/<id>`), or in memory without one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Document {
    pub id: i64,
    pub access_hash: i64,
    /// file_reference must come back with every download.
    pub file_reference: Vec<u8>,
    pub date: i64,
    pub mime_type: String,
    pub size: i64,
    pub file_name: String,
    /// dc_id is the DC that serves the file: the sandbox's.
    pub dc_id: i32,
    /// uploader is the user who uploaded it.
    pub uploader: i64,
    /// sha256 of the bytes, lowercase hex (empty for documents stored
    /// before it was kept).
    #[serde(default)]
    pub sha256: String,
    /// A photo's (width, height): the file is shown as a photo, with one
    /// size ([`PHOTO_SIZE`]) holding its bytes; `None` for documents.
    #[serde(default)]
    pub photo: Option<(i32, i32)>,
}

/// PHOTO_SIZE is the type of a photo's one size, as Telegram names its
/// largest ("y": up to 1280 px).
pub const PHOTO_SIZE: &str = "y";

/// NewDocument is what `Network::store_document` needs.
#[derive(Debug, Clone, Default)]
pub struct NewDocument {
    pub uploader: i64,
    pub bytes: Vec<u8>,
    pub mime_type: String,
    pub file_name: String,
    /// A photo's (width, height) (see [`Document::photo`]).
    pub photo: Option<(i32, i32)>,
}

/// OutgoingMessage is what a sender writes.
#[derive(Debug, Clone, Default)]
pub struct OutgoingMessage {
    pub text: String,
    pub entities: Option<serde_json::Value>,
    /// reply_to is a message id in the sender's view of the dialog;
    /// unknown ids are dropped, as Telegram does.
    pub reply_to: Option<i32>,
    /// random_id deduplicates per sender: a second send with the same id
    /// returns the first message and sends nothing.
    pub random_id: Option<i64>,
    /// media is attached to the message (then the text may be empty).
    pub media: Option<Media>,
}

/// TypingAction is what a `setTyping` says a user is doing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum TypingAction {
    Typing,
    Cancel,
    /// Other is any other action, by the TL layer's name.
    Other(String),
}

/// Pts is a position in an update sequence: the state after an update, and
/// how many events the update accounts for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pts {
    pub pts: i32,
    pub pts_count: i32,
}

/// Update is one change as one user sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Update {
    NewMessage {
        message: Message,
    },
    EditMessage {
        message: Message,
    },
    DeleteMessages {
        ids: Vec<i32>,
    },
    ReadHistoryInbox {
        peer: Peer,
        max_id: i32,
        still_unread_count: i32,
    },
    ReadHistoryOutbox {
        peer: Peer,
        max_id: i32,
    },
    NewChannelMessage {
        channel_id: i64,
        message: Message,
    },
    EditChannelMessage {
        channel_id: i64,
        message: Message,
    },
    DeleteChannelMessages {
        channel_id: i64,
        ids: Vec<i32>,
    },
    ReadChannelInbox {
        channel_id: i64,
        max_id: i32,
        still_unread_count: i32,
    },
    ReadChannelOutbox {
        channel_id: i64,
        max_id: i32,
    },
    UserTyping {
        user_id: i64,
        action: TypingAction,
    },
    ChatUserTyping {
        chat_id: i64,
        from_id: i64,
        action: TypingAction,
    },
    ChannelUserTyping {
        channel_id: i64,
        from_id: i64,
        action: TypingAction,
    },
    /// The sender's new scheduled message (its id is in the sender's
    /// schedule, not its box); outside any sequence.
    NewScheduledMessage {
        message: Message,
    },
    /// Scheduled messages left `peer`'s schedule; `sent` are the ids the
    /// sent ones got, in order (empty when they were dropped). Outside any
    /// sequence.
    DeleteScheduledMessages {
        peer: Peer,
        ids: Vec<i32>,
        sent: Vec<i32>,
    },
}

/// Delivery is an update to push live to every connected session of
/// `user_id`. It includes the acting user's own update (Telegram sends it to
/// the acting user's other sessions; the calling session gets it in the RPC
/// result), so the wire layer skips the calling session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub user_id: i64,
    pub update: Update,
    /// pts is the user's common pts, or the channel's pts for channel
    /// updates; `None` for updates outside any sequence (typing, channel
    /// read marks).
    pub pts: Option<Pts>,
    pub date: i64,
}

/// Outcome is an operation's result plus the updates it caused.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome<T> {
    pub value: T,
    pub deliveries: Vec<Delivery>,
}

/// Scheduled is a message held in the sender's schedule until `date`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scheduled {
    /// message is the scheduled message as its sender sees it: its id is
    /// in the sender's schedule, its date is when it will be sent.
    pub message: Message,
    /// random_id echoes the request's, for `updateMessageID`.
    pub random_id: Option<i64>,
}

/// Sent is a sent (or forwarded) message from the sender's side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    pub message: Message,
    /// pts is the sender's pts for the new message (the channel's for
    /// channels). A deduplicated send returns the original's pts.
    pub pts: Pts,
    /// random_id echoes the request's, for `updateMessageID`.
    pub random_id: Option<i64>,
}

/// Migrated is a basic group's migration from the migrating user's side:
/// the supergroup that continues it, and the two service messages as that
/// user sees them (the group's `messageActionChatMigrateTo`, then the
/// supergroup's `messageActionChannelMigrateFrom`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Migrated {
    pub channel: Channel,
    pub sent: Vec<Sent>,
}

/// Edited is an edited message from the editor's side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edited {
    pub message: Message,
    pub pts: Pts,
}

/// AffectedMessages is `messages.affectedMessages`: the caller's pts after a
/// delete or read (pts_count 0 when nothing changed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AffectedMessages {
    pub pts: i32,
    pub pts_count: i32,
}

/// UpdatesState is `updates.state`. qts and seq stay 0: the sandbox has no
/// secret chats and pushes updates with seq 0 (like `updateShort*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpdatesState {
    pub pts: i32,
    pub qts: i32,
    pub date: i64,
    pub seq: i32,
    pub unread_count: i32,
}

/// Difference is `updates.Difference`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Difference {
    /// Nothing happened since the client's pts.
    Empty { date: i64, seq: i32 },
    /// Everything since the client's pts; `state` is the current state.
    Full {
        new_messages: Vec<Message>,
        other_updates: Vec<Update>,
        state: UpdatesState,
    },
    /// The first part; call again from `intermediate_state`.
    Slice {
        new_messages: Vec<Message>,
        other_updates: Vec<Update>,
        intermediate_state: UpdatesState,
    },
    /// The client's pts is ahead of the server's (e.g. the sandbox's data was
    /// reset): refetch dialogs and continue from `pts`.
    TooLong { pts: i32 },
}

/// ChannelDifference is `updates.ChannelDifference` (without the
/// `TooLong` case: the sandbox keeps every channel update).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChannelDifference {
    Empty {
        pts: i32,
    },
    Difference {
        new_messages: Vec<Message>,
        other_updates: Vec<Update>,
        pts: i32,
        /// is_final is false when more updates follow (call again).
        is_final: bool,
    },
    /// TooLong: the caller is too far behind; here is the dialog as it is
    /// now (its pts included) and its newest messages, newest first, as
    /// Telegram answers `updates.channelDifferenceTooLong`.
    TooLong {
        dialog: Dialog,
        messages: Vec<Message>,
    },
}

/// Dialog is one entry of a user's chat list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dialog {
    pub peer: Peer,
    pub top_message: i32,
    pub top_message_date: i64,
    pub read_inbox_max_id: i32,
    pub read_outbox_max_id: i32,
    pub unread_count: i32,
    /// pts is the channel's pts for channel dialogs.
    pub pts: Option<i32>,
}

/// DialogsQuery is `messages.getDialogs`' paging: dialogs strictly after the
/// position (offset_date, offset_peer) in the list's order (top message date
/// descending, then peer descending). `offset_date` 0 starts at the top.
#[derive(Debug, Clone, Default)]
pub struct DialogsQuery {
    pub offset_date: i64,
    /// offset_id is accepted for completeness; the position is fully given
    /// by (offset_date, offset_peer), since message ids of different dialogs
    /// are not comparable.
    #[allow(dead_code, reason = "kept so the query mirrors messages.getDialogs")]
    pub offset_id: i32,
    pub offset_peer: Option<Peer>,
    pub limit: usize,
}

/// DialogsPage is `messages.dialogs(Slice)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DialogsPage {
    pub dialogs: Vec<Dialog>,
    /// messages are the dialogs' top messages.
    pub messages: Vec<Message>,
    /// count is the total number of dialogs.
    pub count: usize,
}

/// HistoryQuery is `messages.getHistory`'s paging. Messages are ordered by
/// id descending; the page starts at the first message older than
/// `offset_id` (or `offset_date`), shifted by `add_offset` (negative values
/// reach newer messages), and holds at most `limit` (≤ 100) messages with
/// `min_id < id < max_id` (0 = unbounded).
#[derive(Debug, Clone, Default)]
pub struct HistoryQuery {
    pub offset_id: i32,
    pub offset_date: i64,
    pub add_offset: i32,
    pub limit: usize,
    pub max_id: i32,
    pub min_id: i32,
}

/// HistoryPage is `messages.messages(Slice)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryPage {
    pub messages: Vec<Message>,
    /// count is the total number of messages in the dialog.
    pub count: usize,
}

/// SearchQuery is `messages.search` / `messages.searchGlobal`.
#[derive(Debug, Clone, Default)]
pub struct SearchQuery {
    /// text's words must each start a word of the message,
    /// case-insensitively; empty matches all.
    pub text: String,
    /// peer limits the search to one dialog.
    pub peer: Option<Peer>,
    pub min_date: Option<i64>,
    pub max_date: Option<i64>,
    /// max_id keeps messages with smaller ids (paging through one dialog's
    /// hits, as messages.search's `max_id`/`offset_id` do).
    pub max_id: Option<i32>,
    pub limit: usize,
}

/// SentCode is `auth.sentCode`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentCode {
    pub phone_code_hash: String,
    pub code_length: u32,
    /// expires is when the code stops working.
    pub expires: i64,
}

/// ClientInfo is what a client said in `initConnection`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientInfo {
    pub api_id: i32,
    pub device_model: String,
    pub platform: String,
    pub system_version: String,
    pub app_name: String,
    pub app_version: String,
    pub ip: String,
}

/// Authorization is one logged-in device of a user (`authorization`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Authorization {
    pub hash: i64,
    pub user_id: i64,
    pub client: ClientInfo,
    pub date_created: i64,
    pub date_active: i64,
    /// current is true for the asking session (set when listing).
    pub current: bool,
}

/// DuplicateKeyIncident is one time an auth key was used from two
/// connections at once (the wire layer's rule), after which the key was
/// invalidated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DuplicateKeyIncident {
    pub auth_key_id: i64,
    /// user_id is who the key was signed in as, if anyone.
    pub user_id: Option<i64>,
    /// older_connection_id is the connection that still called after a
    /// newer one had taken the key over: its call was refused.
    pub older_connection_id: u64,
    /// newer_connection_id is the connection that had taken the key over.
    pub newer_connection_id: u64,
    /// at is when it happened.
    pub at: i64,
}

/// PasswordInfo is `account.password`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordInfo {
    /// challenge is `None` when the user has no 2FA password.
    pub challenge: Option<SrpChallenge>,
    pub hint: Option<String>,
}

/// SrpChallenge is `current_algo` + `srp_B` + `srp_id` of `account.password`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SrpChallenge {
    pub salt1: Vec<u8>,
    pub salt2: Vec<u8>,
    pub g: i32,
    /// p is 256 bytes big-endian.
    pub p: Vec<u8>,
    /// srp_b is B, 256 bytes big-endian.
    pub srp_b: Vec<u8>,
    pub srp_id: i64,
}

/// LoginToken is `auth.exportLoginToken`'s answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginToken {
    /// Token shows this (as `tg://login?token=base64url`) until `expires`.
    Token { token: Vec<u8>, expires: i64 },
    /// Success: another session accepted the token; this key is logged in.
    Success(User),
}

/// AcceptedLoginToken is `auth.acceptLoginToken`'s answer plus who to tell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcceptedLoginToken {
    /// authorization is the exporter's new authorization.
    pub authorization: Authorization,
    /// exporter_auth_key_id is the key that exported the token: the wire
    /// layer pushes it `updateLoginToken`.
    pub exporter_auth_key_id: i64,
}

/// Fault is an injected failure the wire layer acts out for one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Fault {
    /// Answer `FLOOD_WAIT_<seconds>` (420).
    FloodWait { seconds: u32 },
    /// Close the connection without answering.
    DropConnection,
    /// Answer 400 FILE_REFERENCE_EXPIRED, as Telegram does once the file
    /// reference a client holds is too old.
    FileReferenceExpired,
}

/// FaultTarget says whose calls a fault applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum FaultTarget {
    AuthKey(i64),
    User(i64),
}
