//! `accounts`: connected Telegram accounts, their encrypted sessions and login state, and the one-owner lease.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "accounts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub tenant_id: String,
    /// Stored name of `AccountKind`.
    pub kind: String,
    /// Stored name of `AccountState`.
    pub state: String,
    pub phone_number: Option<String>,
    pub telegram_user_id: Option<i64>,
    pub username: Option<String>,
    pub display_name: String,
    pub password_hint: Option<String>,
    /// AEAD ciphertext of the grammers session; never plain text.
    pub session: Option<Vec<u8>>,
    /// Id of the key that sealed `session`, for rotation.
    pub session_key_id: Option<String>,
    /// Counts fresh sessions (one per login); session writes of an older
    /// epoch are refused.
    pub session_epoch: i64,
    /// Counts saves within an epoch; a save of an older version is refused.
    pub session_version: i64,
    /// AEAD ciphertext of the pending login (e.g. `phone_code_hash`).
    pub login_state: Option<Vec<u8>>,
    pub login_key_id: Option<String>,
    /// The create request's id; unique per tenant, so creates are idempotent.
    pub request_id: Option<String>,
    /// The instance that owns the account's Telegram client, until `lease_expires_at`.
    pub lease_owner: Option<String>,
    pub lease_expires_at: Option<DateTimeUtc>,
    /// When the chat list was first loaded from Telegram.
    pub dialogs_loaded_at: Option<DateTimeUtc>,
    /// When the contact list was last replaced from Telegram.
    pub contacts_synced_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
