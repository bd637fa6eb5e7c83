//! tezgram: Tez CRM's Telegram gateway. See ARCHITECTURE.md for the map.

pub mod api;
pub mod auth;
pub mod cache;
pub mod config;
pub mod crypto;
pub mod domain;
pub mod files;
pub mod inbox;
pub mod links;
pub mod server;
pub mod service;
pub mod shutdown;
pub mod storage;
pub mod telegram;
pub mod telemetry;
pub mod webhooks;
