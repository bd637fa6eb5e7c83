//! EditMessage and DeleteMessages through the real server, grammers and the
//! sandbox DC, observed on Telegram's side (the peer's copy in the sandbox)
//! and in every read after them: edits reach the peer, the same content is
//! no edit, others' messages are not the account's to edit, deletion is for
//! the account alone or with `revoke` for both sides, ids of other chats are
//! left alone, and bad input, read-only keys and other tenants change nothing.

use tezgram::domain::Scope;
use tezgram_sdk::v1 as pb;
use tezgram_sdk::v1::message_service_client::MessageServiceClient;
use tonic::Code;
use tonic::transport::Channel;

use crate::clients::reason;
use crate::sending::{Scene, bob_side, fields, quick_pacing, sent, text_request};
use crate::server::{authed, with_api_key};

pub(crate) async fn history(
    messages: &mut MessageServiceClient<Channel>,
    token: &str,
    account_id: &str,
    chat_id: i64,
) -> Vec<pb::Message> {
    messages
        .list_messages(authed(
            pb::ListMessagesRequest {
                account_id: account_id.into(),
                chat_id,
                ..Default::default()
            },
            token,
        ))
        .await
        .expect("ListMessages")
        .into_inner()
        .messages
}

fn entity(r#type: pb::MessageEntityType, offset: i32, length: i32) -> pb::MessageEntity {
    pb::MessageEntity {
        r#type: r#type as i32,
        offset,
        length,
        ..Default::default()
    }
}

fn mask(paths: &[&str]) -> Option<prost_types::FieldMask> {
    Some(prost_types::FieldMask {
        paths: paths.iter().map(|p| (*p).to_owned()).collect(),
    })
}

#[tokio::test]
async fn an_edit_reaches_the_peer_and_every_read_after_it() {
    let Scene {
        server,
        ann,
        bob,
        id,
        mut messages,
        token,
        greeting,
        ..
    } = Scene::start("99966324", "what is the total?", quick_pacing).await;
    let sent = sent(
        &mut messages,
        &token,
        text_request(&id, bob.user_id, "Total: 100 EUR", "req-total"),
    )
    .await;
    // The page is cached before the edit.
    assert_eq!(
        history(&mut messages, &token, &id, bob.user_id).await[0].text,
        "Total: 100 EUR"
    );
    let edit =
        |text: &str, entities: Vec<pb::MessageEntity>, paths: &[&str]| pb::EditMessageRequest {
            account_id: id.clone(),
            chat_id: bob.user_id,
            message_id: sent.message_id,
            text: text.into(),
            entities,
            update_mask: mask(paths),
        };

    let edited = messages
        .edit_message(authed(
            edit(
                "Total: 120 EUR",
                vec![entity(pb::MessageEntityType::Bold, 7, 7)],
                &[],
            ),
            &token,
        ))
        .await
        .unwrap()
        .into_inner()
        .message
        .unwrap();
    assert_eq!(edited.text, "Total: 120 EUR");
    assert_eq!(edited.entities.len(), 1);
    assert!(edited.edit_time.is_some());
    assert_eq!(
        edited.request_id, "req-total",
        "what the gateway knew stays"
    );
    // Bob's copy at Telegram changed.
    let bob_view = bob_side(server.sandbox(), bob.user_id, ann.user_id).await;
    assert_eq!(bob_view.messages[0].text, "Total: 120 EUR");
    assert!(bob_view.messages[0].edit_date.is_some());
    // The cached page is not served stale.
    let page = history(&mut messages, &token, &id, bob.user_id).await;
    assert_eq!(page[0].text, "Total: 120 EUR");
    assert_eq!(page[0].entities.len(), 1);

    // Entities alone keep the text; the text alone clears the entities.
    let restyled = messages
        .edit_message(authed(
            edit(
                "",
                vec![entity(pb::MessageEntityType::Italic, 0, 5)],
                &["entities"],
            ),
            &token,
        ))
        .await
        .unwrap()
        .into_inner()
        .message
        .unwrap();
    assert_eq!(restyled.text, "Total: 120 EUR");
    assert_eq!(restyled.entities[0].r#type(), pb::MessageEntityType::Italic);
    let plain = messages
        .edit_message(authed(
            edit("Total: 125 EUR", Vec::new(), &["text"]),
            &token,
        ))
        .await
        .unwrap()
        .into_inner()
        .message
        .unwrap();
    assert_eq!(plain.text, "Total: 125 EUR");
    assert!(plain.entities.is_empty());

    // The same content again is no edit: answered, nothing changes at Telegram.
    let before = bob_side(server.sandbox(), bob.user_id, ann.user_id).await;
    let same = messages
        .edit_message(authed(edit("Total: 125 EUR", Vec::new(), &[]), &token))
        .await
        .unwrap()
        .into_inner()
        .message
        .unwrap();
    assert_eq!(same.text, "Total: 125 EUR");
    assert_eq!(
        bob_side(server.sandbox(), bob.user_id, ann.user_id).await,
        before
    );

    // Bob's message is not Ann's to edit.
    let err = messages
        .edit_message(authed(
            pb::EditMessageRequest {
                message_id: greeting.message_id,
                ..edit("no", Vec::new(), &[])
            },
            &token,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition, "{err:?}");
    assert_eq!(reason(&err), "MESSAGE_NOT_EDITABLE");

    // Bad input names every bad field and changes nothing.
    let err = messages
        .edit_message(authed(
            edit(
                &"x".repeat(4097),
                vec![entity(pb::MessageEntityType::Unspecified, 0, 1)],
                &["text", "entities", "media"],
            ),
            &token,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    let named = fields(&err);
    for field in ["text", "entities[0].type", "update_mask"] {
        assert!(named.contains(&field.to_owned()), "{field} in {named:?}");
    }
    // Entities alone are checked against the stored text (14 units).
    let err = messages
        .edit_message(authed(
            edit(
                "",
                vec![entity(pb::MessageEntityType::Bold, 10, 5)],
                &["entities"],
            ),
            &token,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(fields(&err), vec!["entities[0]".to_owned()]);
    let err = messages
        .edit_message(authed(
            pb::EditMessageRequest {
                message_id: 999_999,
                ..edit("x", Vec::new(), &[])
            },
            &token,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound, "{err:?}");

    // A read-only key may not edit; another tenant sees no such account.
    let reader = server
        .api_key("acme", vec![Scope::MessagesRead, Scope::ChatsRead])
        .await;
    let err = messages
        .edit_message(with_api_key(edit("ro", Vec::new(), &[]), &reader))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    let stranger = server.api_key("globex", vec![Scope::MessagesWrite]).await;
    let err = messages
        .edit_message(with_api_key(edit("theirs", Vec::new(), &[]), &stranger))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    assert_eq!(
        bob_side(server.sandbox(), bob.user_id, ann.user_id).await,
        before,
        "nothing refused reached Telegram"
    );
}

#[tokio::test]
async fn deletion_is_for_the_account_alone_or_with_revoke_for_both_sides() {
    let Scene {
        server,
        mut c,
        ann,
        bob,
        id,
        mut messages,
        token,
        ..
    } = Scene::start("99966334", "hello", quick_pacing).await;
    let mut mine = Vec::new();
    for (i, text) in ["one", "two", "three"].iter().enumerate() {
        mine.push(
            sent(
                &mut messages,
                &token,
                text_request(&id, bob.user_id, text, &format!("req-del-{i}")),
            )
            .await
            .message_id,
        );
    }
    // Carol writes too: her chat's ids share Ann's numbering.
    let carol = c.sandbox_user("9996633403", "Carol", "").await;
    let from_carol = c.send_as(&carol, &id, "carol here").await;
    assert_eq!(
        history(&mut messages, &token, &id, bob.user_id).await.len(),
        4
    );
    let delete = |ids: Vec<i64>, revoke: bool| pb::DeleteMessagesRequest {
        account_id: id.clone(),
        chat_id: bob.user_id,
        message_ids: ids,
        revoke,
    };
    let bob_texts = async || -> Vec<String> {
        bob_side(server.sandbox(), bob.user_id, ann.user_id)
            .await
            .messages
            .into_iter()
            .map(|m| m.text)
            .collect()
    };

    // Without revoke: gone for Ann, Bob keeps it.
    messages
        .delete_messages(authed(delete(vec![mine[0]], false), &token))
        .await
        .unwrap();
    let texts: Vec<String> = history(&mut messages, &token, &id, bob.user_id)
        .await
        .into_iter()
        .map(|m| m.text)
        .collect();
    assert_eq!(texts, ["three", "two", "hello"]);
    assert_eq!(bob_texts().await, ["three", "two", "one", "hello"]);

    // With revoke: gone for both; unknown ids and Carol's (another chat's)
    // id are left alone, and a retry is harmless.
    for _ in 0..2 {
        messages
            .delete_messages(authed(
                delete(vec![mine[1], 999_999, from_carol.message_id], true),
                &token,
            ))
            .await
            .unwrap();
    }
    let texts: Vec<String> = history(&mut messages, &token, &id, bob.user_id)
        .await
        .into_iter()
        .map(|m| m.text)
        .collect();
    assert_eq!(texts, ["three", "hello"]);
    assert_eq!(bob_texts().await, ["three", "one", "hello"]);
    let carols = history(&mut messages, &token, &id, carol.user_id).await;
    assert_eq!(carols.len(), 1, "Carol's message stays in her chat");
    let at_telegram = bob_side(server.sandbox(), ann.user_id, carol.user_id).await;
    assert_eq!(at_telegram.count, 1, "and in Ann's box at Telegram");

    // Bad ids are refused by name; a read-only key and another tenant
    // delete nothing.
    let err = messages
        .delete_messages(authed(delete(Vec::new(), true), &token))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(fields(&err), vec!["message_ids".to_owned()]);
    let err = messages
        .delete_messages(authed(delete(vec![mine[2], 0], true), &token))
        .await
        .unwrap_err();
    assert_eq!(fields(&err), vec!["message_ids[1]".to_owned()]);
    let reader = server.api_key("acme", vec![Scope::MessagesRead]).await;
    let err = messages
        .delete_messages(with_api_key(delete(vec![mine[2]], true), &reader))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    let stranger = server.api_key("globex", vec![Scope::MessagesWrite]).await;
    let err = messages
        .delete_messages(with_api_key(delete(vec![mine[2]], true), &stranger))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    assert_eq!(bob_texts().await, ["three", "one", "hello"]);
}
