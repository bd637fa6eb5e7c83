//! Storage: the only module that knows SeaORM. [`Store`] implements the
//! domain's storage ports on PostgreSQL (production) or SQLite (the embedded
//! default), with the same migrations (`migrations/`) on both.
//!
//! Every query is tenant-scoped: a row of another tenant is indistinguishable
//! from a missing row. Database errors are classified into the domain's
//! `StoreError` where they are born ([`error`]).

mod accounts;
mod api_keys;
mod audit;
pub mod blobs;
mod chats;
mod contacts;
mod crm;
pub mod entities;
mod error;
mod events;
mod leases;
mod media;
mod outbox;
mod sessions;
mod triggers;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use migration::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction, DbBackend,
    SqliteTransactionMode, Statement, TransactionOptions, TransactionTrait,
};
use tokio::sync::broadcast;

pub use blobs::{Blobs, S3Settings};
pub use error::Error;
pub(crate) use error::{StoreResultExt, classify};

/// How long a caller waits for a pooled connection (or a new one) before the
/// store answers `Unavailable`: a down database must fail fast, not hang RPCs.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);
/// How long SQLite waits for another writer before giving up with SQLITE_BUSY.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(5);
const POSTGRES_MAX_CONNECTIONS: u32 = 16;
/// WAL lets readers run beside the one writer; more connections than this
/// only queue on the write lock.
const SQLITE_MAX_CONNECTIONS: u32 = 4;

/// Store is the database behind the storage ports. Cloning is cheap: clones
/// share one connection pool.
#[derive(Clone, Debug)]
pub struct Store {
    db: DatabaseConnection,
    /// Tenants whose events were just committed (see `EventLog::appended`).
    appended: broadcast::Sender<crate::domain::TenantId>,
}

/// APPENDED_BACKLOG is how many unread announcements a listener may fall
/// behind before it is told it lagged (and reads every tenant's log).
const APPENDED_BACKLOG: usize = 1024;

impl Store {
    /// connect opens a pool for a `postgres://` or `sqlite:` URL.
    ///
    /// For SQLite the parent directory and the file are created when missing,
    /// and every connection runs with WAL, a busy timeout and foreign keys on
    /// (SQLite enforces `ON DELETE CASCADE` only with foreign keys on). A
    /// database that cannot be reached fails with `Unavailable`.
    pub async fn connect(url: &str) -> Result<Store, Error> {
        let mut options = ConnectOptions::new(url);
        // sqlx logs every statement at INFO; statements may carry message text.
        options
            .sqlx_logging(false)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_timeout(ACQUIRE_TIMEOUT);

        if url.starts_with("sqlite:") {
            let sqlite = SqliteConnectOptions::from_str(url)
                .map_err(|err| Error::Other(format!("invalid sqlite url: {err}")))?;
            let in_memory = is_in_memory(url);
            if !in_memory {
                create_parent_dir(sqlite.get_filename()).await?;
            }
            options
                .max_connections(if in_memory { 1 } else { SQLITE_MAX_CONNECTIONS })
                .min_connections(0)
                .map_sqlx_sqlite_opts(|opts| {
                    opts.create_if_missing(true)
                        .journal_mode(SqliteJournalMode::Wal)
                        .synchronous(SqliteSynchronous::Normal)
                        .busy_timeout(SQLITE_BUSY_TIMEOUT)
                        .foreign_keys(true)
                });
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            options
                .max_connections(POSTGRES_MAX_CONNECTIONS)
                .min_connections(0)
                .idle_timeout(Duration::from_secs(300))
                .max_lifetime(Duration::from_secs(1800))
                // A connection that died while idle (database restarted) is
                // replaced on acquire, so recovery needs no restart.
                .test_before_acquire(true);
        } else {
            return Err(Error::Other(
                "database url must start with postgres:// or sqlite:".to_owned(),
            ));
        }

        let db = Database::connect(options)
            .await
            .map_err(|err| classify(err, "database"))?;
        Ok(Store {
            db,
            appended: broadcast::channel(APPENDED_BACKLOG).0,
        })
    }

    /// migrate applies pending migrations; applied ones are skipped, so it is
    /// safe to run at every start. With none pending it only reads: on
    /// SQLite a command run beside a serving gateway (`tezgram api-key`)
    /// then never contends for the write lock.
    pub async fn migrate(&self) -> Result<(), Error> {
        if Migrator::get_pending_migrations_read_only(&self.db)
            .await
            .is_ok_and(|pending| pending.is_empty())
        {
            return Ok(());
        }
        Migrator::up(&self.db, None)
            .await
            .map_err(|err| classify(err, "migration"))
    }

    /// ping runs `SELECT 1`, for health checks.
    pub async fn ping(&self) -> Result<(), Error> {
        let stmt = Statement::from_string(self.db.get_database_backend(), "SELECT 1");
        self.db
            .query_one_raw(stmt)
            .await
            .map(|_| ())
            .map_err(|err| classify(err, "database"))
    }

    /// backend_name is `postgres` or `sqlite`, for logs and metrics.
    pub fn backend_name(&self) -> &'static str {
        match self.db.get_database_backend() {
            DbBackend::Postgres => "postgres",
            DbBackend::Sqlite => "sqlite",
            DbBackend::MySql => "mysql",
            // DbBackend is non-exhaustive upstream.
            _ => "unknown",
        }
    }

    /// connection is the underlying pool, for code inside `storage/` and for
    /// tests that need raw rows.
    pub fn connection(&self) -> &DatabaseConnection {
        &self.db
    }

    /// begin_write starts a transaction that will write. On SQLite it takes
    /// the write lock up front (`BEGIN IMMEDIATE`): a deferred transaction that
    /// reads and then writes fails with SQLITE_BUSY, without waiting, when
    /// another connection wrote in between.
    pub async fn begin_write(&self) -> Result<DatabaseTransaction, Error> {
        let options = TransactionOptions {
            sqlite_transaction_mode: (self.db.get_database_backend() == DbBackend::Sqlite)
                .then_some(SqliteTransactionMode::Immediate),
            ..Default::default()
        };
        self.db
            .begin_with_options(options)
            .await
            .map_err(|err| classify(err, "transaction"))
    }
}

fn is_in_memory(url: &str) -> bool {
    url.contains(":memory:") || url.contains("mode=memory")
}

async fn create_parent_dir(file: &Path) -> Result<(), Error> {
    let Some(dir) = file.parent().filter(|dir| !dir.as_os_str().is_empty()) else {
        return Ok(());
    };
    tokio::fs::create_dir_all(dir)
        .await
        .map_err(|err| Error::Unavailable(format!("create {}: {err}", dir.display())))
}
