//! CRM triggers through the real server: a sandbox user's message fires a
//! trigger whose webhook a receiver verifies with the PyPI
//! `standardwebhooks` package (`webhook_receiver.py`), retried with the same
//! webhook-id until it is taken, replayed on request, disabled by 410,
//! delivered after a killed gateway restarts (none twice); private targets
//! are refused; secrets rotate with an overlap; conditions narrow what
//! fires; other tenants see none of it.

use std::process::Stdio;
use std::time::Duration;

use serde_json::{Value, json};
use tezgram_sandbox::RemoteLink;
use tezgram_sdk::v1 as pb;
use tezgram_sdk::v1::crm_service_client::CrmServiceClient;
use tokio::io::{AsyncBufReadExt, BufReader};
use tonic::Code;
use tonic::transport::Channel;

use crate::clients::{Clients, eventually};
use crate::db::TestDb;
use crate::fanout::process_env;
use crate::sandbox_shared::{ADMIN_TOKEN, Sandbox};
use crate::sending::{Gateway, Scene, chat_with, fields};
use crate::server::{TestServer, authed};
use crate::updates::{events, quick, quiet, subscribe_on};

/// Receiver is `webhook_receiver.py`: an HTTP server that verifies what it
/// receives with the `standardwebhooks` package and answers as told.
pub(crate) struct Receiver {
    _child: tokio::process::Child,
    addr: std::net::SocketAddr,
}

fn python() -> String {
    std::env::var("TEZGRAM_TEST_PYTHON").unwrap_or_else(|_| {
        let home = std::env::var("HOME").unwrap_or_default();
        let venv = format!("{home}/.cache/tezgram/s3-venv/bin/python");
        assert!(
            std::path::Path::new(&venv).exists(),
            "the webhook tests need the standardwebhooks package: run scripts/services.sh start"
        );
        venv
    })
}

impl Receiver {
    pub(crate) async fn start() -> Receiver {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/it/webhook_receiver.py");
        let mut child = tokio::process::Command::new(python())
            .arg(script)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("start the webhook receiver");
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
            .await
            .expect("the receiver starts within 30 s")
            .unwrap()
            .expect("the receiver prints its port");
        let port: u16 = line.strip_prefix("PORT ").unwrap().parse().unwrap();
        Receiver {
            _child: child,
            addr: ([127, 0, 0, 1], port).into(),
        }
    }

    pub(crate) fn url(&self) -> String {
        format!("http://{}/hook", self.addr)
    }

    async fn control(&self, control: Value) {
        let body = control.to_string();
        let head = format!(
            "POST /_control HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
            body.len()
        );
        let (head, _) = crate::api::http1(self.addr, &head, body.as_bytes()).await;
        assert!(head.contains(" 200 "), "{head}");
    }

    async fn requests(&self) -> Vec<Value> {
        let (_, body) = crate::api::http1(
            self.addr,
            "GET /_requests HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
            b"",
        )
        .await;
        serde_json::from_slice(&body).unwrap()
    }

    /// wait_for waits until `count` requests arrived; they are returned.
    pub(crate) async fn wait_for(&self, count: usize) -> Vec<Value> {
        eventually(&format!("{count} webhook requests arrive"), async || {
            self.requests().await.len() >= count
        })
        .await;
        self.requests().await
    }
}

pub(crate) fn webhook_trigger(name: &str, url: &str, secret: &str) -> pb::Trigger {
    pb::Trigger {
        name: name.into(),
        event_kinds: vec![pb::EventKind::MessageCreated as i32],
        conditions: Some(pb::TriggerConditions {
            direction: pb::MessageDirection::Incoming as i32,
            ..Default::default()
        }),
        action: Some(pb::trigger::Action::Webhook(pb::WebhookAction {
            url: url.into(),
            secret: secret.into(),
        })),
        enabled: true,
        ..Default::default()
    }
}

pub(crate) async fn create(
    crm: &mut CrmServiceClient<Channel>,
    token: &str,
    trigger: pb::Trigger,
    request_id: &str,
) -> Result<pb::CreateTriggerResponse, tonic::Status> {
    crm.create_trigger(authed(
        pb::CreateTriggerRequest {
            trigger: Some(trigger),
            request_id: request_id.into(),
        },
        token,
    ))
    .await
    .map(|r| r.into_inner())
}

pub(crate) async fn deliveries(
    crm: &mut CrmServiceClient<Channel>,
    token: &str,
    trigger_id: &str,
) -> Vec<pb::WebhookDelivery> {
    crm.list_deliveries(authed(
        pb::ListDeliveriesRequest {
            trigger_id: trigger_id.into(),
            ..Default::default()
        },
        token,
    ))
    .await
    .expect("ListDeliveries")
    .into_inner()
    .deliveries
}

/// settled waits until the trigger's deliveries are `count` and none is
/// still pending or retrying.
async fn settled(
    crm: &mut CrmServiceClient<Channel>,
    token: &str,
    trigger_id: &str,
    count: usize,
) -> Vec<pb::WebhookDelivery> {
    eventually("the deliveries settle", async || {
        let found = deliveries(crm, token, trigger_id).await;
        found.len() == count
            && found.iter().all(|d| {
                d.status == pb::DeliveryStatus::Succeeded as i32
                    || d.status == pb::DeliveryStatus::Failed as i32
            })
    })
    .await;
    deliveries(crm, token, trigger_id).await
}

fn quick_retries(config: &mut tezgram::config::Config) {
    quick(config);
    config.webhooks.first_retry_seconds = 1;
    config.webhooks.max_retry_seconds = 2;
    config.webhooks.poll_interval_ms = 100;
}

#[tokio::test]
async fn a_customer_message_fires_a_webhook_that_verifies_with_an_independent_library() {
    let receiver = Receiver::start().await;
    let scene = Scene::start("99966281", "hi", quick_retries).await;
    let Scene {
        server,
        mut c,
        bob,
        id,
        token,
        ..
    } = scene;
    let mut crm = CrmServiceClient::new(server.channel().await);
    let only_fired = pb::SubscribeRequest {
        kinds: vec![pb::EventKind::TriggerFired as i32],
        ..Default::default()
    };
    let mut stream = subscribe_on(server.channel().await, &token, only_fired)
        .await
        .unwrap();

    // Without a secret, the gateway makes one and shows it this once.
    let mut invoices = webhook_trigger("invoice questions", &receiver.url(), "");
    invoices.conditions.as_mut().unwrap().text_contains = "invoice".into();
    let created = create(&mut crm, &token, invoices.clone(), "t-1")
        .await
        .unwrap();
    let secret = created.webhook_secret.clone();
    assert!(secret.starts_with("whsec_"), "{secret}");
    let trigger = created.trigger.unwrap();
    let Some(pb::trigger::Action::Webhook(shown)) = &trigger.action else {
        panic!("a webhook trigger: {trigger:?}");
    };
    assert!(shown.secret.is_empty(), "secrets are write-only");
    // A retry answers the same trigger, and no secret.
    let again = create(&mut crm, &token, invoices.clone(), "t-1")
        .await
        .unwrap();
    assert_eq!(
        again.trigger.as_ref().unwrap().trigger_id,
        trigger.trigger_id
    );
    assert!(again.webhook_secret.is_empty());
    receiver.control(json!({"secrets": [secret]})).await;

    c.send_as(&bob, &id, "hello there").await;
    let question = c.send_as(&bob, &id, "where is my INVOICE?").await;
    let got = receiver.wait_for(1).await;
    let request = &got[0];
    assert_eq!(request["verified_with"], 0, "{request}");
    assert_eq!(request["content_type"], "application/json");
    let body: Value = serde_json::from_str(request["body"].as_str().unwrap()).unwrap();
    let fired = &body["triggerFired"];
    assert_eq!(fired["triggerId"], trigger.trigger_id.as_str());
    assert_eq!(fired["triggerName"], "invoice questions");
    let message = &fired["event"]["messageCreated"]["message"];
    assert_eq!(message["text"], "where is my INVOICE?");
    assert_eq!(
        message["messageId"],
        question.message_id.to_string(),
        "int64 as a string"
    );

    // The stream has the same trigger_fired event, once.
    let seen = events(&mut stream, 1).await;
    assert_eq!(seen[0].cursor, body["cursor"].as_str().unwrap());
    let delivered = settled(&mut crm, &token, &trigger.trigger_id, 1).await;
    assert_eq!(delivered[0].status, pb::DeliveryStatus::Succeeded as i32);
    assert_eq!(delivered[0].attempts, 1);
    assert_eq!(delivered[0].delivery_id, request["id"].as_str().unwrap());
    assert_eq!(delivered[0].event_cursor, seen[0].cursor);
    assert_eq!(delivered[0].response_code, 200);
    // "hello there" matched nothing.
    quiet(&mut stream).await;
    assert_eq!(receiver.requests().await.len(), 1);

    // Another tenant sees none of it.
    let other = server.token("globex");
    let err = crm
        .get_trigger(authed(
            pb::GetTriggerRequest {
                trigger_id: trigger.trigger_id.clone(),
            },
            &other,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound, "{err:?}");
    let listed = crm
        .list_triggers(authed(pb::ListTriggersRequest::default(), &other))
        .await
        .unwrap()
        .into_inner();
    assert!(listed.triggers.is_empty());
    let err = crm
        .list_deliveries(authed(
            pb::ListDeliveriesRequest {
                trigger_id: trigger.trigger_id.clone(),
                ..Default::default()
            },
            &other,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound, "{err:?}");
    let mut foreign_stream = subscribe_on(
        server.channel().await,
        &other,
        pb::SubscribeRequest {
            cursor: String::new(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    c.send_as(&bob, &id, "one more invoice, please").await;
    receiver.wait_for(2).await;
    quiet(&mut foreign_stream).await;
    server.stop().await;
}

#[tokio::test]
async fn a_failing_receiver_gets_the_event_again_with_the_same_webhook_id() {
    let receiver = Receiver::start().await;
    let scene = Scene::start("99966282", "hi", quick_retries).await;
    let Scene {
        server,
        mut c,
        bob,
        id,
        token,
        ..
    } = scene;
    let mut crm = CrmServiceClient::new(server.channel().await);
    let secret = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
    let trigger = create(
        &mut crm,
        &token,
        webhook_trigger("everything", &receiver.url(), secret),
        "t-1",
    )
    .await
    .unwrap()
    .trigger
    .unwrap();
    assert!(
        create(
            &mut crm,
            &token,
            webhook_trigger("everything", &receiver.url(), secret),
            "t-1"
        )
        .await
        .unwrap()
        .webhook_secret
        .is_empty(),
        "a secret given is never echoed"
    );
    receiver
        .control(json!({"secrets": [secret], "statuses": [500, 500, 500], "default": 200}))
        .await;
    c.send_as(&bob, &id, "are you there?").await;

    let got = receiver.wait_for(4).await;
    let ids: Vec<_> = got.iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert!(ids.iter().all(|i| *i == ids[0]), "one webhook-id: {ids:?}");
    assert!(got.iter().all(|r| r["verified_with"] == 0), "{got:?}");
    let bodies: Vec<_> = got.iter().map(|r| r["body"].as_str().unwrap()).collect();
    assert!(
        bodies.iter().all(|b| *b == bodies[0]),
        "the same bytes every time"
    );
    let delivery = settled(&mut crm, &token, &trigger.trigger_id, 1)
        .await
        .remove(0);
    assert_eq!(delivery.status, pb::DeliveryStatus::Succeeded as i32);
    assert_eq!(delivery.attempts, 4);
    let codes: Vec<_> = delivery
        .attempt_log
        .iter()
        .map(|a| a.response_code)
        .collect();
    assert_eq!(codes, [500, 500, 500, 200]);
    assert_eq!(delivery.attempt_log[0].error, "HTTP 500");
    assert!(delivery.last_error.is_empty());

    // A replay sends it again, same id, same body.
    let replayed = crm
        .redeliver_webhook(authed(
            pb::RedeliverWebhookRequest {
                trigger_id: trigger.trigger_id.clone(),
                delivery_id: delivery.delivery_id.clone(),
            },
            &token,
        ))
        .await
        .unwrap()
        .into_inner()
        .delivery
        .unwrap();
    assert_eq!(replayed.delivery_id, delivery.delivery_id);
    let got = receiver.wait_for(5).await;
    assert_eq!(got[4]["id"], ids[0]);
    assert_eq!(got[4]["body"], bodies[0]);
    eventually("the replay is recorded", async || {
        deliveries(&mut crm, &token, &trigger.trigger_id).await[0].attempts == 5
    })
    .await;
    let err = crm
        .redeliver_webhook(authed(
            pb::RedeliverWebhookRequest {
                trigger_id: trigger.trigger_id.clone(),
                delivery_id: uuid::Uuid::now_v7().to_string(),
            },
            &token,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound, "{err:?}");
    server.stop().await;
}

#[tokio::test]
async fn a_gone_endpoint_disables_its_trigger() {
    let receiver = Receiver::start().await;
    let scene = Scene::start("99966283", "hi", quick_retries).await;
    let Scene {
        server,
        mut c,
        bob,
        id,
        token,
        ..
    } = scene;
    let mut crm = CrmServiceClient::new(server.channel().await);
    let trigger = create(
        &mut crm,
        &token,
        webhook_trigger("gone", &receiver.url(), ""),
        "t-1",
    )
    .await
    .unwrap()
    .trigger
    .unwrap();
    receiver
        .control(json!({"statuses": [410], "default": 200}))
        .await;
    c.send_as(&bob, &id, "hello?").await;
    let delivery = settled(&mut crm, &token, &trigger.trigger_id, 1)
        .await
        .remove(0);
    assert_eq!(delivery.status, pb::DeliveryStatus::Failed as i32);
    assert_eq!(delivery.attempts, 1);
    assert_eq!(delivery.response_code, 410);
    let now = crm
        .get_trigger(authed(
            pb::GetTriggerRequest {
                trigger_id: trigger.trigger_id.clone(),
            },
            &token,
        ))
        .await
        .unwrap()
        .into_inner()
        .trigger
        .unwrap();
    assert!(!now.enabled);
    assert!(
        now.disabled_reason.contains("410"),
        "{}",
        now.disabled_reason
    );
    // Disabled, it fires no more.
    c.send_as(&bob, &id, "anyone?").await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        deliveries(&mut crm, &token, &trigger.trigger_id)
            .await
            .len(),
        1
    );
    assert_eq!(receiver.requests().await.len(), 1);
    // Enabled again, the reason goes.
    let enabled = crm
        .update_trigger(authed(
            pb::UpdateTriggerRequest {
                trigger: Some(pb::Trigger {
                    trigger_id: trigger.trigger_id.clone(),
                    enabled: true,
                    ..Default::default()
                }),
                update_mask: Some(prost_types::FieldMask {
                    paths: vec!["enabled".into()],
                }),
            },
            &token,
        ))
        .await
        .unwrap()
        .into_inner()
        .trigger
        .unwrap();
    assert!(enabled.enabled && enabled.disabled_reason.is_empty());
    server.stop().await;
}

#[tokio::test]
async fn bad_triggers_and_private_targets_are_refused_and_write_nothing() {
    let server = TestServer::start_with(|config| {
        quick_retries(config);
        config.webhooks.allow_private_targets = Some(false);
    })
    .await;
    let token = server.token("acme");
    let mut crm = CrmServiceClient::new(server.channel().await);
    let good = || webhook_trigger("ok", "https://crm.example.com/hooks/telegram", "");
    let with_url = |url: &str| webhook_trigger("x", url, "");
    let cases: Vec<(pb::Trigger, &str)> = vec![
        (with_url("https://127.0.0.1/hook"), "trigger.webhook.url"),
        (with_url("https://10.0.0.7/hook"), "trigger.webhook.url"),
        (
            with_url("https://169.254.169.254/latest/meta-data"),
            "trigger.webhook.url",
        ),
        (with_url("https://[::1]:8443/hook"), "trigger.webhook.url"),
        (with_url("https://localhost/hook"), "trigger.webhook.url"),
        (
            with_url("http://crm.example.com/hook"),
            "trigger.webhook.url",
        ),
        (
            webhook_trigger("x", "https://crm.example.com/h", "not-a-secret"),
            "trigger.webhook.secret",
        ),
        (
            pb::Trigger {
                name: String::new(),
                ..good()
            },
            "trigger.name",
        ),
        (
            pb::Trigger {
                event_kinds: vec![pb::EventKind::TriggerFired as i32],
                ..good()
            },
            "trigger.event_kinds[0]",
        ),
        (
            pb::Trigger {
                event_kinds: vec![],
                ..good()
            },
            "trigger.event_kinds",
        ),
        (
            pb::Trigger {
                action: None,
                ..good()
            },
            "trigger.action",
        ),
        (
            pb::Trigger {
                conditions: Some(pb::TriggerConditions {
                    text_regex: "(?<=x)y".into(),
                    ..Default::default()
                }),
                ..good()
            },
            "trigger.conditions.text_regex",
        ),
        (
            pb::Trigger {
                conditions: Some(pb::TriggerConditions {
                    text_regex: r"\w{1000}\w{1000}\w{1000}".into(),
                    ..Default::default()
                }),
                ..good()
            },
            "trigger.conditions.text_regex",
        ),
    ];
    for (trigger, field) in cases {
        let err = create(&mut crm, &token, trigger, "r-1").await.unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument, "{field}: {err:?}");
        assert_eq!(fields(&err), [field]);
    }
    let err = create(&mut crm, &token, good(), "").await.unwrap_err();
    assert_eq!(fields(&err), ["request_id"]);
    // A key that may only read CRM data cannot create a trigger.
    let reader = server
        .api_key("acme", vec![tezgram::domain::Scope::CrmRead])
        .await;
    let err = crm
        .create_trigger(crate::server::with_api_key(
            pb::CreateTriggerRequest {
                trigger: Some(good()),
                request_id: "r-3".into(),
            },
            &reader,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied, "{err:?}");
    let listed = crm
        .list_triggers(authed(pb::ListTriggersRequest::default(), &token))
        .await
        .unwrap()
        .into_inner();
    assert!(listed.triggers.is_empty(), "nothing was written");

    // A public-looking name that resolves to loopback is refused when the
    // delivery is attempted, after DNS resolution.
    let hosts = std::fs::read_to_string("/etc/hosts").unwrap_or_default();
    let alias = hosts.lines().find_map(|line| {
        let mut words = line.split_whitespace();
        let ip: std::net::IpAddr = words.next()?.parse().ok()?;
        let name = words.find(|n| !n.contains("localhost") && !n.ends_with(".local"))?;
        (ip.is_loopback() && !line.starts_with('#')).then(|| name.to_owned())
    });
    let alias = alias.expect("/etc/hosts names this machine on loopback");
    let trigger = create(
        &mut crm,
        &token,
        pb::Trigger {
            event_kinds: vec![pb::EventKind::ChatLinked as i32],
            conditions: None,
            ..webhook_trigger("rebinding", &format!("https://{alias}:1/hook"), "")
        },
        "r-2",
    )
    .await
    .expect("the name is not refused as written")
    .trigger
    .unwrap();
    // A link is an event the trigger matches; it needs a chat, which this
    // test has none of: any chat-less kind would do, so fire it by hand
    // through the store's log.
    let store = server.store().await;
    tezgram::domain::ports::EventLog::append(
        &store,
        &[tezgram::domain::event::NewEvent {
            tenant: tezgram::domain::TenantId::parse("acme").unwrap(),
            account: None,
            payload: tezgram::domain::event::EventPayload::ChatLinked {
                chat_id: 1,
                entity: tezgram::domain::crm::LinkedEntity {
                    entity: tezgram::domain::crm::Entity::new(
                        tezgram::domain::crm::EntityType::Deal,
                        "D-1",
                    )
                    .unwrap(),
                    linked_at: chrono::Utc::now(),
                },
                previous_chat_id: None,
            },
        }],
    )
    .await
    .unwrap();
    eventually("the attempt is refused", async || {
        deliveries(&mut crm, &token, &trigger.trigger_id)
            .await
            .first()
            .is_some_and(|d| d.attempts >= 1 && d.last_error.contains("resolves to"))
    })
    .await;
    let delivery = deliveries(&mut crm, &token, &trigger.trigger_id)
        .await
        .remove(0);
    assert_eq!(delivery.response_code, 0);
    assert_eq!(delivery.status, pb::DeliveryStatus::Retrying as i32);
    server.stop().await;
}

#[tokio::test]
async fn a_rotated_secret_signs_beside_the_new_one_until_the_overlap_ends() {
    let receiver = Receiver::start().await;
    let scene = Scene::start("99966284", "hi", quick_retries).await;
    let Scene {
        server,
        mut c,
        bob,
        id,
        token,
        ..
    } = scene;
    let mut crm = CrmServiceClient::new(server.channel().await);
    let created = create(
        &mut crm,
        &token,
        webhook_trigger("rotating", &receiver.url(), ""),
        "t-1",
    )
    .await
    .unwrap();
    let old = created.webhook_secret;
    let trigger_id = created.trigger.unwrap().trigger_id;
    let rotate = |secret: &str, paths: &[&str]| pb::UpdateTriggerRequest {
        trigger: Some(pb::Trigger {
            trigger_id: trigger_id.clone(),
            action: Some(pb::trigger::Action::Webhook(pb::WebhookAction {
                url: receiver.url(),
                secret: secret.into(),
            })),
            ..Default::default()
        }),
        update_mask: Some(prost_types::FieldMask {
            paths: paths.iter().map(|p| p.to_string()).collect(),
        }),
    };
    let err = crm
        .update_trigger(authed(rotate("", &["webhook.colour"]), &token))
        .await
        .unwrap_err();
    assert_eq!(fields(&err), ["update_mask"]);
    let rotated = crm
        .update_trigger(authed(rotate("", &["webhook.secret"]), &token))
        .await
        .unwrap()
        .into_inner();
    let new = rotated.webhook_secret;
    assert!(new.starts_with("whsec_") && new != old);

    // A receiver that knows only the old secret still verifies, and one
    // that knows only the new one does too.
    receiver.control(json!({"secrets": [old]})).await;
    c.send_as(&bob, &id, "first").await;
    let got = receiver.wait_for(1).await;
    assert_eq!(got[0]["verified_with"], 0, "{:?}", got[0]);
    assert_eq!(got[0]["signature"].as_str().unwrap().split(' ').count(), 2);
    receiver.control(json!({"secrets": [new]})).await;
    c.send_as(&bob, &id, "second").await;
    let got = receiver.wait_for(2).await;
    assert_eq!(got[1]["verified_with"], 0, "{:?}", got[1]);
    server.stop().await;
}

#[tokio::test]
async fn conditions_fire_on_a_new_customers_first_message_only() {
    let scene = Scene::start("99966285", "hi", quick_retries).await;
    let Scene {
        server,
        mut c,
        id,
        mut chats,
        token,
        ..
    } = scene;
    let mut crm = CrmServiceClient::new(server.channel().await);
    let first_contact = pb::Trigger {
        name: "new customer".into(),
        event_kinds: vec![pb::EventKind::MessageCreated as i32],
        conditions: Some(pb::TriggerConditions {
            first_message_from_unlinked_chat: true,
            chat_types: vec![pb::ChatType::Private as i32],
            ..Default::default()
        }),
        action: Some(pb::trigger::Action::Stream(pb::StreamAction {})),
        enabled: true,
        ..Default::default()
    };
    create(&mut crm, &token, first_contact, "t-1")
        .await
        .unwrap();
    let mut stream = subscribe_on(
        server.channel().await,
        &token,
        pb::SubscribeRequest {
            kinds: vec![pb::EventKind::TriggerFired as i32],
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let carol = c.sandbox_user("9996628503", "Carol", "").await;
    c.send_as(&carol, &id, "hello, I am new here").await;
    chat_with(&mut chats, &token, &id, carol.user_id).await;
    c.send_as(&carol, &id, "and again").await;
    let dan = c.sandbox_user("9996628504", "Dan", "").await;
    c.send_as(&dan, &id, "hi from Dan").await;
    let fired = events(&mut stream, 2).await;
    let texts: Vec<_> = fired
        .iter()
        .map(|e| match e.payload.as_ref().unwrap() {
            pb::event::Payload::TriggerFired(f) => match f.event.as_ref().unwrap().payload.as_ref()
            {
                Some(pb::event::Payload::MessageCreated(m)) => {
                    m.message.as_ref().unwrap().text.clone()
                }
                other => panic!("{other:?}"),
            },
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(texts, ["hello, I am new here", "hi from Dan"]);
    quiet(&mut stream).await;
    server.stop().await;
}

#[tokio::test]
async fn deliveries_pending_when_the_gateway_is_killed_go_out_after_restart_none_twice() {
    const MESSAGES: usize = 3;
    let receiver = Receiver::start().await;
    let sandbox = Sandbox::start().await;
    let _link = RemoteLink::connect(&sandbox.url(), ADMIN_TOKEN)
        .await
        .expect("the sandbox's admin api");
    let db = TestDb::fresh().await;
    let prefix = format!("tezgram-test-{}:", uuid::Uuid::new_v4().simple());
    let (mut env, _data_dir) = process_env(&db.url, &prefix, &sandbox);
    env.extend([
        ("TEZGRAM_WEBHOOKS__FIRST_RETRY_SECONDS".into(), "1".into()),
        ("TEZGRAM_WEBHOOKS__MAX_RETRY_SECONDS".into(), "1".into()),
        ("TEZGRAM_WEBHOOKS__POLL_INTERVAL_MS".into(), "100".into()),
    ]);
    let token = Gateway::token();
    let gateway = Gateway::start(&env).await;
    let channel = gateway.channel().await;
    let mut c = Clients::on(channel.clone(), token.clone());
    let ann = c.sandbox_user("9996628601", "Ann", "").await;
    let bob = c.sandbox_user("9996628602", "Bob", "").await;
    let id = c.login_user(&ann).await.account_id;
    let mut crm = CrmServiceClient::new(channel.clone());
    let created = create(
        &mut crm,
        &token,
        webhook_trigger("all", &receiver.url(), ""),
        "t-1",
    )
    .await
    .unwrap();
    let trigger_id = created.trigger.unwrap().trigger_id;
    // The receiver is down (503) while the messages fire.
    receiver
        .control(json!({"secrets": [created.webhook_secret], "default": 503}))
        .await;
    for i in 0..MESSAGES {
        c.send_as(&bob, &id, &format!("message {i}")).await;
    }
    eventually("every message fired and was tried", async || {
        let found = deliveries(&mut crm, &token, &trigger_id).await;
        found.len() == MESSAGES && found.iter().all(|d| d.attempts >= 1)
    })
    .await;
    gateway.kill().await;
    receiver.control(json!({"default": 200})).await;

    let restarted = Gateway::start(&env).await;
    let mut crm = CrmServiceClient::new(restarted.channel().await);
    let delivered = settled(&mut crm, &token, &trigger_id, MESSAGES).await;
    assert!(
        delivered
            .iter()
            .all(|d| d.status == pb::DeliveryStatus::Succeeded as i32),
        "{delivered:?}"
    );
    // Let anything that would go out twice do so before counting.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let got = receiver.requests().await;
    let mut taken: Vec<&str> = got
        .iter()
        .filter(|r| r["status"] == 200)
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    taken.sort();
    let mut unique = taken.clone();
    unique.dedup();
    assert_eq!(taken.len(), MESSAGES, "each delivered once: {taken:?}");
    assert_eq!(unique.len(), MESSAGES);
    assert!(got.iter().all(|r| r["verified_with"] == 0));
    // Each message fired once: three deliveries, three events.
    assert_eq!(delivered.len(), MESSAGES);
    restarted.kill().await;
    db.cleanup().await;
}

#[tokio::test]
async fn racing_evaluators_record_a_stretch_of_the_log_once() {
    use tezgram::domain::event::{EventKind, EventPayload, NewEvent};
    use tezgram::domain::ports::{EventLog, StoreError, TriggerStore};
    use tezgram::domain::trigger::Firing;
    // The store alone: a gateway's own evaluator would race the racers.
    let db = TestDb::fresh().await;
    let store = tezgram::storage::Store::connect(&db.url).await.unwrap();
    store.migrate().await.unwrap();
    let tenant = tezgram::domain::TenantId::parse("acme").unwrap();
    let from = store.trigger_progress().await.unwrap();
    store
        .append(&[NewEvent {
            tenant: tenant.clone(),
            account: None,
            payload: EventPayload::ChatUnlinked {
                chat_id: 7,
                entity: tezgram::domain::crm::LinkedEntity {
                    entity: tezgram::domain::crm::Entity::new(
                        tezgram::domain::crm::EntityType::Lead,
                        "L-1",
                    )
                    .unwrap(),
                    linked_at: chrono::Utc::now(),
                },
            },
        }])
        .await
        .unwrap();
    let read = store.events_after_all(from, 10).await.unwrap();
    let to = read.last().unwrap().position;
    let firing = Firing {
        trigger_id: uuid::Uuid::now_v7().to_string(),
        trigger_name: "racing".into(),
        tenant: tenant.clone(),
        event: read[0].clone(),
        delivery: None,
    };
    let racers = (0..8).map(|_| {
        let (store, firing) = (store.clone(), firing.clone());
        async move {
            store
                .record_firings(from, to, &[firing], Duration::from_secs(60))
                .await
        }
    });
    let results = futures::future::join_all(racers).await;
    let won = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(won, 1, "{results:?}");
    assert!(
        results
            .iter()
            .all(|r| r.is_ok() || matches!(r, Err(StoreError::Conflict { .. })))
    );
    assert_eq!(store.trigger_progress().await.unwrap(), to);
    let fired = store
        .events_after(&tenant, to, 100)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.payload.kind() == EventKind::TriggerFired)
        .count();
    assert_eq!(fired, 1, "one trigger_fired event for the stretch");
    db.cleanup().await;
}

#[tokio::test]
async fn triggers_page_oldest_first_are_capped_per_tenant_and_delete_with_their_deliveries() {
    let server = TestServer::start().await;
    let token = server.token("acme");
    let mut crm = CrmServiceClient::new(server.channel().await);
    let stream = |name: String| pb::Trigger {
        name,
        event_kinds: vec![pb::EventKind::Read as i32],
        action: Some(pb::trigger::Action::Stream(pb::StreamAction {})),
        ..Default::default()
    };
    let mut ids = Vec::new();
    for i in 0..100 {
        let created = create(&mut crm, &token, stream(format!("t{i}")), &format!("r-{i}"))
            .await
            .unwrap();
        ids.push(created.trigger.unwrap().trigger_id);
    }
    let err = create(&mut crm, &token, stream("one too many".into()), "r-100")
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition, "{err:?}");
    assert_eq!(crate::clients::reason(&err), "TRIGGER_LIMIT");
    // Another tenant has its own cap.
    create(
        &mut crm,
        &server.token("globex"),
        stream("theirs".into()),
        "r-1",
    )
    .await
    .unwrap();

    let mut seen = Vec::new();
    let mut page_token = String::new();
    loop {
        let page = crm
            .list_triggers(authed(
                pb::ListTriggersRequest {
                    page_size: 30,
                    page_token: page_token.clone(),
                },
                &token,
            ))
            .await
            .unwrap()
            .into_inner();
        seen.extend(page.triggers.into_iter().map(|t| t.trigger_id));
        if page.next_page_token.is_empty() {
            break;
        }
        page_token = page.next_page_token;
    }
    assert_eq!(seen, ids, "every trigger once, oldest first");

    let delete = |id: &str| pb::DeleteTriggerRequest {
        trigger_id: id.into(),
    };
    crm.delete_trigger(authed(delete(&ids[0]), &token))
        .await
        .unwrap();
    let err = crm
        .delete_trigger(authed(delete(&ids[0]), &token))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    let err = crm
        .delete_trigger(authed(delete(&ids[1]), &server.token("globex")))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound, "another tenant's trigger");
    // Room for one again.
    create(&mut crm, &token, stream("replacement".into()), "r-101")
        .await
        .unwrap();
    server.stop().await;
}
