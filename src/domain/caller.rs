//! Who is calling: every request is attributed to a (tenant, principal).

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};

/// TenantId is the CRM tenant a row or a caller belongs to. Every row is
/// tenant-scoped; no caller ever sees another tenant's data.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TenantId(String);

impl TenantId {
    /// MAX_LEN bounds tenant ids so they fit in keys and indexes.
    pub const MAX_LEN: usize = 128;

    /// parse accepts 1..=128 characters of `[A-Za-z0-9._:-]`.
    pub fn parse(s: &str) -> Option<Self> {
        let ok = !s.is_empty()
            && s.len() <= Self::MAX_LEN
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'));
        ok.then(|| Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// PrincipalKind says how a caller proved who it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrincipalKind {
    /// A CRM user with a JWT bearer token.
    User,
    /// An internal service with an API key.
    ApiKey,
}

impl PrincipalKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PrincipalKind::User => "user",
            PrincipalKind::ApiKey => "api_key",
        }
    }

    pub fn parse(s: &str) -> Option<PrincipalKind> {
        [PrincipalKind::User, PrincipalKind::ApiKey]
            .into_iter()
            .find(|kind| kind.as_str() == s)
    }
}

/// Scope is a permission an API key (or a JWT's roles) grants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scope {
    AccountsRead,
    AccountsWrite,
    ChatsRead,
    MessagesRead,
    MessagesWrite,
    MediaRead,
    MediaWrite,
    UpdatesRead,
    CrmRead,
    CrmWrite,
    AuditRead,
    Sandbox,
}

impl Scope {
    pub const ALL: &'static [Scope] = &[
        Scope::AccountsRead,
        Scope::AccountsWrite,
        Scope::ChatsRead,
        Scope::MessagesRead,
        Scope::MessagesWrite,
        Scope::MediaRead,
        Scope::MediaWrite,
        Scope::UpdatesRead,
        Scope::CrmRead,
        Scope::CrmWrite,
        Scope::AuditRead,
        Scope::Sandbox,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::AccountsRead => "accounts:read",
            Scope::AccountsWrite => "accounts:write",
            Scope::ChatsRead => "chats:read",
            Scope::MessagesRead => "messages:read",
            Scope::MessagesWrite => "messages:write",
            Scope::MediaRead => "media:read",
            Scope::MediaWrite => "media:write",
            Scope::UpdatesRead => "updates:read",
            Scope::CrmRead => "crm:read",
            Scope::CrmWrite => "crm:write",
            Scope::AuditRead => "audit:read",
            Scope::Sandbox => "sandbox",
        }
    }

    pub fn parse(s: &str) -> Option<Scope> {
        Scope::ALL.iter().copied().find(|scope| scope.as_str() == s)
    }
}

/// Caller is the authenticated (tenant, principal) a request runs as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub tenant: TenantId,
    /// The JWT `sub`, or `api-key:<key id>`.
    pub principal: String,
    pub kind: PrincipalKind,
    pub scopes: BTreeSet<Scope>,
}

impl Caller {
    pub fn can(&self, scope: Scope) -> bool {
        self.scopes.contains(&scope)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_ids_are_bounded_and_plain() {
        assert!(TenantId::parse("acme-42").is_some());
        assert!(TenantId::parse("").is_none());
        assert!(TenantId::parse("a b").is_none());
        assert!(TenantId::parse(&"x".repeat(129)).is_none());
    }

    #[test]
    fn scopes_round_trip() {
        for scope in Scope::ALL {
            assert_eq!(Scope::parse(scope.as_str()), Some(*scope));
        }
        assert_eq!(Scope::parse("accounts:*"), None);
    }
}
