//! The one mapping from domain errors to gRPC `Status` (AIP-193): every
//! error carries `google.rpc.ErrorInfo` with an UPPER_SNAKE reason in domain
//! `telegram.tez.dev`; validation errors add `BadRequest` field violations,
//! waits add `RetryInfo`. The reasons are `ErrorReason` in `errors.proto`
//! without the `ERROR_REASON_` prefix.

use std::collections::HashMap;
use std::time::Duration;

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

use crate::domain::Error;
use crate::domain::ports::{CacheError, StoreError};

/// DOMAIN is the ErrorInfo domain of every tezgram error.
pub const DOMAIN: &str = "telegram.tez.dev";

fn status(
    code: Code,
    reason: &str,
    message: impl Into<String>,
    metadata: &[(&str, String)],
    build: impl FnOnce(&mut ErrorDetails),
) -> Status {
    let metadata: HashMap<String, String> = metadata
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect();
    let mut details = ErrorDetails::new();
    details.set_error_info(reason, DOMAIN, metadata);
    build(&mut details);
    Status::with_error_details(code, message, details)
}

fn retry_after(retry_after: Duration) -> Duration {
    // A zero RetryInfo would invite a hot loop; a second is the smallest wait we advertise.
    retry_after.max(Duration::from_secs(1))
}

impl From<Error> for Status {
    fn from(err: Error) -> Status {
        match err {
            Error::InvalidArgument(violations) => {
                let message = violations
                    .iter()
                    .map(|v| format!("{}: {}", v.field, v.description))
                    .collect::<Vec<_>>()
                    .join("; ");
                let fields = violations
                    .iter()
                    .map(|v| v.field.as_str())
                    .collect::<Vec<_>>()
                    .join(",");
                status(
                    Code::InvalidArgument,
                    "INVALID_ARGUMENT",
                    format!("invalid argument: {message}"),
                    &[("fields", fields)],
                    |details| {
                        for v in &violations {
                            details.add_bad_request_violation(&v.field, &v.description);
                        }
                    },
                )
            }
            Error::NotFound { resource } => status(
                Code::NotFound,
                "NOT_FOUND",
                format!("{resource} not found"),
                &[("resource", resource.to_owned())],
                |_| {},
            ),
            Error::Unauthenticated(why) => {
                status(Code::Unauthenticated, "UNAUTHENTICATED", why, &[], |_| {})
            }
            Error::PermissionDenied(scope) => status(
                Code::PermissionDenied,
                "PERMISSION_DENIED",
                format!("missing scope {}", scope.as_str()),
                &[("scope", scope.as_str().to_owned())],
                |_| {},
            ),
            Error::RateLimited { retry_after: wait } => {
                let wait = retry_after(wait);
                status(
                    Code::ResourceExhausted,
                    "RATE_LIMITED",
                    format!("rate limited, retry in {}s", wait.as_secs()),
                    &[("retry_after_seconds", wait.as_secs().to_string())],
                    |details| {
                        details.set_retry_info(Some(wait));
                    },
                )
            }
            Error::NotImplementedYet { rpc } => status(
                Code::Unimplemented,
                "NOT_IMPLEMENTED_YET",
                format!("{rpc} is part of the v1 contract but not implemented in this release"),
                &[("rpc", rpc.to_owned())],
                |_| {},
            ),
            Error::InvalidInput {
                reason,
                field,
                description,
            } => status(
                Code::InvalidArgument,
                reason,
                format!("invalid argument: {field}: {description}"),
                &[("fields", field.to_owned())],
                |details| {
                    details.add_bad_request_violation(field, &description);
                },
            ),
            Error::FloodWait { retry_after: wait } => {
                let wait = retry_after(wait);
                status(
                    Code::ResourceExhausted,
                    "FLOOD_WAIT",
                    format!("telegram asks to wait {}s", wait.as_secs()),
                    &[("retry_after_seconds", wait.as_secs().to_string())],
                    |details| {
                        details.set_retry_info(Some(wait));
                    },
                )
            }
            Error::ReauthRequired => status(
                Code::FailedPrecondition,
                "REAUTH_REQUIRED",
                "telegram revoked this account's session; log in again with StartLogin",
                &[],
                |_| {},
            ),
            Error::FailedPrecondition { reason, message } => {
                status(Code::FailedPrecondition, reason, message, &[], |_| {})
            }
            Error::OutOfRange { field, description } => status(
                Code::OutOfRange,
                "INVALID_ARGUMENT",
                format!("{field}: {description}"),
                &[("fields", field.to_owned())],
                |details| {
                    details.add_bad_request_violation(field, &description);
                },
            ),
            Error::UploadBehind {
                reason,
                received_bytes,
            } => status(
                Code::FailedPrecondition,
                reason,
                format!(
                    "the upload has {received_bytes} bytes; continue from offset {received_bytes}"
                ),
                &[("received_bytes", received_bytes.to_string())],
                |_| {},
            ),
            Error::Unavailable(what) => {
                tracing::warn!(what = %what, "dependency unavailable");
                status(
                    Code::Unavailable,
                    "UNAVAILABLE",
                    format!("{what} is unavailable, retry later"),
                    &[],
                    |_| {},
                )
            }
            Error::Internal(detail) => {
                tracing::error!(error = %detail, "internal error");
                status(Code::Internal, "INTERNAL", "internal error", &[], |_| {})
            }
            Error::AccountExists { account_id } => status(
                Code::AlreadyExists,
                "ALREADY_EXISTS",
                format!("this telegram user is already connected as account {account_id}"),
                &[
                    ("resource", "account".to_owned()),
                    ("account_id", account_id.to_string()),
                ],
                |_| {},
            ),
            Error::QuotaExceeded { quota, limit } => status(
                Code::ResourceExhausted,
                "QUOTA_EXCEEDED",
                format!("the tenant reached its {quota} limit of {limit}"),
                &[("quota", quota.to_owned()), ("limit", limit.to_string())],
                |_| {},
            ),
            Error::SandboxDisabled if cfg!(feature = "sandbox") => status(
                Code::FailedPrecondition,
                "SANDBOX_DISABLED",
                "the sandbox dc is disabled on this gateway (it talks to real Telegram)",
                &[],
                |_| {},
            ),
            // No configuration turns it on: SandboxService is not served.
            Error::SandboxDisabled => status(
                Code::Unimplemented,
                "SANDBOX_DISABLED",
                "this gateway was built without the sandbox feature (it talks to real Telegram only)",
                &[],
                |_| {},
            ),
            Error::OwnedElsewhere { instance, address } => {
                // What the forwarder reads to reach the owner; it removes
                // this before a client could see it.
                let mut status = status(
                    Code::Unavailable,
                    "UNAVAILABLE",
                    "the account's connection is kept by another gateway instance, retry later",
                    &[],
                    |_| {},
                );
                if let (Ok(instance), Ok(address)) = (instance.parse(), address.parse()) {
                    status.metadata_mut().insert(OWNER_INSTANCE, instance);
                    status.metadata_mut().insert(OWNER_ADDRESS, address);
                }
                status
            }
            Error::Store(err) => store_status(err),
            Error::Cache(err) => cache_status(err),
        }
    }
}

/// OWNER_INSTANCE and OWNER_ADDRESS carry, on a status made from
/// `Error::OwnedElsewhere`, where the call should go instead (internal:
/// stripped before a client sees the status).
pub const OWNER_INSTANCE: &str = "x-tezgram-owner-instance";
pub const OWNER_ADDRESS: &str = "x-tezgram-owner-address";

/// unidentified_peer answers a request whose peer address is unknown, so it
/// cannot be rate limited; it is refused rather than let through unlimited.
pub fn unidentified_peer() -> Status {
    status(
        Code::Internal,
        "INTERNAL",
        "cannot identify the peer of this request",
        &[],
        |_| {},
    )
}

fn store_status(err: StoreError) -> Status {
    match err {
        StoreError::NotFound { resource } => Status::from(Error::NotFound { resource }),
        StoreError::AlreadyExists { resource } => status(
            Code::AlreadyExists,
            "ALREADY_EXISTS",
            format!("{resource} already exists"),
            &[("resource", resource.to_owned())],
            |_| {},
        ),
        StoreError::Conflict { resource } => status(
            Code::Aborted,
            "CONFLICT",
            format!("the {resource} was changed concurrently; re-read it and retry"),
            &[("resource", resource.to_owned())],
            |_| {},
        ),
        StoreError::Unavailable(detail) => {
            tracing::warn!(error = %detail, "database unavailable");
            status(
                Code::Unavailable,
                "UNAVAILABLE",
                "the database is unavailable, retry later",
                &[],
                |_| {},
            )
        }
        StoreError::Corrupt(detail) | StoreError::Other(detail) => {
            // Details stay in the log: they may name tables and values.
            tracing::error!(error = %detail, "database error");
            status(Code::Internal, "INTERNAL", "internal error", &[], |_| {})
        }
    }
}

fn cache_status(err: CacheError) -> Status {
    match err {
        CacheError::Unavailable(detail) => {
            tracing::warn!(error = %detail, "cache unavailable");
            status(
                Code::Unavailable,
                "UNAVAILABLE",
                "the cache is unavailable, retry later",
                &[],
                |_| {},
            )
        }
        CacheError::Other(detail) => {
            tracing::error!(error = %detail, "cache error");
            status(Code::Internal, "INTERNAL", "internal error", &[], |_| {})
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_errors_name_their_fields() {
        let status = Status::from(Error::invalid("page_size", "must be between 0 and 1000"));
        assert_eq!(status.code(), Code::InvalidArgument);
        let details = status.get_error_details();
        let info = details.error_info().unwrap();
        assert_eq!(
            (info.reason.as_str(), info.domain.as_str()),
            ("INVALID_ARGUMENT", DOMAIN)
        );
        let bad = details.bad_request().unwrap();
        assert_eq!(bad.field_violations[0].field, "page_size");
    }

    #[test]
    fn waits_carry_retry_info() {
        let status = Status::from(Error::RateLimited {
            retry_after: Duration::from_secs(31),
        });
        assert_eq!(status.code(), Code::ResourceExhausted);
        let retry = status.get_details_retry_info().unwrap();
        assert_eq!(retry.retry_delay, Some(Duration::from_secs(31)));
    }

    #[test]
    fn internal_details_are_not_leaked() {
        let status = Status::from(Error::Store(StoreError::Other(
            "relation accounts_secret".into(),
        )));
        assert_eq!(status.code(), Code::Internal);
        assert!(!status.message().contains("accounts_secret"));
    }
}
