//! Telegram's TL types → the domain's chats, messages and changes. The one
//! place that reads raw messages, dialogs and updates; everything else sees
//! `domain::chat`.

use chrono::{DateTime, Utc};
use grammers_tl_types as tl;

use crate::domain::AccountId;
use crate::domain::chat::{
    ActionKind, CHANNEL_ID_OFFSET, Change, ChatKind, ChatProfile, Contact, DialogState, Entity,
    EntityKind, ForwardHeader, ForwardOrigin, MediaInfo, MediaKind, Message, MessageAction,
    MessageState, TypingAction, person_title,
};

pub(crate) fn time(unix: i32) -> DateTime<Utc> {
    DateTime::from_timestamp(i64::from(unix), 0).unwrap_or_default()
}

/// channel_chat_id is a channel's Bot API chat id.
pub(crate) fn channel_chat_id(channel_id: i64) -> i64 {
    -(CHANNEL_ID_OFFSET + channel_id)
}

/// chat_id is a peer's Bot API chat id.
pub(crate) fn chat_id(peer: &tl::enums::Peer) -> i64 {
    match peer {
        tl::enums::Peer::User(u) => u.user_id,
        tl::enums::Peer::Chat(c) => -c.chat_id,
        tl::enums::Peer::Channel(c) => channel_chat_id(c.channel_id),
    }
}

/// user_profile is the private chat with a user.
pub(crate) fn user_profile(user: &tl::enums::User) -> Option<ChatProfile> {
    let tl::enums::User::User(user) = user else {
        return None;
    };
    let first = user.first_name.clone().unwrap_or_default();
    let last = user.last_name.clone().filter(|l| !l.is_empty());
    let title = person_title(&first, last.as_deref().unwrap_or_default());
    Some(ChatProfile {
        chat_id: user.id,
        kind: if user.bot {
            ChatKind::Bot
        } else {
            ChatKind::Private
        },
        title,
        username: user.username.clone(),
        first_name: Some(first),
        last_name: last,
        phone_number: user.phone.clone().filter(|p| !p.is_empty()),
        member_count: None,
        // A "min" user's hash is not valid for this account.
        access_hash: if user.min { None } else { user.access_hash },
    })
}

/// contact is a user of a contact list (or an import) as a contact.
pub(crate) fn contact(user: &tl::enums::User) -> Option<Contact> {
    let tl::enums::User::User(raw) = user else {
        return None;
    };
    let profile = user_profile(user)?;
    Some(Contact {
        user_id: profile.chat_id,
        access_hash: profile.access_hash,
        phone_number: profile.phone_number,
        first_name: profile.first_name.unwrap_or_default(),
        last_name: profile.last_name.unwrap_or_default(),
        username: profile.username,
        mutual: raw.mutual_contact,
    })
}

/// chat_profile is a group, supergroup or channel.
pub(crate) fn chat_profile(chat: &tl::enums::Chat) -> Option<ChatProfile> {
    let blank = |chat_id, kind, title: &str| ChatProfile {
        chat_id,
        kind,
        title: title.to_owned(),
        username: None,
        first_name: None,
        last_name: None,
        phone_number: None,
        member_count: None,
        access_hash: None,
    };
    match chat {
        tl::enums::Chat::Chat(c) => Some(ChatProfile {
            member_count: Some(c.participants_count),
            ..blank(-c.id, ChatKind::Group, &c.title)
        }),
        tl::enums::Chat::Forbidden(c) => Some(blank(-c.id, ChatKind::Group, &c.title)),
        tl::enums::Chat::Channel(c) => Some(ChatProfile {
            username: c.username.clone(),
            member_count: c.participants_count,
            access_hash: if c.min { None } else { c.access_hash },
            ..blank(
                channel_chat_id(c.id),
                if c.broadcast {
                    ChatKind::Channel
                } else {
                    ChatKind::Supergroup
                },
                &c.title,
            )
        }),
        tl::enums::Chat::ChannelForbidden(c) => Some(ChatProfile {
            access_hash: Some(c.access_hash),
            ..blank(
                channel_chat_id(c.id),
                if c.broadcast {
                    ChatKind::Channel
                } else {
                    ChatKind::Supergroup
                },
                &c.title,
            )
        }),
        _ => None,
    }
}

/// profiles are the chats behind a batch's users and chats.
pub(crate) fn profiles(users: &[tl::enums::User], chats: &[tl::enums::Chat]) -> Vec<ChatProfile> {
    users
        .iter()
        .filter_map(user_profile)
        .chain(chats.iter().filter_map(chat_profile))
        .collect()
}

fn entity(raw: &tl::enums::MessageEntity) -> Option<Entity> {
    use tl::enums::MessageEntity as E;
    let plain = |kind, offset, length| Entity {
        kind,
        offset,
        length,
        url: None,
        user_id: None,
        language: None,
        custom_emoji_id: None,
    };
    Some(match raw {
        E::Bold(e) => plain(EntityKind::Bold, e.offset, e.length),
        E::Italic(e) => plain(EntityKind::Italic, e.offset, e.length),
        E::Underline(e) => plain(EntityKind::Underline, e.offset, e.length),
        E::Strike(e) => plain(EntityKind::Strikethrough, e.offset, e.length),
        E::Spoiler(e) => plain(EntityKind::Spoiler, e.offset, e.length),
        E::Code(e) => plain(EntityKind::Code, e.offset, e.length),
        E::Pre(e) => Entity {
            language: Some(e.language.clone()).filter(|l| !l.is_empty()),
            ..plain(EntityKind::Pre, e.offset, e.length)
        },
        E::TextUrl(e) => Entity {
            url: Some(e.url.clone()),
            ..plain(EntityKind::TextUrl, e.offset, e.length)
        },
        E::Url(e) => plain(EntityKind::Url, e.offset, e.length),
        E::Email(e) => plain(EntityKind::Email, e.offset, e.length),
        E::Phone(e) => plain(EntityKind::PhoneNumber, e.offset, e.length),
        E::Mention(e) => plain(EntityKind::Mention, e.offset, e.length),
        E::MentionName(e) => Entity {
            user_id: Some(e.user_id),
            ..plain(EntityKind::MentionName, e.offset, e.length)
        },
        E::Hashtag(e) => plain(EntityKind::Hashtag, e.offset, e.length),
        E::Cashtag(e) => plain(EntityKind::Cashtag, e.offset, e.length),
        E::BotCommand(e) => plain(EntityKind::BotCommand, e.offset, e.length),
        E::Blockquote(e) => plain(EntityKind::Blockquote, e.offset, e.length),
        E::CustomEmoji(e) => Entity {
            custom_emoji_id: Some(e.document_id),
            ..plain(EntityKind::CustomEmoji, e.offset, e.length)
        },
        _ => return None,
    })
}

pub(crate) fn entities(raw: Option<&Vec<tl::enums::MessageEntity>>) -> Vec<Entity> {
    let mut entities: Vec<Entity> = raw
        .map(|list| list.iter().filter_map(entity).collect())
        .unwrap_or_default();
    entities.sort_by_key(|e| (e.offset, -e.length));
    entities
}

/// PhotoSize is one size of a photo: its type (what a download names),
/// dimensions and bytes.
pub(crate) struct PhotoSize<'a> {
    pub kind: &'a str,
    pub w: i32,
    pub h: i32,
    pub size: i64,
}

/// largest_photo_size is the photo's largest size by area: the one a
/// message's media describes and the one downloaded.
pub(crate) fn largest_photo_size(photo: &tl::types::Photo) -> Option<PhotoSize<'_>> {
    photo
        .sizes
        .iter()
        .filter_map(|s| match s {
            tl::enums::PhotoSize::Size(s) => Some(PhotoSize {
                kind: &s.r#type,
                w: s.w,
                h: s.h,
                size: i64::from(s.size),
            }),
            tl::enums::PhotoSize::Progressive(s) => Some(PhotoSize {
                kind: &s.r#type,
                w: s.w,
                h: s.h,
                size: s.sizes.iter().copied().max().map_or(0, i64::from),
            }),
            _ => None,
        })
        .max_by_key(|s| i64::from(s.w) * i64::from(s.h))
}

fn media(raw: &tl::enums::MessageMedia) -> MediaInfo {
    let mut info = MediaInfo {
        kind: MediaKind::Other,
        file_name: None,
        mime_type: None,
        size_bytes: None,
        width: None,
        height: None,
        duration_secs: None,
        title: None,
        performer: None,
        emoji: None,
    };
    match raw {
        tl::enums::MessageMedia::Photo(p) => {
            info.kind = MediaKind::Photo;
            info.mime_type = Some("image/jpeg".into());
            if let Some(tl::enums::Photo::Photo(photo)) = &p.photo
                && let Some(largest) = largest_photo_size(photo)
            {
                info.width = Some(largest.w);
                info.height = Some(largest.h);
                info.size_bytes = Some(largest.size);
            }
        }
        tl::enums::MessageMedia::Document(d) => {
            info.kind = MediaKind::Document;
            if let Some(tl::enums::Document::Document(doc)) = &d.document {
                info.mime_type = Some(doc.mime_type.clone());
                info.size_bytes = Some(doc.size);
                for attribute in &doc.attributes {
                    use tl::enums::DocumentAttribute as A;
                    match attribute {
                        A::Filename(f) => info.file_name = Some(f.file_name.clone()),
                        A::ImageSize(s) => {
                            info.width = Some(s.w);
                            info.height = Some(s.h);
                        }
                        A::Video(v) => {
                            info.kind = if v.round_message {
                                MediaKind::VideoNote
                            } else if info.kind == MediaKind::Animation {
                                MediaKind::Animation
                            } else {
                                MediaKind::Video
                            };
                            info.width = Some(v.w);
                            info.height = Some(v.h);
                            info.duration_secs = Some(v.duration);
                        }
                        A::Audio(a) => {
                            info.kind = if a.voice {
                                MediaKind::Voice
                            } else {
                                MediaKind::Audio
                            };
                            info.duration_secs = Some(f64::from(a.duration));
                            info.title = a.title.clone();
                            info.performer = a.performer.clone();
                        }
                        A::Animated => info.kind = MediaKind::Animation,
                        A::Sticker(s) => {
                            info.kind = MediaKind::Sticker;
                            info.emoji = Some(s.alt.clone());
                        }
                        _ => {}
                    }
                }
            }
        }
        _ => {}
    }
    info
}

fn forward(raw: &tl::enums::MessageFwdHeader) -> ForwardHeader {
    let tl::enums::MessageFwdHeader::Header(h) = raw;
    let (origin, sender_id, chat) = match &h.from_id {
        Some(tl::enums::Peer::User(u)) => (ForwardOrigin::User, Some(u.user_id), None),
        Some(peer @ tl::enums::Peer::Channel(_)) if h.channel_post.is_some() => {
            (ForwardOrigin::Channel, None, Some(chat_id(peer)))
        }
        Some(peer) => (ForwardOrigin::Chat, None, Some(chat_id(peer))),
        None => (ForwardOrigin::HiddenUser, None, None),
    };
    ForwardHeader {
        origin,
        sender_id,
        sender_name: h.from_name.clone(),
        chat_id: chat,
        message_id: h.channel_post.map(i64::from),
        date: time(h.date),
        post_author: h.post_author.clone(),
    }
}

fn reply_to(raw: Option<&tl::enums::MessageReplyHeader>) -> Option<i64> {
    match raw? {
        tl::enums::MessageReplyHeader::Header(h) => h.reply_to_msg_id.map(i64::from),
        _ => None,
    }
}

fn action(raw: &tl::enums::MessageAction, reply: Option<i64>) -> MessageAction {
    use tl::enums::MessageAction as A;
    let mut action = MessageAction {
        kind: ActionKind::Other,
        user_ids: Vec::new(),
        title: None,
        message_id: None,
        chat_id: None,
    };
    match raw {
        A::ChatCreate(a) => {
            action.kind = ActionKind::ChatCreate;
            action.title = Some(a.title.clone());
            action.user_ids = a.users.clone();
        }
        A::ChatEditTitle(a) => {
            action.kind = ActionKind::ChatEditTitle;
            action.title = Some(a.title.clone());
        }
        A::ChatEditPhoto(_) => action.kind = ActionKind::ChatEditPhoto,
        A::ChatDeletePhoto => action.kind = ActionKind::ChatDeletePhoto,
        A::ChatAddUser(a) => {
            action.kind = ActionKind::ChatAddUser;
            action.user_ids = a.users.clone();
        }
        A::ChatDeleteUser(a) => {
            action.kind = ActionKind::ChatDeleteUser;
            action.user_ids = vec![a.user_id];
        }
        A::ChatJoinedByLink(a) => {
            action.kind = ActionKind::ChatJoinedByLink;
            action.user_ids = vec![a.inviter_id];
        }
        A::ChannelCreate(a) => {
            action.kind = ActionKind::ChannelCreate;
            action.title = Some(a.title.clone());
        }
        A::ChatMigrateTo(a) => {
            action.kind = ActionKind::ChatMigrateTo;
            action.chat_id = Some(channel_chat_id(a.channel_id));
        }
        A::ChannelMigrateFrom(a) => {
            action.kind = ActionKind::ChannelMigrateFrom;
            action.title = Some(a.title.clone());
            action.chat_id = Some(-a.chat_id);
        }
        A::PinMessage => {
            action.kind = ActionKind::PinMessage;
            action.message_id = reply;
        }
        A::HistoryClear => action.kind = ActionKind::HistoryClear,
        A::PhoneCall(_) => action.kind = ActionKind::PhoneCall,
        A::ScreenshotTaken => action.kind = ActionKind::ScreenshotTaken,
        A::ContactSignUp => action.kind = ActionKind::ContactSignUp,
        _ => {}
    }
    action
}

/// message converts a raw message as `account` sees it; `None` for an
/// empty message (a deleted or inaccessible id).
pub(crate) fn message(account: AccountId, raw: &tl::enums::Message) -> Option<Message> {
    match raw {
        tl::enums::Message::Empty(_) => None,
        tl::enums::Message::Message(m) => {
            let chat = chat_id(&m.peer_id);
            Some(Message {
                account_id: account,
                chat_id: chat,
                message_id: i64::from(m.id),
                sender_id: sender(m.from_id.as_ref(), &m.peer_id, m.out),
                outgoing: m.out,
                text: m.message.clone(),
                entities: entities(m.entities.as_ref()),
                media: m.media.as_ref().map(media),
                reply_to: reply_to(m.reply_to.as_ref()),
                forward: m.fwd_from.as_ref().map(forward),
                grouped_id: m.grouped_id,
                action: None,
                sent_at: time(m.date),
                edited_at: m.edit_date.map(time),
                views: m.views,
                state: MessageState::Sent,
                request_id: None,
                error_reason: None,
            })
        }
        tl::enums::Message::Service(m) => {
            let chat = chat_id(&m.peer_id);
            let reply = reply_to(m.reply_to.as_ref());
            Some(Message {
                account_id: account,
                chat_id: chat,
                message_id: i64::from(m.id),
                sender_id: sender(m.from_id.as_ref(), &m.peer_id, m.out),
                outgoing: m.out,
                text: String::new(),
                entities: Vec::new(),
                media: None,
                reply_to: reply,
                forward: None,
                grouped_id: None,
                action: Some(action(&m.action, reply)),
                sent_at: time(m.date),
                edited_at: None,
                views: None,
                state: MessageState::Sent,
                request_id: None,
                error_reason: None,
            })
        }
    }
}

/// sender is the author's chat id: `from_id` when Telegram gives it; in a
/// private chat without it, the peer (incoming) — outgoing ones are ours,
/// which the caller knows as the account's user.
fn sender(from: Option<&tl::enums::Peer>, peer: &tl::enums::Peer, out: bool) -> Option<i64> {
    match (from, peer) {
        (Some(from), _) => Some(chat_id(from)),
        (None, tl::enums::Peer::User(u)) if !out => Some(u.user_id),
        (None, tl::enums::Peer::Channel(_)) => Some(chat_id(peer)),
        _ => None,
    }
}

/// dialog_state is where a dialog stands in the chat list.
pub(crate) fn dialog_state(dialog: &tl::types::Dialog) -> DialogState {
    let tl::enums::PeerNotifySettings::Settings(notify) = &dialog.notify_settings;
    let now = Utc::now().timestamp();
    DialogState {
        unread_count: dialog.unread_count,
        read_inbox_max_id: i64::from(dialog.read_inbox_max_id),
        read_outbox_max_id: i64::from(dialog.read_outbox_max_id),
        pinned: dialog.pinned,
        archived: dialog.folder_id == Some(1),
        muted_until: notify
            .mute_until
            .filter(|until| i64::from(*until) > now)
            .map(time),
        top_message_id: i64::from(dialog.top_message),
    }
}

/// changes turns one update into what ingest stores. `self_id` is the
/// account's own user id (the sender of outgoing private messages).
pub(crate) fn changes(
    account: AccountId,
    self_id: Option<i64>,
    update: &tl::enums::Update,
) -> Vec<Change> {
    use tl::enums::Update as U;
    let own = |mut m: Message| {
        if m.outgoing && m.sender_id.is_none() {
            m.sender_id = self_id;
        }
        m
    };
    match update {
        U::NewMessage(u) => message(account, &u.message)
            .map(|m| Change::NewMessage {
                message: own(m),
                live: true,
            })
            .into_iter()
            .collect(),
        U::NewChannelMessage(u) => message(account, &u.message)
            .map(|m| Change::NewMessage {
                message: own(m),
                live: true,
            })
            .into_iter()
            .collect(),
        U::EditMessage(u) => message(account, &u.message)
            .map(|m| Change::Edited {
                message: own(m),
                version: Some(i64::from(u.pts)),
            })
            .into_iter()
            .collect(),
        U::EditChannelMessage(u) => message(account, &u.message)
            .map(|m| Change::Edited {
                message: own(m),
                version: Some(i64::from(u.pts)),
            })
            .into_iter()
            .collect(),
        U::DeleteMessages(u) => vec![Change::Deleted {
            chat_id: None,
            message_ids: u.messages.iter().map(|id| i64::from(*id)).collect(),
        }],
        U::DeleteChannelMessages(u) => vec![Change::Deleted {
            chat_id: Some(channel_chat_id(u.channel_id)),
            message_ids: u.messages.iter().map(|id| i64::from(*id)).collect(),
        }],
        U::ReadHistoryInbox(u) => vec![Change::ReadInbox {
            chat_id: chat_id(&u.peer),
            max_id: i64::from(u.max_id),
            still_unread: Some(u.still_unread_count),
        }],
        U::ReadChannelInbox(u) => vec![Change::ReadInbox {
            chat_id: channel_chat_id(u.channel_id),
            max_id: i64::from(u.max_id),
            still_unread: Some(u.still_unread_count),
        }],
        U::ReadHistoryOutbox(u) => vec![Change::ReadOutbox {
            chat_id: chat_id(&u.peer),
            max_id: i64::from(u.max_id),
        }],
        U::ReadChannelOutbox(u) => vec![Change::ReadOutbox {
            chat_id: channel_chat_id(u.channel_id),
            max_id: i64::from(u.max_id),
        }],
        // Scheduled messages that were sent say what they became; ones
        // deleted unsent say nothing a store needs.
        U::DeleteScheduledMessages(u) => match &u.sent_messages {
            Some(sent) if !sent.is_empty() => vec![Change::ScheduledSent {
                chat_id: chat_id(&u.peer),
                sent: u
                    .messages
                    .iter()
                    .zip(sent)
                    .map(|(scheduled, sent)| (i64::from(*scheduled), i64::from(*sent)))
                    .collect(),
            }],
            _ => Vec::new(),
        },
        _ => Vec::new(),
    }
}

/// typing_action is what a chat action shows, when it is one tezgram
/// reports (emoji interactions, drafts and the like are not).
fn typing_action(raw: &tl::enums::SendMessageAction) -> Option<TypingAction> {
    use tl::enums::SendMessageAction as A;
    Some(match raw {
        A::SendMessageTypingAction => TypingAction::Typing,
        A::SendMessageCancelAction => TypingAction::Cancel,
        A::SendMessageRecordAudioAction | A::SendMessageUploadAudioAction(_) => {
            TypingAction::RecordVoice
        }
        A::SendMessageUploadPhotoAction(_) => TypingAction::UploadPhoto,
        A::SendMessageRecordVideoAction
        | A::SendMessageUploadVideoAction(_)
        | A::SendMessageRecordRoundAction
        | A::SendMessageUploadRoundAction(_) => TypingAction::UploadVideo,
        A::SendMessageUploadDocumentAction(_) => TypingAction::UploadDocument,
        A::SendMessageChooseStickerAction => TypingAction::ChooseSticker,
        _ => return None,
    })
}

/// typing is who acts in which chat, when the update is a chat action:
/// (chat id, user id, action). Typing is never stored, only streamed.
pub(crate) fn typing(update: &tl::enums::Update) -> Option<(i64, i64, TypingAction)> {
    use tl::enums::Update as U;
    let user_of = |peer: &tl::enums::Peer| match peer {
        tl::enums::Peer::User(user) => Some(user.user_id),
        _ => None,
    };
    match update {
        U::UserTyping(u) => Some((u.user_id, u.user_id, typing_action(&u.action)?)),
        U::ChatUserTyping(u) => Some((-u.chat_id, user_of(&u.from_id)?, typing_action(&u.action)?)),
        U::ChannelUserTyping(u) => Some((
            channel_chat_id(u.channel_id),
            user_of(&u.from_id)?,
            typing_action(&u.action)?,
        )),
        _ => None,
    }
}

/// chats_of are the chat ids a change needs a profile for: the chat it
/// happened in and, for a migration's service message, the other chat of
/// the migration (so what follows the basic group to its supergroup finds
/// the supergroup stored with its title and access hash).
pub(crate) fn chats_of(change: &Change) -> Vec<i64> {
    match change {
        Change::NewMessage { message, .. } => match message.migration() {
            Some(migration) => vec![migration.from, migration.to],
            None => vec![message.chat_id],
        },
        Change::Edited { message, .. } => vec![message.chat_id],
        Change::ReadInbox { chat_id, .. }
        | Change::ReadOutbox { chat_id, .. }
        | Change::ScheduledSent { chat_id, .. } => vec![*chat_id],
        Change::Deleted { chat_id, .. } => chat_id.iter().copied().collect(),
        Change::Profile(_) => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peers_map_to_bot_api_ids() {
        assert_eq!(
            chat_id(&tl::enums::Peer::User(tl::types::PeerUser { user_id: 42 })),
            42
        );
        assert_eq!(
            chat_id(&tl::enums::Peer::Chat(tl::types::PeerChat { chat_id: 42 })),
            -42
        );
        assert_eq!(
            chat_id(&tl::enums::Peer::Channel(tl::types::PeerChannel {
                channel_id: 42
            })),
            -1_000_000_000_042
        );
    }
}
