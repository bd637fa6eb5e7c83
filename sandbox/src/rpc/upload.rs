//! `upload.*` methods: file parts are kept in memory per (auth key,
//! file_id) until `messages.sendMedia` assembles them ([`take_upload`]) into
//! a document the network stores; `upload.getFile` serves documents by
//! `inputDocumentFileLocation` (photos by `inputPhotoFileLocation` and
//! their one size) to any logged-in user who has its id, access hash and
//! file_reference (i.e. saw a message carrying it).

use std::collections::{BTreeMap, HashMap};
use std::sync::{LazyLock, Mutex};

use grammers_tl_types as tl;
use grammers_tl_types::Identifiable;

use super::{Call, reply};
use crate::mtproto::RpcError;
use crate::network::PHOTO_SIZE;

/// PART_MAX is Telegram's largest part (512 KiB).
const PART_MAX: usize = 512 * 1024;
/// PARTS_MAX is Telegram's largest part count (4000 parts of 512 KiB: 2 GB).
const PARTS_MAX: i32 = 4000;
/// FILES_PER_KEY bounds the unfinished uploads one key may hold.
const FILES_PER_KEY: usize = 64;

/// Upload is one file's parts received so far.
#[derive(Default)]
struct Upload {
    parts: BTreeMap<i32, Vec<u8>>,
    /// total is the part count `saveBigFilePart` announced.
    total: Option<i32>,
}

/// Uploads are the files being uploaded: (auth key, file_id) → upload.
/// Process-wide because auth keys are random 64-bit ids, so sandboxes in one
/// process cannot collide.
type Uploads = HashMap<(i64, i64), Upload>;

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
            let upload::GetFile {
                precise,
                cdn_supported: _,
                location,
                offset,
                limit,
            } = call.parse()?;
            call.user()?;
            // A document (sandbox documents have no thumbnails), or a
            // photo's one size.
            let (id, access_hash, file_reference, photo) = match location {
                tl::enums::InputFileLocation::InputDocumentFileLocation(l)
                    if l.thumb_size.is_empty() =>
                {
                    (l.id, l.access_hash, l.file_reference, false)
                }
                tl::enums::InputFileLocation::InputPhotoFileLocation(l)
                    if l.thumb_size == PHOTO_SIZE =>
                {
                    (l.id, l.access_hash, l.file_reference, true)
                }
                _ => return Err(RpcError::new(400, "LOCATION_INVALID")),
            };
            let (document, bytes) = call
                .net
                .read_document(id, access_hash, &file_reference, offset, limit, precise)
                .await?;
            if document.photo.is_some() != photo {
                return Err(RpcError::new(400, "LOCATION_INVALID"));
            }
            reply(tl::enums::upload::File::File(tl::types::upload::File {
                r#type: tl::enums::storage::FileType::FileUnknown,
                mtime: super::convert::messages::date(document.date),
                bytes,
            }))
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
    let upload = uploads.entry(key).or_default();
    if let Some(total) = total {
        if upload.total.is_some_and(|t| t != total) {
            return Err(RpcError::new(400, "FILE_PARTS_INVALID"));
        }
        upload.total = Some(total);
    }
    upload.parts.insert(part, bytes);
    Ok(())
}

/// Uploaded is an assembled upload.
pub(super) struct Uploaded {
    pub bytes: Vec<u8>,
    pub name: String,
}

/// take_upload assembles the file an `InputFile` names from the caller's
/// parts and forgets them. Parts must be exactly `0..parts`, all but the
/// last of one size that is a multiple of 1 KiB. Errors: FILE_PARTS_INVALID
/// (count out of range or not the announced one, extra parts),
/// FILE_PART_<n>_MISSING, FILE_PART_SIZE_INVALID, FILE_PART_SIZE_CHANGED.
/// The md5_checksum of small files is not checked.
pub(super) fn take_upload(
    auth_key_id: i64,
    file: &tl::enums::InputFile,
) -> Result<Uploaded, RpcError> {
    let (file_id, parts, name, big) = match file {
        tl::enums::InputFile::File(f) => (f.id, f.parts, &f.name, false),
        tl::enums::InputFile::Big(f) => (f.id, f.parts, &f.name, true),
        tl::enums::InputFile::StoryDocument(_) => {
            return Err(RpcError::new(400, "MEDIA_INVALID"));
        }
    };
    if parts <= 0 || parts > PARTS_MAX {
        return Err(RpcError::new(400, "FILE_PARTS_INVALID"));
    }
    let mut uploads = UPLOADS.lock().unwrap_or_else(|p| p.into_inner());
    let key = (auth_key_id, file_id);
    let Some(upload) = uploads.get(&key) else {
        return Err(RpcError::new(400, "FILE_PART_0_MISSING"));
    };
    if big && upload.total != Some(parts) {
        return Err(RpcError::new(400, "FILE_PARTS_INVALID"));
    }
    if let Some(missing) = (0..parts).find(|p| !upload.parts.contains_key(p)) {
        return Err(RpcError::new(400, format!("FILE_PART_{missing}_MISSING")));
    }
    if upload.parts.len() != usize::try_from(parts).unwrap_or(0) {
        return Err(RpcError::new(400, "FILE_PARTS_INVALID"));
    }
    let part_size = upload.parts[&0].len();
    if parts > 1 && part_size % 1024 != 0 {
        return Err(RpcError::new(400, "FILE_PART_SIZE_INVALID"));
    }
    let last = parts - 1;
    for (index, part) in &upload.parts {
        let ok = if *index == last {
            part.len() <= part_size
        } else {
            part.len() == part_size
        };
        if !ok {
            return Err(RpcError::new(400, "FILE_PART_SIZE_CHANGED"));
        }
    }
    let upload = uploads.remove(&key).expect("checked above");
    drop(uploads);
    let mut bytes = Vec::with_capacity(upload.parts.values().map(Vec::len).sum());
    for part in upload.parts.into_values() {
        bytes.extend_from_slice(&part);
    }
    Ok(Uploaded {
        bytes,
        name: name.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small(id: i64, parts: i32) -> tl::enums::InputFile {
        tl::types::InputFile {
            id,
            parts,
            name: "f.bin".into(),
            md5_checksum: String::new(),
        }
        .into()
    }

    fn big(id: i64, parts: i32) -> tl::enums::InputFile {
        tl::types::InputFileBig {
            id,
            parts,
            name: "f.bin".into(),
        }
        .into()
    }

    fn name(result: Result<Uploaded, RpcError>) -> String {
        match result {
            Ok(_) => "OK".into(),
            Err(err) => err.message,
        }
    }

    #[test]
    fn parts_are_assembled_in_order_and_checked() {
        // A key of its own: UPLOADS is process-wide.
        let key = 0x5eed_0001;
        save_part(key, 1, 1, None, vec![2; 100]).unwrap();
        save_part(key, 1, 0, None, vec![1; 1024]).unwrap();
        assert_eq!(name(take_upload(key, &small(1, 3))), "FILE_PART_2_MISSING");
        assert_eq!(name(take_upload(key, &small(1, 1))), "FILE_PARTS_INVALID");
        assert_eq!(name(take_upload(key, &small(1, 0))), "FILE_PARTS_INVALID");
        let uploaded = take_upload(key, &small(1, 2)).unwrap();
        assert_eq!(uploaded.name, "f.bin");
        assert_eq!(uploaded.bytes.len(), 1124);
        assert_eq!(&uploaded.bytes[1023..1025], &[1, 2]);
        // Used up.
        assert_eq!(name(take_upload(key, &small(1, 2))), "FILE_PART_0_MISSING");

        // Parts of unequal sizes, or not multiples of 1 KiB.
        save_part(key, 2, 0, None, vec![0; 1024]).unwrap();
        save_part(key, 2, 1, None, vec![0; 2048]).unwrap();
        assert_eq!(
            name(take_upload(key, &small(2, 2))),
            "FILE_PART_SIZE_CHANGED"
        );
        save_part(key, 3, 0, None, vec![0; 1000]).unwrap();
        save_part(key, 3, 1, None, vec![0; 10]).unwrap();
        assert_eq!(
            name(take_upload(key, &small(3, 2))),
            "FILE_PART_SIZE_INVALID"
        );

        // Big files must be used with the part count they announced.
        save_part(key, 4, 0, Some(2), vec![0; 1024]).unwrap();
        assert_eq!(
            save_part(key, 4, 1, Some(3), vec![0; 1]).map_err(|e| e.message),
            Err("FILE_PARTS_INVALID".to_owned())
        );
        save_part(key, 4, 1, Some(2), vec![0; 1]).unwrap();
        assert_eq!(name(take_upload(key, &big(4, 3))), "FILE_PARTS_INVALID");
        assert_eq!(take_upload(key, &big(4, 2)).unwrap().bytes.len(), 1025);
    }
}
