//! Stored files (documents): their metadata is in the state (and so in
//! `sandbox.json`), their bytes one file each in `<data_dir>/files/`, or in
//! memory when the network has no data directory. File IO runs off the
//! async runtime and never under the state lock.

use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::error::{Error, Result};
use super::types::{Document, NewDocument};
use super::{Inner, Network};

/// FILES_DIR is the directory of stored files inside the data directory.
pub const FILES_DIR: &str = "files";
/// FILE_REFERENCE_LEN is the length of a document's file_reference.
const FILE_REFERENCE_LEN: usize = 16;
/// CHUNK is the 1 MiB window no `upload.getFile` request may cross.
const CHUNK: i64 = 1024 * 1024;

fn storage_error(what: &str, err: impl std::fmt::Display) -> Error {
    Error::Storage {
        detail: format!("{what}: {err}"),
    }
}

/// check_range applies Telegram's `upload.getFile` rules: `limit` is a
/// multiple of 4 KiB dividing 1 MiB, `offset` a multiple of 4 KiB, and the
/// range stays inside one 1 MiB window; with `precise`, multiples of 1 KiB
/// and any limit up to 1 MiB. Errors: LIMIT_INVALID, OFFSET_INVALID.
pub fn check_range(offset: i64, limit: i32, precise: bool) -> Result<()> {
    let limit = i64::from(limit);
    let unit = if precise { 1024 } else { 4096 };
    if limit <= 0 || limit > CHUNK || limit % unit != 0 || (!precise && CHUNK % limit != 0) {
        return Err(Error::LimitInvalid);
    }
    if offset < 0 || offset % unit != 0 {
        return Err(Error::OffsetInvalid);
    }
    if !precise && offset / CHUNK != (offset + limit - 1) / CHUNK {
        return Err(Error::LimitInvalid);
    }
    Ok(())
}

impl Inner {
    fn files_dir(&self) -> Option<PathBuf> {
        let store = self.store.as_ref()?;
        Some(store.path.parent()?.join(FILES_DIR))
    }
}

fn file_path(dir: &Path, id: i64) -> PathBuf {
    dir.join(format!("{id:016x}"))
}

fn write_file(dir: &Path, id: i64, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let path = file_path(dir, id);
    let tmp = path.with_extension("tmp");
    {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
    }
    std::fs::rename(&tmp, &path)
}

fn read_range(path: &Path, offset: u64, limit: usize) -> std::io::Result<Vec<u8>> {
    let mut file = std::fs::File::open(path)?;
    file.seek(SeekFrom::Start(offset))?;
    let mut bytes = Vec::with_capacity(limit);
    file.take(limit as u64).read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// image_size reads an image's (width, height) from its header: PNG,
/// JPEG or WebP (VP8X); `None` for anything else.
pub fn image_size(bytes: &[u8]) -> Option<(i32, i32)> {
    let be16 = |at: usize| {
        Some(i32::from(u16::from_be_bytes(
            bytes.get(at..at + 2)?.try_into().ok()?,
        )))
    };
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        let w = u32::from_be_bytes(bytes.get(16..20)?.try_into().ok()?);
        let h = u32::from_be_bytes(bytes.get(20..24)?.try_into().ok()?);
        return Some((i32::try_from(w).ok()?, i32::try_from(h).ok()?));
    }
    if bytes.starts_with(b"RIFF") && bytes.get(8..16) == Some(b"WEBPVP8X") {
        let le24 = |at: usize| -> Option<i32> {
            let b = bytes.get(at..at + 3)?;
            Some(i32::from(b[0]) | i32::from(b[1]) << 8 | i32::from(b[2]) << 16)
        };
        return Some((le24(24)? + 1, le24(27)? + 1));
    }
    if bytes.starts_with(&[0xFF, 0xD8]) {
        // Walk the segments to a start-of-frame marker.
        let mut at = 2;
        while at + 4 <= bytes.len() {
            if bytes[at] != 0xFF {
                return None;
            }
            let marker = bytes[at + 1];
            let len = usize::try_from(be16(at + 2)?).ok()?;
            if matches!(marker, 0xC0..=0xC3 | 0xC5..=0xC7 | 0xC9..=0xCB | 0xCD..=0xCF) {
                return Some((be16(at + 7)?, be16(at + 5)?));
            }
            at += 2 + len;
        }
    }
    None
}

impl Network {
    /// store_document keeps an uploaded file and returns its document (id,
    /// access hash and file_reference drawn at random; dc_id the
    /// sandbox's). Attach it to a message to share it.
    pub async fn store_document(&self, new: NewDocument) -> Result<Document> {
        let NewDocument {
            uploader,
            bytes,
            mime_type,
            file_name,
            photo,
        } = new;
        let now = self.now();
        let document = {
            let mut state = self.inner.lock();
            let id = loop {
                let id = state.random_i64() & i64::MAX;
                if id != 0 && !state.documents.contains_key(&id) {
                    break id;
                }
            };
            Document {
                id,
                access_hash: state.random_i64(),
                file_reference: state.random_bytes(FILE_REFERENCE_LEN),
                date: now,
                mime_type,
                size: i64::try_from(bytes.len()).unwrap_or(i64::MAX),
                file_name,
                dc_id: crate::DC_ID,
                uploader,
                sha256: hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&bytes)),
                photo,
            }
        };
        match self.inner.files_dir() {
            Some(dir) => {
                let id = document.id;
                tokio::task::spawn_blocking(move || write_file(&dir, id, &bytes))
                    .await
                    .map_err(|e| storage_error("file write task", e))?
                    .map_err(|e| storage_error("write file", e))?;
                self.write(|s, _| s.documents.insert(id, document.clone()));
            }
            None => {
                let mut state = self.inner.lock();
                state.blobs.insert(document.id, Arc::new(bytes));
                state.documents.insert(document.id, document.clone());
            }
        }
        Ok(document)
    }

    /// document returns a stored document's metadata.
    pub fn document(&self, id: i64) -> Option<Document> {
        self.read(|s, _| s.documents.get(&id).cloned())
    }

    /// read_document is `upload.getFile` for a document: at most `limit`
    /// bytes from `offset` (none past the end), after [`check_range`].
    /// Anyone who knows the id, access hash and file_reference may read.
    /// Errors: LOCATION_INVALID (unknown id or wrong access hash),
    /// FILE_REFERENCE_EXPIRED, LIMIT_INVALID, OFFSET_INVALID.
    pub async fn read_document(
        &self,
        id: i64,
        access_hash: i64,
        file_reference: &[u8],
        offset: i64,
        limit: i32,
        precise: bool,
    ) -> Result<(Document, Vec<u8>)> {
        check_range(offset, limit, precise)?;
        let (document, blob) = self.read(|s, _| {
            let document = s
                .documents
                .get(&id)
                .filter(|d| d.access_hash == access_hash)
                .ok_or(Error::LocationInvalid)?;
            if document.file_reference != file_reference {
                return Err(Error::FileReferenceExpired);
            }
            Ok((document.clone(), s.blobs.get(&id).cloned()))
        })?;
        let limit = usize::try_from(limit).unwrap_or(0);
        let offset = u64::try_from(offset).unwrap_or(0);
        if offset >= u64::try_from(document.size).unwrap_or(0) {
            return Ok((document, Vec::new()));
        }
        let bytes = match (blob, self.inner.files_dir()) {
            (Some(blob), _) => {
                let start = usize::try_from(offset)
                    .unwrap_or(usize::MAX)
                    .min(blob.len());
                let end = start.saturating_add(limit).min(blob.len());
                blob[start..end].to_vec()
            }
            (None, Some(dir)) => {
                let path = file_path(&dir, id);
                tokio::task::spawn_blocking(move || read_range(&path, offset, limit))
                    .await
                    .map_err(|e| storage_error("file read task", e))?
                    .map_err(|e| storage_error("read file", e))?
            }
            (None, None) => return Err(Error::LocationInvalid),
        };
        Ok((document, bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::image_size;

    #[test]
    fn image_sizes_are_read_from_headers() {
        let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
        png.extend_from_slice(&640u32.to_be_bytes());
        png.extend_from_slice(&480u32.to_be_bytes());
        assert_eq!(image_size(&png), Some((640, 480)));
        // JPEG: SOI, an APP0 segment, then SOF0 (precision, height, width).
        let jpeg = [
            0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x04, 0x00, 0x00, 0xFF, 0xC0, 0x00, 0x11, 0x08, 0x01,
            0xE0, 0x02, 0x80,
        ];
        assert_eq!(image_size(&jpeg), Some((640, 480)));
        let mut webp = b"RIFF\0\0\0\0WEBPVP8X\0\0\0\0\0\0\0\0".to_vec();
        webp.extend_from_slice(&[0x7F, 0x02, 0x00, 0xDF, 0x01, 0x00]);
        assert_eq!(image_size(&webp), Some((640, 480)));
        assert_eq!(image_size(b"%PDF-1.7"), None);
        assert_eq!(image_size(&png[..20]), None);
    }
}
