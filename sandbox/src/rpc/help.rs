//! `help.*` methods.

use grammers_tl_types as tl;
use grammers_tl_types::Identifiable;

use super::{Call, reply};
use crate::DC_ID;
use crate::mtproto::RpcError;

pub(super) async fn handle(call: &Call<'_>, id: u32) -> Result<Vec<u8>, RpcError> {
    use tl::functions::help;
    match id {
        help::GetConfig::CONSTRUCTOR_ID => reply(config(call.net.now())),
        help::GetNearestDc::CONSTRUCTOR_ID => {
            reply(tl::enums::NearestDc::Dc(tl::types::NearestDc {
                country: "ZZ".into(),
                this_dc: DC_ID,
                nearest_dc: DC_ID,
            }))
        }
        _ => call.unknown(),
    }
}

/// config is `help.getConfig`'s answer. Its `dc_options` is empty on
/// purpose: the client would otherwise replace the session's sandbox address.
pub fn config(now: i64) -> tl::enums::Config {
    let now = i32::try_from(now).unwrap_or(i32::MAX);
    tl::enums::Config::Config(tl::types::Config {
        default_p2p_contacts: false,
        preload_featured_stickers: false,
        revoke_pm_inbox: true,
        blocked_mode: false,
        force_try_ipv6: false,
        date: now,
        expires: now.saturating_add(3600),
        test_mode: true,
        this_dc: DC_ID,
        dc_options: Vec::new(),
        dc_txt_domain_name: String::new(),
        chat_size_max: 200,
        megagroup_size_max: 200_000,
        forwarded_count_max: 100,
        online_update_period_ms: 210_000,
        offline_blur_timeout_ms: 5_000,
        offline_idle_timeout_ms: 30_000,
        online_cloud_timeout_ms: 300_000,
        notify_cloud_delay_ms: 30_000,
        notify_default_delay_ms: 1_500,
        push_chat_period_ms: 60_000,
        push_chat_limit: 2,
        edit_time_limit: 172_800,
        revoke_time_limit: i32::MAX,
        revoke_pm_time_limit: i32::MAX,
        rating_e_decay: 2_419_200,
        stickers_recent_limit: 200,
        channels_read_media_period: 604_800,
        tmp_sessions: None,
        call_receive_timeout_ms: 20_000,
        call_ring_timeout_ms: 90_000,
        call_connect_timeout_ms: 30_000,
        call_packet_timeout_ms: 10_000,
        me_url_prefix: "https://t.me/".into(),
        autoupdate_url_prefix: None,
        gif_search_username: None,
        venue_search_username: None,
        img_search_username: None,
        static_maps_provider: None,
        caption_length_max: 1024,
        message_length_max: crate::network::MAX_TEXT as i32,
        webfile_dc_id: DC_ID,
        suggested_lang_code: None,
        lang_pack_version: None,
        base_lang_pack_version: None,
        reactions_default: None,
        autologin_token: None,
    })
}
