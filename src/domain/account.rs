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

/// Transition is what happens to an account's login; [`AccountState::after`]
/// is the one place that says which state each leads to, and from where.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    /// Telegram sent a login code (a first login, or a re-login).
    CodeSent,
    /// The code (or a QR scan) was accepted; the 2FA password is needed.
    PasswordRequired,
    /// The login completed: the session is signed in.
    LoggedIn,
    /// Telegram revoked the session.
    Revoked,
    /// The user logged the account out.
    LoggedOut,
}

impl Transition {
    /// name is how the transition is told in events and logs.
    pub fn name(self) -> &'static str {
        match self {
            Transition::CodeSent => "CODE_SENT",
            Transition::PasswordRequired => "PASSWORD_REQUIRED",
            Transition::LoggedIn => "LOGGED_IN",
            Transition::Revoked => "SESSION_REVOKED",
            Transition::LoggedOut => "LOGGED_OUT",
        }
    }
}

impl AccountState {
    /// after is the state `transition` leads to from `self`, or `None` when
    /// it is impossible there:
    /// - a login step never applies to an AUTHORIZED account (it has a live
    ///   session; a second login would replace it under its supervisor);
    /// - only AUTHORIZED becomes REAUTH_REQUIRED (a revocation learnt late,
    ///   after a log-out or a re-login, changes nothing);
    /// - log-out applies from anywhere, once.
    pub fn after(self, transition: Transition) -> Option<AccountState> {
        use AccountState::*;
        match (transition, self) {
            (Transition::CodeSent, Authorized) => None,
            (Transition::CodeSent, _) => Some(LoginCodeRequired),
            (Transition::PasswordRequired, LoginCodeRequired | PasswordRequired) => {
                Some(PasswordRequired)
            }
            (Transition::PasswordRequired, _) => None,
            (Transition::LoggedIn, Authorized) => None,
            (Transition::LoggedIn, _) => Some(Authorized),
            (Transition::Revoked, Authorized) => Some(ReauthRequired),
            (Transition::Revoked, _) => None,
            (Transition::LoggedOut, LoggedOut) => None,
            (Transition::LoggedOut, _) => Some(LoggedOut),
        }
    }
}

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

impl Account {
    /// require_authorized fails unless the account is logged in: a revoked
    /// session needs a new login (REAUTH_REQUIRED), other states are
    /// ACCOUNT_NOT_AUTHORIZED.
    pub fn require_authorized(&self) -> Result<(), super::Error> {
        match self.state {
            AccountState::Authorized => Ok(()),
            AccountState::ReauthRequired => Err(super::Error::ReauthRequired),
            state => Err(super::Error::FailedPrecondition {
                reason: "ACCOUNT_NOT_AUTHORIZED",
                message: format!("the account is {}, not authorized", state.as_str()),
            }),
        }
    }
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
    fn only_authorized_accounts_are_revoked_and_logins_never_hit_a_live_session() {
        use AccountState::*;
        for state in AccountState::ALL {
            let revoked = state.after(Transition::Revoked);
            assert_eq!(revoked.is_some(), *state == Authorized, "{state:?}");
            assert_eq!(
                state.after(Transition::LoggedIn).is_none(),
                *state == Authorized,
                "{state:?}"
            );
            assert_eq!(
                state.after(Transition::CodeSent).is_none(),
                *state == Authorized,
                "{state:?}"
            );
        }
        assert_eq!(Authorized.after(Transition::Revoked), Some(ReauthRequired));
        assert_eq!(ReauthRequired.after(Transition::LoggedOut), Some(LoggedOut));
        assert_eq!(LoggedOut.after(Transition::LoggedOut), None);
        assert_eq!(LoggedOut.after(Transition::PasswordRequired), None);
    }

    #[test]
    fn ids_sort_by_creation() {
        let a = AccountId::new();
        let b = AccountId::new();
        assert!(a.to_string() < b.to_string());
        assert_eq!(a.to_string().parse::<AccountId>().unwrap(), a);
    }
}
