//! The audit log and preferences through the real server: an API key's
//! send and a user's edit, read mark, link, trigger and log-out are listed
//! with who did them (newest first, filtered, paged), a refused call or a
//! retried send records nothing, another tenant sees none of it;
//! DeleteAccount erases the account's data and leaves an entry; each
//! caller's preferences are its own, and its signature ends what it sends.

use sea_orm::{ConnectionTrait, Statement};
use tezgram::domain::Scope;
use tezgram_sdk::v1 as pb;
use tezgram_sdk::v1::account_service_client::AccountServiceClient;
use tezgram_sdk::v1::audit_service_client::AuditServiceClient;
use tezgram_sdk::v1::crm_service_client::CrmServiceClient;
use tezgram_sdk::v1::preference_service_client::PreferenceServiceClient;
use tonic::Code;
use tonic::transport::Channel;
use tonic_types::StatusExt;

use crate::clients::eventually;
use crate::sending::{Scene, TENANT, bob_side, fields, quick_pacing, send, sent, text_request};
use crate::server::{JWT_SECRET, TestServer, authed, with_api_key};
use crate::triggers::{Receiver, create, deliveries, webhook_trigger};

fn list(
    filter: pb::ListAuditEntriesRequest,
    token: &str,
) -> tonic::Request<pb::ListAuditEntriesRequest> {
    authed(filter, token)
}

async fn entries(
    audit: &mut AuditServiceClient<Channel>,
    token: &str,
    filter: pb::ListAuditEntriesRequest,
) -> Vec<pb::AuditEntry> {
    audit
        .list_audit_entries(list(filter, token))
        .await
        .expect("ListAuditEntries")
        .into_inner()
        .entries
}

/// token_of is a JWT of the scene's tenant for another CRM user.
fn token_of(server: &TestServer, sub: &str) -> String {
    let mut claims = server.claims(TENANT);
    claims.sub = sub.into();
    tezgram::auth::issue_hs256(JWT_SECRET.as_bytes(), &claims)
}

fn deal(id: &str) -> pb::CrmEntity {
    pb::CrmEntity {
        r#type: pb::CrmEntityType::Deal as i32,
        id: id.into(),
    }
}

#[tokio::test]
async fn the_audit_log_names_who_did_what_and_another_tenant_sees_none_of_it() {
    let Scene {
        server,
        bob,
        id,
        mut messages,
        token,
        ..
    } = Scene::start("99966140", "hello, anyone there?", quick_pacing).await;
    let channel = server.channel().await;
    let mut audit = AuditServiceClient::new(channel.clone());
    let mut crm = CrmServiceClient::new(channel.clone());
    let mut accounts = AccountServiceClient::new(channel);
    let service_key = server
        .api_key(TENANT, vec![Scope::MessagesWrite, Scope::MessagesRead])
        .await;
    let agent = token_of(&server, "agent-7");

    // An API key sends; a retry of the same request records nothing again.
    let request = text_request(&id, bob.user_id, "your order shipped", "audit-send-1");
    let by_key = messages
        .send_message(with_api_key(request.clone(), &service_key))
        .await
        .expect("SendMessage with an API key")
        .into_inner()
        .message
        .unwrap();
    messages
        .send_message(with_api_key(request, &service_key))
        .await
        .expect("the retry");
    // A CRM user edits it, marks the chat read and links it to a deal.
    messages
        .edit_message(authed(
            pb::EditMessageRequest {
                account_id: id.clone(),
                chat_id: bob.user_id,
                message_id: by_key.message_id,
                text: "your order shipped today".into(),
                ..Default::default()
            },
            &agent,
        ))
        .await
        .expect("EditMessage");
    messages
        .mark_read(authed(
            pb::MarkReadRequest {
                account_id: id.clone(),
                chat_id: bob.user_id,
                max_message_id: 0,
            },
            &agent,
        ))
        .await
        .expect("MarkRead");
    let link = crm
        .link_chat(authed(
            pb::LinkChatRequest {
                account_id: id.clone(),
                chat_id: bob.user_id,
                entity: Some(deal("D-77")),
                request_id: "audit-link-1".into(),
            },
            &agent,
        ))
        .await
        .expect("LinkChat")
        .into_inner()
        .link
        .unwrap();
    // Refused calls record nothing: an unknown message, a bad request.
    let err = messages
        .edit_message(authed(
            pb::EditMessageRequest {
                account_id: id.clone(),
                chat_id: bob.user_id,
                message_id: 999_999,
                text: "nope".into(),
                ..Default::default()
            },
            &agent,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    let err = send(
        &mut messages,
        &agent,
        text_request(&id, bob.user_id, "", "audit-send-empty"),
    )
    .await
    .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);

    // The log, newest first: the user's three actions, the key's one send,
    // then the scene's own login (started and completed by user-1).
    let all = entries(&mut audit, &token, Default::default()).await;
    let actions: Vec<_> = all.iter().map(|e| e.action()).collect();
    assert_eq!(
        actions,
        [
            pb::AuditAction::ChatLinked,
            pb::AuditAction::ChatRead,
            pb::AuditAction::MessageEdited,
            pb::AuditAction::MessageSent,
            pb::AuditAction::LoggedIn,
            pb::AuditAction::LoginStarted,
        ],
        "{all:#?}"
    );
    assert!(all.windows(2).all(|w| w[0].entry_id > w[1].entry_id));
    let send_entry = &all[3];
    assert_eq!(send_entry.principal_kind(), pb::PrincipalKind::ApiKey);
    assert!(
        send_entry.principal.starts_with("api-key:"),
        "{send_entry:?}"
    );
    assert_eq!(send_entry.account_id, id);
    assert_eq!(send_entry.chat_id, bob.user_id);
    assert_eq!(send_entry.details["request_id"], "audit-send-1");
    assert_eq!(send_entry.details["kind"], "text");
    assert!(
        !send_entry.details.values().any(|v| v.contains("shipped")),
        "no message text in the log"
    );
    let edit = &all[2];
    assert_eq!(
        (edit.principal.as_str(), edit.principal_kind()),
        ("agent-7", pb::PrincipalKind::User)
    );
    assert_eq!(edit.details["message_id"], by_key.message_id.to_string());
    assert_eq!(all[0].details["entity_type"], "deal");
    assert_eq!(link.chat_id, bob.user_id);
    assert_eq!(all[0].details["entity_id"], "D-77");
    assert_eq!(all[5].principal, "user-1");
    assert_eq!(all[5].details["method"], "phone");
    assert_eq!(all[4].details["method"], "code");

    // Filters: one principal, some actions, a time range, an account.
    let by_principal = entries(
        &mut audit,
        &token,
        pb::ListAuditEntriesRequest {
            principal: send_entry.principal.clone(),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(by_principal, vec![send_entry.clone()]);
    let reads_and_edits = entries(
        &mut audit,
        &token,
        pb::ListAuditEntriesRequest {
            actions: vec![
                pb::AuditAction::ChatRead as i32,
                pb::AuditAction::MessageEdited as i32,
            ],
            ..Default::default()
        },
    )
    .await;
    assert_eq!(reads_and_edits, all[1..3].to_vec());
    let after_link = entries(
        &mut audit,
        &token,
        pb::ListAuditEntriesRequest {
            from_time: all[0].time,
            ..Default::default()
        },
    )
    .await;
    assert_eq!(after_link, vec![all[0].clone()]);
    let before_link = entries(
        &mut audit,
        &token,
        pb::ListAuditEntriesRequest {
            to_time: all[0].time,
            account_id: id.clone(),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(before_link, all[1..].to_vec());

    // Pages of two walk the same entries, none twice, while more arrive.
    let mut paged = Vec::new();
    let mut page_token = String::new();
    loop {
        let page = audit
            .list_audit_entries(list(
                pb::ListAuditEntriesRequest {
                    page_size: 2,
                    page_token: page_token.clone(),
                    ..Default::default()
                },
                &token,
            ))
            .await
            .unwrap()
            .into_inner();
        paged.extend(page.entries);
        if paged.len() == 2 {
            // Newer than the first page: never in a later one.
            accounts
                .log_out(authed(
                    pb::LogOutRequest {
                        account_id: id.clone(),
                    },
                    &agent,
                ))
                .await
                .expect("LogOut");
        }
        if page.next_page_token.is_empty() {
            break;
        }
        page_token = page.next_page_token;
    }
    assert_eq!(paged, all);
    let newest = entries(&mut audit, &token, Default::default()).await;
    assert_eq!(newest[0].action(), pb::AuditAction::LoggedOut);
    assert_eq!(newest[0].principal, "agent-7");
    assert_eq!(newest[1..], all[..]);

    // A token is bound to its filter.
    let first = audit
        .list_audit_entries(list(
            pb::ListAuditEntriesRequest {
                page_size: 1,
                ..Default::default()
            },
            &token,
        ))
        .await
        .unwrap()
        .into_inner();
    let err = audit
        .list_audit_entries(list(
            pb::ListAuditEntriesRequest {
                page_size: 1,
                page_token: first.next_page_token,
                principal: "agent-7".into(),
                ..Default::default()
            },
            &token,
        ))
        .await
        .unwrap_err();
    assert_eq!(fields(&err), ["page_token"]);
    // Bad filters name every bad field.
    let err = audit
        .list_audit_entries(list(
            pb::ListAuditEntriesRequest {
                page_size: 501,
                account_id: "not-a-uuid".into(),
                principal: "p".repeat(257),
                actions: vec![pb::AuditAction::Unspecified as i32],
                from_time: Some(prost_types::Timestamp {
                    seconds: 2_000_000_000,
                    nanos: 0,
                }),
                to_time: Some(prost_types::Timestamp {
                    seconds: 1_000_000_000,
                    nanos: 0,
                }),
                ..Default::default()
            },
            &token,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(
        fields(&err),
        [
            "page_size",
            "account_id",
            "principal",
            "actions[0]",
            "to_time"
        ]
    );

    // Reading the log takes audit:read (the sending key lacks it; the
    // admin role has it); another tenant sees none of it.
    let err = audit
        .list_audit_entries(with_api_key(
            pb::ListAuditEntriesRequest::default(),
            &service_key,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    let auditor = server.api_key(TENANT, vec![Scope::AuditRead]).await;
    let seen = audit
        .list_audit_entries(with_api_key(
            pb::ListAuditEntriesRequest::default(),
            &auditor,
        ))
        .await
        .unwrap()
        .into_inner()
        .entries;
    assert_eq!(seen, newest);
    let globex = entries(
        &mut audit,
        &server.token("globex"),
        pb::ListAuditEntriesRequest {
            account_id: id.clone(),
            ..Default::default()
        },
    )
    .await;
    assert!(globex.is_empty(), "{globex:?}");
    let globex_all = entries(&mut audit, &server.token("globex"), Default::default()).await;
    assert!(globex_all.is_empty(), "{globex_all:?}");
    server.stop().await;
}

/// rows counts the rows of `table` that name the account.
async fn rows(server: &TestServer, table: &str, account_id: &str) -> i64 {
    let store = server.store().await;
    let backend = store.connection().get_database_backend();
    let row = store
        .connection()
        .query_one_raw(Statement::from_sql_and_values(
            backend,
            format!("SELECT COUNT(*) AS n FROM {table} WHERE account_id = $1"),
            [account_id.into()],
        ))
        .await
        .unwrap()
        .unwrap();
    row.try_get("", "n").unwrap()
}

#[tokio::test]
async fn deleting_an_account_erases_its_data_and_the_log_keeps_that_it_did() {
    let Scene {
        server,
        mut c,
        bob,
        id,
        mut messages,
        token,
        ..
    } = Scene::start("99966141", "hi there", |config| {
        quick_pacing(config);
        config.webhooks.poll_interval_ms = 100;
    })
    .await;
    let mut crm = CrmServiceClient::new(server.channel().await);
    let mut audit = AuditServiceClient::new(server.channel().await);
    crm.link_chat(authed(
        pb::LinkChatRequest {
            account_id: id.clone(),
            chat_id: bob.user_id,
            entity: Some(deal("D-1")),
            request_id: "delete-link-1".into(),
        },
        &token,
    ))
    .await
    .expect("LinkChat");
    let receiver = Receiver::start().await;
    let trigger = create(
        &mut crm,
        &token,
        webhook_trigger("inbound", &receiver.url(), ""),
        "delete-trigger-1",
    )
    .await
    .expect("CreateTrigger")
    .trigger
    .unwrap();
    sent(
        &mut messages,
        &token,
        text_request(&id, bob.user_id, "we are on it", "delete-send-1"),
    )
    .await;
    c.send_as(&bob, &id, "thanks!").await;
    receiver.wait_for(1).await;
    eventually("the delivery is recorded", async || {
        !deliveries(&mut crm, &token, &trigger.trigger_id)
            .await
            .is_empty()
    })
    .await;
    for table in [
        "chats",
        "messages",
        "crm_links",
        "outbox",
        "events",
        "webhook_deliveries",
    ] {
        assert!(rows(&server, table, &id).await > 0, "{table} holds rows");
    }

    c.accounts
        .delete_account(authed(
            pb::DeleteAccountRequest {
                account_id: id.clone(),
            },
            &token,
        ))
        .await
        .expect("DeleteAccount");
    for table in [
        "chats",
        "messages",
        "crm_links",
        "outbox",
        "events",
        "webhook_deliveries",
        "contacts",
        "media",
    ] {
        assert_eq!(rows(&server, table, &id).await, 0, "{table} keeps rows");
    }
    assert!(
        deliveries(&mut crm, &token, &trigger.trigger_id)
            .await
            .is_empty()
    );
    let links = crm
        .list_links(authed(
            pb::ListLinksRequest {
                filter: Some(pb::list_links_request::Filter::Entity(deal("D-1"))),
                ..Default::default()
            },
            &token,
        ))
        .await
        .unwrap()
        .into_inner()
        .links;
    assert!(links.is_empty(), "{links:?}");
    // The log outlives the account: what was done to it, and its deletion.
    let log = entries(
        &mut audit,
        &token,
        pb::ListAuditEntriesRequest {
            account_id: id.clone(),
            ..Default::default()
        },
    )
    .await;
    let actions: Vec<_> = log.iter().map(|e| e.action()).collect();
    assert_eq!(
        actions,
        [
            pb::AuditAction::AccountDeleted,
            pb::AuditAction::MessageSent,
            pb::AuditAction::ChatLinked,
            pb::AuditAction::LoggedIn,
            pb::AuditAction::LoginStarted,
        ]
    );
    assert_eq!(log[0].principal, "user-1");
    server.stop().await;
}

async fn preferences(
    prefs: &mut PreferenceServiceClient<Channel>,
    request: tonic::Request<pb::GetPreferencesRequest>,
) -> pb::Preferences {
    prefs
        .get_preferences(request)
        .await
        .expect("GetPreferences")
        .into_inner()
        .preferences
        .unwrap()
}

fn update(preferences: pb::Preferences, paths: &[&str]) -> pb::UpdatePreferencesRequest {
    pb::UpdatePreferencesRequest {
        preferences: Some(preferences),
        update_mask: Some(prost_types::FieldMask {
            paths: paths.iter().map(|p| p.to_string()).collect(),
        }),
    }
}

#[tokio::test]
async fn preferences_are_each_callers_own_and_a_signature_ends_what_it_sends() {
    let Scene {
        server,
        ann,
        bob,
        id,
        mut messages,
        token,
        ..
    } = Scene::start("99966142", "hello", quick_pacing).await;
    let mut prefs = PreferenceServiceClient::new(server.channel().await);
    let fresh = preferences(&mut prefs, authed(pb::GetPreferencesRequest {}, &token)).await;
    assert_eq!(fresh, pb::Preferences::default(), "defaults, never set");

    let set = prefs
        .update_preferences(authed(
            update(
                pb::Preferences {
                    default_account_id: id.clone(),
                    signature: "— Ann, Acme support".into(),
                    notify_event_kinds: vec![pb::EventKind::MessageCreated as i32],
                    ..Default::default()
                },
                &["default_account_id", "signature", "notify_event_kinds"],
            ),
            &token,
        ))
        .await
        .expect("UpdatePreferences")
        .into_inner()
        .preferences
        .unwrap();
    assert_eq!(set.default_account_id, id);
    assert_eq!(set.signature, "— Ann, Acme support");
    assert!(set.update_time.is_some());
    // A read after the write sees it (the first read was cached).
    assert_eq!(
        preferences(&mut prefs, authed(pb::GetPreferencesRequest {}, &token)).await,
        set
    );
    // Another user, an API key and another tenant have their own.
    for other in [
        authed(pb::GetPreferencesRequest {}, &token_of(&server, "agent-9")),
        with_api_key(
            pb::GetPreferencesRequest {},
            &server.api_key(TENANT, vec![Scope::MessagesWrite]).await,
        ),
        authed(pb::GetPreferencesRequest {}, &server.token("globex")),
    ] {
        assert_eq!(
            preferences(&mut prefs, other).await,
            pb::Preferences::default()
        );
    }

    // The signature ends what the user sends, as Telegram keeps it.
    let signed = sent(
        &mut messages,
        &token,
        text_request(&id, bob.user_id, "your refund is approved", "sig-send-1"),
    )
    .await;
    assert_eq!(
        signed.text,
        "your refund is approved\n\n— Ann, Acme support"
    );
    let bob_view = bob_side(server.sandbox(), bob.user_id, ann.user_id).await;
    assert_eq!(
        bob_view.messages[0].text,
        "your refund is approved\n\n— Ann, Acme support"
    );
    // A retry after the signature changed is the same send.
    prefs
        .update_preferences(authed(
            update(
                pb::Preferences {
                    signature: "— Ann".into(),
                    ..Default::default()
                },
                &["signature"],
            ),
            &token,
        ))
        .await
        .unwrap();
    let retried = send(
        &mut messages,
        &token,
        text_request(&id, bob.user_id, "your refund is approved", "sig-send-1"),
    )
    .await
    .expect("the retry");
    assert_eq!(retried.message_id, signed.message_id);
    // A text that fits alone but not with the signature is refused, and
    // nothing is sent.
    let count = bob_side(server.sandbox(), bob.user_id, ann.user_id)
        .await
        .count;
    let err = send(
        &mut messages,
        &token,
        text_request(&id, bob.user_id, &"x".repeat(4094), "sig-send-long"),
    )
    .await
    .unwrap_err();
    assert_eq!(fields(&err), ["text"]);
    let why = err.get_details_bad_request().unwrap().field_violations[0]
        .description
        .clone();
    assert!(why.contains("signature"), "{why}");
    assert_eq!(
        bob_side(server.sandbox(), bob.user_id, ann.user_id)
            .await
            .count,
        count
    );

    // Bad changes name every bad field and write nothing.
    let err = prefs
        .update_preferences(authed(
            update(
                pb::Preferences {
                    default_account_id: "nope".into(),
                    signature: "s".repeat(257),
                    notify_event_kinds: vec![pb::EventKind::Unspecified as i32],
                    ..Default::default()
                },
                &[
                    "default_account_id",
                    "signature",
                    "notify_event_kinds",
                    "theme",
                ],
            ),
            &token,
        ))
        .await
        .unwrap_err();
    assert_eq!(
        fields(&err),
        [
            "preferences.default_account_id",
            "preferences.signature",
            "preferences.notify_event_kinds[0]",
            "update_mask"
        ]
    );
    let err = prefs
        .update_preferences(authed(update(pb::Preferences::default(), &[]), &token))
        .await
        .unwrap_err();
    assert_eq!(fields(&err), ["update_mask"]);
    // Another tenant's account is not one to default to.
    let err = prefs
        .update_preferences(authed(
            update(
                pb::Preferences {
                    default_account_id: id.clone(),
                    ..Default::default()
                },
                &["default_account_id"],
            ),
            &server.token("globex"),
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    let now = preferences(&mut prefs, authed(pb::GetPreferencesRequest {}, &token)).await;
    assert_eq!(now.signature, "— Ann");
    assert_eq!(now.default_account_id, id);

    // Racing changes of different fields both land.
    for round in 0..10 {
        let signature = format!("— round {round}");
        let kinds = vec![pb::EventKind::MessageCreated as i32 + (round % 3)];
        let (mut a, mut b) = (prefs.clone(), prefs.clone());
        let (first, second) = tokio::join!(
            a.update_preferences(authed(
                update(
                    pb::Preferences {
                        signature: signature.clone(),
                        ..Default::default()
                    },
                    &["signature"],
                ),
                &token,
            )),
            b.update_preferences(authed(
                update(
                    pb::Preferences {
                        notify_event_kinds: kinds.clone(),
                        ..Default::default()
                    },
                    &["notify_event_kinds"],
                ),
                &token,
            )),
        );
        first.unwrap();
        second.unwrap();
        let now = preferences(&mut prefs, authed(pb::GetPreferencesRequest {}, &token)).await;
        assert_eq!(
            (now.signature.as_str(), now.notify_event_kinds.clone()),
            (signature.as_str(), kinds),
            "round {round}"
        );
        assert_eq!(now.default_account_id, id, "round {round}");
    }
    server.stop().await;
}
