//! CrmService: links between chats and CRM records (LinkChat, UnlinkChat,
//! ListLinks, SuggestLinks). Triggers and their webhook deliveries answer
//! UNIMPLEMENTED (NOT_IMPLEMENTED_YET) until they land.

use tezgram_sdk::v1 as pb;
use tezgram_sdk::v1::crm_service_server::CrmService;
use tonic::{Request, Response, Status};

use super::account::account_id;
use super::chat::chat_id;
use super::convert::{entity_type, timestamp};
use super::page::{self, Limits};
use super::{Violations, caller, not_implemented};
use crate::domain::crm::{ChatLink, Entity, EntityContact, LinkFilter, MatchReason};
use crate::domain::login::RequestId;
use crate::service::Crm;

const LIST_LINKS: &str = "ListLinks";
const LIST_LINKS_LIMITS: Limits = Limits {
    default: 100,
    max: 1000,
};

pub struct CrmApi {
    crm: Crm,
}

impl CrmApi {
    pub fn new(crm: Crm) -> Self {
        Self { crm }
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
        not_implemented(&request, "CreateTrigger")
    }

    async fn get_trigger(
        &self,
        request: Request<pb::GetTriggerRequest>,
    ) -> Result<Response<pb::GetTriggerResponse>, Status> {
        not_implemented(&request, "GetTrigger")
    }

    async fn list_triggers(
        &self,
        request: Request<pb::ListTriggersRequest>,
    ) -> Result<Response<pb::ListTriggersResponse>, Status> {
        not_implemented(&request, "ListTriggers")
    }

    async fn update_trigger(
        &self,
        request: Request<pb::UpdateTriggerRequest>,
    ) -> Result<Response<pb::UpdateTriggerResponse>, Status> {
        not_implemented(&request, "UpdateTrigger")
    }

    async fn delete_trigger(
        &self,
        request: Request<pb::DeleteTriggerRequest>,
    ) -> Result<Response<pb::DeleteTriggerResponse>, Status> {
        not_implemented(&request, "DeleteTrigger")
    }

    async fn list_deliveries(
        &self,
        request: Request<pb::ListDeliveriesRequest>,
    ) -> Result<Response<pb::ListDeliveriesResponse>, Status> {
        not_implemented(&request, "ListDeliveries")
    }
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
