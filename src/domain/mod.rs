//! The domain: tezgram's own types, state machines, errors and ports.
//!
//! Nothing here knows protobuf, tonic, SeaORM, fred or grammers; those live
//! behind the ports (traits) in [`ports`], implemented by `storage/`, `cache/`
//! and `telegram/`, and are converted to and from the wire in `api/`.

pub mod account;
pub mod audit;
pub mod caller;
pub mod chat;
pub mod crm;
pub mod error;
pub mod event;
pub mod lease;
pub mod login;
pub mod media;
pub mod outbox;
pub mod ports;
pub mod trigger;

pub use account::{Account, AccountId, AccountKind, AccountState};
pub use caller::{Caller, PrincipalKind, Scope, TenantId};
pub use error::{Error, FieldViolation};
