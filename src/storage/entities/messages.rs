//! `messages`: messages of an account's chats.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "messages")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub account_id: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub peer_id: i64,
    #[sea_orm(primary_key, auto_increment = false)]
    pub message_id: i64,
    pub tenant_id: String,
    pub sender_id: Option<i64>,
    pub outgoing: bool,
    pub text: String,
    /// JSON array of formatting entities.
    pub entities: String,
    /// JSON description of the attached media, if any.
    pub media: Option<String>,
    pub reply_to: Option<i64>,
    /// JSON description of the forward header, if forwarded.
    pub forward_from: Option<String>,
    pub grouped_id: Option<i64>,
    pub sent_at: DateTimeUtc,
    pub edited_at: Option<DateTimeUtc>,
    pub views: Option<i32>,
    /// Stored message state (e.g. `sent`, `pending`, `failed`, `deleted`).
    pub state: String,
    pub request_id: Option<String>,
    /// A service message's action, as JSON.
    pub action: Option<String>,
    pub error_reason: Option<String>,
    /// The pts of the update that reported the last edit; a write of an
    /// older edit is refused.
    pub edit_version: Option<i64>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
