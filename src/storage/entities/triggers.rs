//! `triggers`: automations that call a webhook when events match.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "triggers")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub tenant_id: String,
    /// `None`: every account of the tenant.
    pub account_id: Option<String>,
    pub name: String,
    /// Space-separated event kinds.
    pub event_kinds: String,
    /// JSON filter.
    pub filter: Option<String>,
    pub webhook_url: String,
    /// AEAD ciphertext of the webhook signing secret.
    pub secret: Vec<u8>,
    pub secret_key_id: String,
    pub enabled: bool,
    pub request_id: Option<String>,
    pub action: String,
    pub after_position: i64,
    pub previous_secret: Option<Vec<u8>>,
    pub previous_secret_key_id: Option<String>,
    pub previous_secret_until: Option<DateTimeUtc>,
    pub disabled_reason: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
