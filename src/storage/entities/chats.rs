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
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
