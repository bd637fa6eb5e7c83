//! Triggers: which events they match (kinds and conditions), what they do
//! (a webhook or a stream event), and their webhook deliveries.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::chat::ChatKind;
use super::crm::EntityType;
use super::event::{Event, EventKind, EventPayload};
use super::{AccountId, TenantId};

/// MAX_TRIGGERS is how many triggers a tenant may have.
pub const MAX_TRIGGERS: u64 = 100;
/// MAX_NAME bounds a trigger's name, in characters.
pub const MAX_NAME: usize = 128;
/// MAX_URL bounds a webhook URL, in characters.
pub const MAX_URL: usize = 2048;
/// MAX_TEXT_CONTAINS bounds `text_contains`, in characters.
pub const MAX_TEXT_CONTAINS: usize = 256;
/// MAX_TEXT_REGEX bounds `text_regex`, in characters.
pub const MAX_TEXT_REGEX: usize = 1024;
/// REGEX_SIZE_LIMIT bounds a compiled `text_regex` (bytes of program).
pub const REGEX_SIZE_LIMIT: usize = 1 << 20;
/// MAX_ATTEMPT_LOG is how many attempts a delivery remembers.
pub const MAX_ATTEMPT_LOG: usize = 20;

/// Direction keeps incoming or outgoing messages only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Incoming,
    Outgoing,
}

/// Conditions narrow the events a trigger matches; they combine with AND,
/// and an empty one matches everything.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conditions {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub account_ids: Vec<AccountId>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub chat_ids: Vec<i64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub chat_kinds: Vec<ChatKind>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub direction: Option<Direction>,
    /// Matched case-insensitively (stored as given).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub text_contains: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub text_regex: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub linked_entity_types: Vec<EntityType>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub first_message_from_unlinked_chat: bool,
}

impl Conditions {
    /// regex compiles `text_regex` within [`REGEX_SIZE_LIMIT`]; `None` when
    /// there is none.
    pub fn regex(&self) -> Result<Option<regex::Regex>, String> {
        if self.text_regex.is_empty() {
            return Ok(None);
        }
        regex::RegexBuilder::new(&self.text_regex)
            .size_limit(REGEX_SIZE_LIMIT)
            .dfa_size_limit(REGEX_SIZE_LIMIT)
            .build()
            .map(Some)
            .map_err(|err| err.to_string())
    }

    /// needs_text tells whether only message events can match.
    fn about_messages(&self) -> bool {
        self.direction.is_some()
            || !self.text_contains.is_empty()
            || !self.text_regex.is_empty()
            || self.first_message_from_unlinked_chat
    }

    /// needs_facts tells whether matching must look at the stored chat.
    pub fn needs_facts(&self) -> bool {
        !self.chat_kinds.is_empty()
            || !self.linked_entity_types.is_empty()
            || self.first_message_from_unlinked_chat
    }
}

/// ChatFacts is what matching reads from the store about an event's chat.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChatFacts {
    pub kind: Option<ChatKind>,
    pub linked_types: Vec<EntityType>,
    /// The chat has no stored message older than the event's message.
    pub first_message: bool,
}

/// Action is what a trigger does when it fires.
#[derive(Clone, PartialEq, Eq)]
pub enum Action {
    /// Only the `trigger_fired` event on the stream.
    Stream,
    /// The event, POSTed and signed (Standard Webhooks).
    Webhook(Webhook),
}

/// Webhook is where a trigger POSTs and the secrets it signs with, sealed
/// (they are opened only to sign).
#[derive(Clone, PartialEq, Eq)]
pub struct Webhook {
    pub url: String,
    pub secret: SealedSecret,
    /// The secret a rotation replaced, and until when it signs too.
    pub previous: Option<(SealedSecret, DateTime<Utc>)>,
}

/// SealedSecret is a webhook secret sealed at rest (`crypto::Sealer`, with
/// the trigger's id as associated data), with the id of the key that
/// sealed it.
#[derive(Clone, PartialEq, Eq)]
pub struct SealedSecret {
    pub sealed: Vec<u8>,
    pub key_id: String,
}

impl std::fmt::Debug for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Action::Stream => f.write_str("Stream"),
            Action::Webhook(webhook) => f
                .debug_struct("Webhook")
                .field("url", &webhook.url)
                .field("secret", &"<redacted>")
                .finish(),
        }
    }
}

/// WebhookSecret is a Standard Webhooks signing secret: 24 to 64 bytes,
/// written `whsec_` + base64. It never prints.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookSecret(Zeroizing<Vec<u8>>);

impl WebhookSecret {
    pub const PREFIX: &'static str = "whsec_";

    /// parse reads `whsec_` + the base64 of 24 to 64 bytes.
    pub fn parse(text: &str) -> Result<WebhookSecret, &'static str> {
        use base64::Engine;
        let invalid = "must be \"whsec_\" and the base64 of 24 to 64 random bytes";
        let encoded = text.strip_prefix(Self::PREFIX).ok_or(invalid)?;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .map_err(|_| invalid)?;
        Self::from_bytes(bytes).ok_or(invalid)
    }

    pub fn from_bytes(bytes: Vec<u8>) -> Option<WebhookSecret> {
        (24..=64)
            .contains(&bytes.len())
            .then(|| WebhookSecret(Zeroizing::new(bytes)))
    }

    /// generate makes a new random 32-byte secret.
    pub fn generate() -> WebhookSecret {
        use rand::RngCore;
        let mut bytes = vec![0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        WebhookSecret(Zeroizing::new(bytes))
    }

    pub fn bytes(&self) -> &[u8] {
        &self.0
    }

    /// expose is the secret as the caller writes it (`whsec_…`): only for
    /// the one answer that hands a generated secret over.
    pub fn expose(&self) -> Zeroizing<String> {
        use base64::Engine;
        Zeroizing::new(format!(
            "{}{}",
            Self::PREFIX,
            base64::engine::general_purpose::STANDARD.encode(self.bytes())
        ))
    }
}

impl std::fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebhookSecret(<redacted>)")
    }
}

/// Trigger runs an action when an event of its kinds matches its conditions.
#[derive(Debug, Clone, PartialEq)]
pub struct Trigger {
    /// A UUIDv7: its text order is creation order.
    pub id: String,
    pub tenant: TenantId,
    pub name: String,
    pub kinds: Vec<EventKind>,
    pub conditions: Conditions,
    pub action: Action,
    pub enabled: bool,
    pub disabled_reason: Option<String>,
    pub request_id: Option<String>,
    /// Events at or below this position are never matched: a trigger
    /// starts with the events appended after it was created.
    pub after_position: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Matcher is a trigger ready to look at events (its regex compiled once).
pub struct Matcher<'t> {
    pub trigger: &'t Trigger,
    regex: Option<regex::Regex>,
    contains: String,
}

impl<'t> Matcher<'t> {
    pub fn new(trigger: &'t Trigger) -> Matcher<'t> {
        Matcher {
            // A stored regex compiled when it was written; one that no
            // longer does (a newer regex crate) matches nothing.
            regex: trigger.conditions.regex().unwrap_or(None),
            contains: trigger.conditions.text_contains.to_lowercase(),
            trigger,
        }
    }

    /// prefilter is everything that can be decided from the event alone.
    pub fn prefilter(&self, event: &Event) -> bool {
        let trigger = self.trigger;
        let c = &trigger.conditions;
        let kind = event.payload.kind();
        if !trigger.enabled
            || event.position <= trigger.after_position
            || kind == EventKind::TriggerFired
            || !trigger.kinds.contains(&kind)
        {
            return false;
        }
        if !c.account_ids.is_empty() && !event.account.is_some_and(|a| c.account_ids.contains(&a)) {
            return false;
        }
        if !c.chat_ids.is_empty()
            && !event
                .payload
                .chat_id()
                .is_some_and(|chat| c.chat_ids.contains(&chat))
        {
            return false;
        }
        if (c.needs_facts() || c.about_messages()) && event.payload.chat_id().is_none() {
            return false;
        }
        if !c.about_messages() {
            return true;
        }
        let message = match &event.payload {
            EventPayload::MessageCreated { message }
            | EventPayload::MessageEdited { message }
            | EventPayload::MessageSendFailed { message } => message,
            _ => return false,
        };
        match c.direction {
            Some(Direction::Incoming) if message.outgoing => return false,
            Some(Direction::Outgoing) if !message.outgoing => return false,
            _ => {}
        }
        if c.first_message_from_unlinked_chat
            && (message.outgoing || kind != EventKind::MessageCreated)
        {
            return false;
        }
        if !self.contains.is_empty() && !message.text.to_lowercase().contains(&self.contains) {
            return false;
        }
        if !c.text_regex.is_empty()
            && !self
                .regex
                .as_ref()
                .is_some_and(|regex| regex.is_match(&message.text))
        {
            return false;
        }
        true
    }

    /// matches decides with what the store says about the chat.
    pub fn matches(&self, facts: &ChatFacts) -> bool {
        let c = &self.trigger.conditions;
        if !c.chat_kinds.is_empty() && !facts.kind.is_some_and(|k| c.chat_kinds.contains(&k)) {
            return false;
        }
        if !c.linked_entity_types.is_empty()
            && !facts
                .linked_types
                .iter()
                .any(|t| c.linked_entity_types.contains(t))
        {
            return false;
        }
        if c.first_message_from_unlinked_chat
            && (!facts.first_message || !facts.linked_types.is_empty())
        {
            return false;
        }
        true
    }
}

/// Firing is one trigger matching one event, about to be recorded.
#[derive(Debug, Clone)]
pub struct Firing {
    pub trigger_id: String,
    pub trigger_name: String,
    pub tenant: TenantId,
    pub event: Event,
    /// A webhook trigger's delivery: its id (UUIDv7) and URL; `None` for a
    /// stream trigger.
    pub delivery: Option<(String, String)>,
}

/// DeliveryState is where a webhook delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryState {
    Pending,
    Retrying,
    Succeeded,
    Failed,
}

impl DeliveryState {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Pending => "pending",
            DeliveryState::Retrying => "retrying",
            DeliveryState::Succeeded => "succeeded",
            DeliveryState::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<DeliveryState> {
        [
            DeliveryState::Pending,
            DeliveryState::Retrying,
            DeliveryState::Succeeded,
            DeliveryState::Failed,
        ]
        .into_iter()
        .find(|state| state.as_str() == s)
    }
}

/// Attempt is one HTTP request of a delivery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attempt {
    pub at: DateTime<Utc>,
    /// 0: no response.
    pub status: u16,
    pub latency_ms: u32,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub error: String,
}

/// Delivery is one trigger_fired event sent (or being sent) to a webhook.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    pub id: String,
    pub tenant: TenantId,
    pub trigger_id: String,
    /// The position of the trigger_fired event delivered.
    pub event_position: i64,
    pub url: String,
    /// The body, fixed at the first attempt (every attempt sends it).
    pub body: String,
    pub state: DeliveryState,
    pub attempts: i32,
    pub next_attempt_at: DateTime<Utc>,
    pub give_up_at: DateTime<Utc>,
    pub last_status: Option<i32>,
    pub last_error: Option<String>,
    pub last_attempt_at: Option<DateTime<Utc>>,
    pub last_latency_ms: Option<i32>,
    pub log: Vec<Attempt>,
    pub created_at: DateTime<Utc>,
}

/// Outcome is how an attempt ended, as the delivery records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Delivered,
    /// Try again at this time.
    Retry(DateTime<Utc>),
    /// Failed for good; `disable` when the endpoint is gone (410).
    GiveUp {
        disable: bool,
    },
}

/// backoff is the wait before retry `n` (1-based): `first` doubling up to
/// `max`, each with up to 20% jitter either way.
pub fn backoff(
    n: i32,
    first: std::time::Duration,
    max: std::time::Duration,
) -> std::time::Duration {
    use rand::Rng;
    let doublings = u32::try_from(n.saturating_sub(1)).unwrap_or(0).min(30);
    let base = first.saturating_mul(1u32 << doublings).min(max);
    let jitter = rand::rng().random_range(0.8..=1.2);
    base.mul_f64(jitter)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::chat::{Message, MessageState};

    fn message(outgoing: bool, text: &str) -> Message {
        Message {
            account_id: AccountId::from(uuid::Uuid::nil()),
            chat_id: 42,
            message_id: 7,
            sender_id: Some(1),
            outgoing,
            text: text.into(),
            entities: Vec::new(),
            media: None,
            reply_to: None,
            forward: None,
            grouped_id: None,
            action: None,
            sent_at: Utc::now(),
            edited_at: None,
            views: None,
            state: MessageState::Sent,
            request_id: None,
            error_reason: None,
        }
    }

    fn event(position: i64, payload: EventPayload) -> Event {
        Event {
            position,
            tenant: TenantId::parse("acme").unwrap(),
            account: Some(AccountId::from(uuid::Uuid::nil())),
            payload,
            time: Utc::now(),
        }
    }

    fn trigger(conditions: Conditions) -> Trigger {
        Trigger {
            id: "t".into(),
            tenant: TenantId::parse("acme").unwrap(),
            name: "n".into(),
            kinds: vec![EventKind::MessageCreated],
            conditions,
            action: Action::Stream,
            enabled: true,
            disabled_reason: None,
            request_id: None,
            after_position: 10,
            created_at: Utc::now(),
            updated_at: Utc::now(),
        }
    }

    fn created(position: i64, outgoing: bool, text: &str) -> Event {
        event(
            position,
            EventPayload::MessageCreated {
                message: Box::new(message(outgoing, text)),
            },
        )
    }

    #[test]
    fn a_trigger_sees_only_events_of_its_kinds_after_it_was_created() {
        let t = trigger(Conditions::default());
        let m = Matcher::new(&t);
        assert!(!m.prefilter(&created(10, false, "hi")), "before it existed");
        assert!(m.prefilter(&created(11, false, "hi")));
        let read = event(
            12,
            EventPayload::Read {
                chat_id: 42,
                max_message_id: 7,
                outgoing: false,
                unread_count: 0,
            },
        );
        assert!(!m.prefilter(&read), "another kind");
        let mut paused = t.clone();
        paused.enabled = false;
        assert!(!Matcher::new(&paused).prefilter(&created(11, false, "hi")));
    }

    #[test]
    fn text_conditions_match_case_insensitively_and_by_regex() {
        let t = trigger(Conditions {
            text_contains: "Invoice".into(),
            direction: Some(Direction::Incoming),
            ..Default::default()
        });
        let m = Matcher::new(&t);
        assert!(m.prefilter(&created(11, false, "where is my INVOICE?")));
        assert!(!m.prefilter(&created(11, true, "your invoice")), "outgoing");
        assert!(!m.prefilter(&created(11, false, "hello")));
        let t = trigger(Conditions {
            text_regex: r"(?i)order\s+#\d+".into(),
            ..Default::default()
        });
        let m = Matcher::new(&t);
        assert!(m.prefilter(&created(11, false, "about Order  #123")));
        assert!(!m.prefilter(&created(11, false, "about order 123")));
    }

    #[test]
    fn oversized_or_unsupported_regexes_are_refused() {
        let huge = Conditions {
            text_regex: r"\w{1000}\w{1000}\w{1000}".into(),
            ..Default::default()
        };
        assert!(huge.regex().is_err());
        let lookaround = Conditions {
            text_regex: r"(?=x)".into(),
            ..Default::default()
        };
        assert!(lookaround.regex().is_err());
    }

    #[test]
    fn first_messages_of_unlinked_chats_need_both_facts() {
        let t = trigger(Conditions {
            first_message_from_unlinked_chat: true,
            ..Default::default()
        });
        let m = Matcher::new(&t);
        assert!(m.prefilter(&created(11, false, "hi")));
        assert!(!m.prefilter(&created(11, true, "hi")), "outgoing");
        let first = ChatFacts {
            first_message: true,
            ..Default::default()
        };
        assert!(m.matches(&first));
        assert!(!m.matches(&ChatFacts::default()), "not the first message");
        let linked = ChatFacts {
            first_message: true,
            linked_types: vec![EntityType::Deal],
            ..Default::default()
        };
        assert!(!m.matches(&linked), "the chat is linked");
    }

    #[test]
    fn secrets_read_the_standard_format_and_never_print() {
        let secret = WebhookSecret::parse("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD").unwrap();
        assert_eq!(secret.bytes().len(), 24);
        assert_eq!(&*secret.expose(), "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD");
        assert!(!format!("{secret:?}").contains("C2FV"));
        assert!(WebhookSecret::parse("C2FVsBQIhrscChlQIMV+b5sSYspob7oD").is_err());
        assert!(WebhookSecret::parse("whsec_c2hvcnQ=").is_err(), "5 bytes");
        assert_eq!(WebhookSecret::generate().bytes().len(), 32);
    }

    #[test]
    fn backoff_doubles_to_its_cap_with_jitter() {
        let (first, max) = (
            std::time::Duration::from_secs(10),
            std::time::Duration::from_secs(3600),
        );
        for (n, base) in [(1, 10.0), (2, 20.0), (3, 40.0), (20, 3600.0)] {
            let wait = backoff(n, first, max).as_secs_f64();
            assert!((base * 0.8..=base * 1.2).contains(&wait), "{n}: {wait}");
        }
    }
}
