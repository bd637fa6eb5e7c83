//! MessageService: reading history (ListMessages, GetMessage). Search and
//! every write (send, edit, delete, forward, mark read, typing) answer
//! NOT_IMPLEMENTED_YET until they land.

use tezgram_sdk::v1 as pb;
use tezgram_sdk::v1::list_messages_request::Anchor as WireAnchor;
use tezgram_sdk::v1::message_service_server::MessageService;
use tonic::{Request, Response, Status};

use super::account::account_id;
use super::chat::chat_id;
use super::page::{self, Limits};
use super::{Violations, caller, not_implemented};
use crate::domain::{AccountId, Error};
use crate::service::Chats;
use crate::service::chats::Anchor;

const LIST_MESSAGES: &str = "ListMessages";
const LIST_MESSAGES_LIMITS: Limits = Limits {
    default: 50,
    max: 100,
};

pub struct MessageApi {
    chats: Chats,
}

impl MessageApi {
    pub fn new(chats: Chats) -> Self {
        Self { chats }
    }
}

/// A ListMessages token: the account and chat it pages, its direction
/// ("o" older, "n" newer) and the id the next page starts beyond.
fn encode_history_cursor(account: AccountId, chat: i64, anchor: Anchor) -> Option<String> {
    let (direction, id) = match anchor {
        Anchor::Before(id) => ("o", id),
        Anchor::After(id) => ("n", id),
        Anchor::Newest | Anchor::BeforeTime(_) => return None,
    };
    Some(page::encode_token(
        LIST_MESSAGES,
        &format!("{account}:{chat}:{direction}:{id}"),
    ))
}

fn decode_history_cursor(
    token: &str,
    account: AccountId,
    chat: i64,
) -> Result<Option<Anchor>, Error> {
    let Some(cursor) = page::decode_token(LIST_MESSAGES, token)? else {
        return Ok(None);
    };
    let foreign = || Error::invalid("page_token", "not issued for this account and chat");
    let parts: Vec<&str> = cursor.split(':').collect();
    let [token_account, token_chat, direction, id] = parts.as_slice() else {
        return Err(foreign());
    };
    if *token_account != account.to_string() || *token_chat != chat.to_string() {
        return Err(foreign());
    }
    let id: i64 = id.parse().map_err(|_| foreign())?;
    match *direction {
        "o" => Ok(Some(Anchor::Before(id))),
        "n" => Ok(Some(Anchor::After(id))),
        _ => Err(foreign()),
    }
}

#[tonic::async_trait]
impl MessageService for MessageApi {
    async fn list_messages(
        &self,
        request: Request<pb::ListMessagesRequest>,
    ) -> Result<Response<pb::ListMessagesResponse>, Status> {
        let caller = caller(&request)?;
        let pb::ListMessagesRequest {
            account_id: account,
            chat_id: chat,
            page_size,
            page_token,
            anchor,
        } = request.get_ref();
        let mut violations = Violations::default();
        let account = violations.check(account_id("account_id", account));
        let chat = chat_id("chat_id", *chat, &mut violations);
        let limit = violations.check(page::page_size(*page_size, LIST_MESSAGES_LIMITS));
        let anchor = match anchor {
            None => Anchor::Newest,
            Some(WireAnchor::BeforeMessageId(id)) => {
                if *id <= 0 {
                    violations.add("before_message_id", "must be a positive message id");
                }
                Anchor::Before(*id)
            }
            Some(WireAnchor::AfterMessageId(id)) => {
                if *id < 0 {
                    violations.add("after_message_id", "must not be negative");
                }
                Anchor::After(*id)
            }
            Some(WireAnchor::BeforeTime(time)) => {
                match chrono::DateTime::from_timestamp(time.seconds, time.nanos.max(0) as u32) {
                    Some(time) => Anchor::BeforeTime(time),
                    None => {
                        violations.add("before_time", "not a valid time");
                        Anchor::Newest
                    }
                }
            }
        };
        if !page_token.is_empty() && anchor != Anchor::Newest {
            violations.add("page_token", "must not be combined with an anchor");
        }
        let from_token = match account {
            Some(account) => violations
                .check(decode_history_cursor(page_token, account, chat))
                .flatten(),
            None => None,
        };
        violations.finish()?;
        let account = account.expect("validated");
        let anchor = from_token.unwrap_or(anchor);
        let page = self
            .chats
            .list_messages(caller, account, chat, anchor, limit.unwrap_or_default())
            .await?;
        let direction_after = matches!(anchor, Anchor::After(_));
        let next_page_token = page
            .next
            .and_then(|id| {
                let next = if direction_after {
                    Anchor::After(id)
                } else {
                    Anchor::Before(id)
                };
                encode_history_cursor(account, chat, next)
            })
            .unwrap_or_default();
        Ok(Response::new(pb::ListMessagesResponse {
            messages: page.messages.into_iter().map(pb::Message::from).collect(),
            next_page_token,
            total_count: page.total_count,
        }))
    }

    async fn get_message(
        &self,
        request: Request<pb::GetMessageRequest>,
    ) -> Result<Response<pb::GetMessageResponse>, Status> {
        let caller = caller(&request)?;
        let pb::GetMessageRequest {
            account_id: account,
            chat_id: chat,
            message_id,
        } = request.get_ref();
        let mut violations = Violations::default();
        let account = violations.check(account_id("account_id", account));
        let chat = chat_id("chat_id", *chat, &mut violations);
        if *message_id <= 0 {
            violations.add("message_id", "must be a positive message id");
        }
        violations.finish()?;
        let message = self
            .chats
            .get_message(caller, account.expect("validated"), chat, *message_id)
            .await?;
        Ok(Response::new(pb::GetMessageResponse {
            message: Some(message.into()),
        }))
    }

    async fn search_messages(
        &self,
        request: Request<pb::SearchMessagesRequest>,
    ) -> Result<Response<pb::SearchMessagesResponse>, Status> {
        not_implemented(&request, "SearchMessages")
    }

    async fn send_message(
        &self,
        request: Request<pb::SendMessageRequest>,
    ) -> Result<Response<pb::SendMessageResponse>, Status> {
        not_implemented(&request, "SendMessage")
    }

    async fn edit_message(
        &self,
        request: Request<pb::EditMessageRequest>,
    ) -> Result<Response<pb::EditMessageResponse>, Status> {
        not_implemented(&request, "EditMessage")
    }

    async fn delete_messages(
        &self,
        request: Request<pb::DeleteMessagesRequest>,
    ) -> Result<Response<pb::DeleteMessagesResponse>, Status> {
        not_implemented(&request, "DeleteMessages")
    }

    async fn forward_messages(
        &self,
        request: Request<pb::ForwardMessagesRequest>,
    ) -> Result<Response<pb::ForwardMessagesResponse>, Status> {
        not_implemented(&request, "ForwardMessages")
    }

    async fn mark_read(
        &self,
        request: Request<pb::MarkReadRequest>,
    ) -> Result<Response<pb::MarkReadResponse>, Status> {
        not_implemented(&request, "MarkRead")
    }

    async fn set_typing(
        &self,
        request: Request<pb::SetTypingRequest>,
    ) -> Result<Response<pb::SetTypingResponse>, Status> {
        not_implemented(&request, "SetTyping")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_tokens_keep_their_direction_and_chat() {
        let account = AccountId::new();
        let token = encode_history_cursor(account, 7, Anchor::After(40)).unwrap();
        assert_eq!(
            decode_history_cursor(&token, account, 7).unwrap(),
            Some(Anchor::After(40))
        );
        let token = encode_history_cursor(account, 7, Anchor::Before(40)).unwrap();
        assert_eq!(
            decode_history_cursor(&token, account, 7).unwrap(),
            Some(Anchor::Before(40))
        );
        assert!(decode_history_cursor(&token, account, 8).is_err());
        assert!(decode_history_cursor(&token, AccountId::new(), 7).is_err());
    }
}
