//! The outbox: the durable send queue behind SendMessage and
//! ForwardMessages. A row is written
//! before anything is sent, carries the random_id Telegram deduplicates
//! sends by, and ends SENT (with the message id) or FAILED (with
//! Telegram's reason); until then it is PENDING and retried. A send with a
//! schedule is SCHEDULED once Telegram holds it, and SENT when Telegram
//! reports the message it became.
//!
//! A forward's messages each need a random_id: they are the row's counted
//! up ([`forward_random_ids`]).

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::chat::{Entity, MediaKind, Message, MessageState};
use super::{AccountId, TenantId};

/// OutgoingText is what a queued send sends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutgoingText {
    pub text: String,
    pub entities: Vec<Entity>,
    pub reply_to: Option<i64>,
    pub silent: bool,
    /// When Telegram is to send it (whole seconds); `None` sends now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<DateTime<Utc>>,
    /// The sender's signature that ends `text` (after a blank line), as
    /// its preferences had it when the send was queued; empty for none.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub signature: String,
}

/// OutgoingForward is what a queued forward sends: messages of another
/// chat of the account, in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutgoingForward {
    pub from_chat_id: i64,
    pub message_ids: Vec<i64>,
}

/// OutgoingMedia is what a queued media send sends: a stored file as
/// `kind`, with a caption.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutgoingMedia {
    pub media_id: String,
    pub kind: MediaKind,
    pub caption: String,
    pub entities: Vec<Entity>,
    pub reply_to: Option<i64>,
    pub silent: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<DateTime<Utc>>,
    /// The sender's signature that ends `caption`, as on [`OutgoingText`].
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub signature: String,
}

/// unsigned is `text` without the signature that ends it.
fn unsigned(text: &str, signature: &str) -> String {
    if signature.is_empty() {
        return text.to_owned();
    }
    let suffix = format!("\n\n{signature}");
    match text.strip_suffix(&suffix) {
        Some(text) => text.to_owned(),
        None if text == signature => String::new(),
        None => text.to_owned(),
    }
}

/// Outgoing is what an outbox row sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outgoing {
    Text(OutgoingText),
    Forward(OutgoingForward),
    Media(OutgoingMedia),
}

impl Outgoing {
    /// as_requested is what the caller asked to send: without the signature
    /// its preferences appended. A retry of a send compares this, so one
    /// made after the signature changed is still the same send.
    pub fn as_requested(&self) -> Outgoing {
        match self {
            Outgoing::Text(text) => Outgoing::Text(OutgoingText {
                text: unsigned(&text.text, &text.signature),
                signature: String::new(),
                ..text.clone()
            }),
            Outgoing::Media(media) => Outgoing::Media(OutgoingMedia {
                caption: unsigned(&media.caption, &media.signature),
                signature: String::new(),
                ..media.clone()
            }),
            Outgoing::Forward(forward) => Outgoing::Forward(forward.clone()),
        }
    }
}

/// FileUpload is how far a media send's file has gone to Telegram: the
/// file id its parts are saved under and how many parts, from the first,
/// Telegram has. Kept with the row, so a send continues where it stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileUpload {
    pub file_id: i64,
    pub parts_done: i64,
}

/// FilePart is one part of a file on its way to Telegram.
#[derive(Debug, Clone)]
pub struct FilePart {
    pub file_id: i64,
    pub part: i64,
    pub total_parts: i64,
    /// Files over 10 MiB go as "big" files (`upload.saveBigFilePart`).
    pub big: bool,
    pub bytes: bytes::Bytes,
}

/// UploadedFile is a file whose parts Telegram has, ready to send.
#[derive(Debug, Clone)]
pub struct UploadedFile {
    pub file_id: i64,
    pub parts: i64,
    pub big: bool,
    pub name: String,
    pub mime_type: String,
}

/// BIG_FILE is the size above which Telegram takes a file as "big".
pub const BIG_FILE: i64 = 10 * 1024 * 1024;

/// forward_random_ids are the random_ids of a forward's messages: the
/// row's, counted up (never 0), one per message in order, so a resend
/// after a crash names every message as the first attempt did.
pub fn forward_random_ids(random_id: i64, count: usize) -> Vec<i64> {
    let mut ids = Vec::with_capacity(count);
    let mut next = random_id;
    while ids.len() < count {
        if next != 0 {
            ids.push(next);
        }
        next = next.wrapping_add(1);
    }
    ids
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutboxState {
    Pending,
    /// Telegram holds the message until its schedule; only ingest moves
    /// the row on (to SENT, when Telegram reports what it became).
    Scheduled,
    Sent,
    Failed,
}

impl OutboxState {
    pub fn as_str(self) -> &'static str {
        match self {
            OutboxState::Pending => "pending",
            OutboxState::Scheduled => "scheduled",
            OutboxState::Sent => "sent",
            OutboxState::Failed => "failed",
        }
    }

    pub fn parse(name: &str) -> Option<OutboxState> {
        [
            OutboxState::Pending,
            OutboxState::Scheduled,
            OutboxState::Sent,
            OutboxState::Failed,
        ]
        .into_iter()
        .find(|s| s.as_str() == name)
    }
}

/// OutboxItem is one queued send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxItem {
    pub id: String,
    pub tenant: TenantId,
    pub account_id: AccountId,
    pub request_id: String,
    pub chat_id: i64,
    /// What Telegram deduplicates the send by: a retry after a crash sends
    /// the same random_id and gets the first message back.
    pub random_id: i64,
    pub payload: Outgoing,
    pub state: OutboxState,
    pub attempts: i32,
    pub next_attempt_at: DateTime<Utc>,
    /// Telegram's error name (or ours) when FAILED; the last transient
    /// error while PENDING.
    pub last_error: Option<String>,
    /// The sent messages' ids (one for a text, one per forwarded message),
    /// once Telegram has them; while SCHEDULED, the message's id in the
    /// chat's schedule (a numbering of its own).
    pub message_ids: Vec<i64>,
    /// A media send's progress uploading its file.
    pub file_upload: Option<FileUpload>,
    pub created_at: DateTime<Utc>,
    /// The lease the row was read under by its account's owner (not
    /// stored): its outcome is recorded only while that lease holds.
    pub fence: Option<super::lease::Fence>,
}

impl OutboxItem {
    /// unsent_message is the message the row stands for while Telegram has
    /// no message of it (PENDING, SCHEDULED or FAILED): id 0, the row's
    /// request id and, once FAILED, its error. A forward's has no text.
    pub fn unsent_message(&self, sender: Option<i64>) -> Message {
        let state = match self.state {
            OutboxState::Pending => MessageState::Pending,
            OutboxState::Scheduled => MessageState::Scheduled,
            OutboxState::Failed => MessageState::Failed,
            OutboxState::Sent => MessageState::Sent,
        };
        // (text, entities, reply_to, schedule) of what is sent.
        let (text, entities, reply_to, schedule) = match &self.payload {
            Outgoing::Text(t) => (t.text.clone(), t.entities.clone(), t.reply_to, t.schedule),
            Outgoing::Media(m) => (
                m.caption.clone(),
                m.entities.clone(),
                m.reply_to,
                m.schedule,
            ),
            Outgoing::Forward(_) => (String::new(), Vec::new(), None, None),
        };
        Message {
            account_id: self.account_id,
            chat_id: self.chat_id,
            message_id: 0,
            sender_id: sender,
            outgoing: true,
            text,
            entities,
            media: None,
            reply_to,
            forward: None,
            grouped_id: None,
            action: None,
            sent_at: match self.state {
                OutboxState::Scheduled => schedule.unwrap_or(self.created_at),
                _ => self.created_at,
            },
            edited_at: None,
            views: None,
            state,
            request_id: Some(self.request_id.clone()),
            error_reason: (self.state == OutboxState::Failed)
                .then(|| self.last_error.clone())
                .flatten(),
        }
    }
}

/// Sent is Telegram's answer to a send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sent {
    /// The message's id, or its id in the chat's schedule when `scheduled`.
    pub message_id: i64,
    /// When Telegram dated it (for a scheduled message, its schedule).
    pub date: DateTime<Utc>,
    pub scheduled: bool,
}

/// SendError is why one attempt did not send.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// Telegram makes the account wait; the whole queue pauses.
    #[error("flood wait of {}s", .0.as_secs())]
    FloodWait(Duration),
    /// The attempt may work later (Telegram unreachable, a timeout).
    #[error("transient: {0}")]
    Transient(String),
    /// Telegram refused this message for good (its error name).
    #[error("refused: {0}")]
    Refused(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forward_random_ids_are_distinct_and_never_zero() {
        assert_eq!(forward_random_ids(7, 3), [7, 8, 9]);
        assert_eq!(forward_random_ids(-2, 3), [-2, -1, 1]);
        assert_eq!(forward_random_ids(i64::MAX, 2), [i64::MAX, i64::MIN]);
    }

    fn text(text: &str, signature: &str) -> Outgoing {
        Outgoing::Text(OutgoingText {
            text: text.into(),
            entities: Vec::new(),
            reply_to: None,
            silent: false,
            schedule: None,
            signature: signature.into(),
        })
    }

    #[test]
    fn a_send_is_the_same_request_whatever_signature_it_got() {
        let first = text("hello\n\n— Ann", "— Ann");
        let retry = text("hello\n\n— Ann, Acme", "— Ann, Acme");
        assert_eq!(first.as_requested(), retry.as_requested());
        assert_eq!(first.as_requested(), text("hello", "").as_requested());
        assert_ne!(first.as_requested(), text("hello!", "").as_requested());
        // A text that merely ends like a signature keeps it.
        assert_eq!(
            text("hello\n\n— Ann", "").as_requested(),
            text("hello\n\n— Ann", "")
        );
        // A bare caption that is only the signature.
        let media = |caption: &str, signature: &str| {
            Outgoing::Media(OutgoingMedia {
                media_id: "m".into(),
                kind: MediaKind::Document,
                caption: caption.into(),
                entities: Vec::new(),
                reply_to: None,
                silent: false,
                schedule: None,
                signature: signature.into(),
            })
        };
        assert_eq!(media("— Ann", "— Ann").as_requested(), media("", ""));
    }
}
