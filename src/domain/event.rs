//! Events: the ordered log behind resumable update streams. Every event is
//! appended in the transaction that stores what it describes (an ingested
//! message, a recorded send outcome, an account's new state), so the log
//! and the data never disagree; `position` orders the log (see
//! `storage::events` for why a reader can never skip a position).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::account::{Account, AccountId, AccountState};
use super::caller::TenantId;
use super::chat::{Chat, Message, TypingAction};
use super::crm::LinkedEntity;

/// EventKind is the kind of an event, as stored and filtered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    MessageCreated,
    MessageEdited,
    MessageDeleted,
    MessageSendFailed,
    Read,
    Typing,
    ChatUpdated,
    AccountStateChanged,
    /// A CRM trigger matched (the CRM issue): filters may name it already.
    TriggerFired,
    ChatLinked,
    ChatUnlinked,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::MessageCreated => "message_created",
            EventKind::MessageEdited => "message_edited",
            EventKind::MessageDeleted => "message_deleted",
            EventKind::MessageSendFailed => "message_send_failed",
            EventKind::Read => "read",
            EventKind::Typing => "typing",
            EventKind::ChatUpdated => "chat_updated",
            EventKind::AccountStateChanged => "account_state_changed",
            EventKind::TriggerFired => "trigger_fired",
            EventKind::ChatLinked => "chat_linked",
            EventKind::ChatUnlinked => "chat_unlinked",
        }
    }
}

/// EventPayload is what happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EventPayload {
    /// An account's login state changed (authorized, revoked, logged out…).
    AccountStateChanged {
        state: AccountState,
        /// The state it left; absent in events written before it was recorded.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        previous_state: Option<AccountState>,
        /// Why, in a few words (e.g. `AUTH_KEY_UNREGISTERED`).
        reason: String,
        /// The account as the change left it; absent in events written
        /// before it was recorded.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        account: Option<Box<Account>>,
    },
    /// A message arrived or was sent, or a send of the outbox reached
    /// Telegram (then it carries the send's request id).
    MessageCreated { message: Box<Message> },
    /// A message's stored copy took an edit.
    MessageEdited { message: Box<Message> },
    /// Stored messages of one chat were deleted.
    MessageDeleted { chat_id: i64, message_ids: Vec<i64> },
    /// A queued send ended FAILED.
    MessageSendFailed { message: Box<Message> },
    /// A chat's read state moved: `outgoing` when the peer read the
    /// account's messages.
    Read {
        chat_id: i64,
        max_message_id: i64,
        outgoing: bool,
        unread_count: i32,
    },
    /// Someone acts in a chat; never stored, only fanned out.
    Typing {
        chat_id: i64,
        user_id: i64,
        action: TypingAction,
    },
    /// A chat is new to the account or its profile changed.
    ChatUpdated { chat: Box<Chat> },
    /// A chat was linked to a CRM record, or its link moved with it from
    /// a basic group to the supergroup Telegram migrated it to.
    ChatLinked {
        chat_id: i64,
        entity: LinkedEntity,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        previous_chat_id: Option<i64>,
    },
    /// A chat's link to a CRM record was removed.
    ChatUnlinked { chat_id: i64, entity: LinkedEntity },
    /// A CRM trigger matched `event` (never itself a trigger_fired one).
    TriggerFired {
        trigger_id: String,
        trigger_name: String,
        event: Box<Event>,
    },
}

impl EventPayload {
    pub fn kind(&self) -> EventKind {
        match self {
            EventPayload::AccountStateChanged { .. } => EventKind::AccountStateChanged,
            EventPayload::MessageCreated { .. } => EventKind::MessageCreated,
            EventPayload::MessageEdited { .. } => EventKind::MessageEdited,
            EventPayload::MessageDeleted { .. } => EventKind::MessageDeleted,
            EventPayload::MessageSendFailed { .. } => EventKind::MessageSendFailed,
            EventPayload::Read { .. } => EventKind::Read,
            EventPayload::Typing { .. } => EventKind::Typing,
            EventPayload::ChatUpdated { .. } => EventKind::ChatUpdated,
            EventPayload::ChatLinked { .. } => EventKind::ChatLinked,
            EventPayload::ChatUnlinked { .. } => EventKind::ChatUnlinked,
            EventPayload::TriggerFired { .. } => EventKind::TriggerFired,
        }
    }

    /// chat_id is the chat the event is about; `None` for account events
    /// and deletions Telegram did not place in a chat.
    pub fn chat_id(&self) -> Option<i64> {
        match self {
            EventPayload::AccountStateChanged { .. } => None,
            EventPayload::MessageCreated { message }
            | EventPayload::MessageEdited { message }
            | EventPayload::MessageSendFailed { message } => Some(message.chat_id),
            EventPayload::MessageDeleted { chat_id, .. }
            | EventPayload::Read { chat_id, .. }
            | EventPayload::Typing { chat_id, .. }
            | EventPayload::ChatLinked { chat_id, .. }
            | EventPayload::ChatUnlinked { chat_id, .. } => Some(*chat_id),
            EventPayload::ChatUpdated { chat } => Some(chat.profile.chat_id),
            EventPayload::TriggerFired { event, .. } => event.payload.chat_id(),
        }
    }
}

/// NewEvent is an event about to be appended (or, ephemeral, streamed
/// without being stored).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewEvent {
    pub tenant: TenantId,
    pub account: Option<AccountId>,
    pub payload: EventPayload,
}

/// EPHEMERAL is the position of an event that is streamed but not stored
/// (typing): it has no place in the log, so it never moves a cursor.
pub const EPHEMERAL: i64 = 0;

/// Event is one entry of the log; `position` orders the log (see
/// [`EPHEMERAL`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub position: i64,
    pub tenant: TenantId,
    pub account: Option<AccountId>,
    pub payload: EventPayload,
    pub time: DateTime<Utc>,
}
