//! CrmService: links between chats and CRM records (LinkChat, UnlinkChat,
//! ListLinks, SuggestLinks), triggers (Create/Get/List/Update/Delete) and
//! their webhook deliveries (ListDeliveries, RedeliverWebhook); and the
//! webhook body, the proto3 JSON of a wire Event.

use tezgram_sdk::v1 as pb;
use tezgram_sdk::v1::crm_service_server::CrmService;
use tonic::{Request, Response, Status};

use super::account::account_id;
use super::chat::chat_id;
use super::convert::chat_kind;
use super::convert::{entity_type, timestamp};
use super::page::{self, Limits};
use super::update::{kind, kind_to_pb};
use super::{Violations, caller};
use crate::domain::chat::ChatKind;
use crate::domain::crm::{ChatLink, Entity, EntityContact, EntityType, LinkFilter, MatchReason};
use crate::domain::event::{Event, EventKind};
use crate::domain::login::RequestId;
use crate::domain::trigger::{
    Action, Attempt, Conditions, Delivery, DeliveryState, Direction, MAX_NAME, MAX_TEXT_CONTAINS,
    MAX_TEXT_REGEX, Trigger, WebhookSecret,
};
use crate::service::triggers::{ActionSpec, Change, TriggerSpec};
use crate::service::updates::encode_cursor;
use crate::service::{Crm, Triggers};

const LIST_LINKS: &str = "ListLinks";
const LIST_LINKS_LIMITS: Limits = Limits {
    default: 100,
    max: 1000,
};

const LIST_TRIGGERS: &str = "ListTriggers";
const LIST_TRIGGERS_LIMITS: Limits = Limits {
    default: 100,
    max: 100,
};
const LIST_DELIVERIES: &str = "ListDeliveries";
const LIST_DELIVERIES_LIMITS: Limits = Limits {
    default: 100,
    max: 1000,
};
const MAX_CONDITION_ACCOUNTS: usize = 100;
const MAX_CONDITION_CHATS: usize = 1000;

pub struct CrmApi {
    crm: Crm,
    triggers: Triggers,
}

impl CrmApi {
    pub fn new(crm: Crm, triggers: Triggers) -> Self {
        Self { crm, triggers }
    }
}

/// entity validates a wire CRM record at `field`.
fn entity(
    field: &str,
    value: Option<&pb::CrmEntity>,
    violations: &mut Violations,
) -> Option<Entity> {
    let Some(value) = value else {
        violations.add(field, "required: the CRM record's type and id");
        return None;
    };
    let Some(kind) = entity_type(value.r#type) else {
        violations.add(
            &format!("{field}.type"),
            "must be a known type, not UNSPECIFIED",
        );
        return None;
    };
    Entity::new(kind, &value.id)
        .map_err(|why| violations.add(&format!("{field}.id"), why.description))
        .ok()
}

fn link_to_pb(link: ChatLink) -> pb::ChatLink {
    pb::ChatLink {
        account_id: link.account.to_string(),
        chat_id: link.chat_id,
        entity: Some(pb::CrmEntity {
            r#type: pb::CrmEntityType::from(link.entity.kind).into(),
            id: link.entity.id,
        }),
        create_time: Some(timestamp(link.created_at)),
    }
}

fn reason_to_pb(reason: MatchReason) -> pb::MatchReason {
    match reason {
        MatchReason::PhoneNumber => pb::MatchReason::PhoneNumber,
        MatchReason::Username => pb::MatchReason::Username,
        MatchReason::Name => pb::MatchReason::Name,
    }
}

#[tonic::async_trait]
impl CrmService for CrmApi {
    async fn link_chat(
        &self,
        request: Request<pb::LinkChatRequest>,
    ) -> Result<Response<pb::LinkChatResponse>, Status> {
        let caller = caller(&request)?;
        let pb::LinkChatRequest {
            account_id: account,
            chat_id: chat,
            entity: wire_entity,
            request_id,
        } = request.get_ref();
        let mut violations = Violations::default();
        let account = violations.check(account_id("account_id", account));
        let chat = chat_id("chat_id", *chat, &mut violations);
        let entity = entity("entity", wire_entity.as_ref(), &mut violations);
        let request_id = RequestId::parse(request_id)
            .map_err(|why| violations.add("request_id", why))
            .ok();
        violations.finish()?;
        let link = self
            .crm
            .link_chat(
                caller,
                account.expect("validated"),
                chat,
                entity.expect("validated"),
                request_id.expect("validated"),
            )
            .await?;
        Ok(Response::new(pb::LinkChatResponse {
            link: Some(link_to_pb(link)),
        }))
    }

    async fn unlink_chat(
        &self,
        request: Request<pb::UnlinkChatRequest>,
    ) -> Result<Response<pb::UnlinkChatResponse>, Status> {
        let caller = caller(&request)?;
        let pb::UnlinkChatRequest {
            account_id: account,
            chat_id: chat,
            entity: wire_entity,
        } = request.get_ref();
        let mut violations = Violations::default();
        let account = violations.check(account_id("account_id", account));
        let chat = chat_id("chat_id", *chat, &mut violations);
        let entity = entity("entity", wire_entity.as_ref(), &mut violations);
        violations.finish()?;
        self.crm
            .unlink_chat(
                caller,
                account.expect("validated"),
                chat,
                &entity.expect("validated"),
            )
            .await?;
        Ok(Response::new(pb::UnlinkChatResponse {}))
    }

    async fn list_links(
        &self,
        request: Request<pb::ListLinksRequest>,
    ) -> Result<Response<pb::ListLinksResponse>, Status> {
        let caller = caller(&request)?;
        let pb::ListLinksRequest {
            filter,
            page_size,
            page_token,
        } = request.get_ref();
        let mut violations = Violations::default();
        let limit = violations.check(page::page_size(*page_size, LIST_LINKS_LIMITS));
        let filter = match filter {
            None => Some(LinkFilter::All),
            Some(pb::list_links_request::Filter::Chat(pb::ChatRef {
                account_id: account,
                chat_id: chat,
            })) => {
                let account = violations.check(account_id("filter.chat.account_id", account));
                let chat = chat_id("filter.chat.chat_id", *chat, &mut violations);
                account.map(|account| LinkFilter::Chat {
                    account,
                    chat_id: chat,
                })
            }
            Some(pb::list_links_request::Filter::Entity(wire)) => {
                entity("filter.entity", Some(wire), &mut violations).map(LinkFilter::Entity)
            }
        };
        let binding = page::binding(&filter);
        let after = violations.check(decode_link_cursor(page_token, &binding));
        violations.finish()?;
        let page = self
            .crm
            .list_links(
                caller,
                &filter.expect("validated"),
                after.flatten().as_deref(),
                limit.expect("validated"),
            )
            .await?;
        Ok(Response::new(pb::ListLinksResponse {
            links: page.links.into_iter().map(link_to_pb).collect(),
            next_page_token: page
                .next
                .map(|id| page::encode_token(LIST_LINKS, &format!("{id}:{binding}")))
                .unwrap_or_default(),
        }))
    }

    async fn suggest_links(
        &self,
        request: Request<pb::SuggestLinksRequest>,
    ) -> Result<Response<pb::SuggestLinksResponse>, Status> {
        let caller = caller(&request)?;
        let pb::SuggestLinksRequest {
            account_id: account,
            entity,
        } = request.get_ref();
        let mut violations = Violations::default();
        let account = violations.check(
            (!account.is_empty())
                .then(|| account_id("account_id", account))
                .transpose(),
        );
        let contact = match entity {
            None => {
                violations.add("entity", "required: a phone number, a username or a name");
                None
            }
            Some(pb::EntityContact {
                phone_number,
                username,
                phone_numbers,
                usernames,
                name,
                default_region,
            }) => {
                let mut phones = Vec::new();
                if !phone_number.is_empty() {
                    phones.push(("entity.phone_number".to_owned(), phone_number.as_str()));
                }
                for (i, phone) in phone_numbers.iter().enumerate() {
                    phones.push((format!("entity.phone_numbers[{i}]"), phone.as_str()));
                }
                let mut names = Vec::new();
                if !username.is_empty() {
                    names.push(("entity.username".to_owned(), username.as_str()));
                }
                for (i, username) in usernames.iter().enumerate() {
                    names.push((format!("entity.usernames[{i}]"), username.as_str()));
                }
                match EntityContact::parse(&phones, &names, name, default_region) {
                    Ok(contact) => Some(contact),
                    Err(found) => {
                        for violation in found {
                            violations.add(&violation.field, violation.description);
                        }
                        None
                    }
                }
            }
        };
        violations.finish()?;
        let suggestions = self
            .crm
            .suggest_links(caller, account.flatten(), &contact.expect("validated"))
            .await?;
        Ok(Response::new(pb::SuggestLinksResponse {
            suggestions: suggestions
                .into_iter()
                .map(|suggestion| {
                    let score = suggestion.score();
                    let reasons: Vec<i32> = suggestion
                        .reasons
                        .iter()
                        .map(|r| reason_to_pb(*r).into())
                        .collect();
                    pb::LinkSuggestion {
                        chat: Some(pb::Chat {
                            about: String::new(),
                            ..suggestion.chat.into()
                        }),
                        match_reason: reasons.first().copied().unwrap_or_default(),
                        score,
                        match_reasons: reasons,
                    }
                })
                .collect(),
        }))
    }

    async fn create_trigger(
        &self,
        request: Request<pb::CreateTriggerRequest>,
    ) -> Result<Response<pb::CreateTriggerResponse>, Status> {
        let caller = caller(&request)?;
        let pb::CreateTriggerRequest {
            trigger,
            request_id,
        } = request.get_ref();
        let mut violations = Violations::default();
        let spec = match trigger {
            Some(trigger) => trigger_spec(trigger, &mut violations),
            None => {
                violations.add("trigger", "required");
                None
            }
        };
        let request_id = RequestId::parse(request_id)
            .map_err(|why| violations.add("request_id", why))
            .ok();
        violations.finish()?;
        let (trigger, secret) = self
            .triggers
            .create_trigger(
                caller,
                spec.expect("validated"),
                request_id.expect("validated").as_str(),
            )
            .await?;
        Ok(Response::new(pb::CreateTriggerResponse {
            trigger: Some(trigger_to_pb(&trigger)),
            webhook_secret: secret.map(|s| s.to_string()).unwrap_or_default(),
        }))
    }

    async fn get_trigger(
        &self,
        request: Request<pb::GetTriggerRequest>,
    ) -> Result<Response<pb::GetTriggerResponse>, Status> {
        let caller = caller(&request)?;
        let id = trigger_id("trigger_id", &request.get_ref().trigger_id)?;
        let trigger = self.triggers.get_trigger(caller, &id).await?;
        Ok(Response::new(pb::GetTriggerResponse {
            trigger: Some(trigger_to_pb(&trigger)),
        }))
    }

    async fn list_triggers(
        &self,
        request: Request<pb::ListTriggersRequest>,
    ) -> Result<Response<pb::ListTriggersResponse>, Status> {
        let caller = caller(&request)?;
        let pb::ListTriggersRequest {
            page_size,
            page_token,
        } = request.get_ref();
        let mut violations = Violations::default();
        let limit = violations.check(page::page_size(*page_size, LIST_TRIGGERS_LIMITS));
        let after = violations.check(decode_id_cursor(LIST_TRIGGERS, page_token, ""));
        violations.finish()?;
        let limit = limit.expect("validated");
        let triggers = self
            .triggers
            .list_triggers(caller, after.flatten().as_deref(), limit + 1)
            .await?;
        let more = triggers.len() > limit as usize;
        let page: Vec<_> = triggers.into_iter().take(limit as usize).collect();
        Ok(Response::new(pb::ListTriggersResponse {
            next_page_token: match (more, page.last()) {
                (true, Some(last)) => page::encode_token(LIST_TRIGGERS, &format!("{}:", last.id)),
                _ => String::new(),
            },
            triggers: page.iter().map(trigger_to_pb).collect(),
        }))
    }

    async fn update_trigger(
        &self,
        request: Request<pb::UpdateTriggerRequest>,
    ) -> Result<Response<pb::UpdateTriggerResponse>, Status> {
        let caller = caller(&request)?;
        let pb::UpdateTriggerRequest {
            trigger,
            update_mask,
        } = request.get_ref();
        let Some(trigger) = trigger else {
            return Err(crate::domain::Error::invalid("trigger", "required").into());
        };
        let id = trigger_id("trigger.trigger_id", &trigger.trigger_id)?;
        let paths = update_mask
            .as_ref()
            .map(|m| m.paths.clone())
            .unwrap_or_default();
        let mut violations = Violations::default();
        if paths.is_empty() {
            violations.add("update_mask", "required: the fields to change");
        }
        let mut change = Change::default();
        for path in &paths {
            match path.as_str() {
                "name" => change.name = name(&trigger.name, &mut violations),
                "event_kinds" => change.kinds = kinds(&trigger.event_kinds, &mut violations),
                "conditions" => {
                    change.conditions = conditions(trigger.conditions.as_ref(), &mut violations)
                }
                "enabled" => change.enabled = Some(trigger.enabled),
                "stream" => change.stream = true,
                "webhook" | "webhook.url" | "webhook.secret" => {
                    let Some(pb::trigger::Action::Webhook(webhook)) = &trigger.action else {
                        violations.add("trigger.webhook", format!("required by the path {path:?}"));
                        continue;
                    };
                    let secret = secret(&webhook.secret, &mut violations);
                    match path.as_str() {
                        "webhook" => change.webhook = Some((webhook.url.clone(), secret.flatten())),
                        "webhook.url" => change.url = Some(webhook.url.clone()),
                        _ => change.secret = secret,
                    }
                }
                other => violations.add("update_mask", format!("unknown path {other:?}")),
            }
        }
        if change.stream
            && (change.webhook.is_some() || change.url.is_some() || change.secret.is_some())
        {
            violations.add(
                "update_mask",
                "\"stream\" and a webhook path cannot be combined",
            );
        }
        violations.finish()?;
        let (trigger, secret) = self.triggers.update_trigger(caller, &id, change).await?;
        Ok(Response::new(pb::UpdateTriggerResponse {
            trigger: Some(trigger_to_pb(&trigger)),
            webhook_secret: secret.map(|s| s.to_string()).unwrap_or_default(),
        }))
    }

    async fn delete_trigger(
        &self,
        request: Request<pb::DeleteTriggerRequest>,
    ) -> Result<Response<pb::DeleteTriggerResponse>, Status> {
        let caller = caller(&request)?;
        let id = trigger_id("trigger_id", &request.get_ref().trigger_id)?;
        self.triggers.delete_trigger(caller, &id).await?;
        Ok(Response::new(pb::DeleteTriggerResponse {}))
    }

    async fn list_deliveries(
        &self,
        request: Request<pb::ListDeliveriesRequest>,
    ) -> Result<Response<pb::ListDeliveriesResponse>, Status> {
        let caller = caller(&request)?;
        let pb::ListDeliveriesRequest {
            trigger_id: id,
            page_size,
            page_token,
        } = request.get_ref();
        let mut violations = Violations::default();
        let id = violations.check(trigger_id("trigger_id", id));
        let limit = violations.check(page::page_size(*page_size, LIST_DELIVERIES_LIMITS));
        let binding = id.clone().unwrap_or_default();
        let after = violations.check(decode_id_cursor(LIST_DELIVERIES, page_token, &binding));
        violations.finish()?;
        let limit = limit.expect("validated");
        let deliveries = self
            .triggers
            .list_deliveries(caller, &binding, after.flatten().as_deref(), limit + 1)
            .await?;
        let more = deliveries.len() > limit as usize;
        let page: Vec<_> = deliveries.into_iter().take(limit as usize).collect();
        Ok(Response::new(pb::ListDeliveriesResponse {
            next_page_token: match (more, page.last()) {
                (true, Some(last)) => {
                    page::encode_token(LIST_DELIVERIES, &format!("{}:{binding}", last.id))
                }
                _ => String::new(),
            },
            deliveries: page.into_iter().map(delivery_to_pb).collect(),
        }))
    }

    async fn redeliver_webhook(
        &self,
        request: Request<pb::RedeliverWebhookRequest>,
    ) -> Result<Response<pb::RedeliverWebhookResponse>, Status> {
        let caller = caller(&request)?;
        let pb::RedeliverWebhookRequest {
            trigger_id: trigger,
            delivery_id,
        } = request.get_ref();
        let mut violations = Violations::default();
        let trigger = violations.check(trigger_id("trigger_id", trigger));
        let delivery = violations.check(trigger_id("delivery_id", delivery_id));
        violations.finish()?;
        let delivery = self
            .triggers
            .redeliver(
                caller,
                &trigger.expect("validated"),
                &delivery.expect("validated"),
            )
            .await?;
        Ok(Response::new(pb::RedeliverWebhookResponse {
            delivery: Some(delivery_to_pb(delivery)),
        }))
    }
}

/// trigger_id validates a trigger's (or delivery's) id: a UUID.
fn trigger_id(field: &str, value: &str) -> Result<String, crate::domain::Error> {
    uuid::Uuid::parse_str(value)
        .map(|id| id.to_string())
        .map_err(|_| crate::domain::Error::invalid(field, "must be a UUID"))
}

fn name(value: &str, violations: &mut Violations) -> Option<String> {
    let count = value.chars().count();
    if count == 0 || count > MAX_NAME || value.chars().any(char::is_control) {
        violations.add(
            "trigger.name",
            format!("must be 1 to {MAX_NAME} characters without control characters"),
        );
        return None;
    }
    Some(value.to_owned())
}

fn kinds(values: &[i32], violations: &mut Violations) -> Option<Vec<EventKind>> {
    if values.is_empty() {
        violations.add("trigger.event_kinds", "at least one kind");
        return None;
    }
    let mut out = Vec::new();
    for (i, value) in values.iter().enumerate() {
        match kind(*value) {
            Some(EventKind::TriggerFired) => {
                violations.add(
                    &format!("trigger.event_kinds[{i}]"),
                    "EVENT_KIND_TRIGGER_FIRED is not allowed (no trigger chains)",
                );
                return None;
            }
            Some(kind) if !out.contains(&kind) => out.push(kind),
            Some(_) => {}
            None => {
                violations.add(
                    &format!("trigger.event_kinds[{i}]"),
                    "must be a known kind, not UNSPECIFIED",
                );
                return None;
            }
        }
    }
    Some(out)
}

fn conditions(
    value: Option<&pb::TriggerConditions>,
    violations: &mut Violations,
) -> Option<Conditions> {
    let Some(value) = value else {
        return Some(Conditions::default());
    };
    let pb::TriggerConditions {
        account_ids,
        chat_ids,
        chat_types,
        direction,
        text_contains,
        text_regex,
        linked_entity_types,
        first_message_from_unlinked_chat,
    } = value;
    let before = violations.0.len();
    let mut out = Conditions {
        first_message_from_unlinked_chat: *first_message_from_unlinked_chat,
        text_contains: text_contains.clone(),
        text_regex: text_regex.clone(),
        ..Default::default()
    };
    if account_ids.len() > MAX_CONDITION_ACCOUNTS {
        violations.add(
            "trigger.conditions.account_ids",
            format!("at most {MAX_CONDITION_ACCOUNTS}"),
        );
    }
    for (i, id) in account_ids.iter().enumerate() {
        if let Some(id) = violations.check(account_id(
            &format!("trigger.conditions.account_ids[{i}]"),
            id,
        )) {
            out.account_ids.push(id);
        }
    }
    if chat_ids.len() > MAX_CONDITION_CHATS {
        violations.add(
            "trigger.conditions.chat_ids",
            format!("at most {MAX_CONDITION_CHATS}"),
        );
    }
    for (i, chat) in chat_ids.iter().enumerate() {
        out.chat_ids.push(chat_id(
            &format!("trigger.conditions.chat_ids[{i}]"),
            *chat,
            violations,
        ));
    }
    for (i, value) in chat_types.iter().enumerate() {
        match chat_kind(*value) {
            Some(kind) if !out.chat_kinds.contains(&kind) => out.chat_kinds.push(kind),
            Some(_) => {}
            None => violations.add(
                &format!("trigger.conditions.chat_types[{i}]"),
                "must be a known chat type, not UNSPECIFIED",
            ),
        }
    }
    out.direction = match pb::MessageDirection::try_from(*direction) {
        Ok(pb::MessageDirection::Unspecified) => None,
        Ok(pb::MessageDirection::Incoming) => Some(Direction::Incoming),
        Ok(pb::MessageDirection::Outgoing) => Some(Direction::Outgoing),
        Err(_) => {
            violations.add("trigger.conditions.direction", "must be a known direction");
            None
        }
    };
    if text_contains.chars().count() > MAX_TEXT_CONTAINS {
        violations.add(
            "trigger.conditions.text_contains",
            format!("at most {MAX_TEXT_CONTAINS} characters"),
        );
    }
    if text_regex.chars().count() > MAX_TEXT_REGEX {
        violations.add(
            "trigger.conditions.text_regex",
            format!("at most {MAX_TEXT_REGEX} characters"),
        );
    } else if let Err(why) = out.regex() {
        violations.add(
            "trigger.conditions.text_regex",
            format!("not a regular expression this gateway runs: {why}"),
        );
    }
    for (i, value) in linked_entity_types.iter().enumerate() {
        match entity_type(*value) {
            Some(kind) if !out.linked_entity_types.contains(&kind) => {
                out.linked_entity_types.push(kind)
            }
            Some(_) => {}
            None => violations.add(
                &format!("trigger.conditions.linked_entity_types[{i}]"),
                "must be a known type, not UNSPECIFIED",
            ),
        }
    }
    (violations.0.len() == before).then_some(out)
}

/// secret reads a webhook secret: `None` when malformed (named), `Some(None)`
/// when left empty (the gateway makes one).
fn secret(value: &str, violations: &mut Violations) -> Option<Option<WebhookSecret>> {
    if value.is_empty() {
        return Some(None);
    }
    match WebhookSecret::parse(value) {
        Ok(secret) => Some(Some(secret)),
        Err(why) => {
            violations.add("trigger.webhook.secret", why);
            None
        }
    }
}

/// trigger_spec validates a trigger as CreateTrigger receives it.
fn trigger_spec(trigger: &pb::Trigger, violations: &mut Violations) -> Option<TriggerSpec> {
    let name = name(&trigger.name, violations);
    let kinds = kinds(&trigger.event_kinds, violations);
    let conditions = conditions(trigger.conditions.as_ref(), violations);
    let action = match &trigger.action {
        None => {
            violations.add("trigger.action", "required: a webhook or a stream action");
            None
        }
        Some(pb::trigger::Action::Stream(_)) => Some(ActionSpec::Stream),
        Some(pb::trigger::Action::Webhook(webhook)) => {
            if webhook.url.is_empty() {
                violations.add("trigger.webhook.url", "required");
            }
            secret(&webhook.secret, violations).map(|secret| ActionSpec::Webhook {
                url: webhook.url.clone(),
                secret,
            })
        }
    };
    Some(TriggerSpec {
        name: name?,
        kinds: kinds?,
        conditions: conditions?,
        action: action?,
        enabled: trigger.enabled,
    })
}

fn trigger_to_pb(trigger: &Trigger) -> pb::Trigger {
    let c = &trigger.conditions;
    pb::Trigger {
        trigger_id: trigger.id.clone(),
        name: trigger.name.clone(),
        event_kinds: trigger
            .kinds
            .iter()
            .map(|k| kind_to_pb(*k).into())
            .collect(),
        conditions: Some(pb::TriggerConditions {
            account_ids: c.account_ids.iter().map(|a| a.to_string()).collect(),
            chat_ids: c.chat_ids.clone(),
            chat_types: c
                .chat_kinds
                .iter()
                .map(|k: &ChatKind| pb::ChatType::from(*k).into())
                .collect(),
            direction: match c.direction {
                None => pb::MessageDirection::Unspecified,
                Some(Direction::Incoming) => pb::MessageDirection::Incoming,
                Some(Direction::Outgoing) => pb::MessageDirection::Outgoing,
            }
            .into(),
            text_contains: c.text_contains.clone(),
            text_regex: c.text_regex.clone(),
            linked_entity_types: c
                .linked_entity_types
                .iter()
                .map(|t: &EntityType| pb::CrmEntityType::from(*t).into())
                .collect(),
            first_message_from_unlinked_chat: c.first_message_from_unlinked_chat,
        }),
        action: Some(match &trigger.action {
            Action::Stream => pb::trigger::Action::Stream(pb::StreamAction {}),
            // Secrets are write-only.
            Action::Webhook(webhook) => pb::trigger::Action::Webhook(pb::WebhookAction {
                url: webhook.url.clone(),
                secret: String::new(),
            }),
        }),
        enabled: trigger.enabled,
        create_time: Some(timestamp(trigger.created_at)),
        update_time: Some(timestamp(trigger.updated_at)),
        disabled_reason: trigger.disabled_reason.clone().unwrap_or_default(),
    }
}

fn attempt_to_pb(attempt: Attempt) -> pb::DeliveryAttempt {
    pb::DeliveryAttempt {
        attempt_time: Some(timestamp(attempt.at)),
        response_code: i32::from(attempt.status),
        latency_ms: attempt.latency_ms.min(i32::MAX as u32) as i32,
        error: attempt.error,
    }
}

fn delivery_to_pb(delivery: Delivery) -> pb::WebhookDelivery {
    let retrying = delivery.state == DeliveryState::Retrying;
    pb::WebhookDelivery {
        event_cursor: encode_cursor(&delivery.tenant, delivery.event_position),
        delivery_id: delivery.id,
        trigger_id: delivery.trigger_id,
        status: match delivery.state {
            DeliveryState::Pending => pb::DeliveryStatus::Pending,
            DeliveryState::Retrying => pb::DeliveryStatus::Retrying,
            DeliveryState::Succeeded => pb::DeliveryStatus::Succeeded,
            DeliveryState::Failed => pb::DeliveryStatus::Failed,
        }
        .into(),
        attempts: delivery.attempts,
        response_code: delivery.last_status.unwrap_or_default(),
        last_error: delivery.last_error.unwrap_or_default(),
        create_time: Some(timestamp(delivery.created_at)),
        last_attempt_time: delivery.last_attempt_at.map(timestamp),
        next_attempt_time: retrying.then(|| timestamp(delivery.next_attempt_at)),
        latency_ms: delivery.last_latency_ms.unwrap_or_default(),
        attempt_log: delivery.log.into_iter().map(attempt_to_pb).collect(),
    }
}

/// webhook_body is a logged event as a webhook receives it: the wire
/// Event in the proto3 JSON mapping (lowerCamelCase names, int64 as
/// strings), read through the descriptor set the SDK embeds.
pub fn webhook_body(event: &Event) -> String {
    use prost::Message;
    use std::sync::LazyLock;
    static EVENT: LazyLock<prost_reflect::MessageDescriptor> = LazyLock::new(|| {
        prost_reflect::DescriptorPool::decode(tezgram_sdk::FILE_DESCRIPTOR_SET)
            .expect("the SDK's descriptor set decodes")
            .get_message_by_name("tez.telegram.v1.Event")
            .expect("the descriptor set has Event")
    });
    let wire = super::update::event(encode_cursor(&event.tenant, event.position), event);
    let dynamic =
        prost_reflect::DynamicMessage::decode(EVENT.clone(), wire.encode_to_vec().as_slice())
            .expect("an Event decodes as an Event");
    serde_json::to_string(&dynamic).expect("an Event serializes to JSON")
}

/// decode_id_cursor reads a page token holding the last id of the previous
/// page, bound to `binding`.
fn decode_id_cursor(
    rpc: &str,
    token: &str,
    binding: &str,
) -> Result<Option<String>, crate::domain::Error> {
    let Some(cursor) = page::decode_token(rpc, token)? else {
        return Ok(None);
    };
    let foreign = || crate::domain::Error::invalid("page_token", "not issued for this request");
    let (id, bound) = cursor.split_once(':').ok_or_else(foreign)?;
    if bound != binding || uuid::Uuid::parse_str(id).is_err() {
        return Err(foreign());
    }
    Ok(Some(id.to_owned()))
}

/// decode_link_cursor reads a ListLinks page token: the id of the last
/// link of the previous page, bound to its filter.
fn decode_link_cursor(token: &str, binding: &str) -> Result<Option<String>, crate::domain::Error> {
    let Some(cursor) = page::decode_token(LIST_LINKS, token)? else {
        return Ok(None);
    };
    let foreign = || crate::domain::Error::invalid("page_token", "not issued for this filter");
    let (id, bound) = cursor.rsplit_once(':').ok_or_else(foreign)?;
    if bound != binding || uuid::Uuid::parse_str(id).is_err() {
        return Err(foreign());
    }
    Ok(Some(id.to_owned()))
}
