//! UpdateService.Subscribe through the real server: what Telegram reports
//! and what the gateway does arrive as events, in order, each once; a
//! client that drops and resumes from its last cursor gets exactly the
//! events it missed, also across a gateway restart; tenants never see each
//! other's events; a cursor past retention is CURSOR_EXPIRED; heartbeats
//! carry the cursor past events a filter skipped.

use std::time::Duration;

use tezgram::config::Config;
use tezgram_sdk::v1 as pb;
use tezgram_sdk::v1::update_service_client::UpdateServiceClient;
use tonic::transport::Channel;
use tonic::{Code, Streaming};

use crate::clients::{eventually, reason};
use crate::sending::{Scene, fields, quick_pacing, sent, text_request};
use crate::server::{TestServer, authed};

/// quick lets streams beat every second (tests wait for heartbeats).
pub(crate) fn quick(config: &mut Config) {
    quick_pacing(config);
    config.events.heartbeat_seconds = 1;
}

async fn subscribe(
    server: &TestServer,
    token: &str,
    request: pb::SubscribeRequest,
) -> Result<Streaming<pb::SubscribeResponse>, tonic::Status> {
    subscribe_on(server.channel().await, token, request).await
}

pub(crate) async fn subscribe_on(
    channel: Channel,
    token: &str,
    request: pb::SubscribeRequest,
) -> Result<Streaming<pb::SubscribeResponse>, tonic::Status> {
    UpdateServiceClient::new(channel)
        .subscribe(authed(request, token))
        .await
        .map(|r| r.into_inner())
}

pub(crate) fn from(cursor: &str) -> pb::SubscribeRequest {
    pb::SubscribeRequest {
        cursor: cursor.into(),
        ..Default::default()
    }
}

/// next is the stream's next message, heartbeats included.
async fn next(stream: &mut Streaming<pb::SubscribeResponse>) -> pb::Event {
    tokio::time::timeout(Duration::from_secs(20), stream.message())
        .await
        .expect("the stream answers within 20 s")
        .expect("the stream is healthy")
        .expect("the stream goes on")
        .event
        .expect("an event")
}

fn is_heartbeat(event: &pb::Event) -> bool {
    matches!(event.payload, Some(pb::event::Payload::Heartbeat(_)))
}

/// events takes the next `count` events, skipping heartbeats; they must
/// all arrive within 60 s.
pub(crate) async fn events(
    stream: &mut Streaming<pb::SubscribeResponse>,
    count: usize,
) -> Vec<pb::Event> {
    let mut out = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while out.len() < count {
        assert!(
            tokio::time::Instant::now() < deadline,
            "only {} of {count} events arrived: {:?}",
            out.len(),
            shown(&out)
        );
        let event = next(stream).await;
        if !is_heartbeat(&event) {
            out.push(event);
        }
    }
    out
}

/// quiet asserts that nothing but heartbeats arrives until two heartbeats
/// passed: the stream has nothing more to tell.
pub(crate) async fn quiet(stream: &mut Streaming<pb::SubscribeResponse>) {
    let mut beats = 0;
    while beats < 2 {
        let event = next(stream).await;
        assert!(
            is_heartbeat(&event),
            "an event more than expected: {event:?}"
        );
        beats += 1;
    }
}

/// show is what an event says, in a few words.
fn show(event: &pb::Event) -> String {
    use pb::event::Payload;
    match event.payload.as_ref().expect("a payload") {
        Payload::MessageCreated(m) => {
            let m = m.message.as_ref().unwrap();
            let way = if m.outgoing { "out" } else { "in" };
            format!("created {way} {:?} {}", m.text, m.request_id)
        }
        Payload::MessageEdited(m) => format!("edited {:?}", m.message.as_ref().unwrap().text),
        Payload::MessageDeleted(d) => format!("deleted {}", d.message_ids.len()),
        Payload::MessageSendFailed(m) => {
            format!("failed {}", m.message.as_ref().unwrap().error_reason)
        }
        Payload::Read(r) => format!("read out={} unread={}", r.outgoing, r.unread_count),
        Payload::Typing(_) => "typing".into(),
        Payload::ChatUpdated(c) => format!("chat {:?}", c.chat.as_ref().unwrap().title),
        Payload::AccountStateChanged(a) => {
            format!("account {:?}", a.account.as_ref().unwrap().state())
        }
        Payload::TriggerFired(_) => "trigger".into(),
        Payload::ChatLinked(l) => format!("linked {}", l.entity.as_ref().unwrap().id),
        Payload::ChatUnlinked(l) => format!("unlinked {}", l.entity.as_ref().unwrap().id),
        Payload::Heartbeat(_) => "heartbeat".into(),
    }
}

pub(crate) fn shown(events: &[pb::Event]) -> Vec<String> {
    events.iter().map(show).collect()
}

/// act is what the agent and the customer do in the chat, after "one"
/// and "two": an edit, a new message, a read, a deletion.
async fn act(scene: &mut Scene, one: &pb::Message, two: &pb::Message) {
    let Scene {
        c,
        bob,
        id,
        messages,
        token,
        ..
    } = scene;
    messages
        .edit_message(authed(
            pb::EditMessageRequest {
                account_id: id.clone(),
                chat_id: bob.user_id,
                message_id: two.message_id,
                text: "two, edited".into(),
                ..Default::default()
            },
            token,
        ))
        .await
        .expect("EditMessage");
    let three = c.send_as(bob, id, "three").await;
    eventually("three is stored", async || {
        crate::changing::history(messages, token, id, bob.user_id)
            .await
            .iter()
            .any(|m| m.message_id == three.message_id)
    })
    .await;
    messages
        .mark_read(authed(
            pb::MarkReadRequest {
                account_id: id.clone(),
                chat_id: bob.user_id,
                max_message_id: three.message_id,
            },
            token,
        ))
        .await
        .expect("MarkRead");
    messages
        .delete_messages(authed(
            pb::DeleteMessagesRequest {
                account_id: id.clone(),
                chat_id: bob.user_id,
                message_ids: vec![one.message_id],
                revoke: true,
            },
            token,
        ))
        .await
        .expect("DeleteMessages");
}

const AFTER_ONE_AND_TWO: [&str; 4] = [
    "edited \"two, edited\"",
    "created in \"three\" ",
    "read out=false unread=0",
    "deleted 1",
];

#[tokio::test]
async fn a_subscriber_gets_every_event_once_in_order_and_resumes_after_a_disconnect_without_loss() {
    let mut scene = Scene::start("99966392", "hello", quick).await;
    let token = scene.token.clone();
    // Both start at the present: the greeting before them is not sent.
    let mut whole = subscribe(&scene.server, &token, from("")).await.unwrap();
    let mut dropping = subscribe(&scene.server, &token, from("")).await.unwrap();

    let one = scene.c.send_as(&scene.bob, &scene.id, "one").await;
    let two = sent(
        &mut scene.messages,
        &token,
        text_request(&scene.id, scene.bob.user_id, "two", "req-two"),
    )
    .await;
    let seen = events(&mut dropping, 2).await;
    assert_eq!(
        shown(&seen),
        ["created in \"one\" ", "created out \"two\" req-two"]
    );
    let cursor = seen[1].cursor.clone();
    // The client goes away; the conversation goes on.
    drop(dropping);
    act(&mut scene, &one, &two).await;

    let everything = events(&mut whole, 6).await;
    assert_eq!(shown(&everything[..2]), shown(&seen));
    assert_eq!(shown(&everything[2..]), AFTER_ONE_AND_TWO);
    assert_eq!(
        everything[..2]
            .iter()
            .map(|e| &e.cursor)
            .collect::<Vec<_>>(),
        seen.iter().map(|e| &e.cursor).collect::<Vec<_>>(),
        "an event has one cursor, whoever receives it"
    );
    quiet(&mut whole).await;

    // Resumed from its last cursor: exactly what it missed, in order.
    let mut resumed = subscribe(&scene.server, &token, from(&cursor))
        .await
        .unwrap();
    let missed = events(&mut resumed, 4).await;
    assert_eq!(missed, everything[2..].to_vec());
    quiet(&mut resumed).await;
    // The messages' events carry the messages as stored.
    let created = |e: &pb::Event| match &e.payload {
        Some(pb::event::Payload::MessageCreated(m)) => m.message.clone().unwrap(),
        other => panic!("not a new message: {other:?}"),
    };
    assert_eq!(created(&everything[0]).message_id, one.message_id);
    assert_eq!(created(&everything[1]).message_id, two.message_id);
    assert_eq!(everything[1].account_id, scene.id);
    scene.server.stop().await;
}

#[tokio::test]
async fn events_written_while_the_gateway_was_down_reach_a_client_resuming_after_restart() {
    let mut scene = Scene::start("99966393", "hello", quick).await;
    let token = scene.token.clone();
    let mut stream = subscribe(&scene.server, &token, from("")).await.unwrap();
    scene.c.send_as(&scene.bob, &scene.id, "before").await;
    let before = events(&mut stream, 1).await;
    assert_eq!(shown(&before), ["created in \"before\" "]);
    drop(stream);

    let (bob, ann) = (scene.bob.user_id, scene.ann.user_id);
    // The gateway is down; Telegram (the sandbox, on the same data) is not.
    let restarted = scene
        .server
        .restart_after(
            async |dc| {
                for text in ["while down 1", "while down 2"] {
                    tezgram_sandbox::SandboxLink::send_message(
                        dc,
                        crate::sending::TENANT,
                        bob,
                        ann,
                        text.into(),
                    )
                    .await
                    .expect("sandbox send");
                }
            },
            quick,
        )
        .await;
    // getDifference ingests them; the old cursor is still good.
    let mut resumed = subscribe(&restarted, &token, from(&before[0].cursor))
        .await
        .unwrap();
    let missed = events(&mut resumed, 2).await;
    assert_eq!(
        shown(&missed),
        [
            "created in \"while down 1\" ",
            "created in \"while down 2\" "
        ]
    );
    quiet(&mut resumed).await;
    restarted.stop().await;
}

#[tokio::test]
async fn filters_keep_only_what_they_name_and_tenants_see_only_their_own() {
    let mut scene = Scene::start("99966394", "hello", |config| {
        quick(config);
        config.events.streams_per_caller = 2;
    })
    .await;
    let token = scene.token.clone();
    let server = &scene.server;
    let globex = server.token("globex");
    let reads = pb::SubscribeRequest {
        kinds: vec![pb::EventKind::Read as i32],
        account_ids: vec![scene.id.clone()],
        ..Default::default()
    };
    let mut only_reads = subscribe(server, &token, reads).await.unwrap();
    let other_chat = pb::SubscribeRequest {
        chat_ids: vec![424242],
        ..Default::default()
    };
    let mut elsewhere = subscribe(server, &token, other_chat).await.unwrap();
    let mut stranger = subscribe(server, &globex, from("")).await.unwrap();
    // The caller's cap of open streams.
    let capped = subscribe(server, &token, from("")).await.unwrap_err();
    assert_eq!(capped.code(), Code::ResourceExhausted, "{capped:?}");
    assert_eq!(reason(&capped), "RATE_LIMITED");

    let one = scene.c.send_as(&scene.bob, &scene.id, "one").await;
    eventually("one is stored", async || {
        crate::changing::history(&mut scene.messages, &token, &scene.id, scene.bob.user_id)
            .await
            .iter()
            .any(|m| m.message_id == one.message_id)
    })
    .await;
    scene
        .messages
        .mark_read(authed(
            pb::MarkReadRequest {
                account_id: scene.id.clone(),
                chat_id: scene.bob.user_id,
                max_message_id: one.message_id,
            },
            &token,
        ))
        .await
        .expect("MarkRead");
    let read = events(&mut only_reads, 1).await;
    assert_eq!(shown(&read), ["read out=false unread=0"]);
    quiet(&mut only_reads).await;
    quiet(&mut elsewhere).await;
    quiet(&mut stranger).await;
    // A heartbeat carries the cursor past what the filter skipped:
    // resuming from it sends nothing again.
    let beat = next(&mut elsewhere).await;
    assert!(is_heartbeat(&beat));
    drop(elsewhere);
    let mut resumed = subscribe(server, &token, from(&beat.cursor)).await.unwrap();
    quiet(&mut resumed).await;
    drop(resumed);

    // Another tenant's cursor, a kind that is no kind, an account of
    // another tenant, a mangled cursor: refused before anything streams.
    let theirs = subscribe(server, &globex, from(&read[0].cursor))
        .await
        .unwrap_err();
    assert_eq!(theirs.code(), Code::InvalidArgument);
    assert_eq!(fields(&theirs), ["cursor"]);
    let bad = pb::SubscribeRequest {
        kinds: vec![pb::EventKind::Unspecified as i32],
        account_ids: vec!["not-a-uuid".into()],
        ..Default::default()
    };
    let err = subscribe(server, &token, bad).await.unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(fields(&err), ["account_ids[0]", "kinds[0]"]);
    let not_theirs = pb::SubscribeRequest {
        account_ids: vec![scene.id.clone()],
        ..Default::default()
    };
    let err = subscribe(server, &globex, not_theirs).await.unwrap_err();
    assert_eq!(err.code(), Code::NotFound, "{err:?}");
    // An API key needs updates:read.
    let key = server
        .api_key("acme", vec![tezgram::domain::Scope::MessagesRead])
        .await;
    let err = UpdateServiceClient::new(server.channel().await)
        .subscribe(crate::server::with_api_key(from(""), &key))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    drop(only_reads);
    drop(stranger);
    scene.server.stop().await;
}

#[tokio::test]
async fn a_cursor_older_than_retention_is_cursor_expired() {
    let mut scene = Scene::start("99966396", "hello", |config| {
        quick(config);
        config.events.retention_seconds = 1;
        config.events.sweep_interval_seconds = 1;
    })
    .await;
    let token = scene.token.clone();
    let mut stream = subscribe(&scene.server, &token, from("")).await.unwrap();
    scene
        .c
        .send_as(&scene.bob, &scene.id, "soon forgotten")
        .await;
    let old = events(&mut stream, 1).await;
    drop(stream);
    // A later event, so the old one is not the newest the log holds.
    sent(
        &mut scene.messages,
        &token,
        text_request(&scene.id, scene.bob.user_id, "later", "later"),
    )
    .await;
    let mut expired = None;
    eventually("the sweep prunes the old event", async || match subscribe(
        &scene.server,
        &token,
        from(&old[0].cursor),
    )
    .await
    {
        Err(err) => {
            expired = Some(err);
            true
        }
        Ok(_) => false,
    })
    .await;
    let err = expired.unwrap();
    assert_eq!(err.code(), Code::FailedPrecondition, "{err:?}");
    assert_eq!(reason(&err), "CURSOR_EXPIRED");
    // Without a cursor a client starts over at the present.
    let mut fresh = subscribe(&scene.server, &token, from("")).await.unwrap();
    quiet(&mut fresh).await;
    scene.server.stop().await;
}

#[tokio::test]
async fn a_slow_subscriber_reads_the_log_at_its_own_pace_and_loses_nothing() {
    let scene = Scene::start("99966397", "hello", |config| {
        quick(config);
        config.events.stream_window = 4;
    })
    .await;
    let token = scene.token.clone();
    let mut fast = subscribe(&scene.server, &token, from("")).await.unwrap();
    // The slow client's connection holds little (HTTP/2 windows of 64 KiB,
    // hyper's default is megabytes), as a phone on a bad network would.
    let narrow = Channel::from_shared(format!("http://{}", scene.server.grpc_addr()))
        .unwrap()
        .initial_stream_window_size(65_535)
        .initial_connection_window_size(65_535)
        .connect()
        .await
        .unwrap();
    let mut slow = UpdateServiceClient::new(narrow)
        .subscribe(authed(from(""), &token))
        .await
        .unwrap()
        .into_inner();
    // A busy customer: far more (and larger) events than the slow
    // client's connection and the feed's window hold, still arriving
    // while the slow client reads.
    let long = "x".repeat(3000);
    const COUNT: usize = 200;
    let writer = {
        let link = scene.server.sandbox().clone();
        let (bob, ann) = (scene.bob.user_id, scene.ann.user_id);
        tokio::spawn(async move {
            for i in 0..COUNT {
                tezgram_sandbox::SandboxLink::send_message(
                    &link,
                    crate::sending::TENANT,
                    bob,
                    ann,
                    format!("{i} {long}"),
                )
                .await
                .expect("sandbox send");
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
    };
    // The slow client reads nothing until half the events are out (far
    // more than its connection, its stream and the feed's window hold),
    // then one event in a while as the rest arrive.
    let (half, halfway) = tokio::sync::oneshot::channel::<()>();
    let slow_reader = tokio::spawn(async move {
        let _ = halfway.await;
        let mut got = Vec::new();
        while got.len() < COUNT {
            got.extend(events(&mut slow, 1).await);
            tokio::time::sleep(Duration::from_millis(15)).await;
        }
        (got, slow)
    });
    // The fast client gets everything as it happens.
    let mut everything = events(&mut fast, COUNT / 2).await;
    let _ = half.send(());
    everything.extend(events(&mut fast, COUNT - COUNT / 2).await);
    writer.await.unwrap();
    let texts: Vec<String> = everything
        .iter()
        .map(|e| match &e.payload {
            Some(pb::event::Payload::MessageCreated(m)) => {
                let text = &m.message.as_ref().unwrap().text;
                text.split(' ').next().unwrap().to_owned()
            }
            other => panic!("not a new message: {other:?}"),
        })
        .collect();
    assert_eq!(
        texts,
        (0..COUNT).map(|i| i.to_string()).collect::<Vec<_>>(),
        "in order"
    );
    // The slow one saw the same events, each once, in the same order.
    let (caught_up, mut slow) = slow_reader.await.unwrap();
    assert!(caught_up == everything, "the slow client saw the same log");
    assert!(
        scene.server.metric("tezgram_stream_catch_ups_total").await >= 1.0,
        "the slow client fell behind the feed and read the log"
    );
    quiet(&mut slow).await;
    quiet(&mut fast).await;
    scene.server.stop().await;
}

#[tokio::test]
async fn typing_is_streamed_as_it_happens_and_never_replayed() {
    let mut scene = Scene::start("99966398", "hello", quick).await;
    let token = scene.token.clone();
    // Bob is connected as an account too: Ann's typing reaches his.
    let bob_account = crate::messaging::connected_account(&scene.server, &mut scene.c, &scene.bob)
        .await
        .account_id;
    let request = pb::SubscribeRequest {
        account_ids: vec![bob_account.clone()],
        kinds: vec![pb::EventKind::Typing as i32],
        ..Default::default()
    };
    let mut stream = subscribe(&scene.server, &token, request.clone())
        .await
        .unwrap();
    let beat = next(&mut stream).await;
    assert!(is_heartbeat(&beat), "{beat:?}");
    scene
        .messages
        .set_typing(authed(
            pb::SetTypingRequest {
                account_id: scene.id.clone(),
                chat_id: scene.bob.user_id,
                action: pb::TypingAction::Typing as i32,
            },
            &token,
        ))
        .await
        .unwrap();
    let typing = events(&mut stream, 1).await.remove(0);
    assert_eq!(typing.account_id, bob_account);
    match typing.payload {
        Some(pb::event::Payload::Typing(t)) => {
            assert_eq!(t.chat_id, scene.ann.user_id);
            assert_eq!(t.user_id, scene.ann.user_id);
            assert_eq!(t.action(), pb::TypingAction::Typing);
        }
        other => panic!("not typing: {other:?}"),
    }
    // Typing has no place in the log: resuming from before it, or from
    // its own cursor (where the stream stood), does not replay it.
    drop(stream);
    for cursor in [&beat.cursor, &typing.cursor] {
        let resumed = pb::SubscribeRequest {
            cursor: cursor.clone(),
            ..request.clone()
        };
        let mut resumed = subscribe(&scene.server, &token, resumed).await.unwrap();
        quiet(&mut resumed).await;
    }
    let resumed = pb::SubscribeRequest {
        cursor: beat.cursor.clone(),
        ..request
    };
    let mut resumed = subscribe(&scene.server, &token, resumed).await.unwrap();
    quiet(&mut resumed).await;
    scene.server.stop().await;
}

#[tokio::test]
async fn a_refused_send_and_an_account_state_change_are_streamed() {
    let mut scene = Scene::start("99966399", "hello", quick).await;
    let token = scene.token.clone();
    // Bob's broadcast channel: Ann reads it, only Bob may post.
    let channel = scene
        .server
        .sandbox()
        .create_broadcast(scene.bob.user_id, "Price list", &[scene.ann.user_id])
        .unwrap();
    let chat_id = -(tezgram::domain::chat::CHANNEL_ID_OFFSET + channel);
    crate::sending::chat_with(&mut scene.chats, &token, &scene.id, chat_id).await;
    let mut stream = subscribe(&scene.server, &token, from("")).await.unwrap();

    // Telegram refuses the send for good: the stream says so, with the
    // request id and Telegram's reason.
    let _ = scene
        .messages
        .send_message(authed(
            text_request(&scene.id, chat_id, "may I post?", "req-refused"),
            &token,
        ))
        .await;
    let failed = events(&mut stream, 1).await.remove(0);
    match &failed.payload {
        Some(pb::event::Payload::MessageSendFailed(f)) => {
            let m = f.message.as_ref().unwrap();
            assert_eq!(m.request_id, "req-refused");
            assert_eq!(m.error_reason, "CHAT_WRITE_FORBIDDEN");
            assert_eq!(m.state(), pb::MessageState::Failed);
            assert_eq!((m.chat_id, m.text.as_str()), (chat_id, "may I post?"));
        }
        other => panic!("not a failed send: {other:?}"),
    }

    // The account logs out: its new state and the one it left.
    scene
        .c
        .accounts
        .log_out(authed(
            pb::LogOutRequest {
                account_id: scene.id.clone(),
            },
            &token,
        ))
        .await
        .expect("LogOut");
    let changed = events(&mut stream, 1).await.remove(0);
    assert_eq!(changed.account_id, scene.id);
    match &changed.payload {
        Some(pb::event::Payload::AccountStateChanged(a)) => {
            assert_eq!(a.previous_state(), pb::AccountState::Authorized);
            let account = a.account.as_ref().unwrap();
            assert_eq!(account.state(), pb::AccountState::LoggedOut);
            assert_eq!(account.account_id, scene.id);
        }
        other => panic!("not a state change: {other:?}"),
    }
    quiet(&mut stream).await;
    scene.server.stop().await;
}
