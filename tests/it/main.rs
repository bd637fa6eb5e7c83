//! The integration suite: one binary, real servers on 127.0.0.1:0, real
//! databases (SQLite; PostgreSQL with `TEZGRAM_TEST_DATABASE_URL`) and caches
//! (in-process; Redis with `TEZGRAM_TEST_REDIS_URL`).

mod accounts;
mod api;
mod audit;
mod cache;
mod changing;
mod chat_store;
mod cli;
mod clients;
mod contacts;
mod crm;
mod db;
mod event_log;
mod fanout;
mod faults;
mod forwarding;
mod leases;
mod media;
mod messaging;
mod profiles;
mod sandbox_shared;
mod scheduling;
mod searching;
mod sending;
mod server;
mod spine;
mod storage;
mod telegram_session;
mod triggers;
mod updates;
