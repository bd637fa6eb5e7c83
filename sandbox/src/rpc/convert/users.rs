//! Users, peers and chats as TL, as one viewer sees them, and input peers
//! back to the network's [`Peer`] with their access hashes checked.

use grammers_tl_types as tl;

use crate::mtproto::RpcError;
use crate::network::{self, Network, Peer};

/// ONLINE_FOR is how long a user's own `userStatusOnline` lasts, in seconds
/// (Telegram's `online_update_period_ms` is 210 s; the client refreshes).
const ONLINE_FOR: i64 = 300;

fn date(seconds: i64) -> i32 {
    i32::try_from(seconds).unwrap_or(i32::MAX)
}

/// user is `user` as `viewer_id` sees it: `self` for the viewer, `contact`
/// and `mutual_contact` from both contact lists, the phone only for the user
/// itself and for viewers who have it as a contact (Telegram's default
/// privacy), the access hash always (the sandbox has one per user).
pub fn user(net: &Network, viewer_id: i64, user: &network::User) -> tl::enums::User {
    let is_self = user.id == viewer_id;
    let contact = !is_self && net.is_contact(viewer_id, user.id);
    let mutual_contact = contact && net.is_contact(user.id, viewer_id);
    let phone = if is_self || contact {
        user.phone.clone()
    } else {
        None
    };
    let status = if user.bot {
        None
    } else if is_self {
        Some(tl::enums::UserStatus::Online(tl::types::UserStatusOnline {
            expires: date(net.now() + ONLINE_FOR),
        }))
    } else {
        Some(tl::enums::UserStatus::Recently(
            tl::types::UserStatusRecently { by_me: false },
        ))
    };
    tl::enums::User::User(tl::types::User {
        is_self,
        contact,
        mutual_contact,
        deleted: false,
        bot: user.bot,
        bot_chat_history: false,
        bot_nochats: false,
        verified: false,
        restricted: false,
        min: false,
        bot_inline_geo: false,
        support: false,
        scam: false,
        apply_min_photo: false,
        fake: false,
        bot_attach_menu: false,
        premium: false,
        attach_menu_enabled: false,
        bot_can_edit: false,
        close_friend: false,
        stories_hidden: false,
        stories_unavailable: true,
        contact_require_premium: false,
        bot_business: false,
        bot_has_main_app: false,
        bot_forum_view: false,
        bot_forum_can_manage_topics: false,
        bot_can_manage_bots: false,
        bot_guestchat: false,
        bot_guard: false,
        id: user.id,
        access_hash: Some(user.access_hash),
        first_name: Some(user.first_name.clone()),
        last_name: (!user.last_name.is_empty()).then(|| user.last_name.clone()),
        username: user.username.clone(),
        phone,
        photo: None,
        status,
        bot_info_version: user.bot.then_some(1),
        restriction_reason: None,
        bot_inline_placeholder: None,
        lang_code: None,
        emoji_status: None,
        usernames: None,
        stories_max_id: None,
        color: None,
        profile_color: None,
        bot_active_users: None,
        bot_verification_icon: None,
        send_paid_messages_stars: None,
        linked_community_id: None,
    })
}

/// user_by_id is [`user`] for an id, or `userEmpty` for an unknown one.
#[allow(
    dead_code,
    reason = "for TL methods that name users by id; none does yet"
)]
pub fn user_by_id(net: &Network, viewer_id: i64, user_id: i64) -> tl::enums::User {
    match net.user(user_id) {
        Some(found) => user(net, viewer_id, &found),
        None => tl::enums::User::Empty(tl::types::UserEmpty { id: user_id }),
    }
}

/// peer is a network peer as TL.
pub fn peer(peer: Peer) -> tl::enums::Peer {
    match peer {
        Peer::User(user_id) => tl::enums::Peer::User(tl::types::PeerUser { user_id }),
        Peer::Chat(chat_id) => tl::enums::Peer::Chat(tl::types::PeerChat { chat_id }),
        Peer::Channel(channel_id) => {
            tl::enums::Peer::Channel(tl::types::PeerChannel { channel_id })
        }
    }
}

/// chat is a basic group as `viewer_id` sees it; `chatForbidden` for
/// non-participants. A migrated group is `deactivated` and names the
/// supergroup it became (`migrated_to`, with its access hash), as Telegram
/// shows it, so a client can follow it.
pub fn chat(net: &Network, viewer_id: i64, chat: &network::Chat) -> tl::enums::Chat {
    if !chat.participants.contains(&viewer_id) {
        return tl::enums::Chat::Forbidden(tl::types::ChatForbidden {
            id: chat.id,
            title: chat.title.clone(),
        });
    }
    tl::enums::Chat::Chat(tl::types::Chat {
        creator: chat.creator == viewer_id,
        left: false,
        deactivated: chat.deactivated(),
        call_active: false,
        call_not_empty: false,
        noforwards: false,
        id: chat.id,
        title: chat.title.clone(),
        photo: tl::enums::ChatPhoto::Empty,
        participants_count: i32::try_from(chat.participants.len()).unwrap_or(i32::MAX),
        date: date(chat.date),
        version: 1,
        migrated_to: chat.migrated_to.and_then(|channel_id| {
            let channel = net.channel(channel_id)?;
            Some(
                tl::types::InputChannel {
                    channel_id,
                    access_hash: channel.access_hash,
                }
                .into(),
            )
        }),
        admin_rights: None,
        default_banned_rights: None,
    })
}

/// channel is a channel or supergroup as `viewer_id` sees it: `left` when
/// the viewer is not a member (public channels are still readable).
pub fn channel(net: &Network, viewer_id: i64, channel: &network::Channel) -> tl::enums::Chat {
    let member = net.is_channel_member(viewer_id, channel.id);
    tl::enums::Chat::Channel(tl::types::Channel {
        creator: channel.creator == viewer_id,
        left: !member,
        broadcast: !channel.megagroup,
        verified: false,
        megagroup: channel.megagroup,
        restricted: false,
        signatures: false,
        min: false,
        scam: false,
        has_link: false,
        has_geo: false,
        slowmode_enabled: false,
        call_active: false,
        call_not_empty: false,
        fake: false,
        gigagroup: false,
        noforwards: false,
        join_to_send: false,
        join_request: false,
        forum: false,
        stories_hidden: false,
        stories_hidden_min: false,
        stories_unavailable: true,
        signature_profiles: false,
        autotranslation: false,
        broadcast_messages_allowed: false,
        monoforum: false,
        forum_tabs: false,
        id: channel.id,
        access_hash: Some(channel.access_hash),
        title: channel.title.clone(),
        username: channel.username.clone(),
        photo: tl::enums::ChatPhoto::Empty,
        date: date(channel.date),
        restriction_reason: None,
        admin_rights: None,
        banned_rights: None,
        default_banned_rights: None,
        participants_count: None,
        usernames: None,
        stories_max_id: None,
        color: None,
        profile_color: None,
        emoji_status: None,
        level: None,
        subscription_until_date: None,
        bot_verification_icon: None,
        send_paid_messages_stars: None,
        linked_monoforum_id: None,
        linked_community_id: None,
    })
}

/// chat_of is the TL chat for a group or channel peer (`None` for users
/// and unknown ids), for the `chats` lists of answers.
pub fn chat_of(net: &Network, viewer_id: i64, peer: Peer) -> Option<tl::enums::Chat> {
    match peer {
        Peer::User(_) => None,
        Peer::Chat(id) => net.chat(id).map(|c| chat(net, viewer_id, &c)),
        Peer::Channel(id) => net.channel(id).map(|c| channel(net, viewer_id, &c)),
    }
}

/// input_peer_to_network resolves an `InputPeer` for `viewer_id`, checking
/// access hashes. `*FromMessage` peers are taken by id: the sandbox does not
/// check that the message mentions them. Errors: PEER_ID_INVALID,
/// CHANNEL_INVALID.
pub fn input_peer_to_network(
    net: &Network,
    viewer_id: i64,
    input: &tl::enums::InputPeer,
) -> Result<Peer, RpcError> {
    use tl::enums::InputPeer;
    let peer = match input {
        InputPeer::Empty => return Err(network::Error::PeerIdInvalid.into()),
        InputPeer::PeerSelf => return Ok(Peer::User(viewer_id)),
        InputPeer::Chat(chat) => {
            let peer = Peer::Chat(chat.chat_id);
            net.check_access_hash(peer, 0)?;
            peer
        }
        InputPeer::User(user) => {
            let peer = Peer::User(user.user_id);
            net.check_access_hash(peer, user.access_hash)?;
            peer
        }
        InputPeer::Channel(channel) => {
            let peer = Peer::Channel(channel.channel_id);
            net.check_access_hash(peer, channel.access_hash)?;
            peer
        }
        InputPeer::UserFromMessage(from) => {
            input_peer_to_network(net, viewer_id, &from.peer)?;
            known(net, Peer::User(from.user_id))?
        }
        InputPeer::ChannelFromMessage(from) => {
            input_peer_to_network(net, viewer_id, &from.peer)?;
            known(net, Peer::Channel(from.channel_id))?
        }
    };
    Ok(peer)
}

/// input_user_to_network resolves an `InputUser` to a user id (PEER_ID_INVALID
/// for `inputUserEmpty`; USER_ID_INVALID for unknown users or wrong hashes).
pub fn input_user_to_network(
    net: &Network,
    viewer_id: i64,
    input: &tl::enums::InputUser,
) -> Result<i64, RpcError> {
    use tl::enums::InputUser;
    match input {
        InputUser::Empty => Err(network::Error::PeerIdInvalid.into()),
        InputUser::UserSelf => Ok(viewer_id),
        InputUser::User(user) => {
            net.check_access_hash(Peer::User(user.user_id), user.access_hash)
                .map_err(|_| network::Error::UserIdInvalid)?;
            Ok(user.user_id)
        }
        InputUser::FromMessage(from) => {
            input_peer_to_network(net, viewer_id, &from.peer)?;
            match known(net, Peer::User(from.user_id)) {
                Ok(_) => Ok(from.user_id),
                Err(_) => Err(network::Error::UserIdInvalid.into()),
            }
        }
    }
}

/// input_channel_to_network resolves an `InputChannel` to a channel id.
/// Errors: CHANNEL_INVALID.
pub fn input_channel_to_network(
    net: &Network,
    viewer_id: i64,
    input: &tl::enums::InputChannel,
) -> Result<i64, RpcError> {
    use tl::enums::InputChannel;
    match input {
        InputChannel::Empty => Err(network::Error::ChannelInvalid.into()),
        InputChannel::Channel(channel) => {
            net.check_access_hash(Peer::Channel(channel.channel_id), channel.access_hash)?;
            Ok(channel.channel_id)
        }
        InputChannel::FromMessage(from) => {
            input_peer_to_network(net, viewer_id, &from.peer)?;
            match known(net, Peer::Channel(from.channel_id))? {
                Peer::Channel(id) => Ok(id),
                _ => Err(network::Error::ChannelInvalid.into()),
            }
        }
    }
}

/// known checks that a peer taken without an access hash exists.
fn known(net: &Network, peer: Peer) -> Result<Peer, RpcError> {
    let exists = match peer {
        Peer::User(id) => net.user(id).is_some(),
        Peer::Chat(id) => net.chat(id).is_some(),
        Peer::Channel(id) => net.channel(id).is_some(),
    };
    match (exists, peer) {
        (true, _) => Ok(peer),
        (false, Peer::Channel(_)) => Err(network::Error::ChannelInvalid.into()),
        (false, _) => Err(network::Error::PeerIdInvalid.into()),
    }
}

/// login_token_updated is the `updateShort{updateLoginToken}` pushed to a
/// session whose QR login token was accepted: it tells the client to call
/// `auth.exportLoginToken` again.
pub fn login_token_updated(now: i64) -> tl::enums::Updates {
    tl::enums::Updates::UpdateShort(tl::types::UpdateShort {
        update: tl::enums::Update::LoginToken,
        date: date(now),
    })
}

/// default_notify_settings are a peer's notification settings as a fresh
/// account has them (everything unset: Telegram's defaults apply).
pub fn default_notify_settings() -> tl::enums::PeerNotifySettings {
    tl::types::PeerNotifySettings {
        show_previews: None,
        silent: None,
        mute_until: None,
        ios_sound: None,
        android_sound: None,
        other_sound: None,
        stories_muted: None,
        stories_hide_sender: None,
        stories_ios_sound: None,
        stories_android_sound: None,
        stories_other_sound: None,
    }
    .into()
}
