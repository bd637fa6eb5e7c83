//! ResolveChat and ListContacts through the real server, grammers and the
//! sandbox DC: a phone number is imported once (Telegram's contact list
//! shows it) and its chat can be written to at once; a username resolves
//! to its chat; unknown targets are NOT_FOUND with nothing imported;
//! contacts page by name without gaps or repeats; bad input, missing scopes
//! and other tenants are refused.

use std::collections::HashSet;

use tezgram::domain::Scope;
use tezgram_sandbox::SandboxLink;
use tezgram_sdk::v1 as pb;
use tezgram_sdk::v1::chat_service_client::ChatServiceClient;
use tezgram_sdk::v1::message_service_client::MessageServiceClient;
use tezgram_sdk::v1::resolve_chat_request::Target;
use tonic::Code;
use tonic::transport::Channel;

use crate::clients::{Clients, reason};
use crate::messaging::connected_account;
use crate::sending::{TENANT, bob_side, fields, quick_pacing, sent, text_request};
use crate::server::{TestServer, authed, with_api_key};

fn by_phone(account_id: &str, phone: &str, first_name: &str) -> pb::ResolveChatRequest {
    pb::ResolveChatRequest {
        account_id: account_id.into(),
        target: Some(Target::PhoneNumber(phone.into())),
        first_name: first_name.into(),
        last_name: String::new(),
    }
}

fn by_username(account_id: &str, username: &str) -> pb::ResolveChatRequest {
    pb::ResolveChatRequest {
        account_id: account_id.into(),
        target: Some(Target::Username(username.into())),
        ..Default::default()
    }
}

async fn contacts_page(
    chats: &mut ChatServiceClient<Channel>,
    token: &str,
    account_id: &str,
    page_size: i32,
    page_token: &str,
) -> Result<pb::ListContactsResponse, tonic::Status> {
    chats
        .list_contacts(authed(
            pb::ListContactsRequest {
                account_id: account_id.into(),
                page_size,
                page_token: page_token.into(),
            },
            token,
        ))
        .await
        .map(|r| r.into_inner())
}

/// telegram_contacts is the account user's contact list at Telegram.
async fn telegram_contacts(server: &TestServer, user_id: i64) -> Vec<i64> {
    server
        .sandbox()
        .contacts(TENANT, user_id)
        .await
        .expect("the sandbox's contact list")
        .into_iter()
        .map(|u| u.id)
        .collect()
}

#[tokio::test]
async fn a_phone_number_is_imported_once_and_its_chat_can_be_written_at_once() {
    let server = TestServer::start_with(quick_pacing).await;
    let mut c = Clients::of(&server).await;
    let ann = c.sandbox_user("9996634401", "Ann", "").await;
    let bob = c.sandbox_user("9996634402", "Bob", "").await;
    let id = connected_account(&server, &mut c, &ann).await.account_id;
    let channel = server.channel().await;
    let mut chats = ChatServiceClient::new(channel.clone());
    let mut messages = MessageServiceClient::new(channel);
    let token = c.token.clone();

    // Ann has no contacts, and has never talked to Bob.
    let empty = contacts_page(&mut chats, &token, &id, 0, "").await.unwrap();
    assert!(empty.contacts.is_empty());
    let err = chats
        .get_chat(authed(
            pb::GetChatRequest {
                account_id: id.clone(),
                chat_id: bob.user_id,
            },
            &token,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);

    let resolved = chats
        .resolve_chat(authed(by_phone(&id, "+999 663 44 02", "Robert"), &token))
        .await
        .unwrap()
        .into_inner();
    assert!(resolved.contact_imported);
    let chat = resolved.chat.unwrap();
    assert_eq!(chat.chat_id, bob.user_id);
    assert_eq!(chat.r#type(), pb::ChatType::Private);
    assert_eq!(telegram_contacts(&server, ann.user_id).await, [bob.user_id]);
    let listed = contacts_page(&mut chats, &token, &id, 0, "").await.unwrap();
    assert_eq!(listed.contacts.len(), 1, "a read after the import sees it");
    assert_eq!(listed.contacts[0].user_id, bob.user_id);
    assert_eq!(listed.contacts[0].phone_number, "9996634402");
    assert_eq!(listed.contacts[0].account_id, id);

    // Again: found in the contact list, not imported a second time.
    let again = chats
        .resolve_chat(authed(by_phone(&id, "9996634402", ""), &token))
        .await
        .unwrap()
        .into_inner();
    assert!(!again.contact_imported);
    assert_eq!(again.chat.unwrap().chat_id, bob.user_id);

    // The chat is known now: a message goes out at once and Bob has it.
    let hello = sent(
        &mut messages,
        &token,
        text_request(&id, bob.user_id, "Hello from Acme", "req-first-contact"),
    )
    .await;
    assert!(hello.message_id > 0);
    let bob_view = bob_side(server.sandbox(), bob.user_id, ann.user_id).await;
    assert_eq!(bob_view.count, 1);
    assert_eq!(bob_view.messages[0].text, "Hello from Acme");

    // Numbers nobody has are NOT_FOUND, and nothing is imported.
    let err = chats
        .resolve_chat(authed(by_phone(&id, "+9996634499", ""), &token))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound, "{err:?}");
    assert_eq!(telegram_contacts(&server, ann.user_id).await, [bob.user_id]);
    let listed = contacts_page(&mut chats, &token, &id, 0, "").await.unwrap();
    assert_eq!(listed.contacts.len(), 1);

    // Malformed input names its field; a phone number gets its own reason.
    let err = chats
        .resolve_chat(authed(by_phone(&id, "12ab", ""), &token))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(reason(&err), "INVALID_PHONE_NUMBER");
    let err = chats
        .resolve_chat(authed(
            pb::ResolveChatRequest {
                last_name: "x".repeat(65),
                ..by_username(&id, "ab")
            },
            &token,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    let named = fields(&err);
    assert!(named.contains(&"username".to_owned()), "{named:?}");
    assert!(named.contains(&"last_name".to_owned()), "{named:?}");
    let err = chats
        .resolve_chat(authed(
            pb::ResolveChatRequest {
                account_id: id.clone(),
                ..Default::default()
            },
            &token,
        ))
        .await
        .unwrap_err();
    assert_eq!(fields(&err), vec!["target".to_owned()]);

    // Without chats:read, and from another tenant, nothing is resolved.
    let writer = server.api_key(TENANT, vec![Scope::MessagesWrite]).await;
    let err = chats
        .resolve_chat(with_api_key(by_phone(&id, "+9996634403", ""), &writer))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    let stranger = server.api_key("globex", vec![Scope::ChatsRead]).await;
    let err = chats
        .resolve_chat(with_api_key(by_phone(&id, "+9996634402", ""), &stranger))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    let err = chats
        .list_contacts(with_api_key(
            pb::ListContactsRequest {
                account_id: id.clone(),
                ..Default::default()
            },
            &stranger,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
}

#[tokio::test]
async fn usernames_resolve_and_contacts_page_by_name() {
    let server = TestServer::start_with(quick_pacing).await;
    let mut c = Clients::of(&server).await;
    let ann = c.sandbox_user("9996635401", "Ann", "").await;
    let id = connected_account(&server, &mut c, &ann).await.account_id;
    let carol = c
        .sandbox
        .create_sandbox_user(authed(
            pb::CreateSandboxUserRequest {
                phone_number: "9996635402".into(),
                first_name: "Carol".into(),
                username: "carol_crm".into(),
                ..Default::default()
            },
            &c.token,
        ))
        .await
        .unwrap()
        .into_inner()
        .sandbox_user
        .unwrap();
    let channel = server.channel().await;
    let mut chats = ChatServiceClient::new(channel);
    let token = c.token.clone();

    let resolved = chats
        .resolve_chat(authed(by_username(&id, "@carol_crm"), &token))
        .await
        .unwrap()
        .into_inner();
    assert!(!resolved.contact_imported);
    let chat = resolved.chat.unwrap();
    assert_eq!(chat.chat_id, carol.user_id);
    assert_eq!(chat.username, "carol_crm");
    let known = chats
        .get_chat(authed(
            pb::GetChatRequest {
                account_id: id.clone(),
                chat_id: carol.user_id,
            },
            &token,
        ))
        .await
        .unwrap()
        .into_inner()
        .chat
        .unwrap();
    assert_eq!(known.title, chat.title);
    let err = chats
        .resolve_chat(authed(by_username(&id, "nobody_here"), &token))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound, "{err:?}");
    assert!(
        telegram_contacts(&server, ann.user_id).await.is_empty(),
        "a username is resolved without importing anyone"
    );

    // Five contacts, paged two at a time: by name, each once.
    let mut imported = Vec::new();
    for (i, name) in ["Eve", "Dan", "Bea", "Abe", "Cid"].iter().enumerate() {
        let phone = format!("99966354{:02}", 10 + i);
        let user = c.sandbox_user(&phone, name, "").await;
        chats
            .resolve_chat(authed(by_phone(&id, &phone, name), &token))
            .await
            .unwrap();
        imported.push(user.user_id);
    }
    let mut names = Vec::new();
    let mut seen = HashSet::new();
    let mut page_token = String::new();
    loop {
        let page = contacts_page(&mut chats, &token, &id, 2, &page_token)
            .await
            .unwrap();
        assert!(page.contacts.len() <= 2);
        for contact in page.contacts {
            assert!(seen.insert(contact.user_id), "{} twice", contact.first_name);
            names.push(contact.first_name);
        }
        if page.next_page_token.is_empty() {
            break;
        }
        page_token = page.next_page_token;
    }
    assert_eq!(names, ["Abe", "Bea", "Cid", "Dan", "Eve"]);
    assert_eq!(seen, imported.into_iter().collect());

    // A token is bound to its account; sizes are bounded.
    let first = contacts_page(&mut chats, &token, &id, 2, "").await.unwrap();
    let other = c.sandbox_user("9996635403", "Otto", "").await;
    let other_id = connected_account(&server, &mut c, &other).await.account_id;
    let err = contacts_page(&mut chats, &token, &other_id, 2, &first.next_page_token)
        .await
        .unwrap_err();
    assert_eq!(fields(&err), vec!["page_token".to_owned()]);
    let err = contacts_page(&mut chats, &token, &id, 1001, "")
        .await
        .unwrap_err();
    assert_eq!(fields(&err), vec!["page_size".to_owned()]);
}

#[tokio::test]
async fn bots_resolve_usernames_but_have_no_contacts_nor_account_wide_search() {
    let server = TestServer::start().await;
    let mut c = Clients::of(&server).await;
    let bot = c.sandbox_bot("Helper", "crm_helper_bot").await;
    let id = c
        .start_bot_login(&bot.bot_token, "bot-contacts-1")
        .await
        .unwrap()
        .account_id;
    let carol = c
        .sandbox
        .create_sandbox_user(authed(
            pb::CreateSandboxUserRequest {
                phone_number: "9996635501".into(),
                first_name: "Carol".into(),
                username: "carol_for_bots".into(),
                ..Default::default()
            },
            &c.token,
        ))
        .await
        .unwrap()
        .into_inner()
        .sandbox_user
        .unwrap();
    let channel = server.channel().await;
    let mut chats = ChatServiceClient::new(channel.clone());
    let mut messages = MessageServiceClient::new(channel);
    let token = c.token.clone();

    let resolved = chats
        .resolve_chat(authed(by_username(&id, "carol_for_bots"), &token))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(resolved.chat.unwrap().chat_id, carol.user_id);

    let bots_unsupported = |err: tonic::Status| {
        assert_eq!(err.code(), Code::FailedPrecondition, "{err:?}");
        assert_eq!(reason(&err), "BOTS_UNSUPPORTED");
    };
    bots_unsupported(
        contacts_page(&mut chats, &token, &id, 0, "")
            .await
            .unwrap_err(),
    );
    bots_unsupported(
        chats
            .resolve_chat(authed(by_phone(&id, "+9996635501", ""), &token))
            .await
            .unwrap_err(),
    );
    bots_unsupported(
        messages
            .search_messages(authed(
                pb::SearchMessagesRequest {
                    account_id: id.clone(),
                    query: "hello".into(),
                    ..Default::default()
                },
                &token,
            ))
            .await
            .unwrap_err(),
    );
}
