//! `outbox`: durable sends, idempotent on (tenant, account, request_id).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "outbox")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub tenant_id: String,
    pub account_id: String,
    pub request_id: String,
    pub kind: String,
    pub peer_id: Option<i64>,
    /// The Telegram random_id derived from this row, so Telegram deduplicates retries.
    pub random_id: Option<i64>,
    /// JSON of what to send.
    pub payload: String,
    pub state: String,
    pub attempts: i32,
    pub next_attempt_at: DateTimeUtc,
    pub last_error: Option<String>,
    /// JSON of the outcome.
    pub result: Option<String>,
    /// The sent message's id, once Telegram has it.
    pub message_id: Option<i64>,
    /// JSON of a media send's progress uploading its file to Telegram.
    pub file_upload: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
