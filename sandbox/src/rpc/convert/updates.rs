//! Network updates as TL `Updates`, for pushes and getDifference.
//!
//! grammers checks every update that carries a pts against its own state
//! (`local pts + pts_count == pts`, else a gap and a getDifference), so each
//! one carries the exact position the network logged it at. Channel read
//! marks are outside the channel's sequence: they carry the channel's
//! current pts with a count of 0, which is how Telegram sends them.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use grammers_tl_types as tl;
use grammers_tl_types::{Deserializable, Serializable};

use super::messages::{Mentioned, date, dialog, message, peer};
use crate::network::{
    ChannelDifference, Delivery, Difference, Network, Peer, Pts, TypingAction, Update, UpdatesState,
};

/// pushed is the `Updates` a live session receives for one delivery, or
/// `None` when the update has no TL form yet.
pub fn pushed(network: &Network, delivery: &Delivery) -> Option<tl::enums::Updates> {
    let pts = match (&delivery.update, delivery.pts) {
        (_, Some(pts)) => pts,
        (Update::ReadChannelInbox { channel_id, .. }, None) => Pts {
            pts: network.channel_pts(*channel_id).unwrap_or(0),
            pts_count: 0,
        },
        (_, None) => Pts {
            pts: 0,
            pts_count: 0,
        },
    };
    let tl_update = update(network, &delivery.update, pts);
    let needs_peers = matches!(
        delivery.update,
        Update::NewMessage { .. }
            | Update::EditMessage { .. }
            | Update::NewChannelMessage { .. }
            | Update::EditChannelMessage { .. }
            | Update::ChatUserTyping { .. }
            | Update::ChannelUserTyping { .. }
            | Update::DeleteChannelMessages { .. }
            | Update::ReadChannelInbox { .. }
            | Update::ReadChannelOutbox { .. }
            | Update::NewScheduledMessage { .. }
            | Update::DeleteScheduledMessages { .. }
    );
    if !needs_peers {
        return Some(
            tl::types::UpdateShort {
                update: tl_update,
                date: date(delivery.date),
            }
            .into(),
        );
    }
    let mut mentioned = Mentioned::default();
    mentioned.update(&delivery.update);
    Some(
        tl::types::Updates {
            updates: vec![tl_update],
            users: mentioned.users(network, delivery.user_id),
            chats: mentioned.chats(network, delivery.user_id),
            date: date(delivery.date),
            // Pushed updates are outside the seq sequence, like `updateShort`.
            seq: 0,
        }
        .into(),
    )
}

/// update is one network update as TL, at position `pts`.
pub fn update(net: &Network, update: &Update, pts: Pts) -> tl::enums::Update {
    let Pts { pts, pts_count } = pts;
    match update {
        Update::NewMessage { message: m } => tl::types::UpdateNewMessage {
            message: message(net, m),
            pts,
            pts_count,
        }
        .into(),
        Update::EditMessage { message: m } => tl::types::UpdateEditMessage {
            message: message(net, m),
            pts,
            pts_count,
        }
        .into(),
        Update::DeleteMessages { ids } => tl::types::UpdateDeleteMessages {
            messages: ids.clone(),
            pts,
            pts_count,
        }
        .into(),
        Update::ReadHistoryInbox {
            peer: p,
            max_id,
            still_unread_count,
        } => tl::types::UpdateReadHistoryInbox {
            folder_id: None,
            top_msg_id: None,
            peer: peer(*p),
            max_id: *max_id,
            still_unread_count: *still_unread_count,
            pts,
            pts_count,
        }
        .into(),
        Update::ReadHistoryOutbox { peer: p, max_id } => tl::types::UpdateReadHistoryOutbox {
            peer: peer(*p),
            max_id: *max_id,
            pts,
            pts_count,
        }
        .into(),
        Update::NewChannelMessage { message: m, .. } => tl::types::UpdateNewChannelMessage {
            message: message(net, m),
            pts,
            pts_count,
        }
        .into(),
        Update::EditChannelMessage { message: m, .. } => tl::types::UpdateEditChannelMessage {
            message: message(net, m),
            pts,
            pts_count,
        }
        .into(),
        Update::DeleteChannelMessages { channel_id, ids } => {
            tl::types::UpdateDeleteChannelMessages {
                channel_id: *channel_id,
                messages: ids.clone(),
                pts,
                pts_count,
            }
            .into()
        }
        Update::ReadChannelInbox {
            channel_id,
            max_id,
            still_unread_count,
        } => tl::types::UpdateReadChannelInbox {
            folder_id: None,
            channel_id: *channel_id,
            max_id: *max_id,
            still_unread_count: *still_unread_count,
            pts,
        }
        .into(),
        Update::ReadChannelOutbox { channel_id, max_id } => tl::types::UpdateReadChannelOutbox {
            channel_id: *channel_id,
            max_id: *max_id,
        }
        .into(),
        Update::UserTyping { user_id, action } => tl::types::UpdateUserTyping {
            user_id: *user_id,
            top_msg_id: None,
            action: send_message_action(action),
        }
        .into(),
        Update::ChatUserTyping {
            chat_id,
            from_id,
            action,
        } => tl::types::UpdateChatUserTyping {
            chat_id: *chat_id,
            from_id: peer(Peer::User(*from_id)),
            action: send_message_action(action),
        }
        .into(),
        Update::ChannelUserTyping {
            channel_id,
            from_id,
            action,
        } => tl::types::UpdateChannelUserTyping {
            channel_id: *channel_id,
            top_msg_id: None,
            from_id: peer(Peer::User(*from_id)),
            action: send_message_action(action),
        }
        .into(),
        Update::NewScheduledMessage { message: m } => tl::types::UpdateNewScheduledMessage {
            message: message(net, m),
        }
        .into(),
        Update::DeleteScheduledMessages { peer: p, ids, sent } => {
            tl::types::UpdateDeleteScheduledMessages {
                peer: peer(*p),
                messages: ids.clone(),
                sent_messages: (!sent.is_empty()).then(|| sent.clone()),
            }
            .into()
        }
    }
}

/// typing_action is what the network records for a TL action; actions
/// other than typing and cancel keep their TL serialization (base64).
pub fn typing_action(action: &tl::enums::SendMessageAction) -> TypingAction {
    match action {
        tl::enums::SendMessageAction::SendMessageTypingAction => TypingAction::Typing,
        tl::enums::SendMessageAction::SendMessageCancelAction => TypingAction::Cancel,
        other => TypingAction::Other(BASE64.encode(other.to_bytes())),
    }
}

fn send_message_action(action: &TypingAction) -> tl::enums::SendMessageAction {
    match action {
        TypingAction::Typing => tl::enums::SendMessageAction::SendMessageTypingAction,
        TypingAction::Cancel => tl::enums::SendMessageAction::SendMessageCancelAction,
        TypingAction::Other(encoded) => BASE64
            .decode(encoded)
            .ok()
            .and_then(|bytes| tl::enums::SendMessageAction::from_bytes(&bytes).ok())
            .unwrap_or(tl::enums::SendMessageAction::SendMessageTypingAction),
    }
}

pub fn state(state: &UpdatesState) -> tl::enums::updates::State {
    tl::types::updates::State {
        pts: state.pts,
        qts: state.qts,
        date: date(state.date),
        seq: state.seq,
        unread_count: state.unread_count,
    }
    .into()
}

/// difference is `updates.getDifference`'s answer for `viewer`. Its other
/// updates carry the answer's pts with a count of 0: the client applies
/// them as part of the difference, whose state it adopts as a whole.
pub fn difference(
    net: &Network,
    viewer: i64,
    difference: Difference,
) -> tl::enums::updates::Difference {
    let (new_messages, other_updates, state_, slice) = match difference {
        Difference::Empty { date: d, seq } => {
            return tl::types::updates::DifferenceEmpty { date: date(d), seq }.into();
        }
        Difference::TooLong { pts } => {
            return tl::types::updates::DifferenceTooLong { pts }.into();
        }
        Difference::Full {
            new_messages,
            other_updates,
            state,
        } => (new_messages, other_updates, state, false),
        Difference::Slice {
            new_messages,
            other_updates,
            intermediate_state,
        } => (new_messages, other_updates, intermediate_state, true),
    };
    let mut mentioned = Mentioned::default();
    new_messages.iter().for_each(|m| {
        mentioned.message(m);
    });
    other_updates.iter().for_each(|u| {
        mentioned.update(u);
    });
    let at = Pts {
        pts: state_.pts,
        pts_count: 0,
    };
    let new_messages = new_messages.iter().map(|m| message(net, m)).collect();
    let other_updates = other_updates.iter().map(|u| update(net, u, at)).collect();
    let users = mentioned.users(net, viewer);
    let chats = mentioned.chats(net, viewer);
    if slice {
        tl::types::updates::DifferenceSlice {
            new_messages,
            new_encrypted_messages: Vec::new(),
            other_updates,
            chats,
            users,
            intermediate_state: state(&state_),
        }
        .into()
    } else {
        tl::types::updates::Difference {
            new_messages,
            new_encrypted_messages: Vec::new(),
            other_updates,
            chats,
            users,
            state: state(&state_),
        }
        .into()
    }
}

/// channel_difference is `updates.getChannelDifference`'s answer. Other
/// updates carry the answer's pts with a count of 0, for the same reason as
/// in [`difference`]: grammers sets the channel's pts before applying them.
pub fn channel_difference(
    net: &Network,
    viewer: i64,
    difference: ChannelDifference,
) -> tl::enums::updates::ChannelDifference {
    match difference {
        ChannelDifference::Empty { pts } => tl::types::updates::ChannelDifferenceEmpty {
            r#final: true,
            pts,
            timeout: None,
        }
        .into(),
        ChannelDifference::Difference {
            new_messages,
            other_updates,
            pts,
            is_final,
        } => {
            let mut mentioned = Mentioned::default();
            new_messages.iter().for_each(|m| {
                mentioned.message(m);
            });
            other_updates.iter().for_each(|u| {
                mentioned.update(u);
            });
            let at = Pts { pts, pts_count: 0 };
            tl::types::updates::ChannelDifference {
                r#final: is_final,
                pts,
                timeout: None,
                new_messages: new_messages.iter().map(|m| message(net, m)).collect(),
                other_updates: other_updates.iter().map(|u| update(net, u, at)).collect(),
                chats: mentioned.chats(net, viewer),
                users: mentioned.users(net, viewer),
            }
            .into()
        }
        ChannelDifference::TooLong {
            dialog: channel_dialog,
            messages,
        } => {
            let mut mentioned = Mentioned::default();
            mentioned.peer(channel_dialog.peer);
            messages.iter().for_each(|m| {
                mentioned.message(m);
            });
            tl::types::updates::ChannelDifferenceTooLong {
                r#final: true,
                timeout: None,
                dialog: dialog(&channel_dialog),
                messages: messages.iter().map(|m| message(net, m)).collect(),
                chats: mentioned.chats(net, viewer),
                users: mentioned.users(net, viewer),
            }
            .into()
        }
    }
}
