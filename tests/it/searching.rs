//! SearchMessages through the real server, grammers and the sandbox DC:
//! hits from the store and from Telegram's history the store has not seen
//! come merged, each once, newest first; words and word prefixes match,
//! the inside of a word does not; pages neither repeat nor skip; an edit or
//! a deletion changes what is found; bad input, missing scopes and other
//! tenants are refused.

use std::collections::HashSet;

use tezgram::domain::Scope;
use tezgram_sandbox::SandboxLink;
use tezgram_sdk::v1 as pb;
use tezgram_sdk::v1::message_service_client::MessageServiceClient;
use tonic::Code;
use tonic::transport::Channel;

use crate::clients::{Clients, eventually};
use crate::messaging::connected_account;
use crate::sending::{TENANT, fields, quick_pacing, sent, text_request};
use crate::server::{TestServer, authed, with_api_key};

fn search(account_id: &str, chat_id: Option<i64>, query: &str) -> pb::SearchMessagesRequest {
    pb::SearchMessagesRequest {
        account_id: account_id.into(),
        chat_id,
        query: query.into(),
        ..Default::default()
    }
}

async fn texts(
    messages: &mut MessageServiceClient<Channel>,
    token: &str,
    request: pb::SearchMessagesRequest,
) -> Vec<String> {
    messages
        .search_messages(authed(request, token))
        .await
        .expect("SearchMessages")
        .into_inner()
        .messages
        .into_iter()
        .map(|m| m.text)
        .collect()
}

#[tokio::test]
async fn stored_and_telegram_hits_come_merged_once_by_words_and_prefixes() {
    let server = TestServer::start_with(quick_pacing).await;
    let mut c = Clients::of(&server).await;
    let ann = c.sandbox_user("9996636401", "Ann", "").await;
    let bob = c.sandbox_user("9996636402", "Bob", "").await;
    let carol = c.sandbox_user("9996636403", "Carol", "").await;
    // History from before Ann connected the account: only Telegram has it.
    let link = server.sandbox();
    for text in ["Invoice 1 attached", "lunch?", "the invoicing team"] {
        link.send_message(TENANT, bob.user_id, ann.user_id, text.into())
            .await
            .unwrap();
    }
    link.send_message(TENANT, carol.user_id, ann.user_id, "Carol's INVOICE".into())
        .await
        .unwrap();
    let id = connected_account(&server, &mut c, &ann).await.account_id;
    c.send_as(&bob, &id, "invoice 2, paid").await;
    let channel = server.channel().await;
    let mut messages = MessageServiceClient::new(channel);
    let token = c.token.clone();
    eventually("Bob's live message is stored", async || {
        messages
            .search_messages(authed(search(&id, None, "paid"), &token))
            .await
            .is_ok_and(|r| r.into_inner().messages.len() == 1)
    })
    .await;

    // In Bob's chat: the live message (stored) and the old ones (from
    // Telegram), newest first, each once; "invoic" starts "invoicing" too.
    assert_eq!(
        texts(
            &mut messages,
            &token,
            search(&id, Some(bob.user_id), "invoice")
        )
        .await,
        ["invoice 2, paid", "Invoice 1 attached"]
    );
    assert_eq!(
        texts(
            &mut messages,
            &token,
            search(&id, Some(bob.user_id), "INVOIC")
        )
        .await,
        [
            "invoice 2, paid",
            "the invoicing team",
            "Invoice 1 attached"
        ]
    );
    // Every word must start a word; the inside of a word matches nothing.
    assert_eq!(
        texts(
            &mut messages,
            &token,
            search(&id, Some(bob.user_id), "invoice paid")
        )
        .await,
        ["invoice 2, paid"]
    );
    assert!(
        texts(
            &mut messages,
            &token,
            search(&id, Some(bob.user_id), "voice")
        )
        .await
        .is_empty()
    );
    // The whole account: Carol's chat too, which Ann never opened.
    let everywhere = texts(&mut messages, &token, search(&id, None, "invoice")).await;
    assert_eq!(everywhere.len(), 3, "{everywhere:?}");
    assert!(everywhere.contains(&"Carol's INVOICE".to_owned()));

    // Pages of one never repeat or skip a hit, in the same order.
    let mut paged = Vec::new();
    let mut seen = HashSet::new();
    let mut page_token = String::new();
    loop {
        let page = messages
            .search_messages(authed(
                pb::SearchMessagesRequest {
                    page_size: 1,
                    page_token: page_token.clone(),
                    ..search(&id, None, "invoic")
                },
                &token,
            ))
            .await
            .unwrap()
            .into_inner();
        for m in page.messages {
            assert!(seen.insert((m.chat_id, m.message_id)), "{} twice", m.text);
            paged.push(m.text);
        }
        if page.next_page_token.is_empty() {
            break;
        }
        page_token = page.next_page_token;
    }
    assert_eq!(
        paged,
        texts(&mut messages, &token, search(&id, None, "invoic")).await
    );
    assert_eq!(paged.len(), 4);
    // A page token belongs to its search.
    let first = messages
        .search_messages(authed(
            pb::SearchMessagesRequest {
                page_size: 1,
                ..search(&id, None, "invoic")
            },
            &token,
        ))
        .await
        .unwrap()
        .into_inner();
    let err = messages
        .search_messages(authed(
            pb::SearchMessagesRequest {
                page_token: first.next_page_token,
                ..search(&id, None, "lunch")
            },
            &token,
        ))
        .await
        .unwrap_err();
    assert_eq!(fields(&err), vec!["page_token".to_owned()]);

    // What an edit or a deletion changes is what is found.
    let quote = sent(
        &mut messages,
        &token,
        text_request(&id, bob.user_id, "your quote: 40 EUR", "req-quote"),
    )
    .await;
    assert_eq!(
        texts(&mut messages, &token, search(&id, None, "quote")).await,
        ["your quote: 40 EUR"]
    );
    messages
        .edit_message(authed(
            pb::EditMessageRequest {
                account_id: id.clone(),
                chat_id: bob.user_id,
                message_id: quote.message_id,
                text: "your estimate: 40 EUR".into(),
                ..Default::default()
            },
            &token,
        ))
        .await
        .unwrap();
    assert!(
        texts(&mut messages, &token, search(&id, None, "quote"))
            .await
            .is_empty()
    );
    assert_eq!(
        texts(&mut messages, &token, search(&id, None, "estimate")).await,
        ["your estimate: 40 EUR"]
    );
    messages
        .delete_messages(authed(
            pb::DeleteMessagesRequest {
                account_id: id.clone(),
                chat_id: bob.user_id,
                message_ids: vec![quote.message_id],
                revoke: true,
            },
            &token,
        ))
        .await
        .unwrap();
    assert!(
        texts(&mut messages, &token, search(&id, None, "estimate"))
            .await
            .is_empty()
    );

    // Times bound the search.
    let future = prost_types::Timestamp {
        seconds: chrono::Utc::now().timestamp() + 3600,
        nanos: 0,
    };
    assert!(
        texts(
            &mut messages,
            &token,
            pb::SearchMessagesRequest {
                from_time: Some(future),
                ..search(&id, None, "invoice")
            }
        )
        .await
        .is_empty()
    );
    assert_eq!(
        texts(
            &mut messages,
            &token,
            pb::SearchMessagesRequest {
                to_time: Some(future),
                ..search(&id, None, "invoice")
            }
        )
        .await
        .len(),
        3
    );

    // Bad input names its fields; scopes and tenants are enforced.
    let err = messages
        .search_messages(authed(
            pb::SearchMessagesRequest {
                from_time: Some(future),
                to_time: Some(prost_types::Timestamp {
                    seconds: 1,
                    nanos: 0,
                }),
                page_size: 101,
                ..search(&id, Some(0), "?!")
            },
            &token,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    let named = fields(&err);
    for field in ["query", "to_time", "page_size", "chat_id"] {
        assert!(named.contains(&field.to_owned()), "{field} in {named:?}");
    }
    let err = messages
        .search_messages(authed(search(&id, None, &"a".repeat(257)), &token))
        .await
        .unwrap_err();
    assert_eq!(fields(&err), vec!["query".to_owned()]);
    let writer = server.api_key(TENANT, vec![Scope::MessagesWrite]).await;
    let err = messages
        .search_messages(with_api_key(search(&id, None, "invoice"), &writer))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    let stranger = server.api_key("globex", vec![Scope::MessagesRead]).await;
    let err = messages
        .search_messages(with_api_key(search(&id, None, "invoice"), &stranger))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    let err = messages
        .search_messages(authed(search(&id, Some(424_242), "invoice"), &token))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound, "an unknown chat");
}

#[tokio::test]
async fn a_chats_hits_beyond_telegrams_first_batch_are_found_page_by_page() {
    let server = TestServer::start_with(quick_pacing).await;
    let mut c = Clients::of(&server).await;
    let ann = c.sandbox_user("9996636501", "Ann", "").await;
    let bob = c.sandbox_user("9996636502", "Bob", "").await;
    // 130 old hits (Telegram answers 100 at a time), and some noise.
    let link = server.sandbox();
    for i in 0..130 {
        link.send_message(TENANT, bob.user_id, ann.user_id, format!("order {i}"))
            .await
            .unwrap();
        if i % 10 == 0 {
            link.send_message(TENANT, bob.user_id, ann.user_id, "noise".into())
                .await
                .unwrap();
        }
    }
    let id = connected_account(&server, &mut c, &ann).await.account_id;
    c.send_as(&bob, &id, "order live").await;
    let mut messages = MessageServiceClient::new(server.channel().await);
    let token = c.token.clone();
    eventually("the live message is stored", async || {
        messages
            .search_messages(authed(search(&id, None, "live"), &token))
            .await
            .is_ok_and(|r| r.into_inner().messages.len() == 1)
    })
    .await;

    let mut ids = Vec::new();
    let mut page_token = String::new();
    for _ in 0..10 {
        let page = messages
            .search_messages(authed(
                pb::SearchMessagesRequest {
                    page_size: 50,
                    page_token: page_token.clone(),
                    ..search(&id, Some(bob.user_id), "order")
                },
                &token,
            ))
            .await
            .unwrap()
            .into_inner();
        ids.extend(page.messages.iter().map(|m| m.message_id));
        if page.next_page_token.is_empty() {
            break;
        }
        page_token = page.next_page_token;
    }
    assert_eq!(ids.len(), 131, "every hit, the live one and 130 old ones");
    let unique: HashSet<i64> = ids.iter().copied().collect();
    assert_eq!(unique.len(), ids.len(), "none twice");
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "newest first");
}
