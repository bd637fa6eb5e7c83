//! Events: the ordered log behind resumable update streams. Only account
//! state changes are produced so far; messages, reads and the rest arrive
//! with the real-time capability.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::account::{AccountId, AccountState};
use super::caller::TenantId;

/// EventPayload is what happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EventPayload {
    /// An account's login state changed (authorized, revoked, logged out…).
    AccountStateChanged {
        state: AccountState,
        /// The state it left; absent in events written before it was recorded.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        previous_state: Option<AccountState>,
        /// Why, in a few words (e.g. `AUTH_KEY_UNREGISTERED`).
        reason: String,
    },
}

impl EventPayload {
    /// kind is the stored kind, for filtering without decoding the payload.
    pub fn kind(&self) -> &'static str {
        match self {
            EventPayload::AccountStateChanged { .. } => "account_state_changed",
        }
    }
}

/// Event is one entry of the log; `position` orders the log.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub position: i64,
    pub tenant: TenantId,
    pub account: Option<AccountId>,
    pub payload: EventPayload,
    pub time: DateTime<Utc>,
}
