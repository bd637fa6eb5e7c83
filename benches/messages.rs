//! `make bench`: messaging, each figure against a baseline measured in the
//! same run, on one gateway (PostgreSQL, in-process cache, in-process
//! sandbox DC), everything on loopback, bounded in count and time:
//!
//! - (a) cached `ListMessages` (page_size 50) under h2load, against
//!   `grpc.health.v1.Health/Check` on the same server; goal ≥ 0.5x.
//! - (b) a history backfill persisted into PostgreSQL: the backfill's write
//!   (one `store_history` transaction per page of 100 messages, as
//!   `ListMessages` makes it) in messages/s, against `COPY` of the same rows
//!   into a table like `messages`; goal ≥ 0.5x. (b') gives the whole
//!   backfill for context: `ListMessages` pages (100 each) through a chat
//!   whose history the store has not seen, so every page is also fetched
//!   from Telegram and read back.
//! - (c) `SendMessage` end to end (outbox → grammers → sandbox DC), p50/p99,
//!   against a bare grammers client's `messages.sendMessage` round trip to
//!   the same sandbox DC; goal: p99 ≤ the baseline's p99 + 10 ms.
//!
//! Needs PostgreSQL (`TEZGRAM_TEST_DATABASE_URL`, an admin URL: a fresh
//! database is made and dropped), `h2load` and `psql`; `make bench` starts
//! and installs them. Results are printed and written to
//! `$CARGO_TARGET_DIR/bench/messages.md`.

#[path = "shared/mod.rs"]
mod shared;

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use grammers_session::Session as _;
use grammers_tl_types as tl;
use prost::Message as _;
use shared::{BenchDb, TENANT, authed, gateway_config};
use tezgram::domain::chat::HistoryDirection;
use tezgram::domain::ports::{ChatStore, HistoryCoverage};
use tezgram::domain::{AccountId, TenantId};
use tezgram::server;
use tezgram::storage::Store;
use tezgram::telegram::provision::sandbox_dc_option;
use tezgram_sandbox::{NewUser, SandboxLink};
use tezgram_sdk::v1 as pb;
use tezgram_sdk::v1::account_service_client::AccountServiceClient;
use tezgram_sdk::v1::chat_service_client::ChatServiceClient;
use tezgram_sdk::v1::message_service_client::MessageServiceClient;
use tonic::transport::Channel;

/// The allocator of the `tezgram` binary, so the gateway is measured as it
/// runs in production.
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// BACKFILL is how many messages (b) pages through.
const BACKFILL: usize = 3000;
/// SENDS is how many sends (c) times, on each path.
const SENDS: usize = 300;
/// H2LOAD_REQUESTS is how many requests (a) makes of each RPC.
const H2LOAD_REQUESTS: u32 = 20_000;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn main() {
    shared::main(
        "messages.md",
        |admin_url| async move { run(&admin_url).await },
    );
}

async fn run(admin_url: &str) -> String {
    let db = BenchDb::create(admin_url, "messages").await;
    let database_url = db.url.clone();
    let work = tempfile::tempdir().expect("temp dir");
    let (mut config, token) = gateway_config(work.path(), &database_url);
    config.telegram.send_interval_per_chat_ms = 0;
    let gateway = server::start(config).await.expect("gateway starts");
    let dc = gateway.sandbox().expect("the in-process sandbox").clone();
    let user = |phone: &str, first_name: &str| NewUser {
        owner: TENANT.into(),
        phone: phone.into(),
        first_name: first_name.into(),
        ..NewUser::default()
    };
    let ann = dc.create_user(user("9996614001", "Ann")).await.unwrap();
    let bob = dc.create_user(user("9996614002", "Bob")).await.unwrap();
    let carol = dc.create_user(user("9996614003", "Carol")).await.unwrap();
    // Ann's history with Bob, from before she connects: only Telegram has it.
    for i in 0..BACKFILL {
        dc.send_message(TENANT, bob.id, ann.id, format!("history {i}"))
            .await
            .unwrap();
    }
    dc.send_message(TENANT, carol.id, bob.id, "hi Bob".into())
        .await
        .unwrap();

    let channel = Channel::from_shared(format!("http://{}", gateway.grpc_addr))
        .unwrap()
        .connect()
        .await
        .expect("connect to the gateway");
    let mut accounts = AccountServiceClient::new(channel.clone());
    let mut chats = ChatServiceClient::new(channel.clone());
    let mut messages = MessageServiceClient::new(channel.clone());
    let id = shared::log_in(&mut accounts, &token, ann.phone.as_deref().unwrap()).await;
    let started = Instant::now();
    loop {
        let listed = chats
            .list_chats(authed(
                pb::ListChatsRequest {
                    account_id: id.clone(),
                    ..Default::default()
                },
                &token,
            ))
            .await;
        if listed.is_ok_and(|r| r.into_inner().chats.iter().any(|c| c.chat_id == bob.id)) {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "no chat list");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // (b) The backfill: every page below the chat list's top message is
    // fetched from Telegram and stored.
    let started = Instant::now();
    let mut page_token = String::new();
    let mut paged = 0;
    loop {
        let page = messages
            .list_messages(authed(
                pb::ListMessagesRequest {
                    account_id: id.clone(),
                    chat_id: bob.id,
                    page_size: 100,
                    page_token: page_token.clone(),
                    ..Default::default()
                },
                &token,
            ))
            .await
            .expect("ListMessages")
            .into_inner();
        paged += page.messages.len();
        if page.next_page_token.is_empty() {
            break;
        }
        page_token = page.next_page_token;
    }
    let backfill = started.elapsed();
    assert_eq!(paged, BACKFILL, "every message paged once");
    let copy = copy_baseline(&database_url, work.path());
    let persist = persist_backfill(&database_url, &id, bob.id).await;

    // (a) A cached page under h2load, against the health check.
    let request = pb::ListMessagesRequest {
        account_id: id.clone(),
        chat_id: bob.id,
        page_size: 50,
        ..Default::default()
    };
    let first = messages
        .list_messages(authed(request.clone(), &token))
        .await
        .expect("ListMessages")
        .into_inner();
    assert_eq!(first.messages.len(), 50);
    let metrics = gateway.metrics_addr;
    let ok_before = rpc_ok(metrics, "/tez.telegram.v1.MessageService/ListMessages");
    let list_rps = h2load(
        gateway.grpc_addr,
        "/tez.telegram.v1.MessageService/ListMessages",
        &request.encode_to_vec(),
        Some(&token),
        work.path(),
    );
    let ok_after = rpc_ok(metrics, "/tez.telegram.v1.MessageService/ListMessages");
    assert_eq!(
        ok_after - ok_before,
        f64::from(H2LOAD_REQUESTS),
        "every ListMessages under load answered OK"
    );
    let health_rps = h2load(
        gateway.grpc_addr,
        "/grpc.health.v1.Health/Check",
        &[],
        None,
        work.path(),
    );
    // The same authentication, rate limits and metrics as ListMessages,
    // around a cached account read: what the layers cost.
    let account_rps = h2load(
        gateway.grpc_addr,
        "/tez.telegram.v1.AccountService/GetAccount",
        &pb::GetAccountRequest {
            account_id: id.clone(),
        }
        .encode_to_vec(),
        Some(&token),
        work.path(),
    );

    // (c) SendMessage through the gateway, then the bare round trip.
    let mut gateway_sends = Vec::with_capacity(SENDS);
    for i in 0..SENDS {
        let started = Instant::now();
        let sent = messages
            .send_message(authed(
                pb::SendMessageRequest {
                    account_id: id.clone(),
                    chat_id: bob.id,
                    text: format!("reply {i}"),
                    request_id: format!("bench-{i}"),
                    ..Default::default()
                },
                &token,
            ))
            .await
            .expect("SendMessage")
            .into_inner()
            .message
            .unwrap();
        gateway_sends.push(started.elapsed());
        assert_eq!(sent.state(), pb::MessageState::Sent, "{sent:?}");
    }
    let bare_sends = bare_round_trips(&dc, bob.id, carol.id).await;

    let _ = gateway.shutdown().await;
    db.drop().await;

    gateway_sends.sort();
    let mut bare_sends = bare_sends;
    bare_sends.sort();
    let backfill_rate = BACKFILL as f64 / backfill.as_secs_f64();
    let persist_rate = BACKFILL as f64 / persist.as_secs_f64();
    let copy_rate = BACKFILL as f64 / copy.as_secs_f64();
    let (g50, g99) = (
        ms(percentile(&gateway_sends, 0.5)),
        ms(percentile(&gateway_sends, 0.99)),
    );
    let (b50, b99) = (
        ms(percentile(&bare_sends, 0.5)),
        ms(percentile(&bare_sends, 0.99)),
    );
    let verdict = |met: bool| if met { "met" } else { "NOT met" };
    let mut table = String::new();
    table.push_str(
        "# messages bench (one gateway: PostgreSQL, in-process cache, in-process sandbox DC)\n\n",
    );
    table.push_str("| figure | gateway | baseline | ratio | goal |\n");
    table.push_str("| --- | ---: | ---: | ---: | --- |\n");
    table.push_str(&format!(
        "| (a) cached ListMessages(50) vs Health/Check, h2load {H2LOAD_REQUESTS} requests, 4 connections x 16 streams (req/s) | {list_rps:.0} | {health_rps:.0} | {:.2}x | ≥ 0.5x ({}) |\n",
        list_rps / health_rps,
        verdict(list_rps / health_rps >= 0.5)
    ));
    table.push_str(&format!(
        "| (a') cached GetAccount vs Health/Check, same load (req/s): authentication, rate limits, metrics | {account_rps:.0} | {health_rps:.0} | {:.2}x | (context) |\n",
        account_rps / health_rps
    ));
    table.push_str(&format!(
        "| (b) backfill of {BACKFILL} messages persisted into PostgreSQL (the backfill's store_history, one transaction per 100) vs COPY of the same rows (messages/s) | {persist_rate:.0} | {copy_rate:.0} | {:.2}x | ≥ 0.5x ({}) |\n",
        persist_rate / copy_rate,
        verdict(persist_rate / copy_rate >= 0.5)
    ));
    table.push_str(&format!(
        "| (b') the whole backfill via ListMessages(100): Telegram fetch + store + read back + gRPC, vs COPY (messages/s) | {backfill_rate:.0} | {copy_rate:.0} | {:.2}x | (context) |\n",
        backfill_rate / copy_rate
    ));
    table.push_str(&format!(
        "| (c) SendMessage end to end vs bare messages.sendMessage, {SENDS} sequential (p50 / p99 ms) | {g50:.2} / {g99:.2} | {b50:.2} / {b99:.2} | p99 +{:.2} ms | p99 ≤ baseline + 10 ms ({}) |\n",
        g99 - b99,
        verdict(g99 <= b99 + 10.0)
    ));
    table
}

/// h2load runs `H2LOAD_REQUESTS` unary calls of `path` with `message` as
/// the request; returns requests per second (all must succeed).
fn h2load(addr: SocketAddr, path: &str, message: &[u8], token: Option<&str>, dir: &Path) -> f64 {
    let body = dir.join(format!("body-{}.bin", message.len()));
    let mut framed = vec![0u8];
    framed.extend_from_slice(&(message.len() as u32).to_be_bytes());
    framed.extend_from_slice(message);
    std::fs::write(&body, framed).unwrap();
    let mut command = Command::new("h2load");
    command
        .args([
            "-n",
            &H2LOAD_REQUESTS.to_string(),
            "-c",
            "4",
            "-m",
            "16",
            "-t",
            "1",
        ])
        .args(["-H", "content-type: application/grpc", "-H", "te: trailers"])
        .arg("-d")
        .arg(&body);
    if let Some(token) = token {
        command.args(["-H", &format!("authorization: Bearer {token}")]);
    }
    let output = command
        .arg(format!("http://{addr}{path}"))
        .output()
        .expect("run h2load (apt-get install nghttp2-client)");
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "h2load failed: {text}");
    let succeeded = text
        .lines()
        .find(|l| l.starts_with("requests:"))
        .and_then(|l| l.split(',').find(|p| p.contains("succeeded")))
        .and_then(|p| p.split_whitespace().next())
        .and_then(|n| n.parse::<u32>().ok());
    assert_eq!(succeeded, Some(H2LOAD_REQUESTS), "h2load: {text}");
    text.lines()
        .find(|l| l.starts_with("finished in"))
        .and_then(|l| l.split(',').nth(1))
        .and_then(|p| p.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no req/s in h2load's output: {text}"))
}

/// rpc_ok reads how many calls of `method` answered OK from /metrics.
fn rpc_ok(metrics: SocketAddr, method: &str) -> f64 {
    let mut stream = std::net::TcpStream::connect(metrics).expect("metrics");
    stream
        .write_all(b"GET /metrics HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n")
        .unwrap();
    let mut text = String::new();
    stream.read_to_string(&mut text).unwrap();
    let sample = format!("tezgram_rpc_requests_total{{code=\"OK\",method=\"{method}\"}}");
    text.lines()
        .find_map(|l| l.strip_prefix(&sample))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0.0)
}

/// copy_baseline COPYs the rows the backfill wrote into a table like
/// `messages` (its indexes included) and returns psql's timing of the COPY.
fn copy_baseline(database_url: &str, dir: &Path) -> Duration {
    let csv = dir.join("messages.csv");
    let columns = "account_id, peer_id, message_id, tenant_id, sender_id, outgoing, text, \
                   entities, media, reply_to, forward_from, grouped_id, sent_at, edited_at, \
                   views, state, request_id, action, error_reason, created_at, updated_at, \
                   edit_version";
    let psql = |script: &str| {
        let output = Command::new("psql")
            .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", database_url])
            .arg("-c")
            .arg(script)
            .output()
            .expect("run psql");
        let text = String::from_utf8_lossy(&output.stdout).into_owned();
        assert!(
            output.status.success(),
            "psql: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        text
    };
    psql(&format!(
        "\\copy (SELECT {columns} FROM messages WHERE text LIKE 'history %') TO '{}' CSV",
        csv.display()
    ));
    let rows = std::fs::read_to_string(&csv).unwrap().lines().count();
    assert_eq!(rows, BACKFILL, "the backfilled rows were exported");
    psql("CREATE TABLE bench_copy (LIKE messages INCLUDING ALL)");
    let timed = Command::new("psql")
        .args(["-X", "-v", "ON_ERROR_STOP=1", database_url])
        .args(["-c", "\\timing on"])
        .arg("-c")
        .arg(format!(
            "\\copy bench_copy ({columns}) FROM '{}' CSV",
            csv.display()
        ))
        .output()
        .expect("run psql");
    let text = String::from_utf8_lossy(&timed.stdout);
    assert!(timed.status.success(), "psql COPY: {text}");
    let millis: f64 = text
        .lines()
        .find_map(|l| l.strip_prefix("Time: "))
        .and_then(|t| t.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no timing in psql's output: {text}"));
    Duration::from_secs_f64(millis / 1000.0)
}

/// persist_backfill times the backfill's write on its own: the pages the
/// backfill stored, read back and written again as another chat's history
/// (so every row is new, as in a backfill), one `store_history` per 100
/// messages, newest first, with the chat's profile, as `ListMessages`
/// writes them.
async fn persist_backfill(database_url: &str, account: &str, chat_id: i64) -> Duration {
    let store = Store::connect(database_url)
        .await
        .expect("connect the store");
    let tenant = TenantId::parse(TENANT).expect("a tenant id");
    let account: AccountId = account.parse().expect("an account id");
    let copy_of = chat_id + 1_000_000;
    let mut profile = store
        .get_chat(&tenant, account, chat_id)
        .await
        .expect("the backfilled chat")
        .profile;
    profile.chat_id = copy_of;
    let mut pages = Vec::new();
    let mut anchor = None;
    loop {
        let page = store
            .messages(
                &tenant,
                account,
                chat_id,
                anchor,
                HistoryDirection::Older,
                100,
            )
            .await
            .expect("read the backfill");
        let Some(last) = page.last() else { break };
        anchor = Some(last.message_id);
        pages.push(
            page.into_iter()
                .filter(|m| m.text.starts_with("history "))
                .map(|mut m| {
                    m.chat_id = copy_of;
                    m.request_id = None;
                    m
                })
                .collect::<Vec<_>>(),
        );
    }
    assert_eq!(
        pages.iter().map(Vec::len).sum::<usize>(),
        BACKFILL,
        "every backfilled message read back"
    );
    let started = Instant::now();
    for page in &pages {
        let floor = page.iter().map(|m| m.message_id).min();
        store
            .store_history(
                &tenant,
                account,
                copy_of,
                page,
                std::slice::from_ref(&profile),
                HistoryCoverage {
                    floor,
                    complete: false,
                    total_count: Some(BACKFILL as i32),
                },
            )
            .await
            .expect("store a page");
    }
    started.elapsed()
}

/// bare_round_trips times `SENDS` sequential messages.sendMessage calls of
/// a bare grammers client (Bob, to Carol) on the same sandbox DC.
async fn bare_round_trips(
    dc: &tezgram_sandbox::SandboxDcHandle,
    from: i64,
    to: i64,
) -> Vec<Duration> {
    let mut key = [0u8; 256];
    rand::RngCore::fill_bytes(&mut rand::rng(), &mut key);
    dc.sign_in(from, key).expect("sign the bare client in");
    let session = Arc::new(grammers_session::storages::MemorySession::default());
    let option = sandbox_dc_option(dc.mtproto_addr(), key);
    session.set_dc_option(&option).await.unwrap();
    session.set_home_dc_id(option.id).await.unwrap();
    let pool = grammers_mtsender::SenderPool::new(session, 1);
    let client = grammers_client::Client::new(pool.handle);
    tokio::spawn(pool.runner.run());
    // Carol wrote to Bob: his dialogs carry her access hash.
    let dialogs = client
        .invoke(&tl::functions::messages::GetDialogs {
            exclude_pinned: false,
            folder_id: None,
            offset_date: 0,
            offset_id: 0,
            offset_peer: tl::enums::InputPeer::Empty,
            limit: 10,
            hash: 0,
        })
        .await
        .expect("Bob's dialogs");
    let users = match dialogs {
        tl::enums::messages::Dialogs::Dialogs(d) => d.users,
        tl::enums::messages::Dialogs::Slice(d) => d.users,
        tl::enums::messages::Dialogs::NotModified(_) => Vec::new(),
    };
    let access_hash = users
        .iter()
        .find_map(|u| match u {
            tl::enums::User::User(u) if u.id == to => u.access_hash,
            _ => None,
        })
        .expect("Carol's access hash");
    let mut times = Vec::with_capacity(SENDS);
    for i in 0..SENDS {
        let started = Instant::now();
        client
            .invoke(&tl::functions::messages::SendMessage {
                no_webpage: false,
                silent: false,
                background: false,
                clear_draft: false,
                noforwards: false,
                update_stickersets_order: false,
                invert_media: false,
                allow_paid_floodskip: false,
                peer: tl::types::InputPeerUser {
                    user_id: to,
                    access_hash,
                }
                .into(),
                reply_to: None,
                message: format!("bare {i}"),
                random_id: i as i64 + 1,
                reply_markup: None,
                entities: None,
                schedule_date: None,
                schedule_repeat_period: None,
                send_as: None,
                quick_reply_shortcut: None,
                effect: None,
                allow_paid_stars: None,
                suggested_post: None,
                rich_message: None,
            })
            .await
            .expect("a bare send");
        times.push(started.elapsed());
    }
    times
}
