//! UpdateService: Subscribe's server-streaming events, over
//! `service::updates`.

use std::pin::Pin;

use futures::{Stream, StreamExt};
use tezgram_sdk::v1 as pb;
use tezgram_sdk::v1::update_service_server::UpdateService;
use tonic::{Request, Response, Status};

use super::account::account_id;
use super::convert::timestamp;
use super::{Violations, caller};
use crate::domain::chat::TypingAction;
use crate::domain::event::{Event, EventKind, EventPayload};
use crate::service::Updates;
use crate::service::updates::{Filter, Streamed};

/// MAX_ACCOUNTS and MAX_CHATS bound a filter, as the proto documents.
const MAX_ACCOUNTS: usize = 100;
const MAX_CHATS: usize = 1000;

pub struct UpdateApi {
    updates: Updates,
}

impl UpdateApi {
    pub fn new(updates: Updates) -> Self {
        Self { updates }
    }
}

pub(super) fn kind(value: i32) -> Option<EventKind> {
    use pb::EventKind as K;
    match K::try_from(value).ok()? {
        K::Unspecified => None,
        K::MessageCreated => Some(EventKind::MessageCreated),
        K::MessageEdited => Some(EventKind::MessageEdited),
        K::MessageDeleted => Some(EventKind::MessageDeleted),
        K::MessageSendFailed => Some(EventKind::MessageSendFailed),
        K::Read => Some(EventKind::Read),
        K::Typing => Some(EventKind::Typing),
        K::ChatUpdated => Some(EventKind::ChatUpdated),
        K::AccountStateChanged => Some(EventKind::AccountStateChanged),
        // Triggers arrive with the CRM: a filter may name them already.
        K::TriggerFired => Some(EventKind::TriggerFired),
        K::ChatLinked => Some(EventKind::ChatLinked),
        K::ChatUnlinked => Some(EventKind::ChatUnlinked),
    }
}

fn filter(request: pb::SubscribeRequest) -> Result<(Filter, Option<String>), Status> {
    let pb::SubscribeRequest {
        account_ids,
        chat_ids,
        kinds,
        cursor,
    } = request;
    let mut violations = Violations::default();
    if account_ids.len() > MAX_ACCOUNTS {
        violations.add("account_ids", format!("at most {MAX_ACCOUNTS}"));
    }
    let mut accounts = Vec::new();
    for (i, id) in account_ids.iter().enumerate() {
        if let Some(id) = violations.check(account_id(&format!("account_ids[{i}]"), id)) {
            accounts.push(id);
        }
    }
    if chat_ids.len() > MAX_CHATS {
        violations.add("chat_ids", format!("at most {MAX_CHATS}"));
    }
    let mut wanted = Vec::new();
    for (i, value) in kinds.iter().enumerate() {
        match kind(*value) {
            Some(kind) => wanted.push(kind),
            None => violations.add(
                &format!("kinds[{i}]"),
                "must be a known kind, not UNSPECIFIED",
            ),
        }
    }
    if cursor.len() > 128 {
        violations.add("cursor", "not a cursor this server issued to the caller");
    }
    violations.finish()?;
    let filter = Filter {
        accounts,
        chats: chat_ids,
        kinds: wanted,
    };
    Ok((filter, (!cursor.is_empty()).then_some(cursor)))
}

fn typing_action(action: TypingAction) -> pb::TypingAction {
    match action {
        TypingAction::Typing => pb::TypingAction::Typing,
        TypingAction::Cancel => pb::TypingAction::Cancel,
        TypingAction::RecordVoice => pb::TypingAction::RecordVoice,
        TypingAction::UploadPhoto => pb::TypingAction::UploadPhoto,
        TypingAction::UploadVideo => pb::TypingAction::UploadVideo,
        TypingAction::UploadDocument => pb::TypingAction::UploadDocument,
        TypingAction::ChooseSticker => pb::TypingAction::ChooseSticker,
    }
}

/// kind_to_pb is a kind as the wire names it.
pub(super) fn kind_to_pb(kind: EventKind) -> pb::EventKind {
    use pb::EventKind as K;
    match kind {
        EventKind::MessageCreated => K::MessageCreated,
        EventKind::MessageEdited => K::MessageEdited,
        EventKind::MessageDeleted => K::MessageDeleted,
        EventKind::MessageSendFailed => K::MessageSendFailed,
        EventKind::Read => K::Read,
        EventKind::Typing => K::Typing,
        EventKind::ChatUpdated => K::ChatUpdated,
        EventKind::AccountStateChanged => K::AccountStateChanged,
        EventKind::TriggerFired => K::TriggerFired,
        EventKind::ChatLinked => K::ChatLinked,
        EventKind::ChatUnlinked => K::ChatUnlinked,
    }
}

/// event is the wire form of a logged event.
pub fn event(cursor: String, event: &Event) -> pb::Event {
    use pb::event::Payload;
    let payload = match &event.payload {
        EventPayload::MessageCreated { message } => Payload::MessageCreated(pb::MessageCreated {
            message: Some((**message).clone().into()),
        }),
        EventPayload::MessageEdited { message } => Payload::MessageEdited(pb::MessageEdited {
            message: Some((**message).clone().into()),
        }),
        EventPayload::MessageDeleted {
            chat_id,
            message_ids,
        } => Payload::MessageDeleted(pb::MessageDeleted {
            chat_id: *chat_id,
            message_ids: message_ids.clone(),
        }),
        EventPayload::MessageSendFailed { message } => {
            Payload::MessageSendFailed(pb::MessageSendFailed {
                message: Some((**message).clone().into()),
            })
        }
        EventPayload::Read {
            chat_id,
            max_message_id,
            outgoing,
            unread_count,
        } => Payload::Read(pb::ChatRead {
            chat_id: *chat_id,
            max_message_id: *max_message_id,
            outgoing: *outgoing,
            unread_count: *unread_count,
        }),
        EventPayload::Typing {
            chat_id,
            user_id,
            action,
        } => Payload::Typing(pb::Typing {
            chat_id: *chat_id,
            user_id: *user_id,
            action: typing_action(*action).into(),
        }),
        EventPayload::ChatUpdated { chat } => Payload::ChatUpdated(pb::ChatUpdated {
            chat: Some((**chat).clone().into()),
        }),
        EventPayload::ChatLinked {
            chat_id,
            entity,
            previous_chat_id,
        } => Payload::ChatLinked(pb::ChatLinked {
            chat_id: *chat_id,
            entity: Some(entity.clone().into()),
            previous_chat_id: previous_chat_id.unwrap_or_default(),
        }),
        EventPayload::ChatUnlinked { chat_id, entity } => Payload::ChatUnlinked(pb::ChatUnlinked {
            chat_id: *chat_id,
            entity: Some(entity.clone().into()),
        }),
        EventPayload::TriggerFired {
            trigger_id,
            trigger_name,
            event: matched,
        } => Payload::TriggerFired(Box::new(pb::TriggerFired {
            trigger_id: trigger_id.clone(),
            trigger_name: trigger_name.clone(),
            event: Some(Box::new(self::event(
                crate::service::updates::encode_cursor(&matched.tenant, matched.position),
                matched,
            ))),
        })),
        EventPayload::AccountStateChanged {
            state,
            previous_state,
            account,
            ..
        } => {
            let account = match account {
                Some(account) => (**account).clone().into(),
                // Written before events carried the account: what is known.
                None => pb::Account {
                    account_id: event.account.map(|a| a.to_string()).unwrap_or_default(),
                    state: pb::AccountState::from(*state).into(),
                    ..Default::default()
                },
            };
            Payload::AccountStateChanged(pb::AccountStateChanged {
                account: Some(account),
                previous_state: previous_state
                    .map(|s| pb::AccountState::from(s).into())
                    .unwrap_or_default(),
            })
        }
    };
    pb::Event {
        cursor,
        event_time: Some(timestamp(event.time)),
        account_id: event.account.map(|a| a.to_string()).unwrap_or_default(),
        payload: Some(payload),
    }
}

type SubscribeStream = Pin<Box<dyn Stream<Item = Result<pb::SubscribeResponse, Status>> + Send>>;

#[tonic::async_trait]
impl UpdateService for UpdateApi {
    type SubscribeStream = SubscribeStream;

    async fn subscribe(
        &self,
        request: Request<pb::SubscribeRequest>,
    ) -> Result<Response<Self::SubscribeStream>, Status> {
        let caller = caller(&request)?.clone();
        let (filter, cursor) = filter(request.into_inner())?;
        let stream = self
            .updates
            .subscribe(&caller, filter, cursor.as_deref())
            .await?;
        let stream = stream.map(|item| {
            Ok(match item? {
                // Converted once for all the streams it goes to.
                Streamed::Logged(delivered) => delivered.wire(|e, cursor| pb::SubscribeResponse {
                    event: Some(event(cursor.to_owned(), e)),
                }),
                Streamed::Ephemeral {
                    cursor,
                    event: delivered,
                } => pb::SubscribeResponse {
                    event: Some(event(cursor, &delivered.event)),
                },
                Streamed::Heartbeat { cursor } => pb::SubscribeResponse {
                    event: Some(pb::Event {
                        cursor,
                        event_time: Some(timestamp(chrono::Utc::now())),
                        account_id: String::new(),
                        payload: Some(pb::event::Payload::Heartbeat(pb::Heartbeat {})),
                    }),
                },
            })
        });
        Ok(Response::new(Box::pin(stream)))
    }
}
