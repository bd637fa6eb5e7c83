//! MediaService: resumable uploads (CreateUpload, UploadChunk, GetUpload,
//! CompleteUpload) and resumable downloads (DownloadMedia: an upload's
//! media, or a message's file) over `service::media`.

use std::pin::Pin;

use futures::{Stream, StreamExt};
use tezgram_sdk::v1 as pb;
use tezgram_sdk::v1::media_service_server::MediaService;
use tonic::{Request, Response, Status};

use super::account::account_id;
use super::convert::timestamp;
use super::{Violations, caller};
use crate::domain::Error;
use crate::domain::login::RequestId;
use crate::domain::media::{self, Media, NewUpload, Upload, UploadId, UploadState};
use crate::links::Links;
use crate::service::Files;
use crate::service::media::{Chunk, Source};

pub struct MediaApi {
    files: Files,
    links: Option<Links>,
}

impl MediaApi {
    pub fn new(files: Files, links: Option<Links>) -> Self {
        Self { files, links }
    }

    /// media is a media's wire form, with a signed link when links are
    /// served.
    fn media(&self, media: Media) -> pb::Media {
        let download_url = self
            .links
            .as_ref()
            .map(|links| links.url(&media))
            .unwrap_or_default();
        pb::Media {
            download_url,
            ..media.into()
        }
    }
}

fn upload_id(value: &str) -> Result<UploadId, Error> {
    UploadId::try_parse(value).map_err(|_| Error::invalid("upload_id", "must be a UUID"))
}

fn hex(digest: Option<[u8; 32]>) -> String {
    digest.map(hex::encode).unwrap_or_default()
}

impl From<Upload> for pb::Upload {
    fn from(upload: Upload) -> Self {
        pb::Upload {
            upload_id: upload.id.to_string(),
            account_id: upload.account.to_string(),
            file_name: upload.file_name,
            mime_type: upload.mime_type,
            size_bytes: upload.size,
            sha256: hex(upload.sha256),
            chunk_size: upload.chunk_size as i32,
            received_bytes: upload.received,
            state: match upload.state {
                UploadState::Uploading => pb::UploadState::Uploading,
                UploadState::Completed => pb::UploadState::Completed,
                UploadState::Failed => pb::UploadState::Failed,
            }
            .into(),
            media_id: upload.media_id.unwrap_or_default(),
            create_time: Some(timestamp(upload.created_at)),
            expire_time: Some(timestamp(upload.expires_at)),
        }
    }
}

impl From<Media> for pb::Media {
    fn from(media: Media) -> Self {
        pb::Media {
            media_id: media.id,
            account_id: media.account.to_string(),
            kind: media
                .kind
                .map_or(pb::MediaKind::Unspecified, pb::MediaKind::from)
                .into(),
            file_name: media.file_name,
            mime_type: media.mime_type,
            size_bytes: media.size,
            sha256: hex(media.sha256),
            create_time: Some(timestamp(media.created_at)),
            // Signed by `MediaApi::media` when links are served.
            download_url: String::new(),
        }
    }
}

/// new_upload validates a CreateUpload, naming every bad field.
fn new_upload(request: pb::CreateUploadRequest) -> Result<NewUpload, Error> {
    let pb::CreateUploadRequest {
        account_id: account,
        file_name,
        mime_type,
        size_bytes,
        sha256,
        request_id,
    } = request;
    let mut violations = Violations::default();
    let account = violations.check(account_id("account_id", &account));
    let file_name = violations.check(media::file_name(&file_name));
    let mime_type = violations.check(media::mime_type(&mime_type));
    let size = violations.check(media::file_size(size_bytes));
    let sha256 = violations.check(media::sha256_hex(&sha256));
    let request_id = RequestId::parse(&request_id)
        .map_err(|why| violations.add("request_id", why))
        .ok();
    violations.finish()?;
    match (account, file_name, mime_type, size, sha256, request_id) {
        (Some(account), Some(file_name), Some(mime_type), Some(size), Some(sha256), Some(id)) => {
            Ok(NewUpload {
                account,
                file_name,
                mime_type,
                size,
                sha256,
                request_id: id.as_str().to_owned(),
            })
        }
        _ => Err(Error::Internal("a checked field is missing".into())),
    }
}

#[tonic::async_trait]
impl MediaService for MediaApi {
    async fn create_upload(
        &self,
        request: Request<pb::CreateUploadRequest>,
    ) -> Result<Response<pb::CreateUploadResponse>, Status> {
        let caller = caller(&request)?.clone();
        let new = new_upload(request.into_inner())?;
        let upload = self.files.create_upload(&caller, new).await?;
        Ok(Response::new(pb::CreateUploadResponse {
            upload: Some(upload.into()),
        }))
    }

    async fn upload_chunk(
        &self,
        request: Request<pb::UploadChunkRequest>,
    ) -> Result<Response<pb::UploadChunkResponse>, Status> {
        let caller = caller(&request)?.clone();
        let pb::UploadChunkRequest {
            upload_id: id,
            offset,
            data,
        } = request.into_inner();
        let id = upload_id(&id)?;
        let upload = self
            .files
            .upload_chunk(&caller, id, offset, data.into())
            .await?;
        Ok(Response::new(pb::UploadChunkResponse {
            upload: Some(upload.into()),
        }))
    }

    async fn get_upload(
        &self,
        request: Request<pb::GetUploadRequest>,
    ) -> Result<Response<pb::GetUploadResponse>, Status> {
        let caller = caller(&request)?.clone();
        let id = upload_id(&request.get_ref().upload_id)?;
        let upload = self.files.get_upload(&caller, id).await?;
        Ok(Response::new(pb::GetUploadResponse {
            upload: Some(upload.into()),
        }))
    }

    async fn complete_upload(
        &self,
        request: Request<pb::CompleteUploadRequest>,
    ) -> Result<Response<pb::CompleteUploadResponse>, Status> {
        let caller = caller(&request)?.clone();
        let id = upload_id(&request.get_ref().upload_id)?;
        let media = self.files.complete_upload(&caller, id).await?;
        Ok(Response::new(pb::CompleteUploadResponse {
            media: Some(self.media(media)),
        }))
    }

    type DownloadMediaStream =
        Pin<Box<dyn Stream<Item = Result<pb::DownloadMediaResponse, Status>> + Send>>;

    async fn download_media(
        &self,
        request: Request<pb::DownloadMediaRequest>,
    ) -> Result<Response<Self::DownloadMediaStream>, Status> {
        let caller = caller(&request)?.clone();
        let pb::DownloadMediaRequest {
            account_id: account,
            source,
            offset,
        } = request.into_inner();
        let mut violations = Violations::default();
        let account = violations.check(account_id("account_id", &account));
        let source = match source {
            Some(pb::download_media_request::Source::MediaId(id)) if !id.is_empty() => {
                Some(Source::Media(id))
            }
            Some(pb::download_media_request::Source::Message(m)) => {
                if m.chat_id == 0 {
                    violations.add("message.chat_id", "required: a chat's peer id");
                }
                if m.message_id <= 0 {
                    violations.add("message.message_id", "must be a positive message id");
                }
                Some(Source::Message {
                    chat_id: m.chat_id,
                    message_id: m.message_id,
                })
            }
            _ => {
                violations.add("source", "required: a media_id or a message");
                None
            }
        };
        if offset < 0 {
            violations.add("offset", "must not be negative");
        }
        violations.finish()?;
        let (Some(account), Some(source)) = (account, source) else {
            return Err(Error::Internal("a checked field is missing".into()).into());
        };
        let chunks = self
            .files
            .download(&caller, account, source, offset)
            .await?;
        let wire = |chunk: Chunk, media: Option<pb::Media>| pb::DownloadMediaResponse {
            offset: chunk.offset,
            data: chunk.data.to_vec(),
            total_bytes: chunk.total,
            media,
        };
        let mut chunks = Box::pin(chunks);
        // The first chunk describes the file, with a link to it.
        let first = chunks.next().await.map(|chunk| {
            let mut chunk = chunk?;
            let media = chunk.media.take().map(|media| self.media(media));
            Ok(wire(chunk, media))
        });
        let rest = chunks.map(move |chunk| Ok(wire(chunk?, None)));
        let stream = futures::stream::iter(first).chain(rest);
        Ok(Response::new(Box::pin(stream)))
    }
}
