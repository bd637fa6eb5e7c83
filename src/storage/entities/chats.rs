//! `chats`: an account's chats (one row per account and peer).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "chats")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub account_id: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub peer_id: i64,
    pub tenant_id: String,
    /// Stored chat kind (e.g. `user`, `bot`, `group`, `channel`).
    pub kind: String,
    pub title: String,
    pub username: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub about: Option<String>,
    pub member_count: Option<i32>,
    pub unread_count: i32,
    pub last_message_id: Option<i64>,
    pub top_message_date: Option<DateTimeUtc>,
    pub pinned: bool,
    pub archived: bool,
    pub access_hash: Option<i64>,
    pub read_inbox_max_id: i64,
    pub read_outbox_max_id: i64,
    pub muted_until: Option<DateTimeUtc>,
    pub phone_number: Option<String>,
    /// Chat-list order, descending: pinned chats first, then by activity.
    pub sort_key: i64,
    /// Every message with an id at or above this one is stored.
    pub history_floor: Option<i64>,
    /// The floor reached the chat's first message.
    pub history_complete: bool,
    pub message_count: Option<i32>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// When `about` and `member_count` were last read from Telegram's
    /// full profile (GetChat).
    pub full_profile_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
