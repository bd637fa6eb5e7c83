//! `make bench`: MediaService throughput and memory. One gateway
//! (PostgreSQL, in-process cache and sandbox DC, files on the local
//! filesystem), one client, on loopback.
//!
//! - Upload: a 256 MiB file in 512 KiB chunks (UploadChunk, one at a time,
//!   then CompleteUpload, which reads it back for the SHA-256) over gRPC,
//!   and over grpc-web (HTTP/1.1, one kept-alive connection, as a browser
//!   does); baseline: writing the same chunks to the blob store directly.
//! - Download: the same file through DownloadMedia; baseline: reading the
//!   chunks from the blob store directly.
//! - Memory: the process's peak RSS (gateway and client together) before
//!   and after moving a 1 GiB file up and down.
//!
//! Needs PostgreSQL (`TEZGRAM_TEST_DATABASE_URL`); `make bench` starts it.
//! Written to `$CARGO_TARGET_DIR/bench/media.md`.

#[path = "shared/mod.rs"]
mod shared;

use std::time::Instant;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use sha2::{Digest, Sha256};
use shared::{BenchDb, TENANT, authed, gateway_config, log_in};
use tezgram::domain::media::{CHUNK_SIZE, chunk_path};
use tezgram::domain::ports::BlobStore;
use tezgram::server;
use tezgram::storage::Blobs;
use tezgram_sandbox::{NewUser, SandboxLink};
use tezgram_sdk::v1 as pb;
use tezgram_sdk::v1::account_service_client::AccountServiceClient;
use tezgram_sdk::v1::media_service_client::MediaServiceClient;
use tonic::transport::Channel;

#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

const CHUNK: usize = CHUNK_SIZE as usize;
/// FILE is the throughput runs' file: 256 MiB.
const FILE: usize = 512 * CHUNK;
/// BIG is the memory run's file: 1 GiB.
const BIG: usize = 2048 * CHUNK;

/// peak_rss is the process's peak resident set (VmHWM), in MiB.
fn peak_rss() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn mib_per_s(bytes: usize, started: Instant) -> f64 {
    bytes as f64 / (1024.0 * 1024.0) / started.elapsed().as_secs_f64()
}

/// chunk_of is chunk `index` of a file whose bytes are made, not stored:
/// the client holds one chunk at a time too.
fn chunk_of(seed: u8, index: usize, len: usize) -> Vec<u8> {
    let mut chunk = vec![0u8; len];
    for (i, byte) in chunk.iter_mut().enumerate() {
        *byte = (index as u8).wrapping_mul(31) ^ (i as u8) ^ seed;
    }
    chunk
}

fn chunk_len(size: usize, index: usize) -> usize {
    (size - index * CHUNK).min(CHUNK)
}

fn create_request(account_id: &str, size: usize, request_id: &str) -> pb::CreateUploadRequest {
    pb::CreateUploadRequest {
        account_id: account_id.into(),
        file_name: "bench.bin".into(),
        mime_type: "application/octet-stream".into(),
        size_bytes: size as i64,
        sha256: String::new(),
        request_id: request_id.into(),
    }
}

/// upload_grpc uploads a made file over gRPC; its media id.
async fn upload_grpc(
    media: &mut MediaServiceClient<Channel>,
    token: &str,
    account_id: &str,
    seed: u8,
    size: usize,
) -> String {
    let upload = media
        .create_upload(authed(
            create_request(account_id, size, &format!("bench-{seed}")),
            token,
        ))
        .await
        .expect("CreateUpload")
        .into_inner()
        .upload
        .unwrap();
    for index in 0..size.div_ceil(CHUNK) {
        media
            .upload_chunk(authed(
                pb::UploadChunkRequest {
                    upload_id: upload.upload_id.clone(),
                    offset: (index * CHUNK) as i64,
                    data: chunk_of(seed, index, chunk_len(size, index)),
                },
                token,
            ))
            .await
            .expect("UploadChunk");
    }
    media
        .complete_upload(authed(
            pb::CompleteUploadRequest {
                upload_id: upload.upload_id,
            },
            token,
        ))
        .await
        .expect("CompleteUpload")
        .into_inner()
        .media
        .unwrap()
        .media_id
}

/// GrpcWeb is a grpc-web client over one kept-alive HTTP/1.1 connection.
struct GrpcWeb {
    sender: http1::SendRequest<Full<Bytes>>,
    token: String,
}

impl GrpcWeb {
    async fn connect(addr: std::net::SocketAddr, token: &str) -> GrpcWeb {
        let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        stream.set_nodelay(true).unwrap();
        let (sender, connection) = http1::handshake(TokioIo::new(stream)).await.unwrap();
        tokio::spawn(connection);
        GrpcWeb {
            sender,
            token: token.to_owned(),
        }
    }

    /// call makes one unary call and decodes its answer.
    async fn call<Req: prost::Message, Resp: prost::Message + Default>(
        &mut self,
        method: &str,
        request: &Req,
    ) -> Resp {
        let message = request.encode_to_vec();
        let mut body = Vec::with_capacity(message.len() + 5);
        body.push(0);
        body.extend_from_slice(&(message.len() as u32).to_be_bytes());
        body.extend_from_slice(&message);
        let request = hyper::Request::post(format!("/tez.telegram.v1.MediaService/{method}"))
            .header("host", "localhost")
            .header("content-type", "application/grpc-web+proto")
            .header("x-grpc-web", "1")
            .header("authorization", format!("Bearer {}", self.token))
            .body(Full::new(Bytes::from(body)))
            .unwrap();
        self.sender.ready().await.unwrap();
        let response = self.sender.send_request(request).await.unwrap();
        assert!(response.status().is_success(), "{method}: {response:?}");
        let body = response.into_body().collect().await.unwrap().to_bytes();
        // The first frame is the message (flag 0); trailers follow (0x80).
        assert!(
            body.len() >= 5 && body[0] == 0,
            "{method}: no message frame"
        );
        let len = u32::from_be_bytes(body[1..5].try_into().unwrap()) as usize;
        Resp::decode(&body[5..5 + len]).expect("a response message")
    }
}

/// upload_grpc_web uploads a made file over grpc-web; its media id.
async fn upload_grpc_web(web: &mut GrpcWeb, account_id: &str, seed: u8, size: usize) -> String {
    let created: pb::CreateUploadResponse = web
        .call(
            "CreateUpload",
            &create_request(account_id, size, &format!("bench-web-{seed}")),
        )
        .await;
    let upload_id = created.upload.unwrap().upload_id;
    for index in 0..size.div_ceil(CHUNK) {
        let _: pb::UploadChunkResponse = web
            .call(
                "UploadChunk",
                &pb::UploadChunkRequest {
                    upload_id: upload_id.clone(),
                    offset: (index * CHUNK) as i64,
                    data: chunk_of(seed, index, chunk_len(size, index)),
                },
            )
            .await;
    }
    let completed: pb::CompleteUploadResponse = web
        .call("CompleteUpload", &pb::CompleteUploadRequest { upload_id })
        .await;
    completed.media.unwrap().media_id
}

/// download reads a media whole through DownloadMedia; its SHA-256.
async fn download(
    media: &mut MediaServiceClient<Channel>,
    token: &str,
    account_id: &str,
    media_id: &str,
) -> String {
    let mut stream = media
        .download_media(authed(
            pb::DownloadMediaRequest {
                account_id: account_id.into(),
                source: Some(pb::download_media_request::Source::MediaId(media_id.into())),
                offset: 0,
            },
            token,
        ))
        .await
        .expect("DownloadMedia")
        .into_inner();
    let mut hash = Sha256::new();
    while let Some(chunk) = stream.message().await.expect("a chunk") {
        hash.update(&chunk.data);
    }
    hex::encode(hash.finalize())
}

fn made_sha256(seed: u8, size: usize) -> String {
    let mut hash = Sha256::new();
    for index in 0..size.div_ceil(CHUNK) {
        hash.update(chunk_of(seed, index, chunk_len(size, index)));
    }
    hex::encode(hash.finalize())
}

fn main() {
    shared::main("media.md", |admin_url| async move {
        let db = BenchDb::create(&admin_url, "media").await;
        let data_dir = tempfile::tempdir().unwrap();
        let (config, token) = gateway_config(data_dir.path(), &db.url);
        let gateway = server::start(config).await.expect("gateway starts");
        let dc = gateway.sandbox().expect("the in-process sandbox").clone();
        dc.create_user(NewUser {
            owner: TENANT.into(),
            phone: "9996614201".into(),
            first_name: "Ann".into(),
            ..NewUser::default()
        })
        .await
        .unwrap();
        let channel = Channel::from_shared(format!("http://{}", gateway.grpc_addr))
            .unwrap()
            .connect()
            .await
            .unwrap();
        let mut accounts = AccountServiceClient::new(channel.clone());
        let account_id = log_in(&mut accounts, &token, "9996614201").await;
        let mut media = MediaServiceClient::new(channel)
            .max_decoding_message_size(8 << 20)
            .max_encoding_message_size(8 << 20);
        let rss_start = peak_rss();

        // Baselines: the blob store itself, chunk by chunk. Writes are
        // measured before and after the gateway's uploads and the faster
        // run kept, so the page cache's state favours neither side.
        let direct = tempfile::tempdir().unwrap();
        let blobs = Blobs::local(direct.path()).await.unwrap();
        let write_direct = async |blobs: &Blobs, prefix: &str| {
            let started = Instant::now();
            for index in 0..FILE / CHUNK {
                let path = chunk_path(prefix, index as i64);
                blobs
                    .put(&path, Bytes::from(chunk_of(1, index, CHUNK)))
                    .await
                    .unwrap();
            }
            mib_per_s(FILE, started)
        };
        let blob_write_first = write_direct(&blobs, "bench").await;
        let started = Instant::now();
        let mut hash = Sha256::new();
        for index in 0..FILE / CHUNK {
            let chunk = blobs.get(&chunk_path("bench", index as i64)).await.unwrap();
            hash.update(chunk.expect("written"));
        }
        let blob_read = mib_per_s(FILE, started);

        let started = Instant::now();
        let uploaded = upload_grpc(&mut media, &token, &account_id, 2, FILE).await;
        let grpc_up = mib_per_s(FILE, started);
        let mut web = GrpcWeb::connect(gateway.grpc_addr, &token).await;
        let started = Instant::now();
        upload_grpc_web(&mut web, &account_id, 3, FILE).await;
        let web_up = mib_per_s(FILE, started);
        let started = Instant::now();
        let sha = download(&mut media, &token, &account_id, &uploaded).await;
        let grpc_down = mib_per_s(FILE, started);
        assert_eq!(sha, made_sha256(2, FILE), "downloaded bytes differ");
        let blob_write = blob_write_first.max(write_direct(&blobs, "again").await);
        drop(direct);

        // Memory: 1 GiB up and down.
        let rss_before = peak_rss();
        let big = upload_grpc(&mut media, &token, &account_id, 4, BIG).await;
        let sha = download(&mut media, &token, &account_id, &big).await;
        assert_eq!(sha, made_sha256(4, BIG), "the big file came back different");
        let rss_after = peak_rss();

        gateway.shutdown().await.ok();
        db.drop().await;

        let ratio = |a: f64, b: f64| a / b;
        format!(
            "# media bench: a {} MiB file in 512 KiB chunks, one client, loopback, files on the local filesystem\n\n\
             | path | MiB/s | baseline MiB/s | ratio |\n\
             | --- | ---: | ---: | ---: |\n\
             | upload, gRPC (chunks + CompleteUpload's SHA-256) | {grpc_up:.0} | {blob_write:.0} (blob store writes) | {:.2}x |\n\
             | upload, grpc-web (HTTP/1.1) | {web_up:.0} | {blob_write:.0} (blob store writes) | {:.2}x |\n\
             | download, gRPC (DownloadMedia) | {grpc_down:.0} | {blob_read:.0} (blob store reads + SHA-256) | {:.2}x |\n\n\
             peak RSS of the bench process (gateway + client): {rss_start:.0} MiB after start, {rss_before:.0} MiB after the {} MiB runs, \
             {rss_after:.0} MiB after moving a {} MiB file up and down (+{:.0} MiB)\n",
            FILE >> 20,
            ratio(grpc_up, blob_write),
            ratio(web_up, blob_write),
            ratio(grpc_down, blob_read),
            FILE >> 20,
            BIG >> 20,
            rss_after - rss_before,
        )
    });
}
