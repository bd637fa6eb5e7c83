//! `upload.*` methods: file parts are kept in memory per (auth key,
//! file_id), as Telegram keeps a client's upload until it is used. The
//! sandbox has no media in messages yet, so `upload.getFile` has nothing to
//! serve and answers 400 LOCATION_INVALID.

use std::collections::{BTreeMap, HashMap};
use std::sync::{LazyLock, Mutex};

use grammers_tl_types as tl;
use grammers_tl_types::Identifiable;

use super::{Call, reply};
use crate::sandbox::mtproto::RpcError;

/// PART_MAX is Telegram's largest part (512 KiB).
const PART_MAX: usize = 512 * 1024;
/// PARTS_MAX is Telegram's largest part count (4000 parts of 512 KiB: 2 GB).
const PARTS_MAX: i32 = 4000;
/// FILES_PER_KEY bounds the unfinished uploads one key may hold.
const FILES_PER_KEY: usize = 64;

/// Uploads are the parts received so far: (auth key, file_id) → part → bytes.
/// Process-wide because auth keys are random 64-bit ids, so sandboxes in one
/// process cannot collide.
type Uploads = HashMap<(i64, i64), BTreeMap<i32, Vec<u8>>>;

static UPLOADS: LazyLock<Mutex<Uploads>> = LazyLock::new(|| Mutex::new(HashMap::new()));

pub(super) async fn handle(call: &Call<'_>, id: u32) -> Result<Vec<u8>, RpcError> {
    use tl::functions::upload;
    match id {
        upload::SaveFilePart::CONSTRUCTOR_ID => {
            let upload::SaveFilePart {
                file_id,
                file_part,
                bytes,
            } = call.parse()?;
            call.user()?;
            save_part(call.ctx.auth_key_id, file_id, file_part, None, bytes)?;
            reply(true)
        }
        upload::SaveBigFilePart::CONSTRUCTOR_ID => {
            let upload::SaveBigFilePart {
                file_id,
                file_part,
                file_total_parts,
                bytes,
            } = call.parse()?;
            call.user()?;
            save_part(
                call.ctx.auth_key_id,
                file_id,
                file_part,
                Some(file_total_parts),
                bytes,
            )?;
            reply(true)
        }
        upload::GetFile::CONSTRUCTOR_ID => {
            let _: upload::GetFile = call.parse()?;
            call.user()?;
            Err(RpcError::new(400, "LOCATION_INVALID"))
        }
        _ => call.unknown(),
    }
}

fn save_part(
    auth_key_id: i64,
    file_id: i64,
    part: i32,
    total: Option<i32>,
    bytes: Vec<u8>,
) -> Result<(), RpcError> {
    if total.is_some_and(|t| t <= 0 || t > PARTS_MAX) {
        return Err(RpcError::new(400, "FILE_PARTS_INVALID"));
    }
    if part < 0 || part >= total.unwrap_or(PARTS_MAX) {
        return Err(RpcError::new(400, "FILE_PART_INVALID"));
    }
    if bytes.is_empty() {
        return Err(RpcError::new(400, "FILE_PART_EMPTY"));
    }
    if bytes.len() > PART_MAX {
        return Err(RpcError::new(400, "FILE_PART_TOO_BIG"));
    }
    let mut uploads = UPLOADS.lock().unwrap_or_else(|p| p.into_inner());
    let key = (auth_key_id, file_id);
    if !uploads.contains_key(&key)
        && uploads.keys().filter(|(k, _)| *k == auth_key_id).count() >= FILES_PER_KEY
    {
        return Err(RpcError::new(400, "FILE_PARTS_INVALID"));
    }
    uploads.entry(key).or_default().insert(part, bytes);
    Ok(())
}
