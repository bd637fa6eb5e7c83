//! MediaService's uploads through the real server, into the real blob
//! store the gateway is configured with (the local filesystem on the
//! SQLite suite; the S3-compatible server on the PostgreSQL suite, with
//! `TEZGRAM_TEST_S3_URL`): chunks resume after a lost connection and land
//! byte-identical; chunks out of turn or of the wrong size, bad fields,
//! other tenants and missing scopes are refused and store nothing; a
//! checksum mismatch fails the upload; racing writers agree; unfinished
//! uploads expire with their bytes; a deleted account takes its files.
//! Sent files reach the recipient byte-identical, once, even when the
//! gateway is killed half way through handing a large one to Telegram.

use std::time::Duration;

use sha2::{Digest, Sha256};
use tezgram::domain::Scope;
use tezgram::domain::media::{CHUNK_SIZE, chunk_path, upload_prefix};
use tezgram::domain::ports::BlobStore;
use tezgram::storage::Store;
use tezgram_sandbox::{RemoteLink, SandboxLink};
use tezgram_sdk::v1 as pb;
use tezgram_sdk::v1::chat_service_client::ChatServiceClient;
use tezgram_sdk::v1::media_service_client::MediaServiceClient;
use tezgram_sdk::v1::message_service_client::MessageServiceClient;
use tonic::Code;
use tonic::transport::Channel;
use tonic_types::StatusExt;

use crate::clients::{Clients, eventually, reason};
use crate::db::TestDb;
use crate::fanout::process_env;
use crate::messaging::connected_account;
use crate::sandbox_shared::{ADMIN_TOKEN, Sandbox};
use crate::sending::{Gateway, TENANT, chat_with, fields, quick_pacing};
use crate::server::{TestServer, authed, with_api_key};

const CHUNK: usize = CHUNK_SIZE as usize;

/// Uploader is a MediaService client of one tenant.
struct Uploader {
    media: MediaServiceClient<Channel>,
    token: String,
}

impl Uploader {
    async fn of(server: &TestServer, tenant: &str) -> Uploader {
        Uploader {
            media: MediaServiceClient::new(server.channel().await),
            token: server.token(tenant),
        }
    }

    async fn create(
        &mut self,
        account_id: &str,
        file: &[u8],
        sha256: &str,
        request_id: &str,
    ) -> Result<pb::Upload, tonic::Status> {
        self.create_with(pb::CreateUploadRequest {
            account_id: account_id.into(),
            file_name: "invoice.pdf".into(),
            mime_type: "application/pdf".into(),
            size_bytes: file.len() as i64,
            sha256: sha256.into(),
            request_id: request_id.into(),
        })
        .await
    }

    async fn create_with(
        &mut self,
        request: pb::CreateUploadRequest,
    ) -> Result<pb::Upload, tonic::Status> {
        let response = self
            .media
            .create_upload(authed(request, &self.token))
            .await?;
        Ok(response.into_inner().upload.expect("an upload"))
    }

    async fn chunk(
        &mut self,
        upload_id: &str,
        offset: usize,
        data: &[u8],
    ) -> Result<pb::Upload, tonic::Status> {
        let request = pb::UploadChunkRequest {
            upload_id: upload_id.into(),
            offset: offset as i64,
            data: data.to_vec(),
        };
        let response = self
            .media
            .upload_chunk(authed(request, &self.token))
            .await?;
        Ok(response.into_inner().upload.expect("an upload"))
    }

    /// chunk_of sends chunk `index` of `file`.
    async fn chunk_of(&mut self, upload_id: &str, file: &[u8], index: usize) -> pb::Upload {
        let start = index * CHUNK;
        let end = (start + CHUNK).min(file.len());
        self.chunk(upload_id, start, &file[start..end])
            .await
            .expect("UploadChunk")
    }

    async fn get(&mut self, upload_id: &str) -> Result<pb::Upload, tonic::Status> {
        let request = pb::GetUploadRequest {
            upload_id: upload_id.into(),
        };
        let response = self.media.get_upload(authed(request, &self.token)).await?;
        Ok(response.into_inner().upload.expect("an upload"))
    }

    async fn complete(&mut self, upload_id: &str) -> Result<pb::Media, tonic::Status> {
        let request = pb::CompleteUploadRequest {
            upload_id: upload_id.into(),
        };
        let response = self
            .media
            .complete_upload(authed(request, &self.token))
            .await?;
        Ok(response.into_inner().media.expect("media"))
    }

    /// upload_whole uploads `file` from start to end and completes it.
    async fn upload_whole(&mut self, account_id: &str, file: &[u8], request_id: &str) -> pb::Media {
        let upload = self
            .create(account_id, file, &sha256(file), request_id)
            .await
            .expect("CreateUpload");
        for index in 0..file.len().div_ceil(CHUNK) {
            self.chunk_of(&upload.upload_id, file, index).await;
        }
        self.complete(&upload.upload_id)
            .await
            .expect("CompleteUpload")
    }
}

fn sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn random_file(len: usize) -> Vec<u8> {
    let mut file = vec![0u8; len];
    rand::fill(&mut file[..]);
    file
}

/// received_bytes is the `received_bytes` an error's ErrorInfo reports.
fn received_bytes(status: &tonic::Status) -> String {
    status
        .get_details_error_info()
        .and_then(|info| info.metadata.get("received_bytes").cloned())
        .unwrap_or_default()
}

/// stored reads an upload's chunks back from the blob store, in order,
/// until the first missing one.
async fn stored(server: &TestServer, upload: &pb::Upload) -> Vec<u8> {
    let blobs = server.blobs().await;
    let prefix = upload_prefix(
        upload.account_id.parse().unwrap(),
        upload.upload_id.parse().unwrap(),
    );
    let mut bytes = Vec::new();
    for index in 0.. {
        match blobs.get(&chunk_path(&prefix, index)).await.unwrap() {
            Some(chunk) => bytes.extend_from_slice(&chunk),
            None => return bytes,
        }
    }
    unreachable!()
}

/// account logs a fresh sandbox user in as an account of tenant `acme`.
async fn account(server: &TestServer, phone: &str) -> String {
    let mut c = Clients::of(server).await;
    let user = c.sandbox_user(phone, "Ann", "").await;
    c.login_user(&user).await.account_id
}

#[tokio::test]
async fn a_file_uploaded_in_chunks_resumes_after_a_reload_and_is_stored_byte_identical() {
    let server = TestServer::start().await;
    let account_id = account(&server, "9996627401").await;
    let file = random_file(2 * CHUNK + 251_424);
    let mut up = Uploader::of(&server, "acme").await;

    let upload = up
        .create(&account_id, &file, &sha256(&file), "upload-1")
        .await
        .unwrap();
    assert_eq!(upload.chunk_size as usize, CHUNK);
    assert_eq!(upload.received_bytes, 0);
    assert_eq!(upload.state(), pb::UploadState::Uploading);
    assert_eq!(upload.size_bytes, file.len() as i64);
    let lifetime = upload.expire_time.unwrap().seconds - upload.create_time.unwrap().seconds;
    assert_eq!(lifetime, 24 * 3600, "unfinished uploads live 24 hours");
    let id = upload.upload_id.clone();
    assert_eq!(
        up.chunk_of(&id, &file, 0).await.received_bytes,
        CHUNK as i64
    );

    // The page reloads: a new connection asks where the upload stands,
    // and resends the chunk it is not sure of.
    let mut up = Uploader::of(&server, "acme").await;
    assert_eq!(up.get(&id).await.unwrap().received_bytes, CHUNK as i64);
    assert_eq!(
        up.chunk_of(&id, &file, 0).await.received_bytes,
        CHUNK as i64
    );
    up.chunk_of(&id, &file, 1).await;
    let last = up.chunk_of(&id, &file, 2).await;
    assert_eq!(last.received_bytes, file.len() as i64);

    let media = up.complete(&id).await.unwrap();
    assert!(!media.media_id.is_empty());
    assert_eq!(media.account_id, account_id);
    assert_eq!(media.size_bytes, file.len() as i64);
    assert_eq!(media.sha256, sha256(&file));
    assert_eq!(media.file_name, "invoice.pdf");
    assert_eq!(media.mime_type, "application/pdf");
    assert_eq!(media.kind(), pb::MediaKind::Unspecified);
    // Completing again is the same media.
    assert_eq!(up.complete(&id).await.unwrap().media_id, media.media_id);
    let done = up.get(&id).await.unwrap();
    assert_eq!(done.state(), pb::UploadState::Completed);
    assert_eq!(done.media_id, media.media_id);

    assert!(stored(&server, &done).await == file, "stored bytes differ");
}

#[tokio::test]
async fn chunks_out_of_turn_or_of_the_wrong_size_are_refused_and_store_nothing() {
    let server = TestServer::start().await;
    let account_id = account(&server, "9996627402").await;
    let file = random_file(CHUNK + 100);
    let mut up = Uploader::of(&server, "acme").await;
    let upload = up.create(&account_id, &file, "", "upload-2").await.unwrap();
    let id = upload.upload_id.clone();

    let ahead = up.chunk(&id, CHUNK, &file[CHUNK..]).await.unwrap_err();
    assert_eq!(ahead.code(), Code::FailedPrecondition);
    assert_eq!(reason(&ahead), "UPLOAD_OFFSET_MISMATCH");
    assert_eq!(received_bytes(&ahead), "0");
    for (offset, len, field) in [
        (100, CHUNK, "offset"),
        (2 * CHUNK, 100, "offset"),
        (0, 10, "data"),
        (0, CHUNK + 1, "data"),
    ] {
        let err = up.chunk(&id, offset, &vec![7; len]).await.unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument, "{offset}/{len}");
        assert_eq!(fields(&err), vec![field], "{offset}/{len}");
    }
    let early = up.complete(&id).await.unwrap_err();
    assert_eq!(early.code(), Code::FailedPrecondition);
    assert_eq!(reason(&early), "UPLOAD_INCOMPLETE");
    assert_eq!(received_bytes(&early), "0");
    assert_eq!(up.get(&id).await.unwrap().received_bytes, 0);
    assert!(stored(&server, &upload).await.is_empty(), "nothing stored");

    up.chunk_of(&id, &file, 0).await;
    // Sent again: the same bytes are acknowledged, others refused.
    assert_eq!(
        up.chunk_of(&id, &file, 0).await.received_bytes,
        CHUNK as i64
    );
    let conflicting = up.chunk(&id, 0, &vec![9; CHUNK]).await.unwrap_err();
    assert_eq!(conflicting.code(), Code::InvalidArgument);
    assert_eq!(fields(&conflicting), vec!["data"]);
    let short = up.chunk(&id, CHUNK, &file[CHUNK..CHUNK + 99]).await;
    assert_eq!(fields(&short.unwrap_err()), vec!["data"]);
    let early = up.complete(&id).await.unwrap_err();
    assert_eq!(received_bytes(&early), CHUNK.to_string());
    up.chunk_of(&id, &file, 1).await;
    let media = up.complete(&id).await.unwrap();
    // No declared checksum: the gateway's own.
    assert_eq!(media.sha256, sha256(&file));
    assert!(stored(&server, &upload).await == file);
}

#[tokio::test]
async fn create_upload_checks_every_field_and_a_retried_request_returns_the_same_upload() {
    let server = TestServer::start().await;
    let account_id = account(&server, "9996627403").await;
    let mut up = Uploader::of(&server, "acme").await;

    let err = up
        .create_with(pb::CreateUploadRequest {
            account_id: "not-a-uuid".into(),
            file_name: "../etc/passwd".into(),
            mime_type: "png".into(),
            size_bytes: 0,
            sha256: "ABC".into(),
            request_id: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(
        fields(&err),
        vec![
            "account_id",
            "file_name",
            "mime_type",
            "size_bytes",
            "sha256",
            "request_id"
        ]
    );
    let too_big = pb::CreateUploadRequest {
        account_id: account_id.clone(),
        file_name: "movie.mp4".into(),
        size_bytes: 2_097_152_001,
        request_id: "big".into(),
        ..Default::default()
    };
    let err = up.create_with(too_big.clone()).await.unwrap_err();
    assert_eq!(fields(&err), vec!["size_bytes"]);
    // Two GiB minus a little is Telegram's limit, and allowed.
    let largest = up
        .create_with(pb::CreateUploadRequest {
            size_bytes: 2_097_152_000,
            ..too_big
        })
        .await
        .unwrap();
    assert_eq!(largest.mime_type, "application/octet-stream");

    let file = random_file(1000);
    let first = up.create(&account_id, &file, "", "upload-3").await.unwrap();
    let again = up.create(&account_id, &file, "", "upload-3").await.unwrap();
    assert_eq!(
        again.upload_id, first.upload_id,
        "a retry is the same upload"
    );
    let reused = up
        .create(&account_id, &file[..999], "", "upload-3")
        .await
        .unwrap_err();
    assert_eq!(reused.code(), Code::InvalidArgument);
    assert_eq!(reason(&reused), "REQUEST_ID_REUSED");

    let err = up.get("not-a-uuid").await.unwrap_err();
    assert_eq!(fields(&err), vec!["upload_id"]);
    let unknown = up.get(&uuid::Uuid::new_v4().to_string()).await.unwrap_err();
    assert_eq!(unknown.code(), Code::NotFound);

    // Another tenant sees neither the account nor the upload.
    let mut stranger = Uploader::of(&server, "globex").await;
    let err = stranger
        .create(&account_id, &file, "", "upload-4")
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    let id = &first.upload_id;
    assert_eq!(stranger.get(id).await.unwrap_err().code(), Code::NotFound);
    let err = stranger.chunk(id, 0, &file).await.unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    let err = stranger.complete(id).await.unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    assert!(stored(&server, &first).await.is_empty());

    // Uploads need media:write.
    let reader = server.api_key("acme", vec![Scope::MediaRead]).await;
    let request = pb::CreateUploadRequest {
        account_id: account_id.clone(),
        file_name: "a.txt".into(),
        size_bytes: 1,
        request_id: "upload-5".into(),
        ..Default::default()
    };
    let err = up
        .media
        .create_upload(with_api_key(request, &reader))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
}

#[tokio::test]
async fn bytes_that_do_not_match_the_declared_sha256_fail_the_upload() {
    let server = TestServer::start().await;
    let account_id = account(&server, "9996627404").await;
    let file = random_file(CHUNK + 1);
    let mut up = Uploader::of(&server, "acme").await;
    let declared = sha256(b"another file");
    let upload = up
        .create(&account_id, &file, &declared, "upload-6")
        .await
        .unwrap();
    let id = upload.upload_id.clone();
    up.chunk_of(&id, &file, 0).await;
    up.chunk_of(&id, &file, 1).await;

    let err = up.complete(&id).await.unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert_eq!(reason(&err), "CHECKSUM_MISMATCH");
    assert_eq!(up.get(&id).await.unwrap().state(), pb::UploadState::Failed);
    let err = up.chunk(&id, 0, &file[..CHUNK]).await.unwrap_err();
    assert_eq!(reason(&err), "CHECKSUM_MISMATCH");
    let err = up.complete(&id).await.unwrap_err();
    assert_eq!(reason(&err), "CHECKSUM_MISMATCH");
}

#[tokio::test]
async fn racing_writers_of_one_chunk_and_racing_completions_agree() {
    let server = TestServer::start().await;
    let account_id = account(&server, "9996627405").await;
    let file = random_file(CHUNK + 4096);
    let mut up = Uploader::of(&server, "acme").await;
    let upload = up
        .create(&account_id, &file, &sha256(&file), "upload-7")
        .await
        .unwrap();
    let id = upload.upload_id.clone();

    let mut writers = Vec::new();
    for _ in 0..8 {
        let (mut up, id, chunk) = (
            Uploader::of(&server, "acme").await,
            id.clone(),
            file[..CHUNK].to_vec(),
        );
        writers.push(tokio::spawn(async move { up.chunk(&id, 0, &chunk).await }));
    }
    for writer in writers {
        let upload = writer.await.unwrap().expect("every writer is acknowledged");
        assert_eq!(upload.received_bytes, CHUNK as i64);
    }
    up.chunk_of(&id, &file, 1).await;

    let mut completions = Vec::new();
    for _ in 0..8 {
        let (mut up, id) = (Uploader::of(&server, "acme").await, id.clone());
        completions.push(tokio::spawn(async move { up.complete(&id).await }));
    }
    let mut made = Vec::new();
    for completion in completions {
        made.push(
            completion
                .await
                .unwrap()
                .expect("every completion succeeds")
                .media_id,
        );
    }
    made.sort();
    made.dedup();
    assert_eq!(made.len(), 1, "one media for racing completions: {made:?}");
    assert_eq!(up.get(&id).await.unwrap().media_id, made[0]);
    assert!(stored(&server, &upload).await == file);
}

#[tokio::test]
async fn unfinished_uploads_expire_and_their_bytes_are_collected() {
    let server = TestServer::start_with(|config| {
        config.media.upload_expiry_seconds = 2;
        config.media.sweep_interval_seconds = 1;
        config.media.sweep_grace_seconds = 0;
    })
    .await;
    let account_id = account(&server, "9996627406").await;
    let mut up = Uploader::of(&server, "acme").await;
    let file = random_file(CHUNK + 10);
    let unfinished = up.create(&account_id, &file, "", "upload-8").await.unwrap();
    up.chunk_of(&unfinished.upload_id, &file, 0).await;
    let small = random_file(10);
    let upload = up
        .create(&account_id, &small, "", "upload-9")
        .await
        .unwrap();
    up.chunk_of(&upload.upload_id, &small, 0).await;
    up.complete(&upload.upload_id).await.unwrap();
    assert_eq!(stored(&server, &unfinished).await.len(), CHUNK);

    eventually("the unfinished upload's bytes are collected", async || {
        stored(&server, &unfinished).await.is_empty()
    })
    .await;
    let gone = up.get(&unfinished.upload_id).await.unwrap_err();
    assert_eq!(gone.code(), Code::NotFound);
    let err = up
        .chunk(&unfinished.upload_id, CHUNK, &file[CHUNK..])
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    // Completed uploads stay, bytes and all.
    let done = up.get(&upload.upload_id).await.unwrap();
    assert_eq!(done.state(), pb::UploadState::Completed);
    assert!(stored(&server, &upload).await == small);
}

#[tokio::test]
async fn deleting_an_account_erases_its_files() {
    let server = TestServer::start().await;
    let account_id = account(&server, "9996627407").await;
    let mut up = Uploader::of(&server, "acme").await;
    let file = random_file(CHUNK + 5);
    let media = up.upload_whole(&account_id, &file, "upload-10").await;
    assert_eq!(media.size_bytes, file.len() as i64);
    let unfinished = up
        .create(&account_id, &file, "", "upload-11")
        .await
        .unwrap();
    up.chunk_of(&unfinished.upload_id, &file, 0).await;
    let blobs = server.blobs().await;
    let everything = tezgram::domain::media::account_prefix(account_id.parse().unwrap());

    let mut c = Clients::of(&server).await;
    c.accounts
        .delete_account(authed(
            pb::DeleteAccountRequest {
                account_id: account_id.clone(),
            },
            &c.token,
        ))
        .await
        .unwrap();
    assert!(stored(&server, &unfinished).await.is_empty());
    assert_eq!(
        blobs.delete_prefix(&everything).await.unwrap(),
        0,
        "no object of the account is left"
    );
    let err = up.get(&unfinished.upload_id).await.unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
}

/// send_file is a SendMessage of a stored file with a caption.
fn send_file(
    account_id: &str,
    chat_id: i64,
    media_id: &str,
    request_id: &str,
) -> pb::SendMessageRequest {
    pb::SendMessageRequest {
        account_id: account_id.into(),
        chat_id,
        text: "your **invoice**".into(),
        parse_mode: pb::ParseMode::Markdown.into(),
        media_id: media_id.into(),
        send_as: pb::MediaKind::Document.into(),
        request_id: request_id.into(),
        ..Default::default()
    }
}

/// files_received are the files `user` received from `from`, newest first.
async fn files_received(
    link: &dyn SandboxLink,
    user: i64,
    from: i64,
) -> Vec<(String, tezgram_sandbox::MediaFile)> {
    link.history(TENANT, user, from, 100)
        .await
        .expect("the sandbox's history")
        .messages
        .into_iter()
        .filter_map(|m| Some((m.text, m.media?)))
        .collect()
}

#[tokio::test]
async fn a_file_sent_as_a_document_reaches_the_recipient_byte_identical_once() {
    let server = TestServer::start_with(quick_pacing).await;
    let mut c = Clients::of(&server).await;
    let ann = c.sandbox_user("9996627411", "Ann", "").await;
    let bob = c.sandbox_user("9996627412", "Bob", "").await;
    let id = connected_account(&server, &mut c, &ann).await.account_id;
    c.send_as(&bob, &id, "send me the invoice").await;
    let channel = server.channel().await;
    chat_with(
        &mut ChatServiceClient::new(channel.clone()),
        &c.token,
        &id,
        bob.user_id,
    )
    .await;
    let file = random_file(3 * CHUNK + 1000);
    let mut up = Uploader::of(&server, "acme").await;
    let media = up.upload_whole(&id, &file, "doc-upload").await;

    let mut messages = MessageServiceClient::new(channel);
    let request = send_file(&id, bob.user_id, &media.media_id, "doc-send");
    let sent = messages
        .send_message(authed(request.clone(), &c.token))
        .await
        .unwrap()
        .into_inner()
        .message
        .unwrap();
    assert_eq!(sent.state(), pb::MessageState::Sent);
    assert!(sent.message_id > 0);
    assert_eq!(sent.text, "your invoice");
    assert_eq!(sent.entities.len(), 1, "the caption's markdown");
    let attached = sent.media.clone().expect("the message carries the file");
    assert_eq!(attached.kind(), pb::MediaKind::Document);
    assert_eq!(attached.size_bytes, file.len() as i64);
    assert_eq!(attached.mime_type, "application/pdf");
    assert_eq!(attached.file_name, "invoice.pdf");

    let received = files_received(server.sandbox(), bob.user_id, ann.user_id).await;
    assert_eq!(received.len(), 1, "{received:?}");
    let (caption, got) = &received[0];
    assert_eq!(caption, "your invoice");
    assert_eq!(got.sha256, sha256(&file), "the recipient's bytes differ");
    assert_eq!(got.size, file.len() as i64);
    assert_eq!(got.file_name, "invoice.pdf");
    assert_eq!(got.mime_type, "application/pdf");

    // A retry is the same message, and sends nothing.
    let again = messages
        .send_message(authed(request, &c.token))
        .await
        .unwrap()
        .into_inner()
        .message
        .unwrap();
    assert_eq!(again.message_id, sent.message_id);
    let received = files_received(server.sandbox(), bob.user_id, ann.user_id).await;
    assert_eq!(received.len(), 1);
}

#[tokio::test]
async fn a_media_send_that_cannot_be_is_refused_and_sends_nothing() {
    let server = TestServer::start_with(quick_pacing).await;
    let mut c = Clients::of(&server).await;
    let ann = c.sandbox_user("9996627421", "Ann", "").await;
    let bob = c.sandbox_user("9996627422", "Bob", "").await;
    let cid = c.sandbox_user("9996627423", "Cid", "").await;
    let id = connected_account(&server, &mut c, &ann).await.account_id;
    let other = c.login_user(&cid).await.account_id;
    c.send_as(&bob, &id, "hi").await;
    let channel = server.channel().await;
    chat_with(
        &mut ChatServiceClient::new(channel.clone()),
        &c.token,
        &id,
        bob.user_id,
    )
    .await;
    let mut up = Uploader::of(&server, "acme").await;
    let pdf = up.upload_whole(&id, &random_file(100), "pdf").await;
    let theirs = up.upload_whole(&other, &random_file(100), "theirs").await;
    let mut messages = MessageServiceClient::new(channel);
    let mut send = async |request: pb::SendMessageRequest| {
        messages
            .send_message(authed(request, &c.token))
            .await
            .map(|r| r.into_inner().message.unwrap())
    };

    let as_photo = pb::SendMessageRequest {
        send_as: pb::MediaKind::Photo.into(),
        ..send_file(&id, bob.user_id, &pdf.media_id, "r1")
    };
    let err = send(as_photo).await.unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(fields(&err), vec!["send_as"]);
    let as_sticker = pb::SendMessageRequest {
        send_as: pb::MediaKind::Sticker.into(),
        ..send_file(&id, bob.user_id, &pdf.media_id, "r2")
    };
    assert_eq!(
        fields(&send(as_sticker).await.unwrap_err()),
        vec!["send_as"]
    );
    let long_caption = pb::SendMessageRequest {
        text: "x".repeat(1025),
        parse_mode: pb::ParseMode::Unspecified.into(),
        ..send_file(&id, bob.user_id, &pdf.media_id, "r3")
    };
    assert_eq!(fields(&send(long_caption).await.unwrap_err()), vec!["text"]);
    // Another account's file, and one that does not exist.
    for media_id in [theirs.media_id.as_str(), "no-such-media"] {
        let err = send(send_file(&id, bob.user_id, media_id, "r4"))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::NotFound, "{media_id}");
    }
    assert!(
        files_received(server.sandbox(), bob.user_id, ann.user_id)
            .await
            .is_empty()
    );

    // A file without a caption is fine; its MIME type picks the kind.
    let bare = pb::SendMessageRequest {
        text: String::new(),
        parse_mode: pb::ParseMode::Unspecified.into(),
        send_as: pb::MediaKind::Unspecified.into(),
        ..send_file(&id, bob.user_id, &pdf.media_id, "r5")
    };
    let sent = send(bare).await.unwrap();
    assert_eq!(sent.media.unwrap().kind(), pb::MediaKind::Document);
    assert_eq!(
        files_received(server.sandbox(), bob.user_id, ann.user_id)
            .await
            .len(),
        1
    );
}

/// upload_progress is a media send's recorded progress: (file id, parts done).
async fn upload_progress(store: &Store, request_id: &str) -> Option<(i64, i64)> {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    use tezgram::storage::entities::outbox;
    let row = outbox::Entity::find()
        .filter(outbox::Column::RequestId.eq(request_id))
        .one(store.connection())
        .await
        .unwrap()?;
    let progress: serde_json::Value = serde_json::from_str(row.file_upload.as_deref()?).unwrap();
    Some((
        progress["file_id"].as_i64().unwrap(),
        progress["parts_done"].as_i64().unwrap(),
    ))
}

#[tokio::test]
async fn a_large_file_whose_gateway_is_killed_half_way_is_sent_once_complete() {
    let sandbox = Sandbox::start().await;
    let link = RemoteLink::connect(&sandbox.url(), ADMIN_TOKEN)
        .await
        .expect("the sandbox's admin api");
    let db = TestDb::fresh().await;
    let prefix = format!("tezgram-test-{}:", uuid::Uuid::new_v4().simple());
    let (mut env, _data_dir) = process_env(&db.url, &prefix, &sandbox);
    env.push((
        "TEZGRAM_TELEGRAM__SEND_INTERVAL_PER_CHAT_MS".into(),
        "20".into(),
    ));
    let store = Store::connect(&db.url).await.unwrap();
    let token = Gateway::token();
    let gateway = Gateway::start(&env).await;
    let channel = gateway.channel().await;
    let mut c = Clients::on(channel.clone(), token.clone());
    let ann = c.sandbox_user("9996627431", "Ann", "").await;
    let bob = c.sandbox_user("9996627432", "Bob", "").await;
    let id = c.login_user(&ann).await.account_id;
    c.send_as(&bob, &id, "the contract, please").await;
    chat_with(
        &mut ChatServiceClient::new(channel.clone()),
        &token,
        &id,
        bob.user_id,
    )
    .await;
    // Over 10 MiB: a "big" file, sent part by part with saveBigFilePart.
    let file = random_file(24 * CHUNK + 777);
    let mut up = Uploader {
        media: MediaServiceClient::new(channel.clone()),
        token: token.clone(),
    };
    let media = up.upload_whole(&id, &file, "big-upload").await;

    // The send is queued; the gateway dies while the file's parts go out.
    let mut messages = MessageServiceClient::new(channel);
    let request = send_file(&id, bob.user_id, &media.media_id, "big-send");
    let queued = tokio::spawn({
        let (request, token) = (request.clone(), token.clone());
        async move { messages.send_message(authed(request, &token)).await }
    });
    let total = file.len().div_ceil(CHUNK) as i64;
    let mut before = None;
    for _ in 0..2000 {
        if let Some(progress @ (_, done)) = upload_progress(&store, "big-send").await
            && done >= 3
        {
            before = Some(progress);
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    gateway.kill().await;
    let _ = queued.await;
    let (file_id, done) = before.expect("the upload started");
    assert!(done < total, "killed half way: {done} of {total} parts");
    assert!(
        files_received(&link, bob.user_id, ann.user_id)
            .await
            .is_empty()
    );

    let restarted = Gateway::start(&env).await;
    let _channel = restarted.channel().await;
    eventually("the file arrives", async || {
        !files_received(&link, bob.user_id, ann.user_id)
            .await
            .is_empty()
    })
    .await;
    let received = files_received(&link, bob.user_id, ann.user_id).await;
    assert_eq!(received.len(), 1, "sent once");
    assert_eq!(received[0].1.sha256, sha256(&file), "complete and intact");
    // The restarted gateway went on with the same file: its parts were
    // kept, not uploaded from the start under a new id.
    let (after_id, after_done) = upload_progress(&store, "big-send").await.unwrap();
    assert_eq!((after_id, after_done), (file_id, total));
    restarted.kill().await;
    db.cleanup().await;
}

/// download reads a whole DownloadMedia stream: its chunks, in order.
async fn download(
    media: &mut MediaServiceClient<Channel>,
    token: &str,
    request: pb::DownloadMediaRequest,
) -> Result<Vec<pb::DownloadMediaResponse>, tonic::Status> {
    let mut stream = media
        .download_media(authed(request, token))
        .await?
        .into_inner();
    let mut chunks = Vec::new();
    while let Some(chunk) = stream.message().await? {
        chunks.push(chunk);
    }
    Ok(chunks)
}

/// Pair is two connected accounts of users who know each other: Ann
/// wrote to Bob first, and Bob's account has the chat.
struct Pair {
    ann: pb::SandboxUser,
    bob: pb::SandboxUser,
    ann_id: String,
    bob_id: String,
}

async fn pair(
    server: &TestServer,
    c: &mut Clients,
    chats: &mut ChatServiceClient<Channel>,
    [ann_phone, bob_phone]: [&str; 2],
) -> Pair {
    let ann = c.sandbox_user(ann_phone, "Ann", "").await;
    let bob = c.sandbox_user(bob_phone, "Bob", "").await;
    let ann_id = connected_account(server, c, &ann).await.account_id;
    let bob_id = connected_account(server, c, &bob).await.account_id;
    c.send_as(&ann, &bob_id, "the file, please").await;
    chat_with(chats, &c.token, &bob_id, ann.user_id).await;
    Pair {
        ann,
        bob,
        ann_id,
        bob_id,
    }
}

/// file_message waits until the account has the chat with `peer` and a
/// message with a file in it; that message.
async fn file_message(
    chats: &mut ChatServiceClient<Channel>,
    messages: &mut MessageServiceClient<Channel>,
    token: &str,
    account_id: &str,
    peer: i64,
) -> pb::Message {
    chat_with(chats, token, account_id, peer).await;
    let mut received = None;
    eventually("the account has a message with a file", async || {
        let request = pb::ListMessagesRequest {
            account_id: account_id.into(),
            chat_id: peer,
            page_size: 10,
            ..Default::default()
        };
        let Ok(listed) = messages.list_messages(authed(request, token)).await else {
            return false;
        };
        received = listed
            .into_inner()
            .messages
            .into_iter()
            .find(|m| m.media.is_some());
        received.is_some()
    })
    .await;
    received.unwrap()
}

/// bytes_of checks that chunks are contiguous from `offset` and joins them.
fn bytes_of(chunks: &[pb::DownloadMediaResponse], offset: i64) -> Vec<u8> {
    let mut at = offset;
    let mut bytes = Vec::new();
    for chunk in chunks {
        assert_eq!(chunk.offset, at, "chunks are contiguous");
        assert!(chunk.data.len() <= CHUNK, "chunks are at most 512 KiB");
        at += chunk.data.len() as i64;
        bytes.extend_from_slice(&chunk.data);
    }
    bytes
}

fn by_media_id(account_id: &str, media_id: &str, offset: i64) -> pb::DownloadMediaRequest {
    pb::DownloadMediaRequest {
        account_id: account_id.into(),
        source: Some(pb::download_media_request::Source::MediaId(media_id.into())),
        offset,
    }
}

#[tokio::test]
async fn an_uploaded_file_downloads_whole_and_from_any_offset() {
    let server = TestServer::start().await;
    let account_id = account(&server, "9996627441").await;
    let file = random_file(2 * CHUNK + 4321);
    let mut up = Uploader::of(&server, "acme").await;
    let media = up.upload_whole(&account_id, &file, "dl-upload").await;
    let token = server.token("acme");
    let mut client = MediaServiceClient::new(server.channel().await);

    let whole = download(
        &mut client,
        &token,
        by_media_id(&account_id, &media.media_id, 0),
    )
    .await
    .unwrap();
    assert_eq!(whole.len(), 3);
    assert!(bytes_of(&whole, 0) == file);
    assert_eq!(whole[0].total_bytes, file.len() as i64);
    let described = whole[0]
        .media
        .clone()
        .expect("the first chunk says what the file is");
    assert_eq!(described.sha256, sha256(&file));
    assert!(whole[1..].iter().all(|c| c.media.is_none()));

    // A broken download resumes from the bytes it has.
    let from = CHUNK as i64 + 7;
    let rest = download(
        &mut client,
        &token,
        by_media_id(&account_id, &media.media_id, from),
    )
    .await
    .unwrap();
    assert!(bytes_of(&rest, from) == file[from as usize..]);
    let end = file.len() as i64;
    let at_end = download(
        &mut client,
        &token,
        by_media_id(&account_id, &media.media_id, end),
    )
    .await
    .unwrap();
    assert_eq!(at_end.len(), 1);
    assert!(at_end[0].data.is_empty());

    let past = download(
        &mut client,
        &token,
        by_media_id(&account_id, &media.media_id, end + 1),
    )
    .await
    .unwrap_err();
    assert_eq!(past.code(), Code::OutOfRange);
    let negative = download(
        &mut client,
        &token,
        by_media_id(&account_id, &media.media_id, -1),
    )
    .await
    .unwrap_err();
    assert_eq!(fields(&negative), vec!["offset"]);
    let nothing = pb::DownloadMediaRequest {
        account_id: account_id.clone(),
        source: None,
        offset: 0,
    };
    let err = download(&mut client, &token, nothing).await.unwrap_err();
    assert_eq!(fields(&err), vec!["source"]);
    let unknown = download(&mut client, &token, by_media_id(&account_id, "nope", 0))
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), Code::NotFound);
    let stranger = server.token("globex");
    let err = download(
        &mut client,
        &stranger,
        by_media_id(&account_id, &media.media_id, 0),
    )
    .await
    .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    // Downloads need media:read.
    let writer = server.api_key("acme", vec![Scope::MediaWrite]).await;
    let err = client
        .download_media(with_api_key(
            by_media_id(&account_id, &media.media_id, 0),
            &writer,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
}

#[tokio::test]
async fn a_received_file_is_fetched_from_telegram_once_and_downloads_from_any_offset() {
    let server = TestServer::start_with(quick_pacing).await;
    let mut c = Clients::of(&server).await;
    let channel = server.channel().await;
    let mut chats = ChatServiceClient::new(channel.clone());
    let Pair {
        ann,
        bob,
        ann_id,
        bob_id,
    } = pair(&server, &mut c, &mut chats, ["9996627451", "9996627452"]).await;
    let file = random_file(2 * CHUNK + 999);
    let mut up = Uploader::of(&server, "acme").await;
    let media = up.upload_whole(&bob_id, &file, "scan").await;
    let mut messages = MessageServiceClient::new(channel.clone());
    let sent = messages
        .send_message(authed(
            send_file(&bob_id, ann.user_id, &media.media_id, "scan-send"),
            &c.token,
        ))
        .await
        .unwrap()
        .into_inner()
        .message
        .unwrap();

    // Ann's account ingests the message, file described.
    let received = file_message(&mut chats, &mut messages, &c.token, &ann_id, bob.user_id).await;
    assert_eq!(received.text, "your invoice");
    let attached = received.media.unwrap();
    assert_eq!(attached.size_bytes, file.len() as i64);
    assert_eq!(attached.file_name, "invoice.pdf");
    assert!(!attached.media_id.is_empty(), "a media_id to download with");
    let prefix = tezgram::domain::media::received_prefix(
        ann_id.parse().unwrap(),
        bob.user_id,
        received.message_id,
    );
    let blobs = server.blobs().await;
    assert!(blobs.get(&chunk_path(&prefix, 0)).await.unwrap().is_none());

    let token = c.token.clone();
    let mut client = MediaServiceClient::new(channel);
    // The file reference Telegram gave has expired by the time it is read:
    // the gateway fetches the message again for a fresh one.
    server.sandbox().expire_file_references(ann.user_id, 1);
    let by_message = pb::DownloadMediaRequest {
        account_id: ann_id.clone(),
        source: Some(pb::download_media_request::Source::Message(
            pb::MessageRef {
                chat_id: bob.user_id,
                message_id: received.message_id,
            },
        )),
        offset: 0,
    };
    let whole = download(&mut client, &token, by_message).await.unwrap();
    assert!(bytes_of(&whole, 0) == file, "the received bytes differ");
    assert_eq!(
        server.sandbox().faults_pending(ann.user_id),
        0,
        "the expired reference was met"
    );
    let described = whole[0].media.clone().unwrap();
    assert_eq!(described.media_id, attached.media_id);
    assert_eq!(described.kind(), pb::MediaKind::Document);
    let (head, linked) = get(&described.download_url, &[]).await;
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert!(
        linked == file,
        "the received file's link serves other bytes"
    );
    // Kept: every chunk is in the blob store now.
    for index in 0..3 {
        assert!(
            blobs
                .get(&chunk_path(&prefix, index))
                .await
                .unwrap()
                .is_some()
        );
    }
    let from = 2 * CHUNK as i64 + 10;
    let rest = download(
        &mut client,
        &token,
        by_media_id(&ann_id, &attached.media_id, from),
    )
    .await
    .unwrap();
    assert!(bytes_of(&rest, from) == file[from as usize..]);

    // Bob's own copy of what he sent is downloadable too; a message
    // without a file is not.
    assert!(sent.media.unwrap().media_id.starts_with("r:"));
    let text_only = pb::DownloadMediaRequest {
        account_id: bob_id.clone(),
        source: Some(pb::download_media_request::Source::Message(
            pb::MessageRef {
                chat_id: ann.user_id,
                message_id: 1_000_000,
            },
        )),
        offset: 0,
    };
    let err = download(&mut client, &token, text_only).await.unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    // Another account cannot use Ann's media_id.
    let err = download(
        &mut client,
        &token,
        by_media_id(&bob_id, &attached.media_id, 0),
    )
    .await
    .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    // Sending a received file on by its media_id is said not to be built.
    let resend = send_file(&ann_id, bob.user_id, &attached.media_id, "resend");
    let err = messages
        .send_message(authed(resend, &token))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unimplemented);
}

/// get fetches a link with extra request headers: (status line and
/// headers, lowercased names), body).
async fn get(url: &str, headers: &[(&str, &str)]) -> (String, Vec<u8>) {
    let rest = url.strip_prefix("http://").expect("a plain-HTTP link");
    let (host, path) = rest.split_once('/').unwrap();
    let mut head = format!("GET /{path} HTTP/1.1\r\nhost: {host}\r\nconnection: close\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    let (head, body) = crate::api::http1(host.parse().unwrap(), &head, b"").await;
    (head.to_ascii_lowercase(), body)
}

fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(':'))
        .map(str::trim)
}

#[tokio::test]
async fn a_signed_link_serves_the_file_with_ranges_and_refuses_altered_or_expired_ones() {
    let server = TestServer::start_with(|config| config.media.link_ttl_seconds = 4).await;
    let account_id = account(&server, "9996627461").await;
    let file = random_file(CHUNK + 100);
    let mut up = Uploader::of(&server, "acme").await;
    let media = up.upload_whole(&account_id, &file, "linked").await;
    let url = media.download_url.clone();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");

    let (head, body) = get(&url, &[]).await;
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert!(body == file, "the linked bytes differ");
    let etag = format!("\"{}\"", sha256(&file));
    assert_eq!(header(&head, "etag"), Some(etag.as_str()));
    assert_eq!(header(&head, "content-type"), Some("application/pdf"));
    assert_eq!(header(&head, "accept-ranges"), Some("bytes"));
    let max_age: u64 = header(&head, "cache-control")
        .and_then(|v| v.strip_prefix("public, max-age="))
        .and_then(|v| v.parse().ok())
        .expect("cacheable while the link is good");
    assert!(max_age <= 4);

    // A range across the chunk boundary.
    let (first, last) = (CHUNK - 5, CHUNK + 5);
    let range = format!("bytes={first}-{last}");
    let (head, body) = get(&url, &[("range", &range)]).await;
    assert!(head.starts_with("http/1.1 206"), "{head}");
    assert!(body == file[first..=last]);
    let expected = format!("bytes {first}-{last}/{}", file.len());
    assert_eq!(header(&head, "content-range"), Some(expected.as_str()));
    let (head, _) = get(&url, &[("range", "bytes=999999999-")]).await;
    assert!(head.starts_with("http/1.1 416"), "{head}");
    let (head, body) = get(&url, &[("if-none-match", &etag)]).await;
    assert!(head.starts_with("http/1.1 304"), "{head}");
    assert!(body.is_empty());

    // Altered anywhere: refused.
    let (base, token) = url.rsplit_once('/').unwrap();
    for at in [4, token.len() / 2, token.len() - 2] {
        let mut bent = token.as_bytes().to_vec();
        bent[at] = if bent[at] == b'A' { b'B' } else { b'A' };
        let bent = format!("{base}/{}", String::from_utf8(bent).unwrap());
        let (head, body) = get(&bent, &[]).await;
        assert!(head.starts_with("http/1.1 403"), "{head}");
        assert!(!body.windows(16).any(|w| file.windows(16).next() == Some(w)));
    }
    // And once expired.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let (head, _) = get(&url, &[]).await;
    assert!(head.starts_with("http/1.1 403"), "{head}");
}

/// png is a PNG of `width` x `height` as far as its header goes, `len`
/// bytes long.
fn png(width: u32, height: u32, len: usize) -> Vec<u8> {
    let mut image = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
    image.extend_from_slice(&width.to_be_bytes());
    image.extend_from_slice(&height.to_be_bytes());
    image.extend_from_slice(&random_file(len - image.len()));
    image
}

#[tokio::test]
async fn a_photo_received_from_a_sandbox_user_is_described_and_downloads_from_any_offset() {
    let server = TestServer::start_with(quick_pacing).await;
    let mut c = Clients::of(&server).await;
    let channel = server.channel().await;
    let mut chats = ChatServiceClient::new(channel.clone());
    let Pair {
        ann,
        bob,
        ann_id,
        bob_id,
    } = pair(&server, &mut c, &mut chats, ["9996627471", "9996627472"]).await;
    // Bob's phone sends a PNG, which Telegram shows as a photo.
    let image = png(1024, 768, CHUNK + 3000);
    let mut up = Uploader::of(&server, "acme").await;
    let upload = up
        .create_with(pb::CreateUploadRequest {
            account_id: bob_id.clone(),
            file_name: "damage.png".into(),
            mime_type: "image/png".into(),
            size_bytes: image.len() as i64,
            sha256: sha256(&image),
            request_id: "photo".into(),
        })
        .await
        .unwrap();
    up.chunk_of(&upload.upload_id, &image, 0).await;
    up.chunk_of(&upload.upload_id, &image, 1).await;
    let media = up.complete(&upload.upload_id).await.unwrap();
    let mut messages = MessageServiceClient::new(channel.clone());
    let sent = messages
        .send_message(authed(
            pb::SendMessageRequest {
                account_id: bob_id.clone(),
                chat_id: ann.user_id,
                text: "here".into(),
                media_id: media.media_id.clone(),
                request_id: "photo-send".into(),
                ..Default::default()
            },
            &c.token,
        ))
        .await
        .unwrap()
        .into_inner()
        .message
        .unwrap();
    assert_eq!(
        sent.media.unwrap().kind(),
        pb::MediaKind::Photo,
        "image/png goes as a photo"
    );

    let received = file_message(&mut chats, &mut messages, &c.token, &ann_id, bob.user_id).await;
    let photo = received.media.unwrap();
    assert_eq!(photo.kind(), pb::MediaKind::Photo);
    assert_eq!((photo.width, photo.height), (1024, 768));
    assert_eq!(photo.size_bytes, image.len() as i64);

    let token = c.token.clone();
    let mut client = MediaServiceClient::new(channel);
    let from = 1000;
    let rest = download(
        &mut client,
        &token,
        by_media_id(&ann_id, &photo.media_id, from),
    )
    .await
    .unwrap();
    assert!(
        bytes_of(&rest, from) == image[from as usize..],
        "the photo's bytes differ"
    );
    let whole = download(
        &mut client,
        &token,
        by_media_id(&ann_id, &photo.media_id, 0),
    )
    .await
    .unwrap();
    assert!(bytes_of(&whole, 0) == image);
    let described = whole[0].media.clone().unwrap();
    assert_eq!(described.kind(), pb::MediaKind::Photo);
    let (head, linked) = get(&described.download_url, &[("range", "bytes=0-15")]).await;
    assert!(head.starts_with("http/1.1 206"), "{head}");
    assert!(linked == image[..16]);
}
