//! `instances`: the gateway processes sharing the database.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "instances")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// Where other instances reach this one (internal gRPC); empty when
    /// it serves none.
    pub address: String,
    pub started_at: DateTimeUtc,
    pub heartbeat_at: DateTimeUtc,
    /// Shutting down: it takes no accounts, and hands its own over.
    pub draining: bool,
    /// It owns accounts (an API-only instance does not).
    pub supervises: bool,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
