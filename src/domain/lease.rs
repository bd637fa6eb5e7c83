//! Account ownership across gateway processes: each authorized account is
//! owned by at most one live instance at a time, under a lease with an
//! epoch. Telegram punishes one auth key used from two places at once
//! (AUTH_KEY_DUPLICATED: the session is gone), so only the owner connects
//! an account; and every write only the owner may make carries the lease
//! it was made under (a [`Fence`]), so an owner that lost its lease — a
//! paused process that woke up — cannot write any more.

use std::fmt;

use chrono::{DateTime, Utc};

use super::{AccountId, TenantId};

/// InstanceId names one gateway process, new at every start.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct InstanceId(String);

impl InstanceId {
    /// new is a fresh id (a UUIDv7: ordered by start).
    pub fn new() -> InstanceId {
        InstanceId(uuid::Uuid::now_v7().to_string())
    }

    pub fn from_stored(id: String) -> InstanceId {
        InstanceId(id)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for InstanceId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for InstanceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Fence is the lease an owner-only write is made under: the store refuses
/// the write (CONFLICT) unless the account's lease is still `owner`'s in
/// `epoch`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Fence {
    pub owner: InstanceId,
    pub epoch: i64,
}

/// Lease is an account's ownership as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub account: AccountId,
    pub tenant: TenantId,
    pub fence: Fence,
    pub expires_at: DateTime<Utc>,
}

/// Instance is a gateway process as the others see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instance {
    pub id: InstanceId,
    /// Its internal address; empty when it serves none.
    pub address: String,
    pub heartbeat_at: DateTime<Utc>,
    pub draining: bool,
    /// It owns accounts (API-only instances do not).
    pub supervises: bool,
}

/// Owner is who keeps an account's live connection, as a call that needs
/// it finds out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Owner {
    /// This instance: the call runs here.
    Here,
    /// Another live instance, reachable at `address` (empty when it serves
    /// no internal address): the call goes there.
    Elsewhere {
        instance: InstanceId,
        address: String,
    },
    /// Nobody holds a lease (the account is not authorized, or between
    /// owners): the call runs here.
    Nobody,
}

/// fair_share is how many of `accounts` an instance should own when
/// `instances` instances own them (at least one owns; the share rounds
/// up, so every account has a place).
pub fn fair_share(accounts: u64, instances: u64) -> u64 {
    accounts.div_ceil(instances.max(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_round_up_so_every_account_has_a_place() {
        assert_eq!(fair_share(30, 3), 10);
        assert_eq!(fair_share(31, 3), 11);
        assert_eq!(fair_share(2, 3), 1);
        assert_eq!(fair_share(0, 3), 0);
        assert_eq!(fair_share(5, 0), 5, "no live instance counts as one");
    }
}
