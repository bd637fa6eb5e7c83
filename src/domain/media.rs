//! Media: files moving in and out of the gateway. An [`Upload`] is a file
//! being received in chunks (resumable: each chunk is stored before the
//! upload's progress moves past it); once complete and checked it becomes
//! [`Media`], which messages can carry.
//!
//! Bytes live in the blob store as one object per chunk
//! ([`chunk_path`]): a chunk is written whole or not at all, a retried one
//! overwrites itself, a download reads from any chunk on, and no file is
//! ever held in memory or copied to be assembled. Every object of an
//! account lives under [`account_prefix`], so deleting an account erases
//! its bytes with one prefix.

use chrono::{DateTime, Utc};

use super::{AccountId, Error, TenantId};
use crate::domain::chat::MediaKind;

/// CHUNK_SIZE is the size of every chunk but a file's last: 512 KiB,
/// Telegram's upload part and download chunk size.
pub const CHUNK_SIZE: i64 = 524_288;

/// MAX_FILE_SIZE is Telegram's limit on a file: 2000 MiB.
pub const MAX_FILE_SIZE: i64 = 2_097_152_000;

/// MAX_FILE_NAME is the longest file name, in bytes.
const MAX_FILE_NAME: usize = 255;

/// DEFAULT_MIME_TYPE stands in for a MIME type the client did not give.
pub const DEFAULT_MIME_TYPE: &str = "application/octet-stream";

/// UploadId names an upload (a UUID).
pub type UploadId = uuid::Uuid;

/// UploadState is where an upload stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UploadState {
    /// Chunks are being received.
    Uploading,
    /// Checked and turned into media.
    Completed,
    /// Its bytes did not match the declared SHA-256.
    Failed,
}

impl UploadState {
    pub fn as_str(self) -> &'static str {
        match self {
            UploadState::Uploading => "uploading",
            UploadState::Completed => "completed",
            UploadState::Failed => "failed",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "uploading" => Some(UploadState::Uploading),
            "completed" => Some(UploadState::Completed),
            "failed" => Some(UploadState::Failed),
            _ => None,
        }
    }
}

/// NewUpload is a validated CreateUpload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUpload {
    pub account: AccountId,
    pub file_name: String,
    pub mime_type: String,
    pub size: i64,
    /// The SHA-256 the client declared, checked on completion.
    pub sha256: Option<[u8; 32]>,
    /// Makes CreateUpload idempotent per account.
    pub request_id: String,
}

/// Upload is a file being received in chunks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upload {
    pub id: UploadId,
    pub tenant: TenantId,
    pub account: AccountId,
    pub file_name: String,
    pub mime_type: String,
    pub size: i64,
    pub sha256: Option<[u8; 32]>,
    pub request_id: Option<String>,
    pub chunk_size: i64,
    /// Bytes stored from the start: the next chunk's offset.
    pub received: i64,
    pub state: UploadState,
    pub media_id: Option<String>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

impl Upload {
    /// same_request says whether `new` asks for this upload again (a retry
    /// of the CreateUpload that made it).
    pub fn same_request(&self, new: &NewUpload) -> bool {
        self.account == new.account
            && self.file_name == new.file_name
            && self.mime_type == new.mime_type
            && self.size == new.size
            && self.sha256 == new.sha256
    }

    /// expired: an unfinished upload past its expiry is gone for callers.
    pub fn expired(&self, now: DateTime<Utc>) -> bool {
        self.state != UploadState::Completed && self.expires_at <= now
    }

    /// chunk_len is the length the chunk at `offset` must have; an error
    /// names the field that is wrong.
    pub fn chunk_len(&self, offset: i64) -> Result<i64, Error> {
        if offset < 0 || offset % self.chunk_size != 0 {
            return Err(Error::invalid(
                "offset",
                format!("must be a multiple of chunk_size ({})", self.chunk_size),
            ));
        }
        if offset >= self.size {
            return Err(Error::invalid(
                "offset",
                format!("past the end of the file ({} bytes)", self.size),
            ));
        }
        Ok((self.size - offset).min(self.chunk_size))
    }

    /// chunks is how many chunks the whole file has.
    pub fn chunks(&self) -> i64 {
        chunk_count(self.size, self.chunk_size)
    }

    /// prefix is where the upload's chunks are stored.
    pub fn prefix(&self) -> String {
        upload_prefix(self.account, self.id)
    }
}

/// Media is a stored file messages can carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Media {
    pub id: String,
    pub tenant: TenantId,
    pub account: AccountId,
    /// `None` for an upload not sent yet (the send decides).
    pub kind: Option<MediaKind>,
    pub file_name: String,
    pub mime_type: String,
    pub size: i64,
    pub sha256: Option<[u8; 32]>,
    /// Where its chunks are, once the gateway holds its bytes.
    pub blob_prefix: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// PHOTO_MAX is the largest file Telegram sends as a photo: 10 MB.
pub const PHOTO_MAX: i64 = 10 * 1024 * 1024;

/// send_kind is how a file is sent: as `send_as`, when its MIME type (and
/// size) allow it, or chosen from its MIME type as the proto documents.
/// Errors name `send_as`.
pub fn send_kind(
    send_as: Option<MediaKind>,
    mime_type: &str,
    size: i64,
) -> Result<MediaKind, Error> {
    let essence = mime_type.split(';').next().unwrap_or_default().trim();
    let top = essence.split('/').next().unwrap_or_default();
    let photo = matches!(essence, "image/jpeg" | "image/png" | "image/webp") && size <= PHOTO_MAX;
    let Some(kind) = send_as else {
        return Ok(match essence {
            _ if photo => MediaKind::Photo,
            "video/mp4" => MediaKind::Video,
            "audio/mpeg" => MediaKind::Audio,
            "audio/ogg" => MediaKind::Voice,
            _ => MediaKind::Document,
        });
    };
    let fits = match kind {
        MediaKind::Photo => photo,
        MediaKind::Video | MediaKind::VideoNote => top == "video",
        MediaKind::Animation => matches!(essence, "video/mp4" | "image/gif"),
        MediaKind::Audio => top == "audio",
        MediaKind::Voice => matches!(essence, "audio/ogg" | "audio/mpeg" | "audio/mp4"),
        MediaKind::Document => true,
        MediaKind::Sticker | MediaKind::Other => false,
    };
    if fits {
        return Ok(kind);
    }
    Err(Error::invalid(
        "send_as",
        match kind {
            MediaKind::Photo => format!(
                "a photo must be image/jpeg, image/png or image/webp of at most {PHOTO_MAX} bytes, not {mime_type} of {size}"
            ),
            _ => format!("a {mime_type} file cannot be sent as {kind:?}"),
        },
    ))
}

/// RemoteFile is where Telegram serves a received file. `location` is
/// the adapter's own (opaque here); it holds a file reference that
/// expires, so it is fetched again rather than stored for long.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteFile {
    pub location: Vec<u8>,
    pub size: i64,
    pub dc_id: i32,
}

/// received_media_id is the `media_id` of the file of a received (or
/// sent) message: the account, chat and message it came with.
pub fn received_media_id(account: AccountId, chat_id: i64, message_id: i64) -> String {
    format!("r:{account}:{chat_id}:{message_id}")
}

/// parse_received_media_id reads a [`received_media_id`] back.
pub fn parse_received_media_id(id: &str) -> Option<(AccountId, i64, i64)> {
    let mut parts = id.strip_prefix("r:")?.split(':');
    let account = parts.next()?.parse().ok()?;
    let chat_id = parts.next()?.parse().ok()?;
    let message_id = parts.next()?.parse().ok()?;
    parts
        .next()
        .is_none()
        .then_some((account, chat_id, message_id))
}

/// received_prefix is where a message's file is kept once downloaded.
pub fn received_prefix(account: AccountId, chat_id: i64, message_id: i64) -> String {
    format!(
        "{}/received/{chat_id}/{message_id}",
        account_prefix(account)
    )
}

/// chunk_count is how many chunks of `chunk_size` a file of `size` has.
pub fn chunk_count(size: i64, chunk_size: i64) -> i64 {
    (size + chunk_size - 1) / chunk_size
}

/// account_prefix is where every object of an account lives.
pub fn account_prefix(account: AccountId) -> String {
    format!("accounts/{account}")
}

/// upload_prefix is where an upload's chunks live.
pub fn upload_prefix(account: AccountId, upload: UploadId) -> String {
    format!("{}/uploads/{upload}", account_prefix(account))
}

/// chunk_path is the object of chunk `index` of the file under `prefix`;
/// zero-padded, so objects list in file order.
pub fn chunk_path(prefix: &str, index: i64) -> String {
    format!("{prefix}/{index:06}")
}

/// file_name checks a client's file name: 1..=255 bytes, no path
/// separators, no control characters.
pub fn file_name(value: &str) -> Result<String, Error> {
    if value.is_empty() || value.len() > MAX_FILE_NAME {
        return Err(Error::invalid(
            "file_name",
            format!("must be 1 to {MAX_FILE_NAME} bytes"),
        ));
    }
    if value.contains(['/', '\\']) || value.chars().any(char::is_control) {
        return Err(Error::invalid(
            "file_name",
            "must not hold \"/\", \"\\\" or control characters",
        ));
    }
    Ok(value.to_owned())
}

/// mime_type checks a MIME type (`type/subtype`, optionally with
/// parameters) and returns it lowercased; empty means
/// `application/octet-stream`.
pub fn mime_type(value: &str) -> Result<String, Error> {
    if value.is_empty() {
        return Ok(DEFAULT_MIME_TYPE.to_owned());
    }
    let malformed = || Error::invalid("mime_type", "must be a MIME type like image/png");
    if value.len() > 255 {
        return Err(malformed());
    }
    let essence = value.split(';').next().unwrap_or_default().trim();
    let (kind, subtype) = essence.split_once('/').ok_or_else(malformed)?;
    // RFC 6838's restricted-name characters.
    let token = |s: &str| {
        !s.is_empty()
            && s.len() <= 127
            && s.bytes().all(|b| {
                b.is_ascii_alphanumeric()
                    || matches!(
                        b,
                        b'!' | b'#' | b'$' | b'&' | b'-' | b'^' | b'_' | b'.' | b'+'
                    )
            })
    };
    if !token(kind) || !token(subtype) || value.chars().any(char::is_control) {
        return Err(malformed());
    }
    Ok(value.trim().to_ascii_lowercase())
}

/// sha256_hex checks a declared SHA-256: empty (none) or 64 lowercase hex
/// digits.
pub fn sha256_hex(value: &str) -> Result<Option<[u8; 32]>, Error> {
    if value.is_empty() {
        return Ok(None);
    }
    let bad = || Error::invalid("sha256", "must be 64 lowercase hex digits");
    if value.len() != 64
        || !value
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    {
        return Err(bad());
    }
    let mut out = [0u8; 32];
    hex::decode_to_slice(value, &mut out).map_err(|_| bad())?;
    Ok(Some(out))
}

/// file_size checks a declared size: 1..=2000 MiB.
pub fn file_size(value: i64) -> Result<i64, Error> {
    if (1..=MAX_FILE_SIZE).contains(&value) {
        Ok(value)
    } else {
        Err(Error::invalid(
            "size_bytes",
            format!("must be 1 to {MAX_FILE_SIZE} bytes (2000 MiB)"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mime_types_are_checked_and_lowercased() {
        assert_eq!(mime_type("").unwrap(), DEFAULT_MIME_TYPE);
        assert_eq!(mime_type("Image/PNG").unwrap(), "image/png");
        assert_eq!(
            mime_type("text/plain; charset=utf-8").unwrap(),
            "text/plain; charset=utf-8"
        );
        for bad in [
            "png",
            "image/",
            "/png",
            "image/p ng",
            "image/png\n",
            "a/b/c",
        ] {
            assert!(mime_type(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn file_names_refuse_paths_and_oversize() {
        assert!(file_name("invoice.pdf").is_ok());
        assert!(file_name("счёт.pdf").is_ok());
        for bad in ["", "a/b", "a\\b", "a\0b", &"x".repeat(256)] {
            assert!(file_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn sha256_must_be_lowercase_hex() {
        let hex = "ab".repeat(32);
        assert_eq!(sha256_hex(&hex).unwrap(), Some([0xab; 32]));
        assert_eq!(sha256_hex("").unwrap(), None);
        assert!(sha256_hex(&"AB".repeat(32)).is_err());
        assert!(sha256_hex(&"ab".repeat(31)).is_err());
    }

    #[test]
    fn the_kind_follows_the_mime_type_unless_asked_and_allowed() {
        use MediaKind::*;
        assert_eq!(send_kind(None, "image/png", 1000).unwrap(), Photo);
        assert_eq!(
            send_kind(None, "image/png", PHOTO_MAX + 1).unwrap(),
            Document
        );
        assert_eq!(send_kind(None, "video/mp4", 1).unwrap(), Video);
        assert_eq!(send_kind(None, "audio/mpeg", 1).unwrap(), Audio);
        assert_eq!(send_kind(None, "audio/ogg", 1).unwrap(), Voice);
        assert_eq!(send_kind(None, "application/pdf", 1).unwrap(), Document);
        assert_eq!(send_kind(Some(Document), "image/png", 1).unwrap(), Document);
        assert_eq!(
            send_kind(Some(Animation), "image/gif", 1).unwrap(),
            Animation
        );
        for (kind, mime) in [
            (Photo, "application/pdf"),
            (Video, "audio/ogg"),
            (Voice, "text/plain"),
        ] {
            assert!(send_kind(Some(kind), mime, 1).is_err(), "{kind:?} {mime}");
        }
    }

    #[test]
    fn received_media_ids_round_trip() {
        let account = AccountId::new();
        let id = received_media_id(account, -1001234, 42);
        assert!(id.len() <= 128);
        assert_eq!(parse_received_media_id(&id), Some((account, -1001234, 42)));
        for bad in [
            "",
            "r:",
            "r:x:1:2",
            &format!("r:{account}:1"),
            &format!("{id}:9"),
        ] {
            assert_eq!(parse_received_media_id(bad), None, "{bad}");
        }
    }

    #[test]
    fn chunks_are_checked_against_the_file() {
        let upload = Upload {
            id: UploadId::nil(),
            tenant: TenantId::parse("acme").unwrap(),
            account: AccountId::new(),
            file_name: "f".into(),
            mime_type: DEFAULT_MIME_TYPE.into(),
            size: CHUNK_SIZE * 2 + 10,
            sha256: None,
            request_id: None,
            chunk_size: CHUNK_SIZE,
            received: 0,
            state: UploadState::Uploading,
            media_id: None,
            created_at: Utc::now(),
            expires_at: Utc::now(),
        };
        assert_eq!(upload.chunks(), 3);
        assert_eq!(upload.chunk_len(0).unwrap(), CHUNK_SIZE);
        assert_eq!(upload.chunk_len(CHUNK_SIZE * 2).unwrap(), 10);
        assert!(upload.chunk_len(1).is_err());
        assert!(upload.chunk_len(CHUNK_SIZE * 3).is_err());
        assert!(upload.chunk_len(-CHUNK_SIZE).is_err());
    }
}
