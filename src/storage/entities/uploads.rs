//! `uploads`: resumable uploads in progress.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "uploads")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub upload_id: String,
    pub tenant_id: String,
    pub account_id: String,
    pub file_name: String,
    pub mime_type: String,
    pub size_bytes: i64,
    /// The SHA-256 the client declared (32 bytes), checked on completion.
    pub sha256: Option<Vec<u8>>,
    pub received_bytes: i64,
    pub chunk_size: i32,
    pub state: String,
    /// The media the upload became, once complete.
    pub media_id: Option<String>,
    /// The CreateUpload request id; unique per (tenant, account).
    pub request_id: Option<String>,
    pub expires_at: DateTimeUtc,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
