//! Telegram's errors, classified where they are born: what the caller can
//! do about them, not the wire's names.

use std::time::Duration;

use grammers_mtsender::InvocationError;

use crate::domain;

/// Error is a failed Telegram call.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// FLOOD_WAIT_n (and SLOWMODE_WAIT_n): this account must wait.
    #[error("flood wait of {}s", retry_after.as_secs())]
    FloodWait { retry_after: Duration },
    /// The session's auth key is no longer valid (revoked from another device,
    /// user deactivated, …): the account must log in again.
    #[error("session revoked: {name}")]
    SessionRevoked { name: String },
    /// SESSION_PASSWORD_NEEDED: the login needs the two-step verification password.
    #[error("password required")]
    PasswordRequired,
    #[error("phone number invalid: {name}")]
    PhoneNumberInvalid { name: String },
    #[error("login code invalid")]
    CodeInvalid,
    #[error("login code expired")]
    CodeExpired,
    #[error("password invalid")]
    PasswordInvalid,
    #[error("bot token invalid")]
    BotTokenInvalid,
    /// Any other refusal.
    #[error("telegram refused the call: {code} {name}")]
    Rejected { code: i32, name: String },
    /// The connection failed or timed out; retryable.
    #[error("telegram unreachable: {0}")]
    Unavailable(String),
    /// The session could not be read or saved (the database is down, the
    /// save timed out, or a newer session superseded this one).
    #[error("session storage: {0}")]
    Store(#[from] crate::domain::ports::StoreError),
    /// An answer we could not read, or the session storage failed.
    #[error("telegram client error: {0}")]
    Client(String),
}

/// REVOKED are the errors that mean the auth key is unusable for good: the
/// 401s, and 406 AUTH_KEY_DUPLICATED (the key was used from two connections
/// at once, e.g. by two processes, and Telegram invalidated it).
const REVOKED: &[&str] = &[
    "AUTH_KEY_UNREGISTERED",
    "AUTH_KEY_DUPLICATED",
    "AUTH_KEY_INVALID",
    "AUTH_KEY_PERM_EMPTY",
    "SESSION_REVOKED",
    "SESSION_EXPIRED",
    "USER_DEACTIVATED",
    "USER_DEACTIVATED_BAN",
];

impl From<super::SessionError> for Error {
    fn from(err: super::SessionError) -> Self {
        use super::SessionError;
        use crate::domain::ports::StoreError;
        match err {
            SessionError::Store(err) => Error::Store(err),
            SessionError::FlushTimeout(after) => Error::Store(StoreError::Unavailable(format!(
                "saving the telegram session timed out after {}s",
                after.as_secs_f32()
            ))),
            SessionError::Superseded => Error::Store(StoreError::Conflict {
                resource: "telegram session",
            }),
            other @ (SessionError::Poisoned
            | SessionError::Unsealable(_)
            | SessionError::Malformed(_)) => Error::Client(other.to_string()),
        }
    }
}

impl From<InvocationError> for Error {
    fn from(err: InvocationError) -> Self {
        let rpc = match err {
            InvocationError::Rpc(rpc) => rpc,
            InvocationError::Io(err) => return Error::Unavailable(err.to_string()),
            InvocationError::Transport(err) => return Error::Unavailable(err.to_string()),
            InvocationError::Dropped(_) => return Error::Unavailable("request dropped".into()),
            other => return Error::Client(other.to_string()),
        };
        let wait = || Duration::from_secs(u64::from(rpc.value.unwrap_or(1)));
        match (rpc.code, rpc.name.as_str()) {
            (_, "FLOOD_WAIT" | "FLOOD_PREMIUM_WAIT" | "SLOWMODE_WAIT") => Error::FloodWait {
                retry_after: wait(),
            },
            (_, "SESSION_PASSWORD_NEEDED") => Error::PasswordRequired,
            (_, name) if REVOKED.contains(&name) => Error::SessionRevoked {
                name: name.to_owned(),
            },
            (_, "PHONE_CODE_INVALID" | "PHONE_CODE_EMPTY") => Error::CodeInvalid,
            (_, "PHONE_CODE_EXPIRED") => Error::CodeExpired,
            (_, "PASSWORD_HASH_INVALID" | "SRP_PASSWORD_CHANGED" | "SRP_ID_INVALID") => {
                Error::PasswordInvalid
            }
            (
                _,
                name @ ("PHONE_NUMBER_INVALID" | "PHONE_NUMBER_BANNED" | "PHONE_NUMBER_UNOCCUPIED"),
            ) => Error::PhoneNumberInvalid {
                name: name.to_owned(),
            },
            (_, "ACCESS_TOKEN_INVALID" | "ACCESS_TOKEN_EXPIRED" | "BOT_INVALID") => {
                Error::BotTokenInvalid
            }
            (code, name) => Error::Rejected {
                code,
                name: name.to_owned(),
            },
        }
    }
}

impl From<Error> for domain::Error {
    fn from(err: Error) -> Self {
        let invalid = |reason, field, description: &str| domain::Error::InvalidInput {
            reason,
            field,
            description: description.to_owned(),
        };
        match err {
            Error::FloodWait { retry_after } => domain::Error::FloodWait { retry_after },
            Error::SessionRevoked { .. } => domain::Error::ReauthRequired,
            Error::PasswordRequired => domain::Error::FailedPrecondition {
                reason: "FAILED_PRECONDITION",
                message: "the account needs its two-step verification password".into(),
            },
            Error::PhoneNumberInvalid { .. } => invalid(
                "INVALID_PHONE_NUMBER",
                "phone_number",
                "telegram does not accept this phone number",
            ),
            Error::CodeInvalid => invalid("INVALID_CODE", "code", "the login code is wrong"),
            Error::CodeExpired => invalid(
                "INVALID_CODE",
                "code",
                "the login code expired; start the login again",
            ),
            Error::PasswordInvalid => {
                invalid("INVALID_PASSWORD", "password", "the password is wrong")
            }
            Error::BotTokenInvalid => invalid(
                "INVALID_BOT_TOKEN",
                "bot_token",
                "telegram does not accept this bot token",
            ),
            Error::Rejected { code, name } => {
                domain::Error::Internal(format!("telegram refused the call: {code} {name}"))
            }
            Error::Unavailable(detail) => {
                tracing::warn!(error = %detail, "telegram unreachable");
                domain::Error::Unavailable("telegram".into())
            }
            Error::Store(err) => domain::Error::Store(err),
            Error::Client(detail) => domain::Error::Internal(detail),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use grammers_mtsender::RpcError;

    fn rpc(code: i32, message: &str) -> Error {
        Error::from(InvocationError::Rpc(RpcError::from(
            grammers_tl_types::types::RpcError {
                error_code: code,
                error_message: message.into(),
            },
        )))
    }

    #[test]
    fn telegram_errors_are_classified() {
        assert!(
            matches!(rpc(420, "FLOOD_WAIT_31"), Error::FloodWait { retry_after } if retry_after == Duration::from_secs(31))
        );
        assert!(matches!(
            rpc(401, "AUTH_KEY_UNREGISTERED"),
            Error::SessionRevoked { .. }
        ));
        assert!(matches!(
            rpc(401, "SESSION_PASSWORD_NEEDED"),
            Error::PasswordRequired
        ));
        assert!(matches!(rpc(400, "PHONE_CODE_INVALID"), Error::CodeInvalid));
        assert!(matches!(rpc(400, "PHONE_CODE_EXPIRED"), Error::CodeExpired));
        assert!(matches!(
            rpc(400, "PASSWORD_HASH_INVALID"),
            Error::PasswordInvalid
        ));
        assert!(matches!(
            rpc(400, "PHONE_NUMBER_INVALID"),
            Error::PhoneNumberInvalid { .. }
        ));
        assert!(matches!(
            rpc(400, "ACCESS_TOKEN_INVALID"),
            Error::BotTokenInvalid
        ));
        assert!(matches!(
            rpc(400, "PEER_ID_INVALID"),
            Error::Rejected { code: 400, .. }
        ));
    }

    #[test]
    fn domain_errors_name_the_field() {
        match domain::Error::from(rpc(400, "PHONE_CODE_INVALID")) {
            domain::Error::InvalidInput { reason, field, .. } => {
                assert_eq!((reason, field), ("INVALID_CODE", "code"));
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            domain::Error::from(rpc(401, "SESSION_REVOKED")),
            domain::Error::ReauthRequired
        ));
    }

    #[test]
    fn a_key_used_from_two_places_needs_a_new_login() {
        // Telegram's answer to one auth key used by two processes at once:
        // the key is dead, the account must log in again.
        let err = rpc(406, "AUTH_KEY_DUPLICATED");
        assert!(
            matches!(&err, Error::SessionRevoked { name } if name == "AUTH_KEY_DUPLICATED"),
            "{err:?}"
        );
        assert!(matches!(
            domain::Error::from(err),
            domain::Error::ReauthRequired
        ));
    }
}
