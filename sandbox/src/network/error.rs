//! The sandbox network's error: Telegram's own RPC error names and codes, so
//! the TL layer maps each variant 1:1 to an `rpc_error{code, message}`.

use std::borrow::Cow;

/// Error is what a simulated Telegram method answers instead of a result.
/// `Display` prints the Telegram error message (e.g. `FLOOD_WAIT_31`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    #[error("PHONE_NUMBER_INVALID")]
    PhoneNumberInvalid,
    #[error("PHONE_NUMBER_OCCUPIED")]
    PhoneNumberOccupied,
    #[error("PHONE_CODE_EMPTY")]
    PhoneCodeEmpty,
    #[error("PHONE_CODE_INVALID")]
    PhoneCodeInvalid,
    #[error("PHONE_CODE_EXPIRED")]
    PhoneCodeExpired,
    #[error("SESSION_PASSWORD_NEEDED")]
    SessionPasswordNeeded,
    #[error("PASSWORD_HASH_INVALID")]
    PasswordHashInvalid,
    #[error("SRP_ID_INVALID")]
    SrpIdInvalid,
    #[error("SRP_PASSWORD_CHANGED")]
    SrpPasswordChanged,
    #[error("AUTH_KEY_UNREGISTERED")]
    AuthKeyUnregistered,
    /// The key was used from two connections at once and is dead for good
    /// (406, as Telegram answers it).
    #[error("AUTH_KEY_DUPLICATED")]
    AuthKeyDuplicated,
    #[error("ACCESS_TOKEN_INVALID")]
    AccessTokenInvalid,
    #[error("AUTH_TOKEN_INVALID")]
    AuthTokenInvalid,
    #[error("AUTH_TOKEN_EXPIRED")]
    AuthTokenExpired,
    #[error("AUTH_TOKEN_ALREADY_ACCEPTED")]
    AuthTokenAlreadyAccepted,
    #[error("HASH_INVALID")]
    HashInvalid,
    #[error("PEER_ID_INVALID")]
    PeerIdInvalid,
    #[error("USER_ID_INVALID")]
    UserIdInvalid,
    #[error("CHANNEL_INVALID")]
    ChannelInvalid,
    #[error("CHANNEL_PRIVATE")]
    ChannelPrivate,
    #[error("CHAT_WRITE_FORBIDDEN")]
    ChatWriteForbidden,
    #[error("CHAT_TITLE_EMPTY")]
    ChatTitleEmpty,
    /// The basic group is unknown, or was migrated already.
    #[error("CHAT_ID_INVALID")]
    ChatIdInvalid,
    /// Only the group's creator may do this (the sandbox models no admins
    /// of basic groups).
    #[error("CHAT_ADMIN_REQUIRED")]
    ChatAdminRequired,
    #[error("USERS_TOO_FEW")]
    UsersTooFew,
    #[error("MESSAGE_ID_INVALID")]
    MessageIdInvalid,
    #[error("MESSAGE_IDS_EMPTY")]
    MessageIdsEmpty,
    #[error("MESSAGE_NOT_MODIFIED")]
    MessageNotModified,
    #[error("MESSAGE_TOO_LONG")]
    MessageTooLong,
    #[error("MESSAGE_EMPTY")]
    MessageEmpty,
    #[error("MESSAGE_AUTHOR_REQUIRED")]
    MessageAuthorRequired,
    #[error("MESSAGE_DELETE_FORBIDDEN")]
    MessageDeleteForbidden,
    #[error("RANDOM_ID_INVALID")]
    RandomIdInvalid,
    /// The random_id was used for a message that has since been deleted.
    #[error("RANDOM_ID_DUPLICATE")]
    RandomIdDuplicate,
    #[error("USERNAME_INVALID")]
    UsernameInvalid,
    #[error("USERNAME_OCCUPIED")]
    UsernameOccupied,
    #[error("USERNAME_NOT_OCCUPIED")]
    UsernameNotOccupied,
    #[error("PERSISTENT_TIMESTAMP_INVALID")]
    PersistentTimestampInvalid,
    /// The file is unknown, or its access hash is wrong.
    #[error("LOCATION_INVALID")]
    LocationInvalid,
    /// The file_reference does not match the file's.
    #[error("FILE_REFERENCE_EXPIRED")]
    FileReferenceExpired,
    #[error("OFFSET_INVALID")]
    OffsetInvalid,
    /// A schedule date not in the future.
    #[error("SCHEDULE_DATE_INVALID")]
    ScheduleDateInvalid,
    /// A schedule date more than a year ahead.
    #[error("SCHEDULE_DATE_TOO_LATE")]
    ScheduleDateTooLate,
    #[error("LIMIT_INVALID")]
    LimitInvalid,
    /// The caller must wait this many seconds (`FLOOD_WAIT_n`).
    #[error("FLOOD_WAIT_{seconds}")]
    FloodWait { seconds: u32 },
    /// The sandbox could not read or write its data directory. Not a
    /// Telegram error a method answers; Telegram's closest is a 500.
    #[error("INTERNAL")]
    Storage { detail: String },
}

impl Error {
    /// code is the rpc_error code Telegram uses for this error.
    pub fn code(&self) -> i32 {
        use Error::*;
        match self {
            SessionPasswordNeeded | AuthKeyUnregistered => 401,
            ChatWriteForbidden
            | ChatAdminRequired
            | MessageAuthorRequired
            | MessageDeleteForbidden => 403,
            AuthKeyDuplicated => 406,
            FloodWait { .. } => 420,
            Storage { .. } | RandomIdDuplicate => 500,
            PhoneNumberInvalid
            | PhoneNumberOccupied
            | PhoneCodeEmpty
            | PhoneCodeInvalid
            | PhoneCodeExpired
            | PasswordHashInvalid
            | SrpIdInvalid
            | SrpPasswordChanged
            | AccessTokenInvalid
            | AuthTokenInvalid
            | AuthTokenExpired
            | AuthTokenAlreadyAccepted
            | HashInvalid
            | PeerIdInvalid
            | UserIdInvalid
            | ChannelInvalid
            | ChannelPrivate
            | ChatTitleEmpty
            | ChatIdInvalid
            | UsersTooFew
            | MessageIdInvalid
            | MessageIdsEmpty
            | MessageNotModified
            | MessageTooLong
            | MessageEmpty
            | RandomIdInvalid
            | UsernameInvalid
            | UsernameOccupied
            | UsernameNotOccupied
            | PersistentTimestampInvalid
            | LocationInvalid
            | FileReferenceExpired
            | OffsetInvalid
            | ScheduleDateInvalid
            | ScheduleDateTooLate
            | LimitInvalid => 400,
        }
    }

    /// message is the rpc_error message, e.g. `PHONE_CODE_INVALID` or
    /// `FLOOD_WAIT_31`.
    pub fn message(&self) -> Cow<'static, str> {
        match self {
            Error::FloodWait { seconds } => Cow::Owned(format!("FLOOD_WAIT_{seconds}")),
            other => Cow::Owned(other.to_string()),
        }
    }
}

/// Result is the sandbox network's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
