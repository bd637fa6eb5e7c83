//! The domain's error: what went wrong, in terms a caller can act on.
//! `api/error.rs` maps it to a gRPC `Status` exactly once.

use std::time::Duration;

use super::ports::{CacheError, StoreError};

/// FieldViolation names one bad field of a request and why it is bad.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldViolation {
    /// The field path as the caller wrote it, e.g. `page_size`.
    pub field: String,
    pub description: String,
}

impl FieldViolation {
    pub fn new(field: impl Into<String>, description: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            description: description.into(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The request is malformed; nothing was written.
    #[error("invalid argument")]
    InvalidArgument(Vec<FieldViolation>),
    /// No such resource in the caller's tenant (other tenants' ids land here too).
    #[error("{resource} not found")]
    NotFound { resource: &'static str },
    /// The caller presented no usable credentials.
    #[error("unauthenticated: {0}")]
    Unauthenticated(&'static str),
    /// The caller is known but lacks a scope.
    #[error("permission denied: missing scope {}", .0.as_str())]
    PermissionDenied(super::Scope),
    /// The caller (or Telegram, for us) must wait before retrying.
    #[error("rate limited")]
    RateLimited { retry_after: Duration },
    /// The capability exists in the contract but a later release implements it.
    #[error("{rpc} is not implemented yet")]
    NotImplementedYet { rpc: &'static str },
    /// Input that Telegram refused (a wrong code, password, phone number or
    /// bot token): INVALID_ARGUMENT on `field`, with a specific reason.
    #[error("{field}: {description}")]
    InvalidInput {
        reason: &'static str,
        field: &'static str,
        description: String,
    },
    /// Telegram asks this account to wait before calling again.
    #[error("telegram flood wait")]
    FloodWait { retry_after: Duration },
    /// Telegram revoked the account's session; the user must log in again.
    #[error("the account must log in again")]
    ReauthRequired,
    /// The request is well-formed, but the resource's state does not allow it.
    #[error("{message}")]
    FailedPrecondition {
        reason: &'static str,
        message: String,
    },
    /// A dependency (Telegram, usually) cannot be reached; retryable.
    #[error("{0} unavailable")]
    Unavailable(String),
    /// A bug, or an answer we did not expect; details stay in the log.
    #[error("internal error: {0}")]
    Internal(String),
    /// The Telegram user (or bot) is already connected as this authorized
    /// account of the tenant.
    #[error("the telegram user is already connected as account {account_id}")]
    AccountExists { account_id: super::AccountId },
    /// A per-tenant cap is reached; waiting alone does not help.
    #[error("{quota} of {limit} reached")]
    QuotaExceeded { quota: &'static str, limit: u32 },
    /// SandboxService was called on a gateway that talks to real Telegram
    /// (or was built without the sandbox).
    #[error("the sandbox dc is disabled")]
    SandboxDisabled,
    /// An upload has fewer bytes than the call needs (a chunk past them,
    /// or completion before all of them): FAILED_PRECONDITION with
    /// `received_bytes`, where the client resumes.
    #[error("the upload has {received_bytes} bytes")]
    UploadBehind {
        reason: &'static str,
        received_bytes: i64,
    },
    /// A position past the end of what it points into (a download's
    /// offset past the file).
    #[error("{field}: {description}")]
    OutOfRange {
        field: &'static str,
        description: String,
    },
    /// The call needs the account's live Telegram connection, and another
    /// gateway instance owns it (reachable at `address`, empty when it
    /// serves no internal address): the API forwards the call there.
    #[error("the account is connected by instance {instance}")]
    OwnedElsewhere { instance: String, address: String },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Cache(#[from] CacheError),
}

impl Error {
    /// invalid is the shorthand for a single bad field.
    pub fn invalid(field: impl Into<String>, description: impl Into<String>) -> Self {
        Error::InvalidArgument(vec![FieldViolation::new(field, description)])
    }
}
