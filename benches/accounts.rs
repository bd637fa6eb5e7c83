//! `make bench`: idle memory of connected accounts.
//!
//! 200 accounts are logged in on a sandbox DC running as its own process
//! (`tezgram sandbox`, so its memory is not counted), then connected from a
//! fresh process in two ways, each in its own child so allocations do not
//! carry over:
//! - `gateway`: the production path — accounts and sealed sessions in SQLite,
//!   kept connected by the `AccountSupervisor` (sender pool, update stream
//!   drained, probes);
//! - `bare`: the baseline — one plain grammers client per account on an
//!   in-memory session, connected and left idle.
//! - `bare-updates`: the same clients, each also keeping its update stream
//!   (caught up, drained by a task of its own), which the gateway must do.
//!
//! Resident memory (VmRSS) is read before connecting and after every account
//! is connected and idle; the per-account cost is the difference over the
//! count. Results are printed as a table and written to
//! `$CARGO_TARGET_DIR/bench/accounts.md`. Everything is on loopback, bounded
//! in count and time, and stops by itself.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use rand::RngCore;
use tezgram::cache::{MemoryCache, MemoryCacheOptions};
use tezgram::crypto::Sealer;
use tezgram::domain::ports::AccountStore;
use tezgram::domain::ports::Supervision;
use tezgram::domain::{Account, AccountId, AccountKind, AccountState, TenantId};
use tezgram::service::Chats;
use tezgram::service::cached::Generations;
use tezgram::service::chats::ChatOptions;
use tezgram::storage::Store;
use tezgram::telegram::StoredSession;
use tezgram::telegram::accounts::{RealTelegram, Telegram, TelegramOptions};
use tezgram::telegram::login::App;
use tezgram::telegram::provision::sandbox_dc_option;
use tezgram::telegram::session::{SessionData, SessionOptions};
use tezgram::telegram::supervisor::{AccountSupervisor, SupervisorOptions};
use tezgram_sandbox::{NewUser, SandboxDc, SandboxDcOptions, SandboxLink};

/// The allocator of the `tezgram` binary, so both paths are measured as
/// they run in production.
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

const ACCOUNTS: usize = 200;
const IDLE: Duration = Duration::from_secs(5);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(120);

fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS in /proc/self/status")
}

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn read_keys(path: &Path) -> Vec<[u8; 256]> {
    let bytes = std::fs::read(path).expect("keys file");
    bytes
        .chunks_exact(256)
        .map(|c| c.try_into().expect("256-byte chunks"))
        .collect()
}

fn main() {
    match arg("--mode").as_deref() {
        Some(mode) => child(mode),
        None => parent(),
    }
}

/// parent provisions the sandbox, runs it, runs both children, reports.
fn parent() {
    let work = tempfile::tempdir().expect("temp dir");
    let sandbox_dir = work.path().join("sandbox");
    let keys_path = work.path().join("keys.bin");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(provision(&sandbox_dir, &keys_path));

    let free = || {
        std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free loopback port")
    };
    let (addr, admin) = (free(), free());
    let mut token = [0u8; 24];
    rand::rng().fill_bytes(&mut token);
    let mut sandbox = Command::new(env!("CARGO_BIN_EXE_tezgram"))
        .args([
            "sandbox",
            "--listen",
            &addr.to_string(),
            "--admin-listen",
            &admin.to_string(),
            "--data-dir",
        ])
        .arg(&sandbox_dir)
        .env("RUST_LOG", "warn")
        // The admin API is not used here, but the standalone sandbox requires its token.
        .env("TEZGRAM_SANDBOX__ADMIN_TOKEN", hex::encode(token))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .expect("start tezgram sandbox");
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(addr).is_err() {
        if let Some(status) = sandbox.try_wait().expect("sandbox status") {
            panic!("tezgram sandbox exited with {status} before listening");
        }
        assert!(
            Instant::now() < deadline,
            "the sandbox did not listen within 30s"
        );
        std::thread::sleep(Duration::from_millis(50));
    }

    let mut rows = Vec::new();
    for mode in ["bare", "bare-updates", "gateway"] {
        let output = Command::new(std::env::current_exe().unwrap())
            .args(["--mode", mode, "--addr", &addr.to_string(), "--keys"])
            .arg(&keys_path)
            .arg("--work")
            .arg(work.path())
            .stderr(Stdio::inherit())
            .output()
            .expect("run a bench child");
        assert!(output.status.success(), "{mode} child failed");
        let line = String::from_utf8(output.stdout).unwrap();
        let line = line.lines().last().unwrap_or_default().to_owned();
        let fields: Vec<f64> = line
            .split_whitespace()
            .map(|v| v.parse().unwrap())
            .collect();
        rows.push((mode, fields));
    }
    let _ = sandbox.kill();
    let _ = sandbox.wait();

    let per = |mode: &str| {
        rows.iter()
            .find(|(m, _)| *m == mode)
            .map(|(_, f)| f[2])
            .unwrap()
    };
    let mut table = String::new();
    table.push_str(&format!(
        "# accounts bench ({ACCOUNTS} accounts, sandbox DC in its own process, idle {}s)\n\n",
        IDLE.as_secs()
    ));
    table.push_str(
        "| path | RSS before (KiB) | RSS idle (KiB) | per account (KiB) | connect all (ms) |\n",
    );
    table.push_str("| --- | ---: | ---: | ---: | ---: |\n");
    for (mode, f) in &rows {
        let name = match *mode {
            "bare" => "bare grammers client (baseline)",
            "bare-updates" => "bare grammers client + drained update stream",
            _ => "gateway: AccountSupervisor + sealed sessions",
        };
        table.push_str(&format!(
            "| {name} | {:.0} | {:.0} | {:.1} | {:.0} |\n",
            f[0], f[1], f[2], f[3]
        ));
    }
    table.push_str(&format!(
        "\ngateway / baseline per account: {:.2}x (vs. the bare client with its update stream: {:.2}x); goal: gateway ≤ 150 KiB per account ({})\n",
        per("gateway") / per("bare"),
        per("gateway") / per("bare-updates"),
        if per("gateway") <= 150.0 {
            "met"
        } else {
            "NOT met"
        }
    ));
    println!("{table}");
    let dir = PathBuf::from(std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".into()))
        .join("bench");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("accounts.md"), &table).unwrap();
    eprintln!("written to {}", dir.join("accounts.md").display());
}

/// provision logs ACCOUNTS users in on a sandbox DC's data dir (an
/// in-process DC, stopped before the standalone one serves the dir), each
/// with its own auth key, and writes the keys for the children.
async fn provision(sandbox_dir: &Path, keys_path: &Path) {
    let dc = SandboxDc::start(SandboxDcOptions {
        data_dir: Some(sandbox_dir.to_owned()),
        ..SandboxDcOptions::default()
    })
    .await
    .expect("start the sandbox dc");
    let mut keys = Vec::with_capacity(ACCOUNTS * 256);
    for i in 0..ACCOUNTS {
        let user = dc
            .create_user(NewUser {
                phone: format!("99966{}{:04}", 1 + i % 3, i),
                first_name: format!("Bench {i}"),
                ..NewUser::default()
            })
            .await
            .expect("create a sandbox user");
        let mut key = [0u8; 256];
        rand::rng().fill_bytes(&mut key);
        dc.sign_in(user.id, key).expect("log the device in");
        keys.extend_from_slice(&key);
    }
    dc.shutdown().await.expect("write the sandbox snapshot");
    std::fs::write(keys_path, keys).expect("write keys");
}

fn child(mode: &str) {
    let addr: SocketAddr = arg("--addr").unwrap().parse().unwrap();
    let keys = read_keys(Path::new(&arg("--keys").unwrap()));
    let work = PathBuf::from(arg("--work").unwrap());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (before, after, connect_ms) = runtime.block_on(async {
        match mode {
            "bare" => bare(addr, &keys, false).await,
            "bare-updates" => bare(addr, &keys, true).await,
            _ => gateway(addr, &keys, &work).await,
        }
    });
    let per = (after as f64 - before as f64) / keys.len() as f64;
    println!("{before} {after} {per:.1} {connect_ms}");
}

/// bare connects plain grammers clients; `with_updates` also opens each
/// one's update stream (catching up, as the supervisor does) and drains it
/// in a task of its own: a bare client that keeps up with its updates.
async fn bare(addr: SocketAddr, keys: &[[u8; 256]], with_updates: bool) -> (u64, u64, u128) {
    use grammers_session::Session;
    let before = rss_kib();
    let start = Instant::now();
    let mut clients = Vec::new();
    for key in keys {
        let session = Arc::new(grammers_session::storages::MemorySession::default());
        let dc = sandbox_dc_option(addr, *key);
        session.set_dc_option(&dc).await.unwrap();
        session.set_home_dc_id(dc.id).await.unwrap();
        let pool = grammers_mtsender::SenderPool::new(session, 1);
        let client = grammers_client::Client::new(pool.handle);
        tokio::spawn(pool.runner.run());
        client
            .invoke(&grammers_tl_types::functions::updates::GetState {})
            .await
            .expect("a bare client connects");
        if with_updates {
            let mut stream = client
                .stream_updates(
                    pool.updates,
                    grammers_mtsender::UpdatesConfiguration { catch_up: true },
                )
                .await
                .expect("an update stream");
            tokio::spawn(async move { while stream.next().await.is_ok() {} });
            clients.push((client, None));
        } else {
            clients.push((client, Some(pool.updates)));
        }
    }
    let connect_ms = start.elapsed().as_millis();
    tokio::time::sleep(IDLE).await;
    let after = rss_kib();
    drop(clients);
    (before, after, connect_ms)
}

async fn gateway(addr: SocketAddr, keys: &[[u8; 256]], work: &Path) -> (u64, u64, u128) {
    let db = work.join("gateway.db");
    let store = Store::connect(&format!("sqlite://{}?mode=rwc", db.display()))
        .await
        .unwrap();
    store.migrate().await.unwrap();
    let sealer = Sealer::from_specs(&[Sealer::generate_spec("bench").to_string()], None).unwrap();
    let tenant = TenantId::parse("bench").unwrap();
    let mut ids = Vec::new();
    for (i, key) in keys.iter().enumerate() {
        let now = Utc::now();
        let account = Account {
            id: AccountId::new(),
            tenant: tenant.clone(),
            kind: AccountKind::User,
            state: AccountState::Authorized,
            phone_number: None,
            telegram_user_id: Some(i as i64 + 1),
            username: None,
            display_name: format!("Bench {i}"),
            password_hint: None,
            created_at: now,
            updated_at: now,
        };
        store.insert_account(&account).await.unwrap();
        StoredSession::create(
            account.id,
            Arc::new(store.clone()),
            sealer.clone(),
            SessionOptions::default(),
            SessionData::for_dc(sandbox_dc_option(addr, *key)),
            0,
        )
        .await
        .unwrap();
        ids.push(account.id);
    }
    let telegram = Arc::new(Telegram::new(
        App {
            api_id: 1,
            api_hash: "sandbox".into(),
        },
        Arc::new(RealTelegram),
        Arc::new(store.clone()),
        sealer,
        TelegramOptions::default(),
    ));
    // The gateway path stores what the accounts receive, as `serve` does.
    let chats = Chats::new(
        Arc::new(store.clone()),
        Arc::new(store.clone()),
        telegram.clone(),
        Generations::new(Arc::new(MemoryCache::new(MemoryCacheOptions::default()))),
        ChatOptions::default(),
        tezgram::service::Audit::new(Arc::new(store.clone()), tezgram::telemetry::Metrics::new()),
    );
    let supervisor = AccountSupervisor::new(
        telegram,
        Arc::new(chats),
        Arc::new(NobodyStreams),
        SupervisorOptions::default(),
        tezgram::telemetry::Metrics::new(),
    );
    // Let the sessions' flushers finish before the baseline is read.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = rss_kib();
    let start = Instant::now();
    for id in &ids {
        supervisor.supervise(&tenant, *id);
    }
    while supervisor.connected() < ids.len() {
        assert!(
            start.elapsed() < CONNECT_TIMEOUT,
            "only {} of {} connected",
            supervisor.connected(),
            ids.len()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let connect_ms = start.elapsed().as_millis();
    tokio::time::sleep(IDLE).await;
    let after = rss_kib();
    supervisor.shutdown().await;
    (before, after, connect_ms)
}

/// NobodyStreams drops typing: the bench has no Subscribe streams.
struct NobodyStreams;

impl tezgram::domain::ports::Ephemera for NobodyStreams {
    fn ephemeral(&self, _event: tezgram::domain::event::NewEvent) {}
}
