//! `audit_log`: who did what on whose behalf.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_log")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub tenant_id: String,
    pub principal: String,
    /// `user` or `api_key`.
    pub principal_kind: String,
    pub action: String,
    /// No foreign key: the audit log outlives the account.
    pub account_id: Option<String>,
    /// The chat acted on.
    pub peer_id: Option<i64>,
    /// JSON details.
    pub details: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
