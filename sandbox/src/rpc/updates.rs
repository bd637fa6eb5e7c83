//! `updates.*` methods.

use grammers_tl_types as tl;
use grammers_tl_types::Identifiable;

use super::convert::updates::{channel_difference, difference, state};
use super::convert::users::input_channel_to_network;
use super::{Call, reply};
use crate::mtproto::RpcError;

pub(super) async fn handle(call: &Call<'_>, id: u32) -> Result<Vec<u8>, RpcError> {
    use tl::functions::updates;
    match id {
        updates::GetState::CONSTRUCTOR_ID => {
            let _: updates::GetState = call.parse()?;
            let current = call.net.updates_state(call.user()?)?;
            reply(state(&current))
        }
        updates::GetDifference::CONSTRUCTOR_ID => {
            let updates::GetDifference {
                pts,
                pts_limit,
                pts_total_limit,
                date: _,
                qts: _,
                qts_limit: _,
            } = call.parse()?;
            let me = call.user()?;
            // pts_limit bounds the slice; pts_total_limit is how far behind
            // the caller accepts a difference at all, as Telegram reads it.
            let positive = |l: Option<i32>| {
                l.filter(|l| *l > 0)
                    .map(|l| usize::try_from(l).unwrap_or(0))
            };
            let found = call.net.difference_within(
                me,
                pts,
                positive(pts_limit).unwrap_or(0),
                positive(pts_total_limit),
            )?;
            reply(difference(call.net, me, found))
        }
        updates::GetChannelDifference::CONSTRUCTOR_ID => {
            let updates::GetChannelDifference {
                force: _,
                channel,
                filter: _,
                pts,
                limit,
            } = call.parse()?;
            let me = call.user()?;
            let channel_id = input_channel_to_network(call.net, me, &channel)?;
            let found = call.net.channel_difference(
                me,
                channel_id,
                pts,
                usize::try_from(limit).unwrap_or(0),
            )?;
            reply(channel_difference(call.net, me, found))
        }
        _ => call.unknown(),
    }
}
