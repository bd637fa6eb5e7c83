//! Sending with the outbox's random_id: the `TelegramSender` port on
//! [`Telegram`]. grammers' `send_message` picks its own random_id, so a
//! resend after a crash would be a second message; this sends through raw
//! `messages.sendMessage`, and reads the new message's id back from
//! `updateShortSentMessage` or from the `updateMessageID` carrying our
//! random_id. Markup (markdown, HTML) is parsed by grammers' own parsers.

use async_trait::async_trait;
use grammers_session::types::PeerId;
use grammers_tl_types as tl;

use super::Error;
use super::accounts::Telegram;
use super::chats::{cached_access_hash, input_peer, own_id};
use super::connection::Link;
use super::convert;
use crate::domain::AccountId;
use crate::domain::chat::{ChatProfile, Entity, EntityKind, MediaKind, Message};
use crate::domain::outbox::{FilePart, OutgoingMedia, OutgoingText, SendError, Sent, UploadedFile};
use crate::domain::ports::TelegramSender;

/// Markup is how a SendMessage text is marked up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Markup {
    Markdown,
    Html,
}

/// HTML_TAGS are the tags SendMessage's HTML may use: Telegram's subset, as
/// grammers' parser reads it (`tg-spoiler` is its `details`).
const HTML_TAGS: &[&str] = &[
    "b",
    "strong",
    "i",
    "em",
    "u",
    "s",
    "del",
    "tg-spoiler",
    "details",
    "code",
    "pre",
    "a",
    "blockquote",
];

/// html_tags are the names of the tags in `text`, lowercased.
fn html_tags(text: &str) -> impl Iterator<Item = String> + '_ {
    text.match_indices('<').filter_map(|(at, _)| {
        let rest = text[at + 1..].strip_prefix('/').unwrap_or(&text[at + 1..]);
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
            .collect();
        rest.starts_with(|c: char| c.is_ascii_alphabetic())
            .then(|| name.to_ascii_lowercase())
    })
}

/// parse_markup splits marked-up text into plain text and entities, or says
/// why it cannot (a tag outside Telegram's subset, a malformed mention).
pub fn parse_markup(markup: Markup, text: &str) -> Result<(String, Vec<Entity>), String> {
    let text = match markup {
        Markup::Markdown => text.to_owned(),
        Markup::Html => {
            if let Some(tag) = html_tags(text).find(|tag| !HTML_TAGS.contains(&tag.as_str())) {
                return Err(format!(
                    "<{tag}> is not one of Telegram's tags (b, i, u, s, tg-spoiler, code, pre, a, blockquote)"
                ));
            }
            text.replace("<tg-spoiler>", "<details>")
                .replace("</tg-spoiler>", "</details>")
        }
    };
    // grammers' parsers panic on a mention link whose user id is not a
    // number; that is the caller's input, not our bug.
    let parsed = std::panic::catch_unwind(|| match markup {
        Markup::Markdown => grammers_client::parsers::parse_markdown_message(&text),
        Markup::Html => grammers_client::parsers::parse_html_message(&text),
    });
    let (plain, entities) =
        parsed.map_err(|_| "a tg://user?id= link needs a numeric user id".to_owned())?;
    Ok((plain, convert::entities(Some(&entities))))
}

/// entity is a span as Telegram takes it in a request.
pub(crate) async fn entity(link: &Link, entity: &Entity) -> tl::enums::MessageEntity {
    use tl::enums::MessageEntity as E;
    let (offset, length) = (entity.offset, entity.length);
    match entity.kind {
        EntityKind::Bold => E::Bold(tl::types::MessageEntityBold { offset, length }),
        EntityKind::Italic => E::Italic(tl::types::MessageEntityItalic { offset, length }),
        EntityKind::Underline => E::Underline(tl::types::MessageEntityUnderline { offset, length }),
        EntityKind::Strikethrough => E::Strike(tl::types::MessageEntityStrike { offset, length }),
        EntityKind::Spoiler => E::Spoiler(tl::types::MessageEntitySpoiler { offset, length }),
        EntityKind::Code => E::Code(tl::types::MessageEntityCode { offset, length }),
        EntityKind::Pre => E::Pre(tl::types::MessageEntityPre {
            offset,
            length,
            language: entity.language.clone().unwrap_or_default(),
        }),
        EntityKind::TextUrl => E::TextUrl(tl::types::MessageEntityTextUrl {
            offset,
            length,
            url: entity.url.clone().unwrap_or_default(),
        }),
        EntityKind::Url => E::Url(tl::types::MessageEntityUrl { offset, length }),
        EntityKind::Email => E::Email(tl::types::MessageEntityEmail { offset, length }),
        EntityKind::PhoneNumber => E::Phone(tl::types::MessageEntityPhone { offset, length }),
        EntityKind::Mention => E::Mention(tl::types::MessageEntityMention { offset, length }),
        EntityKind::MentionName => {
            let user_id = entity.user_id.unwrap_or_default();
            let access_hash = match PeerId::user(user_id) {
                Some(peer) => cached_access_hash(link, peer).await.unwrap_or(0),
                None => 0,
            };
            E::InputMessageEntityMentionName(tl::types::InputMessageEntityMentionName {
                offset,
                length,
                user_id: tl::enums::InputUser::User(tl::types::InputUser {
                    user_id,
                    access_hash,
                }),
            })
        }
        EntityKind::Hashtag => E::Hashtag(tl::types::MessageEntityHashtag { offset, length }),
        EntityKind::Cashtag => E::Cashtag(tl::types::MessageEntityCashtag { offset, length }),
        EntityKind::BotCommand => {
            E::BotCommand(tl::types::MessageEntityBotCommand { offset, length })
        }
        EntityKind::Blockquote => E::Blockquote(tl::types::MessageEntityBlockquote {
            collapsed: false,
            offset,
            length,
        }),
        EntityKind::CustomEmoji => E::CustomEmoji(tl::types::MessageEntityCustomEmoji {
            offset,
            length,
            document_id: entity.custom_emoji_id.unwrap_or_default(),
        }),
    }
}

/// entities are a text's entities as Telegram takes them; `None` for none.
async fn entities(link: &Link, entities: &[Entity]) -> Option<Vec<tl::enums::MessageEntity>> {
    let mut wire = Vec::with_capacity(entities.len());
    for e in entities {
        wire.push(entity(link, e).await);
    }
    (!wire.is_empty()).then_some(wire)
}

/// reply_to makes a send a reply to a message of the same chat.
fn reply_to(id: Option<i64>) -> Option<tl::enums::InputReplyTo> {
    id.map(|id| {
        tl::enums::InputReplyTo::Message(tl::types::InputReplyToMessage {
            reply_to_msg_id: i32::try_from(id).unwrap_or(i32::MAX),
            top_msg_id: None,
            reply_to_peer_id: None,
            quote_text: None,
            quote_entities: None,
            quote_offset: None,
            monoforum_peer_id: None,
            todo_item_id: None,
            poll_option: None,
        })
    })
}

fn schedule_date(at: Option<chrono::DateTime<chrono::Utc>>) -> Option<i32> {
    at.map(|at| i32::try_from(at.timestamp()).unwrap_or(i32::MAX))
}

/// sent reads a send's outcome from Telegram's answer. A scheduled send's
/// id is in the chat's schedule, whatever else the answer carries.
fn sent(answer: &tl::enums::Updates, random_id: i64, scheduled: bool) -> Result<Sent, Error> {
    sent_id(answer, random_id)
        .map(|sent| Sent {
            scheduled: sent.scheduled || scheduled,
            ..sent
        })
        .ok_or_else(|| Error::Client("telegram's answer to a send names no message".into()))
}

/// input_media is an uploaded file as Telegram is to send it: a photo, or
/// a document whose attributes say what it is.
fn input_media(kind: MediaKind, file: &UploadedFile) -> tl::enums::InputMedia {
    let parts = i32::try_from(file.parts).unwrap_or(i32::MAX);
    let input = match file.big {
        true => tl::enums::InputFile::Big(tl::types::InputFileBig {
            id: file.file_id,
            parts,
            name: file.name.clone(),
        }),
        false => tl::enums::InputFile::File(tl::types::InputFile {
            id: file.file_id,
            parts,
            name: file.name.clone(),
            md5_checksum: String::new(),
        }),
    };
    if kind == MediaKind::Photo {
        return tl::enums::InputMedia::UploadedPhoto(tl::types::InputMediaUploadedPhoto {
            spoiler: false,
            live_photo: false,
            file: input,
            stickers: None,
            ttl_seconds: None,
            video: None,
        });
    }
    use tl::enums::DocumentAttribute as A;
    let mut attributes = vec![A::Filename(tl::types::DocumentAttributeFilename {
        file_name: file.name.clone(),
    })];
    let video = |round_message| {
        A::Video(tl::types::DocumentAttributeVideo {
            round_message,
            supports_streaming: true,
            nosound: false,
            duration: 0.0,
            w: 0,
            h: 0,
            preload_prefix_size: None,
            video_start_ts: None,
            video_codec: None,
        })
    };
    let audio = |voice| {
        A::Audio(tl::types::DocumentAttributeAudio {
            voice,
            duration: 0,
            title: None,
            performer: None,
            waveform: None,
        })
    };
    match kind {
        MediaKind::Video => attributes.push(video(false)),
        MediaKind::VideoNote => attributes.push(video(true)),
        MediaKind::Audio => attributes.push(audio(false)),
        MediaKind::Voice => attributes.push(audio(true)),
        MediaKind::Animation => attributes.push(A::Animated),
        _ => {}
    }
    tl::enums::InputMedia::UploadedDocument(tl::types::InputMediaUploadedDocument {
        nosound_video: false,
        force_file: kind == MediaKind::Document,
        spoiler: false,
        file: input,
        thumb: None,
        mime_type: file.mime_type.clone(),
        attributes,
        stickers: None,
        video_cover: None,
        video_timestamp: None,
        ttl_seconds: None,
    })
}

/// sent_id finds the id Telegram gave the message sent with `random_id`.
fn sent_id(answer: &tl::enums::Updates, random_id: i64) -> Option<Sent> {
    match answer {
        tl::enums::Updates::UpdateShortSentMessage(u) => Some(Sent {
            message_id: i64::from(u.id),
            date: convert::time(u.date),
            scheduled: false,
        }),
        tl::enums::Updates::Updates(tl::types::Updates { updates, date, .. })
        | tl::enums::Updates::Combined(tl::types::UpdatesCombined { updates, date, .. }) => {
            let id = updates.iter().find_map(|u| match u {
                tl::enums::Update::MessageId(m) if m.random_id == random_id => Some(m.id),
                _ => None,
            })?;
            // A scheduled send answers with the message in the chat's
            // schedule (its date is the schedule), not a new message.
            let (sent_at, scheduled) = updates
                .iter()
                .find_map(|u| match u {
                    tl::enums::Update::NewMessage(tl::types::UpdateNewMessage {
                        message: tl::enums::Message::Message(m),
                        ..
                    })
                    | tl::enums::Update::NewChannelMessage(tl::types::UpdateNewChannelMessage {
                        message: tl::enums::Message::Message(m),
                        ..
                    }) if m.id == id => Some((m.date, false)),
                    tl::enums::Update::NewScheduledMessage(
                        tl::types::UpdateNewScheduledMessage {
                            message: tl::enums::Message::Message(m),
                        },
                    ) if m.id == id => Some((m.date, true)),
                    _ => None,
                })
                .unwrap_or((*date, false));
            Some(Sent {
                message_id: i64::from(id),
                date: convert::time(sent_at),
                scheduled,
            })
        }
        _ => None,
    }
}

fn send_error(err: Error) -> SendError {
    match err {
        Error::FloodWait { retry_after } => SendError::FloodWait(retry_after),
        Error::Rejected { code, name } if (400..500).contains(&code) && code != 420 => {
            SendError::Refused(name)
        }
        Error::SessionRevoked { name } => SendError::Refused(name),
        other => SendError::Transient(other.to_string()),
    }
}

#[async_trait]
impl TelegramSender for Telegram {
    async fn send_text(
        &self,
        account: AccountId,
        chat: &ChatProfile,
        random_id: i64,
        text: &OutgoingText,
    ) -> Result<Sent, SendError> {
        self.with_raw(account, async |link| {
            let peer = input_peer(link, chat).await?;
            let entities = entities(link, &text.entities).await;
            let answer = link
                .invoke(&tl::functions::messages::SendMessage {
                    no_webpage: false,
                    silent: text.silent,
                    background: false,
                    clear_draft: false,
                    noforwards: false,
                    update_stickersets_order: false,
                    invert_media: false,
                    allow_paid_floodskip: false,
                    peer,
                    reply_to: reply_to(text.reply_to),
                    message: text.text.clone(),
                    random_id,
                    reply_markup: None,
                    entities,
                    schedule_date: schedule_date(text.schedule),
                    schedule_repeat_period: None,
                    send_as: None,
                    quick_reply_shortcut: None,
                    effect: None,
                    allow_paid_stars: None,
                    suggested_post: None,
                    rich_message: None,
                })
                .await?;
            sent(&answer, random_id, text.schedule.is_some())
        })
        .await
        .map_err(send_error)
    }

    async fn save_file_part(&self, account: AccountId, part: &FilePart) -> Result<(), SendError> {
        let file_part = i32::try_from(part.part).unwrap_or(i32::MAX);
        self.with_raw(account, async |link| {
            let saved = match part.big {
                true => {
                    link.invoke(&tl::functions::upload::SaveBigFilePart {
                        file_id: part.file_id,
                        file_part,
                        file_total_parts: i32::try_from(part.total_parts).unwrap_or(i32::MAX),
                        bytes: part.bytes.to_vec(),
                    })
                    .await?
                }
                false => {
                    link.invoke(&tl::functions::upload::SaveFilePart {
                        file_id: part.file_id,
                        file_part,
                        bytes: part.bytes.to_vec(),
                    })
                    .await?
                }
            };
            match saved {
                true => Ok(()),
                false => Err(Error::Client("telegram did not save a file part".into())),
            }
        })
        .await
        .map_err(send_error)
    }

    async fn send_media(
        &self,
        account: AccountId,
        chat: &ChatProfile,
        random_id: i64,
        media: &OutgoingMedia,
        file: &UploadedFile,
    ) -> Result<Sent, SendError> {
        self.with_raw(account, async |link| {
            let peer = input_peer(link, chat).await?;
            let entities = entities(link, &media.entities).await;
            let answer = link
                .invoke(&tl::functions::messages::SendMedia {
                    silent: media.silent,
                    background: false,
                    clear_draft: false,
                    noforwards: false,
                    update_stickersets_order: false,
                    invert_media: false,
                    allow_paid_floodskip: false,
                    peer,
                    reply_to: reply_to(media.reply_to),
                    media: input_media(media.kind, file),
                    message: media.caption.clone(),
                    random_id,
                    reply_markup: None,
                    entities,
                    schedule_date: schedule_date(media.schedule),
                    schedule_repeat_period: None,
                    send_as: None,
                    quick_reply_shortcut: None,
                    effect: None,
                    allow_paid_stars: None,
                    suggested_post: None,
                })
                .await?;
            sent(&answer, random_id, media.schedule.is_some())
        })
        .await
        .map_err(send_error)
    }

    async fn forward(
        &self,
        account: AccountId,
        from: &ChatProfile,
        to: &ChatProfile,
        message_ids: &[i64],
        random_ids: &[i64],
    ) -> Result<Vec<Message>, SendError> {
        self.with_raw(account, async |link| {
            let answer = link
                .invoke(&tl::functions::messages::ForwardMessages {
                    silent: false,
                    background: false,
                    with_my_score: false,
                    drop_author: false,
                    drop_media_captions: false,
                    noforwards: false,
                    allow_paid_floodskip: false,
                    from_ephemeral: false,
                    from_peer: input_peer(link, from).await?,
                    id: message_ids
                        .iter()
                        .map(|id| i32::try_from(*id).unwrap_or(i32::MAX))
                        .collect(),
                    random_id: random_ids.to_vec(),
                    to_peer: input_peer(link, to).await?,
                    top_msg_id: None,
                    reply_to: None,
                    schedule_date: None,
                    schedule_repeat_period: None,
                    send_as: None,
                    quick_reply_shortcut: None,
                    effect: None,
                    video_timestamp: None,
                    allow_paid_stars: None,
                    suggested_post: None,
                })
                .await?;
            let sent = forwarded(account, own_id(link)?, &answer, random_ids);
            if sent.is_empty() {
                return Err(Error::Client(
                    "telegram's answer to a forward names no message".into(),
                ));
            }
            Ok(sent)
        })
        .await
        .map_err(send_error)
    }
}

/// forwarded reads the messages a forward created from Telegram's answer,
/// in the order of our random_ids (each found through its updateMessageID).
fn forwarded(
    account: AccountId,
    self_id: Option<i64>,
    answer: &tl::enums::Updates,
    random_ids: &[i64],
) -> Vec<Message> {
    let updates = match answer {
        tl::enums::Updates::Updates(u) => &u.updates,
        tl::enums::Updates::Combined(u) => &u.updates,
        _ => return Vec::new(),
    };
    let new_messages: Vec<Message> = updates
        .iter()
        .filter_map(|u| match u {
            tl::enums::Update::NewMessage(u) => convert::message(account, &u.message),
            tl::enums::Update::NewChannelMessage(u) => convert::message(account, &u.message),
            _ => None,
        })
        .map(|mut m| {
            if m.outgoing && m.sender_id.is_none() {
                m.sender_id = self_id;
            }
            m
        })
        .collect();
    random_ids
        .iter()
        .filter_map(|random_id| {
            let id = updates.iter().find_map(|u| match u {
                tl::enums::Update::MessageId(m) if m.random_id == *random_id => Some(m.id),
                _ => None,
            })?;
            new_messages
                .iter()
                .find(|m| m.message_id == i64::from(id))
                .cloned()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::chat::utf16_len;

    #[test]
    fn lengths_count_utf16_code_units() {
        assert_eq!(utf16_len("abc"), 3);
        // One emoji outside the BMP is two UTF-16 code units, one char.
        assert_eq!(utf16_len("🙂"), 2);
        assert_eq!("🙂".chars().count(), 1);
    }

    #[test]
    fn markdown_and_html_become_entities() {
        let (text, entities) = parse_markup(Markup::Markdown, "**bold** and *it*").unwrap();
        assert_eq!(text, "bold and it");
        assert_eq!(entities[0].kind, EntityKind::Bold);
        assert_eq!((entities[0].offset, entities[0].length), (0, 4));
        assert_eq!(entities[1].kind, EntityKind::Italic);
        let (text, entities) =
            parse_markup(Markup::Html, "<b>hi</b> <a href=\"https://t.me\">x</a>").unwrap();
        assert_eq!(text, "hi x");
        assert_eq!(entities[1].kind, EntityKind::TextUrl);
        assert_eq!(entities[1].url.as_deref(), Some("https://t.me"));
        let (text, entities) =
            parse_markup(Markup::Html, "a <tg-spoiler>b</tg-spoiler> < c").unwrap();
        assert_eq!(text, "a b < c");
        assert_eq!(entities[0].kind, EntityKind::Spoiler);
    }

    #[test]
    fn markup_outside_telegrams_subset_is_refused() {
        let err = parse_markup(Markup::Html, "<script>x</script>").unwrap_err();
        assert!(err.contains("<script>"), "{err}");
        assert!(parse_markup(Markup::Html, "<B>x</B>").is_ok());
        // grammers' parsers panic on these; the caller gets an error.
        assert!(parse_markup(Markup::Html, "<a href=\"tg://user?id=x\">y</a>").is_err());
        assert!(parse_markup(Markup::Markdown, "[y](tg://user?id=x)").is_err());
    }

    #[test]
    fn the_sent_id_is_the_one_with_our_random_id() {
        let answer = tl::enums::Updates::Updates(tl::types::Updates {
            updates: vec![
                tl::types::UpdateMessageId {
                    id: 7,
                    random_id: 1,
                }
                .into(),
                tl::types::UpdateMessageId {
                    id: 8,
                    random_id: 2,
                }
                .into(),
            ],
            users: Vec::new(),
            chats: Vec::new(),
            date: 1_700_000_000,
            seq: 0,
        });
        assert_eq!(sent_id(&answer, 2).unwrap().message_id, 8);
        assert!(sent_id(&answer, 3).is_none());
    }
}
