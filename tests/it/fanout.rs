//! Events across processes and failures: a second gateway process (API
//! only: it connects no account) streams what the first ingested; a client
//! of a gateway killed with SIGKILL resumes from its cursor on the
//! restarted one and gets exactly what it missed; a Redis outage loses no
//! event (notices lost while Redis is away are made up from the log once
//! it is back).

use std::time::Duration;

use tezgram_sandbox::{RemoteLink, SandboxLink};

use crate::clients::{Clients, eventually};
use crate::db::TestDb;
use crate::faults::{TcpProxy, with_port};
use crate::messaging::connected_account;
use crate::sandbox_shared::{ADMIN_TOKEN, Sandbox, on_shared};
use crate::sending::{Gateway, TENANT, chat_with};
use crate::server::{JWT_SECRET, REDIS_URL_ENV, TestServer};
use crate::updates::{events, from, quick, quiet, shown, subscribe_on};

fn redis_url() -> Option<String> {
    std::env::var(REDIS_URL_ENV).ok().filter(|u| !u.is_empty())
}

/// process_env configures a `tezgram serve` on `database_url`, the shared
/// sandbox, the suite's Redis (if any, under `redis_key_prefix`), beating
/// every second.
pub(crate) fn process_env(
    database_url: &str,
    redis_key_prefix: &str,
    sandbox: &Sandbox,
) -> (Vec<(String, String)>, tempfile::TempDir) {
    let data_dir = tempfile::tempdir().unwrap();
    let mut env: Vec<(String, String)> = vec![
        (
            "TEZGRAM_DATA_DIR".into(),
            data_dir.path().to_str().unwrap().into(),
        ),
        ("TEZGRAM_DATABASE_URL".into(), database_url.into()),
        ("TEZGRAM_AUTH__JWT_HS256_SECRET".into(), JWT_SECRET.into()),
        ("TEZGRAM_SANDBOX__REMOTE".into(), sandbox.url()),
        ("TEZGRAM_SANDBOX__ADMIN_TOKEN".into(), ADMIN_TOKEN.into()),
        ("TEZGRAM_EVENTS__HEARTBEAT_SECONDS".into(), "1".into()),
        ("TEZGRAM_REDIS_KEY_PREFIX".into(), redis_key_prefix.into()),
    ];
    if let Some(url) = redis_url() {
        env.push(("TEZGRAM_REDIS_URL".into(), url));
    }
    (env, data_dir)
}

#[tokio::test]
async fn a_second_gateway_process_streams_what_the_first_one_ingested() {
    let sandbox = Sandbox::start().await;
    let first = TestServer::start_with(|config| {
        quick(config);
        on_shared(&sandbox, ADMIN_TOKEN)(config);
    })
    .await;
    let database_url = first.config.database_url.clone().unwrap();
    // One deployment: the same database and Redis prefix.
    let (mut env, _data_dir) = process_env(&database_url, &first.config.redis_key_prefix, &sandbox);
    env.push((
        "TEZGRAM_TELEGRAM__SUPERVISE_ACCOUNTS".into(),
        "false".into(),
    ));
    if redis_url().is_some() {
        // With Redis the news travels by pub/sub: polling would take five
        // minutes, longer than the test waits.
        env.push(("TEZGRAM_EVENTS__POLL_INTERVAL_MS".into(), "300000".into()));
    }
    let second = Gateway::start(&env).await;
    let channel = second.channel().await;
    let token = Gateway::token();

    let mut c = Clients::of(&first).await;
    let ann = c.sandbox_user("9996639801", "Ann", "").await;
    let bob = c.sandbox_user("9996639802", "Bob", "").await;
    let id = c.login_user(&ann).await.account_id;
    eventually("the first instance connects the account", async || {
        first.metric("tezgram_connected_accounts").await == 1.0
    })
    .await;
    let mut stream = subscribe_on(channel, &token, from("")).await.unwrap();
    c.send_as(&bob, &id, "seen over there").await;
    // A chat new to the account, then its first message.
    let got = events(&mut stream, 2).await;
    assert_eq!(
        shown(&got),
        ["chat \"Bob Lee\"", "created in \"seen over there\" "]
    );
    assert!(got.iter().all(|e| e.account_id == id));
    quiet(&mut stream).await;
    // The second instance never connected the account: only the first
    // owns its connection.
    assert_eq!(second.metric("tezgram_connected_accounts").await, 0.0);
    assert_eq!(first.metric("tezgram_connected_accounts").await, 1.0);
    second.kill().await;
    first.stop().await;
}

#[tokio::test]
async fn a_client_of_a_killed_gateway_resumes_on_the_restarted_one_without_loss() {
    let sandbox = Sandbox::start().await;
    let link = RemoteLink::connect(&sandbox.url(), ADMIN_TOKEN)
        .await
        .expect("the sandbox's admin api");
    let db = TestDb::fresh().await;
    let prefix = format!("tezgram-test-{}:", uuid::Uuid::new_v4().simple());
    let (env, _data_dir) = process_env(&db.url, &prefix, &sandbox);
    let token = Gateway::token();
    let gateway = Gateway::start(&env).await;
    let channel = gateway.channel().await;
    let mut c = Clients::on(channel.clone(), token.clone());
    let ann = c.sandbox_user("9996639811", "Ann", "").await;
    let bob = c.sandbox_user("9996639812", "Bob", "").await;
    let id = c.login_user(&ann).await.account_id;
    c.send_as(&bob, &id, "hello").await;
    chat_with(
        &mut tezgram_sdk::v1::chat_service_client::ChatServiceClient::new(channel.clone()),
        &token,
        &id,
        bob.user_id,
    )
    .await;

    let mut stream = subscribe_on(channel, &token, from("")).await.unwrap();
    c.send_as(&bob, &id, "before").await;
    let seen = events(&mut stream, 1).await;
    assert_eq!(shown(&seen), ["created in \"before\" "]);
    // One more message, and the gateway dies at once: it may or may not
    // have stored it.
    link.send_message(TENANT, bob.user_id, ann.user_id, "racing the kill".into())
        .await
        .unwrap();
    gateway.kill().await;
    drop(stream);
    for text in ["while dead 1", "while dead 2"] {
        link.send_message(TENANT, bob.user_id, ann.user_id, text.into())
            .await
            .unwrap();
    }

    let restarted = Gateway::start(&env).await;
    let channel = restarted.channel().await;
    let mut resumed = subscribe_on(channel, &token, from(&seen[0].cursor))
        .await
        .unwrap();
    let missed = events(&mut resumed, 3).await;
    assert_eq!(
        shown(&missed),
        [
            "created in \"racing the kill\" ",
            "created in \"while dead 1\" ",
            "created in \"while dead 2\" ",
        ]
    );
    quiet(&mut resumed).await;
    restarted.kill().await;
    db.cleanup().await;
}

#[tokio::test]
async fn a_redis_outage_loses_no_event_between_gateways() {
    let Some(redis_url) = redis_url() else {
        eprintln!("skipped here: needs Redis (runs in the Redis pass of make test)");
        return;
    };
    let (_, target) = with_port(&redis_url, 1);
    let proxy = TcpProxy::start(target).await;
    let (proxied, _) = with_port(&redis_url, proxy.addr.port());
    let first = TestServer::start_with(|config| {
        quick(config);
        config.redis_url = Some(proxied.clone());
    })
    .await;
    let (database_url, prefix) = (
        first.config.database_url.clone(),
        first.config.redis_key_prefix.clone(),
    );
    // The second instance learns of news only through Redis (its feeds
    // would poll after five minutes), and connects no account.
    let second = TestServer::start_with(|config| {
        quick(config);
        config.redis_url = Some(proxied.clone());
        config.database_url = database_url.clone();
        config.redis_key_prefix = prefix.clone();
        config.telegram.supervise_accounts = false;
        config.events.poll_interval_ms = 300_000;
    })
    .await;
    let mut c = Clients::of(&first).await;
    let ann = c.sandbox_user("9996639821", "Ann", "").await;
    let bob = c.sandbox_user("9996639822", "Bob", "").await;
    let id = connected_account(&first, &mut c, &ann).await.account_id;
    let token = c.token.clone();
    let mut stream = subscribe_on(second.channel().await, &token, from(""))
        .await
        .unwrap();
    c.send_as(&bob, &id, "first").await;
    assert_eq!(
        shown(&events(&mut stream, 2).await),
        ["chat \"Bob Lee\"", "created in \"first\" "]
    );

    // Redis goes away (every connection dropped, as in a restart); the
    // first instance stores a message and cannot tell anyone.
    proxy.cut();
    c.send_as(&bob, &id, "while redis is away").await;
    let store = first.store().await;
    let tenant = tezgram::domain::TenantId::parse(TENANT).unwrap();
    eventually("the first instance stored it", async || {
        tezgram::domain::ports::EventLog::events_after(&store, &tenant, 0, 1000)
            .await
            .unwrap()
            .iter()
            .any(|e| {
                matches!(&e.payload,
                tezgram::domain::event::EventPayload::MessageCreated { message }
                    if message.text == "while redis is away")
            })
    })
    .await;
    // Away longer than a publish waits for Redis: the notice is lost.
    tokio::time::sleep(Duration::from_secs(3)).await;
    // Back: the second instance re-subscribes and, having missed
    // notices, reads the log.
    proxy.restore();
    assert_eq!(
        shown(&events(&mut stream, 1).await),
        ["created in \"while redis is away\" "]
    );
    c.send_as(&bob, &id, "after").await;
    assert_eq!(
        shown(&events(&mut stream, 1).await),
        ["created in \"after\" "]
    );
    quiet(&mut stream).await;
    second.stop().await;
    first.stop().await;
}
