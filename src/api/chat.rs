//! ChatService: the account's chats (ListChats, GetChat), finding a chat by
//! username or phone number (ResolveChat), and contacts (ListContacts).

use tezgram_sdk::v1 as pb;
use tezgram_sdk::v1::chat_service_server::ChatService;
use tonic::{Request, Response, Status};

use super::account::account_id;
use super::convert::chat_kind;
use super::page::{self, Limits};
use super::{Violations, caller};
use crate::domain::chat::{ChatCursor, ChatFilter, ContactCursor, ResolveTarget};
use crate::domain::login::PhoneNumber;
use crate::domain::{AccountId, Error};
use crate::service::{Chats, Contacts};

const LIST_CHATS: &str = "ListChats";
const LIST_CONTACTS: &str = "ListContacts";
const LIST_CONTACTS_LIMITS: Limits = Limits {
    default: 200,
    max: 1000,
};
const LIST_CHATS_LIMITS: Limits = Limits {
    default: 50,
    max: 100,
};
/// MAX_QUERY is the longest `filter.query`, in characters.
const MAX_QUERY: usize = 128;

pub struct ChatApi {
    chats: Chats,
    contacts: Contacts,
}

impl ChatApi {
    pub fn new(chats: Chats, contacts: Contacts) -> Self {
        Self { chats, contacts }
    }
}

/// chat_id validates a chat id: any non-zero Bot API id.
pub(super) fn chat_id(field: &str, value: i64, violations: &mut Violations) -> i64 {
    if value == 0 {
        violations.add(field, "required: a chat's peer id");
    }
    value
}

/// filter_binding ties a ListChats page token to the account and filter
/// it was issued for.
fn filter_binding(account: Option<AccountId>, filter: &ChatFilter) -> String {
    page::binding(&(account, filter))
}

fn encode_chat_cursor(cursor: ChatCursor, binding: &str) -> String {
    page::encode_token(
        LIST_CHATS,
        &format!(
            "{}:{}:{}:{binding}",
            cursor.sort_key, cursor.account_id, cursor.chat_id
        ),
    )
}

fn decode_chat_cursor(token: &str, binding: &str) -> Result<Option<ChatCursor>, Error> {
    let Some(cursor) = page::decode_token(LIST_CHATS, token)? else {
        return Ok(None);
    };
    let foreign = || Error::invalid("page_token", "not issued for this account and filter");
    let parts: Vec<&str> = cursor.split(':').collect();
    let [sort_key, account, chat, bound] = parts.as_slice() else {
        return Err(foreign());
    };
    if *bound != binding {
        return Err(foreign());
    }
    Ok(Some(ChatCursor {
        sort_key: sort_key.parse().map_err(|_| foreign())?,
        account_id: account.parse().map_err(|_| foreign())?,
        chat_id: chat.parse().map_err(|_| foreign())?,
    }))
}

#[tonic::async_trait]
impl ChatService for ChatApi {
    async fn list_chats(
        &self,
        request: Request<pb::ListChatsRequest>,
    ) -> Result<Response<pb::ListChatsResponse>, Status> {
        let caller = caller(&request)?;
        let pb::ListChatsRequest {
            account_id: account,
            page_size,
            page_token,
            filter,
        } = request.get_ref();
        let mut violations = Violations::default();
        // Without an account, the tenant's inbox: every account's chats.
        let account = violations.check(
            (!account.is_empty())
                .then(|| account_id("account_id", account))
                .transpose(),
        );
        let limit = violations.check(page::page_size(*page_size, LIST_CHATS_LIMITS));
        let mut domain_filter = ChatFilter::default();
        if let Some(pb::ChatFilter {
            archived,
            types,
            query,
        }) = filter
        {
            domain_filter.archived = *archived;
            for value in types {
                match chat_kind(*value) {
                    Some(kind) if !domain_filter.kinds.contains(&kind) => {
                        domain_filter.kinds.push(kind)
                    }
                    Some(_) => {}
                    None => {
                        violations.add("filter.types", "must be known chat types, not UNSPECIFIED")
                    }
                }
            }
            if query.chars().count() > MAX_QUERY {
                violations.add("filter.query", format!("at most {MAX_QUERY} characters"));
            }
            domain_filter.query = query.trim().to_lowercase();
        }
        let account = account.flatten();
        let binding = filter_binding(account, &domain_filter);
        let after = violations.check(decode_chat_cursor(page_token, &binding));
        violations.finish()?;
        let page = self
            .chats
            .list_chats(
                caller,
                account,
                domain_filter,
                after.flatten(),
                limit.unwrap_or_default(),
            )
            .await?;
        Ok(Response::new(pb::ListChatsResponse {
            // A list leaves `about` empty (the proto's promise): only
            // GetChat and ResolveChat read the full profile.
            chats: page
                .chats
                .into_iter()
                .map(|chat| pb::Chat {
                    about: String::new(),
                    ..pb::Chat::from(chat)
                })
                .collect(),
            next_page_token: page
                .next
                .map(|cursor| encode_chat_cursor(cursor, &binding))
                .unwrap_or_default(),
        }))
    }

    async fn get_chat(
        &self,
        request: Request<pb::GetChatRequest>,
    ) -> Result<Response<pb::GetChatResponse>, Status> {
        let caller = caller(&request)?;
        let pb::GetChatRequest {
            account_id: account,
            chat_id: chat,
        } = request.get_ref();
        let mut violations = Violations::default();
        let account = violations.check(account_id("account_id", account));
        let chat = chat_id("chat_id", *chat, &mut violations);
        violations.finish()?;
        let account = account.expect("validated");
        let chat = self.chats.get_chat(caller, account, chat).await?;
        Ok(Response::new(pb::GetChatResponse {
            chat: Some(chat.into()),
        }))
    }

    async fn resolve_chat(
        &self,
        request: Request<pb::ResolveChatRequest>,
    ) -> Result<Response<pb::ResolveChatResponse>, Status> {
        let caller = caller(&request)?;
        let target = resolve_target(request.get_ref())?;
        let account = account_id("account_id", &request.get_ref().account_id)?;
        let resolved = self.contacts.resolve_chat(caller, account, target).await?;
        Ok(Response::new(pb::ResolveChatResponse {
            chat: Some(resolved.chat.into()),
            contact_imported: resolved.contact_imported,
        }))
    }

    async fn list_contacts(
        &self,
        request: Request<pb::ListContactsRequest>,
    ) -> Result<Response<pb::ListContactsResponse>, Status> {
        let caller = caller(&request)?;
        let pb::ListContactsRequest {
            account_id: account,
            page_size,
            page_token,
        } = request.get_ref();
        let mut violations = Violations::default();
        let account = violations.check(account_id("account_id", account));
        let limit = violations.check(page::page_size(*page_size, LIST_CONTACTS_LIMITS));
        let after = match account {
            Some(account) => violations
                .check(decode_contact_cursor(page_token, account))
                .flatten(),
            None => None,
        };
        violations.finish()?;
        let account = account.expect("validated");
        let page = self
            .contacts
            .list_contacts(caller, account, after, limit.unwrap_or_default())
            .await?;
        Ok(Response::new(pb::ListContactsResponse {
            contacts: page
                .contacts
                .into_iter()
                .map(|c| pb::Contact {
                    account_id: account.to_string(),
                    user_id: c.user_id,
                    phone_number: c.phone_number.unwrap_or_default(),
                    first_name: c.first_name,
                    last_name: c.last_name,
                    username: c.username.unwrap_or_default(),
                    mutual: c.mutual,
                })
                .collect(),
            next_page_token: page
                .next
                .map(|cursor| encode_contact_cursor(account, &cursor))
                .unwrap_or_default(),
        }))
    }
}

/// MAX_NAME is the longest first or last name ResolveChat saves, in characters.
const MAX_NAME: usize = 64;

/// username checks a public username: 4 to 32 letters, digits and
/// underscores, with or without the "@".
fn username(value: &str) -> Result<String, &'static str> {
    let name = value.trim().trim_start_matches('@');
    let valid = (4..=32).contains(&name.len())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if valid {
        Ok(name.to_owned())
    } else {
        Err("must be 4 to 32 letters, digits or underscores, with or without the @")
    }
}

/// resolve_target validates a ResolveChat: one target, a well-formed
/// username or phone number, names within Telegram's length.
fn resolve_target(request: &pb::ResolveChatRequest) -> Result<ResolveTarget, Error> {
    use pb::resolve_chat_request::Target;
    let pb::ResolveChatRequest {
        account_id: account,
        target,
        first_name,
        last_name,
    } = request;
    let mut violations = Violations::default();
    violations.check(account_id("account_id", account));
    for (field, value) in [("first_name", first_name), ("last_name", last_name)] {
        if value.chars().count() > MAX_NAME {
            violations.add(field, format!("at most {MAX_NAME} characters"));
        }
    }
    let target = match target {
        None => {
            violations.add("target", "required: a username or a phone_number");
            None
        }
        Some(Target::Username(value)) => match username(value) {
            Ok(name) => Some(ResolveTarget::Username(name)),
            Err(why) => {
                violations.add("username", why);
                None
            }
        },
        Some(Target::PhoneNumber(value)) => match PhoneNumber::parse(value) {
            Ok(phone) => Some(ResolveTarget::Phone {
                phone: phone.as_str().to_owned(),
                first_name: first_name.trim().to_owned(),
                last_name: last_name.trim().to_owned(),
            }),
            Err(why) if violations.is_empty() => {
                return Err(Error::InvalidInput {
                    reason: "INVALID_PHONE_NUMBER",
                    field: "phone_number",
                    description: why.to_owned(),
                });
            }
            Err(why) => {
                violations.add("phone_number", why);
                None
            }
        },
    };
    violations.finish()?;
    Ok(target.expect("validated"))
}

/// A ListContacts token: the account it pages and the last contact's
/// place in the order.
fn encode_contact_cursor(account: AccountId, cursor: &ContactCursor) -> String {
    let body = serde_json::to_string(&(account, cursor)).expect("cursors serialize");
    page::encode_token(LIST_CONTACTS, &body)
}

fn decode_contact_cursor(token: &str, account: AccountId) -> Result<Option<ContactCursor>, Error> {
    let Some(body) = page::decode_token(LIST_CONTACTS, token)? else {
        return Ok(None);
    };
    match serde_json::from_str::<(AccountId, ContactCursor)>(&body) {
        Ok((issued_for, cursor)) if issued_for == account => Ok(Some(cursor)),
        _ => Err(Error::invalid("page_token", "not issued for this account")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chat_tokens_are_bound_to_their_account_and_filter() {
        let cursor = ChatCursor {
            sort_key: 42,
            account_id: AccountId::new(),
            chat_id: -100,
        };
        let filter = ChatFilter::default();
        let binding = filter_binding(None, &filter);
        let token = encode_chat_cursor(cursor, &binding);
        assert_eq!(decode_chat_cursor(&token, &binding).unwrap(), Some(cursor));
        let other = ChatFilter {
            archived: Some(true),
            ..ChatFilter::default()
        };
        assert!(decode_chat_cursor(&token, &filter_binding(None, &other)).is_err());
        assert!(
            decode_chat_cursor(&token, &filter_binding(Some(AccountId::new()), &filter)).is_err()
        );
    }
}
