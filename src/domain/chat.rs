//! Chats and messages as tezgram stores and serves them, and the changes
//! Telegram reports about them ([`Change`]), which ingest applies.
//!
//! Ids follow the Bot API convention (see MessageService in the proto): a
//! chat id is the user id for private chats, minus the chat id for basic
//! groups, -(1000000000000 + channel id) for supergroups and channels.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::AccountId;

/// ChatKind is the kind of a chat.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChatKind {
    Private,
    Bot,
    Group,
    Supergroup,
    Channel,
}

impl ChatKind {
    pub const ALL: &'static [ChatKind] = &[
        ChatKind::Private,
        ChatKind::Bot,
        ChatKind::Group,
        ChatKind::Supergroup,
        ChatKind::Channel,
    ];

    /// as_str is the name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            ChatKind::Private => "private",
            ChatKind::Bot => "bot",
            ChatKind::Group => "group",
            ChatKind::Supergroup => "supergroup",
            ChatKind::Channel => "channel",
        }
    }

    pub fn parse(name: &str) -> Option<ChatKind> {
        ChatKind::ALL.iter().copied().find(|k| k.as_str() == name)
    }
}

/// CHANNEL_ID_OFFSET is what the Bot API adds to channel ids (and negates).
pub const CHANNEL_ID_OFFSET: i64 = 1_000_000_000_000;

/// ChatProfile is what Telegram tells about a chat itself: who or what it
/// is. Ingest and dialog loads write it; it never moves counters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatProfile {
    pub chat_id: i64,
    pub kind: ChatKind,
    pub title: String,
    pub username: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    /// Digits without "+", when Telegram shows it (private chats).
    pub phone_number: Option<String>,
    pub member_count: Option<i32>,
    /// Telegram's access hash for this account, when the chat needs one.
    pub access_hash: Option<i64>,
}

/// person_title is a user's display title: first and last name.
pub fn person_title(first_name: &str, last_name: &str) -> String {
    match (first_name.is_empty(), last_name.is_empty()) {
        (_, true) => first_name.to_owned(),
        (true, false) => last_name.to_owned(),
        (false, false) => format!("{first_name} {last_name}"),
    }
}

/// Contact is one of an account's Telegram contacts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    pub user_id: i64,
    /// Telegram's access hash of the user for this account.
    pub access_hash: Option<i64>,
    /// Digits without "+"; `None` when the contact hides it.
    pub phone_number: Option<String>,
    /// The names as saved in the contact list.
    pub first_name: String,
    pub last_name: String,
    pub username: Option<String>,
    /// The contact has the account in their contacts too.
    pub mutual: bool,
}

impl Contact {
    /// profile is the private chat with the contact.
    pub fn profile(&self) -> ChatProfile {
        ChatProfile {
            chat_id: self.user_id,
            kind: ChatKind::Private,
            title: person_title(&self.first_name, &self.last_name),
            username: self.username.clone(),
            first_name: Some(self.first_name.clone()),
            last_name: (!self.last_name.is_empty()).then(|| self.last_name.clone()),
            phone_number: self.phone_number.clone(),
            member_count: None,
            access_hash: self.access_hash,
        }
    }
}

/// ContactCursor is where a contacts page ends: contacts are ordered by
/// first name, last name, then user id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactCursor {
    pub first_name: String,
    pub last_name: String,
    pub user_id: i64,
}

/// ContactPage is one page of contacts, by name.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ContactPage {
    pub contacts: Vec<Contact>,
    /// Set when more contacts follow.
    pub next: Option<ContactCursor>,
}

/// ResolveTarget is what ResolveChat looks up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResolveTarget {
    /// A public @username, without the "@".
    Username(String),
    /// A phone number (E.164 digits), imported as a contact with these
    /// names when the account does not have it yet.
    Phone {
        phone: String,
        first_name: String,
        last_name: String,
    },
}

/// DialogState is where a chat stands in the account's chat list, as a
/// dialogs load reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DialogState {
    pub unread_count: i32,
    pub read_inbox_max_id: i64,
    pub read_outbox_max_id: i64,
    pub pinned: bool,
    pub archived: bool,
    pub muted_until: Option<DateTime<Utc>>,
    pub top_message_id: i64,
}

/// Dialog is one entry of a dialogs load: the chat, its place in the list,
/// and its newest message.
#[derive(Debug, Clone)]
pub struct Dialog {
    pub profile: ChatProfile,
    pub state: DialogState,
    pub top_message: Option<Message>,
}

/// Chat is a stored chat of one account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Chat {
    pub account_id: AccountId,
    pub profile: ChatProfile,
    pub about: Option<String>,
    /// When `about` and the member count were last read from Telegram's
    /// full profile; `None`: never.
    #[serde(default)]
    pub full_profile_at: Option<DateTime<Utc>>,
    pub unread_count: i32,
    pub read_inbox_max_id: i64,
    pub read_outbox_max_id: i64,
    pub muted_until: Option<DateTime<Utc>>,
    pub pinned: bool,
    pub archived: bool,
    pub last_message: Option<Message>,
    pub updated_at: DateTime<Utc>,
    /// The CRM records the chat is linked to, oldest link first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub linked: Vec<super::crm::LinkedEntity>,
}

impl Chat {
    pub fn muted(&self, now: DateTime<Utc>) -> bool {
        self.muted_until.is_some_and(|until| until > now)
    }
}

/// FullProfile is what a chat's full profile adds to its profile: the
/// user's bio or the group's or channel's description, and how many
/// members a group or channel has (Telegram may not tell).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FullProfile {
    pub about: Option<String>,
    pub member_count: Option<i32>,
}

/// ChatFilter narrows a chat list; conditions combine with AND.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ChatFilter {
    pub archived: Option<bool>,
    /// Empty keeps every kind.
    pub kinds: Vec<ChatKind>,
    /// Lowercased; empty matches everything.
    pub query: String,
}

/// ChatCursor is where a chat list page ends: the last chat's sort key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatCursor {
    pub sort_key: i64,
    pub account_id: AccountId,
    pub chat_id: i64,
}

/// ChatPage is one page of a chat list.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ChatPage {
    pub chats: Vec<Chat>,
    pub next: Option<ChatCursor>,
}

/// MessageState says whether a message has reached Telegram.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageState {
    Sent,
    Pending,
    Failed,
    Scheduled,
}

impl MessageState {
    pub fn as_str(self) -> &'static str {
        match self {
            MessageState::Sent => "sent",
            MessageState::Pending => "pending",
            MessageState::Failed => "failed",
            MessageState::Scheduled => "scheduled",
        }
    }

    pub fn parse(name: &str) -> Option<MessageState> {
        [
            MessageState::Sent,
            MessageState::Pending,
            MessageState::Failed,
            MessageState::Scheduled,
        ]
        .into_iter()
        .find(|s| s.as_str() == name)
    }
}

/// EntityKind is the kind of a formatted span.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntityKind {
    Bold,
    Italic,
    Underline,
    Strikethrough,
    Spoiler,
    Code,
    Pre,
    TextUrl,
    Url,
    Email,
    PhoneNumber,
    Mention,
    MentionName,
    Hashtag,
    Cashtag,
    BotCommand,
    Blockquote,
    CustomEmoji,
}

/// TypingAction is a chat action: what SetTyping shows, or what a typing
/// event reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TypingAction {
    Typing,
    Cancel,
    RecordVoice,
    UploadPhoto,
    UploadVideo,
    UploadDocument,
    ChooseSticker,
}

/// Entity is one formatted span; offsets and lengths in UTF-16 code units.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entity {
    pub kind: EntityKind,
    pub offset: i32,
    pub length: i32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_emoji_id: Option<i64>,
}

impl Entity {
    /// within says whether the span lies inside a text of `text_len` UTF-16
    /// code units.
    pub fn within(&self, text_len: usize) -> bool {
        let end = i64::from(self.offset) + i64::from(self.length);
        self.offset >= 0 && self.length >= 1 && end <= text_len as i64
    }

    /// outside says why a span does not fit a text of `text_len`.
    pub fn outside(text_len: usize) -> String {
        format!("offset and length (UTF-16 code units) must lie within the text of {text_len}")
    }
}

/// MAX_TEXT is Telegram's limit on a message's text, in UTF-16 code units.
pub const MAX_TEXT: usize = 4096;
/// MAX_CAPTION is Telegram's limit on a media caption, in UTF-16 code units.
pub const MAX_CAPTION: usize = 1024;

/// utf16_len is a text's length as Telegram counts it.
pub fn utf16_len(text: &str) -> usize {
    text.encode_utf16().count()
}

/// TextEdit is what EditMessage changes: a new text (whose entities are
/// cleared unless new ones come too), new entities of the current text, or
/// both.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextEdit {
    pub text: Option<String>,
    pub entities: Option<Vec<Entity>>,
}

/// Edited is an edit Telegram made: the message as it is now, and the pts
/// of the update that reported it (see [`Change::Edited`]).
#[derive(Debug, Clone)]
pub struct Edited {
    pub message: Message,
    pub version: Option<i64>,
}

/// MediaKind is the sort of attachment a message has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MediaKind {
    Photo,
    Video,
    Audio,
    Voice,
    VideoNote,
    Animation,
    Sticker,
    Document,
    Other,
}

/// MediaInfo describes a message's attachment (its bytes are the media
/// issue's: `media_id` stays empty until the gateway serves files).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MediaInfo {
    pub kind: MediaKind,
    #[serde(default)]
    pub file_name: Option<String>,
    #[serde(default)]
    pub mime_type: Option<String>,
    #[serde(default)]
    pub size_bytes: Option<i64>,
    #[serde(default)]
    pub width: Option<i32>,
    #[serde(default)]
    pub height: Option<i32>,
    #[serde(default)]
    pub duration_secs: Option<f64>,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub performer: Option<String>,
    #[serde(default)]
    pub emoji: Option<String>,
}

/// ForwardOrigin says who wrote a forwarded message first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ForwardOrigin {
    User,
    HiddenUser,
    Chat,
    Channel,
}

/// ForwardHeader is where a forwarded message came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForwardHeader {
    pub origin: ForwardOrigin,
    #[serde(default)]
    pub sender_id: Option<i64>,
    #[serde(default)]
    pub sender_name: Option<String>,
    #[serde(default)]
    pub chat_id: Option<i64>,
    #[serde(default)]
    pub message_id: Option<i64>,
    pub date: DateTime<Utc>,
    #[serde(default)]
    pub post_author: Option<String>,
}

/// ActionKind is the kind of a service message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionKind {
    ChatCreate,
    ChatEditTitle,
    ChatEditPhoto,
    ChatDeletePhoto,
    ChatAddUser,
    ChatDeleteUser,
    ChatJoinedByLink,
    ChannelCreate,
    ChatMigrateTo,
    ChannelMigrateFrom,
    PinMessage,
    HistoryClear,
    PhoneCall,
    ScreenshotTaken,
    ContactSignUp,
    Other,
}

/// MessageAction is what a service message reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageAction {
    pub kind: ActionKind,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub user_ids: Vec<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chat_id: Option<i64>,
}

/// Message is one message of a chat, as the account sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub account_id: AccountId,
    pub chat_id: i64,
    /// Telegram's id; 0 while PENDING or FAILED.
    pub message_id: i64,
    pub sender_id: Option<i64>,
    pub outgoing: bool,
    pub text: String,
    pub entities: Vec<Entity>,
    pub media: Option<MediaInfo>,
    pub reply_to: Option<i64>,
    pub forward: Option<ForwardHeader>,
    pub grouped_id: Option<i64>,
    pub action: Option<MessageAction>,
    pub sent_at: DateTime<Utc>,
    pub edited_at: Option<DateTime<Utc>>,
    pub views: Option<i32>,
    pub state: MessageState,
    pub request_id: Option<String>,
    pub error_reason: Option<String>,
}

// Durations are never NaN, so equality is total.
impl Eq for Message {}

/// Migration is Telegram's upgrade of a basic group to a supergroup, as
/// either of its two service messages reports it: the group's last
/// (`ChatMigrateTo`) and the supergroup's first (`ChannelMigrateFrom`).
/// Whatever the gateway ties to the group (CRM links) follows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Migration {
    /// The basic group's chat id (`-chat_id`).
    pub from: i64,
    /// The supergroup's chat id (`-(1000000000000 + channel_id)`).
    pub to: i64,
}

/// is_basic_group says whether a chat id is a basic group's.
fn is_basic_group(chat_id: i64) -> bool {
    (-CHANNEL_ID_OFFSET..0).contains(&chat_id)
}

impl Message {
    /// migration is the upgrade this message reports, if it is one of a
    /// migration's service messages naming a basic group and a supergroup.
    pub fn migration(&self) -> Option<Migration> {
        let action = self.action.as_ref()?;
        let other = action.chat_id?;
        let (from, to) = match action.kind {
            ActionKind::ChatMigrateTo => (self.chat_id, other),
            ActionKind::ChannelMigrateFrom => (other, self.chat_id),
            _ => return None,
        };
        (is_basic_group(from) && to < -CHANNEL_ID_OFFSET).then_some(Migration { from, to })
    }
}

/// HistoryDirection is which way a history page goes from its anchor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum HistoryDirection {
    /// Newest first, ids below the anchor.
    Older,
    /// Oldest first, ids above the anchor.
    Newer,
}

/// MessagePage is one page of a chat's history.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MessagePage {
    pub messages: Vec<Message>,
    /// Set when another page may follow: the anchor of the next page.
    pub next: Option<i64>,
    pub total_count: i32,
}

/// MAX_SEARCH_QUERY is the longest SearchMessages query, in characters.
pub const MAX_SEARCH_QUERY: usize = 256;

/// search_words splits a search query the way Telegram matches it:
/// lowercase runs of letters and digits, each matching the words of a
/// message it starts. Nothing else of the query survives, so a word can
/// be handed to a full-text engine as it is.
pub fn search_words(query: &str) -> Vec<String> {
    let mut words: Vec<String> = Vec::new();
    for word in query
        .split(|c: char| !c.is_alphanumeric())
        .filter(|word| !word.is_empty())
        .map(str::to_lowercase)
    {
        if !words.contains(&word) {
            words.push(word);
        }
    }
    words
}

/// SearchQuery is what SearchMessages looks for: messages whose text has a
/// word starting with each of `words`, sent in `[from, to)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SearchQuery {
    /// The query's words (see [`search_words`]); never empty.
    pub words: Vec<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

/// SearchCursor is where a search page ends, in its order: newest first,
/// then by chat and message id, descending.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchCursor {
    pub sent_at: DateTime<Utc>,
    pub chat_id: i64,
    pub message_id: i64,
}

impl SearchCursor {
    pub fn of(message: &Message) -> Self {
        Self {
            sent_at: message.sent_at,
            chat_id: message.chat_id,
            message_id: message.message_id,
        }
    }
}

/// SearchPage is one page of search hits.
#[derive(Debug, Clone)]
pub struct SearchPage {
    pub messages: Vec<Message>,
    /// Set when more hits follow.
    pub next: Option<SearchCursor>,
}

/// History is what Telegram answered for a history request.
#[derive(Debug, Clone)]
pub struct History {
    pub messages: Vec<Message>,
    /// The chats the messages mention (the history's own chat among them).
    pub chats: Vec<ChatProfile>,
    /// Telegram's count of messages in the whole chat.
    pub count: i32,
}

/// Change is one thing Telegram reported about an account's chats, in the
/// order it happened. Ingest stores each before the update state that
/// covers it is saved.
#[derive(Debug, Clone)]
pub enum Change {
    /// A chat's profile (title, names, username) as seen in an update.
    Profile(ChatProfile),
    /// A new message; `live` when it arrived as it was sent (so it is the
    /// chat's newest), not from an older history.
    NewMessage { message: Message, live: bool },
    /// A message's new content. `version` is the pts of the update that
    /// reported the edit (the account's sequence, or the channel's): the
    /// store keeps the newest edit when two writers race.
    Edited {
        message: Message,
        version: Option<i64>,
    },
    /// Messages deleted; `chat_id` is only known for channels (ids of
    /// private chats and basic groups are unique across the account).
    Deleted {
        chat_id: Option<i64>,
        message_ids: Vec<i64>,
    },
    /// The account read incoming messages up to `max_id` (on any device).
    ReadInbox {
        chat_id: i64,
        max_id: i64,
        still_unread: Option<i32>,
    },
    /// The peer read the account's messages up to `max_id`.
    ReadOutbox { chat_id: i64, max_id: i64 },
    /// Scheduled messages of the account were sent: each pair is (id in
    /// the chat's schedule, id of the message it became).
    ScheduledSent { chat_id: i64, sent: Vec<(i64, i64)> },
}

/// Touched lists the chats a batch of changes touched, for cache
/// invalidation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Touched {
    pub chats: Vec<i64>,
}

impl Touched {
    pub fn add(&mut self, chat_id: i64) {
        if !self.chats.contains(&chat_id) {
            self.chats.push(chat_id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service(chat_id: i64, kind: ActionKind, other: i64) -> Message {
        Message {
            account_id: AccountId::default(),
            chat_id,
            message_id: 7,
            sender_id: Some(1),
            outgoing: false,
            text: String::new(),
            entities: Vec::new(),
            media: None,
            reply_to: None,
            forward: None,
            grouped_id: None,
            action: Some(MessageAction {
                kind,
                user_ids: Vec::new(),
                title: None,
                message_id: None,
                chat_id: Some(other),
            }),
            sent_at: DateTime::default(),
            edited_at: None,
            views: None,
            state: MessageState::Sent,
            request_id: None,
            error_reason: None,
        }
    }

    #[test]
    fn both_service_messages_of_a_migration_name_the_same_move() {
        let group = -42;
        let supergroup = -(CHANNEL_ID_OFFSET + 77);
        let moved = Some(Migration {
            from: group,
            to: supergroup,
        });
        assert_eq!(
            service(group, ActionKind::ChatMigrateTo, supergroup).migration(),
            moved
        );
        assert_eq!(
            service(supergroup, ActionKind::ChannelMigrateFrom, group).migration(),
            moved
        );
        // Other actions, and ids of the wrong kinds, are no migration.
        assert_eq!(
            service(group, ActionKind::PinMessage, supergroup).migration(),
            None
        );
        assert_eq!(
            service(group, ActionKind::ChatMigrateTo, -43).migration(),
            None
        );
        assert_eq!(
            service(7, ActionKind::ChannelMigrateFrom, group).migration(),
            None
        );
    }

    #[test]
    fn kinds_round_trip_through_their_stored_names() {
        for kind in ChatKind::ALL {
            assert_eq!(ChatKind::parse(kind.as_str()), Some(*kind));
        }
        assert_eq!(ChatKind::parse("secret"), None);
        for state in ["sent", "pending", "failed", "scheduled"] {
            assert_eq!(MessageState::parse(state).unwrap().as_str(), state);
        }
    }
}
