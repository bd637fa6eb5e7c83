//! Services: the use cases behind the RPCs. They check the caller's scopes,
//! talk to the ports, and keep the cache consistent with the store.

pub mod accounts;
pub mod audit;
pub mod cached;
pub mod chats;
pub mod contacts;
pub mod crm;
pub mod locks;
pub mod media;
pub mod outbox;
pub mod ownership;
pub mod routing;
#[cfg(feature = "sandbox")]
pub mod sandbox;
pub mod triggers;
pub mod updates;

pub use accounts::Accounts;
pub use audit::{Audit, UserPreferences};
pub use chats::Chats;
pub use contacts::Contacts;
pub use crm::Crm;
pub use media::Files;
pub use outbox::Outbox;
pub use ownership::Ownership;
pub use triggers::Triggers;
pub use updates::Updates;

use chrono::{DateTime, Utc};

use crate::domain::{Caller, Error, Scope};

/// ago is the time `span` before now; the dawn of time for a span too
/// long to say.
pub(crate) fn ago(span: std::time::Duration) -> DateTime<Utc> {
    chrono::Duration::from_std(span)
        .ok()
        .and_then(|span| Utc::now().checked_sub_signed(span))
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// require fails with PERMISSION_DENIED unless the caller holds `scope`.
pub fn require(caller: &Caller, scope: Scope) -> Result<(), Error> {
    if caller.can(scope) {
        Ok(())
    } else {
        Err(Error::PermissionDenied(scope))
    }
}
