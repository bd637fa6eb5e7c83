//! Chats and history from Telegram: the `TelegramChats` port on
//! [`Telegram`]. Dialogs and history go through raw calls rather than
//! grammers' iterators: `iter_dialogs` writes channels' pts into the session
//! (running ahead of what ingest stored), and `iter_messages` cannot set
//! `min_id`. Peers seen on the way are cached in the session, so updates of
//! those chats can be resolved (grammers needs their access hashes).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use grammers_client::peer::{Peer, User};
use grammers_session::Session as _;
use grammers_session::types::{PeerId, PeerInfo};
use grammers_tl_types as tl;

use super::Error;
use super::accounts::Telegram;
use super::connection::Link;
use super::convert;
use super::send;
use crate::domain::chat::{
    ChatKind, ChatProfile, Contact, Dialog, Edited, Entity, FullProfile, History, SearchQuery,
    TypingAction,
};
use crate::domain::ports::TelegramChats;
use crate::domain::{self, AccountId};

/// DIALOGS_PAGE is how many dialogs one messages.getDialogs asks for.
const DIALOGS_PAGE: i32 = 100;

/// cache_peers stores the access hashes of the users and chats of an answer
/// in the session (never the update state).
pub(crate) async fn cache_peers(link: &Link, users: &[tl::enums::User], chats: &[tl::enums::Chat]) {
    let session = link.session();
    let peers = users
        .iter()
        .map(|u| Peer::User(User::from_raw(&link.client, u.clone())))
        .chain(
            chats
                .iter()
                .map(|c| Peer::from_raw(&link.client, c.clone())),
        );
    for peer in peers {
        let info = PeerInfo::from(&peer);
        if info.auth().is_none() {
            continue;
        }
        if let Err(err) = session.cache_peer(info).await {
            tracing::warn!(error = %err, "caching a peer failed");
        }
    }
}

/// input_peer addresses a chat: with the access hash stored for it, or the
/// one in the session's peer cache.
pub(crate) async fn input_peer(
    link: &Link,
    chat: &ChatProfile,
) -> Result<tl::enums::InputPeer, Error> {
    let id = chat.chat_id;
    let peer_id = PeerId::from_bot_api_dialog_id(id)
        .ok_or_else(|| Error::Client(format!("{id} is not a chat id")))?;
    let cached_hash = cached_access_hash(link, peer_id);
    Ok(match chat.kind {
        ChatKind::Private | ChatKind::Bot => {
            let access_hash = match chat.access_hash {
                Some(hash) => hash,
                None => cached_hash.await.unwrap_or(0),
            };
            tl::enums::InputPeer::User(tl::types::InputPeerUser {
                user_id: id,
                access_hash,
            })
        }
        ChatKind::Group => tl::enums::InputPeer::Chat(tl::types::InputPeerChat { chat_id: -id }),
        ChatKind::Supergroup | ChatKind::Channel => {
            let access_hash = match chat.access_hash {
                Some(hash) => hash,
                None => cached_hash.await.unwrap_or(0),
            };
            tl::enums::InputPeer::Channel(tl::types::InputPeerChannel {
                channel_id: peer_id.bare_id_unchecked(),
                access_hash,
            })
        }
    })
}

/// cached_access_hash is the access hash the session's peer cache holds for
/// a peer, if any.
pub(crate) async fn cached_access_hash(link: &Link, peer: PeerId) -> Option<i64> {
    link.session()
        .peer(peer)
        .await
        .ok()
        .flatten()
        .and_then(|info| info.auth())
        .map(|auth| auth.hash())
}

/// load_dialogs reads the whole chat list (up to `limit` chats), page by
/// page, caching peers on the way.
pub(crate) async fn load_dialogs(
    link: &Link,
    account: AccountId,
    limit: u32,
) -> Result<Vec<Dialog>, Error> {
    let mut dialogs: Vec<Dialog> = Vec::new();
    let mut offset = (0, 0, tl::enums::InputPeer::Empty);
    loop {
        let answer = link
            .invoke(&tl::functions::messages::GetDialogs {
                exclude_pinned: false,
                folder_id: None,
                offset_date: offset.0,
                offset_id: offset.1,
                offset_peer: offset.2.clone(),
                limit: DIALOGS_PAGE,
                hash: 0,
            })
            .await?;
        let (list, messages, chats, users, total) = match answer {
            tl::enums::messages::Dialogs::Dialogs(d) => {
                (d.dialogs, d.messages, d.chats, d.users, None)
            }
            tl::enums::messages::Dialogs::Slice(d) => {
                (d.dialogs, d.messages, d.chats, d.users, Some(d.count))
            }
            tl::enums::messages::Dialogs::NotModified(_) => break,
        };
        cache_peers(link, &users, &chats).await;
        let profiles = convert::profiles(&users, &chats);
        let fetched = list.len();
        let mut last_top = None;
        for dialog in list {
            let tl::enums::Dialog::Dialog(dialog) = dialog else {
                continue;
            };
            let chat_id = convert::chat_id(&dialog.peer);
            let Some(profile) = profiles.iter().find(|p| p.chat_id == chat_id).cloned() else {
                continue;
            };
            let top_message = messages
                .iter()
                .filter_map(|m| convert::message(account, m))
                .find(|m| m.chat_id == chat_id && m.message_id == i64::from(dialog.top_message));
            last_top = top_message.as_ref().map(|m| {
                (
                    m.sent_at.timestamp() as i32,
                    dialog.top_message,
                    profile.clone(),
                )
            });
            let state = convert::dialog_state(&dialog);
            if !dialogs.iter().any(|d| d.profile.chat_id == chat_id) {
                dialogs.push(Dialog {
                    profile,
                    state,
                    top_message,
                });
            }
        }
        let done = fetched < DIALOGS_PAGE as usize
            || dialogs.len() >= limit as usize
            || total.is_some_and(|t| dialogs.len() >= t as usize);
        match last_top {
            Some((date, id, profile)) if !done => {
                offset = (date, id, input_peer(link, &profile).await?);
            }
            _ => break,
        }
    }
    dialogs.truncate(limit as usize);
    Ok(dialogs)
}

#[async_trait]
impl TelegramChats for Telegram {
    async fn dialogs(&self, account: AccountId, limit: u32) -> Result<Vec<Dialog>, domain::Error> {
        self.with(account, async |link| {
            link.bounded(load_dialogs(link, account, limit)).await
        })
        .await
    }

    async fn history(
        &self,
        account: AccountId,
        chat: &ChatProfile,
        offset_id: i64,
        min_id: i64,
        limit: u32,
    ) -> Result<History, domain::Error> {
        self.with(account, async |link| {
            get_history(link, account, chat, offset_id, 0, min_id, limit).await
        })
        .await
    }

    async fn newest_before(
        &self,
        account: AccountId,
        chat: &ChatProfile,
        time: DateTime<Utc>,
    ) -> Result<Option<i64>, domain::Error> {
        let date = i32::try_from(time.timestamp()).unwrap_or(i32::MAX);
        self.with(account, async |link| {
            let history = get_history(link, account, chat, 0, date, 0, 1).await?;
            Ok(history.messages.first().map(|m| m.message_id))
        })
        .await
    }

    async fn full_profile(
        &self,
        account: AccountId,
        chat: &ChatProfile,
    ) -> Result<FullProfile, domain::Error> {
        self.with(account, async |link| {
            let full_chat = match input_peer(link, chat).await? {
                tl::enums::InputPeer::User(user) => {
                    let tl::enums::users::UserFull::Full(full) = link
                        .invoke(&tl::functions::users::GetFullUser {
                            id: tl::enums::InputUser::User(tl::types::InputUser {
                                user_id: user.user_id,
                                access_hash: user.access_hash,
                            }),
                        })
                        .await?;
                    let tl::enums::UserFull::Full(user) = full.full_user;
                    return Ok(FullProfile {
                        about: user.about.filter(|about| !about.is_empty()),
                        member_count: None,
                    });
                }
                tl::enums::InputPeer::Chat(group) => {
                    link.invoke(&tl::functions::messages::GetFullChat {
                        chat_id: group.chat_id,
                    })
                    .await?
                }
                tl::enums::InputPeer::Channel(channel) => {
                    link.invoke(&tl::functions::channels::GetFullChannel {
                        channel: tl::enums::InputChannel::Channel(tl::types::InputChannel {
                            channel_id: channel.channel_id,
                            access_hash: channel.access_hash,
                        }),
                    })
                    .await?
                }
                other => {
                    return Err(Error::Client(format!("no full profile for {other:?}")));
                }
            };
            let tl::enums::messages::ChatFull::Full(full) = full_chat;
            let (about, member_count) = match full.full_chat {
                tl::enums::ChatFull::Full(group) => (
                    group.about,
                    match group.participants {
                        tl::enums::ChatParticipants::Participants(p) => {
                            i32::try_from(p.participants.len()).ok()
                        }
                        tl::enums::ChatParticipants::Forbidden(_) => None,
                    },
                ),
                tl::enums::ChatFull::ChannelFull(channel) => {
                    (channel.about, channel.participants_count)
                }
                tl::enums::ChatFull::CommunityFull(community) => (community.about, None),
            };
            Ok(FullProfile {
                about: Some(about).filter(|about| !about.is_empty()),
                member_count,
            })
        })
        .await
    }

    async fn read_history(
        &self,
        account: AccountId,
        chat: &ChatProfile,
        max_id: i64,
    ) -> Result<(), domain::Error> {
        let max_id = i32::try_from(max_id).unwrap_or(i32::MAX);
        self.with(account, async |link| {
            match input_peer(link, chat).await? {
                tl::enums::InputPeer::Channel(channel) => {
                    link.invoke(&tl::functions::channels::ReadHistory {
                        channel: tl::enums::InputChannel::Channel(tl::types::InputChannel {
                            channel_id: channel.channel_id,
                            access_hash: channel.access_hash,
                        }),
                        max_id,
                    })
                    .await?;
                }
                // The answer's pts moves the account's sequence; the
                // update stream sees the gap and fetches the read update
                // through getDifference, like any other.
                peer => {
                    link.invoke(&tl::functions::messages::ReadHistory { peer, max_id })
                        .await?;
                }
            }
            Ok(())
        })
        .await
    }

    async fn set_typing(
        &self,
        account: AccountId,
        chat: &ChatProfile,
        action: TypingAction,
    ) -> Result<(), domain::Error> {
        use tl::enums::SendMessageAction as A;
        let action = match action {
            TypingAction::Typing => A::SendMessageTypingAction,
            TypingAction::Cancel => A::SendMessageCancelAction,
            TypingAction::RecordVoice => A::SendMessageRecordAudioAction,
            TypingAction::UploadPhoto => {
                A::SendMessageUploadPhotoAction(tl::types::SendMessageUploadPhotoAction {
                    progress: 0,
                })
            }
            TypingAction::UploadVideo => {
                A::SendMessageUploadVideoAction(tl::types::SendMessageUploadVideoAction {
                    progress: 0,
                })
            }
            TypingAction::UploadDocument => {
                A::SendMessageUploadDocumentAction(tl::types::SendMessageUploadDocumentAction {
                    progress: 0,
                })
            }
            TypingAction::ChooseSticker => A::SendMessageChooseStickerAction,
        };
        self.with(account, async |link| {
            let peer = input_peer(link, chat).await?;
            link.invoke(&tl::functions::messages::SetTyping {
                peer,
                top_msg_id: None,
                action: action.clone(),
            })
            .await?;
            Ok(())
        })
        .await
    }
    async fn edit_message(
        &self,
        account: AccountId,
        chat: &ChatProfile,
        message_id: i64,
        text: &str,
        entities: &[Entity],
    ) -> Result<Option<Edited>, domain::Error> {
        let id = i32::try_from(message_id).map_err(|_| domain::Error::NotFound {
            resource: "message",
        })?;
        self.with_raw(account, async |link| {
            let peer = input_peer(link, chat).await?;
            let mut wire = Vec::with_capacity(entities.len());
            for e in entities {
                wire.push(send::entity(link, e).await);
            }
            let answer = link
                .invoke(&tl::functions::messages::EditMessage {
                    no_webpage: false,
                    invert_media: false,
                    peer,
                    id,
                    message: Some(text.to_owned()),
                    media: None,
                    reply_markup: None,
                    // No entities with a new text clears them.
                    entities: (!wire.is_empty()).then_some(wire),
                    schedule_date: None,
                    schedule_repeat_period: None,
                    quick_reply_shortcut_id: None,
                    rich_message: None,
                })
                .await;
            let answer = match answer {
                Err(Error::Rejected { name, .. }) if name == "MESSAGE_NOT_MODIFIED" => {
                    return Ok(None);
                }
                other => other?,
            };
            let (updates, users, chats) = match answer {
                tl::enums::Updates::Updates(u) => (u.updates, u.users, u.chats),
                tl::enums::Updates::Combined(u) => (u.updates, u.users, u.chats),
                _ => (Vec::new(), Vec::new(), Vec::new()),
            };
            cache_peers(link, &users, &chats).await;
            let self_id = own_id(link)?;
            updates
                .iter()
                .find_map(|update| {
                    let (raw, pts) = match update {
                        tl::enums::Update::EditMessage(u) => (&u.message, u.pts),
                        tl::enums::Update::EditChannelMessage(u) => (&u.message, u.pts),
                        _ => return None,
                    };
                    let mut message = convert::message(account, raw)?;
                    if message.outgoing && message.sender_id.is_none() {
                        message.sender_id = self_id;
                    }
                    (message.message_id == message_id).then_some(Edited {
                        message,
                        version: Some(i64::from(pts)),
                    })
                })
                .map(Some)
                .ok_or_else(|| {
                    Error::Client("telegram's answer to an edit names no message".into())
                })
        })
        .await
        .map_err(write_refusal)
    }

    async fn delete_messages(
        &self,
        account: AccountId,
        chat: &ChatProfile,
        ids: &[i64],
        revoke: bool,
    ) -> Result<Vec<i64>, domain::Error> {
        let ids: Vec<i32> = ids
            .iter()
            .filter_map(|id| i32::try_from(*id).ok())
            .collect();
        self.with_raw(account, async |link| {
            let peer = input_peer(link, chat).await?;
            if let tl::enums::InputPeer::Channel(channel) = peer {
                // A channel's ids are its own; there deletion is for everyone.
                link.invoke(&tl::functions::channels::DeleteMessages {
                    channel: tl::enums::InputChannel::Channel(tl::types::InputChannel {
                        channel_id: channel.channel_id,
                        access_hash: channel.access_hash,
                    }),
                    id: ids.clone(),
                })
                .await?;
                return Ok(ids.iter().map(|id| i64::from(*id)).collect());
            }
            // Ids of private chats and basic groups number all of the
            // account's messages: delete only those of this chat.
            let found = link
                .invoke(&tl::functions::messages::GetMessages {
                    id: ids
                        .iter()
                        .map(|id| tl::types::InputMessageId { id: *id }.into())
                        .collect(),
                })
                .await?;
            let found = match found {
                tl::enums::messages::Messages::Messages(m) => m.messages,
                tl::enums::messages::Messages::Slice(m) => m.messages,
                tl::enums::messages::Messages::ChannelMessages(m) => m.messages,
                tl::enums::messages::Messages::NotModified(_) => Vec::new(),
            };
            let in_chat: Vec<i32> = found
                .iter()
                .filter_map(|m| convert::message(account, m))
                .filter(|m| m.chat_id == chat.chat_id)
                .filter_map(|m| i32::try_from(m.message_id).ok())
                .collect();
            if !in_chat.is_empty() {
                link.invoke(&tl::functions::messages::DeleteMessages {
                    revoke,
                    id: in_chat.clone(),
                })
                .await?;
            }
            Ok(in_chat.into_iter().map(i64::from).collect())
        })
        .await
        .map_err(write_refusal)
    }

    async fn contacts(&self, account: AccountId) -> Result<Vec<Contact>, domain::Error> {
        self.with(account, async |link| {
            let answer = link
                .invoke(&tl::functions::contacts::GetContacts { hash: 0 })
                .await?;
            let tl::enums::contacts::Contacts::Contacts(list) = answer else {
                return Err(Error::Client(
                    "telegram answered a contacts load without a list".into(),
                ));
            };
            cache_peers(link, &list.users, &[]).await;
            Ok(list
                .contacts
                .iter()
                .filter_map(|entry| {
                    let tl::enums::Contact::Contact(entry) = entry;
                    let user = list.users.iter().find(|u| u.id() == entry.user_id)?;
                    convert::contact(user).map(|c| Contact {
                        mutual: entry.mutual,
                        ..c
                    })
                })
                .collect())
        })
        .await
    }

    async fn resolve_username(
        &self,
        account: AccountId,
        username: &str,
    ) -> Result<ChatProfile, domain::Error> {
        let resolved = self
            .with_raw(account, async |link| {
                let answer = link
                    .invoke(&tl::functions::contacts::ResolveUsername {
                        username: username.to_owned(),
                        referer: None,
                    })
                    .await?;
                let tl::enums::contacts::ResolvedPeer::Peer(found) = answer;
                cache_peers(link, &found.users, &found.chats).await;
                let chat_id = convert::chat_id(&found.peer);
                Ok(convert::profiles(&found.users, &found.chats)
                    .into_iter()
                    .find(|p| p.chat_id == chat_id))
            })
            .await;
        match resolved {
            Ok(Some(profile)) => Ok(profile),
            Ok(None) => Err(domain::Error::Internal(
                "telegram resolved a username to a peer it did not describe".into(),
            )),
            Err(Error::Rejected { name, .. }) if name == "USERNAME_NOT_OCCUPIED" => {
                Err(domain::Error::NotFound { resource: "chat" })
            }
            Err(Error::Rejected { name, .. }) if name == "USERNAME_INVALID" => {
                Err(domain::Error::InvalidInput {
                    reason: "INVALID_ARGUMENT",
                    field: "username",
                    description: "telegram does not accept this username".into(),
                })
            }
            Err(err) => Err(err.into()),
        }
    }

    async fn import_contact(
        &self,
        account: AccountId,
        phone: &str,
        first_name: &str,
        last_name: &str,
    ) -> Result<Option<Contact>, domain::Error> {
        const CLIENT_ID: i64 = 1;
        self.with(account, async |link| {
            let answer = link
                .invoke(&tl::functions::contacts::ImportContacts {
                    contacts: vec![
                        tl::types::InputPhoneContact {
                            client_id: CLIENT_ID,
                            phone: phone.to_owned(),
                            first_name: first_name.to_owned(),
                            last_name: last_name.to_owned(),
                            note: None,
                        }
                        .into(),
                    ],
                })
                .await?;
            let tl::enums::contacts::ImportedContacts::Contacts(imported) = answer;
            cache_peers(link, &imported.users, &[]).await;
            let Some(user_id) = imported.imported.iter().find_map(|i| {
                let tl::enums::ImportedContact::Contact(i) = i;
                (i.client_id == CLIENT_ID).then_some(i.user_id)
            }) else {
                return Ok(None);
            };
            Ok(imported
                .users
                .iter()
                .find(|u| u.id() == user_id)
                .and_then(convert::contact))
        })
        .await
    }

    async fn search(
        &self,
        account: AccountId,
        chat: Option<&ChatProfile>,
        query: &SearchQuery,
        max_id: i64,
        limit: u32,
    ) -> Result<History, domain::Error> {
        let q = query.words.join(" ");
        let date = |time: Option<DateTime<Utc>>| {
            time.map_or(0, |t| i32::try_from(t.timestamp()).unwrap_or(i32::MAX))
        };
        // Telegram's max_date is inclusive; the query's `to` is not.
        let (min_date, max_date) = (date(query.from), date(query.to).saturating_sub(1).max(0));
        let limit = i32::try_from(limit).unwrap_or(100);
        self.with(account, async |link| {
            let answer = match chat {
                Some(chat) => {
                    link.invoke(&tl::functions::messages::Search {
                        peer: input_peer(link, chat).await?,
                        q: q.clone(),
                        from_id: None,
                        saved_peer_id: None,
                        saved_reaction: None,
                        top_msg_id: None,
                        filter: tl::enums::MessagesFilter::InputMessagesFilterEmpty,
                        min_date,
                        max_date,
                        offset_id: 0,
                        add_offset: 0,
                        limit,
                        max_id: i32::try_from(max_id).unwrap_or(i32::MAX),
                        min_id: 0,
                        hash: 0,
                    })
                    .await?
                }
                None => {
                    link.invoke(&tl::functions::messages::SearchGlobal {
                        broadcasts_only: false,
                        groups_only: false,
                        users_only: false,
                        folder_id: None,
                        community: None,
                        q: q.clone(),
                        filter: tl::enums::MessagesFilter::InputMessagesFilterEmpty,
                        min_date,
                        max_date,
                        offset_rate: 0,
                        offset_peer: tl::enums::InputPeer::Empty,
                        offset_id: 0,
                        limit,
                    })
                    .await?
                }
            };
            into_history(link, account, answer).await
        })
        .await
    }
}

/// own_id is the account's own user id, the sender of its outgoing private
/// messages (Telegram leaves `from_id` out of those).
pub(crate) fn own_id(link: &Link) -> Result<Option<i64>, Error> {
    Ok(link
        .session()
        .snapshot()?
        .self_user
        .map(PeerId::bare_id_unchecked))
}

/// write_refusal is what a refused write to a chat tells the caller.
fn write_refusal(err: Error) -> domain::Error {
    let Error::Rejected { name, .. } = &err else {
        return err.into();
    };
    match name.as_str() {
        "MESSAGE_AUTHOR_REQUIRED" | "MESSAGE_EDIT_TIME_EXPIRED" => {
            domain::Error::FailedPrecondition {
                reason: "MESSAGE_NOT_EDITABLE",
                message: format!("telegram does not let the account edit this message ({name})"),
            }
        }
        "MESSAGE_ID_INVALID" => domain::Error::NotFound {
            resource: "message",
        },
        "CHAT_WRITE_FORBIDDEN"
        | "CHAT_ADMIN_REQUIRED"
        | "MESSAGE_DELETE_FORBIDDEN"
        | "USER_BANNED_IN_CHANNEL"
        | "CHAT_RESTRICTED"
        | "CHANNEL_PRIVATE" => domain::Error::FailedPrecondition {
            reason: "CHAT_WRITE_FORBIDDEN",
            message: format!("telegram does not let the account do this in the chat ({name})"),
        },
        _ => err.into(),
    }
}

/// get_history is one raw messages.getHistory: messages below `offset_id`
/// (or sent before `offset_date`) and above `min_id`, newest first.
async fn get_history(
    link: &Link,
    account: AccountId,
    chat: &ChatProfile,
    offset_id: i64,
    offset_date: i32,
    min_id: i64,
    limit: u32,
) -> Result<History, Error> {
    let peer = input_peer(link, chat).await?;
    let answer = link
        .invoke(&tl::functions::messages::GetHistory {
            peer,
            offset_id: i32::try_from(offset_id).unwrap_or(i32::MAX),
            offset_date,
            add_offset: 0,
            limit: i32::try_from(limit).unwrap_or(100),
            max_id: 0,
            min_id: i32::try_from(min_id).unwrap_or(0),
            hash: 0,
        })
        .await?;
    into_history(link, account, answer).await
}

/// into_history reads a messages answer (history, search), caching its
/// peers and naming the account's own outgoing messages' sender.
async fn into_history(
    link: &Link,
    account: AccountId,
    answer: tl::enums::messages::Messages,
) -> Result<History, Error> {
    let (messages, chats, users, count) = match answer {
        tl::enums::messages::Messages::Messages(m) => {
            let count = m.messages.len() as i32;
            (m.messages, m.chats, m.users, count)
        }
        tl::enums::messages::Messages::Slice(m) => (m.messages, m.chats, m.users, m.count),
        tl::enums::messages::Messages::ChannelMessages(m) => {
            (m.messages, m.chats, m.users, m.count)
        }
        tl::enums::messages::Messages::NotModified(_) => (Vec::new(), Vec::new(), Vec::new(), 0),
    };
    cache_peers(link, &users, &chats).await;
    let self_id = own_id(link)?;
    Ok(History {
        messages: messages
            .iter()
            .filter_map(|m| convert::message(account, m))
            .map(|mut m| {
                if m.outgoing && m.sender_id.is_none() {
                    m.sender_id = self_id;
                }
                m
            })
            .collect(),
        chats: convert::profiles(&users, &chats),
        count,
    })
}
