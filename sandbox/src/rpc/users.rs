//! `users.*` methods.

use grammers_tl_types as tl;
use grammers_tl_types::Identifiable;

use super::convert::users as convert;
use super::{Call, reply};
use crate::mtproto::RpcError;
use crate::network;

pub(super) async fn handle(call: &Call<'_>, id: u32) -> Result<Vec<u8>, RpcError> {
    use tl::functions::users;
    let viewer = call.user()?;
    match id {
        users::GetUsers::CONSTRUCTOR_ID => {
            let request: users::GetUsers = call.parse()?;
            // Telegram skips inputs it cannot resolve rather than failing
            // the whole list.
            let found: Vec<tl::enums::User> = request
                .id
                .iter()
                .filter_map(|input| convert::input_user_to_network(call.net, viewer, input).ok())
                .filter_map(|user_id| call.net.user(user_id))
                .map(|user| convert::user(call.net, viewer, &user))
                .collect();
            reply(found)
        }
        users::GetFullUser::CONSTRUCTOR_ID => {
            let request: users::GetFullUser = call.parse()?;
            let user_id = convert::input_user_to_network(call.net, viewer, &request.id)?;
            let user = call
                .net
                .user(user_id)
                .ok_or(network::Error::UserIdInvalid)?;
            reply(tl::enums::users::UserFull::Full(
                tl::types::users::UserFull {
                    full_user: full_user(&user),
                    chats: Vec::new(),
                    users: vec![convert::user(call.net, viewer, &user)],
                },
            ))
        }
        _ => call.unknown(),
    }
}

/// full_user is `userFull`: the bio; the sandbox keeps no photos or
/// settings.
fn full_user(user: &network::User) -> tl::enums::UserFull {
    tl::enums::UserFull::Full(tl::types::UserFull {
        blocked: false,
        phone_calls_available: false,
        phone_calls_private: false,
        can_pin_message: true,
        has_scheduled: false,
        video_calls_available: false,
        voice_messages_forbidden: false,
        translations_disabled: false,
        stories_pinned_available: false,
        blocked_my_stories_from: false,
        wallpaper_overridden: false,
        contact_require_premium: false,
        read_dates_private: false,
        sponsored_enabled: false,
        can_view_revenue: false,
        bot_can_manage_emoji_status: false,
        display_gifts_button: false,
        noforwards_my_enabled: false,
        noforwards_peer_enabled: false,
        unofficial_security_risk: false,
        id: user.id,
        about: user.about.clone(),
        settings: tl::enums::PeerSettings::Settings(tl::types::PeerSettings {
            report_spam: false,
            add_contact: false,
            block_contact: false,
            share_contact: false,
            need_contacts_exception: false,
            report_geo: false,
            autoarchived: false,
            invite_members: false,
            request_chat_broadcast: false,
            business_bot_paused: false,
            business_bot_can_reply: false,
            geo_distance: None,
            request_chat_title: None,
            request_chat_date: None,
            business_bot_id: None,
            business_bot_manage_url: None,
            charge_paid_message_stars: None,
            registration_month: None,
            phone_country: None,
            name_change_date: None,
            photo_change_date: None,
        }),
        personal_photo: None,
        profile_photo: None,
        fallback_photo: None,
        notify_settings: super::convert::users::default_notify_settings(),
        bot_info: None,
        pinned_msg_id: None,
        common_chats_count: 0,
        folder_id: None,
        ttl_period: None,
        theme: None,
        private_forward_name: None,
        bot_group_admin_rights: None,
        bot_broadcast_admin_rights: None,
        wallpaper: None,
        stories: None,
        business_work_hours: None,
        business_location: None,
        business_greeting_message: None,
        business_away_message: None,
        business_intro: None,
        birthday: None,
        personal_channel_id: None,
        personal_channel_message: None,
        stargifts_count: None,
        starref_program: None,
        bot_verification: None,
        send_paid_messages_stars: None,
        disallowed_gifts: None,
        stars_rating: None,
        stars_my_pending_rating: None,
        stars_my_pending_rating_date: None,
        main_tab: None,
        saved_music: None,
        note: None,
        bot_manager_id: None,
    })
}
