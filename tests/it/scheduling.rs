//! SendMessage with `schedule_time` through the real server, the outbox,
//! grammers and the sandbox DC: Telegram holds the message (SCHEDULED, not
//! in the chat) until its time, then sends it once; ingest records what it
//! became, so the chat lists it with the send's request_id and a retry of
//! the request returns it SENT. A schedule too soon or too far ahead is
//! refused, naming the field, and nothing is sent.

use std::time::Duration;

use tezgram_sdk::v1 as pb;
use tonic::Code;

use crate::changing::history;
use crate::clients::eventually;
use crate::sending::{Scene, bob_side, fields, quick_pacing, send, text_request};

fn at(seconds_ahead: i64) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: chrono::Utc::now().timestamp() + seconds_ahead,
        nanos: 0,
    }
}

#[tokio::test]
async fn a_scheduled_message_waits_at_telegram_and_is_listed_with_its_request_id_once_sent() {
    let Scene {
        server,
        ann,
        bob,
        id,
        mut messages,
        token,
        ..
    } = Scene::start("99966391", "when can we talk?", quick_pacing).await;
    let from_ann = async || {
        bob_side(server.sandbox(), bob.user_id, ann.user_id)
            .await
            .messages
            .into_iter()
            .filter(|m| m.from_id == ann.user_id)
            .map(|m| m.text)
            .collect::<Vec<_>>()
    };

    // Too soon and too far ahead: refused, naming the field; nothing sent.
    for (ahead, what) in [(2, "two seconds"), (400 * 24 * 3600, "400 days")] {
        let request = pb::SendMessageRequest {
            schedule_time: Some(at(ahead)),
            ..text_request(
                &id,
                bob.user_id,
                "too soon or too late",
                &format!("bad-{ahead}"),
            )
        };
        let err = send(&mut messages, &token, request).await.unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument, "{what}: {err:?}");
        assert_eq!(fields(&err), ["schedule_time"], "{what}");
    }

    let when = at(11);
    let request = pb::SendMessageRequest {
        schedule_time: Some(when),
        ..text_request(&id, bob.user_id, "let's talk at 5", "talk-at-5")
    };
    let scheduled = send(&mut messages, &token, request.clone()).await.unwrap();
    assert_eq!(
        scheduled.state(),
        pb::MessageState::Scheduled,
        "{scheduled:?}"
    );
    assert_eq!(scheduled.message_id, 0, "a schedule's id is no message id");
    assert_eq!(scheduled.send_time, Some(when));
    assert_eq!(scheduled.request_id, "talk-at-5");
    assert_eq!(scheduled.text, "let's talk at 5");
    // A retry is the same scheduled message.
    let again = send(&mut messages, &token, request.clone()).await.unwrap();
    assert_eq!(again, scheduled);
    // Telegram holds it: not in the chat on either side yet.
    assert!(from_ann().await.is_empty(), "sent before its time");
    assert!(
        history(&mut messages, &token, &id, bob.user_id)
            .await
            .iter()
            .all(|m| m.text != "let's talk at 5"),
        "a scheduled message is not listed"
    );

    // At its time Telegram sends it, once; the chat lists it as sent by
    // the request.
    let mut sent = None;
    eventually("the scheduled message is sent and listed", async || {
        sent = history(&mut messages, &token, &id, bob.user_id)
            .await
            .into_iter()
            .find(|m| m.text == "let's talk at 5" && m.request_id == "talk-at-5");
        sent.is_some()
    })
    .await;
    let sent = sent.unwrap();
    assert_eq!(sent.state(), pb::MessageState::Sent);
    assert!(sent.message_id > 0 && sent.outgoing);
    assert!(
        sent.send_time.unwrap().seconds >= when.seconds,
        "sent at its time, not before: {sent:?}"
    );
    assert_eq!(from_ann().await, ["let's talk at 5"]);
    // The request now answers with the message it became.
    let retried = send(&mut messages, &token, request).await.unwrap();
    assert_eq!(retried.state(), pb::MessageState::Sent);
    assert_eq!(retried.message_id, sent.message_id);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        from_ann().await,
        ["let's talk at 5"],
        "sent once, however often it was asked"
    );
}
