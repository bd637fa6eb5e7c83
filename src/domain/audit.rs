//! The audit log: who (tenant, principal) did what to which account and
//! chat, and when; and each principal's preferences.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::event::EventKind;
use super::{AccountId, Caller, PrincipalKind, TenantId};

/// AuditAction is what an audited call did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuditAction {
    MessageSent,
    MessageEdited,
    MessagesDeleted,
    MessagesForwarded,
    ChatRead,
    ChatLinked,
    ChatUnlinked,
    TriggerCreated,
    TriggerUpdated,
    TriggerDeleted,
    WebhookRedelivered,
    LoginStarted,
    LoggedIn,
    LoggedOut,
    AccountDeleted,
    AuthorizationTerminated,
}

impl AuditAction {
    pub const ALL: &'static [AuditAction] = &[
        AuditAction::MessageSent,
        AuditAction::MessageEdited,
        AuditAction::MessagesDeleted,
        AuditAction::MessagesForwarded,
        AuditAction::ChatRead,
        AuditAction::ChatLinked,
        AuditAction::ChatUnlinked,
        AuditAction::TriggerCreated,
        AuditAction::TriggerUpdated,
        AuditAction::TriggerDeleted,
        AuditAction::WebhookRedelivered,
        AuditAction::LoginStarted,
        AuditAction::LoggedIn,
        AuditAction::LoggedOut,
        AuditAction::AccountDeleted,
        AuditAction::AuthorizationTerminated,
    ];

    /// as_str is the stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            AuditAction::MessageSent => "message.sent",
            AuditAction::MessageEdited => "message.edited",
            AuditAction::MessagesDeleted => "messages.deleted",
            AuditAction::MessagesForwarded => "messages.forwarded",
            AuditAction::ChatRead => "chat.read",
            AuditAction::ChatLinked => "chat.linked",
            AuditAction::ChatUnlinked => "chat.unlinked",
            AuditAction::TriggerCreated => "trigger.created",
            AuditAction::TriggerUpdated => "trigger.updated",
            AuditAction::TriggerDeleted => "trigger.deleted",
            AuditAction::WebhookRedelivered => "webhook.redelivered",
            AuditAction::LoginStarted => "login.started",
            AuditAction::LoggedIn => "login.completed",
            AuditAction::LoggedOut => "account.logged_out",
            AuditAction::AccountDeleted => "account.deleted",
            AuditAction::AuthorizationTerminated => "authorization.terminated",
        }
    }

    pub fn parse(s: &str) -> Option<AuditAction> {
        AuditAction::ALL
            .iter()
            .copied()
            .find(|action| action.as_str() == s)
    }
}

/// NewAuditEntry is an entry about to be recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAuditEntry {
    pub tenant: TenantId,
    pub principal: String,
    pub principal_kind: PrincipalKind,
    pub action: AuditAction,
    pub account: Option<AccountId>,
    pub chat_id: Option<i64>,
    /// Never a message text, a code, a password or a secret.
    pub details: BTreeMap<String, String>,
}

impl NewAuditEntry {
    /// by starts an entry of what `caller` did.
    pub fn by(caller: &Caller, action: AuditAction) -> NewAuditEntry {
        NewAuditEntry {
            tenant: caller.tenant.clone(),
            principal: caller.principal.clone(),
            principal_kind: caller.kind,
            action,
            account: None,
            chat_id: None,
            details: BTreeMap::new(),
        }
    }

    pub fn account(mut self, account: AccountId) -> Self {
        self.account = Some(account);
        self
    }

    pub fn chat(mut self, account: AccountId, chat_id: i64) -> Self {
        self.account = Some(account);
        self.chat_id = Some(chat_id);
        self
    }

    pub fn detail(mut self, key: &str, value: impl ToString) -> Self {
        self.details.insert(key.to_owned(), value.to_string());
        self
    }
}

/// id_list writes ids as an entry's details do: comma-separated.
pub fn id_list(ids: &[i64]) -> String {
    ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",")
}

/// AuditEntry is a recorded entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    pub id: i64,
    pub entry: NewAuditEntry,
    pub at: DateTime<Utc>,
}

/// AuditFilter narrows a listing of one tenant's entries.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    pub account: Option<AccountId>,
    pub principal: Option<String>,
    pub actions: Vec<AuditAction>,
    /// At or after.
    pub from: Option<DateTime<Utc>>,
    /// Before.
    pub to: Option<DateTime<Utc>>,
}

/// MAX_SIGNATURE bounds a signature, in UTF-16 code units.
pub const MAX_SIGNATURE: usize = 256;

/// Preferences are one (tenant, principal)'s settings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Preferences {
    pub default_account: Option<AccountId>,
    /// Empty for none.
    pub signature: String,
    pub notify_kinds: Vec<EventKind>,
    /// `None` until they are first set.
    pub updated_at: Option<DateTime<Utc>>,
}

impl Preferences {
    /// signed is `text` with the signature appended after a blank line, or
    /// `text` alone when there is no signature.
    pub fn signed(&self, text: &str) -> String {
        if self.signature.is_empty() {
            return text.to_owned();
        }
        if text.is_empty() {
            return self.signature.clone();
        }
        format!("{text}\n\n{}", self.signature)
    }
}

/// PreferencesChange is what UpdatePreferences' mask asks for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PreferencesChange {
    pub default_account: Option<Option<AccountId>>,
    pub signature: Option<String>,
    pub notify_kinds: Option<Vec<EventKind>>,
}

impl PreferencesChange {
    pub fn is_empty(&self) -> bool {
        self.default_account.is_none() && self.signature.is_none() && self.notify_kinds.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_round_trip_their_stored_names() {
        for action in AuditAction::ALL {
            assert_eq!(AuditAction::parse(action.as_str()), Some(*action));
        }
        assert_eq!(AuditAction::parse("message.read"), None);
    }

    #[test]
    fn a_signature_follows_the_text_after_a_blank_line() {
        let mut prefs = Preferences::default();
        assert_eq!(prefs.signed("hello"), "hello");
        prefs.signature = "— Ann, Acme support".into();
        assert_eq!(prefs.signed("hello"), "hello\n\n— Ann, Acme support");
        assert_eq!(prefs.signed(""), "— Ann, Acme support", "a bare caption");
    }
}
