//! Messages, dialogs, message entities and the peers they mention, as TL.
//!
//! The network keeps entities as an opaque JSON value; this module decides
//! its shape: a list of objects with the entity's TL name, offset and length
//! for readers, plus the entity's TL serialization (`tl`, base64) so every
//! kind — including ones this code never heard of — comes back unchanged.

use std::collections::BTreeSet;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use grammers_tl_types as tl;
use grammers_tl_types::{Deserializable, Serializable};
use serde_json::{Value, json};

pub use super::users::peer;
use super::users::{chat_of, user};
use crate::network::{
    Dialog, Document, ForwardHeader, Media, Message, Network, PHOTO_SIZE, Peer, ServiceAction,
    Update,
};

/// date is a network time as TL's 32-bit date.
pub fn date(unix: i64) -> i32 {
    i32::try_from(unix).unwrap_or(i32::MAX)
}

/// entities_to_json is what the network stores for a message's entities
/// (`None` for none).
pub fn entities_to_json(entities: &[tl::enums::MessageEntity]) -> Option<Value> {
    if entities.is_empty() {
        return None;
    }
    let list = entities
        .iter()
        .map(|entity| {
            let bytes = entity.to_bytes();
            let id = u32::from_le_bytes(bytes[..4].try_into().expect("a boxed TL value"));
            let (offset, length) = offset_length(entity);
            json!({
                "type": tl::name_for_id(id),
                "offset": offset,
                "length": length,
                "tl": BASE64.encode(&bytes),
            })
        })
        .collect();
    Some(Value::Array(list))
}

/// entities_from_json reads back what [`entities_to_json`] stored; entries
/// it cannot read are skipped.
pub fn entities_from_json(value: Option<&Value>) -> Option<Vec<tl::enums::MessageEntity>> {
    let list = value?.as_array()?;
    let entities: Vec<_> = list
        .iter()
        .filter_map(|entry| {
            let bytes = BASE64.decode(entry.get("tl")?.as_str()?).ok()?;
            tl::enums::MessageEntity::from_bytes(&bytes).ok()
        })
        .collect();
    (!entities.is_empty()).then_some(entities)
}

fn offset_length(entity: &tl::enums::MessageEntity) -> (i32, i32) {
    use tl::enums::MessageEntity as E;
    match entity {
        E::Unknown(e) => (e.offset, e.length),
        E::Mention(e) => (e.offset, e.length),
        E::Hashtag(e) => (e.offset, e.length),
        E::BotCommand(e) => (e.offset, e.length),
        E::Url(e) => (e.offset, e.length),
        E::Email(e) => (e.offset, e.length),
        E::Bold(e) => (e.offset, e.length),
        E::Italic(e) => (e.offset, e.length),
        E::Code(e) => (e.offset, e.length),
        E::Pre(e) => (e.offset, e.length),
        E::TextUrl(e) => (e.offset, e.length),
        E::MentionName(e) => (e.offset, e.length),
        E::InputMessageEntityMentionName(e) => (e.offset, e.length),
        E::Phone(e) => (e.offset, e.length),
        E::Cashtag(e) => (e.offset, e.length),
        E::Underline(e) => (e.offset, e.length),
        E::Strike(e) => (e.offset, e.length),
        E::BankCard(e) => (e.offset, e.length),
        E::Spoiler(e) => (e.offset, e.length),
        E::CustomEmoji(e) => (e.offset, e.length),
        E::Blockquote(e) => (e.offset, e.length),
        E::FormattedDate(e) => (e.offset, e.length),
        E::DiffInsert(e) => (e.offset, e.length),
        E::DiffReplace(e) => (e.offset, e.length),
        E::DiffDelete(e) => (e.offset, e.length),
        E::TonAddress(e) => (e.offset, e.length),
    }
}

/// message is a network message as its viewer gets it. Broadcast channel
/// posts are `post`s without an author, as Telegram shows them.
pub fn message(net: &Network, message: &Message) -> tl::enums::Message {
    let broadcast = match message.peer {
        Peer::Channel(id) => net.channel(id).is_some_and(|c| !c.megagroup),
        _ => false,
    };
    let from_id = (!broadcast).then(|| peer(Peer::User(message.from_id)));
    let reply_to = message.reply_to.map(|id| {
        tl::types::MessageReplyHeader {
            reply_to_scheduled: false,
            forum_topic: false,
            quote: false,
            reply_to_ephemeral: false,
            reply_to_msg_id: Some(id),
            reply_to_peer_id: None,
            reply_from: None,
            reply_media: None,
            reply_to_top_id: None,
            quote_text: None,
            quote_entities: None,
            quote_offset: None,
            todo_item_id: None,
            poll_option: None,
        }
        .into()
    });
    if let Some(action) = &message.action {
        return tl::types::MessageService {
            out: message.out,
            mentioned: false,
            media_unread: false,
            reactions_are_possible: false,
            silent: false,
            post: broadcast,
            legacy: false,
            id: message.id,
            from_id,
            peer_id: peer(message.peer),
            saved_peer_id: None,
            reply_to,
            date: date(message.date),
            action: service_action(action),
            reactions: None,
            ttl_period: None,
        }
        .into();
    }
    tl::types::Message {
        out: message.out,
        mentioned: false,
        media_unread: false,
        silent: false,
        post: broadcast,
        from_scheduled: false,
        legacy: false,
        edit_hide: false,
        pinned: false,
        noforwards: false,
        invert_media: false,
        offline: false,
        video_processing_pending: false,
        paid_suggested_post_stars: false,
        paid_suggested_post_ton: false,
        id: message.id,
        from_id,
        from_boosts_applied: None,
        from_rank: None,
        peer_id: peer(message.peer),
        saved_peer_id: None,
        fwd_from: message.fwd_from.as_ref().map(forward_header),
        via_bot_id: None,
        via_business_bot_id: None,
        guestchat_via_from: None,
        reply_to,
        date: date(message.date),
        message: message.text.clone(),
        media: message.media.as_ref().map(media),
        reply_markup: None,
        entities: entities_from_json(message.entities.as_ref()),
        views: None,
        forwards: None,
        replies: None,
        edit_date: message.edit_date.map(date),
        post_author: None,
        grouped_id: None,
        reactions: None,
        restriction_reason: None,
        ttl_period: None,
        quick_reply_shortcut_id: None,
        effect: None,
        factcheck: None,
        report_delivery_until_date: None,
        paid_message_stars: None,
        suggested_post: None,
        schedule_repeat_period: None,
        summary_from_language: None,
        rich_message: None,
    }
    .into()
}

/// media is a message's media: `messageMediaPhoto` with one size for a
/// photo, else `messageMediaDocument`.
pub fn media(media: &Media) -> tl::enums::MessageMedia {
    match media {
        Media::Document(d) if d.photo.is_some() => tl::types::MessageMediaPhoto {
            spoiler: false,
            live_photo: false,
            photo: Some(photo(d)),
            ttl_seconds: None,
            video: None,
        }
        .into(),
        Media::Document(d) => tl::types::MessageMediaDocument {
            nopremium: false,
            spoiler: false,
            video: false,
            round: false,
            voice: false,
            document: Some(document(d)),
            alt_documents: None,
            video_cover: None,
            video_timestamp: None,
            ttl_seconds: None,
        }
        .into(),
    }
}

/// photo is a stored photo as TL: one size, [`PHOTO_SIZE`], whose bytes
/// are the file's.
pub fn photo(d: &Document) -> tl::enums::Photo {
    let (w, h) = d.photo.unwrap_or_default();
    tl::types::Photo {
        has_stickers: false,
        id: d.id,
        access_hash: d.access_hash,
        file_reference: d.file_reference.clone(),
        date: date(d.date),
        sizes: vec![
            tl::types::PhotoSize {
                r#type: PHOTO_SIZE.to_owned(),
                w,
                h,
                size: i32::try_from(d.size).unwrap_or(i32::MAX),
            }
            .into(),
        ],
        video_sizes: None,
        dc_id: d.dc_id,
    }
    .into()
}

/// document is a stored document as TL, its file name as
/// `documentAttributeFilename`.
pub fn document(d: &Document) -> tl::enums::Document {
    tl::types::Document {
        id: d.id,
        access_hash: d.access_hash,
        file_reference: d.file_reference.clone(),
        date: date(d.date),
        mime_type: d.mime_type.clone(),
        size: d.size,
        thumbs: None,
        video_thumbs: None,
        dc_id: d.dc_id,
        attributes: vec![
            tl::types::DocumentAttributeFilename {
                file_name: d.file_name.clone(),
            }
            .into(),
        ],
    }
    .into()
}

pub fn forward_header(header: &ForwardHeader) -> tl::enums::MessageFwdHeader {
    tl::types::MessageFwdHeader {
        imported: false,
        saved_out: false,
        from_id: Some(peer(header.from)),
        from_name: None,
        date: date(header.date),
        channel_post: header.channel_post,
        post_author: None,
        saved_from_peer: None,
        saved_from_msg_id: None,
        saved_from_id: None,
        saved_from_name: None,
        saved_date: None,
        psa_type: None,
    }
    .into()
}

fn service_action(action: &ServiceAction) -> tl::enums::MessageAction {
    match action {
        ServiceAction::ChatCreate { title, users } => tl::types::MessageActionChatCreate {
            title: title.clone(),
            users: users.clone(),
        }
        .into(),
        ServiceAction::ChannelCreate { title } => tl::types::MessageActionChannelCreate {
            title: title.clone(),
        }
        .into(),
        ServiceAction::ChatMigrateTo { channel_id } => tl::types::MessageActionChatMigrateTo {
            channel_id: *channel_id,
        }
        .into(),
        ServiceAction::ChannelMigrateFrom { title, chat_id } => {
            tl::types::MessageActionChannelMigrateFrom {
                title: title.clone(),
                chat_id: *chat_id,
            }
            .into()
        }
    }
}

pub fn dialog(dialog: &Dialog) -> tl::enums::Dialog {
    tl::types::Dialog {
        pinned: false,
        unread_mark: false,
        view_forum_as_messages: false,
        peer: peer(dialog.peer),
        top_message: dialog.top_message,
        read_inbox_max_id: dialog.read_inbox_max_id,
        read_outbox_max_id: dialog.read_outbox_max_id,
        unread_count: dialog.unread_count,
        unread_mentions_count: 0,
        unread_reactions_count: 0,
        unread_poll_votes_count: 0,
        notify_settings: super::users::default_notify_settings(),
        pts: dialog.pts,
        draft: None,
        folder_id: None,
        ttl_period: None,
    }
    .into()
}

/// Mentioned collects the users, chats and channels an answer refers to, so
/// the answer can carry them (clients cache their access hashes from there).
#[derive(Debug, Default)]
pub struct Mentioned {
    users: BTreeSet<i64>,
    chats: BTreeSet<i64>,
    channels: BTreeSet<i64>,
}

impl Mentioned {
    pub fn peer(&mut self, peer: Peer) -> &mut Self {
        match peer {
            Peer::User(id) => self.users.insert(id),
            Peer::Chat(id) => self.chats.insert(id),
            Peer::Channel(id) => self.channels.insert(id),
        };
        self
    }

    pub fn message(&mut self, message: &Message) -> &mut Self {
        self.peer(message.peer);
        self.users.insert(message.from_id);
        if let Some(fwd) = &message.fwd_from {
            self.peer(fwd.from);
        }
        match &message.action {
            Some(ServiceAction::ChatCreate { users, .. }) => {
                self.users.extend(users.iter().copied());
            }
            // The other side of a migration comes along, so a client
            // learns the supergroup (and its access hash) from the group's
            // last message, and the group from the supergroup's first.
            Some(ServiceAction::ChatMigrateTo { channel_id }) => {
                self.peer(Peer::Channel(*channel_id));
            }
            Some(ServiceAction::ChannelMigrateFrom { chat_id, .. }) => {
                self.peer(Peer::Chat(*chat_id));
            }
            Some(ServiceAction::ChannelCreate { .. }) | None => {}
        }
        self
    }

    pub fn update(&mut self, update: &Update) -> &mut Self {
        match update {
            Update::NewMessage { message }
            | Update::EditMessage { message }
            | Update::NewScheduledMessage { message }
            | Update::NewChannelMessage { message, .. }
            | Update::EditChannelMessage { message, .. } => self.message(message),
            Update::DeleteMessages { .. } => self,
            Update::ReadHistoryInbox { peer, .. }
            | Update::ReadHistoryOutbox { peer, .. }
            | Update::DeleteScheduledMessages { peer, .. } => self.peer(*peer),
            Update::DeleteChannelMessages { channel_id, .. }
            | Update::ReadChannelInbox { channel_id, .. }
            | Update::ReadChannelOutbox { channel_id, .. } => self.peer(Peer::Channel(*channel_id)),
            Update::UserTyping { user_id, .. } => self.peer(Peer::User(*user_id)),
            Update::ChatUserTyping {
                chat_id, from_id, ..
            } => self.peer(Peer::Chat(*chat_id)).peer(Peer::User(*from_id)),
            Update::ChannelUserTyping {
                channel_id,
                from_id,
                ..
            } => self
                .peer(Peer::Channel(*channel_id))
                .peer(Peer::User(*from_id)),
        }
    }

    /// users are the mentioned users as `viewer` sees them.
    pub fn users(&self, net: &Network, viewer: i64) -> Vec<tl::enums::User> {
        self.users
            .iter()
            .filter_map(|id| net.user(*id))
            .map(|u| user(net, viewer, &u))
            .collect()
    }

    /// chats are the mentioned basic groups and channels as `viewer` sees them.
    pub fn chats(&self, net: &Network, viewer: i64) -> Vec<tl::enums::Chat> {
        let chats = self.chats.iter().map(|id| Peer::Chat(*id));
        let channels = self.channels.iter().map(|id| Peer::Channel(*id));
        chats
            .chain(channels)
            .filter_map(|peer| chat_of(net, viewer, peer))
            .collect()
    }
}
