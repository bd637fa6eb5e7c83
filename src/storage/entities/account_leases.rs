//! `account_leases`: which instance owns an authorized account, until when,
//! under which epoch.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "account_leases")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub account_id: String,
    pub tenant_id: String,
    /// The owning instance's id; empty once released.
    pub owner: String,
    /// Moved on by every acquisition: the fence owner-only writes carry.
    pub epoch: i64,
    pub expires_at: DateTimeUtc,
    pub acquired_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
