//! ForwardMessages through the real server, the outbox, grammers and the
//! sandbox DC, counted at Telegram (the recipient's copy): messages arrive
//! forwarded, in order, once however often the call is retried; a
//! FLOOD_WAIT longer than the call's wait fails the call but not the
//! forward, which a retry with the same request_id then returns; bad
//! input, unknown messages, missing scopes and other tenants forward
//! nothing.

use std::time::Duration;

use tezgram::domain::Scope;
use tezgram_sdk::v1 as pb;
use tezgram_sdk::v1::chat_service_client::ChatServiceClient;
use tezgram_sdk::v1::message_service_client::MessageServiceClient;
use tonic::Code;
use tonic::transport::Channel;
use tonic_types::StatusExt;

use crate::clients::reason;
use crate::sending::{Scene, TENANT, bob_side, chat_with, fields, quick_pacing};
use crate::server::{authed, with_api_key};

async fn forward(
    messages: &mut MessageServiceClient<Channel>,
    token: &str,
    request: pb::ForwardMessagesRequest,
) -> Result<Vec<pb::Message>, tonic::Status> {
    messages
        .forward_messages(authed(request, token))
        .await
        .map(|r| r.into_inner().messages)
}

#[tokio::test]
async fn forwarded_messages_arrive_in_order_once_however_often_the_call_is_retried() {
    let Scene {
        server,
        mut c,
        ann,
        bob,
        id,
        mut messages,
        token,
        greeting,
        ..
    } = Scene::start("99966374", "the invoice is wrong", |config| {
        quick_pacing(config);
        // Shorter than the injected FLOOD_WAIT below.
        config.telegram.send_wait_ms = 500;
    })
    .await;
    let detail = c.send_as(&bob, &id, "it says 120, not 100").await;
    let carol = c.sandbox_user("9996637403", "Carol", "").await;
    c.send_as(&carol, &id, "I handle billing").await;
    let mut chats = ChatServiceClient::new(server.channel().await);
    chat_with(&mut chats, &token, &id, carol.user_id).await;
    let carols_box = async || bob_side(server.sandbox(), carol.user_id, ann.user_id).await;
    assert_eq!(carols_box().await.count, 1);
    let request = pb::ForwardMessagesRequest {
        account_id: id.clone(),
        from_chat_id: bob.user_id,
        message_ids: vec![greeting.message_id, detail.message_id],
        to_chat_id: carol.user_id,
        request_id: "req-fwd-1".into(),
    };

    let forwarded = forward(&mut messages, &token, request.clone())
        .await
        .unwrap();
    let texts: Vec<&str> = forwarded.iter().map(|m| m.text.as_str()).collect();
    assert_eq!(texts, ["the invoice is wrong", "it says 120, not 100"]);
    for message in &forwarded {
        assert_eq!(message.chat_id, carol.user_id);
        assert!(message.outgoing);
        assert_eq!(message.request_id, "req-fwd-1");
        assert_eq!(message.state(), pb::MessageState::Sent);
        let origin = message.forward_from.as_ref().expect("a forward header");
        assert_eq!(origin.sender_id, bob.user_id);
    }
    assert!(forwarded[0].message_id < forwarded[1].message_id);
    // Carol has both, forwarded from Bob.
    let carol_view = carols_box().await;
    assert_eq!(carol_view.count, 3);
    assert_eq!(carol_view.messages[0].text, "it says 120, not 100");
    assert_eq!(carol_view.messages[1].text, "the invoice is wrong");

    // Retries are the same messages; Telegram gets nothing new.
    for _ in 0..2 {
        let again = forward(&mut messages, &token, request.clone())
            .await
            .unwrap();
        let ids: Vec<i64> = again.iter().map(|m| m.message_id).collect();
        assert_eq!(ids, [forwarded[0].message_id, forwarded[1].message_id]);
    }
    assert_eq!(carols_box().await.count, 3);
    // The same request_id for another forward is refused.
    let err = forward(
        &mut messages,
        &token,
        pb::ForwardMessagesRequest {
            message_ids: vec![detail.message_id],
            ..request.clone()
        },
    )
    .await
    .unwrap_err();
    assert_eq!(reason(&err), "REQUEST_ID_REUSED");

    // A FLOOD_WAIT longer than the call's wait fails the call, not the
    // forward: it goes out after the wait, once, and a retry returns it.
    c.inject_fault(
        &id,
        "messages.forwardMessages",
        pb::inject_fault_request::Fault::FloodWait(pb::FloodWait {
            seconds: 2,
            count: 1,
        }),
    )
    .await;
    let later = pb::ForwardMessagesRequest {
        message_ids: vec![detail.message_id],
        request_id: "req-fwd-2".into(),
        ..request.clone()
    };
    let err = forward(&mut messages, &token, later.clone())
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::ResourceExhausted, "{err:?}");
    assert_eq!(reason(&err), "FLOOD_WAIT");
    let retry_after = err
        .get_details_retry_info()
        .and_then(|info| info.retry_delay)
        .expect("a retry delay");
    assert!(retry_after <= Duration::from_secs(2), "{retry_after:?}");
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut after_wait = None;
    for _ in 0..50 {
        match forward(&mut messages, &token, later.clone()).await {
            Ok(sent) => {
                after_wait = Some(sent);
                break;
            }
            Err(err) => {
                assert!(
                    matches!(err.code(), Code::ResourceExhausted | Code::Unavailable),
                    "{err:?}"
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
    let after_wait = after_wait.expect("the forward went out after the wait");
    assert_eq!(after_wait.len(), 1);
    assert_eq!(after_wait[0].text, "it says 120, not 100");
    assert_eq!(carols_box().await.count, 4, "forwarded once");

    // Bad input names its fields and forwards nothing.
    let err = forward(
        &mut messages,
        &token,
        pb::ForwardMessagesRequest {
            account_id: id.clone(),
            from_chat_id: bob.user_id,
            message_ids: vec![greeting.message_id, greeting.message_id, -1],
            to_chat_id: 0,
            request_id: String::new(),
        },
    )
    .await
    .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    let named = fields(&err);
    for field in ["message_ids", "message_ids[2]", "to_chat_id", "request_id"] {
        assert!(named.contains(&field.to_owned()), "{field} in {named:?}");
    }
    let unknown =
        |message_ids: Vec<i64>, from_chat_id: i64, request_id: &str| pb::ForwardMessagesRequest {
            message_ids,
            from_chat_id,
            request_id: request_id.into(),
            ..request.clone()
        };
    let err = forward(
        &mut messages,
        &token,
        unknown(vec![999_999], bob.user_id, "req-fwd-3"),
    )
    .await
    .unwrap_err();
    assert_eq!(err.code(), Code::NotFound, "{err:?}");
    let err = forward(
        &mut messages,
        &token,
        unknown(vec![greeting.message_id], 424_242, "req-fwd-4"),
    )
    .await
    .unwrap_err();
    assert_eq!(err.code(), Code::NotFound, "{err:?}");
    let reader = server.api_key(TENANT, vec![Scope::MessagesRead]).await;
    let err = messages
        .forward_messages(with_api_key(
            unknown(vec![greeting.message_id], bob.user_id, "req-fwd-5"),
            &reader,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    let stranger = server.api_key("globex", vec![Scope::MessagesWrite]).await;
    let err = messages
        .forward_messages(with_api_key(
            unknown(vec![greeting.message_id], bob.user_id, "req-fwd-6"),
            &stranger,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    assert_eq!(carols_box().await.count, 4, "nothing refused was forwarded");
}
