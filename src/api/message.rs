//! MessageService: reading history (ListMessages, GetMessage) and
//! searching it (SearchMessages), sending text or an uploaded file (with a
//! caption of at most 1024 UTF-16 code units) through the outbox
//! (SendMessage) and ForwardMessages, EditMessage, DeleteMessages, MarkRead
//! and SetTyping. SendMessage with `schedule_time` has Telegram hold the
//! message (SCHEDULED) until then.

use tezgram_sdk::v1 as pb;
use tezgram_sdk::v1::list_messages_request::Anchor as WireAnchor;
use tezgram_sdk::v1::message_service_server::MessageService;
use tonic::{Request, Response, Status};

use super::account::account_id;
use super::chat::chat_id;
use super::page::{self, Limits};
use super::{Violations, caller};
use crate::domain::chat::{
    Entity, EntityKind, MAX_CAPTION, MAX_SEARCH_QUERY, MAX_TEXT, MediaKind, SearchCursor,
    SearchQuery, TextEdit, TypingAction, search_words, utf16_len,
};
use crate::domain::login::RequestId;
use crate::domain::outbox::OutgoingText;
use crate::domain::{AccountId, Error};
use crate::service::chats::Anchor;
use crate::service::outbox::{Forward, MediaChoice, SendText};
use crate::service::{Chats, Outbox};
use crate::telegram::send::{Markup, parse_markup};

const LIST_MESSAGES: &str = "ListMessages";
const SEARCH_MESSAGES: &str = "SearchMessages";
const LIST_MESSAGES_LIMITS: Limits = Limits {
    default: 50,
    max: 100,
};

/// MAX_ENTITIES is Telegram's limit on a message's formatted spans.
pub const MAX_ENTITIES: usize = 100;

pub struct MessageApi {
    chats: Chats,
    outbox: Outbox,
}

impl MessageApi {
    pub fn new(chats: Chats, outbox: Outbox) -> Self {
        Self { chats, outbox }
    }
}

/// entity_kind reads a wire entity type; UNSPECIFIED and unknown are none.
fn entity_kind(kind: i32) -> Option<EntityKind> {
    use pb::MessageEntityType as T;
    Some(match T::try_from(kind).ok()? {
        T::Unspecified => return None,
        T::Bold => EntityKind::Bold,
        T::Italic => EntityKind::Italic,
        T::Underline => EntityKind::Underline,
        T::Strikethrough => EntityKind::Strikethrough,
        T::Spoiler => EntityKind::Spoiler,
        T::Code => EntityKind::Code,
        T::Pre => EntityKind::Pre,
        T::TextUrl => EntityKind::TextUrl,
        T::Url => EntityKind::Url,
        T::Email => EntityKind::Email,
        T::PhoneNumber => EntityKind::PhoneNumber,
        T::Mention => EntityKind::Mention,
        T::MentionName => EntityKind::MentionName,
        T::Hashtag => EntityKind::Hashtag,
        T::Cashtag => EntityKind::Cashtag,
        T::BotCommand => EntityKind::BotCommand,
        T::Blockquote => EntityKind::Blockquote,
        T::CustomEmoji => EntityKind::CustomEmoji,
    })
}

/// entities validates a request's entities: known types, the fields their
/// type needs and no others, and spans inside the text when its length is
/// known (`None`: the text is the stored one, checked where it is read).
fn entities(
    field: &str,
    wire: &[pb::MessageEntity],
    text_len: Option<usize>,
    violations: &mut Violations,
) -> Vec<Entity> {
    if wire.len() > MAX_ENTITIES {
        violations.add(field, format!("at most {MAX_ENTITIES} entities"));
        return Vec::new();
    }
    let mut out = Vec::with_capacity(wire.len());
    for (i, entity) in wire.iter().enumerate() {
        let at = format!("{field}[{i}]");
        let Some(kind) = entity_kind(entity.r#type) else {
            violations.add(&format!("{at}.type"), "required: a known entity type");
            continue;
        };
        let url = (!entity.url.is_empty()).then(|| entity.url.clone());
        let user_id = (entity.user_id != 0).then_some(entity.user_id);
        let custom_emoji_id = (entity.custom_emoji_id != 0).then_some(entity.custom_emoji_id);
        match kind {
            EntityKind::TextUrl if url.is_none() => {
                violations.add(&format!("{at}.url"), "required for TEXT_URL");
            }
            EntityKind::MentionName if user_id.is_none() => {
                violations.add(&format!("{at}.user_id"), "required for MENTION_NAME");
            }
            EntityKind::CustomEmoji if custom_emoji_id.is_none() => {
                violations.add(
                    &format!("{at}.custom_emoji_id"),
                    "required for CUSTOM_EMOJI",
                );
            }
            _ => {}
        }
        let entity = Entity {
            kind,
            offset: entity.offset,
            length: entity.length,
            url: url.filter(|_| kind == EntityKind::TextUrl),
            user_id: user_id.filter(|_| kind == EntityKind::MentionName),
            language: (kind == EntityKind::Pre && !entity.language.is_empty())
                .then(|| entity.language.clone()),
            custom_emoji_id: custom_emoji_id.filter(|_| kind == EntityKind::CustomEmoji),
        };
        if let Some(text_len) = text_len
            && !entity.within(text_len)
        {
            violations.add(&at, Entity::outside(text_len));
            continue;
        }
        out.push(entity);
    }
    out
}

/// request_id_of checks a write's required `request_id`.
fn request_id_of(value: &str, violations: &mut Violations) -> Option<RequestId> {
    RequestId::parse(value)
        .map_err(|why| violations.add("request_id", why))
        .ok()
}

/// time_of reads a wire timestamp; one outside chrono's range is named.
pub(super) fn time_of(
    field: &str,
    time: &prost_types::Timestamp,
    violations: &mut Violations,
) -> Option<chrono::DateTime<chrono::Utc>> {
    let parsed = chrono::DateTime::from_timestamp(time.seconds, time.nanos.max(0) as u32);
    if parsed.is_none() {
        violations.add(field, "not a valid time");
    }
    parsed
}

/// MAX_MESSAGE_IDS is how many messages one call may delete or forward.
const MAX_MESSAGE_IDS: usize = 100;

/// message_id_list checks a list of message ids: 1 to 100 positive ids.
fn message_id_list(field: &str, ids: &[i64], violations: &mut Violations) {
    if ids.is_empty() || ids.len() > MAX_MESSAGE_IDS {
        violations.add(field, format!("1 to {MAX_MESSAGE_IDS} message ids"));
    }
    for (i, id) in ids.iter().enumerate() {
        if *id <= 0 {
            violations.add(&format!("{field}[{i}]"), "must be a positive message id");
        }
    }
}

/// send_request validates a SendMessage, naming every bad field.
fn send_request(request: &pb::SendMessageRequest) -> Result<SendText, Error> {
    let pb::SendMessageRequest {
        account_id: account,
        chat_id: chat,
        text,
        entities: wire_entities,
        parse_mode,
        reply_to_message_id,
        media_id,
        send_as,
        schedule_time,
        silent,
        request_id,
    } = request;
    let mut violations = Violations::default();
    let media = media_choice(media_id, *send_as, &mut violations);
    // How far ahead is the outbox's to check: a retry of a scheduled send
    // is answered even once its time has passed.
    let schedule = schedule_time
        .as_ref()
        .and_then(|time| time_of("schedule_time", time, &mut violations))
        // Telegram schedules to the second.
        .and_then(|at| chrono::DateTime::from_timestamp(at.timestamp(), 0));
    let account = violations.check(account_id("account_id", account));
    let chat = chat_id("chat_id", *chat, &mut violations);
    let request_id = request_id_of(request_id, &mut violations);
    if *reply_to_message_id < 0 {
        violations.add("reply_to_message_id", "must be a message id, or 0 for none");
    }
    let markup = match pb::ParseMode::try_from(*parse_mode) {
        Ok(pb::ParseMode::Unspecified) => None,
        Ok(pb::ParseMode::Markdown) => Some(Markup::Markdown),
        Ok(pb::ParseMode::Html) => Some(Markup::Html),
        Err(_) => {
            violations.add("parse_mode", "not a known parse mode");
            None
        }
    };
    let (text, entities) = match markup {
        Some(markup) => {
            if !wire_entities.is_empty() {
                violations.add("entities", "must be empty when parse_mode is set");
            }
            match parse_markup(markup, text) {
                Ok(parsed) => parsed,
                Err(why) => {
                    violations.add("text", why);
                    (text.clone(), Vec::new())
                }
            }
        }
        None => {
            let parsed = entities(
                "entities",
                wire_entities,
                Some(utf16_len(text)),
                &mut violations,
            );
            (text.clone(), parsed)
        }
    };
    let length = utf16_len(&text);
    if media.is_some() {
        if length > MAX_CAPTION {
            violations.add(
                "text",
                format!("{length} UTF-16 code units; a caption may have at most {MAX_CAPTION}"),
            );
        }
    } else if text.trim().is_empty() {
        violations.add("text", "required: the message text");
    } else if length > MAX_TEXT {
        violations.add(
            "text",
            format!("{length} UTF-16 code units; Telegram allows at most {MAX_TEXT}"),
        );
    }
    if markup.is_some() && entities.len() > MAX_ENTITIES {
        violations.add(
            "text",
            format!("the markup makes more than {MAX_ENTITIES} entities"),
        );
    }
    violations.finish()?;
    Ok(SendText {
        account: account.expect("validated"),
        chat_id: chat,
        text: OutgoingText {
            text,
            entities,
            reply_to: (*reply_to_message_id > 0).then_some(*reply_to_message_id),
            silent: *silent,
            schedule,
            signature: String::new(),
        },
        media,
        request_id: request_id.expect("validated"),
    })
}

/// MAX_MEDIA_ID is the longest media id, as the proto documents.
const MAX_MEDIA_ID: usize = 128;

/// media_choice reads SendMessage's file, if it has one: the media and how
/// to send it (`None`: as its MIME type says).
fn media_choice(media_id: &str, send_as: i32, violations: &mut Violations) -> Option<MediaChoice> {
    let send_as = match pb::MediaKind::try_from(send_as) {
        Ok(pb::MediaKind::Unspecified) => None,
        Ok(kind) => Some(kind),
        Err(_) => {
            violations.add("send_as", "not a known media kind");
            None
        }
    };
    if media_id.is_empty() {
        if send_as.is_some() {
            violations.add("send_as", "only with media_id");
        }
        return None;
    }
    if media_id.len() > MAX_MEDIA_ID || media_id.chars().any(char::is_control) {
        violations.add("media_id", "not a media id this server issued");
        return None;
    }
    let send_as = match send_as {
        None => None,
        Some(pb::MediaKind::Photo) => Some(MediaKind::Photo),
        Some(pb::MediaKind::Video) => Some(MediaKind::Video),
        Some(pb::MediaKind::Audio) => Some(MediaKind::Audio),
        Some(pb::MediaKind::Voice) => Some(MediaKind::Voice),
        Some(pb::MediaKind::VideoNote) => Some(MediaKind::VideoNote),
        Some(pb::MediaKind::Animation) => Some(MediaKind::Animation),
        Some(pb::MediaKind::Document) => Some(MediaKind::Document),
        Some(pb::MediaKind::Sticker | pb::MediaKind::Other | pb::MediaKind::Unspecified) => {
            violations.add(
                "send_as",
                "an uploaded file is sent as a photo, video, audio, voice, video note, animation or document",
            );
            None
        }
    };
    Some(MediaChoice {
        media_id: media_id.to_owned(),
        send_as,
    })
}

/// search_binding ties a SearchMessages page token to the search it pages.
fn search_binding(account: Option<AccountId>, chat: Option<i64>, search: &SearchQuery) -> String {
    page::binding(&(account, chat, search))
}

fn encode_search_cursor(cursor: &SearchCursor, binding: &str) -> String {
    let body = serde_json::to_string(&(cursor, binding)).expect("cursors serialize");
    page::encode_token(SEARCH_MESSAGES, &body)
}

fn decode_search_cursor(token: &str, binding: &str) -> Result<Option<SearchCursor>, Error> {
    let Some(body) = page::decode_token(SEARCH_MESSAGES, token)? else {
        return Ok(None);
    };
    match serde_json::from_str::<(SearchCursor, String)>(&body) {
        Ok((cursor, bound)) if bound == binding => Ok(Some(cursor)),
        _ => Err(Error::invalid(
            "page_token",
            "not issued for this search (account, chat, query and times)",
        )),
    }
}

/// A ListMessages token: the account and chat it pages, its direction
/// ("o" older, "n" newer) and the id the next page starts beyond.
fn encode_history_cursor(account: AccountId, chat: i64, anchor: Anchor) -> Option<String> {
    let (direction, id) = match anchor {
        Anchor::Before(id) => ("o", id),
        Anchor::After(id) => ("n", id),
        Anchor::Newest | Anchor::BeforeTime(_) => return None,
    };
    Some(page::encode_token(
        LIST_MESSAGES,
        &format!("{account}:{chat}:{direction}:{id}"),
    ))
}

fn decode_history_cursor(
    token: &str,
    account: AccountId,
    chat: i64,
) -> Result<Option<Anchor>, Error> {
    let Some(cursor) = page::decode_token(LIST_MESSAGES, token)? else {
        return Ok(None);
    };
    let foreign = || Error::invalid("page_token", "not issued for this account and chat");
    let parts: Vec<&str> = cursor.split(':').collect();
    let [token_account, token_chat, direction, id] = parts.as_slice() else {
        return Err(foreign());
    };
    if *token_account != account.to_string() || *token_chat != chat.to_string() {
        return Err(foreign());
    }
    let id: i64 = id.parse().map_err(|_| foreign())?;
    match *direction {
        "o" => Ok(Some(Anchor::Before(id))),
        "n" => Ok(Some(Anchor::After(id))),
        _ => Err(foreign()),
    }
}

#[tonic::async_trait]
impl MessageService for MessageApi {
    async fn list_messages(
        &self,
        request: Request<pb::ListMessagesRequest>,
    ) -> Result<Response<pb::ListMessagesResponse>, Status> {
        let caller = caller(&request)?;
        let pb::ListMessagesRequest {
            account_id: account,
            chat_id: chat,
            page_size,
            page_token,
            anchor,
        } = request.get_ref();
        let mut violations = Violations::default();
        let account = violations.check(account_id("account_id", account));
        let chat = chat_id("chat_id", *chat, &mut violations);
        let limit = violations.check(page::page_size(*page_size, LIST_MESSAGES_LIMITS));
        let anchor = match anchor {
            None => Anchor::Newest,
            Some(WireAnchor::BeforeMessageId(id)) => {
                if *id <= 0 {
                    violations.add("before_message_id", "must be a positive message id");
                }
                Anchor::Before(*id)
            }
            Some(WireAnchor::AfterMessageId(id)) => {
                if *id < 0 {
                    violations.add("after_message_id", "must not be negative");
                }
                Anchor::After(*id)
            }
            Some(WireAnchor::BeforeTime(time)) => time_of("before_time", time, &mut violations)
                .map_or(Anchor::Newest, Anchor::BeforeTime),
        };
        if !page_token.is_empty() && anchor != Anchor::Newest {
            violations.add("page_token", "must not be combined with an anchor");
        }
        let from_token = match account {
            Some(account) => violations
                .check(decode_history_cursor(page_token, account, chat))
                .flatten(),
            None => None,
        };
        violations.finish()?;
        let account = account.expect("validated");
        let anchor = from_token.unwrap_or(anchor);
        let page = self
            .chats
            .list_messages(caller, account, chat, anchor, limit.unwrap_or_default())
            .await?;
        let direction_after = matches!(anchor, Anchor::After(_));
        let next_page_token = page
            .next
            .and_then(|id| {
                let next = if direction_after {
                    Anchor::After(id)
                } else {
                    Anchor::Before(id)
                };
                encode_history_cursor(account, chat, next)
            })
            .unwrap_or_default();
        Ok(Response::new(pb::ListMessagesResponse {
            messages: page.messages.into_iter().map(pb::Message::from).collect(),
            next_page_token,
            total_count: page.total_count,
        }))
    }

    async fn get_message(
        &self,
        request: Request<pb::GetMessageRequest>,
    ) -> Result<Response<pb::GetMessageResponse>, Status> {
        let caller = caller(&request)?;
        let pb::GetMessageRequest {
            account_id: account,
            chat_id: chat,
            message_id,
        } = request.get_ref();
        let mut violations = Violations::default();
        let account = violations.check(account_id("account_id", account));
        let chat = chat_id("chat_id", *chat, &mut violations);
        if *message_id <= 0 {
            violations.add("message_id", "must be a positive message id");
        }
        violations.finish()?;
        let message = self
            .chats
            .get_message(caller, account.expect("validated"), chat, *message_id)
            .await?;
        Ok(Response::new(pb::GetMessageResponse {
            message: Some(message.into()),
        }))
    }

    async fn search_messages(
        &self,
        request: Request<pb::SearchMessagesRequest>,
    ) -> Result<Response<pb::SearchMessagesResponse>, Status> {
        let caller = caller(&request)?;
        let pb::SearchMessagesRequest {
            account_id: account,
            chat_id: chat,
            query,
            from_time,
            to_time,
            page_size,
            page_token,
        } = request.get_ref();
        let mut violations = Violations::default();
        let account = violations.check(account_id("account_id", account));
        let chat = chat.map(|chat| chat_id("chat_id", chat, &mut violations));
        let length = query.chars().count();
        let words = search_words(query);
        if query.trim().is_empty() || length > MAX_SEARCH_QUERY {
            violations.add(
                "query",
                format!("1 to {MAX_SEARCH_QUERY} characters of text to find"),
            );
        } else if words.is_empty() {
            violations.add("query", "must contain a word (letters or digits)");
        }
        let from = from_time
            .as_ref()
            .and_then(|t| time_of("from_time", t, &mut violations));
        let to = to_time
            .as_ref()
            .and_then(|t| time_of("to_time", t, &mut violations));
        if let (Some(from), Some(to)) = (from, to)
            && to < from
        {
            violations.add("to_time", "must not be before from_time");
        }
        let limit = violations.check(page::page_size(*page_size, LIST_MESSAGES_LIMITS));
        let search = SearchQuery { words, from, to };
        let binding = search_binding(account, chat, &search);
        let after = violations
            .check(decode_search_cursor(page_token, &binding))
            .flatten();
        violations.finish()?;
        let page = self
            .chats
            .search_messages(
                caller,
                account.expect("validated"),
                chat,
                search,
                after,
                limit.unwrap_or_default(),
            )
            .await?;
        Ok(Response::new(pb::SearchMessagesResponse {
            messages: page.messages.into_iter().map(pb::Message::from).collect(),
            next_page_token: page
                .next
                .map(|cursor| encode_search_cursor(&cursor, &binding))
                .unwrap_or_default(),
        }))
    }

    async fn send_message(
        &self,
        request: Request<pb::SendMessageRequest>,
    ) -> Result<Response<pb::SendMessageResponse>, Status> {
        let caller = caller(&request)?;
        let send = send_request(request.get_ref())?;
        let message = self.outbox.send_message(caller, send).await?;
        Ok(Response::new(pb::SendMessageResponse {
            message: Some(message.into()),
        }))
    }

    async fn edit_message(
        &self,
        request: Request<pb::EditMessageRequest>,
    ) -> Result<Response<pb::EditMessageResponse>, Status> {
        let caller = caller(&request)?;
        let pb::EditMessageRequest {
            account_id: account,
            chat_id: chat,
            message_id,
            text,
            entities: wire_entities,
            update_mask,
        } = request.get_ref();
        let mut violations = Violations::default();
        let account = violations.check(account_id("account_id", account));
        let chat = chat_id("chat_id", *chat, &mut violations);
        if *message_id <= 0 {
            violations.add("message_id", "must be a positive message id");
        }
        let paths = update_mask
            .as_ref()
            .map(|m| m.paths.as_slice())
            .unwrap_or(&[]);
        let mut change_text = paths.is_empty();
        let mut change_entities = paths.is_empty();
        for path in paths {
            match path.as_str() {
                "text" => change_text = true,
                "entities" => change_entities = true,
                other => violations.add(
                    "update_mask",
                    format!("{other:?} cannot be edited; only \"text\" and \"entities\""),
                ),
            }
        }
        let length = utf16_len(text);
        if change_text && length > MAX_TEXT {
            violations.add(
                "text",
                format!("{length} UTF-16 code units; Telegram allows at most {MAX_TEXT}"),
            );
        }
        // Without a new text the entities format the stored one: the
        // service checks their spans once it has read it.
        let entities = entities(
            "entities",
            wire_entities,
            change_text.then_some(length),
            &mut violations,
        );
        violations.finish()?;
        let edit = TextEdit {
            text: change_text.then(|| text.clone()),
            entities: change_entities.then_some(entities),
        };
        let message = self
            .chats
            .edit_message(caller, account.expect("validated"), chat, *message_id, edit)
            .await?;
        Ok(Response::new(pb::EditMessageResponse {
            message: Some(message.into()),
        }))
    }

    async fn delete_messages(
        &self,
        request: Request<pb::DeleteMessagesRequest>,
    ) -> Result<Response<pb::DeleteMessagesResponse>, Status> {
        let caller = caller(&request)?;
        let pb::DeleteMessagesRequest {
            account_id: account,
            chat_id: chat,
            message_ids,
            revoke,
        } = request.get_ref();
        let mut violations = Violations::default();
        let account = violations.check(account_id("account_id", account));
        let chat = chat_id("chat_id", *chat, &mut violations);
        message_id_list("message_ids", message_ids, &mut violations);
        violations.finish()?;
        self.chats
            .delete_messages(
                caller,
                account.expect("validated"),
                chat,
                message_ids,
                *revoke,
            )
            .await?;
        Ok(Response::new(pb::DeleteMessagesResponse {}))
    }

    async fn forward_messages(
        &self,
        request: Request<pb::ForwardMessagesRequest>,
    ) -> Result<Response<pb::ForwardMessagesResponse>, Status> {
        let caller = caller(&request)?;
        let pb::ForwardMessagesRequest {
            account_id: account,
            from_chat_id,
            message_ids,
            to_chat_id,
            request_id,
        } = request.get_ref();
        let mut violations = Violations::default();
        let account = violations.check(account_id("account_id", account));
        let from_chat_id = chat_id("from_chat_id", *from_chat_id, &mut violations);
        let to_chat_id = chat_id("to_chat_id", *to_chat_id, &mut violations);
        message_id_list("message_ids", message_ids, &mut violations);
        let mut unique = std::collections::HashSet::new();
        if message_ids.iter().any(|id| !unique.insert(id)) {
            violations.add("message_ids", "must not repeat an id");
        }
        let request_id = request_id_of(request_id, &mut violations);
        violations.finish()?;
        let forward = Forward {
            account: account.expect("validated"),
            from_chat_id,
            message_ids: message_ids.clone(),
            to_chat_id,
            request_id: request_id.expect("validated"),
        };
        let messages = self.outbox.forward_messages(caller, forward).await?;
        Ok(Response::new(pb::ForwardMessagesResponse {
            messages: messages.into_iter().map(pb::Message::from).collect(),
        }))
    }

    async fn mark_read(
        &self,
        request: Request<pb::MarkReadRequest>,
    ) -> Result<Response<pb::MarkReadResponse>, Status> {
        let caller = caller(&request)?;
        let pb::MarkReadRequest {
            account_id: account,
            chat_id: chat,
            max_message_id,
        } = request.get_ref();
        let mut violations = Violations::default();
        let account = violations.check(account_id("account_id", account));
        let chat = chat_id("chat_id", *chat, &mut violations);
        if *max_message_id < 0 {
            violations.add("max_message_id", "must be a message id, or 0 for all");
        }
        violations.finish()?;
        let unread_count = self
            .chats
            .mark_read(caller, account.expect("validated"), chat, *max_message_id)
            .await?;
        Ok(Response::new(pb::MarkReadResponse { unread_count }))
    }

    async fn set_typing(
        &self,
        request: Request<pb::SetTypingRequest>,
    ) -> Result<Response<pb::SetTypingResponse>, Status> {
        let caller = caller(&request)?;
        let pb::SetTypingRequest {
            account_id: account,
            chat_id: chat,
            action,
        } = request.get_ref();
        let mut violations = Violations::default();
        let account = violations.check(account_id("account_id", account));
        let chat = chat_id("chat_id", *chat, &mut violations);
        use pb::TypingAction as T;
        let action = match T::try_from(*action) {
            Ok(T::Typing) => Some(TypingAction::Typing),
            Ok(T::Cancel) => Some(TypingAction::Cancel),
            Ok(T::RecordVoice) => Some(TypingAction::RecordVoice),
            Ok(T::UploadPhoto) => Some(TypingAction::UploadPhoto),
            Ok(T::UploadVideo) => Some(TypingAction::UploadVideo),
            Ok(T::UploadDocument) => Some(TypingAction::UploadDocument),
            Ok(T::ChooseSticker) => Some(TypingAction::ChooseSticker),
            Ok(T::Unspecified) | Err(_) => {
                violations.add("action", "required: a known typing action");
                None
            }
        };
        violations.finish()?;
        self.chats
            .set_typing(
                caller,
                account.expect("validated"),
                chat,
                action.expect("validated"),
            )
            .await?;
        Ok(Response::new(pb::SetTypingResponse {}))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_tokens_keep_their_direction_and_chat() {
        let account = AccountId::new();
        let token = encode_history_cursor(account, 7, Anchor::After(40)).unwrap();
        assert_eq!(
            decode_history_cursor(&token, account, 7).unwrap(),
            Some(Anchor::After(40))
        );
        let token = encode_history_cursor(account, 7, Anchor::Before(40)).unwrap();
        assert_eq!(
            decode_history_cursor(&token, account, 7).unwrap(),
            Some(Anchor::Before(40))
        );
        assert!(decode_history_cursor(&token, account, 8).is_err());
        assert!(decode_history_cursor(&token, AccountId::new(), 7).is_err());
    }
}
