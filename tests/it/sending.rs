//! SendMessage through the real server, the outbox, grammers and the sandbox
//! DC, counted on Telegram's side (the sandbox): a send reaches Telegram
//! once however often it is retried, markup and limits in Telegram's units,
//! FLOOD_WAIT absorbed by the account's queue, bad input refused with
//! nothing sent, and a gateway SIGKILLed mid-burst sending every accepted
//! message exactly once after it restarts; MarkRead seen by the peer and
//! SetTyping reaching it.

use std::collections::HashSet;
use std::process::Stdio;
use std::time::Duration;

use tezgram::auth;
use tezgram::config::Config;
use tezgram::domain::Scope;
use tezgram_sandbox::{RemoteLink, SandboxLink};
use tezgram_sdk::v1 as pb;
use tezgram_sdk::v1::chat_service_client::ChatServiceClient;
use tezgram_sdk::v1::message_service_client::MessageServiceClient;
use tokio::time::Instant;
use tonic::Code;
use tonic::transport::Channel;
use tonic_types::StatusExt;

use crate::clients::{Clients, eventually, reason};
use crate::db::TestDb;
use crate::messaging::connected_account;
use crate::sandbox_shared::{ADMIN_TOKEN, Sandbox, free_port};
use crate::server::{JWT_SECRET, REDIS_URL_ENV, TestServer, authed, with_api_key};

pub(crate) const TENANT: &str = "acme";

/// quick_pacing lets tests send to one chat without Telegram's one-second
/// spacing (the pacing itself is tested on its own).
pub(crate) fn quick_pacing(config: &mut Config) {
    config.telegram.send_interval_per_chat_ms = 20;
}

pub(crate) fn text_request(
    account_id: &str,
    chat_id: i64,
    text: &str,
    request_id: &str,
) -> pb::SendMessageRequest {
    pb::SendMessageRequest {
        account_id: account_id.into(),
        chat_id,
        text: text.into(),
        request_id: request_id.into(),
        ..Default::default()
    }
}

pub(crate) async fn send(
    messages: &mut MessageServiceClient<Channel>,
    token: &str,
    request: pb::SendMessageRequest,
) -> Result<pb::Message, tonic::Status> {
    messages
        .send_message(authed(request, token))
        .await
        .map(|r| r.into_inner().message.expect("a message"))
}

/// sent retries a send (same request_id) until it is SENT: what a client
/// does with a PENDING answer.
pub(crate) async fn sent(
    messages: &mut MessageServiceClient<Channel>,
    token: &str,
    request: pb::SendMessageRequest,
) -> pb::Message {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let message = send(messages, token, request.clone())
            .await
            .expect("SendMessage");
        if message.state() == pb::MessageState::Sent {
            return message;
        }
        assert_eq!(message.state(), pb::MessageState::Pending, "{message:?}");
        assert!(Instant::now() < deadline, "never sent: {message:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// bob_side is the sandbox's record of Bob's chat with Ann: Telegram's
/// count of what was sent.
pub(crate) async fn bob_side(
    link: &dyn SandboxLink,
    bob: i64,
    ann: i64,
) -> tezgram_sandbox::History {
    link.history(TENANT, bob, ann, 100)
        .await
        .expect("the sandbox's history")
}

pub(crate) fn fields(err: &tonic::Status) -> Vec<String> {
    err.get_details_bad_request()
        .map(|b| b.field_violations.into_iter().map(|v| v.field).collect())
        .unwrap_or_default()
}

/// chat_with waits until the account's chat list holds the chat with `peer`.
pub(crate) async fn chat_with(
    chats: &mut ChatServiceClient<Channel>,
    token: &str,
    account_id: &str,
    peer: i64,
) {
    eventually("the chat is known", async || {
        chats
            .get_chat(authed(
                pb::GetChatRequest {
                    account_id: account_id.into(),
                    chat_id: peer,
                },
                token,
            ))
            .await
            .is_ok()
    })
    .await;
}

/// Scene is a gateway with two sandbox users: Ann, connected as an
/// account, and Bob, whose message to her (`greeting`) made the chat known.
pub(crate) struct Scene {
    pub(crate) server: TestServer,
    pub(crate) c: Clients,
    pub(crate) ann: pb::SandboxUser,
    pub(crate) bob: pb::SandboxUser,
    /// id is Ann's account id.
    pub(crate) id: String,
    pub(crate) chats: ChatServiceClient<Channel>,
    pub(crate) messages: MessageServiceClient<Channel>,
    pub(crate) token: String,
    pub(crate) greeting: pb::Message,
}

impl Scene {
    /// start uses the sandbox numbers `<prefix>01` (Ann) and `<prefix>02`.
    pub(crate) async fn start(
        prefix: &str,
        greeting: &str,
        adjust: impl FnOnce(&mut Config),
    ) -> Scene {
        let server = TestServer::start_with(adjust).await;
        let mut c = Clients::of(&server).await;
        let ann = c.sandbox_user(&format!("{prefix}01"), "Ann", "").await;
        let bob = c.sandbox_user(&format!("{prefix}02"), "Bob", "").await;
        let id = connected_account(&server, &mut c, &ann).await.account_id;
        let greeting = c.send_as(&bob, &id, greeting).await;
        let channel = server.channel().await;
        let mut chats = ChatServiceClient::new(channel.clone());
        let token = c.token.clone();
        chat_with(&mut chats, &token, &id, bob.user_id).await;
        Scene {
            server,
            c,
            ann,
            bob,
            id,
            chats,
            messages: MessageServiceClient::new(channel),
            token,
            greeting,
        }
    }
}

#[tokio::test]
async fn a_sent_message_reaches_telegram_once_however_often_it_is_retried() {
    let Scene {
        server,
        ann,
        bob,
        id,
        mut chats,
        mut messages,
        token,
        greeting: question,
        ..
    } = Scene::start("99966214", "hi, where is my invoice?", quick_pacing).await;
    // The history is read (and cached) before the send.
    let list = pb::ListMessagesRequest {
        account_id: id.clone(),
        chat_id: bob.user_id,
        ..Default::default()
    };
    let before = messages
        .list_messages(authed(list.clone(), &token))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(before.messages.len(), 1);

    let request = pb::SendMessageRequest {
        parse_mode: pb::ParseMode::Markdown as i32,
        reply_to_message_id: question.message_id,
        silent: true,
        ..text_request(
            &id,
            bob.user_id,
            "**Invoice** is on its way",
            "req-invoice-1",
        )
    };
    let answer = send(&mut messages, &token, request.clone()).await.unwrap();
    assert_eq!(answer.state(), pb::MessageState::Sent, "{answer:?}");
    assert!(answer.message_id > 0);
    assert!(answer.outgoing);
    assert_eq!(answer.text, "Invoice is on its way");
    assert_eq!(answer.entities.len(), 1);
    assert_eq!(answer.entities[0].r#type(), pb::MessageEntityType::Bold);
    assert_eq!(
        (answer.entities[0].offset, answer.entities[0].length),
        (0, 7)
    );
    assert_eq!(answer.reply_to_message_id, question.message_id);
    assert_eq!(answer.request_id, "req-invoice-1");
    assert_eq!(answer.sender_id, ann.user_id);

    // Telegram holds it once, as Bob sees it: from Ann, a reply to his question.
    let bob_view = bob_side(server.sandbox(), bob.user_id, ann.user_id).await;
    assert_eq!(bob_view.count, 2);
    let received = &bob_view.messages[0];
    assert_eq!(received.text, "Invoice is on its way");
    assert_eq!(received.from_id, ann.user_id);
    assert!(!received.out);
    assert_eq!(received.reply_to, Some(bob_view.messages[1].id));

    // A read after the write sees it, although the page was cached.
    let after = messages
        .list_messages(authed(list.clone(), &token))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(after.messages[0].message_id, answer.message_id);
    assert_eq!(after.messages[0].state(), pb::MessageState::Sent);
    assert_eq!(after.messages[0].request_id, "req-invoice-1");
    let chat = chats
        .get_chat(authed(
            pb::GetChatRequest {
                account_id: id.clone(),
                chat_id: bob.user_id,
            },
            &token,
        ))
        .await
        .unwrap()
        .into_inner()
        .chat
        .unwrap();
    assert_eq!(
        chat.last_message.map(|m| m.message_id),
        Some(answer.message_id)
    );

    // A retry is the same message, and Telegram sees nothing new.
    for _ in 0..3 {
        let again = send(&mut messages, &token, request.clone()).await.unwrap();
        assert_eq!(again.message_id, answer.message_id);
        assert_eq!(again.state(), pb::MessageState::Sent);
    }
    // The same request_id for a different message is refused, not sent.
    let err = send(
        &mut messages,
        &token,
        pb::SendMessageRequest {
            text: "something else".into(),
            ..request.clone()
        },
    )
    .await
    .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(reason(&err), "REQUEST_ID_REUSED");
    assert_eq!(
        bob_side(server.sandbox(), bob.user_id, ann.user_id)
            .await
            .count,
        2
    );

    // Limits count UTF-16 code units: 2048 emoji are 4096 units, the most.
    let longest = "🙂".repeat(2048);
    let at_limit = send(
        &mut messages,
        &token,
        text_request(&id, bob.user_id, &longest, "req-longest"),
    )
    .await
    .unwrap();
    assert_eq!(at_limit.state(), pb::MessageState::Sent);
    let err = send(
        &mut messages,
        &token,
        text_request(&id, bob.user_id, &format!("{longest}🙂"), "req-too-long"),
    )
    .await
    .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(fields(&err), ["text"]);
    let bob_view = bob_side(server.sandbox(), bob.user_id, ann.user_id).await;
    assert_eq!(bob_view.count, 3);
    assert_eq!(bob_view.messages[0].text, longest);

    // An API key needs messages:write, and nothing else, to send a reply.
    let writer = server.api_key(TENANT, vec![Scope::MessagesWrite]).await;
    let reader = server.api_key(TENANT, vec![Scope::MessagesRead]).await;
    let reply = pb::SendMessageRequest {
        reply_to_message_id: question.message_id,
        ..text_request(&id, bob.user_id, "sent by the CRM", "req-by-key")
    };
    let err = messages
        .send_message(with_api_key(reply.clone(), &reader))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    let by_key = messages
        .send_message(with_api_key(reply, &writer))
        .await
        .expect("messages:write is enough to reply")
        .into_inner()
        .message
        .unwrap();
    assert_eq!(by_key.state(), pb::MessageState::Sent);
    let bob_view = bob_side(server.sandbox(), bob.user_id, ann.user_id).await;
    assert_eq!(bob_view.count, 4);
    assert_eq!(bob_view.messages[0].text, "sent by the CRM");

    // HTML through grammers' parser, with Telegram's spoiler tag.
    let html = send(
        &mut messages,
        &token,
        pb::SendMessageRequest {
            parse_mode: pb::ParseMode::Html as i32,
            ..text_request(
                &id,
                bob.user_id,
                "<b>Total</b>: <tg-spoiler>42</tg-spoiler> &lt;EUR&gt;",
                "req-html",
            )
        },
    )
    .await
    .unwrap();
    assert_eq!(html.text, "Total: 42 <EUR>");
    let kinds: Vec<_> = html.entities.iter().map(|e| e.r#type()).collect();
    assert_eq!(
        kinds,
        [pb::MessageEntityType::Bold, pb::MessageEntityType::Spoiler]
    );
    server.stop().await;
}

#[tokio::test]
async fn flood_wait_pauses_the_accounts_queue_and_no_caller_sees_it() {
    let Scene {
        server,
        mut c,
        ann,
        bob,
        id,
        mut messages,
        token,
        ..
    } = Scene::start("99966224", "hello", quick_pacing).await;

    c.inject_fault(
        &id,
        "messages.sendMessage",
        pb::inject_fault_request::Fault::FloodWait(pb::FloodWait {
            seconds: 2,
            count: 1,
        }),
    )
    .await;
    let started = Instant::now();
    let first = send(
        &mut messages,
        &token,
        text_request(&id, bob.user_id, "after the wait", "req-flood-1"),
    )
    .await
    .expect("no caller sees FLOOD_WAIT");
    assert!(
        matches!(
            first.state(),
            pb::MessageState::Sent | pb::MessageState::Pending
        ),
        "{first:?}"
    );
    // Queued behind it: sent after it, in order.
    let second = sent(
        &mut messages,
        &token,
        text_request(&id, bob.user_id, "queued behind", "req-flood-2"),
    )
    .await;
    let first = sent(
        &mut messages,
        &token,
        text_request(&id, bob.user_id, "after the wait", "req-flood-1"),
    )
    .await;
    // Telegram refused the first attempt for 2 s: the queue waited it out.
    assert_eq!(
        server
            .metric("tezgram_outbox_sends_total{outcome=\"flood_wait\"}")
            .await,
        1.0
    );
    assert!(started.elapsed() >= Duration::from_secs(2));
    assert!(first.message_id < second.message_id);
    let bob_view = bob_side(server.sandbox(), bob.user_id, ann.user_id).await;
    assert_eq!(bob_view.count, 3, "each sent once");
    let texts: Vec<&str> = bob_view.messages.iter().map(|m| m.text.as_str()).collect();
    assert_eq!(texts, ["queued behind", "after the wait", "hello"]);
    server.stop().await;
}

#[tokio::test]
async fn sends_to_one_chat_are_paced() {
    // Telegram's own spacing: about one message per second per chat.
    let Scene {
        server,
        ann,
        bob,
        id,
        mut messages,
        token,
        ..
    } = Scene::start("99966234", "hello", |config| {
        config.telegram.send_interval_per_chat_ms = 1000;
        config.telegram.send_wait_ms = 100;
    })
    .await;
    for i in 0..3 {
        // Answered at once (PENDING or SENT): the queue paces, not the caller.
        send(
            &mut messages,
            &token,
            text_request(
                &id,
                bob.user_id,
                &format!("paced {i}"),
                &format!("req-paced-{i}"),
            ),
        )
        .await
        .expect("queued");
    }
    let link = server.sandbox();
    eventually("all three reached Telegram", async || {
        bob_side(link, bob.user_id, ann.user_id).await.count == 4
    })
    .await;
    // Telegram dates are seconds: three sends a second apart span two.
    let view = bob_side(link, bob.user_id, ann.user_id).await;
    let dates: Vec<i64> = view.messages[..3].iter().map(|m| m.date).collect();
    assert!(dates[0] - dates[2] >= 2, "dates {dates:?}");
    server.stop().await;
}

#[tokio::test]
async fn bad_sends_name_every_field_and_send_nothing() {
    let Scene {
        server,
        ann,
        bob,
        id,
        mut messages,
        token,
        ..
    } = Scene::start("99966244", "hello", quick_pacing).await;

    let err = send(
        &mut messages,
        &token,
        pb::SendMessageRequest {
            account_id: "nope".into(),
            chat_id: 0,
            text: "hi".into(),
            entities: vec![pb::MessageEntity {
                r#type: pb::MessageEntityType::Bold as i32,
                offset: 1,
                length: 5,
                ..Default::default()
            }],
            reply_to_message_id: -1,
            request_id: String::new(),
            ..Default::default()
        },
    )
    .await
    .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(
        fields(&err),
        [
            "account_id",
            "chat_id",
            "request_id",
            "reply_to_message_id",
            "entities[0]"
        ]
    );
    let bad = [
        (
            pb::SendMessageRequest {
                parse_mode: pb::ParseMode::Html as i32,
                ..text_request(&id, bob.user_id, "<script>x</script>", "r1")
            },
            vec!["text"],
        ),
        (
            pb::SendMessageRequest {
                parse_mode: pb::ParseMode::Markdown as i32,
                entities: vec![pb::MessageEntity {
                    r#type: pb::MessageEntityType::Bold as i32,
                    offset: 0,
                    length: 1,
                    ..Default::default()
                }],
                ..text_request(&id, bob.user_id, "*x*", "r2")
            },
            vec!["entities"],
        ),
        (text_request(&id, bob.user_id, "   ", "r3"), vec!["text"]),
        (
            pb::SendMessageRequest {
                entities: vec![pb::MessageEntity {
                    r#type: pb::MessageEntityType::TextUrl as i32,
                    offset: 0,
                    length: 1,
                    ..Default::default()
                }],
                ..text_request(&id, bob.user_id, "x", "r4")
            },
            vec!["entities[0].url"],
        ),
        (
            pb::SendMessageRequest {
                parse_mode: 9,
                ..text_request(&id, bob.user_id, "x", "r5")
            },
            vec!["parse_mode"],
        ),
    ];
    for (request, expected) in bad {
        let err = send(&mut messages, &token, request.clone())
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument, "{request:?}");
        assert_eq!(fields(&err), expected, "{request:?}");
    }
    // A reply to a message that does not exist, a chat the account never had.
    let err = send(
        &mut messages,
        &token,
        pb::SendMessageRequest {
            reply_to_message_id: 999_999,
            ..text_request(&id, bob.user_id, "x", "r6")
        },
    )
    .await
    .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    let err = send(&mut messages, &token, text_request(&id, 777_777, "x", "r7"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    // A file the account never uploaded.
    let err = send(
        &mut messages,
        &token,
        pb::SendMessageRequest {
            media_id: "m-1".into(),
            ..text_request(&id, bob.user_id, "x", "r8")
        },
    )
    .await
    .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    // Another tenant's account does not exist for it.
    let err = send(
        &mut messages,
        &server.token("globex"),
        text_request(&id, bob.user_id, "x", "r9"),
    )
    .await
    .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    // Nothing above reached Telegram, nor the outbox.
    assert_eq!(
        bob_side(server.sandbox(), bob.user_id, ann.user_id)
            .await
            .count,
        1
    );
    let err = send(
        &mut messages,
        &token,
        text_request(&id, bob.user_id, "ok", "r1"),
    )
    .await
    .map(|m| m.text);
    assert_eq!(
        err.unwrap(),
        "ok",
        "r1 was never used: the refused request wrote nothing"
    );
    server.stop().await;
}

/// Gateway is `tezgram serve` in its own process, so it can be SIGKILLed.
pub(crate) struct Gateway {
    child: tokio::process::Child,
    grpc: std::net::SocketAddr,
    metrics: std::net::SocketAddr,
}

impl Gateway {
    pub(crate) async fn start(env: &[(String, String)]) -> Gateway {
        let (grpc, metrics) = (free_port(), free_port());
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_tezgram"));
        command
            .arg("serve")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true);
        for (key, _) in std::env::vars() {
            if key.starts_with("TEZGRAM_") {
                command.env_remove(key);
            }
        }
        command
            .envs(env.iter().map(|(k, v)| (k, v)))
            .env("TEZGRAM_LISTEN", grpc.to_string())
            .env("TEZGRAM_METRICS_LISTEN", metrics.to_string());
        let child = command.spawn().expect("start tezgram serve");
        Gateway {
            child,
            grpc,
            metrics,
        }
    }

    /// token is a token of the tenant for a process started with
    /// `TEZGRAM_AUTH__JWT_HS256_SECRET` = [`JWT_SECRET`].
    pub(crate) fn token() -> String {
        auth::issue_hs256(
            JWT_SECRET.as_bytes(),
            &auth::dev_claims(
                &Config::default().auth,
                TENANT,
                "user-1",
                Duration::from_secs(600),
            ),
        )
    }

    /// metric reads one sample from the process's /metrics, 0 when absent.
    pub(crate) async fn metric(&self, sample: &str) -> f64 {
        let (_, body) = crate::api::http1(
            self.metrics,
            "GET /metrics HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n",
            b"",
        )
        .await;
        String::from_utf8_lossy(&body)
            .lines()
            .filter_map(|l| l.strip_prefix(sample)?.strip_prefix(' '))
            .find_map(|v| v.trim().parse().ok())
            .unwrap_or(0.0)
    }

    pub(crate) async fn channel(&self) -> Channel {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(channel) = Channel::from_shared(format!("http://{}", self.grpc))
                .unwrap()
                .connect()
                .await
            {
                return channel;
            }
            assert!(Instant::now() < deadline, "tezgram serve never listened");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub(crate) async fn kill(mut self) {
        self.child.start_kill().expect("SIGKILL");
        let _ = tokio::time::timeout(Duration::from_secs(10), self.child.wait()).await;
    }
}

#[tokio::test]
async fn a_gateway_killed_mid_burst_sends_every_accepted_message_exactly_once() {
    const BURST: usize = 200;
    let sandbox = Sandbox::start().await;
    let link = RemoteLink::connect(&sandbox.url(), ADMIN_TOKEN)
        .await
        .expect("the sandbox's admin api");
    let db = TestDb::fresh().await;
    let data_dir = tempfile::tempdir().unwrap();
    let mut env: Vec<(String, String)> = vec![
        (
            "TEZGRAM_DATA_DIR".into(),
            data_dir.path().to_str().unwrap().into(),
        ),
        ("TEZGRAM_DATABASE_URL".into(), db.url.clone()),
        ("TEZGRAM_AUTH__JWT_HS256_SECRET".into(), JWT_SECRET.into()),
        ("TEZGRAM_SANDBOX__REMOTE".into(), sandbox.url()),
        ("TEZGRAM_SANDBOX__ADMIN_TOKEN".into(), ADMIN_TOKEN.into()),
        (
            "TEZGRAM_TELEGRAM__SEND_INTERVAL_PER_CHAT_MS".into(),
            "5".into(),
        ),
        ("TEZGRAM_TELEGRAM__SEND_WAIT_MS".into(), "200".into()),
        (
            "TEZGRAM_RATE_LIMIT__PER_PRINCIPAL_PER_SECOND".into(),
            "10000".into(),
        ),
        (
            "TEZGRAM_RATE_LIMIT__PER_PRINCIPAL_BURST".into(),
            "10000".into(),
        ),
        (
            "TEZGRAM_RATE_LIMIT__PER_IP_PER_SECOND".into(),
            "10000".into(),
        ),
        ("TEZGRAM_RATE_LIMIT__PER_IP_BURST".into(), "10000".into()),
    ];
    if let Ok(url) = std::env::var(REDIS_URL_ENV)
        && !url.is_empty()
    {
        env.push(("TEZGRAM_REDIS_URL".into(), url));
    }
    let token = Gateway::token();

    let gateway = Gateway::start(&env).await;
    let channel = gateway.channel().await;
    let mut c = Clients::on(channel.clone(), token.clone());
    let ann = c.sandbox_user("9996625401", "Ann", "").await;
    let bob = c.sandbox_user("9996625402", "Bob", "").await;
    let account = c.login_user(&ann).await;
    let id = account.account_id.clone();
    c.send_as(&bob, &id, "hello").await;
    chat_with(
        &mut ChatServiceClient::new(channel.clone()),
        &token,
        &id,
        bob.user_id,
    )
    .await;

    // Eight callers send 25 messages each; the gateway dies under them once
    // Telegram has about a quarter of the burst.
    let request = |i: usize| {
        text_request(
            &id,
            bob.user_id,
            &format!("burst {i:03}"),
            &format!("burst-{i:03}"),
        )
    };
    let mut callers = Vec::new();
    for caller in 0..8 {
        let (channel, token) = (channel.clone(), token.clone());
        let requests: Vec<_> = (caller * 25..caller * 25 + 25).map(request).collect();
        callers.push(tokio::spawn(async move {
            let mut messages = MessageServiceClient::new(channel);
            let mut accepted = Vec::new();
            for request in requests {
                match send(&mut messages, &token, request.clone()).await {
                    Ok(_) => accepted.push(request.request_id),
                    // The gateway is gone: the caller stops, to retry later.
                    Err(_) => break,
                }
            }
            accepted
        }));
    }
    eventually("a quarter of the burst reached Telegram", async || {
        bob_side(&link, bob.user_id, ann.user_id).await.count > BURST / 4
    })
    .await;
    gateway.kill().await;
    let mut accepted = HashSet::new();
    for caller in callers {
        accepted.extend(caller.await.unwrap());
    }
    let at_kill = bob_side(&link, bob.user_id, ann.user_id).await.count - 1;
    assert!(
        at_kill < BURST,
        "the gateway died mid-burst ({at_kill} sent)"
    );
    eprintln!(
        "burst: {} accepted before the kill, {at_kill} at Telegram by then",
        accepted.len()
    );

    // Restarted on the same database: what was accepted goes out by itself.
    let gateway = Gateway::start(&env).await;
    let channel = gateway.channel().await;
    eventually("every accepted message reached Telegram", async || {
        bob_side(&link, bob.user_id, ann.user_id).await.count > accepted.len()
    })
    .await;
    // Callers retry everything with the same request ids; every one is sent
    // once, and the accepted ones were never sent twice.
    let mut messages = MessageServiceClient::new(channel);
    let mut ids = HashSet::new();
    for i in 0..BURST {
        let message = sent(&mut messages, &token, request(i)).await;
        assert!(ids.insert(message.message_id), "burst {i} shares an id");
    }
    let view = bob_side(&link, bob.user_id, ann.user_id).await;
    assert_eq!(
        view.count,
        BURST + 1,
        "Telegram has each of the {BURST} once ({} accepted before the kill, {at_kill} sent by then)",
        accepted.len()
    );
    let newest: HashSet<&str> = view.messages.iter().map(|m| m.text.as_str()).collect();
    assert_eq!(
        newest.len(),
        view.messages.len(),
        "no text twice among the newest"
    );
    gateway.kill().await;
    sandbox.stop().await;
    db.cleanup().await;
}

#[tokio::test]
async fn mark_read_is_seen_by_the_peer_and_typing_reaches_it() {
    let server = TestServer::start_with(quick_pacing).await;
    let mut c = Clients::of(&server).await;
    let ann = c.sandbox_user("9996626401", "Ann", "").await;
    let bob = c.sandbox_user("9996626402", "Bob", "").await;
    let ann_id = connected_account(&server, &mut c, &ann).await.account_id;
    let bob_id = connected_account(&server, &mut c, &bob).await.account_id;
    c.send_as(&ann, &bob_id, "hi Bob").await;
    for i in 1..=3 {
        c.send_as(&bob, &ann_id, &format!("m{i}")).await;
    }
    let channel = server.channel().await;
    let (mut chats, mut messages) = (
        ChatServiceClient::new(channel.clone()),
        MessageServiceClient::new(channel),
    );
    let token = c.token.clone();
    let get_chat = async |chats: &mut ChatServiceClient<Channel>, account: &str, peer: i64| {
        chats
            .get_chat(authed(
                pb::GetChatRequest {
                    account_id: account.into(),
                    chat_id: peer,
                },
                &token,
            ))
            .await
            .map(|r| r.into_inner().chat.expect("a chat"))
    };
    eventually("Ann has three unread from Bob", async || {
        get_chat(&mut chats, &ann_id, bob.user_id)
            .await
            .is_ok_and(|chat| chat.unread_count == 3)
    })
    .await;
    let history = |account: &str, peer: i64| pb::ListMessagesRequest {
        account_id: account.into(),
        chat_id: peer,
        ..Default::default()
    };
    let ann_view = messages
        .list_messages(authed(history(&ann_id, bob.user_id), &token))
        .await
        .unwrap()
        .into_inner()
        .messages;
    let m2 = ann_view.iter().find(|m| m.text == "m2").unwrap().message_id;
    let mark = |max_message_id: i64| pb::MarkReadRequest {
        account_id: ann_id.clone(),
        chat_id: bob.user_id,
        max_message_id,
    };

    // Ann reads up to m2: one is left, and Bob's app shows m2 read.
    let answer = messages
        .mark_read(authed(mark(m2), &token))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(answer.unread_count, 1);
    let chat = get_chat(&mut chats, &ann_id, bob.user_id).await.unwrap();
    assert_eq!((chat.unread_count, chat.read_inbox_max_id), (1, m2));
    // Bob's own connection stores what he wrote on its own time.
    let mut bob_view = Vec::new();
    eventually("Bob's account has his three messages", async || {
        // Until Bob's account stored the chat, there is no history to list.
        let Ok(listed) = messages
            .list_messages(authed(history(&bob_id, ann.user_id), &token))
            .await
        else {
            return false;
        };
        bob_view = listed.into_inner().messages;
        ["m1", "m2", "m3"]
            .iter()
            .all(|text| bob_view.iter().any(|m| m.text == *text))
    })
    .await;
    let in_bobs_box = |text: &str| bob_view.iter().find(|m| m.text == text).unwrap().message_id;
    eventually("Bob sees m2 read", async || {
        get_chat(&mut chats, &bob_id, ann.user_id)
            .await
            .is_ok_and(|chat| chat.read_outbox_max_id == in_bobs_box("m2"))
    })
    .await;
    // Everything (0): nothing left, and Bob sees m3 read.
    let answer = messages
        .mark_read(authed(mark(0), &token))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(answer.unread_count, 0);
    eventually("Bob sees m3 read", async || {
        get_chat(&mut chats, &bob_id, ann.user_id)
            .await
            .is_ok_and(|chat| chat.read_outbox_max_id == in_bobs_box("m3"))
    })
    .await;

    // Ann types: Telegram shows it to Bob (his connection receives it).
    messages
        .set_typing(authed(
            pb::SetTypingRequest {
                account_id: ann_id.clone(),
                chat_id: bob.user_id,
                action: pb::TypingAction::Typing as i32,
            },
            &token,
        ))
        .await
        .unwrap();
    eventually("Bob's connection received the typing", async || {
        server
            .metric("tezgram_telegram_updates_total{kind=\"typing\"}")
            .await
            == 1.0
    })
    .await;

    // Bad input names its fields; an unknown chat is not found.
    let err = messages
        .set_typing(authed(
            pb::SetTypingRequest {
                account_id: ann_id.clone(),
                chat_id: 0,
                action: 0,
            },
            &token,
        ))
        .await
        .unwrap_err();
    assert_eq!(fields(&err), ["chat_id", "action"]);
    let err = messages
        .mark_read(authed(mark(-1), &token))
        .await
        .unwrap_err();
    assert_eq!(fields(&err), ["max_message_id"]);
    let err = messages
        .mark_read(authed(
            pb::MarkReadRequest {
                chat_id: 777_777,
                ..mark(0)
            },
            &token,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    server.stop().await;
}
