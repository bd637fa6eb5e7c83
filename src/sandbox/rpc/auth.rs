//! `auth.*` methods.

use super::Call;
use crate::sandbox::mtproto::RpcError;

pub(super) async fn handle(call: &Call<'_>, id: u32) -> Result<Vec<u8>, RpcError> {
    let _ = id;
    call.unknown()
}
