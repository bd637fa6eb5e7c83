//! Faults lose nothing: a database outage makes the gateway NOT_SERVING and
//! its calls UNAVAILABLE, and it recovers without a restart; a Redis outage
//! only slows reads down, which fall back to the database.
//!
//! Outages are made with a loopback TCP proxy that can be cut and restored.
//! The PostgreSQL test runs when the suite runs against PostgreSQL, the
//! Redis one when it runs with Redis (`make test` runs both passes).

use std::net::SocketAddr;
use std::time::Duration;

use tezgram::domain::ports::AccountStore;
use tezgram_sdk::v1 as pb;
use tezgram_sdk::v1::account_service_client::AccountServiceClient;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tonic::Code;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_types::StatusExt;

use crate::server::{REDIS_URL_ENV, TestServer, authed};

/// TcpProxy forwards a loopback port to `target` until cut or stalled.
pub struct TcpProxy {
    pub addr: SocketAddr,
    mode: watch::Sender<Mode>,
    task: tokio::task::JoinHandle<()>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Open,
    /// Connections are dropped, new ones refused.
    Cut,
    /// Connections stay open but nothing passes: a peer that hangs.
    Stall,
}

impl TcpProxy {
    pub async fn start(target: SocketAddr) -> TcpProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (mode, mode_rx) = watch::channel(Mode::Open);
        let task = tokio::spawn(async move {
            loop {
                let Ok((mut inbound, _)) = listener.accept().await else {
                    return;
                };
                let mut mode_rx = mode_rx.clone();
                let now = *mode_rx.borrow();
                match now {
                    Mode::Cut => continue, // refused: dropped at once
                    Mode::Stall => {
                        // Held, silent, until the stall ends.
                        tokio::spawn(async move {
                            let _ = mode_rx.wait_for(|m| *m != Mode::Stall).await;
                            drop(inbound);
                        });
                    }
                    Mode::Open => {
                        tokio::spawn(async move {
                            let Ok(mut outbound) = TcpStream::connect(target).await else {
                                return;
                            };
                            tokio::select! {
                                _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => return,
                                _ = mode_rx.wait_for(|m| *m != Mode::Open) => {}
                            }
                            // A stalled connection keeps both ends open
                            // until the stall ends; a cut one closes now.
                            if *mode_rx.borrow() == Mode::Stall {
                                let _ = mode_rx.wait_for(|m| *m != Mode::Stall).await;
                            }
                        });
                    }
                }
            }
        });
        TcpProxy { addr, mode, task }
    }

    /// cut drops every open connection and refuses new ones.
    pub fn cut(&self) {
        self.mode.send_replace(Mode::Cut);
    }

    /// stall keeps every connection open and passes nothing, for old and
    /// new ones alike: the peer hangs.
    pub fn stall(&self) {
        self.mode.send_replace(Mode::Stall);
    }

    /// restore forwards again (stalled connections are dropped).
    pub fn restore(&self) {
        self.mode.send_replace(Mode::Open);
    }
}

impl Drop for TcpProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// with_port replaces the port of a `scheme://user@host:port/path` URL.
pub(crate) fn with_port(url: &str, port: u16) -> (String, SocketAddr) {
    let (scheme, rest) = url.split_once("://").unwrap();
    let (authority, path) = rest.split_once('/').map_or((rest, ""), |(a, p)| (a, p));
    let (user, hostport) = authority
        .rsplit_once('@')
        .map_or(("", authority), |(u, h)| (u, h));
    let target: SocketAddr = hostport.parse().expect("a loopback ip:port");
    let user = if user.is_empty() {
        String::new()
    } else {
        format!("{user}@")
    };
    let slash = if path.is_empty() && !rest.contains('/') {
        ""
    } else {
        "/"
    };
    (
        format!("{scheme}://{user}{}:{port}{slash}{path}", target.ip()),
        target,
    )
}

/// proxied_postgres is a fresh PostgreSQL test database behind a
/// [`TcpProxy`], with the URL that goes through the proxy; `None` (skipped)
/// when the suite runs on SQLite.
async fn proxied_postgres() -> Option<(crate::db::TestDb, TcpProxy, String)> {
    let db = crate::db::TestDb::fresh().await;
    if !db.is_postgres() {
        eprintln!("skipped here: needs PostgreSQL (runs in the PostgreSQL pass of make test)");
        return None;
    }
    let (_, target) = with_port(&db.url, 1);
    let proxy = TcpProxy::start(target).await;
    let (proxied_url, _) = with_port(&db.url, proxy.addr.port());
    Some((db, proxy, proxied_url))
}

async fn health(server: &TestServer) -> ServingStatus {
    let mut client = HealthClient::new(server.channel().await);
    client
        .check(HealthCheckRequest {
            service: String::new(),
        })
        .await
        .unwrap()
        .into_inner()
        .status()
}

/// wait_for_health polls (bounded: 30 s) until health reports `want`.
async fn wait_for_health(server: &TestServer, want: ServingStatus) {
    for _ in 0..60 {
        if health(server).await == want {
            return;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    panic!("health never became {want:?}");
}

#[tokio::test]
async fn a_database_outage_is_unavailable_and_recovers_without_restart() {
    let Some((db, proxy, proxied_url)) = proxied_postgres().await else {
        return;
    };
    let server = TestServer::start_with(|c| c.database_url = Some(proxied_url.clone())).await;
    let account = crate::api::account("acme", "Acme");
    server.store().await.insert_account(&account).await.unwrap();
    let mut client = AccountServiceClient::new(server.channel().await);
    let token = server.token("acme");
    let list = || pb::ListAccountsRequest::default();
    assert_eq!(
        client
            .list_accounts(authed(list(), &token))
            .await
            .unwrap()
            .into_inner()
            .accounts
            .len(),
        1
    );

    proxy.cut();
    wait_for_health(&server, ServingStatus::NotServing).await;
    let err = client
        .list_accounts(authed(list(), &token))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unavailable, "{err:?}");
    assert_eq!(err.get_details_error_info().unwrap().reason, "UNAVAILABLE");

    proxy.restore();
    wait_for_health(&server, ServingStatus::Serving).await;
    let accounts = client
        .list_accounts(authed(list(), &token))
        .await
        .unwrap()
        .into_inner()
        .accounts;
    assert_eq!(accounts.len(), 1, "nothing was lost");
    assert_eq!(accounts[0].account_id, account.id.to_string());
    server.stop().await;
    db.cleanup().await;
}

#[tokio::test]
async fn a_database_outage_during_submit_code_is_unavailable_within_the_deadline() {
    let Some((db, proxy, proxied_url)) = proxied_postgres().await else {
        return;
    };
    let flush = Duration::from_secs(2);
    let server = TestServer::start_with(|c| {
        c.database_url = Some(proxied_url.clone());
        c.telegram.session_flush_timeout_seconds = flush.as_secs();
        c.telegram.call_timeout_seconds = 5;
    })
    .await;
    let mut c = crate::clients::Clients::of(&server).await;
    let ann = c.sandbox_user("9996618001", "Ann", "").await;
    let pending = c.start_login(&ann.phone_number).await.unwrap();

    proxy.cut();
    // The login answers (it does not hang on the lost database): within the
    // flush deadline plus the pool's acquire timeout, with margin.
    let answered = tokio::time::timeout(
        flush + Duration::from_secs(15),
        c.submit_code(&pending.account_id, &ann.login_code),
    )
    .await
    .expect("SubmitCode answers while the database is down");
    let err = answered.unwrap_err();
    assert_eq!(err.code(), Code::Unavailable, "{err:?}");

    // Nothing was lost: once the database is back the login completes.
    proxy.restore();
    wait_for_health(&server, ServingStatus::Serving).await;
    let account = c
        .submit_code(&pending.account_id, &ann.login_code)
        .await
        .expect("the retried SubmitCode completes the login");
    assert_eq!(account.state(), pb::AccountState::Authorized);
    server.stop().await;
    db.cleanup().await;
}

#[tokio::test]
async fn a_hanging_database_ends_unary_calls_at_the_request_timeout() {
    let Some((db, proxy, proxied_url)) = proxied_postgres().await else {
        return;
    };
    let server = TestServer::start_with(|c| {
        c.database_url = Some(proxied_url.clone());
        c.transport.request_timeout_seconds = 1;
    })
    .await;
    let mut client = AccountServiceClient::new(server.channel().await);
    let token = server.token("acme");
    let list = || authed(pb::ListAccountsRequest::default(), &token);
    client.list_accounts(list()).await.unwrap();

    // The database hangs (no error, no answer): the call ends at the
    // server's request timeout (tonic answers CANCELLED), well before the
    // pool's own 5 s acquire timeout would have.
    proxy.stall();
    let answered = tokio::time::timeout(Duration::from_secs(15), client.list_accounts(list()))
        .await
        .expect("the call ends instead of hanging");
    let err = answered.unwrap_err();
    assert_eq!(err.code(), Code::Cancelled, "{err:?}");
    assert!(err.message().contains("Timeout"), "{err:?}");

    proxy.restore();
    wait_for_health(&server, ServingStatus::Serving).await;
    client.list_accounts(list()).await.expect("served again");
    server.stop().await;
    db.cleanup().await;
}

#[tokio::test]
async fn a_redis_outage_falls_back_to_the_database() {
    let Some(redis_url) = std::env::var(REDIS_URL_ENV).ok().filter(|u| !u.is_empty()) else {
        eprintln!("skipped here: needs Redis (runs in the Redis pass of make test)");
        return;
    };
    let (_, target) = with_port(&redis_url, 1);
    let proxy = TcpProxy::start(target).await;
    let (proxied_url, _) = with_port(&redis_url, proxy.addr.port());
    let server = TestServer::start_with(|c| c.redis_url = Some(proxied_url.clone())).await;
    let account = crate::api::account("acme", "Acme");
    server.store().await.insert_account(&account).await.unwrap();
    let mut client = AccountServiceClient::new(server.channel().await);
    let token = server.token("acme");
    let get = || pb::GetAccountRequest {
        account_id: account.id.to_string(),
    };

    // Warm the cache, then take Redis away: reads still answer, from the database.
    client.get_account(authed(get(), &token)).await.unwrap();
    proxy.cut();
    for _ in 0..3 {
        let got = client
            .get_account(authed(get(), &token))
            .await
            .expect("served without redis");
        assert_eq!(got.into_inner().account.unwrap().display_name, "Acme");
    }
    assert_eq!(
        health(&server).await,
        ServingStatus::Serving,
        "the cache is not a dependency"
    );

    proxy.restore();
    client.get_account(authed(get(), &token)).await.unwrap();
    server.stop().await;
}

#[test]
fn urls_keep_everything_but_the_port() {
    assert_eq!(
        with_port("postgres://postgres@127.0.0.1:55432/tezgram_x", 9).0,
        "postgres://postgres@127.0.0.1:9/tezgram_x"
    );
    assert_eq!(
        with_port("redis://127.0.0.1:56379", 9).0,
        "redis://127.0.0.1:9"
    );
}
