//! SeaORM entities, one per table, hand-written to match `migrations/`.
//!
//! Column conventions: ids are text (UUID strings), Telegram ids are `i64`,
//! timestamps are `DateTimeUtc`, secrets are AEAD ciphertext in `Vec<u8>`
//! with the sealing key's id beside them, JSON is stored as text, and enums as
//! their stable stored names (parsed back in the port implementations, where
//! an unknown name becomes `StoreError::Corrupt`).

pub mod account_leases;
pub mod accounts;
pub mod api_keys;
pub mod audit_log;
pub mod chats;
pub mod contacts;
pub mod crm_links;
pub mod event_horizon;
pub mod events;
pub mod instances;
pub mod media;
pub mod messages;
pub mod outbox;
pub mod trigger_progress;
pub mod triggers;
pub mod uploads;
pub mod user_preferences;
pub mod webhook_deliveries;
