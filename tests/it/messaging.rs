//! Chats and history through the real server, grammers and the sandbox DC:
//! the first chat list loaded from Telegram, history backfilled page by page
//! with stable tokens while new messages arrive, forward sync, ingest of
//! live messages (and of messages sent while the gateway was down), cache
//! invalidation by ingest, validation, tenant isolation and scopes.

use std::collections::HashSet;

use tezgram::domain::Scope;
use tezgram_sandbox::SandboxLink;
use tezgram_sdk::v1 as pb;
use tezgram_sdk::v1::chat_service_client::ChatServiceClient;
use tezgram_sdk::v1::list_messages_request::Anchor;
use tezgram_sdk::v1::message_service_client::MessageServiceClient;
use tonic::Code;
use tonic::transport::Channel;
use tonic_types::StatusExt;

use crate::clients::{Clients, eventually, reason};
use crate::server::{TestServer, authed, with_api_key};

const TENANT: &str = "acme";

struct Inbox {
    chats: ChatServiceClient<Channel>,
    messages: MessageServiceClient<Channel>,
    token: String,
}

impl Inbox {
    async fn of(server: &TestServer, token: String) -> Inbox {
        let channel = server.channel().await;
        Inbox {
            chats: ChatServiceClient::new(channel.clone()),
            messages: MessageServiceClient::new(channel),
            token,
        }
    }

    async fn list_chats(
        &mut self,
        request: pb::ListChatsRequest,
    ) -> Result<pb::ListChatsResponse, tonic::Status> {
        self.chats
            .list_chats(authed(request, &self.token))
            .await
            .map(tonic::Response::into_inner)
    }

    async fn chats_of(&mut self, account_id: &str) -> Vec<pb::Chat> {
        self.list_chats(pb::ListChatsRequest {
            account_id: account_id.into(),
            ..Default::default()
        })
        .await
        .expect("ListChats")
        .chats
    }

    async fn list_messages(
        &mut self,
        request: pb::ListMessagesRequest,
    ) -> Result<pb::ListMessagesResponse, tonic::Status> {
        self.messages
            .list_messages(authed(request, &self.token))
            .await
            .map(tonic::Response::into_inner)
    }

    /// page reads one page backwards (or from a token).
    async fn page(
        &mut self,
        account_id: &str,
        chat_id: i64,
        page_size: i32,
        page_token: &str,
    ) -> pb::ListMessagesResponse {
        self.list_messages(pb::ListMessagesRequest {
            account_id: account_id.into(),
            chat_id,
            page_size,
            page_token: page_token.into(),
            anchor: None,
        })
        .await
        .expect("ListMessages")
    }

    async fn get_message(
        &mut self,
        account_id: &str,
        chat_id: i64,
        message_id: i64,
    ) -> Result<pb::Message, tonic::Status> {
        self.messages
            .get_message(authed(
                pb::GetMessageRequest {
                    account_id: account_id.into(),
                    chat_id,
                    message_id,
                },
                &self.token,
            ))
            .await
            .map(|r| r.into_inner().message.expect("a message"))
    }
}

fn texts(messages: &[pb::Message]) -> Vec<String> {
    messages.iter().map(|m| m.text.clone()).collect()
}

/// write makes sandbox user `from` send `count` numbered messages to `to`
/// straight through the sandbox (no gateway involved).
async fn write(link: &dyn SandboxLink, from: i64, to: i64, prefix: &str, count: usize) {
    for i in 0..count {
        link.send_message(TENANT, from, to, format!("{prefix}{i}"))
            .await
            .expect("sandbox send");
    }
}

/// connected_account logs `user` in and waits until its supervisor is live.
pub(crate) async fn connected_account(
    server: &TestServer,
    c: &mut Clients,
    user: &pb::SandboxUser,
) -> pb::Account {
    let account = c.login_user(user).await;
    eventually("the account is connected", async || {
        server.connected(account.telegram_user_id)
    })
    .await;
    account
}

#[tokio::test]
async fn the_chat_list_and_history_come_from_telegram_then_stay_fresh() {
    let server = TestServer::start().await;
    let mut c = Clients::of(&server).await;
    let ann = c.sandbox_user("9996621001", "Ann", "").await;
    let bob = c.sandbox_user("9996621002", "Bob", "").await;
    let carol = c.sandbox_user("9996621003", "Carol", "").await;
    // History from before the account was connected: only Telegram has it.
    write(server.sandbox(), bob.user_id, ann.user_id, "b", 130).await;
    write(server.sandbox(), carol.user_id, ann.user_id, "c", 3).await;
    let account = connected_account(&server, &mut c, &ann).await;
    let id = account.account_id.clone();
    let mut inbox = Inbox::of(&server, c.token.clone()).await;

    // The first ListChats loads the dialogs: newest activity first.
    let chats = inbox.chats_of(&id).await;
    let summary: Vec<_> = chats
        .iter()
        .map(|c| (c.chat_id, c.title.as_str(), c.unread_count))
        .collect();
    assert_eq!(
        summary,
        vec![
            (carol.user_id, "Carol Lee", 3),
            (bob.user_id, "Bob Lee", 130)
        ]
    );
    let bob_chat = &chats[1];
    assert_eq!(bob_chat.r#type(), pb::ChatType::Private);
    assert_eq!(bob_chat.first_name, "Bob");
    assert_eq!(bob_chat.last_message.as_ref().unwrap().text, "b129");
    assert_eq!(
        bob_chat.last_message.as_ref().unwrap().sender_id,
        bob.user_id
    );

    // Paging the chat list: one per page, bound to its filter.
    let first = inbox
        .list_chats(pb::ListChatsRequest {
            account_id: id.clone(),
            page_size: 1,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(first.chats[0].chat_id, carol.user_id);
    let second = inbox
        .list_chats(pb::ListChatsRequest {
            account_id: id.clone(),
            page_size: 1,
            page_token: first.next_page_token.clone(),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(second.chats[0].chat_id, bob.user_id);
    assert!(second.next_page_token.is_empty(), "two chats, two pages");
    let foreign = inbox
        .list_chats(pb::ListChatsRequest {
            account_id: id.clone(),
            page_size: 1,
            page_token: first.next_page_token.clone(),
            filter: Some(pb::ChatFilter {
                query: "bob".into(),
                ..Default::default()
            }),
        })
        .await
        .unwrap_err();
    assert_eq!(foreign.code(), Code::InvalidArgument);
    let by_name = inbox
        .list_chats(pb::ListChatsRequest {
            account_id: id.clone(),
            filter: Some(pb::ChatFilter {
                query: "BOB".into(),
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(by_name.chats.len(), 1);
    assert_eq!(by_name.chats[0].chat_id, bob.user_id);

    // History, backwards: the first page is backfilled from Telegram.
    let page1 = inbox.page(&id, bob.user_id, 50, "").await;
    let want: Vec<String> = (80..130).rev().map(|i| format!("b{i}")).collect();
    assert_eq!(texts(&page1.messages), want);
    assert_eq!(page1.total_count, 130);
    assert!(!page1.next_page_token.is_empty());

    // New messages arrive while the client pages: the token still leads
    // to exactly the older messages.
    write(server.sandbox(), bob.user_id, ann.user_id, "new", 5).await;
    let page2 = inbox
        .page(&id, bob.user_id, 50, &page1.next_page_token)
        .await;
    let want: Vec<String> = (30..80).rev().map(|i| format!("b{i}")).collect();
    assert_eq!(texts(&page2.messages), want);
    let page3 = inbox
        .page(&id, bob.user_id, 50, &page2.next_page_token)
        .await;
    let want: Vec<String> = (0..30).rev().map(|i| format!("b{i}")).collect();
    assert_eq!(texts(&page3.messages), want);
    assert!(
        page3.next_page_token.is_empty(),
        "the oldest page is the last"
    );
    let mut seen = HashSet::new();
    for m in page1
        .messages
        .iter()
        .chain(&page2.messages)
        .chain(&page3.messages)
    {
        assert!(seen.insert(m.message_id), "message {} twice", m.message_id);
    }
    assert_eq!(seen.len(), 130);

    // Ingest stored the new messages live: a fresh first page starts with
    // them (the cached first page was retired).
    eventually("the new messages are listed first", async || {
        let page = inbox.page(&id, bob.user_id, 5, "").await;
        texts(&page.messages) == ["new4", "new3", "new2", "new1", "new0"]
    })
    .await;

    // Forwards: everything after a message the CRM has, oldest first.
    let b99 = page2
        .messages
        .iter()
        .chain(&page1.messages)
        .find(|m| m.text == "b99")
        .unwrap()
        .message_id;
    let forward = inbox
        .list_messages(pb::ListMessagesRequest {
            account_id: id.clone(),
            chat_id: bob.user_id,
            page_size: 20,
            anchor: Some(Anchor::AfterMessageId(b99)),
            ..Default::default()
        })
        .await
        .unwrap();
    let want: Vec<String> = (100..120).map(|i| format!("b{i}")).collect();
    assert_eq!(texts(&forward.messages), want);
    let rest = inbox
        .list_messages(pb::ListMessagesRequest {
            account_id: id.clone(),
            chat_id: bob.user_id,
            page_size: 20,
            page_token: forward.next_page_token.clone(),
            ..Default::default()
        })
        .await
        .unwrap();
    let want: Vec<String> = (120..130)
        .map(|i| format!("b{i}"))
        .chain((0..5).map(|i| format!("new{i}")))
        .collect();
    assert_eq!(texts(&rest.messages), want);
    assert!(rest.next_page_token.is_empty(), "caught up");

    // One message, and one that does not exist.
    let got = inbox.get_message(&id, bob.user_id, b99).await.unwrap();
    assert_eq!(got.text, "b99");
    assert!(!got.outgoing);
    let missing = inbox
        .get_message(&id, bob.user_id, 999_999)
        .await
        .unwrap_err();
    assert_eq!(missing.code(), Code::NotFound);

    // Ingest keeps the (cached) chat list fresh: Carol's unread count and
    // Bob's chat moving to the top.
    write(server.sandbox(), carol.user_id, ann.user_id, "c-live", 1).await;
    eventually("Carol's new message is in the chat list", async || {
        let chats = inbox.chats_of(&id).await;
        chats[0].chat_id == carol.user_id
            && chats[0].unread_count == 4
            && chats[0].last_message.as_ref().unwrap().text == "c-live0"
    })
    .await;

    // The tenant's inbox across accounts lists the same chats.
    let all = inbox
        .list_chats(pb::ListChatsRequest::default())
        .await
        .unwrap();
    assert_eq!(all.chats.len(), 2);
    assert!(all.chats.iter().all(|c| c.account_id == id));
    server.stop().await;
}

#[tokio::test]
async fn messages_sent_while_the_gateway_was_down_are_ingested_after_it_starts() {
    let server = TestServer::start().await;
    let mut c = Clients::of(&server).await;
    let ann = c.sandbox_user("9996622001", "Ann", "").await;
    let bob = c.sandbox_user("9996622002", "Bob", "").await;
    let account = connected_account(&server, &mut c, &ann).await;
    let id = account.account_id.clone();
    let mut inbox = Inbox::of(&server, c.token.clone()).await;
    // Live, then the chat list is loaded.
    c.send_as(&bob, &id, "before").await;
    eventually("the live message is stored", async || {
        inbox
            .chats_of(&id)
            .await
            .first()
            .is_some_and(|c| c.last_message.as_ref().unwrap().text == "before")
    })
    .await;

    // The gateway is down; Telegram (the sandbox, on the same data) is not.
    let restarted = server
        .restart_after(
            async |dc| {
                write(dc, bob.user_id, ann.user_id, "while-down-", 3).await;
            },
            |_| {},
        )
        .await;
    let mut inbox = Inbox::of(&restarted, restarted.token(TENANT)).await;
    // Catch-up (getDifference from the stored update state) stores them:
    // the first page is served from the store, in order, nothing twice.
    eventually("the messages sent while down are listed", async || {
        let page = inbox.page(&id, bob.user_id, 10, "").await;
        texts(&page.messages) == ["while-down-2", "while-down-1", "while-down-0", "before"]
    })
    .await;
    let chats = inbox.chats_of(&id).await;
    assert_eq!(chats[0].unread_count, 4);
    restarted.stop().await;
}

#[tokio::test]
async fn a_supergroup_gap_telegram_will_not_replay_is_filled_from_history_after_a_restart() {
    let server = TestServer::start().await;
    let mut c = Clients::of(&server).await;
    let ann = c.sandbox_user("9996638101", "Ann", "").await;
    let bob = c.sandbox_user("9996638102", "Bob", "").await;
    let id = connected_account(&server, &mut c, &ann).await.account_id;
    let mut inbox = Inbox::of(&server, c.token.clone()).await;
    let channel = server
        .sandbox()
        .create_supergroup(bob.user_id, "Suppliers", &[ann.user_id])
        .unwrap();
    let chat_id = -1_000_000_000_000 - channel;
    server
        .sandbox()
        .post(bob.user_id, channel, "before")
        .unwrap();
    let posts = |page: &pb::ListMessagesResponse| -> Vec<String> {
        // The supergroup's creation is a service message without text.
        texts(&page.messages)
            .into_iter()
            .filter(|t| !t.is_empty())
            .collect()
    };
    eventually("the supergroup's post is stored", async || {
        inbox.chats_of(&id).await.iter().any(|c| {
            c.chat_id == chat_id && c.last_message.as_ref().is_some_and(|m| m.text == "before")
        })
    })
    .await;

    // While it is down, Telegram (the sandbox alone) gets posts; then it answers the supergroup's getChannelDifference "too long"
    // (5 updates at most): grammers moves the channel's pts on without
    // delivering anything. The supervisor asks first, and fills the gap.
    let restarted = server
        .restart_after(
            async |dc| {
                for i in 0..8 {
                    dc.post(bob.user_id, channel, &format!("gap-{i}")).unwrap();
                }
            },
            |config| {
                config.sandbox.max_difference = Some(5);
            },
        )
        .await;
    let mut inbox = Inbox::of(&restarted, restarted.token(TENANT)).await;
    let skipped = [
        "gap-7", "gap-6", "gap-5", "gap-4", "gap-3", "gap-2", "gap-1", "gap-0", "before",
    ];
    eventually("the skipped posts are listed, in order", async || {
        posts(&inbox.page(&id, chat_id, 20, "").await) == skipped
    })
    .await;
    assert_eq!(restarted.metric("tezgram_update_gaps_total").await, 1.0);
    // Posts flow on from where Telegram is; nothing is filled twice.
    restarted
        .sandbox()
        .post(bob.user_id, channel, "after")
        .unwrap();
    eventually("the next post is stored", async || {
        posts(&inbox.page(&id, chat_id, 20, "").await)
            .first()
            .is_some_and(|text| text == "after")
    })
    .await;
    let listed = posts(&inbox.page(&id, chat_id, 20, "").await);
    assert_eq!(listed.len(), 10, "each post once: {listed:?}");
    assert_eq!(restarted.metric("tezgram_update_gaps_total").await, 1.0);
    restarted.stop().await;
}

#[tokio::test]
async fn a_gap_telegram_will_not_replay_is_filled_from_history_after_a_restart() {
    let server = TestServer::start().await;
    let mut c = Clients::of(&server).await;
    let ann = c.sandbox_user("9996638001", "Ann", "").await;
    let bob = c.sandbox_user("9996638002", "Bob", "").await;
    let id = connected_account(&server, &mut c, &ann).await.account_id;
    let mut inbox = Inbox::of(&server, c.token.clone()).await;
    c.send_as(&bob, &id, "before").await;
    eventually("the live message is stored", async || {
        inbox
            .chats_of(&id)
            .await
            .first()
            .is_some_and(|c| c.last_message.as_ref().unwrap().text == "before")
    })
    .await;
    let page = inbox.page(&id, bob.user_id, 10, "").await;
    assert_eq!(texts(&page.messages), ["before"]);

    // While it is down, Telegram gets messages; then it answers the stored state's getDifference "too long"
    // (5 updates at most): grammers moves on without delivering them.
    let restarted = server
        .restart_after(
            async |dc| {
                write(dc, bob.user_id, ann.user_id, "gap-", 8).await;
            },
            |config| {
                config.sandbox.max_difference = Some(5);
            },
        )
        .await;
    let mut inbox = Inbox::of(&restarted, restarted.token(TENANT)).await;
    let expected = [
        "gap-7", "gap-6", "gap-5", "gap-4", "gap-3", "gap-2", "gap-1", "gap-0", "before",
    ];
    // The fill stores the messages, then the chat list state: wait for
    // both (a read in between sees the messages with the old unread count).
    eventually("the skipped messages are listed, in order", async || {
        let page = inbox.page(&id, bob.user_id, 20, "").await;
        texts(&page.messages) == expected
    })
    .await;
    eventually("the chat list state came along", async || {
        inbox.chats_of(&id).await[0].unread_count == 9
    })
    .await;
    assert_eq!(restarted.metric("tezgram_update_gaps_total").await, 1.0);
    // Updates flow on from where Telegram is; nothing is filled twice.
    c = Clients::of(&restarted).await;
    c.send_as(&bob, &id, "after").await;
    eventually("the next live message is stored", async || {
        let page = inbox.page(&id, bob.user_id, 20, "").await;
        texts(&page.messages).first().map(String::as_str) == Some("after")
    })
    .await;
    let page = inbox.page(&id, bob.user_id, 20, "").await;
    assert_eq!(page.messages.len(), 10, "each message once");
    assert_eq!(restarted.metric("tezgram_update_gaps_total").await, 1.0);
    restarted.stop().await;
}

#[tokio::test]
async fn bad_requests_name_every_field_and_other_tenants_see_nothing() {
    let server = TestServer::start().await;
    let mut c = Clients::of(&server).await;
    let ann = c.sandbox_user("9996623001", "Ann", "").await;
    let bob = c.sandbox_user("9996623002", "Bob", "").await;
    let account = connected_account(&server, &mut c, &ann).await;
    let id = account.account_id.clone();
    c.send_as(&bob, &id, "hello").await;
    let mut inbox = Inbox::of(&server, c.token.clone()).await;
    assert_eq!(inbox.chats_of(&id).await.len(), 1);

    let err = inbox
        .list_messages(pb::ListMessagesRequest {
            account_id: "not-a-uuid".into(),
            chat_id: 0,
            page_size: 101,
            page_token: "x".into(),
            anchor: Some(Anchor::BeforeMessageId(-1)),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    let fields: Vec<String> = err
        .get_details_bad_request()
        .expect("BadRequest")
        .field_violations
        .into_iter()
        .map(|v| v.field)
        .collect();
    for field in [
        "account_id",
        "chat_id",
        "page_size",
        "before_message_id",
        "page_token",
    ] {
        assert!(fields.iter().any(|f| f == field), "{field} in {fields:?}");
    }
    let err = inbox
        .list_chats(pb::ListChatsRequest {
            account_id: id.clone(),
            filter: Some(pb::ChatFilter {
                types: vec![pb::ChatType::Unspecified as i32],
                query: "q".repeat(129),
                archived: None,
            }),
            ..Default::default()
        })
        .await
        .unwrap_err();
    let fields: Vec<String> = err
        .get_details_bad_request()
        .expect("BadRequest")
        .field_violations
        .into_iter()
        .map(|v| v.field)
        .collect();
    assert_eq!(fields, ["filter.types", "filter.query"]);

    // An unknown chat of a known account.
    let err = inbox
        .chats
        .get_chat(authed(
            pb::GetChatRequest {
                account_id: id.clone(),
                chat_id: 12345,
            },
            &inbox.token,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);

    // Another tenant: the account, its chats and messages do not exist.
    let mut other = Inbox::of(&server, server.token("globex")).await;
    let err = other
        .list_chats(pb::ListChatsRequest {
            account_id: id.clone(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    let err = other.page_result(&id, bob.user_id).await.unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    let inbox_of_other = other
        .list_chats(pb::ListChatsRequest::default())
        .await
        .unwrap();
    assert!(inbox_of_other.chats.is_empty(), "globex's inbox is empty");

    // Scopes: reading chats needs chats:read, history messages:read.
    let accounts_only = server.api_key(TENANT, vec![Scope::AccountsRead]).await;
    let chats_only = server.api_key(TENANT, vec![Scope::ChatsRead]).await;
    let list = pb::ListChatsRequest {
        account_id: id.clone(),
        ..Default::default()
    };
    let err = inbox
        .chats
        .list_chats(with_api_key(list.clone(), &accounts_only))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    assert_eq!(reason(&err), "PERMISSION_DENIED");
    let ok = inbox
        .chats
        .list_chats(with_api_key(list, &chats_only))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(ok.chats.len(), 1);
    let request = pb::ListMessagesRequest {
        account_id: id.clone(),
        chat_id: bob.user_id,
        ..Default::default()
    };
    let err = inbox
        .messages
        .list_messages(with_api_key(request, &chats_only))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    server.stop().await;
}

impl Inbox {
    async fn page_result(
        &mut self,
        account_id: &str,
        chat_id: i64,
    ) -> Result<pb::ListMessagesResponse, tonic::Status> {
        self.list_messages(pb::ListMessagesRequest {
            account_id: account_id.into(),
            chat_id,
            ..Default::default()
        })
        .await
    }
}
