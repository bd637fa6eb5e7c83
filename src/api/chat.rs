//! ChatService: the account's chats (ListChats, GetChat). ResolveChat and
//! ListContacts answer NOT_IMPLEMENTED_YET until they land.

use tezgram_sdk::v1 as pb;
use tezgram_sdk::v1::chat_service_server::ChatService;
use tonic::{Request, Response, Status};

use super::account::account_id;
use super::convert::chat_kind;
use super::page::{self, Limits};
use super::{Violations, caller, not_implemented};
use crate::domain::chat::{ChatCursor, ChatFilter};
use crate::domain::{AccountId, Error};
use crate::service::Chats;

const LIST_CHATS: &str = "ListChats";
const LIST_CHATS_LIMITS: Limits = Limits {
    default: 50,
    max: 100,
};
/// MAX_QUERY is the longest `filter.query`, in characters.
const MAX_QUERY: usize = 128;

pub struct ChatApi {
    chats: Chats,
}

impl ChatApi {
    pub fn new(chats: Chats) -> Self {
        Self { chats }
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
    let bytes = serde_json::to_vec(&(account, filter)).expect("filters serialize");
    hex::encode(&<sha2::Sha256 as sha2::Digest>::digest(&bytes)[..8])
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
            chats: page.chats.into_iter().map(pb::Chat::from).collect(),
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
        not_implemented(&request, "ResolveChat")
    }

    async fn list_contacts(
        &self,
        request: Request<pb::ListContactsRequest>,
    ) -> Result<Response<pb::ListContactsResponse>, Status> {
        not_implemented(&request, "ListContacts")
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
