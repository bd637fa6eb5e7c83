//! Telegram accounts connected to the gateway, and their login life cycle.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::caller::TenantId;

/// AccountId is the gateway's id of an account: a UUIDv7, so ids sort by
/// creation time, which is what list pagination relies on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AccountId(Uuid);

impl AccountId {
    /// new makes a fresh, time-ordered id.
    pub fn new() -> Self {
        Self(Uuid::now_v7())
    }

    pub fn as_uuid(&self) -> Uuid {
        self.0
    }
}

impl Default for AccountId {
    fn default() -> Self {
        Self::new()
    }
}

impl From<Uuid> for AccountId {
    fn from(id: Uuid) -> Self {
        Self(id)
    }
}

impl FromStr for AccountId {
    type Err = uuid::Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Uuid::try_parse(s).map(Self)
    }
}

impl fmt::Display for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Hyphenated lowercase: the form stored in the database, whose text
        // order equals creation order for UUIDv7.
        self.0.hyphenated().fmt(f)
    }
}

/// AccountKind is what kind of Telegram account an account is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountKind {
    User,
    Bot,
}

/// AccountState is where an account stands in its login life cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountState {
    LoginCodeRequired,
    PasswordRequired,
    Authorized,
    ReauthRequired,
    LoggedOut,
}

/// Stored names of the enums: stable strings, independent of proto numbering.
macro_rules! stored_enum {
    ($ty:ident { $($variant:ident => $name:literal),+ $(,)? }) => {
        impl $ty {
            pub const ALL: &'static [$ty] = &[$($ty::$variant),+];

            /// as_str is the name stored in the database.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($ty::$variant => $name),+
                }
            }
        }

        impl FromStr for $ty {
            type Err = UnknownName;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($name => Ok($ty::$variant),)+
                    _ => Err(UnknownName(s.to_owned())),
                }
            }
        }
    };
}

stored_enum!(AccountKind { User => "user", Bot => "bot" });
stored_enum!(AccountState {
    LoginCodeRequired => "login_code_required",
    PasswordRequired => "password_required",
    Authorized => "authorized",
    ReauthRequired => "reauth_required",
    LoggedOut => "logged_out",
});

/// UnknownName is a stored enum name this build does not know, which means
/// the database was written by a newer version.
#[derive(Debug, thiserror::Error)]
#[error("unknown stored name {0:?}")]
pub struct UnknownName(pub String);

/// Account is a Telegram account connected to the gateway, as callers see it.
/// Secrets (session, login state) are not part of it; they stay in storage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Account {
    pub id: AccountId,
    pub tenant: TenantId,
    pub kind: AccountKind,
    pub state: AccountState,
    /// E.164 digits without "+"; `None` for bots.
    pub phone_number: Option<String>,
    /// Set once authorized.
    pub telegram_user_id: Option<i64>,
    pub username: Option<String>,
    pub display_name: String,
    /// The 2FA hint, only meaningful in `PasswordRequired`.
    pub password_hint: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_names_round_trip() {
        for state in AccountState::ALL {
            assert_eq!(state.as_str().parse::<AccountState>().unwrap(), *state);
        }
        for kind in AccountKind::ALL {
            assert_eq!(kind.as_str().parse::<AccountKind>().unwrap(), *kind);
        }
        assert!("authorised".parse::<AccountState>().is_err());
    }

    #[test]
    fn ids_sort_by_creation() {
        let a = AccountId::new();
        let b = AccountId::new();
        assert!(a.to_string() < b.to_string());
        assert_eq!(a.to_string().parse::<AccountId>().unwrap(), a);
    }
}
