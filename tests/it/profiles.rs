//! GetChat's full profile through the real server and the sandbox DC: the
//! bio is read from Telegram (`users.getFullUser`) and stored, for GetChat
//! and ResolveChat; lists leave it out, as the proto promises.

use tezgram_sandbox::{NewUser, SandboxLink};
use tezgram_sdk::v1 as pb;
use tezgram_sdk::v1::chat_service_client::ChatServiceClient;

use crate::clients::Clients;
use crate::messaging::connected_account;
use crate::sending::{TENANT, chat_with, quick_pacing};
use crate::server::{TestServer, authed};

#[tokio::test]
async fn get_chat_tells_the_customers_bio_and_lists_leave_it_out() {
    let server = TestServer::start_with(quick_pacing).await;
    let mut c = Clients::of(&server).await;
    let ann = c.sandbox_user("9996639501", "Ann", "").await;
    let carol = server
        .sandbox()
        .create_user(NewUser {
            owner: TENANT.into(),
            phone: "9996639502".into(),
            first_name: "Carol".into(),
            about: Some("buys invoices in bulk".into()),
            ..NewUser::default()
        })
        .await
        .unwrap();
    let id = connected_account(&server, &mut c, &ann).await.account_id;
    server
        .sandbox()
        .send_message(TENANT, carol.id, ann.user_id, "hello".into())
        .await
        .unwrap();
    let mut chats = ChatServiceClient::new(server.channel().await);
    let token = c.token.clone();
    chat_with(&mut chats, &token, &id, carol.id).await;

    let get = pb::GetChatRequest {
        account_id: id.clone(),
        chat_id: carol.id,
    };
    let chat = chats
        .get_chat(authed(get.clone(), &token))
        .await
        .unwrap()
        .into_inner()
        .chat
        .unwrap();
    assert_eq!(chat.about, "buys invoices in bulk");
    assert_eq!(chat.first_name, "Carol");
    assert_eq!(
        chat.member_count, 0,
        "a private chat has no members to count"
    );
    // Served again (from the store, within the hour) with the same bio.
    let again = chats
        .get_chat(authed(get, &token))
        .await
        .unwrap()
        .into_inner()
        .chat
        .unwrap();
    assert_eq!(again.about, "buys invoices in bulk");

    // ResolveChat tells it too, for a customer the account never talked to.
    server
        .sandbox()
        .create_user(NewUser {
            owner: TENANT.into(),
            phone: "9996639503".into(),
            first_name: "Dave".into(),
            about: Some("runs the warehouse".into()),
            ..NewUser::default()
        })
        .await
        .unwrap();
    let resolved = chats
        .resolve_chat(authed(
            pb::ResolveChatRequest {
                account_id: id.clone(),
                target: Some(pb::resolve_chat_request::Target::PhoneNumber(
                    "+9996639503".into(),
                )),
                first_name: "Dave".into(),
                ..Default::default()
            },
            &token,
        ))
        .await
        .unwrap()
        .into_inner()
        .chat
        .unwrap();
    assert_eq!(resolved.about, "runs the warehouse");

    let listed = chats
        .list_chats(authed(
            pb::ListChatsRequest {
                account_id: id.clone(),
                ..Default::default()
            },
            &token,
        ))
        .await
        .unwrap()
        .into_inner()
        .chats;
    let carols = listed
        .iter()
        .find(|chat| chat.chat_id == carol.id)
        .expect("Carol's chat is listed");
    assert_eq!(carols.about, "", "ListChats leaves about empty");
}
