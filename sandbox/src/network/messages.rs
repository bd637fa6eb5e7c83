//! Chats, messages, read state, dialogs and the update sequences.
//!
//! Private chats and basic groups live in per-user boxes: each participant
//! holds its own copy of a message, with an id from its own box, and the
//! copies are tied together by a link. Channels hold one copy, with ids from
//! the channel's own sequence, and have their own pts.

use std::collections::{BTreeMap, BTreeSet};

use super::error::{Error, Result};
use super::state::{BoxedMessage, ChannelRecord, LoggedUpdate, SentRef, State};
use super::types::*;

/// MAX_TEXT is Telegram's message length limit, in UTF-16 code units (the
/// unit its entity offsets count too): an emoji outside the BMP counts 2.
pub const MAX_TEXT: usize = 4096;
/// MAX_PAGE caps every list a method returns.
pub const MAX_PAGE: usize = 100;

fn validate_text(text: &str, allow_empty: bool) -> Result<()> {
    if text.encode_utf16().count() > MAX_TEXT {
        return Err(Error::MessageTooLong);
    }
    if !allow_empty && text.trim().is_empty() {
        return Err(Error::MessageEmpty);
    }
    Ok(())
}

/// MAX_SCHEDULE_AHEAD is how far ahead a message may be scheduled (365
/// days, Telegram's limit).
pub(super) const MAX_SCHEDULE_AHEAD: i64 = 365 * 24 * 3600;

/// scheduled_view is a scheduled message as its sender sees it.
fn scheduled_view(sender: i64, id: i32, scheduled: &super::state::ScheduledRecord) -> Message {
    Message {
        id,
        peer: scheduled.peer,
        from_id: sender,
        out: true,
        date: scheduled.date,
        text: scheduled.text.clone(),
        entities: scheduled.entities.clone(),
        reply_to: scheduled.reply_to,
        fwd_from: None,
        edit_date: None,
        action: None,
        media: None,
    }
}

fn channel_view(message: &Message, viewer: i64) -> Message {
    let mut message = message.clone();
    message.out = message.from_id == viewer;
    message
}

fn page_limit(limit: usize) -> usize {
    limit.min(MAX_PAGE)
}

impl ChannelRecord {
    fn log(&mut self, update: Update, pts_count: i32, date: i64) -> Pts {
        self.pts += pts_count;
        self.updates.push(LoggedUpdate {
            pts: self.pts,
            pts_count,
            date,
            update,
        });
        Pts {
            pts: self.pts,
            pts_count,
        }
    }

    fn member_deliveries(&self, update: &Update, pts: Option<Pts>, date: i64) -> Vec<Delivery> {
        self.members
            .iter()
            .map(|member| Delivery {
                user_id: *member,
                update: viewer_update(update, *member),
                pts,
                date,
            })
            .collect()
    }
}

/// viewer_update sets `out` on the channel messages an update carries.
fn viewer_update(update: &Update, viewer: i64) -> Update {
    match update {
        Update::NewChannelMessage {
            channel_id,
            message,
        } => Update::NewChannelMessage {
            channel_id: *channel_id,
            message: channel_view(message, viewer),
        },
        Update::EditChannelMessage {
            channel_id,
            message,
        } => Update::EditChannelMessage {
            channel_id: *channel_id,
            message: channel_view(message, viewer),
        },
        other => other.clone(),
    }
}

impl State {
    fn channel_rec(&self, channel_id: i64) -> Result<&ChannelRecord> {
        self.channels.get(&channel_id).ok_or(Error::ChannelInvalid)
    }

    fn member_channel(&self, user_id: i64, channel_id: i64) -> Result<&ChannelRecord> {
        let channel = self.channel_rec(channel_id)?;
        if !channel.members.contains(&user_id) {
            return Err(Error::ChannelPrivate);
        }
        Ok(channel)
    }

    fn member_channel_mut(&mut self, user_id: i64, channel_id: i64) -> Result<&mut ChannelRecord> {
        let channel = self
            .channels
            .get_mut(&channel_id)
            .ok_or(Error::ChannelInvalid)?;
        if !channel.members.contains(&user_id) {
            return Err(Error::ChannelPrivate);
        }
        Ok(channel)
    }

    /// check_access_hash checks an input peer's access hash.
    pub(super) fn check_access_hash(&self, peer: Peer, access_hash: i64) -> Result<()> {
        let ok = match peer {
            Peer::User(id) => self
                .users
                .get(&id)
                .is_some_and(|u| u.user.access_hash == access_hash),
            Peer::Chat(id) => self.chats.contains_key(&id),
            Peer::Channel(id) => self
                .channels
                .get(&id)
                .is_some_and(|c| c.channel.access_hash == access_hash),
        };
        match (ok, peer) {
            (true, _) => Ok(()),
            (false, Peer::Channel(_)) => Err(Error::ChannelInvalid),
            (false, _) => Err(Error::PeerIdInvalid),
        }
    }

    // ---- groups and channels ----

    pub(super) fn create_chat(
        &mut self,
        creator: i64,
        title: &str,
        members: &[i64],
        now: i64,
    ) -> Result<Outcome<Chat>> {
        self.user_rec(creator)?;
        if title.trim().is_empty() {
            return Err(Error::ChatTitleEmpty);
        }
        let mut participants = vec![creator];
        for member in members {
            self.user_rec(*member)?;
            if !participants.contains(member) {
                participants.push(*member);
            }
        }
        if participants.len() < 2 {
            return Err(Error::UsersTooFew);
        }
        self.next_chat_id += 1;
        let chat = Chat {
            id: self.next_chat_id,
            title: title.to_owned(),
            creator,
            participants: participants.clone(),
            date: now,
            migrated_to: None,
        };
        self.chats.insert(chat.id, chat.clone());
        let action = ServiceAction::ChatCreate {
            title: title.to_owned(),
            users: participants,
        };
        let sent = self.send_boxed(
            creator,
            Peer::Chat(chat.id),
            OutgoingMessage::default(),
            None,
            Some(action),
            now,
        )?;
        Ok(Outcome {
            value: chat,
            deliveries: sent.deliveries,
        })
    }

    pub(super) fn create_channel(
        &mut self,
        creator: i64,
        title: &str,
        megagroup: bool,
        username: Option<&str>,
        members: &[i64],
        now: i64,
    ) -> Result<Outcome<Channel>> {
        self.user_rec(creator)?;
        if title.trim().is_empty() {
            return Err(Error::ChatTitleEmpty);
        }
        for member in members {
            self.user_rec(*member)?;
        }
        let id = self.next_channel_id + 1;
        if let Some(username) = username {
            let key = username.trim_start_matches('@').to_ascii_lowercase();
            if self.usernames.contains_key(&key) {
                return Err(Error::UsernameOccupied);
            }
        }
        // claim after the checks above so a failure writes nothing.
        let username = match username {
            Some(u) => {
                let u = u.trim_start_matches('@');
                let valid = (5..=32).contains(&u.len())
                    && u.as_bytes()[0].is_ascii_alphabetic()
                    && u.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
                if !valid {
                    return Err(Error::UsernameInvalid);
                }
                self.usernames
                    .insert(u.to_ascii_lowercase(), Peer::Channel(id));
                Some(u.to_owned())
            }
            None => None,
        };
        self.next_channel_id = id;
        let channel = Channel {
            id,
            access_hash: self.random_i64(),
            title: title.to_owned(),
            username,
            megagroup,
            creator,
            date: now,
            migrated_from: None,
        };
        let members: BTreeSet<i64> = std::iter::once(creator)
            .chain(members.iter().copied())
            .collect();
        self.insert_channel(channel.clone(), members)?;
        let action = ServiceAction::ChannelCreate {
            title: title.to_owned(),
        };
        let sent = self.send_channel(
            creator,
            id,
            OutgoingMessage::default(),
            None,
            Some(action),
            now,
        )?;
        Ok(Outcome {
            value: channel,
            deliveries: sent.deliveries,
        })
    }

    /// insert_channel stores a new channel with its members, each with a
    /// dialog for it; its messages are sent by the caller.
    fn insert_channel(&mut self, channel: Channel, members: BTreeSet<i64>) -> Result<()> {
        for member in &members {
            self.user_rec_mut(*member)?
                .dialogs
                .entry(Peer::Channel(channel.id))
                .or_default();
        }
        self.channels.insert(
            channel.id,
            ChannelRecord {
                channel,
                members,
                next_message_id: 0,
                messages: BTreeMap::new(),
                pts: super::state::INITIAL_PTS,
                updates: Vec::new(),
            },
        );
        Ok(())
    }

    /// migrate_chat is `messages.migrateChat`, as Telegram upgrades a
    /// basic group: a supergroup with the group's title and members
    /// continues it. The group's last message, `messageActionChatMigrateTo`,
    /// reaches every member's box (with its pts, like any group message);
    /// then the group is deactivated (readable, no longer writable). The
    /// supergroup's first message is `messageActionChannelMigrateFrom`, in
    /// its own sequence, and its full profile names the group and where
    /// each member's copy of its history ends. Only the creator may
    /// migrate (the sandbox models no admins of basic groups). Errors:
    /// CHAT_ID_INVALID (unknown, or migrated already), CHAT_ADMIN_REQUIRED.
    pub(super) fn migrate_chat(
        &mut self,
        by_user: i64,
        chat_id: i64,
        now: i64,
    ) -> Result<Outcome<Migrated>> {
        let chat = self.chats.get(&chat_id).ok_or(Error::ChatIdInvalid)?;
        if chat.deactivated() {
            return Err(Error::ChatIdInvalid);
        }
        if chat.creator != by_user {
            return Err(Error::ChatAdminRequired);
        }
        let (title, creator) = (chat.title.clone(), chat.creator);
        let members: BTreeSet<i64> = chat.participants.iter().copied().collect();
        let id = self.next_channel_id + 1;
        self.next_channel_id = id;
        let channel = Channel {
            id,
            access_hash: self.random_i64(),
            title: title.clone(),
            username: None,
            megagroup: true,
            creator,
            date: now,
            migrated_from: None,
        };
        self.insert_channel(channel, members)?;
        // Sent while the group still takes messages; then it is closed.
        let farewell = self.send_boxed(
            by_user,
            Peer::Chat(chat_id),
            OutgoingMessage::default(),
            None,
            Some(ServiceAction::ChatMigrateTo { channel_id: id }),
            now,
        )?;
        let max_ids = farewell
            .deliveries
            .iter()
            .filter_map(|d| match &d.update {
                Update::NewMessage { message } => Some((d.user_id, message.id)),
                _ => None,
            })
            .collect();
        self.chats
            .get_mut(&chat_id)
            .expect("checked above")
            .migrated_to = Some(id);
        self.channels
            .get_mut(&id)
            .expect("inserted above")
            .channel
            .migrated_from = Some(MigratedFrom { chat_id, max_ids });
        let welcome = self.send_channel(
            by_user,
            id,
            OutgoingMessage::default(),
            None,
            Some(ServiceAction::ChannelMigrateFrom { title, chat_id }),
            now,
        )?;
        let channel = self.channel_rec(id)?.channel.clone();
        let mut deliveries = farewell.deliveries;
        deliveries.extend(welcome.deliveries);
        Ok(Outcome {
            value: Migrated {
                channel,
                sent: vec![farewell.value, welcome.value],
            },
            deliveries,
        })
    }

    pub(super) fn join_channel(&mut self, user_id: i64, channel_id: i64) -> Result<Channel> {
        self.user_rec(user_id)?;
        let channel = self
            .channels
            .get_mut(&channel_id)
            .ok_or(Error::ChannelInvalid)?;
        channel.members.insert(user_id);
        let top = channel.messages.keys().next_back().copied().unwrap_or(0);
        let info = channel.channel.clone();
        // A new member starts with everything before it read.
        let dialog = self
            .user_rec_mut(user_id)?
            .dialogs
            .entry(Peer::Channel(channel_id))
            .or_default();
        dialog.read_inbox_max_id = dialog.read_inbox_max_id.max(top);
        Ok(info)
    }

    // ---- sending ----

    pub(super) fn send_message(
        &mut self,
        sender: i64,
        peer: Peer,
        message: OutgoingMessage,
        now: i64,
    ) -> Result<Outcome<Sent>> {
        self.send_inner(sender, peer, message, None, now)
    }

    /// schedule_message is `messages.sendMessage` with a `schedule_date`:
    /// the message waits in the sender's schedule until `date`, when
    /// [`State::fire_scheduled`] sends it. A repeated random_id returns the
    /// first scheduled message (or, once sent, the sent one's id is in
    /// `sent_random`, and the send path answers with it).
    pub(super) fn schedule_message(
        &mut self,
        sender: i64,
        peer: Peer,
        message: OutgoingMessage,
        date: i64,
        now: i64,
    ) -> Result<Outcome<Scheduled>> {
        if date <= now {
            return Err(Error::ScheduleDateInvalid);
        }
        if date > now + MAX_SCHEDULE_AHEAD {
            return Err(Error::ScheduleDateTooLate);
        }
        let rec = self.user_rec(sender)?;
        if message
            .random_id
            .is_some_and(|random_id| rec.sent_random.contains_key(&random_id))
        {
            // Already sent (scheduled before, and due since).
            return Err(Error::RandomIdDuplicate);
        }
        if let Some(random_id) = message.random_id
            && let Some((id, scheduled)) = rec
                .scheduled
                .iter()
                .find(|(_, s)| s.random_id == Some(random_id))
        {
            return Ok(Outcome {
                value: Scheduled {
                    message: scheduled_view(sender, *id, scheduled),
                    random_id: Some(random_id),
                },
                deliveries: Vec::new(),
            });
        }
        if message.media.is_some() {
            // The sandbox schedules text; media is sent at once only.
            return Err(Error::MessageEmpty);
        }
        validate_text(&message.text, false)?;
        self.may_write(sender, peer)?;
        let rec = self.user_rec_mut(sender)?;
        rec.next_scheduled_id += 1;
        let id = rec.next_scheduled_id;
        let record = super::state::ScheduledRecord {
            peer,
            text: message.text,
            entities: message.entities,
            reply_to: message.reply_to,
            random_id: message.random_id,
            date,
        };
        let view = scheduled_view(sender, id, &record);
        rec.scheduled.insert(id, record);
        Ok(Outcome {
            value: Scheduled {
                message: view.clone(),
                random_id: message.random_id,
            },
            deliveries: vec![Delivery {
                user_id: sender,
                update: Update::NewScheduledMessage { message: view },
                pts: None,
                date: now,
            }],
        })
    }

    /// next_scheduled is when the earliest scheduled message is due.
    pub(super) fn next_scheduled(&self) -> Option<i64> {
        self.users
            .values()
            .flat_map(|rec| rec.scheduled.values().map(|s| s.date))
            .min()
    }

    /// fire_scheduled sends every scheduled message due at `now`, dated
    /// `now`, with its random_id (so a resend of the original request
    /// finds the sent message), and tells the sender which schedule ids
    /// became which messages. One that can no longer be sent (the chat
    /// was left meanwhile) is dropped, as Telegram drops it.
    pub(super) fn fire_scheduled(&mut self, now: i64) -> Vec<Delivery> {
        let due: Vec<(i64, i32)> = self
            .users
            .iter()
            .flat_map(|(user_id, rec)| {
                rec.scheduled
                    .iter()
                    .filter(|(_, s)| s.date <= now)
                    .map(|(id, _)| (*user_id, *id))
            })
            .collect();
        let mut deliveries = Vec::new();
        for (sender, id) in due {
            let Some(scheduled) = self
                .users
                .get_mut(&sender)
                .and_then(|rec| rec.scheduled.remove(&id))
            else {
                continue;
            };
            let peer = scheduled.peer;
            let sent = self.send_inner(
                sender,
                peer,
                OutgoingMessage {
                    text: scheduled.text,
                    entities: scheduled.entities,
                    reply_to: scheduled.reply_to,
                    random_id: scheduled.random_id,
                    media: None,
                },
                None,
                now,
            );
            let sent_ids = match sent {
                Ok(outcome) => {
                    deliveries.extend(outcome.deliveries);
                    vec![outcome.value.message.id]
                }
                Err(_) => Vec::new(),
            };
            deliveries.push(Delivery {
                user_id: sender,
                update: Update::DeleteScheduledMessages {
                    peer,
                    ids: vec![id],
                    sent: sent_ids,
                },
                pts: None,
                date: now,
            });
        }
        deliveries
    }

    /// may_write checks `sender` may post to `peer`: the one rule every
    /// send (now or scheduled) goes by.
    fn may_write(&self, sender: i64, peer: Peer) -> Result<()> {
        match peer {
            Peer::User(other) => {
                if !self.users.contains_key(&other) {
                    return Err(Error::PeerIdInvalid);
                }
            }
            Peer::Chat(chat_id) => {
                let chat = self.chats.get(&chat_id).ok_or(Error::PeerIdInvalid)?;
                // A migrated group is closed: Telegram answers as if it
                // did not exist (its members write to the supergroup).
                if chat.deactivated() {
                    return Err(Error::PeerIdInvalid);
                }
                if !chat.participants.contains(&sender) {
                    return Err(Error::ChatWriteForbidden);
                }
            }
            Peer::Channel(channel_id) => {
                let channel = self.member_channel(sender, channel_id)?;
                if !channel.channel.megagroup && channel.channel.creator != sender {
                    return Err(Error::ChatWriteForbidden);
                }
            }
        }
        Ok(())
    }

    fn send_inner(
        &mut self,
        sender: i64,
        peer: Peer,
        message: OutgoingMessage,
        fwd: Option<ForwardHeader>,
        now: i64,
    ) -> Result<Outcome<Sent>> {
        let rec = self.user_rec(sender)?;
        if let Some(random_id) = message.random_id
            && let Some(sent) = rec.sent_random.get(&random_id).copied()
        {
            let original = match sent.peer {
                Peer::Channel(channel_id) => self
                    .channels
                    .get(&channel_id)
                    .and_then(|c| c.messages.get(&sent.id))
                    .map(|m| channel_view(m, sender)),
                _ => rec.messages.get(&sent.id).map(|b| b.message.clone()),
            };
            let original = original.ok_or(Error::RandomIdDuplicate)?;
            return Ok(Outcome {
                value: Sent {
                    message: original,
                    pts: sent.pts,
                    random_id: Some(random_id),
                },
                deliveries: Vec::new(),
            });
        }
        validate_text(&message.text, fwd.is_some() || message.media.is_some())?;
        let random_id = message.random_id;
        let outcome = match peer {
            Peer::Channel(channel_id) => {
                self.send_channel(sender, channel_id, message, fwd, None, now)?
            }
            _ => self.send_boxed(sender, peer, message, fwd, None, now)?,
        };
        if let Some(random_id) = random_id {
            let sent = SentRef {
                peer: outcome.value.message.peer,
                id: outcome.value.message.id,
                pts: outcome.value.pts,
            };
            self.user_rec_mut(sender)?
                .sent_random
                .insert(random_id, sent);
        }
        Ok(outcome)
    }

    fn send_boxed(
        &mut self,
        sender: i64,
        peer: Peer,
        message: OutgoingMessage,
        fwd: Option<ForwardHeader>,
        action: Option<ServiceAction>,
        now: i64,
    ) -> Result<Outcome<Sent>> {
        self.may_write(sender, peer)?;
        // Each recipient with the peer it sees the dialog as.
        let recipients: Vec<(i64, Peer)> = match peer {
            Peer::User(other) if other == sender => vec![(sender, Peer::User(sender))],
            Peer::User(other) => vec![(sender, Peer::User(other)), (other, Peer::User(sender))],
            Peer::Chat(chat_id) => {
                let chat = self.chats.get(&chat_id).ok_or(Error::PeerIdInvalid)?;
                chat.participants
                    .iter()
                    .map(|p| (*p, Peer::Chat(chat_id)))
                    .collect()
            }
            Peer::Channel(_) => unreachable!("channels are sent by send_channel"),
        };
        let sender_rec = self.user_rec(sender)?;
        let reply_link = message
            .reply_to
            .and_then(|id| sender_rec.messages.get(&id))
            .filter(|b| b.message.peer == recipients[0].1)
            .map(|b| b.link);
        self.next_link += 1;
        let link = self.next_link;
        let mut copies = Vec::with_capacity(recipients.len());
        let mut deliveries = Vec::with_capacity(recipients.len());
        let mut sent = None;
        for (owner, seen_as) in recipients {
            let reply_to = reply_link.and_then(|l| {
                self.links
                    .get(&l)?
                    .iter()
                    .find(|(o, _)| *o == owner)
                    .map(|(_, id)| *id)
            });
            let rec = self.user_rec_mut(owner)?;
            rec.next_message_id += 1;
            let copy = Message {
                id: rec.next_message_id,
                peer: seen_as,
                from_id: sender,
                out: owner == sender,
                date: now,
                text: message.text.clone(),
                entities: message.entities.clone(),
                reply_to,
                fwd_from: fwd.clone(),
                edit_date: None,
                action: action.clone(),
                media: message.media.clone(),
            };
            rec.dialogs
                .entry(seen_as)
                .or_default()
                .message_ids
                .insert(copy.id);
            rec.messages.insert(
                copy.id,
                BoxedMessage {
                    message: copy.clone(),
                    link,
                },
            );
            let update = Update::NewMessage {
                message: copy.clone(),
            };
            let pts = rec.log(update.clone(), 1, now);
            copies.push((owner, copy.id));
            deliveries.push(Delivery {
                user_id: owner,
                update,
                pts: Some(pts),
                date: now,
            });
            if owner == sender {
                sent = Some(Sent {
                    message: copy,
                    pts,
                    random_id: message.random_id,
                });
            }
        }
        self.links.insert(link, copies);
        Ok(Outcome {
            value: sent.expect("the sender is always a recipient"),
            deliveries,
        })
    }

    fn send_channel(
        &mut self,
        sender: i64,
        channel_id: i64,
        message: OutgoingMessage,
        fwd: Option<ForwardHeader>,
        action: Option<ServiceAction>,
        now: i64,
    ) -> Result<Outcome<Sent>> {
        self.may_write(sender, Peer::Channel(channel_id))?;
        let channel = self.member_channel_mut(sender, channel_id)?;
        let reply_to = message
            .reply_to
            .filter(|id| channel.messages.contains_key(id));
        channel.next_message_id += 1;
        let stored = Message {
            id: channel.next_message_id,
            peer: Peer::Channel(channel_id),
            from_id: sender,
            out: false,
            date: now,
            text: message.text,
            entities: message.entities,
            reply_to,
            fwd_from: fwd,
            edit_date: None,
            action,
            media: message.media,
        };
        channel.messages.insert(stored.id, stored.clone());
        let update = Update::NewChannelMessage {
            channel_id,
            message: stored.clone(),
        };
        let pts = channel.log(update.clone(), 1, now);
        let deliveries = channel.member_deliveries(&update, Some(pts), now);
        Ok(Outcome {
            value: Sent {
                message: channel_view(&stored, sender),
                pts,
                random_id: message.random_id,
            },
            deliveries,
        })
    }

    pub(super) fn forward_messages(
        &mut self,
        sender: i64,
        from_peer: Peer,
        ids: &[i32],
        to_peer: Peer,
        random_ids: &[i64],
        now: i64,
    ) -> Result<Outcome<Vec<Sent>>> {
        if ids.is_empty() {
            return Err(Error::MessageIdsEmpty);
        }
        if !random_ids.is_empty() && random_ids.len() != ids.len() {
            return Err(Error::RandomIdInvalid);
        }
        let sources: Vec<(usize, Message)> = match from_peer {
            Peer::Channel(channel_id) => {
                let channel = self.member_channel(sender, channel_id)?;
                ids.iter()
                    .enumerate()
                    .filter_map(|(i, id)| Some((i, channel.messages.get(id)?.clone())))
                    .collect()
            }
            _ => {
                let rec = self.user_rec(sender)?;
                ids.iter()
                    .enumerate()
                    .filter_map(|(i, id)| {
                        let boxed = rec.messages.get(id)?;
                        (boxed.message.peer == from_peer).then(|| (i, boxed.message.clone()))
                    })
                    .collect()
            }
        };
        let broadcast = match from_peer {
            Peer::Channel(id) => self.channels.get(&id).is_some_and(|c| !c.channel.megagroup),
            _ => false,
        };
        let sources: Vec<(usize, Message)> = sources
            .into_iter()
            .filter(|(_, m)| m.action.is_none())
            .collect();
        if sources.is_empty() {
            return Err(Error::MessageIdInvalid);
        }
        let mut sent = Vec::with_capacity(sources.len());
        let mut deliveries = Vec::new();
        for (index, source) in sources {
            let header = source.fwd_from.clone().unwrap_or_else(|| ForwardHeader {
                from: if broadcast {
                    source.peer
                } else {
                    Peer::User(source.from_id)
                },
                date: source.date,
                channel_post: broadcast.then_some(source.id),
            });
            let outgoing = OutgoingMessage {
                text: source.text,
                entities: source.entities,
                reply_to: None,
                random_id: random_ids.get(index).copied(),
                media: source.media,
            };
            let outcome = self.send_inner(sender, to_peer, outgoing, Some(header), now)?;
            sent.push(outcome.value);
            deliveries.extend(outcome.deliveries);
        }
        Ok(Outcome {
            value: sent,
            deliveries,
        })
    }

    // ---- editing and deleting ----

    pub(super) fn edit_message(
        &mut self,
        editor: i64,
        peer: Peer,
        id: i32,
        text: &str,
        entities: Option<serde_json::Value>,
        now: i64,
    ) -> Result<Outcome<Edited>> {
        validate_text(text, false)?;
        if let Peer::Channel(channel_id) = peer {
            let channel = self.member_channel_mut(editor, channel_id)?;
            let message = channel
                .messages
                .get_mut(&id)
                .filter(|m| m.action.is_none())
                .ok_or(Error::MessageIdInvalid)?;
            if message.from_id != editor {
                return Err(Error::MessageAuthorRequired);
            }
            if message.text == text && message.entities == entities {
                return Err(Error::MessageNotModified);
            }
            message.text = text.to_owned();
            message.entities = entities;
            message.edit_date = Some(now);
            let stored = message.clone();
            let update = Update::EditChannelMessage {
                channel_id,
                message: stored.clone(),
            };
            let pts = channel.log(update.clone(), 1, now);
            let deliveries = channel.member_deliveries(&update, Some(pts), now);
            return Ok(Outcome {
                value: Edited {
                    message: channel_view(&stored, editor),
                    pts,
                },
                deliveries,
            });
        }
        let boxed = self
            .user_rec(editor)?
            .messages
            .get(&id)
            .filter(|b| b.message.peer == peer && b.message.action.is_none())
            .ok_or(Error::MessageIdInvalid)?;
        if let Peer::Chat(chat_id) = peer
            && self.chats.get(&chat_id).is_some_and(Chat::deactivated)
        {
            // The group's history is frozen with it.
            return Err(Error::PeerIdInvalid);
        }
        if boxed.message.from_id != editor {
            return Err(Error::MessageAuthorRequired);
        }
        if boxed.message.text == text && boxed.message.entities == entities {
            return Err(Error::MessageNotModified);
        }
        let copies = self.links.get(&boxed.link).cloned().unwrap_or_default();
        let mut deliveries = Vec::with_capacity(copies.len());
        let mut edited = None;
        for (owner, copy_id) in copies {
            let rec = self.user_rec_mut(owner)?;
            let Some(copy) = rec.messages.get_mut(&copy_id) else {
                continue;
            };
            copy.message.text = text.to_owned();
            copy.message.entities = entities.clone();
            copy.message.edit_date = Some(now);
            let message = copy.message.clone();
            let update = Update::EditMessage {
                message: message.clone(),
            };
            let pts = rec.log(update.clone(), 1, now);
            deliveries.push(Delivery {
                user_id: owner,
                update,
                pts: Some(pts),
                date: now,
            });
            if owner == editor {
                edited = Some(Edited { message, pts });
            }
        }
        Ok(Outcome {
            value: edited.expect("the editor holds a copy"),
            deliveries,
        })
    }

    pub(super) fn delete_messages(
        &mut self,
        user_id: i64,
        ids: &[i32],
        revoke: bool,
        now: i64,
    ) -> Result<Outcome<AffectedMessages>> {
        let rec = self.user_rec(user_id)?;
        let mut removals: BTreeMap<i64, BTreeSet<i32>> = BTreeMap::new();
        for id in ids {
            let Some(boxed) = rec.messages.get(id) else {
                continue;
            };
            removals.entry(user_id).or_default().insert(*id);
            let for_everyone = revoke
                && match boxed.message.peer {
                    Peer::User(_) => true,
                    Peer::Chat(chat_id) => {
                        boxed.message.from_id == user_id
                            || self
                                .chats
                                .get(&chat_id)
                                .is_some_and(|c| c.creator == user_id)
                    }
                    Peer::Channel(_) => false,
                };
            if for_everyone {
                for (owner, copy_id) in self.links.get(&boxed.link).into_iter().flatten() {
                    removals.entry(*owner).or_default().insert(*copy_id);
                }
            }
        }
        let mut deliveries = Vec::new();
        let mut affected = AffectedMessages {
            pts: rec.pts,
            pts_count: 0,
        };
        for (owner, removed) in removals {
            let rec = self.user_rec_mut(owner)?;
            let mut links = Vec::with_capacity(removed.len());
            for id in &removed {
                if let Some(boxed) = rec.messages.remove(id) {
                    if let Some(dialog) = rec.dialogs.get_mut(&boxed.message.peer) {
                        dialog.message_ids.remove(id);
                    }
                    links.push((boxed.link, *id));
                }
            }
            let ids: Vec<i32> = removed.into_iter().collect();
            let update = Update::DeleteMessages { ids: ids.clone() };
            let pts = rec.log(update.clone(), ids.len() as i32, now);
            for (link, id) in links {
                if let Some(copies) = self.links.get_mut(&link) {
                    copies.retain(|c| *c != (owner, id));
                    if copies.is_empty() {
                        self.links.remove(&link);
                    }
                }
            }
            if owner == user_id {
                affected = AffectedMessages {
                    pts: pts.pts,
                    pts_count: pts.pts_count,
                };
            }
            deliveries.push(Delivery {
                user_id: owner,
                update,
                pts: Some(pts),
                date: now,
            });
        }
        Ok(Outcome {
            value: affected,
            deliveries,
        })
    }

    pub(super) fn delete_channel_messages(
        &mut self,
        user_id: i64,
        channel_id: i64,
        ids: &[i32],
        now: i64,
    ) -> Result<Outcome<AffectedMessages>> {
        let channel = self.member_channel_mut(user_id, channel_id)?;
        let creator = channel.channel.creator == user_id;
        let targets: BTreeSet<i32> = ids
            .iter()
            .copied()
            .filter(|id| channel.messages.contains_key(id))
            .collect();
        if targets
            .iter()
            .any(|id| !creator && channel.messages[id].from_id != user_id)
        {
            return Err(Error::MessageDeleteForbidden);
        }
        if targets.is_empty() {
            return Ok(Outcome {
                value: AffectedMessages {
                    pts: channel.pts,
                    pts_count: 0,
                },
                deliveries: Vec::new(),
            });
        }
        for id in &targets {
            channel.messages.remove(id);
        }
        let ids: Vec<i32> = targets.into_iter().collect();
        let update = Update::DeleteChannelMessages {
            channel_id,
            ids: ids.clone(),
        };
        let pts = channel.log(update.clone(), ids.len() as i32, now);
        Ok(Outcome {
            value: AffectedMessages {
                pts: pts.pts,
                pts_count: pts.pts_count,
            },
            deliveries: channel.member_deliveries(&update, Some(pts), now),
        })
    }

    // ---- read state and typing ----

    pub(super) fn read_history(
        &mut self,
        reader: i64,
        peer: Peer,
        max_id: i32,
        now: i64,
    ) -> Result<Outcome<AffectedMessages>> {
        if matches!(peer, Peer::Channel(_)) {
            return Err(Error::PeerIdInvalid);
        }
        let rec = self.user_rec(reader)?;
        let unchanged = Outcome {
            value: AffectedMessages {
                pts: rec.pts,
                pts_count: 0,
            },
            deliveries: Vec::new(),
        };
        let Some(dialog) = rec.dialogs.get(&peer) else {
            return Ok(unchanged);
        };
        let top = dialog.message_ids.last().copied().unwrap_or(0);
        let target = if max_id <= 0 { top } else { max_id.min(top) };
        let old = dialog.read_inbox_max_id;
        if target <= old {
            return Ok(unchanged);
        }
        // The newly read incoming messages, by author, as the author's copy ids.
        let mut outbox: BTreeMap<i64, i32> = BTreeMap::new();
        let mut still_unread = 0;
        for id in &dialog.message_ids {
            let boxed = &rec.messages[id];
            if boxed.message.out {
                continue;
            }
            if *id > target {
                still_unread += 1;
                continue;
            }
            if *id <= old {
                continue;
            }
            let author = boxed.message.from_id;
            let author_copy = self
                .links
                .get(&boxed.link)
                .and_then(|copies| copies.iter().find(|(o, _)| *o == author));
            if let Some((_, copy_id)) = author_copy {
                let entry = outbox.entry(author).or_default();
                *entry = (*entry).max(*copy_id);
            }
        }
        let rec = self.user_rec_mut(reader)?;
        rec.dialogs
            .get_mut(&peer)
            .expect("checked above")
            .read_inbox_max_id = target;
        let update = Update::ReadHistoryInbox {
            peer,
            max_id: target,
            still_unread_count: still_unread,
        };
        let pts = rec.log(update.clone(), 1, now);
        let mut deliveries = vec![Delivery {
            user_id: reader,
            update,
            pts: Some(pts),
            date: now,
        }];
        for (author, max_copy) in outbox {
            if author == reader {
                continue;
            }
            let seen_as = match peer {
                Peer::Chat(_) => peer,
                _ => Peer::User(reader),
            };
            let Ok(rec) = self.user_rec_mut(author) else {
                continue;
            };
            let dialog = rec.dialogs.entry(seen_as).or_default();
            if max_copy <= dialog.read_outbox_max_id {
                continue;
            }
            dialog.read_outbox_max_id = max_copy;
            let update = Update::ReadHistoryOutbox {
                peer: seen_as,
                max_id: max_copy,
            };
            let pts = rec.log(update.clone(), 1, now);
            deliveries.push(Delivery {
                user_id: author,
                update,
                pts: Some(pts),
                date: now,
            });
        }
        Ok(Outcome {
            value: AffectedMessages {
                pts: pts.pts,
                pts_count: pts.pts_count,
            },
            deliveries,
        })
    }

    /// read_channel_history is `channels.readHistory`. Channel read marks
    /// carry no pts (they are not part of the channel's sequence).
    pub(super) fn read_channel_history(
        &mut self,
        reader: i64,
        channel_id: i64,
        max_id: i32,
        now: i64,
    ) -> Result<Outcome<bool>> {
        let channel = self.member_channel(reader, channel_id)?;
        let top = channel.messages.keys().next_back().copied().unwrap_or(0);
        let target = if max_id <= 0 { top } else { max_id.min(top) };
        let peer = Peer::Channel(channel_id);
        let old = self
            .user_rec(reader)?
            .dialogs
            .get(&peer)
            .map_or(0, |d| d.read_inbox_max_id);
        if target <= old {
            return Ok(Outcome {
                value: false,
                deliveries: Vec::new(),
            });
        }
        let mut outbox: BTreeMap<i64, i32> = BTreeMap::new();
        let mut still_unread = 0;
        for (id, message) in channel.messages.range(old + 1..) {
            if message.from_id == reader {
                continue;
            }
            if *id > target {
                still_unread += 1;
            } else {
                outbox.insert(message.from_id, *id);
            }
        }
        self.user_rec_mut(reader)?
            .dialogs
            .entry(peer)
            .or_default()
            .read_inbox_max_id = target;
        let mut deliveries = vec![Delivery {
            user_id: reader,
            update: Update::ReadChannelInbox {
                channel_id,
                max_id: target,
                still_unread_count: still_unread,
            },
            pts: None,
            date: now,
        }];
        for (author, max) in outbox {
            let Ok(rec) = self.user_rec_mut(author) else {
                continue;
            };
            let dialog = rec.dialogs.entry(peer).or_default();
            if max <= dialog.read_outbox_max_id {
                continue;
            }
            dialog.read_outbox_max_id = max;
            deliveries.push(Delivery {
                user_id: author,
                update: Update::ReadChannelOutbox {
                    channel_id,
                    max_id: max,
                },
                pts: None,
                date: now,
            });
        }
        Ok(Outcome {
            value: true,
            deliveries,
        })
    }

    pub(super) fn set_typing(
        &self,
        user_id: i64,
        peer: Peer,
        action: TypingAction,
        now: i64,
    ) -> Result<Vec<Delivery>> {
        self.user_rec(user_id)?;
        let (targets, update): (Vec<i64>, Update) = match peer {
            Peer::User(other) => {
                self.users.get(&other).ok_or(Error::PeerIdInvalid)?;
                (vec![other], Update::UserTyping { user_id, action })
            }
            Peer::Chat(chat_id) => {
                let chat = self
                    .chats
                    .get(&chat_id)
                    .filter(|chat| !chat.deactivated())
                    .ok_or(Error::PeerIdInvalid)?;
                if !chat.participants.contains(&user_id) {
                    return Err(Error::ChatWriteForbidden);
                }
                (
                    chat.participants.clone(),
                    Update::ChatUserTyping {
                        chat_id,
                        from_id: user_id,
                        action,
                    },
                )
            }
            Peer::Channel(channel_id) => {
                let channel = self.member_channel(user_id, channel_id)?;
                (
                    channel.members.iter().copied().collect(),
                    Update::ChannelUserTyping {
                        channel_id,
                        from_id: user_id,
                        action,
                    },
                )
            }
        };
        Ok(targets
            .into_iter()
            .filter(|target| *target != user_id)
            .map(|target| Delivery {
                user_id: target,
                update: update.clone(),
                pts: None,
                date: now,
            })
            .collect())
    }

    // ---- reading: dialogs, history, search ----

    fn dialog_entries(&self, user_id: i64) -> Result<Vec<(Dialog, Message)>> {
        let rec = self.user_rec(user_id)?;
        let mut entries = Vec::with_capacity(rec.dialogs.len());
        for (peer, state) in &rec.dialogs {
            let (top, unread, pts) = match peer {
                Peer::Channel(channel_id) => {
                    let Ok(channel) = self.member_channel(user_id, *channel_id) else {
                        continue;
                    };
                    let Some(top) = channel.messages.values().next_back() else {
                        continue;
                    };
                    let unread = channel
                        .messages
                        .range(state.read_inbox_max_id + 1..)
                        .filter(|(_, m)| m.from_id != user_id)
                        .count();
                    (channel_view(top, user_id), unread, Some(channel.pts))
                }
                _ => {
                    let Some(top) = state.message_ids.last() else {
                        continue;
                    };
                    let unread = state
                        .message_ids
                        .range(state.read_inbox_max_id + 1..)
                        .filter(|id| !rec.messages[id].message.out)
                        .count();
                    (rec.messages[top].message.clone(), unread, None)
                }
            };
            entries.push((
                Dialog {
                    peer: *peer,
                    top_message: top.id,
                    top_message_date: top.date,
                    read_inbox_max_id: state.read_inbox_max_id,
                    read_outbox_max_id: state.read_outbox_max_id,
                    unread_count: unread as i32,
                    pts,
                },
                top,
            ));
        }
        entries.sort_by(|(a, _), (b, _)| {
            (b.top_message_date, b.peer).cmp(&(a.top_message_date, a.peer))
        });
        Ok(entries)
    }

    pub(super) fn dialogs(&self, user_id: i64, query: &DialogsQuery) -> Result<DialogsPage> {
        let entries = self.dialog_entries(user_id)?;
        let count = entries.len();
        let limit = page_limit(query.limit);
        let (dialogs, messages) = entries
            .into_iter()
            .filter(|(d, _)| {
                if query.offset_date == 0 {
                    return true;
                }
                match query.offset_peer {
                    Some(peer) => (d.top_message_date, d.peer) < (query.offset_date, peer),
                    None => d.top_message_date < query.offset_date,
                }
            })
            .take(limit)
            .unzip();
        Ok(DialogsPage {
            dialogs,
            messages,
            count,
        })
    }

    pub(super) fn unread_total(&self, user_id: i64) -> Result<i32> {
        Ok(self
            .dialog_entries(user_id)?
            .iter()
            .map(|(d, _)| d.unread_count)
            .sum())
    }

    /// dialog_messages lists a dialog's messages as the viewer sees them,
    /// newest first.
    fn dialog_messages(&self, user_id: i64, peer: Peer) -> Result<Vec<Message>> {
        match peer {
            Peer::Channel(channel_id) => {
                let channel = self.member_channel(user_id, channel_id)?;
                Ok(channel
                    .messages
                    .values()
                    .rev()
                    .map(|m| channel_view(m, user_id))
                    .collect())
            }
            Peer::User(other) => {
                if !self.users.contains_key(&other) {
                    return Err(Error::PeerIdInvalid);
                }
                self.box_dialog_messages(user_id, peer)
            }
            Peer::Chat(chat_id) => {
                if !self.chats.contains_key(&chat_id) {
                    return Err(Error::PeerIdInvalid);
                }
                self.box_dialog_messages(user_id, peer)
            }
        }
    }

    fn box_dialog_messages(&self, user_id: i64, peer: Peer) -> Result<Vec<Message>> {
        let rec = self.user_rec(user_id)?;
        Ok(rec
            .dialogs
            .get(&peer)
            .map(|d| {
                d.message_ids
                    .iter()
                    .rev()
                    .map(|id| rec.messages[id].message.clone())
                    .collect()
            })
            .unwrap_or_default())
    }

    pub(super) fn history(
        &self,
        user_id: i64,
        peer: Peer,
        query: &HistoryQuery,
    ) -> Result<HistoryPage> {
        let all = self.dialog_messages(user_id, peer)?;
        let count = all.len();
        let filtered: Vec<Message> = all
            .into_iter()
            .filter(|m| query.max_id <= 0 || m.id < query.max_id)
            .filter(|m| query.min_id <= 0 || m.id > query.min_id)
            .collect();
        let anchor = if query.offset_id > 0 {
            filtered
                .iter()
                .position(|m| m.id < query.offset_id)
                .unwrap_or(filtered.len())
        } else if query.offset_date > 0 {
            filtered
                .iter()
                .position(|m| m.date < query.offset_date)
                .unwrap_or(filtered.len())
        } else {
            0
        };
        let start = anchor as i64 + i64::from(query.add_offset);
        let end = start + page_limit(query.limit) as i64;
        let clamp = |i: i64| i.clamp(0, filtered.len() as i64) as usize;
        let (start, end) = (clamp(start), clamp(end));
        Ok(HistoryPage {
            messages: filtered[start..end].to_vec(),
            count,
        })
    }

    pub(super) fn messages_by_id(
        &self,
        user_id: i64,
        channel_id: Option<i64>,
        ids: &[i32],
    ) -> Result<Vec<Message>> {
        match channel_id {
            Some(channel_id) => {
                let channel = self.member_channel(user_id, channel_id)?;
                Ok(ids
                    .iter()
                    .filter_map(|id| channel.messages.get(id))
                    .map(|m| channel_view(m, user_id))
                    .collect())
            }
            None => {
                let rec = self.user_rec(user_id)?;
                Ok(ids
                    .iter()
                    .filter_map(|id| rec.messages.get(id))
                    .map(|b| b.message.clone())
                    .collect())
            }
        }
    }

    pub(super) fn search(&self, user_id: i64, query: &SearchQuery) -> Result<Vec<Message>> {
        let needles = words(&query.text);
        let matches = |m: &Message| {
            let text = words(&m.text);
            m.action.is_none()
                && query.min_date.is_none_or(|d| m.date >= d)
                && query.max_date.is_none_or(|d| m.date <= d)
                && query.max_id.is_none_or(|id| m.id < id)
                && needles
                    .iter()
                    .all(|needle| text.iter().any(|word| word.starts_with(needle.as_str())))
        };
        let mut found: Vec<Message> = match query.peer {
            Some(peer) => self
                .dialog_messages(user_id, peer)?
                .into_iter()
                .filter(|m| matches(m))
                .collect(),
            None => {
                let rec = self.user_rec(user_id)?;
                let mut found: Vec<Message> = rec
                    .messages
                    .values()
                    .map(|b| &b.message)
                    .filter(|m| matches(m))
                    .cloned()
                    .collect();
                for channel in self.channels.values() {
                    if channel.members.contains(&user_id) {
                        found.extend(
                            channel
                                .messages
                                .values()
                                .filter(|m| matches(m))
                                .map(|m| channel_view(m, user_id)),
                        );
                    }
                }
                found
            }
        };
        found.sort_by_key(|m| std::cmp::Reverse((m.date, m.id, m.peer)));
        found.truncate(page_limit(query.limit));
        Ok(found)
    }

    // ---- update sequences ----

    pub(super) fn updates_state(&self, user_id: i64, now: i64) -> Result<UpdatesState> {
        Ok(UpdatesState {
            pts: self.user_rec(user_id)?.pts,
            qts: 0,
            date: now,
            seq: 0,
            unread_count: self.unread_total(user_id)?,
        })
    }

    pub(super) fn difference(
        &self,
        user_id: i64,
        pts: i32,
        now: i64,
        limit: usize,
        too_long_after: usize,
    ) -> Result<Difference> {
        let rec = self.user_rec(user_id)?;
        if pts < 0 {
            return Err(Error::PersistentTimestampInvalid);
        }
        let behind = usize::try_from(i64::from(rec.pts) - i64::from(pts)).unwrap_or(0);
        if pts > rec.pts || pts > 0 && behind > too_long_after {
            return Ok(Difference::TooLong { pts: rec.pts });
        }
        if pts == rec.pts {
            return Ok(Difference::Empty { date: now, seq: 0 });
        }
        // The log is contiguous: entry k ends at the pts it carries, so the
        // first entry after `pts` is the first whose pts exceeds it.
        let start = rec.updates.partition_point(|u| u.pts <= pts);
        let limit = limit.clamp(1, MAX_PAGE);
        let slice = &rec.updates[start..(start + limit).min(rec.updates.len())];
        let (new_messages, other_updates) = split_updates(slice);
        // A pts below the sequence's start (0: a client with no state) is
        // behind every entry; with none logged yet, the difference is
        // empty but still moves the client to the current state.
        let Some(last) = slice.last() else {
            return Ok(Difference::Full {
                new_messages,
                other_updates,
                state: self.updates_state(user_id, now)?,
            });
        };
        if last.pts < rec.pts {
            return Ok(Difference::Slice {
                new_messages,
                other_updates,
                intermediate_state: UpdatesState {
                    pts: last.pts,
                    qts: 0,
                    date: last.date,
                    seq: 0,
                    unread_count: self.unread_total(user_id)?,
                },
            });
        }
        Ok(Difference::Full {
            new_messages,
            other_updates,
            state: self.updates_state(user_id, now)?,
        })
    }

    pub(super) fn channel_difference(
        &self,
        user_id: i64,
        channel_id: i64,
        pts: i32,
        limit: usize,
        too_long_after: usize,
    ) -> Result<ChannelDifference> {
        let channel = self.member_channel(user_id, channel_id)?;
        if pts < 0 {
            return Err(Error::PersistentTimestampInvalid);
        }
        if pts >= channel.pts {
            return Ok(ChannelDifference::Empty { pts: channel.pts });
        }
        let behind = channel.updates.len() - channel.updates.partition_point(|u| u.pts <= pts);
        if behind > too_long_after {
            let dialog = self
                .dialog_entries(user_id)?
                .into_iter()
                .map(|(dialog, _)| dialog)
                .find(|d| d.peer == Peer::Channel(channel_id))
                .ok_or(Error::ChannelPrivate)?;
            let messages = self
                .dialog_messages(user_id, Peer::Channel(channel_id))?
                .into_iter()
                .take(limit.clamp(1, MAX_PAGE))
                .collect();
            return Ok(ChannelDifference::TooLong { dialog, messages });
        }
        let start = channel.updates.partition_point(|u| u.pts <= pts);
        let limit = limit.clamp(1, MAX_PAGE);
        let slice = &channel.updates[start..(start + limit).min(channel.updates.len())];
        let viewed: Vec<LoggedUpdate> = slice
            .iter()
            .map(|u| LoggedUpdate {
                update: viewer_update(&u.update, user_id),
                ..u.clone()
            })
            .collect();
        let (new_messages, other_updates) = split_updates(&viewed);
        let last = slice
            .last()
            .expect("pts < channel pts means entries remain");
        Ok(ChannelDifference::Difference {
            new_messages,
            other_updates,
            pts: last.pts,
            is_final: last.pts == channel.pts,
        })
    }
}

fn split_updates(slice: &[LoggedUpdate]) -> (Vec<Message>, Vec<Update>) {
    let mut new_messages = Vec::new();
    let mut other_updates = Vec::new();
    for logged in slice {
        match &logged.update {
            Update::NewMessage { message } | Update::NewChannelMessage { message, .. } => {
                new_messages.push(message.clone())
            }
            other => other_updates.push(other.clone()),
        }
    }
    (new_messages, other_updates)
}

/// words splits a text the way Telegram's search matches it: lowercase
/// runs of letters and digits. A query matches a message when each of its
/// words starts a word of the message.
fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|word| !word.is_empty())
        .map(str::to_lowercase)
        .collect()
}
