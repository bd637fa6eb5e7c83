//! `make bench`: UpdateService.Subscribe fan-out. One gateway (PostgreSQL,
//! in-process cache, in-process sandbox DC), 1,000 concurrent subscribers
//! over 10 HTTP/2 connections, events injected through the sandbox DC (a
//! customer writing to 4 connected accounts in turn: each message is ingested,
//! appended to the log and streamed to every subscriber) at rising rates.
//! For each rate: deliveries/s and publish-to-receive p50/p99 (from the
//! sandbox send to a subscriber reading the event).
//!
//! Baseline, in the same run: a bare tonic server-streaming broadcast of
//! the same events (an `UpdateService` whose streams read one
//! `tokio::sync::broadcast`), to the same number of subscribers at the same
//! rates. Goals: at 100k deliveries/s p99 ≤ 20 ms; max deliveries/s ≥ 0.5x
//! the baseline's.
//!
//! Needs PostgreSQL (`TEZGRAM_TEST_DATABASE_URL`, an admin URL); `make
//! bench` starts it. Results are printed and written to
//! `$CARGO_TARGET_DIR/bench/updates.md`.

#[path = "shared/mod.rs"]
mod shared;

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::Stream;
use shared::{BenchDb, TENANT, authed, gateway_config};
use tezgram::server;
use tezgram_sandbox::{NewUser, SandboxLink};
use tezgram_sdk::v1 as pb;
use tezgram_sdk::v1::account_service_client::AccountServiceClient;
use tezgram_sdk::v1::update_service_client::UpdateServiceClient;
use tezgram_sdk::v1::update_service_server::{UpdateService, UpdateServiceServer};
use tokio::sync::broadcast;
use tonic::transport::Channel;

#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// SUBSCRIBERS is how many streams receive every event.
const SUBSCRIBERS: usize = 1000;
/// ACCOUNTS are the agents' accounts the events are spread over.
const ACCOUNTS: usize = 4;
/// CONNECTIONS carry the streams (100 each, within HTTP/2's 200).
const CONNECTIONS: usize = 10;
/// RATES are the injection rates, events/s; each runs for PHASE.
const RATES: [u32; 6] = [25, 50, 100, 200, 400, 800];
const PHASE: Duration = Duration::from_secs(4);
/// DRAIN bounds the wait for a phase's last deliveries.
const DRAIN: Duration = Duration::from_secs(20);

/// Received is what one subscriber saw: each event's publish-to-receive
/// time, in microseconds.
type Received = Arc<Mutex<Vec<u32>>>;

/// stamp is what an injected event's text says: its sequence number and
/// when it was injected (µs since `base`).
fn stamp(base: Instant, seq: u64) -> String {
    format!("bench {seq} {}", base.elapsed().as_micros())
}

fn latency(base: Instant, text: &str) -> Option<u32> {
    let sent: u128 = text.rsplit(' ').next()?.parse().ok()?;
    let now = base.elapsed().as_micros();
    u32::try_from(now.saturating_sub(sent)).ok()
}

/// subscribe opens `SUBSCRIBERS` streams over `CONNECTIONS` channels to
/// `addr`, each recording the latency of every new message it receives.
async fn subscribe(addr: SocketAddr, token: Option<&str>, base: Instant) -> Vec<Received> {
    let mut channels = Vec::new();
    for _ in 0..CONNECTIONS {
        channels.push(
            Channel::from_shared(format!("http://{addr}"))
                .unwrap()
                .connect()
                .await
                .expect("connect"),
        );
    }
    let mut all = Vec::new();
    for i in 0..SUBSCRIBERS {
        let mut client = UpdateServiceClient::new(channels[i % CONNECTIONS].clone());
        let request = pb::SubscribeRequest::default();
        let request = match token {
            Some(token) => authed(request, token),
            None => tonic::Request::new(request),
        };
        let mut stream = client
            .subscribe(request)
            .await
            .expect("Subscribe")
            .into_inner();
        let received: Received = Arc::default();
        all.push(received.clone());
        tokio::spawn(async move {
            while let Ok(Some(response)) = stream.message().await {
                if let Some(pb::event::Payload::MessageCreated(created)) =
                    response.event.and_then(|e| e.payload)
                    && let Some(micros) = created.message.and_then(|m| latency(base, &m.text))
                {
                    received.lock().unwrap().push(micros);
                }
            }
        });
    }
    all
}

/// Phase is one rate's outcome.
struct Phase {
    rate: u32,
    deliveries_per_s: f64,
    p50_ms: f64,
    p99_ms: f64,
    delivered: usize,
    expected: usize,
}

/// run_phase injects `rate` events/s for `PHASE` with `inject`, waits for
/// every subscriber to have them all (bounded), and measures.
async fn run_phase<F, Fut>(rate: u32, subscribers: &[Received], mut inject: F) -> Phase
where
    F: FnMut(u64) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    for s in subscribers {
        s.lock().unwrap().clear();
    }
    let count = (f64::from(rate) * PHASE.as_secs_f64()) as u64;
    let expected = count as usize * subscribers.len();
    let started = Instant::now();
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / f64::from(rate)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    for seq in 0..count {
        tick.tick().await;
        inject(seq).await;
    }
    let deadline = Instant::now() + DRAIN;
    let delivered = loop {
        let delivered: usize = subscribers.iter().map(|s| s.lock().unwrap().len()).sum();
        if delivered >= expected || Instant::now() > deadline {
            break delivered;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    let elapsed = started.elapsed();
    let mut all: Vec<u32> = subscribers
        .iter()
        .flat_map(|s| s.lock().unwrap().clone())
        .collect();
    all.sort_unstable();
    let at = |p: f64| {
        all.get(((all.len() as f64 - 1.0) * p).round() as usize)
            .map_or(f64::NAN, |us| f64::from(*us) / 1000.0)
    };
    Phase {
        rate,
        deliveries_per_s: delivered as f64 / elapsed.as_secs_f64(),
        p50_ms: at(0.5),
        p99_ms: at(0.99),
        delivered,
        expected,
    }
}

/// Bare is the baseline: an UpdateService whose every stream reads one
/// broadcast of ready-made events.
struct Bare {
    events: broadcast::Sender<pb::SubscribeResponse>,
}

type BareStream = Pin<Box<dyn Stream<Item = Result<pb::SubscribeResponse, tonic::Status>> + Send>>;

#[tonic::async_trait]
impl UpdateService for Bare {
    type SubscribeStream = BareStream;

    async fn subscribe(
        &self,
        _request: tonic::Request<pb::SubscribeRequest>,
    ) -> Result<tonic::Response<BareStream>, tonic::Status> {
        let events = self.events.subscribe();
        let stream = futures::stream::unfold(events, |mut events| async move {
            loop {
                match events.recv().await {
                    Ok(event) => return Some((Ok(event), events)),
                    Err(broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(broadcast::error::RecvError::Closed) => return None,
                }
            }
        });
        Ok(tonic::Response::new(Box::pin(stream)))
    }
}

fn main() {
    shared::main(
        "updates.md",
        |admin_url| async move { run(&admin_url).await },
    );
}

async fn run(admin_url: &str) -> String {
    let db = BenchDb::create(admin_url, "updates").await;
    let work = tempfile::tempdir().expect("temp dir");
    let (mut config, token) = gateway_config(work.path(), &db.url);
    // The streams, and the probe that waits for the accounts to connect.
    config.events.streams_per_caller = SUBSCRIBERS as u32 + 1;
    let gateway = server::start(config).await.expect("gateway starts");
    let dc = gateway.sandbox().expect("the in-process sandbox").clone();
    let user = |phone: &str, first_name: &str| NewUser {
        owner: TENANT.into(),
        phone: phone.into(),
        first_name: first_name.into(),
        ..NewUser::default()
    };
    // Several agents' accounts, as a CRM has: their ingest runs side by
    // side (one account's updates are stored one after the other).
    let bob = dc.create_user(user("9996614102", "Bob")).await.unwrap();
    let mut agents = Vec::new();
    for n in 0..ACCOUNTS {
        let phone = format!("999661411{n}");
        agents.push(dc.create_user(user(&phone, "Agent")).await.unwrap());
    }

    let channel = Channel::from_shared(format!("http://{}", gateway.grpc_addr))
        .unwrap()
        .connect()
        .await
        .expect("connect to the gateway");
    let mut accounts = AccountServiceClient::new(channel.clone());
    let mut account_ids = Vec::new();
    for agent in &agents {
        let phone = agent.phone.as_deref().unwrap();
        account_ids.push(shared::log_in(&mut accounts, &token, phone).await);
    }
    let base = Instant::now();
    // Wait until every agent's connection ingests: a warm-up message each
    // is streamed.
    let probe = subscribe_one(gateway.grpc_addr, &token).await;
    for agent in &agents {
        let started = Instant::now();
        loop {
            dc.send_message(TENANT, bob.id, agent.id, stamp(base, 0))
                .await
                .unwrap();
            if tokio::time::timeout(Duration::from_secs(1), probe.notified())
                .await
                .is_ok()
            {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "never connected"
            );
        }
    }
    let agent_ids: Vec<i64> = agents.iter().map(|a| a.id).collect();

    let gateway_subscribers = subscribe(gateway.grpc_addr, Some(&token), base).await;
    let mut gateway_phases = Vec::new();
    for rate in RATES {
        let phase = run_phase(rate, &gateway_subscribers, |seq| {
            let dc = dc.clone();
            let agent = agent_ids[seq as usize % agent_ids.len()];
            async move {
                dc.send_message(TENANT, bob.id, agent, stamp(base, seq))
                    .await
                    .expect("sandbox send");
            }
        })
        .await;
        eprintln!(
            "gateway {} ev/s: {:.0} deliveries/s, p50 {:.2} ms, p99 {:.2} ms, {}/{}",
            phase.rate,
            phase.deliveries_per_s,
            phase.p50_ms,
            phase.p99_ms,
            phase.delivered,
            phase.expected
        );
        gateway_phases.push(phase);
    }
    drop(gateway_subscribers);
    let _ = gateway.shutdown().await;
    db.drop().await;

    // The baseline: the same events, broadcast by a bare tonic server.
    let (events, _) = broadcast::channel(4096);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let bare_addr = listener.local_addr().unwrap();
    let bare = Bare {
        events: events.clone(),
    };
    tokio::spawn(async move {
        tonic::transport::Server::builder()
            .add_service(UpdateServiceServer::new(bare))
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener))
            .await
    });
    let bare_subscribers = subscribe(bare_addr, None, base).await;
    let mut bare_phases = Vec::new();
    for rate in RATES {
        let phase = run_phase(rate, &bare_subscribers, |seq| {
            let account_id = account_ids[seq as usize % account_ids.len()].clone();
            let events = events.clone();
            async move {
                let _ = events.send(pb::SubscribeResponse {
                    event: Some(pb::Event {
                        cursor: "c1.AAAAAAAAAAAAAAAAAAAAAA".into(),
                        account_id: account_id.clone(),
                        payload: Some(pb::event::Payload::MessageCreated(pb::MessageCreated {
                            message: Some(pb::Message {
                                account_id,
                                chat_id: bob.id,
                                message_id: seq as i64 + 1,
                                sender_id: bob.id,
                                text: stamp(base, seq),
                                state: pb::MessageState::Sent as i32,
                                ..Default::default()
                            }),
                        })),
                        ..Default::default()
                    }),
                });
            }
        })
        .await;
        eprintln!(
            "bare {} ev/s: {:.0} deliveries/s, p50 {:.2} ms, p99 {:.2} ms",
            phase.rate, phase.deliveries_per_s, phase.p50_ms, phase.p99_ms
        );
        bare_phases.push(phase);
    }

    let mut table = String::new();
    table.push_str(&format!(
        "# updates bench: {SUBSCRIBERS} Subscribe streams over {CONNECTIONS} connections, events injected through the sandbox DC into {ACCOUNTS} accounts ({}s per rate)\n\n",
        PHASE.as_secs()
    ));
    table.push_str("| events/s | gateway deliveries/s | gateway p50 / p99 ms | delivered | bare deliveries/s | bare p50 / p99 ms |\n");
    table.push_str("| ---: | ---: | ---: | ---: | ---: | ---: |\n");
    for (g, b) in gateway_phases.iter().zip(&bare_phases) {
        table.push_str(&format!(
            "| {} | {:.0} | {:.2} / {:.2} | {}/{} | {:.0} | {:.2} / {:.2} |\n",
            g.rate,
            g.deliveries_per_s,
            g.p50_ms,
            g.p99_ms,
            g.delivered,
            g.expected,
            b.deliveries_per_s,
            b.p50_ms,
            b.p99_ms
        ));
    }
    let verdict = |met: bool| if met { "met" } else { "NOT met" };
    let at_100k = gateway_phases.iter().find(|p| p.rate == 100);
    let max_gateway = gateway_phases
        .iter()
        .map(|p| p.deliveries_per_s)
        .fold(0.0, f64::max);
    let max_bare = bare_phases
        .iter()
        .map(|p| p.deliveries_per_s)
        .fold(0.0, f64::max);
    table.push('\n');
    if let Some(p) = at_100k {
        table.push_str(&format!(
            "- at 100 events/s x {SUBSCRIBERS} = 100k deliveries/s: p99 {:.2} ms (goal ≤ 20 ms: {})\n",
            p.p99_ms,
            verdict(p.p99_ms <= 20.0 && p.delivered == p.expected)
        ));
    }
    table.push_str(&format!(
        "- max deliveries/s: gateway {max_gateway:.0} vs bare {max_bare:.0} = {:.2}x (goal ≥ 0.5x: {})\n",
        max_gateway / max_bare,
        verdict(max_gateway / max_bare >= 0.5)
    ));
    table
}

/// subscribe_one opens one stream that notifies on each new message.
async fn subscribe_one(addr: SocketAddr, token: &str) -> Arc<tokio::sync::Notify> {
    let channel = Channel::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .expect("connect");
    let mut stream = UpdateServiceClient::new(channel)
        .subscribe(authed(pb::SubscribeRequest::default(), token))
        .await
        .expect("Subscribe")
        .into_inner();
    let notify = Arc::new(tokio::sync::Notify::new());
    let notified = notify.clone();
    tokio::spawn(async move {
        while let Ok(Some(response)) = stream.message().await {
            if let Some(pb::event::Payload::MessageCreated(_)) =
                response.event.and_then(|e| e.payload)
            {
                notified.notify_one();
            }
        }
    });
    notify
}
