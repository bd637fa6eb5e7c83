//! `updates.*` methods.

use grammers_tl_types as tl;
use grammers_tl_types::Identifiable;

use super::{Call, reply};
use crate::sandbox::mtproto::RpcError;

pub(super) async fn handle(call: &Call<'_>, id: u32) -> Result<Vec<u8>, RpcError> {
    use tl::functions::updates;
    match id {
        updates::GetState::CONSTRUCTOR_ID => {
            let _: updates::GetState = call.parse()?;
            let state = call.net.updates_state(call.user()?)?;
            reply(tl::enums::updates::State::State(
                tl::types::updates::State {
                    pts: state.pts,
                    qts: state.qts,
                    date: i32::try_from(state.date).unwrap_or(i32::MAX),
                    seq: state.seq,
                    unread_count: state.unread_count,
                },
            ))
        }
        _ => call.unknown(),
    }
}
