//! Hand-written conversions between the wire (`tezgram_sdk::v1`) and the
//! domain. Proto messages are destructured without `..`, so a new field is a
//! compile error here until someone decides what it means.

use chrono::{DateTime, Utc};
use prost_types::Timestamp;
use tezgram_sdk::v1 as pb;

use crate::domain::chat::{
    ActionKind, Chat, ChatKind, ChatProfile, Entity, EntityKind, ForwardHeader, ForwardOrigin,
    MediaInfo, MediaKind, Message, MessageAction, MessageState,
};
use crate::domain::crm::{EntityType, LinkedEntity};
use crate::domain::login::TelegramDevice;
use crate::domain::media::received_media_id;
use crate::domain::{Account, AccountKind, AccountState};

pub fn timestamp(time: DateTime<Utc>) -> Timestamp {
    Timestamp {
        seconds: time.timestamp(),
        nanos: time.timestamp_subsec_nanos() as i32,
    }
}

impl From<AccountKind> for pb::AccountKind {
    fn from(kind: AccountKind) -> Self {
        match kind {
            AccountKind::User => pb::AccountKind::User,
            AccountKind::Bot => pb::AccountKind::Bot,
        }
    }
}

impl From<AccountState> for pb::AccountState {
    fn from(state: AccountState) -> Self {
        match state {
            AccountState::LoginCodeRequired => pb::AccountState::LoginCodeRequired,
            AccountState::PasswordRequired => pb::AccountState::PasswordRequired,
            AccountState::Authorized => pb::AccountState::Authorized,
            AccountState::ReauthRequired => pb::AccountState::ReauthRequired,
            AccountState::LoggedOut => pb::AccountState::LoggedOut,
        }
    }
}

impl From<Account> for pb::Account {
    fn from(account: Account) -> Self {
        let Account {
            id,
            tenant: _,
            kind,
            state,
            phone_number,
            telegram_user_id,
            username,
            display_name,
            password_hint,
            created_at,
            updated_at,
        } = account;
        // The hint is only meaningful while a password is awaited.
        let password_hint = match state {
            AccountState::PasswordRequired => password_hint.unwrap_or_default(),
            _ => String::new(),
        };
        pb::Account {
            account_id: id.to_string(),
            kind: pb::AccountKind::from(kind) as i32,
            state: pb::AccountState::from(state) as i32,
            phone_number: phone_number.unwrap_or_default(),
            telegram_user_id: telegram_user_id.unwrap_or_default(),
            username: username.unwrap_or_default(),
            display_name,
            create_time: Some(timestamp(created_at)),
            update_time: Some(timestamp(updated_at)),
            password_hint,
        }
    }
}

impl From<TelegramDevice> for pb::Authorization {
    fn from(device: TelegramDevice) -> Self {
        let TelegramDevice {
            hash,
            current,
            device_model,
            platform,
            app_name,
            ip,
            country,
            created_at,
            active_at,
        } = device;
        pb::Authorization {
            authorization_hash: hash,
            current,
            device_model,
            platform,
            app_name,
            ip,
            country,
            create_time: Some(timestamp(created_at)),
            active_time: Some(timestamp(active_at)),
        }
    }
}

impl From<ChatKind> for pb::ChatType {
    fn from(kind: ChatKind) -> Self {
        match kind {
            ChatKind::Private => pb::ChatType::Private,
            ChatKind::Bot => pb::ChatType::Bot,
            ChatKind::Group => pb::ChatType::Group,
            ChatKind::Supergroup => pb::ChatType::Supergroup,
            ChatKind::Channel => pb::ChatType::Channel,
        }
    }
}

/// chat_kind reads a requested chat type; UNSPECIFIED and unknown numbers are refused.
pub fn chat_kind(value: i32) -> Option<ChatKind> {
    match pb::ChatType::try_from(value).ok()? {
        pb::ChatType::Unspecified => None,
        pb::ChatType::Private => Some(ChatKind::Private),
        pb::ChatType::Bot => Some(ChatKind::Bot),
        pb::ChatType::Group => Some(ChatKind::Group),
        pb::ChatType::Supergroup => Some(ChatKind::Supergroup),
        pb::ChatType::Channel => Some(ChatKind::Channel),
    }
}

impl From<Chat> for pb::Chat {
    fn from(chat: Chat) -> Self {
        let now = Utc::now();
        let muted = chat.muted(now);
        let Chat {
            account_id,
            profile,
            about,
            full_profile_at: _,
            unread_count,
            read_inbox_max_id,
            read_outbox_max_id,
            muted_until,
            pinned,
            archived,
            last_message,
            updated_at,
            linked,
        } = chat;
        let ChatProfile {
            chat_id,
            kind,
            title,
            username,
            first_name,
            last_name,
            phone_number,
            member_count,
            access_hash: _,
        } = profile;
        let private = matches!(kind, ChatKind::Private | ChatKind::Bot);
        pb::Chat {
            account_id: account_id.to_string(),
            chat_id,
            r#type: pb::ChatType::from(kind) as i32,
            title,
            username: username.unwrap_or_default(),
            first_name: first_name.filter(|_| private).unwrap_or_default(),
            last_name: last_name.filter(|_| private).unwrap_or_default(),
            about: about.unwrap_or_default(),
            member_count: member_count.filter(|_| !private).unwrap_or_default(),
            unread_count,
            last_message: last_message.map(pb::Message::from),
            pinned,
            archived,
            update_time: Some(timestamp(updated_at)),
            phone_number: phone_number.filter(|_| private).unwrap_or_default(),
            read_inbox_max_id,
            read_outbox_max_id,
            muted,
            muted_until: muted_until.filter(|_| muted).map(timestamp),
            linked_entities: linked.into_iter().map(pb::LinkedEntity::from).collect(),
        }
    }
}

impl From<EntityType> for pb::CrmEntityType {
    fn from(kind: EntityType) -> Self {
        match kind {
            EntityType::Contact => pb::CrmEntityType::Contact,
            EntityType::Deal => pb::CrmEntityType::Deal,
            EntityType::Company => pb::CrmEntityType::Company,
            EntityType::Lead => pb::CrmEntityType::Lead,
            EntityType::Ticket => pb::CrmEntityType::Ticket,
        }
    }
}

/// entity_type reads a wire CRM record type; UNSPECIFIED or unknown is `None`.
pub fn entity_type(value: i32) -> Option<EntityType> {
    match pb::CrmEntityType::try_from(value).ok()? {
        pb::CrmEntityType::Unspecified => None,
        pb::CrmEntityType::Contact => Some(EntityType::Contact),
        pb::CrmEntityType::Deal => Some(EntityType::Deal),
        pb::CrmEntityType::Company => Some(EntityType::Company),
        pb::CrmEntityType::Lead => Some(EntityType::Lead),
        pb::CrmEntityType::Ticket => Some(EntityType::Ticket),
    }
}

impl From<LinkedEntity> for pb::LinkedEntity {
    fn from(linked: LinkedEntity) -> Self {
        pb::LinkedEntity {
            r#type: pb::CrmEntityType::from(linked.entity.kind)
                .as_str_name()
                .to_owned(),
            id: linked.entity.id,
            link_time: Some(timestamp(linked.linked_at)),
        }
    }
}

impl From<EntityKind> for pb::MessageEntityType {
    fn from(kind: EntityKind) -> Self {
        use pb::MessageEntityType as T;
        match kind {
            EntityKind::Bold => T::Bold,
            EntityKind::Italic => T::Italic,
            EntityKind::Underline => T::Underline,
            EntityKind::Strikethrough => T::Strikethrough,
            EntityKind::Spoiler => T::Spoiler,
            EntityKind::Code => T::Code,
            EntityKind::Pre => T::Pre,
            EntityKind::TextUrl => T::TextUrl,
            EntityKind::Url => T::Url,
            EntityKind::Email => T::Email,
            EntityKind::PhoneNumber => T::PhoneNumber,
            EntityKind::Mention => T::Mention,
            EntityKind::MentionName => T::MentionName,
            EntityKind::Hashtag => T::Hashtag,
            EntityKind::Cashtag => T::Cashtag,
            EntityKind::BotCommand => T::BotCommand,
            EntityKind::Blockquote => T::Blockquote,
            EntityKind::CustomEmoji => T::CustomEmoji,
        }
    }
}

impl From<Entity> for pb::MessageEntity {
    fn from(entity: Entity) -> Self {
        let Entity {
            kind,
            offset,
            length,
            url,
            user_id,
            language,
            custom_emoji_id,
        } = entity;
        pb::MessageEntity {
            r#type: pb::MessageEntityType::from(kind) as i32,
            offset,
            length,
            url: url.unwrap_or_default(),
            user_id: user_id.unwrap_or_default(),
            language: language.unwrap_or_default(),
            custom_emoji_id: custom_emoji_id.unwrap_or_default(),
        }
    }
}

impl From<MediaKind> for pb::MediaKind {
    fn from(kind: MediaKind) -> Self {
        match kind {
            MediaKind::Photo => pb::MediaKind::Photo,
            MediaKind::Video => pb::MediaKind::Video,
            MediaKind::Audio => pb::MediaKind::Audio,
            MediaKind::Voice => pb::MediaKind::Voice,
            MediaKind::VideoNote => pb::MediaKind::VideoNote,
            MediaKind::Animation => pb::MediaKind::Animation,
            MediaKind::Sticker => pb::MediaKind::Sticker,
            MediaKind::Document => pb::MediaKind::Document,
            MediaKind::Other => pb::MediaKind::Other,
        }
    }
}

impl From<MediaInfo> for pb::MessageMedia {
    fn from(media: MediaInfo) -> Self {
        let MediaInfo {
            kind,
            file_name,
            mime_type,
            size_bytes,
            width,
            height,
            duration_secs,
            title,
            performer,
            emoji,
        } = media;
        pb::MessageMedia {
            kind: pb::MediaKind::from(kind) as i32,
            // Set by the message it belongs to (see `From<Message>`).
            media_id: String::new(),
            file_name: file_name.unwrap_or_default(),
            mime_type: mime_type.unwrap_or_default(),
            size_bytes: size_bytes.unwrap_or_default(),
            width: width.unwrap_or_default(),
            height: height.unwrap_or_default(),
            duration: duration_secs.and_then(|s| {
                prost_types::Duration::try_from(std::time::Duration::from_secs_f64(s.max(0.0))).ok()
            }),
            title: title.unwrap_or_default(),
            performer: performer.unwrap_or_default(),
            emoji: emoji.unwrap_or_default(),
        }
    }
}

impl From<ForwardHeader> for pb::ForwardHeader {
    fn from(header: ForwardHeader) -> Self {
        let ForwardHeader {
            origin,
            sender_id,
            sender_name,
            chat_id,
            message_id,
            date,
            post_author,
        } = header;
        let origin_type = match origin {
            ForwardOrigin::User => pb::ForwardOriginType::User,
            ForwardOrigin::HiddenUser => pb::ForwardOriginType::HiddenUser,
            ForwardOrigin::Chat => pb::ForwardOriginType::Chat,
            ForwardOrigin::Channel => pb::ForwardOriginType::Channel,
        };
        pb::ForwardHeader {
            sender_id: sender_id.unwrap_or_default(),
            sender_name: sender_name.unwrap_or_default(),
            chat_id: chat_id.unwrap_or_default(),
            message_id: message_id.unwrap_or_default(),
            send_time: Some(timestamp(date)),
            origin_type: origin_type as i32,
            post_author: post_author.unwrap_or_default(),
        }
    }
}

impl From<ActionKind> for pb::MessageActionType {
    fn from(kind: ActionKind) -> Self {
        use pb::MessageActionType as T;
        match kind {
            ActionKind::ChatCreate => T::ChatCreate,
            ActionKind::ChatEditTitle => T::ChatEditTitle,
            ActionKind::ChatEditPhoto => T::ChatEditPhoto,
            ActionKind::ChatDeletePhoto => T::ChatDeletePhoto,
            ActionKind::ChatAddUser => T::ChatAddUser,
            ActionKind::ChatDeleteUser => T::ChatDeleteUser,
            ActionKind::ChatJoinedByLink => T::ChatJoinedByLink,
            ActionKind::ChannelCreate => T::ChannelCreate,
            ActionKind::ChatMigrateTo => T::ChatMigrateTo,
            ActionKind::ChannelMigrateFrom => T::ChannelMigrateFrom,
            ActionKind::PinMessage => T::PinMessage,
            ActionKind::HistoryClear => T::HistoryClear,
            ActionKind::PhoneCall => T::PhoneCall,
            ActionKind::ScreenshotTaken => T::ScreenshotTaken,
            ActionKind::ContactSignUp => T::ContactSignUp,
            ActionKind::Other => T::Other,
        }
    }
}

impl From<MessageAction> for pb::MessageAction {
    fn from(action: MessageAction) -> Self {
        let MessageAction {
            kind,
            user_ids,
            title,
            message_id,
            chat_id,
        } = action;
        pb::MessageAction {
            r#type: pb::MessageActionType::from(kind) as i32,
            user_ids,
            title: title.unwrap_or_default(),
            message_id: message_id.unwrap_or_default(),
            chat_id: chat_id.unwrap_or_default(),
        }
    }
}

impl From<MessageState> for pb::MessageState {
    fn from(state: MessageState) -> Self {
        match state {
            MessageState::Sent => pb::MessageState::Sent,
            MessageState::Pending => pb::MessageState::Pending,
            MessageState::Failed => pb::MessageState::Failed,
            MessageState::Scheduled => pb::MessageState::Scheduled,
        }
    }
}

impl From<Message> for pb::Message {
    fn from(message: Message) -> Self {
        let Message {
            account_id,
            chat_id,
            message_id,
            sender_id,
            outgoing,
            text,
            entities,
            media,
            reply_to,
            forward,
            grouped_id,
            action,
            sent_at,
            edited_at,
            views,
            state,
            request_id,
            error_reason,
        } = message;
        pb::Message {
            account_id: account_id.to_string(),
            chat_id,
            message_id,
            sender_id: sender_id.unwrap_or_default(),
            outgoing,
            text,
            entities: entities.into_iter().map(pb::MessageEntity::from).collect(),
            media: media.map(|media| {
                let file = media.kind != MediaKind::Other && message_id > 0;
                pb::MessageMedia {
                    // What DownloadMedia takes to read the file.
                    media_id: match file {
                        true => received_media_id(account_id, chat_id, message_id),
                        false => String::new(),
                    },
                    ..media.into()
                }
            }),
            reply_to_message_id: reply_to.unwrap_or_default(),
            forward_from: forward.map(pb::ForwardHeader::from),
            send_time: Some(timestamp(sent_at)),
            edit_time: edited_at.map(timestamp),
            views: views.unwrap_or_default(),
            state: pb::MessageState::from(state) as i32,
            request_id: request_id.unwrap_or_default(),
            error_reason: error_reason.unwrap_or_default(),
            grouped_id: grouped_id.unwrap_or_default(),
            action: action.map(pb::MessageAction::from),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{AccountId, TenantId};

    #[test]
    fn accounts_convert_with_hint_only_when_awaiting_password() {
        let now = Utc::now();
        let mut account = Account {
            id: AccountId::new(),
            tenant: TenantId::parse("t").unwrap(),
            kind: AccountKind::User,
            state: AccountState::Authorized,
            phone_number: Some("9996612345".into()),
            telegram_user_id: Some(42),
            username: None,
            display_name: "Ann".into(),
            password_hint: Some("pet".into()),
            created_at: now,
            updated_at: now,
        };
        let wire = pb::Account::from(account.clone());
        assert_eq!(wire.state, pb::AccountState::Authorized as i32);
        assert_eq!(wire.password_hint, "");
        assert_eq!(wire.telegram_user_id, 42);
        account.state = AccountState::PasswordRequired;
        assert_eq!(pb::Account::from(account).password_hint, "pet");
    }
}
