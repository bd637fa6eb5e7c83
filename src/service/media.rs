//! Files: MediaService's resumable uploads into the blob store.
//!
//! An upload's chunk is stored in the blob store *before* the upload's
//! progress moves past it (compare-and-set from the chunk's offset), so
//! progress never claims a byte that is not stored, and a chunk retried
//! after any failure overwrites itself. Completion reads the chunks back
//! in order (a few at a time: memory stays bounded whatever the file's
//! size), checks the SHA-256, and makes the media.
//!
//! Unfinished uploads expire (`upload_ttl` after creation); a sweep
//! deletes their bytes, then their rows. It collects only uploads expired
//! for longer than `sweep_grace`, which exceeds the longest call: a chunk
//! or a completion admitted just before the expiry has finished by then.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use chrono::Utc;
use futures::{StreamExt, TryStreamExt};
use sha2::{Digest, Sha256};
use tokio::sync::watch;

use super::chats::Chats;
use crate::domain::chat::{ChatProfile, MediaKind};
use crate::domain::media::{
    CHUNK_SIZE, Media, NewUpload, RemoteFile, Upload, UploadId, UploadState, chunk_path,
    parse_received_media_id, received_media_id, received_prefix,
};
use crate::domain::ports::{BlobStore, MediaStore, StoreError, TelegramFiles};
use crate::domain::{AccountId, Caller, Error, Scope, TenantId};
use crate::service::{ago, require};

/// READ_AHEAD is how many chunks a completion reads ahead of the hash.
const READ_AHEAD: usize = 4;
/// SWEEP_BATCH is how many expired uploads one sweep round lists.
const SWEEP_BATCH: u64 = 100;

/// MediaOptions tune uploads.
#[derive(Debug, Clone)]
pub struct MediaOptions {
    /// How long an unfinished upload lives.
    pub upload_ttl: Duration,
    /// How often expired uploads are collected.
    pub sweep_interval: Duration,
    /// How long past its expiry an upload is left alone: longer than any
    /// call that may still be writing it.
    pub sweep_grace: Duration,
}

impl Default for MediaOptions {
    fn default() -> Self {
        Self {
            upload_ttl: Duration::from_secs(24 * 3600),
            sweep_interval: Duration::from_secs(600),
            sweep_grace: Duration::from_secs(600),
        }
    }
}

#[derive(Clone)]
pub struct Files {
    inner: Arc<Inner>,
}

struct Inner {
    store: Arc<dyn MediaStore>,
    blobs: Arc<dyn BlobStore>,
    telegram: Arc<dyn TelegramFiles>,
    chats: Chats,
    options: MediaOptions,
}

fn upload_not_found() -> Error {
    Error::NotFound { resource: "upload" }
}

fn not_uploading(upload: &Upload) -> Error {
    match upload.state {
        UploadState::Failed => Error::FailedPrecondition {
            reason: "CHECKSUM_MISMATCH",
            message: "the upload failed its checksum; start a new upload".into(),
        },
        _ => Error::FailedPrecondition {
            reason: "FAILED_PRECONDITION",
            message: "the upload is completed; its media_id is ready to send".into(),
        },
    }
}

fn checksum_mismatch() -> Error {
    Error::FailedPrecondition {
        reason: "CHECKSUM_MISMATCH",
        message: "sha256: the received bytes do not match the declared sha256; the upload failed, start a new one".into(),
    }
}

impl Files {
    pub fn new(
        store: Arc<dyn MediaStore>,
        blobs: Arc<dyn BlobStore>,
        telegram: Arc<dyn TelegramFiles>,
        chats: Chats,
        options: MediaOptions,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                store,
                blobs,
                telegram,
                chats,
                options,
            }),
        }
    }

    /// create_upload starts an upload, or returns the one the same
    /// request made.
    pub async fn create_upload(&self, caller: &Caller, new: NewUpload) -> Result<Upload, Error> {
        require(caller, Scope::MediaWrite)?;
        self.inner
            .chats
            .account(&caller.tenant, new.account)
            .await?;
        let now = Utc::now();
        let ttl = chrono::Duration::from_std(self.inner.options.upload_ttl)
            .unwrap_or(chrono::Duration::MAX);
        let upload = Upload {
            id: UploadId::now_v7(),
            tenant: caller.tenant.clone(),
            account: new.account,
            file_name: new.file_name.clone(),
            mime_type: new.mime_type.clone(),
            size: new.size,
            sha256: new.sha256,
            request_id: Some(new.request_id.clone()),
            chunk_size: CHUNK_SIZE,
            received: 0,
            state: UploadState::Uploading,
            media_id: None,
            created_at: now,
            expires_at: now.checked_add_signed(ttl).unwrap_or(now),
        };
        let stored = self.inner.store.create_upload(&upload).await?;
        if stored.id != upload.id {
            if !stored.same_request(&new) {
                return Err(Error::InvalidInput {
                    reason: "REQUEST_ID_REUSED",
                    field: "request_id",
                    description: "this request_id was used for a different upload".into(),
                });
            }
            if stored.expired(now) {
                return Err(Error::FailedPrecondition {
                    reason: "FAILED_PRECONDITION",
                    message: "the upload this request_id created expired; start a new one with a new request_id".into(),
                });
            }
        }
        Ok(stored)
    }

    /// get_upload is an upload of the caller's tenant that has not expired.
    pub async fn get_upload(&self, caller: &Caller, id: UploadId) -> Result<Upload, Error> {
        require(caller, Scope::MediaWrite)?;
        self.load(caller, id).await
    }

    async fn load(&self, caller: &Caller, id: UploadId) -> Result<Upload, Error> {
        match self.inner.store.upload(&caller.tenant, id).await? {
            Some(upload) if !upload.expired(Utc::now()) => Ok(upload),
            _ => Err(upload_not_found()),
        }
    }

    /// upload_chunk stores the chunk at `offset`: the next one, or a retry
    /// of one already stored (acknowledged when the same, not written
    /// again; refused when it differs).
    pub async fn upload_chunk(
        &self,
        caller: &Caller,
        id: UploadId,
        offset: i64,
        data: Bytes,
    ) -> Result<Upload, Error> {
        require(caller, Scope::MediaWrite)?;
        let upload = self.load(caller, id).await?;
        if upload.state != UploadState::Uploading {
            return Err(not_uploading(&upload));
        }
        let len = upload.chunk_len(offset)?;
        if data.len() as i64 != len {
            return Err(Error::invalid(
                "data",
                format!(
                    "the chunk at offset {offset} must be {len} bytes, not {}",
                    data.len()
                ),
            ));
        }
        if offset < upload.received {
            return self.retried(upload, offset, &data).await;
        }
        if offset > upload.received {
            return Err(Error::UploadBehind {
                reason: "UPLOAD_OFFSET_MISMATCH",
                received_bytes: upload.received,
            });
        }
        let index = offset / upload.chunk_size;
        let sent = data.clone();
        self.inner
            .blobs
            .put(&chunk_path(&upload.prefix(), index), data)
            .await?;
        match self
            .inner
            .store
            .advance_upload(&caller.tenant, id, offset, offset + len)
            .await
        {
            Ok(()) => Ok(Upload {
                received: offset + len,
                ..upload
            }),
            // A racing writer of the same chunk advanced first, or the
            // upload moved on: what it is now decides.
            Err(StoreError::Conflict { .. }) => {
                let now = self.load(caller, id).await?;
                if now.state != UploadState::Uploading {
                    return Err(not_uploading(&now));
                }
                self.retried(now, offset, &sent).await
            }
            Err(err) => Err(err.into()),
        }
    }

    /// retried answers a chunk sent again: acknowledged when it is the
    /// chunk stored at its offset, refused (nothing written) when it
    /// differs.
    async fn retried(&self, upload: Upload, offset: i64, data: &Bytes) -> Result<Upload, Error> {
        let path = chunk_path(&upload.prefix(), offset / upload.chunk_size);
        match self.inner.blobs.get(&path).await? {
            Some(stored) if stored == *data => Ok(upload),
            Some(_) => Err(Error::invalid(
                "data",
                format!("differs from the chunk already received at offset {offset}"),
            )),
            None => Err(Error::Internal(format!(
                "chunk {} of upload {} is missing",
                offset / upload.chunk_size,
                upload.id
            ))),
        }
    }

    /// complete_upload checks the received bytes and makes the media;
    /// again, it returns the same media.
    pub async fn complete_upload(&self, caller: &Caller, id: UploadId) -> Result<Media, Error> {
        require(caller, Scope::MediaWrite)?;
        let upload = self.load(caller, id).await?;
        match upload.state {
            UploadState::Completed => return self.made_by(&upload).await,
            UploadState::Failed => return Err(not_uploading(&upload)),
            UploadState::Uploading => {}
        }
        if upload.received < upload.size {
            return Err(Error::UploadBehind {
                reason: "UPLOAD_INCOMPLETE",
                received_bytes: upload.received,
            });
        }
        let digest = self.digest(&upload).await?;
        if upload.sha256.is_some_and(|declared| declared != digest) {
            match self.inner.store.fail_upload(&caller.tenant, id).await {
                // Conflict: a racing completion failed it first.
                Ok(()) | Err(StoreError::Conflict { .. }) => return Err(checksum_mismatch()),
                Err(err) => return Err(err.into()),
            }
        }
        let media = Media {
            id: uuid::Uuid::now_v7().to_string(),
            tenant: caller.tenant.clone(),
            account: upload.account,
            kind: None,
            file_name: upload.file_name.clone(),
            mime_type: upload.mime_type.clone(),
            size: upload.size,
            sha256: Some(digest),
            blob_prefix: Some(upload.prefix()),
            created_at: Utc::now(),
        };
        match self
            .inner
            .store
            .complete_upload(&caller.tenant, id, &media)
            .await
        {
            Ok(()) => Ok(media),
            // A racing completion made the media first: that one.
            Err(StoreError::Conflict { .. }) => {
                let now = self.load(caller, id).await?;
                match now.state {
                    UploadState::Completed => self.made_by(&now).await,
                    _ => Err(not_uploading(&now)),
                }
            }
            Err(err) => Err(err.into()),
        }
    }

    /// sendable is an uploaded media of the account (whose bytes the
    /// gateway holds whole), for a send; NOT_FOUND (on `media_id`)
    /// otherwise. A received file's media is not: its bytes are kept only
    /// as far as it was read.
    pub async fn sendable(
        &self,
        tenant: &TenantId,
        account: AccountId,
        media_id: &str,
    ) -> Result<Media, Error> {
        if parse_received_media_id(media_id).is_some() {
            return Err(Error::NotFound {
                resource: "media_id",
            });
        }
        match self.inner.store.media(tenant, media_id).await? {
            Some(media) if media.account == account && media.blob_prefix.is_some() => Ok(media),
            _ => Err(Error::NotFound {
                resource: "media_id",
            }),
        }
    }

    /// chunk is chunk `index` of a stored media's bytes.
    pub async fn chunk(&self, media: &Media, index: i64) -> Result<Bytes, Error> {
        let missing = || Error::Internal(format!("chunk {index} of media {} is missing", media.id));
        let prefix = media.blob_prefix.as_deref().ok_or_else(missing)?;
        self.inner
            .blobs
            .get(&chunk_path(prefix, index))
            .await?
            .ok_or_else(missing)
    }

    /// download reads a file from `offset` on: chunks of at most 512 KiB,
    /// in order, each read from the blob store or, for a received file
    /// not read before, from Telegram (and kept).
    pub async fn download(
        &self,
        caller: &Caller,
        account: AccountId,
        source: Source,
        offset: i64,
    ) -> Result<impl futures::Stream<Item = Result<Chunk, Error>> + Send + 'static, Error> {
        require(caller, Scope::MediaRead)?;
        self.inner.chats.account(&caller.tenant, account).await?;
        let opened = self.open(&caller.tenant, account, source).await?;
        if offset > opened.media.size {
            return Err(Error::OutOfRange {
                field: "offset",
                description: format!("past the end of the file ({} bytes)", opened.media.size),
            });
        }
        Ok(self.read(opened, offset))
    }

    /// open finds the file a source names, for [`Files::read`]: the caller
    /// may read it (the account is the tenant's, checked or signed).
    pub async fn open(
        &self,
        tenant: &TenantId,
        account: AccountId,
        source: Source,
    ) -> Result<Opened, Error> {
        let not_found = || Error::NotFound { resource: "media" };
        let source = match source {
            Source::Media(id) => match parse_received_media_id(&id) {
                Some((owner, chat_id, message_id)) if owner == account => Source::Message {
                    chat_id,
                    message_id,
                },
                Some(_) => return Err(not_found()),
                None => Source::Media(id),
            },
            message => message,
        };
        let (media, message) = match source {
            Source::Media(id) => match self.sendable(tenant, account, &id).await {
                Ok(media) => (media, None),
                Err(Error::NotFound { .. }) => return Err(not_found()),
                Err(err) => return Err(err),
            },
            Source::Message {
                chat_id,
                message_id,
            } => self.received(tenant, account, chat_id, message_id).await?,
        };
        let prefix = media.blob_prefix.clone().ok_or_else(not_found)?;
        Ok(Opened {
            media,
            prefix,
            message,
        })
    }

    /// read streams an opened file from `offset` (at most its size) on.
    pub fn read(
        &self,
        opened: Opened,
        offset: i64,
    ) -> impl futures::Stream<Item = Result<Chunk, Error>> + Send + 'static {
        let Opened {
            media,
            prefix,
            message,
        } = opened;
        let download = Download {
            files: self.clone(),
            media,
            prefix,
            message,
            remote: None,
            offset,
            first: true,
            done: false,
        };
        futures::stream::unfold(download, |mut download| async move {
            let chunk = download.next().await?;
            Some((chunk, download))
        })
    }

    /// received is the media of a message's file (recorded the first time
    /// it is asked for) and the message it came with.
    async fn received(
        &self,
        tenant: &TenantId,
        account: AccountId,
        chat_id: i64,
        message_id: i64,
    ) -> Result<(Media, Option<(ChatProfile, i64)>), Error> {
        let chats = &self.inner.chats;
        let chat = chats.known_chat(tenant, account, chat_id).await?;
        let message = chats.message(tenant, account, chat_id, message_id).await?;
        let info = message
            .media
            .filter(|info| info.kind != MediaKind::Other)
            .ok_or(Error::NotFound { resource: "media" })?;
        let id = received_media_id(account, chat_id, message_id);
        if let Some(media) = self.inner.store.media(tenant, &id).await? {
            return Ok((media, Some((chat.profile, message_id))));
        }
        let size = match info.size_bytes {
            Some(size) => size,
            None => {
                self.inner
                    .telegram
                    .message_file(account, &chat.profile, message_id)
                    .await?
                    .ok_or(Error::NotFound { resource: "media" })?
                    .size
            }
        };
        let media = Media {
            id,
            tenant: tenant.clone(),
            account,
            kind: Some(info.kind),
            file_name: info.file_name.unwrap_or_default(),
            mime_type: info.mime_type.unwrap_or_default(),
            size,
            sha256: None,
            blob_prefix: Some(received_prefix(account, chat_id, message_id)),
            created_at: Utc::now(),
        };
        let media = self.inner.store.add_media(&media).await?;
        Ok((media, Some((chat.profile, message_id))))
    }

    /// made_by is the media a completed upload made.
    async fn made_by(&self, upload: &Upload) -> Result<Media, Error> {
        let id = upload.media_id.as_deref().ok_or_else(|| {
            Error::Internal(format!("completed upload {} has no media", upload.id))
        })?;
        self.inner
            .store
            .media(&upload.tenant, id)
            .await?
            .ok_or_else(|| Error::Internal(format!("the media of upload {} is gone", upload.id)))
    }

    /// digest is the SHA-256 of an upload's stored chunks, read in order a
    /// few at a time.
    async fn digest(&self, upload: &Upload) -> Result<[u8; 32], Error> {
        let prefix = upload.prefix();
        let blobs = self.inner.blobs.clone();
        let mut chunks = futures::stream::iter(0..upload.chunks())
            .map(|index| {
                let (blobs, path) = (blobs.clone(), chunk_path(&prefix, index));
                async move {
                    let bytes = blobs.get(&path).await?;
                    Ok::<_, Error>((index, bytes))
                }
            })
            .buffered(READ_AHEAD);
        let mut hasher = Sha256::new();
        while let Some((index, bytes)) = chunks.try_next().await? {
            let expected = upload.chunk_len(index * upload.chunk_size)?;
            match bytes {
                Some(bytes) if bytes.len() as i64 == expected => hasher.update(&bytes),
                found => {
                    return Err(Error::Internal(format!(
                        "chunk {index} of upload {} is {} in the blob store",
                        upload.id,
                        match found {
                            Some(_) => "the wrong size",
                            None => "missing",
                        }
                    )));
                }
            }
        }
        Ok(hasher.finalize().into())
    }

    /// sweep deletes the uploads that expired (past the grace) and their
    /// bytes; how many.
    pub async fn sweep(&self) -> Result<usize, Error> {
        let before = ago(self.inner.options.sweep_grace);
        let mut swept = 0;
        loop {
            let expired = self
                .inner
                .store
                .expired_uploads(before, SWEEP_BATCH)
                .await?;
            let full = expired.len() as u64 == SWEEP_BATCH;
            for upload in expired {
                // Bytes first: a row is never gone while its bytes remain.
                self.inner.blobs.delete_prefix(&upload.prefix()).await?;
                self.inner.store.delete_upload(&upload).await?;
                swept += 1;
            }
            if !full {
                return Ok(swept);
            }
        }
    }

    /// run sweeps expired uploads every `sweep_interval` until `stop`.
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        let mut tick = tokio::time::interval(self.inner.options.sweep_interval);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = stop.wait_for(|stop| *stop) => return,
            }
            match self.sweep().await {
                Ok(0) => {}
                Ok(swept) => tracing::info!(swept, "expired uploads collected"),
                Err(err) => tracing::warn!(error = %err, "collecting expired uploads failed"),
            }
        }
    }
}

/// Source is the file a download reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A `media_id`: an upload's media, or a received file's.
    Media(String),
    /// A message's file.
    Message { chat_id: i64, message_id: i64 },
}

/// Chunk is one piece of a download.
#[derive(Debug, Clone)]
pub struct Chunk {
    /// Where `data` is in the file.
    pub offset: i64,
    pub data: Bytes,
    /// The file's size.
    pub total: i64,
    /// What the file is; on the first chunk only.
    pub media: Option<Media>,
}

/// Opened is a file found for reading.
#[derive(Debug, Clone)]
pub struct Opened {
    pub media: Media,
    prefix: String,
    /// The message a received file came with; `None` for uploads.
    message: Option<(ChatProfile, i64)>,
}

/// Download is one DownloadMedia stream's state, advanced as its client
/// reads: one chunk in memory at a time.
struct Download {
    files: Files,
    media: Media,
    prefix: String,
    /// The message a received file came with; `None` for uploads.
    message: Option<(ChatProfile, i64)>,
    /// Where Telegram serves the file, once asked.
    remote: Option<RemoteFile>,
    /// The next byte to send.
    offset: i64,
    first: bool,
    done: bool,
}

impl Download {
    /// next is the download's next chunk, `None` once the file was sent.
    async fn next(&mut self) -> Option<Result<Chunk, Error>> {
        if self.done {
            return None;
        }
        let size = self.media.size;
        let result = match self.offset >= size {
            // An offset at the end: one empty chunk, as the proto says.
            true => Ok(Bytes::new()),
            false => self.chunk(self.offset / CHUNK_SIZE).await,
        };
        let bytes = match result {
            Ok(bytes) => bytes,
            Err(err) => {
                self.done = true;
                return Some(Err(err));
            }
        };
        let start = usize::try_from(self.offset % CHUNK_SIZE).unwrap_or_default();
        let data = bytes.slice(start.min(bytes.len())..);
        let offset = self.offset;
        self.offset += data.len() as i64;
        if self.offset >= size || data.is_empty() {
            self.done = true;
        }
        let media = std::mem::take(&mut self.first).then(|| self.media.clone());
        Some(Ok(Chunk {
            offset,
            data,
            total: size,
            media,
        }))
    }

    /// chunk is chunk `index`: from the blob store, or fetched from
    /// Telegram (and kept) the first time it is read.
    async fn chunk(&mut self, index: i64) -> Result<Bytes, Error> {
        // An upload's chunks are all stored.
        let Some((chat, message_id)) = self.message.clone() else {
            return self.files.chunk(&self.media, index).await;
        };
        let inner = &self.files.inner;
        let path = chunk_path(&self.prefix, index);
        if let Some(bytes) = inner.blobs.get(&path).await? {
            return Ok(bytes);
        }
        let account = self.media.account;
        // Twice at most: once more with a fresh file reference.
        for fresh in [false, true] {
            if fresh || self.remote.is_none() {
                self.remote = Some(
                    inner
                        .telegram
                        .message_file(account, &chat, message_id)
                        .await?
                        .ok_or(Error::NotFound { resource: "media" })?,
                );
            }
            let remote = self.remote.as_ref().expect("located just now");
            match inner.telegram.file_chunk(account, remote, index).await {
                Ok(bytes) => {
                    let expected = (self.media.size - index * CHUNK_SIZE).min(CHUNK_SIZE);
                    if bytes.len() as i64 != expected {
                        return Err(Error::Unavailable(format!(
                            "telegram (chunk {index} of a file came {} bytes long, not {expected})",
                            bytes.len()
                        )));
                    }
                    inner.blobs.put(&path, bytes.clone()).await?;
                    return Ok(bytes);
                }
                Err(Error::FailedPrecondition {
                    reason: "FILE_REFERENCE_EXPIRED",
                    ..
                }) if !fresh => continue,
                Err(Error::FailedPrecondition {
                    reason: "FILE_REFERENCE_EXPIRED",
                    ..
                }) => {
                    return Err(Error::Unavailable(
                        "telegram (a fresh file reference expired at once)".into(),
                    ));
                }
                Err(err) => return Err(err),
            }
        }
        unreachable!("the second attempt returns")
    }
}
