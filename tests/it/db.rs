//! Test databases for the whole integration suite.
//!
//! `TestDb::fresh()` gives every test its own empty database: on the
//! PostgreSQL server named by `TEZGRAM_TEST_DATABASE_URL` (an admin URL such as
//! `postgres://postgres@127.0.0.1:55432/postgres`) when it is set, else a
//! SQLite file in a temporary directory. Running the suite with and without
//! the variable covers both backends with the same tests.

use std::time::Duration;

use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection};

/// The environment variable naming a PostgreSQL admin URL for tests.
pub const DATABASE_URL_ENV: &str = "TEZGRAM_TEST_DATABASE_URL";

/// TestDb is one fresh, empty database. Pass `url` to the code under test.
/// PostgreSQL databases are dropped by `cleanup()` or, failing that, on drop;
/// SQLite files live as long as the TestDb.
pub struct TestDb {
    pub url: String,
    backend: Backend,
}

enum Backend {
    Sqlite {
        _dir: tempfile::TempDir,
    },
    Postgres {
        admin_url: String,
        name: String,
        dropped: bool,
    },
}

impl TestDb {
    /// fresh creates an empty database on the configured backend.
    pub async fn fresh() -> TestDb {
        match std::env::var(DATABASE_URL_ENV) {
            Ok(admin_url) if !admin_url.is_empty() => Self::fresh_postgres(admin_url).await,
            _ => Self::fresh_sqlite(),
        }
    }

    /// is_postgres says which backend this test runs against.
    pub fn is_postgres(&self) -> bool {
        matches!(self.backend, Backend::Postgres { .. })
    }

    /// cleanup drops the PostgreSQL database now (best effort, even while
    /// connections to it are still open); for SQLite it removes the file.
    pub async fn cleanup(mut self) {
        if let Backend::Postgres {
            admin_url,
            name,
            dropped,
        } = &mut self.backend
        {
            drop_database(admin_url, name).await;
            *dropped = true;
        }
    }

    fn fresh_sqlite() -> TestDb {
        let dir = tempfile::Builder::new()
            .prefix("tezgram-test-")
            .tempdir()
            .expect("create a temporary directory for the test database");
        // A directory that does not exist yet: the store must create it.
        let path = dir.path().join("data").join("tezgram.db");
        TestDb {
            url: format!("sqlite://{}", path.display()),
            backend: Backend::Sqlite { _dir: dir },
        }
    }

    async fn fresh_postgres(admin_url: String) -> TestDb {
        let name = format!("tezgram_test_{}", uuid::Uuid::new_v4().simple());
        let admin = admin_connection(&admin_url)
            .await
            .unwrap_or_else(|err| panic!("{DATABASE_URL_ENV} is set but unusable: {err}"));
        admin
            .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
            .await
            .unwrap_or_else(|err| panic!("create test database {name}: {err}"));
        let _ = admin.close().await;
        TestDb {
            url: database_url(&admin_url, &name),
            backend: Backend::Postgres {
                admin_url,
                name,
                dropped: false,
            },
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Backend::Postgres {
            admin_url,
            name,
            dropped: false,
        } = &self.backend
        else {
            return;
        };
        // Drop can't await, and blocking on the test's own runtime would
        // panic: drop the database from a helper thread with its own runtime.
        let (admin_url, name) = (admin_url.clone(), name.clone());
        let cleanup = std::thread::spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            runtime.block_on(drop_database(&admin_url, &name));
        });
        let _ = cleanup.join();
    }
}

async fn admin_connection(admin_url: &str) -> Result<DatabaseConnection, sea_orm::DbErr> {
    let mut options = ConnectOptions::new(admin_url);
    options
        .max_connections(1)
        .acquire_timeout(Duration::from_secs(5))
        .sqlx_logging(false);
    Database::connect(options).await
}

/// drop_database drops a test database, closing connections still open on it
/// (PostgreSQL 13+). Failures are ignored: this is cleanup.
async fn drop_database(admin_url: &str, name: &str) {
    let Ok(admin) = admin_connection(admin_url).await else {
        return;
    };
    let _ = admin
        .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
        .await;
    let _ = admin.close().await;
}

/// database_url is `admin_url` with its database name replaced by `name`,
/// keeping user, host, port and query parameters.
fn database_url(admin_url: &str, name: &str) -> String {
    let (base, query) = match admin_url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (admin_url, None),
    };
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let base = match base[authority_start..].find('/') {
        Some(slash) => &base[..authority_start + slash],
        None => base,
    };
    match query {
        Some(query) => format!("{base}/{name}?{query}"),
        None => format!("{base}/{name}"),
    }
}

#[test]
fn database_urls_keep_everything_but_the_name() {
    assert_eq!(
        database_url("postgres://postgres@127.0.0.1:55432/postgres", "t1"),
        "postgres://postgres@127.0.0.1:55432/t1"
    );
    assert_eq!(
        database_url("postgres://u:p@h/postgres?sslmode=disable", "t1"),
        "postgres://u:p@h/t1?sslmode=disable"
    );
    assert_eq!(
        database_url("postgres://h:5432", "t1"),
        "postgres://h:5432/t1"
    );
}
