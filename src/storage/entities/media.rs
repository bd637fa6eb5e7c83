//! `media`: media files known to the gateway, downloaded or uploaded.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "media")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub media_id: String,
    pub tenant_id: String,
    pub account_id: String,
    /// Stored media kind (e.g. `photo`, `document`, `voice`).
    pub kind: String,
    pub file_name: Option<String>,
    pub mime_type: String,
    pub size_bytes: Option<i64>,
    pub width: Option<i32>,
    pub height: Option<i32>,
    pub duration_secs: Option<i32>,
    /// SHA-256 of the content (32 bytes), once known.
    pub sha256: Option<Vec<u8>>,
    /// Where the content lives in the blob store, once downloaded.
    pub blob_path: Option<String>,
    /// JSON Telegram location (id, access hash, file reference, DC).
    pub telegram_ref: Option<String>,
    pub peer_id: Option<i64>,
    pub message_id: Option<i64>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
