//! CrmService's links through the real server: a chat linked to a CRM
//! record shows it (GetChat, ListChats — past the cache), the change is an
//! event on the stream, LinkChat is idempotent on its request id, bad
//! requests and other tenants write and see nothing; SuggestLinks finds
//! chats and contacts by phone numbers written differently, usernames and
//! names; a linked basic group that Telegram migrates to a supergroup
//! takes its links along, live and after a restart.

use tezgram::domain::chat::Contact;
use tezgram::domain::ports::ContactStore;
use tezgram::domain::{Scope, TenantId};
use tezgram_sdk::v1 as pb;
use tezgram_sdk::v1::chat_service_client::ChatServiceClient;
use tezgram_sdk::v1::crm_service_client::CrmServiceClient;
use tezgram_sdk::v1::message_service_client::MessageServiceClient;
use tonic::Code;
use tonic::transport::Channel;

use crate::clients::{eventually, reason};
use crate::sending::{Scene, TENANT, chat_with, fields};
use crate::server::{authed, with_api_key};
use crate::updates::{events, quick, quiet, shown, subscribe_on};

fn deal(id: &str) -> pb::CrmEntity {
    pb::CrmEntity {
        r#type: pb::CrmEntityType::Deal as i32,
        id: id.into(),
    }
}

fn link_request(
    account_id: &str,
    chat_id: i64,
    entity: pb::CrmEntity,
    request_id: &str,
) -> pb::LinkChatRequest {
    pb::LinkChatRequest {
        account_id: account_id.into(),
        chat_id,
        entity: Some(entity),
        request_id: request_id.into(),
    }
}

async fn get_chat(
    chats: &mut ChatServiceClient<Channel>,
    token: &str,
    account_id: &str,
    chat_id: i64,
) -> pb::Chat {
    chats
        .get_chat(authed(
            pb::GetChatRequest {
                account_id: account_id.into(),
                chat_id,
            },
            token,
        ))
        .await
        .expect("GetChat")
        .into_inner()
        .chat
        .expect("a chat")
}

async fn list_chats(
    chats: &mut ChatServiceClient<Channel>,
    token: &str,
    account_id: &str,
) -> Vec<pb::Chat> {
    chats
        .list_chats(authed(
            pb::ListChatsRequest {
                account_id: account_id.into(),
                ..Default::default()
            },
            token,
        ))
        .await
        .expect("ListChats")
        .into_inner()
        .chats
}

async fn list_links(
    crm: &mut CrmServiceClient<Channel>,
    token: &str,
    filter: Option<pb::list_links_request::Filter>,
    page_size: i32,
    page_token: &str,
) -> pb::ListLinksResponse {
    crm.list_links(authed(
        pb::ListLinksRequest {
            filter,
            page_size,
            page_token: page_token.into(),
        },
        token,
    ))
    .await
    .expect("ListLinks")
    .into_inner()
}

fn linked(chat: &pb::Chat) -> Vec<(String, String)> {
    chat.linked_entities
        .iter()
        .map(|e| (e.r#type.clone(), e.id.clone()))
        .collect()
}

#[tokio::test]
async fn a_linked_chat_shows_its_records_and_every_change_is_an_event() {
    let scene = Scene::start("99966275", "hello, about my order", quick).await;
    let Scene {
        server,
        bob,
        id,
        mut chats,
        token,
        ..
    } = scene;
    let mut crm = CrmServiceClient::new(server.channel().await);
    let links_only = pb::SubscribeRequest {
        kinds: vec![
            pb::EventKind::ChatLinked as i32,
            pb::EventKind::ChatUnlinked as i32,
        ],
        ..Default::default()
    };
    let mut stream = subscribe_on(server.channel().await, &token, links_only)
        .await
        .unwrap();
    // The chat list is read (and cached) before the link.
    let before = list_chats(&mut chats, &token, &id).await;
    assert!(before.iter().all(|c| c.linked_entities.is_empty()));

    let first = crm
        .link_chat(authed(
            link_request(&id, bob.user_id, deal("D-123"), "link-1"),
            &token,
        ))
        .await
        .unwrap()
        .into_inner()
        .link
        .unwrap();
    assert_eq!(first.chat_id, bob.user_id);
    assert_eq!(first.entity, Some(deal("D-123")));
    // A retry answers the same link and writes nothing more.
    let again = crm
        .link_chat(authed(
            link_request(&id, bob.user_id, deal("D-123"), "link-1"),
            &token,
        ))
        .await
        .unwrap()
        .into_inner()
        .link
        .unwrap();
    assert_eq!(again, first);
    // The same link by another request exists already.
    let err = crm
        .link_chat(authed(
            link_request(&id, bob.user_id, deal("D-123"), "link-2"),
            &token,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::AlreadyExists, "{err:?}");
    // The first request id for another link is a mistake.
    let err = crm
        .link_chat(authed(
            link_request(&id, bob.user_id, deal("D-999"), "link-1"),
            &token,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument, "{err:?}");
    assert_eq!(reason(&err), "REQUEST_ID_REUSED");
    let company = pb::CrmEntity {
        r#type: pb::CrmEntityType::Company as i32,
        id: "ACME".into(),
    };
    crm.link_chat(authed(
        link_request(&id, bob.user_id, company.clone(), "link-3"),
        &token,
    ))
    .await
    .unwrap();

    let records = vec![
        ("CRM_ENTITY_TYPE_DEAL".to_owned(), "D-123".to_owned()),
        ("CRM_ENTITY_TYPE_COMPANY".to_owned(), "ACME".to_owned()),
    ];
    assert_eq!(
        linked(&get_chat(&mut chats, &token, &id, bob.user_id).await),
        records
    );
    let listed = list_chats(&mut chats, &token, &id).await;
    let bobs = listed.iter().find(|c| c.chat_id == bob.user_id).unwrap();
    assert_eq!(linked(bobs), records, "the cached list was retired");

    // By chat, by record, the whole tenant; newest first, page by page.
    let by_chat = Some(pb::list_links_request::Filter::Chat(pb::ChatRef {
        account_id: id.clone(),
        chat_id: bob.user_id,
    }));
    let page = list_links(&mut crm, &token, by_chat.clone(), 1, "").await;
    assert_eq!(page.links.len(), 1);
    assert_eq!(page.links[0].entity, Some(company.clone()));
    assert!(!page.next_page_token.is_empty());
    let rest = list_links(&mut crm, &token, by_chat.clone(), 1, &page.next_page_token).await;
    assert_eq!(rest.links, vec![first.clone()]);
    assert!(rest.next_page_token.is_empty());
    let err = crm
        .list_links(authed(
            pb::ListLinksRequest {
                filter: None,
                page_size: 1,
                page_token: page.next_page_token.clone(),
            },
            &token,
        ))
        .await
        .unwrap_err();
    assert_eq!(fields(&err), ["page_token"], "a token of another filter");
    let by_deal = Some(pb::list_links_request::Filter::Entity(deal("D-123")));
    assert_eq!(
        list_links(&mut crm, &token, by_deal, 0, "").await.links,
        vec![first.clone()]
    );
    assert_eq!(
        list_links(&mut crm, &token, None, 0, "").await.links.len(),
        2
    );

    crm.unlink_chat(authed(
        pb::UnlinkChatRequest {
            account_id: id.clone(),
            chat_id: bob.user_id,
            entity: Some(deal("D-123")),
        },
        &token,
    ))
    .await
    .unwrap();
    let err = crm
        .unlink_chat(authed(
            pb::UnlinkChatRequest {
                account_id: id.clone(),
                chat_id: bob.user_id,
                entity: Some(deal("D-123")),
            },
            &token,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound, "{err:?}");
    assert_eq!(
        linked(&get_chat(&mut chats, &token, &id, bob.user_id).await),
        records[1..]
    );

    // Two links and one unlink: three events, nothing for the retry or the
    // refusals.
    let seen = events(&mut stream, 3).await;
    assert_eq!(
        shown(&seen),
        ["linked D-123", "linked ACME", "unlinked D-123"]
    );
    let Some(pb::event::Payload::ChatLinked(first_event)) = &seen[0].payload else {
        unreachable!("shown above");
    };
    assert_eq!(first_event.chat_id, bob.user_id);
    assert_eq!(first_event.previous_chat_id, 0);
    assert!(seen.iter().all(|e| e.account_id == id));
    quiet(&mut stream).await;
    server.stop().await;
}

#[tokio::test]
async fn bad_links_write_nothing_and_other_tenants_see_none() {
    let scene = Scene::start("99966276", "hi", quick).await;
    let Scene {
        server,
        bob,
        id,
        token,
        ..
    } = scene;
    let mut crm = CrmServiceClient::new(server.channel().await);
    let cases = [
        (
            link_request(
                &id,
                bob.user_id,
                pb::CrmEntity {
                    r#type: 0,
                    id: "x".into(),
                },
                "r1",
            ),
            "entity.type",
        ),
        (link_request(&id, bob.user_id, deal(""), "r2"), "entity.id"),
        (
            link_request(&id, bob.user_id, deal(&"x".repeat(129)), "r3"),
            "entity.id",
        ),
        (
            link_request(&id, bob.user_id, deal("D-1"), ""),
            "request_id",
        ),
        (link_request(&id, 0, deal("D-1"), "r4"), "chat_id"),
        (
            link_request("nope", bob.user_id, deal("D-1"), "r5"),
            "account_id",
        ),
    ];
    for (request, field) in cases {
        let err = crm.link_chat(authed(request, &token)).await.unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument, "{field}: {err:?}");
        assert_eq!(fields(&err), [field]);
    }
    // A chat the account never saw.
    let err = crm
        .link_chat(authed(
            link_request(&id, 777_000_111, deal("D-1"), "r6"),
            &token,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound, "{err:?}");
    // Another tenant cannot link this account's chats, nor see its links.
    let other = server.token("globex");
    let err = crm
        .link_chat(authed(
            link_request(&id, bob.user_id, deal("D-1"), "r7"),
            &other,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound, "{err:?}");
    crm.link_chat(authed(
        link_request(&id, bob.user_id, deal("D-1"), "r8"),
        &token,
    ))
    .await
    .unwrap();
    assert!(
        list_links(&mut crm, &other, None, 0, "")
            .await
            .links
            .is_empty()
    );
    // An API key that may only read cannot link; it can list.
    let reader = server.api_key(TENANT, vec![Scope::CrmRead]).await;
    let err = crm
        .link_chat(with_api_key(
            link_request(&id, bob.user_id, deal("D-2"), "r9"),
            &reader,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied, "{err:?}");
    let listed = crm
        .list_links(with_api_key(pb::ListLinksRequest::default(), &reader))
        .await
        .unwrap()
        .into_inner();
    // Only the one good link was written.
    assert_eq!(listed.links.len(), 1);
    assert_eq!(listed.links[0].entity, Some(deal("D-1")));
    server.stop().await;
}

#[tokio::test]
async fn suggestions_match_phone_numbers_written_differently_usernames_and_names() {
    let scene = Scene::start("99966277", "hi, Bob here", quick).await;
    let Scene {
        server,
        mut c,
        bob,
        id,
        mut chats,
        token,
        ..
    } = scene;
    let mut crm = CrmServiceClient::new(server.channel().await);
    // Carol's number is imported as a contact (ResolveChat), so her chat
    // shows it.
    let carol = c.sandbox_user("9996627703", "Carol", "").await;
    chats
        .resolve_chat(authed(
            pb::ResolveChatRequest {
                account_id: id.clone(),
                target: Some(pb::resolve_chat_request::Target::PhoneNumber(
                    "+9996627703".into(),
                )),
                ..Default::default()
            },
            &token,
        ))
        .await
        .unwrap();
    // Dan is a contact the account never talked to (as a contact sync
    // stores them).
    let store = server.store().await;
    store
        .add_contact(
            &TenantId::parse(TENANT).unwrap(),
            id.parse().unwrap(),
            &Contact {
                user_id: 4_242_424,
                access_hash: Some(1),
                phone_number: Some("4930123456".into()),
                first_name: "Dan".into(),
                last_name: "Ray".into(),
                username: Some("Dan_Ray".into()),
                mutual: false,
            },
        )
        .await
        .unwrap();

    let suggest = async |crm: &mut CrmServiceClient<Channel>,
                         token: &str,
                         account_id: &str,
                         entity: pb::EntityContact| {
        crm.suggest_links(authed(
            pb::SuggestLinksRequest {
                account_id: account_id.into(),
                entity: Some(entity),
            },
            token,
        ))
        .await
        .map(|r| r.into_inner().suggestions)
    };
    // A number of no numbering plan, written with spaces and brackets.
    let found = suggest(
        &mut crm,
        &token,
        &id,
        pb::EntityContact {
            phone_number: "+999 (66) 277-03".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(found.len(), 1, "{found:?}");
    let chat = found[0].chat.as_ref().unwrap();
    assert_eq!(chat.chat_id, carol.user_id);
    assert_eq!(found[0].match_reason, pb::MatchReason::PhoneNumber as i32);
    assert_eq!(found[0].score, 1.0);
    // A German number in its national format, and a username in another
    // case: the contact without a conversation, across the tenant.
    let found = suggest(
        &mut crm,
        &token,
        "",
        pb::EntityContact {
            phone_number: "030 123456".into(),
            usernames: vec!["@dan_RAY".into()],
            default_region: "DE".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(found.len(), 1, "{found:?}");
    let dan = found[0].chat.as_ref().unwrap();
    assert_eq!(dan.chat_id, 4_242_424);
    assert!(dan.last_message.is_none());
    assert_eq!(
        found[0].match_reasons,
        [
            pb::MatchReason::PhoneNumber as i32,
            pb::MatchReason::Username as i32
        ]
    );
    assert!((found[0].score - 1.0).abs() < 1e-6);
    // A suggested contact can be linked at once, and then shows its link.
    let mut ann_crm = crm.clone();
    ann_crm
        .link_chat(authed(
            link_request(&id, 4_242_424, deal("D-7"), "dan-1"),
            &token,
        ))
        .await
        .unwrap();
    // By name, ignoring case and spacing.
    let found = suggest(
        &mut crm,
        &token,
        &id,
        pb::EntityContact {
            name: "  bob   LEE ".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].chat.as_ref().unwrap().chat_id, bob.user_id);
    assert_eq!(found[0].match_reason, pb::MatchReason::Name as i32);
    assert_eq!(found[0].score, 0.5);
    let found = suggest(
        &mut crm,
        &token,
        &id,
        pb::EntityContact {
            username: "dan_ray".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(
        linked(found[0].chat.as_ref().unwrap()),
        [("CRM_ENTITY_TYPE_DEAL".to_owned(), "D-7".to_owned())]
    );
    // Malformed input names its field; another tenant finds nothing.
    let err = suggest(
        &mut crm,
        &token,
        &id,
        pb::EntityContact {
            phone_number: "12".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap_err();
    assert_eq!(fields(&err), ["entity.phone_number"]);
    let err = suggest(&mut crm, &token, &id, pb::EntityContact::default())
        .await
        .unwrap_err();
    assert_eq!(fields(&err), ["entity"]);
    let other = server.token("globex");
    let found = suggest(
        &mut crm,
        &other,
        "",
        pb::EntityContact {
            phone_number: "+9996627703".into(),
            username: "dan_ray".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert!(found.is_empty(), "{found:?}");
    server.stop().await;
}

#[tokio::test]
async fn racing_link_calls_make_one_link_and_one_event() {
    let scene = Scene::start("99966278", "hi", quick).await;
    let Scene {
        server,
        bob,
        id,
        token,
        ..
    } = scene;
    let crm = CrmServiceClient::new(server.channel().await);
    let links_only = pb::SubscribeRequest {
        kinds: vec![pb::EventKind::ChatLinked as i32],
        ..Default::default()
    };
    let mut stream = subscribe_on(server.channel().await, &token, links_only)
        .await
        .unwrap();
    // Eight retries of one request, and eight requests for one other link.
    let calls = (0..16).map(|i| {
        let (mut crm, token, id) = (crm.clone(), token.clone(), id.clone());
        let request = if i % 2 == 0 {
            link_request(&id, bob.user_id, deal("D-1"), "same-request")
        } else {
            link_request(&id, bob.user_id, deal("D-2"), &format!("request-{i}"))
        };
        async move { crm.link_chat(authed(request, &token)).await }
    });
    let results = futures::future::join_all(calls).await;
    let mut retried = Vec::new();
    let (mut won, mut refused) = (0, 0);
    for (i, result) in results.into_iter().enumerate() {
        match (i % 2, result) {
            (0, Ok(r)) => retried.push(r.into_inner().link.unwrap()),
            (1, Ok(_)) => won += 1,
            (1, Err(err)) if err.code() == Code::AlreadyExists => refused += 1,
            (_, other) => panic!("call {i}: {other:?}"),
        }
    }
    assert_eq!(retried.len(), 8);
    assert!(
        retried.iter().all(|l| l == &retried[0]),
        "one link for one request"
    );
    assert_eq!((won, refused), (1, 7));
    let mut crm = crm;
    assert_eq!(
        list_links(&mut crm, &token, None, 0, "").await.links.len(),
        2
    );
    assert_eq!(
        shown(&events(&mut stream, 2).await).len(),
        2,
        "one event per link"
    );
    quiet(&mut stream).await;
    server.stop().await;
}

/// CHANNEL_ID_OFFSET is what the Bot API numbering adds to a channel id.
const CHANNEL_ID_OFFSET: i64 = 1_000_000_000_000;

/// LinkedGroup is a Scene in which Bob made a basic group "Order 42" with
/// Ann's account, which a CRM user linked to deal D-42.
struct LinkedGroup {
    scene: Scene,
    /// group is the sandbox's id of the basic group; its chat id is `-group`.
    group: i64,
    link: pb::ChatLink,
}

impl LinkedGroup {
    async fn start(prefix: &str) -> LinkedGroup {
        let mut scene = Scene::start(prefix, "about order 42", quick).await;
        let group = scene
            .server
            .sandbox()
            .create_group(scene.bob.user_id, "Order 42", &[scene.ann.user_id])
            .unwrap();
        chat_with(&mut scene.chats, &scene.token, &scene.id, -group).await;
        let mut crm = CrmServiceClient::new(scene.server.channel().await);
        let link = crm
            .link_chat(authed(
                link_request(&scene.id, -group, deal("D-42"), "link-42"),
                &scene.token,
            ))
            .await
            .expect("LinkChat")
            .into_inner()
            .link
            .expect("a link");
        LinkedGroup { scene, group, link }
    }
}

fn links_only() -> pb::SubscribeRequest {
    pb::SubscribeRequest {
        kinds: vec![
            pb::EventKind::ChatLinked as i32,
            pb::EventKind::ChatUnlinked as i32,
        ],
        ..Default::default()
    }
}

async fn texts(
    messages: &mut MessageServiceClient<Channel>,
    token: &str,
    account_id: &str,
    chat_id: i64,
) -> Vec<String> {
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
        .into_iter()
        .map(|m| m.text)
        .collect()
}

/// linked_to lists the chats ListLinks names for a record.
async fn linked_to(
    crm: &mut CrmServiceClient<Channel>,
    token: &str,
    entity: pb::CrmEntity,
) -> Vec<pb::ChatLink> {
    let by_entity = Some(pb::list_links_request::Filter::Entity(entity));
    list_links(crm, token, by_entity, 0, "").await.links
}

#[tokio::test]
async fn a_linked_group_that_telegram_migrates_takes_its_link_to_the_supergroup() {
    let LinkedGroup { scene, group, link } = LinkedGroup::start("99966279").await;
    let Scene {
        server,
        bob,
        id,
        mut chats,
        mut messages,
        token,
        ..
    } = scene;
    let mut crm = CrmServiceClient::new(server.channel().await);
    let mut stream = subscribe_on(server.channel().await, &token, links_only())
        .await
        .unwrap();
    let d42 = vec![("CRM_ENTITY_TYPE_DEAL".to_owned(), "D-42".to_owned())];
    // The group and the chat list are read (and cached) before.
    assert_eq!(
        linked(&get_chat(&mut chats, &token, &id, -group).await),
        d42
    );
    list_chats(&mut chats, &token, &id).await;

    let channel = server.sandbox().migrate_chat(bob.user_id, group).unwrap();
    let supergroup = -(CHANNEL_ID_OFFSET + channel);
    eventually("the deal's link names the supergroup", async || {
        let links = linked_to(&mut crm, &token, deal("D-42")).await;
        links.iter().map(|l| l.chat_id).collect::<Vec<_>>() == [supergroup]
    })
    .await;
    // The same link, moved: made when it was made, by the same request.
    let moved = pb::ChatLink {
        chat_id: supergroup,
        ..link.clone()
    };
    assert_eq!(linked_to(&mut crm, &token, deal("D-42")).await, [moved]);
    let chat = get_chat(&mut chats, &token, &id, supergroup).await;
    assert_eq!(linked(&chat), d42);
    assert_eq!(chat.r#type(), pb::ChatType::Supergroup);
    assert_eq!(chat.title, "Order 42");
    assert!(
        linked(&get_chat(&mut chats, &token, &id, -group).await).is_empty(),
        "the old group shows no link"
    );
    let listed = list_chats(&mut chats, &token, &id).await;
    let shown_linked = |chat_id: i64| {
        listed
            .iter()
            .find(|c| c.chat_id == chat_id)
            .map(linked)
            .unwrap_or_default()
    };
    assert_eq!(shown_linked(supergroup), d42);
    assert!(shown_linked(-group).is_empty());

    // Subscribers hear that the link moved, and from where.
    let seen = events(&mut stream, 1).await;
    let Some(pb::event::Payload::ChatLinked(followed)) = &seen[0].payload else {
        panic!("a link event: {:?}", shown(&seen));
    };
    assert_eq!(
        (followed.chat_id, followed.previous_chat_id),
        (supergroup, -group)
    );
    assert_eq!(followed.entity.as_ref().unwrap().id, "D-42");

    // The conversation goes on in the supergroup.
    server
        .sandbox()
        .post(bob.user_id, channel, "moved over")
        .unwrap();
    eventually("the supergroup's post is listed", async || {
        texts(&mut messages, &token, &id, supergroup)
            .await
            .first()
            .is_some_and(|text| text == "moved over")
    })
    .await;
    // Its history starts where the group's ended.
    let history = messages
        .list_messages(authed(
            pb::ListMessagesRequest {
                account_id: id.clone(),
                chat_id: supergroup,
                ..Default::default()
            },
            &token,
        ))
        .await
        .unwrap()
        .into_inner()
        .messages;
    let first = history.last().unwrap().action.clone().unwrap();
    assert_eq!(first.r#type(), pb::MessageActionType::ChannelMigrateFrom);
    assert_eq!(first.chat_id, -group);
    // Both service messages arrived; the link moved once.
    quiet(&mut stream).await;
    server.stop().await;
}

#[tokio::test]
async fn a_link_follows_a_migration_that_happened_while_the_gateway_was_down() {
    let LinkedGroup { scene, group, link } = LinkedGroup::start("99966291").await;
    let Scene {
        server, bob, id, ..
    } = scene;
    let mut channel = 0;
    let restarted = server
        .restart_after(
            async |dc| {
                channel = dc.migrate_chat(bob.user_id, group).unwrap();
            },
            |_| {},
        )
        .await;
    let supergroup = -(CHANNEL_ID_OFFSET + channel);
    let token = restarted.token(TENANT);
    let grpc = restarted.channel().await;
    let mut crm = CrmServiceClient::new(grpc.clone());
    let mut chats = ChatServiceClient::new(grpc.clone());
    let mut messages = MessageServiceClient::new(grpc);

    // Catch-up (getDifference) brings the group's last message: the link
    // moves to the supergroup, stored from that message's peers.
    eventually("the deal's link names the supergroup", async || {
        let links = linked_to(&mut crm, &token, deal("D-42")).await;
        links.iter().map(|l| l.chat_id).collect::<Vec<_>>() == [supergroup]
    })
    .await;
    assert_eq!(
        linked_to(&mut crm, &token, deal("D-42")).await,
        [pb::ChatLink {
            chat_id: supergroup,
            ..link
        }]
    );
    let d42 = vec![("CRM_ENTITY_TYPE_DEAL".to_owned(), "D-42".to_owned())];
    let chat = get_chat(&mut chats, &token, &id, supergroup).await;
    assert_eq!(linked(&chat), d42);
    assert_eq!(chat.title, "Order 42");
    assert!(linked(&get_chat(&mut chats, &token, &id, -group).await).is_empty());

    restarted
        .sandbox()
        .post(bob.user_id, channel, "moved over")
        .unwrap();
    eventually("the supergroup's post is listed", async || {
        texts(&mut messages, &token, &id, supergroup)
            .await
            .first()
            .is_some_and(|text| text == "moved over")
    })
    .await;
    assert_eq!(
        linked(&get_chat(&mut chats, &token, &id, supergroup).await),
        d42
    );
    restarted.stop().await;
}
