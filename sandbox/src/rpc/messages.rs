//! `messages.*` methods, and the `channels.*` ones that are their channel
//! twins (deleteMessages, readHistory, getMessages).
//!
//! Every change answers the caller with the updates it caused for the
//! caller (with the pts the network logged them at) and pushes the rest to
//! everyone else's live sessions through [`Call::deliver`].

use grammers_tl_types as tl;
use grammers_tl_types::Identifiable;

use super::convert::messages::{Mentioned, date, dialog, entities_to_json, message};
use super::convert::updates::typing_action;
use super::convert::users::{
    channel as channel_view, chat as chat_view, default_notify_settings, input_channel_to_network,
    input_peer_to_network, input_user_to_network, user_by_id,
};
use super::{Call, reply};
use crate::mtproto::RpcError;
use crate::network::{
    self, DialogsQuery, HistoryQuery, Media, Message, NewDocument, OutgoingMessage, Peer,
    Scheduled, SearchQuery, Sent,
};

pub(super) async fn handle(call: &Call<'_>, id: u32) -> Result<Vec<u8>, RpcError> {
    use tl::functions::{channels, messages};
    match id {
        messages::GetDialogs::CONSTRUCTOR_ID => get_dialogs(call, call.parse()?),
        messages::GetHistory::CONSTRUCTOR_ID => get_history(call, call.parse()?),
        messages::GetMessages::CONSTRUCTOR_ID => {
            let messages::GetMessages { id } = call.parse()?;
            get_messages(call, None, &id)
        }
        channels::GetMessages::CONSTRUCTOR_ID => {
            let channels::GetMessages { channel, id } = call.parse()?;
            let me = call.user()?;
            let channel_id = input_channel_to_network(call.net, me, &channel)?;
            get_messages(call, Some(channel_id), &id)
        }
        messages::GetFullChat::CONSTRUCTOR_ID => get_full_chat(call, call.parse()?),
        channels::GetFullChannel::CONSTRUCTOR_ID => get_full_channel(call, call.parse()?),
        messages::Search::CONSTRUCTOR_ID => search(call, call.parse()?),
        messages::SearchGlobal::CONSTRUCTOR_ID => search_global(call, call.parse()?),
        messages::SendMessage::CONSTRUCTOR_ID => send_message(call, call.parse()?),
        messages::SendMedia::CONSTRUCTOR_ID => send_media(call, call.parse()?).await,
        messages::EditMessage::CONSTRUCTOR_ID => edit_message(call, call.parse()?),
        messages::DeleteMessages::CONSTRUCTOR_ID => {
            let messages::DeleteMessages { revoke, id } = call.parse()?;
            let outcome = call.net.delete_messages(call.user()?, &id, revoke)?;
            call.deliver(outcome.deliveries);
            reply(affected(outcome.value))
        }
        channels::DeleteMessages::CONSTRUCTOR_ID => {
            let channels::DeleteMessages { channel, id } = call.parse()?;
            let me = call.user()?;
            let channel_id = input_channel_to_network(call.net, me, &channel)?;
            let outcome = call.net.delete_channel_messages(me, channel_id, &id)?;
            call.deliver(outcome.deliveries);
            reply(affected(outcome.value))
        }
        messages::ForwardMessages::CONSTRUCTOR_ID => forward_messages(call, call.parse()?),
        messages::MigrateChat::CONSTRUCTOR_ID => {
            let messages::MigrateChat { chat_id } = call.parse()?;
            let me = call.user()?;
            let outcome = call.net.migrate_chat(me, chat_id)?;
            call.deliver(outcome.deliveries);
            // The caller's own copies of both service messages, with their
            // pts, and (through them) the deactivated group and the new
            // supergroup.
            reply(sent_updates(call, me, &outcome.value.sent))
        }
        messages::ReadHistory::CONSTRUCTOR_ID => {
            let messages::ReadHistory { peer, max_id } = call.parse()?;
            let me = call.user()?;
            let peer = input_peer_to_network(call.net, me, &peer)?;
            let outcome = call.net.read_history(me, peer, max_id)?;
            call.deliver(outcome.deliveries);
            reply(affected(outcome.value))
        }
        channels::ReadHistory::CONSTRUCTOR_ID => {
            let channels::ReadHistory { channel, max_id } = call.parse()?;
            let me = call.user()?;
            let channel_id = input_channel_to_network(call.net, me, &channel)?;
            let outcome = call.net.read_channel_history(me, channel_id, max_id)?;
            call.deliver(outcome.deliveries);
            reply(outcome.value)
        }
        messages::SetTyping::CONSTRUCTOR_ID => {
            let messages::SetTyping {
                peer,
                top_msg_id: _,
                action,
            } = call.parse()?;
            let me = call.user()?;
            let peer = input_peer_to_network(call.net, me, &peer)?;
            let deliveries = call.net.set_typing(me, peer, typing_action(&action))?;
            call.deliver(deliveries);
            reply(true)
        }
        _ => call.unknown(),
    }
}

fn affected(value: network::AffectedMessages) -> tl::enums::messages::AffectedMessages {
    tl::types::messages::AffectedMessages {
        pts: value.pts,
        pts_count: value.pts_count,
    }
    .into()
}

/// limit is a TL page size as the network's (0 or negative: its default).
fn limit(value: i32) -> usize {
    usize::try_from(value).unwrap_or(0)
}

fn count(value: usize) -> i32 {
    i32::try_from(value).unwrap_or(i32::MAX)
}

/// messages_answer is a list of messages with their peers: `messages.messages`
/// when it is everything (`total` None or equal), `messages.messagesSlice`
/// otherwise, `messages.channelMessages` for a channel's history.
fn messages_answer(
    call: &Call<'_>,
    me: i64,
    found: &[Message],
    total: Option<usize>,
    channel_pts: Option<i32>,
) -> tl::enums::messages::Messages {
    let mut mentioned = Mentioned::default();
    for m in found {
        mentioned.message(m);
    }
    let messages = found.iter().map(|m| message(call.net, m)).collect();
    let users = mentioned.users(call.net, me);
    let chats = mentioned.chats(call.net, me);
    if let Some(pts) = channel_pts {
        return tl::types::messages::ChannelMessages {
            inexact: false,
            pts,
            count: count(total.unwrap_or(found.len())),
            offset_id_offset: None,
            messages,
            topics: Vec::new(),
            chats,
            users,
        }
        .into();
    }
    match total {
        Some(total) if total > found.len() => tl::types::messages::MessagesSlice {
            inexact: false,
            count: count(total),
            next_rate: None,
            offset_id_offset: None,
            search_flood: None,
            messages,
            topics: Vec::new(),
            chats,
            users,
        }
        .into(),
        _ => tl::types::messages::Messages {
            messages,
            topics: Vec::new(),
            chats,
            users,
        }
        .into(),
    }
}

fn get_dialogs(
    call: &Call<'_>,
    req: tl::functions::messages::GetDialogs,
) -> Result<Vec<u8>, RpcError> {
    let tl::functions::messages::GetDialogs {
        exclude_pinned: _,
        folder_id,
        offset_date,
        offset_id,
        offset_peer,
        limit: page,
        hash: _,
    } = req;
    let me = call.user()?;
    // The sandbox has no archive: folder 1 is empty.
    if folder_id == Some(1) {
        return reply(tl::enums::messages::Dialogs::Dialogs(
            tl::types::messages::Dialogs {
                dialogs: Vec::new(),
                messages: Vec::new(),
                chats: Vec::new(),
                users: Vec::new(),
            },
        ));
    }
    let offset_peer = match offset_peer {
        tl::enums::InputPeer::Empty => None,
        other => Some(input_peer_to_network(call.net, me, &other)?),
    };
    let page = call.net.dialogs(
        me,
        &DialogsQuery {
            offset_date: i64::from(offset_date),
            offset_id,
            offset_peer,
            limit: limit(page),
        },
    )?;
    let mut mentioned = Mentioned::default();
    for d in &page.dialogs {
        mentioned.peer(d.peer);
    }
    for m in &page.messages {
        mentioned.message(m);
    }
    let dialogs = page.dialogs.iter().map(dialog).collect();
    let messages = page.messages.iter().map(|m| message(call.net, m)).collect();
    let users = mentioned.users(call.net, me);
    let chats = mentioned.chats(call.net, me);
    if page.dialogs.len() < page.count {
        return reply(tl::enums::messages::Dialogs::Slice(
            tl::types::messages::DialogsSlice {
                count: count(page.count),
                dialogs,
                messages,
                chats,
                users,
            },
        ));
    }
    reply(tl::enums::messages::Dialogs::Dialogs(
        tl::types::messages::Dialogs {
            dialogs,
            messages,
            chats,
            users,
        },
    ))
}

fn get_history(
    call: &Call<'_>,
    req: tl::functions::messages::GetHistory,
) -> Result<Vec<u8>, RpcError> {
    let tl::functions::messages::GetHistory {
        peer,
        offset_id,
        offset_date,
        add_offset,
        limit: page,
        max_id,
        min_id,
        hash: _,
    } = req;
    let me = call.user()?;
    let peer = input_peer_to_network(call.net, me, &peer)?;
    let found = call.net.history(
        me,
        peer,
        &HistoryQuery {
            offset_id,
            offset_date: i64::from(offset_date),
            add_offset,
            limit: limit(page),
            max_id,
            min_id,
        },
    )?;
    let channel_pts = match peer {
        Peer::Channel(id) => call.net.channel_pts(id),
        _ => None,
    };
    reply(messages_answer(
        call,
        me,
        &found.messages,
        Some(found.count),
        channel_pts,
    ))
}

fn get_messages(
    call: &Call<'_>,
    channel_id: Option<i64>,
    ids: &[tl::enums::InputMessage],
) -> Result<Vec<u8>, RpcError> {
    let me = call.user()?;
    // Only plain ids are modelled: replies, pins and callback queries find nothing.
    let ids: Vec<i32> = ids
        .iter()
        .filter_map(|input| match input {
            tl::enums::InputMessage::Id(m) => Some(m.id),
            _ => None,
        })
        .collect();
    let found = call.net.messages(me, channel_id, &ids)?;
    let channel_pts = channel_id.and_then(|id| call.net.channel_pts(id));
    reply(messages_answer(call, me, &found, None, channel_pts))
}

fn search(call: &Call<'_>, req: tl::functions::messages::Search) -> Result<Vec<u8>, RpcError> {
    let tl::functions::messages::Search {
        peer,
        q,
        from_id,
        saved_peer_id: _,
        saved_reaction: _,
        top_msg_id: _,
        filter: _,
        min_date,
        max_date,
        offset_id,
        add_offset: _,
        limit: page,
        max_id,
        min_id,
        hash: _,
    } = req;
    let me = call.user()?;
    let peer = match peer {
        tl::enums::InputPeer::Empty => None,
        other => Some(input_peer_to_network(call.net, me, &other)?),
    };
    let from = from_id
        .map(|from| input_peer_to_network(call.net, me, &from))
        .transpose()?;
    // Ids page one dialog's hits (a global search has no id order); the
    // author and min_id are applied here, over the network's page.
    let below = [max_id, offset_id]
        .into_iter()
        .filter(|id| *id > 0)
        .min()
        .filter(|_| peer.is_some());
    let all = call.net.search(
        me,
        &SearchQuery {
            text: q,
            peer,
            min_date: (min_date > 0).then_some(i64::from(min_date)),
            max_date: (max_date > 0).then_some(i64::from(max_date)),
            max_id: below,
            limit: network::MAX_PAGE,
        },
    )?;
    let matching: Vec<Message> = all
        .into_iter()
        .filter(|m| from.is_none_or(|f| f == Peer::User(m.from_id)))
        .filter(|m| max_id <= 0 || m.id < max_id)
        .filter(|m| min_id <= 0 || m.id > min_id)
        .collect();
    let total = matching.len();
    let page: Vec<Message> = matching
        .into_iter()
        .filter(|m| offset_id <= 0 || m.id < offset_id)
        .take(limit(page).clamp(1, network::MAX_PAGE))
        .collect();
    let channel_pts = match peer {
        Some(Peer::Channel(id)) => call.net.channel_pts(id),
        _ => None,
    };
    reply(messages_answer(call, me, &page, Some(total), channel_pts))
}

fn search_global(
    call: &Call<'_>,
    req: tl::functions::messages::SearchGlobal,
) -> Result<Vec<u8>, RpcError> {
    let tl::functions::messages::SearchGlobal {
        broadcasts_only: _,
        groups_only: _,
        users_only: _,
        folder_id: _,
        community: _,
        q,
        filter: _,
        min_date,
        max_date,
        offset_rate,
        offset_peer: _,
        offset_id: _,
        limit: page,
    } = req;
    let me = call.user()?;
    // One page holds every result (up to the network's page size), so a
    // request for the next page (a non-zero offset_rate) finds nothing.
    if offset_rate > 0 {
        return reply(messages_answer(call, me, &[], None, None));
    }
    let found = call.net.search(
        me,
        &SearchQuery {
            text: q,
            peer: None,
            min_date: (min_date > 0).then_some(i64::from(min_date)),
            max_date: (max_date > 0).then_some(i64::from(max_date)),
            max_id: None,
            limit: limit(page),
        },
    )?;
    reply(messages_answer(call, me, &found, None, None))
}

/// entities turns a request's entities into what the network stores,
/// resolving input mentions into the users they name.
fn entities(
    call: &Call<'_>,
    me: i64,
    entities: Option<Vec<tl::enums::MessageEntity>>,
) -> Result<Option<serde_json::Value>, RpcError> {
    let Some(entities) = entities else {
        return Ok(None);
    };
    let resolved = entities
        .into_iter()
        .map(|entity| match entity {
            tl::enums::MessageEntity::InputMessageEntityMentionName(e) => {
                let user_id = input_user_to_network(call.net, me, &e.user_id)?;
                Ok(tl::types::MessageEntityMentionName {
                    offset: e.offset,
                    length: e.length,
                    user_id,
                }
                .into())
            }
            other => Ok(other),
        })
        .collect::<Result<Vec<_>, RpcError>>()?;
    Ok(entities_to_json(&resolved))
}

fn reply_to_id(reply_to: Option<&tl::enums::InputReplyTo>) -> Option<i32> {
    match reply_to? {
        tl::enums::InputReplyTo::Message(m) => Some(m.reply_to_msg_id),
        _ => None,
    }
}

/// sent_updates is the `updates` answer for sent or forwarded messages:
/// `updateMessageID` for each random_id, then the new messages.
fn sent_updates(call: &Call<'_>, me: i64, sent: &[Sent]) -> tl::enums::Updates {
    let mut mentioned = Mentioned::default();
    let mut updates = Vec::with_capacity(sent.len() * 2);
    for s in sent {
        mentioned.message(&s.message);
        if let Some(random_id) = s.random_id {
            updates.push(
                tl::types::UpdateMessageId {
                    id: s.message.id,
                    random_id,
                }
                .into(),
            );
        }
        let m = message(call.net, &s.message);
        updates.push(match s.message.peer {
            Peer::Channel(_) => tl::types::UpdateNewChannelMessage {
                message: m,
                pts: s.pts.pts,
                pts_count: s.pts.pts_count,
            }
            .into(),
            _ => tl::types::UpdateNewMessage {
                message: m,
                pts: s.pts.pts,
                pts_count: s.pts.pts_count,
            }
            .into(),
        });
    }
    tl::types::Updates {
        updates,
        users: mentioned.users(call.net, me),
        chats: mentioned.chats(call.net, me),
        date: sent
            .first()
            .map_or(date(call.net.now()), |s| date(s.message.date)),
        seq: 0,
    }
    .into()
}

/// get_full_chat is `messages.getFullChat`: a basic group's members (the
/// sandbox keeps no group descriptions, photos or invites).
fn get_full_chat(
    call: &Call<'_>,
    req: tl::functions::messages::GetFullChat,
) -> Result<Vec<u8>, RpcError> {
    let me = call.user()?;
    let chat = call
        .net
        .chat(req.chat_id)
        .filter(|chat| chat.participants.contains(&me))
        .ok_or(network::Error::PeerIdInvalid)?;
    let participants = chat
        .participants
        .iter()
        .map(|user_id| {
            if *user_id == chat.creator {
                tl::types::ChatParticipantCreator {
                    user_id: *user_id,
                    rank: None,
                }
                .into()
            } else {
                tl::types::ChatParticipant {
                    user_id: *user_id,
                    inviter_id: chat.creator,
                    date: date(chat.date),
                    rank: None,
                }
                .into()
            }
        })
        .collect();
    let full_chat = tl::types::ChatFull {
        can_set_username: false,
        has_scheduled: false,
        translations_disabled: false,
        has_welcome_messages: false,
        id: chat.id,
        about: String::new(),
        participants: tl::types::ChatParticipants {
            chat_id: chat.id,
            participants,
            version: 1,
        }
        .into(),
        chat_photo: None,
        notify_settings: default_notify_settings(),
        exported_invite: None,
        bot_info: None,
        pinned_msg_id: None,
        folder_id: None,
        call: None,
        ttl_period: None,
        groupcall_default_join_as: None,
        theme_emoticon: None,
        requests_pending: None,
        recent_requesters: None,
        available_reactions: None,
        reactions_limit: None,
    };
    reply(tl::enums::messages::ChatFull::Full(
        tl::types::messages::ChatFull {
            full_chat: full_chat.into(),
            chats: vec![chat_view(call.net, me, &chat)],
            users: chat
                .participants
                .iter()
                .map(|id| user_by_id(call.net, me, *id))
                .collect(),
        },
    ))
}

/// get_full_channel is `channels.getFullChannel`: the member count (the
/// sandbox keeps no descriptions, photos or admin lists; the read marks are
/// the dialog's, which clients read from getDialogs).
fn get_full_channel(
    call: &Call<'_>,
    req: tl::functions::channels::GetFullChannel,
) -> Result<Vec<u8>, RpcError> {
    let me = call.user()?;
    let channel_id = input_channel_to_network(call.net, me, &req.channel)?;
    let (channel, members) = call.net.full_channel(me, channel_id)?;
    let full_chat = tl::types::ChannelFull {
        can_view_participants: channel.megagroup,
        can_set_username: channel.creator == me,
        can_set_stickers: false,
        hidden_prehistory: false,
        can_set_location: false,
        has_scheduled: false,
        can_view_stats: false,
        blocked: false,
        can_delete_channel: channel.creator == me,
        antispam: false,
        participants_hidden: false,
        translations_disabled: false,
        stories_pinned_available: false,
        view_forum_as_messages: false,
        restricted_sponsored: false,
        can_view_revenue: false,
        paid_media_allowed: false,
        can_view_stars_revenue: false,
        paid_reactions_available: false,
        stargifts_available: false,
        paid_messages_available: false,
        has_welcome_messages: false,
        id: channel.id,
        about: String::new(),
        participants_count: Some(i32::try_from(members).unwrap_or(i32::MAX)),
        admins_count: None,
        kicked_count: None,
        banned_count: None,
        online_count: None,
        read_inbox_max_id: 0,
        read_outbox_max_id: 0,
        unread_count: 0,
        chat_photo: tl::enums::Photo::Empty(tl::types::PhotoEmpty { id: 0 }),
        notify_settings: default_notify_settings(),
        exported_invite: None,
        bot_info: Vec::new(),
        migrated_from_chat_id: channel.migrated_from.as_ref().map(|from| from.chat_id),
        migrated_from_max_id: channel
            .migrated_from
            .as_ref()
            .and_then(|from| from.max_ids.get(&me).copied()),
        pinned_msg_id: None,
        stickerset: None,
        available_min_id: None,
        folder_id: None,
        linked_chat_id: None,
        location: None,
        slowmode_seconds: None,
        slowmode_next_send_date: None,
        stats_dc: None,
        pts: call.net.channel_pts(channel.id).unwrap_or(0),
        call: None,
        ttl_period: None,
        pending_suggestions: None,
        groupcall_default_join_as: None,
        theme_emoticon: None,
        requests_pending: None,
        recent_requesters: None,
        default_send_as: None,
        available_reactions: None,
        reactions_limit: None,
        stories: None,
        wallpaper: None,
        boosts_applied: None,
        boosts_unrestrict: None,
        emojiset: None,
        bot_verification: None,
        stargifts_count: None,
        send_paid_messages_stars: None,
        main_tab: None,
        guard_bot_id: None,
    };
    reply(tl::enums::messages::ChatFull::Full(
        tl::types::messages::ChatFull {
            full_chat: full_chat.into(),
            chats: vec![channel_view(call.net, me, &channel)],
            users: Vec::new(),
        },
    ))
}

/// scheduled_updates is what a scheduling sendMessage answers, as
/// Telegram does: the id the schedule gave the message and the scheduled
/// message itself, outside any update sequence.
fn scheduled_updates(call: &Call<'_>, me: i64, scheduled: &Scheduled) -> tl::enums::Updates {
    let mut mentioned = Mentioned::default();
    mentioned.message(&scheduled.message);
    let mut updates = Vec::with_capacity(2);
    if let Some(random_id) = scheduled.random_id {
        updates.push(
            tl::types::UpdateMessageId {
                id: scheduled.message.id,
                random_id,
            }
            .into(),
        );
    }
    updates.push(
        tl::types::UpdateNewScheduledMessage {
            message: message(call.net, &scheduled.message),
        }
        .into(),
    );
    tl::types::Updates {
        updates,
        users: mentioned.users(call.net, me),
        chats: mentioned.chats(call.net, me),
        date: date(call.net.now()),
        seq: 0,
    }
    .into()
}

/// MAX_CAPTION is Telegram's caption length limit, in UTF-16 code units.
const MAX_CAPTION: usize = 1024;

/// send_media is `messages.sendMedia` with `inputMediaUploadedDocument` or
/// `inputMediaUploadedPhoto` (a PNG, JPEG or WebP, kept as it came, with
/// one size; anything else is IMAGE_PROCESS_FAILED): the caller's uploaded
/// parts become a stored file attached to a new message whose text is the
/// caption. Other media answer
/// 400 MEDIA_INVALID. A repeated random_id returns the first message
/// without touching the upload.
async fn send_media(
    call: &Call<'_>,
    req: tl::functions::messages::SendMedia,
) -> Result<Vec<u8>, RpcError> {
    let tl::functions::messages::SendMedia {
        silent: _,
        background: _,
        clear_draft: _,
        noforwards: _,
        update_stickersets_order: _,
        invert_media: _,
        allow_paid_floodskip: _,
        peer,
        reply_to,
        media,
        message: text,
        random_id,
        reply_markup: _,
        entities: request_entities,
        schedule_date: _,
        schedule_repeat_period: _,
        send_as: _,
        quick_reply_shortcut: _,
        effect: _,
        allow_paid_stars: _,
        suggested_post: _,
    } = req;
    let me = call.user()?;
    let peer = input_peer_to_network(call.net, me, &peer)?;
    let entities = entities(call, me, request_entities)?;
    // Checked before the upload is used up.
    if text.encode_utf16().count() > MAX_CAPTION {
        return Err(RpcError::new(400, "MEDIA_CAPTION_TOO_LONG"));
    }
    let media = if call.net.has_sent_random(me, random_id) {
        None
    } else {
        let (file, mime_type, attributes, photo) = match media {
            tl::enums::InputMedia::UploadedDocument(d) => {
                (d.file, d.mime_type, d.attributes, false)
            }
            tl::enums::InputMedia::UploadedPhoto(p) => {
                (p.file, "image/jpeg".to_owned(), Vec::new(), true)
            }
            _ => return Err(RpcError::new(400, "MEDIA_INVALID")),
        };
        let uploaded = super::upload::take_upload(call.ctx.auth_key_id, &file)?;
        // A photo must be an image Telegram can read: its size is known.
        let photo = match photo {
            true => Some(
                crate::network::image_size(&uploaded.bytes)
                    .filter(|(w, h)| *w > 0 && *h > 0)
                    .ok_or_else(|| RpcError::new(400, "IMAGE_PROCESS_FAILED"))?,
            ),
            false => None,
        };
        let file_name = attributes
            .iter()
            .find_map(|a| match a {
                tl::enums::DocumentAttribute::Filename(f) => Some(f.file_name.clone()),
                _ => None,
            })
            .unwrap_or(uploaded.name);
        let document = call
            .net
            .store_document(NewDocument {
                uploader: me,
                bytes: uploaded.bytes,
                mime_type: if mime_type.is_empty() {
                    "application/octet-stream".to_owned()
                } else {
                    mime_type
                },
                file_name,
                photo,
            })
            .await?;
        Some(Media::Document(document))
    };
    let outcome = call.net.send_message(
        me,
        peer,
        OutgoingMessage {
            text,
            entities,
            reply_to: reply_to_id(reply_to.as_ref()),
            random_id: Some(random_id),
            media,
        },
    )?;
    call.deliver(outcome.deliveries);
    reply(sent_updates(call, me, &[outcome.value]))
}

fn send_message(
    call: &Call<'_>,
    req: tl::functions::messages::SendMessage,
) -> Result<Vec<u8>, RpcError> {
    let tl::functions::messages::SendMessage {
        no_webpage: _,
        silent: _,
        background: _,
        clear_draft: _,
        noforwards: _,
        update_stickersets_order: _,
        invert_media: _,
        allow_paid_floodskip: _,
        peer,
        reply_to,
        message: text,
        random_id,
        reply_markup: _,
        entities: request_entities,
        schedule_date,
        schedule_repeat_period: _,
        send_as: _,
        quick_reply_shortcut: _,
        effect: _,
        allow_paid_stars: _,
        suggested_post: _,
        rich_message: _,
    } = req;
    let me = call.user()?;
    let peer = input_peer_to_network(call.net, me, &peer)?;
    let outgoing = OutgoingMessage {
        text,
        entities: entities(call, me, request_entities)?,
        reply_to: reply_to_id(reply_to.as_ref()),
        random_id: Some(random_id),
        media: None,
    };
    if let Some(at) = schedule_date {
        let outcome = call
            .net
            .schedule_message(me, peer, outgoing, i64::from(at))?;
        call.deliver(outcome.deliveries);
        return reply(scheduled_updates(call, me, &outcome.value));
    }
    let outcome = call.net.send_message(me, peer, outgoing)?;
    call.deliver(outcome.deliveries);
    let sent = outcome.value;
    if let Peer::User(_) = peer {
        return reply(tl::enums::Updates::UpdateShortSentMessage(
            tl::types::UpdateShortSentMessage {
                out: true,
                id: sent.message.id,
                pts: sent.pts.pts,
                pts_count: sent.pts.pts_count,
                date: date(sent.message.date),
                media: None,
                entities: super::convert::messages::entities_from_json(
                    sent.message.entities.as_ref(),
                ),
                ttl_period: None,
            },
        ));
    }
    reply(sent_updates(call, me, &[sent]))
}

fn edit_message(
    call: &Call<'_>,
    req: tl::functions::messages::EditMessage,
) -> Result<Vec<u8>, RpcError> {
    let tl::functions::messages::EditMessage {
        no_webpage: _,
        invert_media: _,
        peer,
        id,
        message: text,
        media: _,
        reply_markup: _,
        entities: request_entities,
        schedule_date: _,
        schedule_repeat_period: _,
        quick_reply_shortcut_id: _,
        rich_message: _,
    } = req;
    let me = call.user()?;
    let peer = input_peer_to_network(call.net, me, &peer)?;
    // Without new text the text stays; new entities come with it or alone.
    let current = || -> Result<Message, RpcError> {
        let channel_id = match peer {
            Peer::Channel(id) => Some(id),
            _ => None,
        };
        call.net
            .messages(me, channel_id, &[id])?
            .into_iter()
            .find(|m| m.peer == peer)
            .ok_or_else(|| network::Error::MessageIdInvalid.into())
    };
    let (text, entities) = match (text, request_entities) {
        (Some(text), request) => (text, entities(call, me, request)?),
        (None, Some(request)) => (current()?.text, entities(call, me, Some(request))?),
        (None, None) => {
            let m = current()?;
            (m.text, m.entities)
        }
    };
    let outcome = call.net.edit_message(me, peer, id, &text, entities)?;
    call.deliver(outcome.deliveries);
    let edited = outcome.value;
    let mut mentioned = Mentioned::default();
    mentioned.message(&edited.message);
    let m = message(call.net, &edited.message);
    let update = match peer {
        Peer::Channel(_) => tl::types::UpdateEditChannelMessage {
            message: m,
            pts: edited.pts.pts,
            pts_count: edited.pts.pts_count,
        }
        .into(),
        _ => tl::types::UpdateEditMessage {
            message: m,
            pts: edited.pts.pts,
            pts_count: edited.pts.pts_count,
        }
        .into(),
    };
    reply(tl::enums::Updates::Updates(tl::types::Updates {
        updates: vec![update],
        users: mentioned.users(call.net, me),
        chats: mentioned.chats(call.net, me),
        date: date(call.net.now()),
        seq: 0,
    }))
}

fn forward_messages(
    call: &Call<'_>,
    req: tl::functions::messages::ForwardMessages,
) -> Result<Vec<u8>, RpcError> {
    let tl::functions::messages::ForwardMessages {
        silent: _,
        background: _,
        with_my_score: _,
        drop_author: _,
        drop_media_captions: _,
        noforwards: _,
        allow_paid_floodskip: _,
        from_ephemeral: _,
        from_peer,
        id,
        random_id,
        to_peer,
        top_msg_id: _,
        reply_to: _,
        schedule_date: _,
        schedule_repeat_period: _,
        send_as: _,
        quick_reply_shortcut: _,
        effect: _,
        video_timestamp: _,
        allow_paid_stars: _,
        suggested_post: _,
    } = req;
    let me = call.user()?;
    let from = input_peer_to_network(call.net, me, &from_peer)?;
    let to = input_peer_to_network(call.net, me, &to_peer)?;
    let outcome = call.net.forward_messages(me, from, &id, to, &random_id)?;
    call.deliver(outcome.deliveries);
    reply(sent_updates(call, me, &outcome.value))
}
